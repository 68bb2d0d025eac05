//go:build demo

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/arcfleet/arcfleet/internal/plan"

	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/testbed/demo"

	"github.com/spf13/pflag"
)

// exitDemoUnexpected: the demo fleet did not behave as designed (a bug, or a
// machine too slow or too restricted to run it). Used only by `arcfleet demo`.
const exitDemoUnexpected = 1

const demoUsage = `Usage: arcfleet demo [--run-dir DIR] [--plan-format table|markdown] [--keep]

Starts an embedded fleet of simulated hosts inside this process (Linux hosts over
SSH, Windows hosts over WinRM/HTTPS, each running the agent simulator
azcmagent-sim), shows the plan, applies "connect" with the real transports,
prints the remediation report and where the run directory is. Nothing leaves
this machine; no sshd, no root and no Azure account are needed.

Some hosts fail on purpose (a name clash, a wrong service-principal secret
stopped by the circuit breaker, an unreachable host). Exit codes: 0 the fleet
behaved as designed (although apply itself would exit 4), 1 it did not,
2 the demo could not start, 130 interrupted.

Flags:
`

func cmdDemo(e *env, fs *pflag.FlagSet) func(context.Context, []string) int {
	var (
		runDir, planFormat string
		keep               bool
	)
	fs.StringVar(&runDir, "run-dir", "", "run directory (default runs/demo-<UTC timestamp>)")
	fs.StringVar(&planFormat, "plan-format", "table", "how the plan is shown: table or markdown")
	fs.BoolVar(&keep, "keep", false, "keep the fleet's directory (inventory, host roots, agent logs) after the run")
	return func(ctx context.Context, pos []string) int {
		if len(pos) > 0 {
			fmt.Fprintf(e.stderr, "arcfleet demo: unexpected argument %q (see --help)\n", pos[0])
			return exitInvalid
		}
		if planFormat != "table" && planFormat != "markdown" {
			fmt.Fprintf(e.stderr, "arcfleet demo: --plan-format %q: use table or markdown\n", planFormat)
			return exitInvalid
		}
		sim, err := demo.FindSim()
		if err != nil {
			fmt.Fprintf(e.stderr, "arcfleet demo: %v\n", err)
			return exitInvalid
		}
		if runDir == "" {
			runDir = filepath.Join("runs", "demo-"+time.Now().UTC().Format("20060102T150405Z"))
		}
		fleetDir, err := os.MkdirTemp("", "arcfleet-demo-")
		if err != nil {
			fmt.Fprintf(e.stderr, "arcfleet demo: %v; fix: make TMPDIR writable\n", err)
			return exitInvalid
		}
		if keep {
			defer fmt.Fprintf(e.stderr, "fleet directory kept: %s (inventory.yaml, scenario.yaml, hosts/NAME/log/azcmagent.log)\n", fleetDir)
		} else {
			defer os.RemoveAll(fleetDir)
		}

		start := time.Now()
		f, err := demo.Start(ctx, demo.DemoOptions(sim, fleetDir))
		if err != nil {
			fmt.Fprintf(e.stderr, "arcfleet demo: starting the fleet: %v\n", err)
			return interruptedCode(ctx, exitInvalid)
		}
		defer f.Close()
		nLinux, nWin := 0, 0
		for _, h := range f.Hosts {
			if h.OS == "windows" {
				nWin++
			} else {
				nLinux++
			}
		}
		fmt.Fprintf(e.stdout, "arcfleet demo: %d simulated hosts in this process (%d Linux over SSH, %d Windows over WinRM/HTTPS),\n"+
			"each running the agent simulator %s. Nothing leaves this machine.\nInventory: %s\n\n", len(f.Hosts), nLinux, nWin, sim, f.Inventory)
		fmt.Fprintln(e.stdout, "== The plan (`arcfleet plan`, scripts left out): what apply will do on every host ==")

		p, err := f.Plan()
		if err == nil {
			err = plan.RenderSummary(e.stdout, p, planFormat, outputWidth(e))
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "arcfleet demo: %v\n", err)
			return exitDemoUnexpected
		}
		if !demoCheck(ctx, e, f, p) {
			return interruptedCode(ctx, exitDemoUnexpected)
		}
		az, err := startDemoAzure(f)
		if err != nil {
			fmt.Fprintf(e.stderr, "arcfleet demo: starting the fake Azure: %v\n", err)
			return exitDemoUnexpected
		}
		defer az.close()
		az.preflight(ctx, e.stdout, p, planFormat)
		fmt.Fprintln(e.stdout, "\n== Applying `connect` (what `arcfleet apply` does): probe, act, classify, retry ==")
		out := newEventOutput(e, e.out, "demo", len(f.Hosts)) // live view, or JSON lines with --log-format json (output.go)
		out.start(runDir)
		rep, err := f.Apply(ctx, p, demo.RunOptions{RunDir: runDir, Concurrency: demo.DemoConcurrency, Events: out.event})
		out.finish()
		if err != nil {
			fmt.Fprintf(e.stderr, "arcfleet demo: %v\n", err)
			if rep == nil {
				return interruptedCode(ctx, exitInvalid)
			}
		}
		if !rep.Interrupted && ctx.Err() == nil {
			az.verify(ctx, p, runDir, rep) // apply --verify-azure
		}
		fmt.Fprintln(e.stdout, "\n== The remediation report (`arcfleet report`) ==")
		if err := results.RenderReportWidth(e.stdout, rep, "table", "en", e.stdoutIsTerminal, outputWidth(e)); err != nil {
			fmt.Fprintf(e.stderr, "arcfleet demo: report: %v\n", err)
		}
		fmt.Fprintf(e.stdout, "\nRun directory: %s (report.md, report.json, journal.jsonl, hosts/NAME/attempt-N-STEP.log)\n", runDir)
		if rep.Interrupted || ctx.Err() != nil {
			return exitInterrupted
		}
		return demoVerdict(e, f, rep, time.Since(start))
	}
}

