package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// parseFlags parses a command's args, flags before or after positional
// arguments, the same way for every command: --help prints the usage to stdout
// (exit 0); a bad flag prints the error and the usage to stderr (exit 2). When
// done is true the caller returns code.
func parseFlags(e *env, fs *flag.FlagSet, usage string, args []string) (pos []string, code int, done bool) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	pos, err := parseInterleaved(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printUsage(e.stdout, fs, usage)
		return nil, exitOK, true
	case err != nil:
		fmt.Fprintf(e.stderr, "arcfleet %s: %v\n\n", fs.Name(), err)
		printUsage(e.stderr, fs, usage)
		return nil, exitInvalid, true
	}
	return pos, exitOK, false
}

func printUsage(w io.Writer, fs *flag.FlagSet, usage string) {
	fmt.Fprint(w, usage)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parseInterleaved parses flags that may come before or after positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
