package main

import (
	"context"
	"fmt"
)

func cmdApply(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "arcfleet apply: not implemented yet")
	return exitInvalid
}
