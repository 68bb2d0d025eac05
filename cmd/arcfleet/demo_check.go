//go:build demo

package main

import (
	"context"
	"fmt"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/executor"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/testbed/demo"
)

// demoCheck is the demo's network pre-flight: one host's simulated firewall
// drops the traffic to the Arc service endpoints, `arcfleet check` finds it
// (ARCF-CHECK-FIREWALL, the endpoints, the fix), the rule is "opened" (the
// simulated network repaired) and the host checked again, before apply. It
// returns false when the demo did not behave as designed.
func demoCheck(ctx context.Context, e *env, f *demo.Fleet, p *plan.Plan) bool {
	fmt.Fprintln(e.stdout, "\n== Network pre-flight (`arcfleet check`): the agent's own `azcmagent check` on every host, read-only ==")
	if err := f.SetNetwork(demo.DemoBlockedHost, demo.DemoBlockedNetwork); err != nil {
		fmt.Fprintf(e.stderr, "arcfleet demo: %v\n", err)
		return false
	}
	checks, err := f.CheckNetwork(ctx, p, demo.DemoConcurrency)
	if err != nil {
		fmt.Fprintf(e.stderr, "arcfleet demo: check: %v\n", err)
		return false
	}
	rep := buildCheckReport(checks, "en")
	rep.WriteGroups(e.stdout, outputWidth(e))
	fmt.Fprintf(e.stdout, "\n%s\n", rep.Summary)
	found := false
	var sub *plan.Plan
	for i, hc := range checks {
		if hc.Host != demo.DemoBlockedHost {
			continue
		}
		for _, fd := range hc.Findings {
			found = found || fd.Cause == agent.CauseFirewall
		}
		cp := *p
		cp.Hosts = []plan.HostPlan{p.Hosts[i]}
		sub = &cp
	}
	if !found || sub == nil {
		fmt.Fprintf(e.stderr, "arcfleet demo: check did not find %s's firewall\n", demo.DemoBlockedHost)
		return false
	}
	fmt.Fprintf(e.stdout, "\nThe fix: open outbound TCP 443 from %s to *.his.arc.azure.com (here: the simulated firewall rule goes).\n"+
		"`arcfleet check -l %s` again:\n", demo.DemoBlockedHost, demo.DemoBlockedHost)
	if err := f.SetNetwork(demo.DemoBlockedHost, nil); err != nil {
		fmt.Fprintf(e.stderr, "arcfleet demo: %v\n", err)
		return false
	}
	again, err := f.CheckNetwork(ctx, sub, 1)
	if err != nil || len(again) != 1 || again[0].Verdict != executor.CheckClear {
		fmt.Fprintf(e.stderr, "arcfleet demo: %s after the fix: %+v %v\n", demo.DemoBlockedHost, again, err)
		return false
	}
	fmt.Fprintf(e.stdout, "%s\n", buildCheckReport(again, "en").Summary)
	return true
}
