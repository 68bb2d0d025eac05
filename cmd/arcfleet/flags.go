package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The command line is cobra's (GNU-style flags via pflag: --long, -s short forms,
// flags before or after positional arguments; shell completion and man pages):
// see docs/architecture.md "Command line". Each command keeps its own help text
// (command.usage) and body; cobra parses and dispatches.

// globalFlags are the flags every command takes, bound to o.
func globalFlags(o *outputOptions) *pflag.FlagSet {
	fs := pflag.NewFlagSet("global", pflag.ContinueOnError)
	fs.StringVar(&o.Format, "log-format", "text", "how events are logged on stderr: text, or json (one JSON object per line, for CI and jq)")
	fs.BoolVarP(&o.Verbose, "verbose", "v", false, "say more: every attempt, retry and wait")
	fs.BoolVarP(&o.Quiet, "quiet", "q", false, "say less: only failures and the final summary")
	return fs
}

// flagError is a command-line error of one command: printed with that command's help.
type flagError struct {
	name string
	err  error
	help func(w io.Writer)
}

func (f *flagError) Error() string { return f.err.Error() }
func (f *flagError) Unwrap() error { return f.err }

// newRoot builds the command tree for one run; the chosen command's exit code goes to *code.
func newRoot(e *env, code *int) *cobra.Command {
	root := &cobra.Command{
		Use:           "arcfleet",
		Short:         "onboard fleets of servers to Azure Arc",
		Long:          "arcfleet onboards fleets of Linux and Windows servers to Azure Arc by running azcmagent over SSH and WinRM.",
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
		// Positional words that are no command are refused (cobra: unknown command).
		RunE: func(*cobra.Command, []string) error {
			usage(e.stderr)
			*code = exitInvalid
			return nil
		},
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			switch e.out.Format {
			case "text", "json":
			default:
				return &flagError{name: c.CommandPath()[len("arcfleet "):], err: fmt.Errorf("--log-format %q: use text or json", e.out.Format), help: helpOf(c)}
			}
			if e.out.Verbose && e.out.Quiet {
				return &flagError{name: c.CommandPath()[len("arcfleet "):], err: fmt.Errorf("-v/--verbose and -q/--quiet exclude each other"), help: helpOf(c)}
			}
			return nil
		},
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.PersistentFlags().AddFlagSet(globalFlags(&e.out))
	root.SetHelpFunc(func(c *cobra.Command, _ []string) {
		if c == root {
			usage(e.stdout)
			return
		}
		helpOf(c)(e.stdout)
	})
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		name := strings.TrimPrefix(c.CommandPath(), "arcfleet ")
		return &flagError{name: name, err: err, help: helpOf(c)}
	})
	root.CompletionOptions.HiddenDefaultCmd = false
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		root.AddCommand(newCommand(e, code, n, cmds[n]))
	}
	return root
}

// usageKey holds a command's own help text in its annotations.
const usageKey = "arcfleet-usage"

func newCommand(e *env, code *int, name string, c command) *cobra.Command {
	cc := &cobra.Command{
		Use:         name,
		Short:       c.summary,
		Long:        strings.TrimSuffix(strings.TrimSpace(c.usage), "Flags:"),
		Annotations: map[string]string{usageKey: c.usage},
		ValidArgs:   c.validArgs,
		// Each body checks its own positional arguments, as before cobra.
		Args: cobra.ArbitraryArgs,
	}
	body := c.build(e, cc.Flags())
	cc.RunE = func(cmd *cobra.Command, pos []string) error {
		*code = body(cmd.Context(), pos)
		return nil
	}
	for sn, s := range c.sub {
		cc.AddCommand(newCommand(e, code, sn, s))
	}
	return cc
}

// helpOf prints c's help: its own text, its flags and the global flags, GNU style.
func helpOf(c *cobra.Command) func(w io.Writer) {
	return func(w io.Writer) {
		u := c.Annotations[usageKey]
		if u == "" {
			u = "Usage: " + c.UseLine() + "\n\n" + c.Short + "\n\nFlags:\n"
		}
		fmt.Fprint(w, u)
		fmt.Fprint(w, c.LocalFlags().FlagUsages())
		if g := c.InheritedFlags(); g.HasAvailableFlags() {
			fmt.Fprintf(w, "\nGlobal flags:\n%s", g.FlagUsages())
		}
	}
}

// printUsage writes the help of the command whose flags are fs (for bodies
// that refuse their positional arguments).
func printUsage(w io.Writer, fs *pflag.FlagSet, usage string) {
	fmt.Fprint(w, usage)
	fmt.Fprint(w, fs.FlagUsages())
}

// gnuArgs keeps the single-dash long flags of arcfleet before cobra (Go's flag
// package took -action as --action) working: a "-name" or "-name=value" whose
// name is a long flag of the command is rewritten to "--name". Help and usage
// show only --name.
func gnuArgs(root *cobra.Command, args []string) []string {
	c, _, err := root.Find(args)
	if err != nil || c == nil {
		return args
	}
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if c.Flags().Lookup(name) != nil || c.InheritedFlags().Lookup(name) != nil {
				a = "-" + a
			}
		}
		out = append(out, a)
	}
	return out
}

// flagChanged reports whether the flag name was given on the command line.
func flagChanged(fs *pflag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	return f != nil && f.Changed
}

var _ = context.Background
