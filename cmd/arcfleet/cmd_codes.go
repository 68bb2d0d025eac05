package main

import (
	"context"
	"fmt"
)

func cmdCodes(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "arcfleet codes: not implemented yet")
	return exitInvalid
}
