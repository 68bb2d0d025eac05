// Command arcfleet onboards fleets of Linux and Windows servers to Azure Arc.
// This package holds only flags, wiring and exit codes; one file per command.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"syscall"

	"github.com/arcfleet/arcfleet/internal/results"

	"github.com/arcfleet/arcfleet/internal/executor"

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
}

type command struct {
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

func commands() map[string]command {
	return map[string]command{
		"validate": {"check an inventory without touching any host", cmdValidate},
		"plan":     {"show (and save) what apply would do", cmdPlan},
		"apply":    {"run connect/disconnect/reconnect across the fleet", cmdApply},
		"resume":   {"continue an interrupted run", cmdResume},
		"report":   {"render a run's remediation report; 'report merge' joins shards'", cmdReport},
		"codes":    {"explain AZCM error codes", cmdCodes},
		"demo":     {"run the main job on an embedded demo fleet", cmdDemo},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "arcfleet %s: onboard fleets of servers to Azure Arc\n\nUsage: arcfleet COMMAND [flags]\n\nCommands:\n", version)
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, cmds[n].summary)
	}
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
		usage(e.stdout)
		return exitOK
	case "--version", "version":
		fmt.Fprintf(e.stdout, "arcfleet %s\n", version)
		return exitOK
	}
	c, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "arcfleet: unknown command %q\n\n", args[0])
		usage(e.stderr)
		return exitInvalid
	}
	return c.run(ctx, e, args[1:])
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
		fmt.Fprintln(e.stderr, "\narcfleet: interrupted: starting nothing new, stopping what is in flight, writing what there is (again to exit at once)")
		cancel()
		<-sig
		fmt.Fprintln(e.stderr, "arcfleet: exiting at once; an apply can be continued with 'arcfleet resume RUN_DIR'")
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
