package main

import (
	"context"
	"fmt"

	"github.com/arcfleet/arcfleet/internal/executor"
	"github.com/arcfleet/arcfleet/internal/plan"

	"github.com/arcfleet/arcfleet/internal/results"

	"github.com/spf13/pflag"
)

const resumeUsage = `Usage: arcfleet resume RUN_DIR [flags]

Continues an interrupted apply from its run directory: hosts that finished are
never run again; a host that was mid-action is probed first (azcmagent show) and
only then retried or marked done; hosts never started (circuit breaker, canary,
deadline, interrupt) run normally. --retry-failed also runs the hosts that failed,
e.g. after fixing the credential the circuit breaker stopped.

Flags:
`

func cmdResume(e *env, fs *pflag.FlagSet) func(context.Context, []string) int {
	var rf runFlags
	rf.register(fs)
	var sf shardFlags
	sf.register(fs)
	metricsFile := fs.String("metrics-file", "", metricsHelp)
	retryFailed := fs.Bool("retry-failed", false, "also run again the hosts that failed or were blocked for a cause you may have fixed since (a credential, a secret reference); without it only hosts that did not finish run")
	az := registerAzureApply(e, fs)
	return func(ctx context.Context, pos []string) int {
		if len(pos) != 1 {
			fmt.Fprintln(e.stderr, "arcfleet resume: give exactly one RUN_DIR (see --help)")
			return exitInvalid
		}
		runDir := pos[0]
		p, err := plan.LoadPlan(runDir + "/plan.json")
		if err != nil {
			fmt.Fprintf(e.stderr, "arcfleet resume: %s is not a resumable run directory: %v\n", runDir, err)
			return exitInvalid
		}
		if code := checkResumeShard(e, runDir, &sf, p); code != exitOK {
			return code
		}
		if code := checkPlanSecrets(e, p); code != exitOK {
			return code
		}
		if !confirm(ctx, e, p, rf.yes) {
			return interruptedCode(ctx, exitInvalid)
		}
		shardRate(p, &rf, flagSet(fs, "rate"))
		x := rf.executor(e)
		x.RetryFailed = *retryFailed
		if !az.wire(ctx, p, x) { // access-token mode, --azure, --verify-azure (azure.go)
			return exitInvalid
		}
		return runWithOutput(ctx, e, e.out, "resume", x, len(p.Hosts), runDir, withMetrics(e, *metricsFile, p, runDir, func(ctx context.Context, x *executor.Executor) (*results.Report, error) {
			r, err := x.ResumePlan(ctx, p, runDir)
			return az.after(ctx, p, runDir, r, err)
		}))
	}
}
