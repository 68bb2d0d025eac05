package main

import (
	"context"
	"fmt"
)

func cmdValidate(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "arcfleet validate: not implemented yet")
	return exitInvalid
}
