package main

import (
	"context"
	"fmt"
)

func cmdPlan(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "arcfleet plan: not implemented yet")
	return exitInvalid
}
