package main

import (
	"context"
	"fmt"
)

func cmdResume(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "arcfleet resume: not implemented yet")
	return exitInvalid
}
