// Command arcfleet onboards fleets of Linux and Windows servers to Azure Arc.
// This package holds only flags, wiring and exit codes; one file per command.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"sync/atomic"
	"syscall"

	"github.com/arcfleet/arcfleet/internal/results"

	"github.com/arcfleet/arcfleet/internal/executor"

	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// Exit codes, one meaning each (README "Exit codes"). A run's own (0, 3, 4,
// 130) are its report's verdict, results.Report.ExitCode; the CLI adds 2.
const (
	exitOK          = results.ExitOK
	exitInvalid     = 2 // invalid input or usage
	exitHostsFailed = results.ExitHostsFailed
	exitBreaker     = results.ExitBreaker
	exitInterrupted = results.ExitInterrupted
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// env is what a command may touch of the outside world, so tests can run commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// stdinIsTerminal and stderrIsTerminal decide prompts, colour and progress bars.
	stdinIsTerminal, stderrIsTerminal, stdoutIsTerminal bool
	// out holds the global output flags (--log-format, -v, -q), set by run.
	out outputOptions
	// open is the event output a command has open, so that the interrupt
	// handler (notify) prints through it; nil when none.
	open atomic.Pointer[eventOutput]
}

// command is one subcommand: its one-line summary, its help text (usage lines,
// description, ending with "Flags:\n"; the flags are appended) and build, which
// registers its flags on fs and returns the body, run with the positional
// arguments once cobra has parsed the command line.
type command struct {
	summary string
	usage   string
	build   func(e *env, fs *pflag.FlagSet) func(ctx context.Context, pos []string) int
	// sub are subcommands (report merge); args not naming one go to build's body.
	sub map[string]command
	// completeArgs completes the positional arguments (codes: the AZCM codes);
	// nil: no completion (a subcommand's name where there are some).
	completeArgs func(args []string, prefix string) []string
}

func commands() map[string]command {
	return map[string]command{
		"validate": {summary: "check an inventory without touching any host", usage: validateUsage, build: cmdValidate},
		"check":    {summary: "run the agent's network check (azcmagent check) on every host, read-only; report grouped by cause", usage: checkUsage, build: cmdCheck},
		"plan":     {summary: "show (and save) what apply would do", usage: planUsage, build: cmdPlan},
		"apply":    {summary: "run connect/disconnect/reconnect across the fleet", usage: applyUsage, build: cmdApply},
		"resume":   {summary: "continue an interrupted run", usage: resumeUsage, build: cmdResume},
		"report": {summary: "render a run's remediation report; 'report merge' joins shards'", usage: reportUsage, build: cmdReport,
			sub: map[string]command{"merge": {summary: "join the reports of a sharded run's shards", usage: reportMergeUsage, build: cmdReportMerge}}},
		"codes": {summary: "explain AZCM error codes", usage: codesUsage, build: cmdCodes, completeArgs: completeCodes},
		"demo":  {summary: "run the main job on an embedded demo fleet", usage: demoUsage, build: cmdDemo},
		"man":   {summary: "write the man pages (arcfleet.1, arcfleet-COMMAND.1) into DIR", usage: manUsage, build: cmdMan},
		"inventory": {summary: "convert an Ansible inventory: 'inventory import ansible FILE'", usage: inventoryUsage, build: cmdInventory,
			sub: inventorySub},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "arcfleet %s: onboard fleets of servers to Azure Arc\n\nUsage: arcfleet COMMAND [flags]\n\nCommands:\n", version)
	cmds := commands()
	cmds["completion"] = command{summary: "print a shell completion script: bash, zsh, fish or powershell"}
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintf(w, "\nGlobal flags (every command):\n%s", globalFlags(new(outputOptions)).FlagUsages())
	fmt.Fprintf(w, "\nRun 'arcfleet COMMAND --help' for a command's flags.\n"+
		"Exit codes: 0 all hosts as intended, 2 invalid input or usage, 3 some hosts failed,\n"+
		"4 stopped by the circuit breaker, 130 interrupted.\n")
}

// run is main without os.Exit, for tests.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitInvalid
	}
	switch args[0] {
	case "-h", "--help", "help":
		if len(args) == 1 {
			usage(e.stdout)
			return exitOK
		}
		if args[0] == "help" { // help COMMAND = COMMAND --help
			args = append(args[1:], "--help")
		}
	case "--version", "version":
		fmt.Fprintf(e.stdout, "arcfleet %s\n", version)
		return exitOK
	}
	code := exitOK
	root := newRoot(e, &code)
	args = gnuArgs(root, args)
	root.SetArgs(args)
	if _, err := root.ExecuteContextC(ctx); err != nil {
		if errors.Is(err, errReported) {
			return code
		}
		var fe *flagError
		if errors.As(err, &fe) {
			fmt.Fprintf(e.stderr, "arcfleet %s: %v\n\n", fe.name, fe.err)
			fe.help(e.stderr)
			return exitInvalid
		}
		fmt.Fprintf(e.stderr, "arcfleet: %v\n\n", err)
		usage(e.stderr)
		return exitInvalid
	}
	return code
}

func main() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(executor.DefaultMemoryLimit)
	}
	e := &env{
		stdin:            os.Stdin,
		stdout:           os.Stdout,
		stderr:           os.Stderr,
		getenv:           os.Getenv,
		stdinIsTerminal:  isTerminal(os.Stdin),
		stdoutIsTerminal: isTerminal(os.Stdout),
		stderrIsTerminal: isTerminal(os.Stderr),
	}
	os.Exit(run(interruptible(e), e, os.Args[1:]))
}

// interruptible returns a context canceled by the first SIGINT/SIGTERM: commands
// then launch nothing new, kill what is in flight, write what they have and exit
// 130. A second signal exits at once.
func interruptible(e *env) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		// Through the live view when one is drawn (above it: a redraw cannot
		// overwrite the message), as a JSON object with --log-format json (output.go).
		notify(e, "arcfleet: interrupted: starting nothing new, stopping what is in flight, writing what there is (again to exit at once)")
		cancel()
		<-sig
		notify(e, "arcfleet: exiting at once; an apply can be continued with 'arcfleet resume RUN_DIR'")
		os.Exit(exitInterrupted)
	}()
	return ctx
}

// interruptedCode maps a failure caused by the interrupt to exit 130.
func interruptedCode(ctx context.Context, otherwise int) int {
	if ctx.Err() != nil {
		return exitInterrupted
	}
	return otherwise
}

// isTerminal asks the tty driver: /dev/null is a character device too, and
// cron or CI running `arcfleet apply </dev/null` must not be prompted.
func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}
