package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/executor"
	"github.com/arcfleet/arcfleet/internal/plan"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
)

// SimName is the agent simulator's binary name.
const SimName = "azcmagent-sim"

// FindSim locates the agent simulator: next to the running executable (make
// build puts bin/arcfleet and bin/azcmagent-sim side by side), else on PATH.
func FindSim() (string, error) {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), SimName)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(SimName); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("the agent simulator %s is neither next to this executable nor on PATH; fix: run `make demo` (it builds bin/arcfleet-demo and bin/%s)", SimName, SimName)
}

// RunOptions configures Fleet.Run.
type RunOptions struct {
	RunDir      string // created; must not hold a run
	Concurrency int    // 0 = planner's default
	Timeout     time.Duration
	Events      func(executor.Event)
	// Plan, when set, receives the plan rendered in PlanFormat (default "table").
	Plan       io.Writer
	PlanFormat string
}

// Plan plans `connect` for every host of the fleet's inventory, as `arcfleet
// plan` would. A host blocked by validation is a bug in this package.
func (f *Fleet) Plan() (*plan.Plan, error) {
	inv, err := inventory.Load(f.Inventory)
	if err != nil {
		return nil, fmt.Errorf("demo inventory: %w", err)
	}
	hosts := make([]*inventory.Host, len(inv.Hosts))
	for i := range inv.Hosts {
		hosts[i] = &inv.Hosts[i]
	}
	p := plan.Build(inv, hosts, agent.ActionConnect, "", time.Now())
	for i := range p.Hosts {
		if p.Hosts[i].Blocked() {
			return p, fmt.Errorf("demo inventory %s: host %s is blocked by validation: %v (a bug in package demo)", f.Inventory, p.Hosts[i].Host.Name, p.Hosts[i].Findings)
		}
	}
	return p, nil
}

// Apply runs p with the real transports, as `arcfleet apply` would.
func (f *Fleet) Apply(ctx context.Context, p *plan.Plan, o RunOptions) (*results.Report, error) {
	x := &executor.Executor{
		Dialer:      Dialer(),
		LookupEnv:   f.LookupEnv,
		Concurrency: o.Concurrency,
		Timeout:     o.Timeout,
		Events:      o.Events,
	}
	return x.Apply(ctx, p, o.RunDir)
}

// Run is Plan, the plan rendered to o.Plan (when set), then Apply.
func (f *Fleet) Run(ctx context.Context, o RunOptions) (*plan.Plan, *results.Report, error) {
	p, err := f.Plan()
	if err != nil {
		return p, nil, err
	}
	if o.Plan != nil {
		format := o.PlanFormat
		if format == "" {
			format = "table"
		}
		if err := plan.Render(o.Plan, p, format); err != nil {
			return p, nil, err
		}
	}
	rep, err := f.Apply(ctx, p, o)
	return p, rep, err
}

// Check compares a report with every host's designed outcome and returns one
// line per difference (nil: the run behaved as designed).
func (f *Fleet) Check(rep *results.Report) []string {
	if rep == nil {
		return []string{"no report"}
	}
	byName := make(map[string]*results.HostResult, len(rep.Hosts))
	for i := range rep.Hosts {
		byName[rep.Hosts[i].Name] = &rep.Hosts[i]
	}
	var diffs []string
	for _, h := range f.Hosts {
		r := byName[h.Name]
		switch {
		case r == nil:
			diffs = append(diffs, fmt.Sprintf("%s: missing from the report", h.Name))
		case r.Outcome != h.Want.Outcome:
			diffs = append(diffs, fmt.Sprintf("%s: outcome %s (code %s: %s), designed %s", h.Name, r.Outcome, r.FinalCode, r.Detail, h.Want.Outcome))
		case h.Want.Code != "" && r.FinalCode != h.Want.Code:
			diffs = append(diffs, fmt.Sprintf("%s: final code %q (%s), designed %q", h.Name, r.FinalCode, r.Detail, h.Want.Code))
		case len(r.Attempts) < h.Want.MinAttempts:
			diffs = append(diffs, fmt.Sprintf("%s: %d attempts, designed at least %d", h.Name, len(r.Attempts), h.Want.MinAttempts))
		}
	}
	if len(rep.Hosts) != len(f.Hosts) {
		diffs = append(diffs, fmt.Sprintf("report has %d hosts, fleet %d", len(rep.Hosts), len(f.Hosts)))
	}
	return diffs
}

// Summary counts a report's outcomes.
func Summary(rep *results.Report) map[results.Outcome]int {
	m := map[results.Outcome]int{}
	if rep == nil {
		return m
	}
	for i := range rep.Hosts {
		m[rep.Hosts[i].Outcome]++
	}
	return m
}
