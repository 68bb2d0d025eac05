//go:build !demo

package main

import (
	"context"

	"fmt"
	"github.com/spf13/pflag"
)

const demoUsage = `Usage: arcfleet demo

This arcfleet is the product build: the demo fleet (SSH and WinRM test hosts
inside the process, the agent simulator) is test equipment and is left out of
it. Run ` + "`make demo`" + `, which builds bin/arcfleet-demo with -tags demo and runs
the main job on the embedded demo fleet.
`

// cmdDemo in the product binary only explains where the demo is.
func cmdDemo(e *env, _ *pflag.FlagSet) func(context.Context, []string) int {
	return func(context.Context, []string) int {
		fmt.Fprint(e.stderr, "arcfleet demo: ", demoUsage[len("Usage: arcfleet demo\n\n"):])
		return exitInvalid
	}
}
