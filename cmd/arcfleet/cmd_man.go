package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"
)

const manUsage = `Usage: arcfleet man DIR

Writes the man pages, arcfleet.1 and one arcfleet-COMMAND.1 per command, into
DIR (created if missing); 'make man' writes them into man/. Read one with
man -l DIR/arcfleet-apply.1, or install them into a MANPATH directory:
  arcfleet man /usr/local/share/man/man1

Flags:
`

func cmdMan(e *env, _ *pflag.FlagSet) func(context.Context, []string) int {
	return func(_ context.Context, pos []string) int {
		if len(pos) != 1 {
			fmt.Fprintln(e.stderr, "arcfleet man: give exactly one DIR (see --help)")
			return exitInvalid
		}
		if err := os.MkdirAll(pos[0], 0o755); err != nil {
			fmt.Fprintf(e.stderr, "arcfleet man: %v\n", err)
			return exitInvalid
		}
		root := newRoot(e, new(int))
		root.InitDefaultCompletionCmd()
		root.DisableAutoGenTag = true // the same pages from the same binary, whatever the day
		hdr := &doc.GenManHeader{Title: "ARCFLEET", Section: "1", Source: "arcfleet " + version, Manual: "arcfleet manual"}
		if err := doc.GenManTree(root, hdr, pos[0]); err != nil {
			fmt.Fprintf(e.stderr, "arcfleet man: %v\n", err)
			return exitInvalid
		}
		fmt.Fprintf(e.stderr, "arcfleet man: wrote the man pages into %s\n", pos[0])
		return exitOK
	}
}