// demoVerdict explains the designed failures and decides the exit code.
func demoVerdict(e *env, f *demo.Fleet, rep *results.Report, took time.Duration) int {
	s := demo.Summary(rep)
	fmt.Fprintf(e.stdout, "\nFinished in %s: %d ok, %d unchanged, %d failed, %d not started.\n", took.Round(100*time.Millisecond),
		s[results.OutcomeOK], s[results.OutcomeUnchanged], s[results.OutcomeFailed], s[results.OutcomeNotStarted])
	if diffs := f.Check(rep); len(diffs) > 0 {
		fmt.Fprintf(e.stderr, "arcfleet demo: the fleet did NOT behave as designed:\n  %s\n", strings.Join(diffs, "\n  "))
		return exitDemoUnexpected
	}
	fmt.Fprintf(e.stdout, "The failures are part of the demo, and each line above says what to do about it:\n"+
		"  - web04, win03: the agent service hung (AZCM0064); arcfleet restarted it and retried.\n"+
		"  - web05: AZCM0044, an old Azure resource already has that name.\n"+
		"  - lab01-03: the lab group's service principal has a wrong secret (AZCM0041); after 3 such failures the\n"+
		"    circuit breaker kept lab04-05 from starting, while the rest of the fleet went on.\n"+
		"  - legacy01: unreachable (nothing listens at its address), retried, then reported.\n"+
		"  - db01: already connected to the intended target, left unchanged.\n"+
		"  - Azure pre-flight: lab-sp's secret is refused (AADSTS7000215) before any host is touched, and web05's name\n"+
		"    is already taken in Azure (AZCM0044, a warning: plan --probe tells whether it is the same machine).\n"+
		"  - Azure verification: app04's agent connected, but its machine was then deleted in Azure (ARCF-AZURE-MISSING).\n"+
		"`arcfleet apply` would exit %d here (circuit breaker); the demo exits 0 because this is the designed outcome.\n", rep.ExitCode())
	return exitOK
}
