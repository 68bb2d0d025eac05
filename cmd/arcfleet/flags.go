package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/arcfleet/arcfleet/internal/results"
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

// errReported ends a command line whose error was printed already (run returns *code).
var errReported = errors.New("reported")

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
		// The global output flags are checked, and --log-format json set up
		// (output.go), before any command prints.
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if c := setupOutput(e, e.out); c != exitOK {
				*code = c
				return errReported
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
	use, long := splitUsage(name, c.usage)
	cc := &cobra.Command{
		Use:         use,
		Short:       c.summary,
		Long:        long,
		Annotations: map[string]string{usageKey: c.usage},
		// Each body checks its own positional arguments, as before cobra.
		Args: cobra.ArbitraryArgs,
	}
	body := c.build(e, cc.Flags())
	completeFlagValues(cc)
	switch {
	case c.completeArgs != nil:
		cc.ValidArgsFunction = func(_ *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
			return c.completeArgs(args, prefix), cobra.ShellCompDirectiveNoFileComp
		}
	default:
		cc.ValidArgsFunction = positionalFiles(name)
	}
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

// splitUsage makes cobra's Use (the first usage line, for the man page's
// synopsis) and Long (the description after it, without the "Flags:" heading)
// from a command's help text.
func splitUsage(name, u string) (use, long string) {
	head, rest, _ := strings.Cut(u, "\n\n")
	first, _, _ := strings.Cut(head, "\n")
	use = strings.TrimSpace(strings.TrimPrefix(first, "Usage: arcfleet "))
	if !strings.HasPrefix(use, name) {
		use = name
	}
	if strings.Contains(head, "\n") { // more forms (apply PLAN.json): keep them, verbatim, in the description
		lines := strings.Split(strings.TrimPrefix(head, "Usage: "), "\n")
		rest = "    " + strings.Join(lines, "\n    ") + "\n\n" + rest
	}
	long = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "Flags:"))
	return use, long
}

// completeFlagValues completes the values of the flags that have a fixed set
// or are files: --action, --lang, --inventory (YAML), --format (the command's
// formats).
func completeFlagValues(c *cobra.Command) {
	fixed := func(name string, words ...string) {
		if c.Flags().Lookup(name) != nil {
			_ = c.RegisterFlagCompletionFunc(name, func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
				var out []string
				for _, w := range words {
					if strings.HasPrefix(w, prefix) {
						out = append(out, w)
					}
				}
				return out, cobra.ShellCompDirectiveNoFileComp
			})
		}
	}
	fixed("action", "connect", "disconnect", "reconnect", "install", "upgrade")
	fixed("lang", "en", "sv")
	fixed("plan-format", "table", "markdown")
	switch c.Name() {
	case "plan", "check":
		fixed("format", "table", "markdown", "json")
	case "codes":
		fixed("format", "text", "json")
	case "report":
		fixed("format", results.ReportFormats...)
	}
	if c.Flags().Lookup("inventory") != nil {
		_ = c.MarkFlagFilename("inventory", "yaml", "yml")
	}
}

// positionalFiles completes a command's positional arguments with what they
// name: nothing (validate, plan, check, demo take none), a directory (resume RUN_DIR,
// man DIR, report RUN_DIR (cobra adds 'merge'), report merge SHARD_RUN_DIR...), or a
// saved plan (apply PLAN.json), or any file (inventory import ansible FILE).
func positionalFiles(name string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		switch name {
		case "validate", "plan", "check", "demo", "inventory", "import": // none, or only subcommands
			return nil, cobra.ShellCompDirectiveNoFileComp
		case "apply":
			return []string{"json"}, cobra.ShellCompDirectiveFilterFileExt
		case "resume", "man", "report", "merge":
			return nil, cobra.ShellCompDirectiveFilterDirs
		}
		return nil, cobra.ShellCompDirectiveDefault // files (inventory import ansible FILE)
	}
}
