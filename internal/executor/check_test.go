package executor

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/transport"
)

func TestVersionLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{
		{"1.40.02669.1635", "1.50", true},
		{"1.50.03036.1885", "1.50", false},
		{"1.50", "1.50.0.1", true},
		{"1.9.1", "1.10", true},
		{"2.0", "1.99.99", false},
		{"1.50.03036.1885", "1.50.03036.1885", false},
	} {
		if got := inventory.VersionLess(c.a, c.b); got != c.less {
			t.Errorf("VersionLess(%s, %s) = %v, want %v", c.a, c.b, got, c.less)
		}
	}
}

// Check on the fake fleet: the check step is fed its stdin line, never an
// action; an agent that prints no table is ARCF-CHECK-FAILED (127: not
// installed); unreachable and blocked hosts are not checked.
func TestCheckFakeFleet(t *testing.T) {
	f := newExFleet()
	f.add("a", &exHost{})
	f.add("gone", &exHost{exits: map[string][]int{agent.StepCheck: {agent.ExitAgentNotFound}}})
	f.add("down", &exHost{dialFail: []transport.Kind{transport.Unreachable}})
	f.add("invalid", &exHost{})
	p := exPlan(agent.ActionConnect, "a", "gone", "down", "invalid")
	p.Hosts[3].Findings = []inventory.Finding{{Code: "AZCM0017", Message: "bad name"}}
	x := exExecutor(f)
	x.LookupEnv = func(string) (string, bool) { return "", false }
	out, err := x.Check(context.Background(), p, CheckOptions{MinVersion: func(string) string { return "1.60" }})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]HostCheck{}
	for _, hc := range out {
		byName[hc.Host] = hc
	}
	codes := func(hc HostCheck) []string {
		var c []string
		for _, f := range hc.Findings {
			c = append(c, f.Code)
		}
		return c
	}
	if a := byName["a"]; a.Verdict != CheckFindings || a.AgentVersion != "1.50.0" || !slices.Equal(codes(a), []string{"ARCF-CHECK-AGENT-MIN", "ARCF-CHECK-FAILED"}) {
		t.Errorf("a: %+v", a)
	}
	if g := byName["gone"]; len(g.Findings) != 2 || !strings.Contains(g.Findings[1].Evidence, "not installed") {
		t.Errorf("gone: %+v", g)
	}
	if d := byName["down"]; d.Verdict != VerdictUnreachable {
		t.Errorf("down: %+v", d)
	}
	if b := byName["invalid"]; b.Verdict != CheckBlocked || !strings.HasPrefix(b.Detail, "AZCM0017") || f.dials["invalid"] != 0 {
		t.Errorf("invalid: %+v, dials %d", b, f.dials["invalid"])
	}
	for name, h := range f.hosts {
		for _, s := range []string{agent.StepConnect, agent.StepDisconnect, agent.StepDisconnectLocal, agent.StepRestartService} {
			if h.runs[s] != 0 {
				t.Errorf("%s: check ran %s", name, s)
			}
		}
		if name == "a" && (len(h.stdins[agent.StepCheck]) != 1 || !strings.HasPrefix(h.stdins[agent.StepCheck][0], "arcfleet-check ")) {
			t.Errorf("a: check stdin %q", h.stdins[agent.StepCheck])
		}
	}
}
