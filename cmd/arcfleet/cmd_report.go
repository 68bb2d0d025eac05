package main

import (
	"context"
	"fmt"
)

func cmdReport(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "arcfleet report: not implemented yet")
	return exitInvalid
}
