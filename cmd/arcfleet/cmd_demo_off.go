//go:build !demo

package main

import (
	"context"
	"fmt"
)

// cmdDemo in the product binary: the demo fleet (in-process SSH and WinRM test
// hosts, the agent simulator) is test equipment and is linked only into the
// binary built with -tags demo, which `make demo` builds and runs.
func cmdDemo(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stderr, "arcfleet demo: this arcfleet is built without the demo fleet (test equipment stays out of the product binary); run `make demo`, which builds bin/arcfleet-demo with -tags demo")
	return exitInvalid
}
