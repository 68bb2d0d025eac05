package executor

import (
	"context"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/results"
)

// One session per host on the happy path (exec_host.go, oneSession): the
// connect step carries the precondition and reads the agent itself; a host
// that does not meet it is decided on from what the step read, as after a
// probe; where the decision needs more, or the plan's script cannot check,
// the try probes first.
func TestOneSessionPerHost(t *testing.T) {
	f := newExFleet()
	f.add("fresh", &exHost{})
	f.add("already", &exHost{status: "Connected", sub: "sub-1", rg: "rg-1", loc: "westeurope", ten: "tenant-1",
		resourceID: "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.HybridCompute/machines/already"})
	f.add("drift", &exHost{status: "Connected", sub: "sub-9", rg: "rg-9", loc: "westeurope", ten: "tenant-1",
		resourceID: "/subscriptions/sub-9/resourceGroups/rg-9/providers/Microsoft.HybridCompute/machines/drift"})
	f.add("expired", &exHost{status: "Expired", sub: "sub-1", rg: "rg-1", loc: "westeurope", ten: "tenant-1",
		resourceID: "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.HybridCompute/machines/expired"})
	f.add("old-plan", &exHost{})
	p := exPlan(agent.ActionConnect, "fresh", "already", "drift", "expired", "old-plan")
	// A plan saved before the precondition existed: its connect script would
	// ignore EXPECT, so that host is probed first.
	for i := range p.Hosts[4].Steps {
		if s := &p.Hosts[4].Steps[i]; s.Name == agent.StepConnect {
			s.Script = strings.ReplaceAll(s.Script, agent.StateChangedMarker, "#arcfleet:something-else: ")
		}
	}
	rep, err := exExecutor(f).Apply(context.Background(), p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host             string
		outcome          results.Outcome
		code             string
		connects, probes int
		refused          int
		attempts         string // steps in the report
	}{
		{"fresh", results.OutcomeOK, "AZCM0000", 1, 0, 0, "connect"},
		{"already", results.OutcomeUnchanged, "", 0, 0, 1, "probe"},
		{"drift", results.OutcomeBlocked, codeDrift, 0, 0, 1, "probe"},
		{"expired", results.OutcomeBlocked, codeExpired, 0, 0, 1, "probe"},
		{"old-plan", results.OutcomeOK, "AZCM0000", 1, 1, 0, "probe connect"},
	}
	for _, tc := range tests {
		h := exResult(rep, tc.host)
		var steps []string
		for _, a := range h.Attempts {
			steps = append(steps, a.Step)
		}
		if h.Outcome != tc.outcome || h.FinalCode != tc.code || strings.Join(steps, " ") != tc.attempts {
			t.Errorf("%s: %s %q, attempts %v (%s); want %s %q, attempts %s", tc.host, h.Outcome, h.FinalCode, steps, h.Detail, tc.outcome, tc.code, tc.attempts)
		}
		hs := f.hosts[tc.host]
		if hs.runs[agent.StepConnect] != tc.connects || hs.runs[agent.StepProbe] != tc.probes || hs.runs["refused"] != tc.refused || f.dials[tc.host] != 1 {
			t.Errorf("%s: runs %v, %d dials; want %d connects, %d probes, %d refused, 1 dial", tc.host, hs.runs, f.dials[tc.host], tc.connects, tc.probes, tc.refused)
		}
	}
	// The one-session step sends the precondition and no probe's record; the
	// old plan's connect, after its probe, none.
	if in := f.hosts["fresh"].stdins[agent.StepConnect][0]; !strings.HasPrefix(in, "arcfleet ") || !strings.Contains(strings.SplitN(in, "\n", 2)[0], " ? "+agent.ExpectUnregistered) {
		t.Errorf("fresh: connect header %q, want SEEN ? and EXPECT %s", strings.SplitN(in, "\n", 2)[0], agent.ExpectUnregistered)
	}
	if hdr := strings.SplitN(f.hosts["old-plan"].stdins[agent.StepConnect][0], "\n", 2)[0]; strings.Contains(hdr, agent.ExpectUnregistered) {
		t.Errorf("old plan: connect header %q carries a precondition its script would ignore", hdr)
	}
}

// TwoSessions, disconnect and a reconnect of a registered host keep the probe first.
func TestTwoSessionsWhereNeeded(t *testing.T) {
	f := newExFleet()
	f.add("a", &exHost{})
	x := exExecutor(f)
	x.TwoSessions = true
	if _, err := x.Apply(context.Background(), exPlan(agent.ActionConnect, "a"), t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if r := f.hosts["a"].runs; r[agent.StepProbe] != 1 || r[agent.StepConnect] != 1 || r["refused"] != 0 {
		t.Errorf("TwoSessions: runs %v, want a probe, then a connect", r)
	}
	connected := func() *exHost {
		return &exHost{status: "Connected", sub: "sub-1", rg: "rg-1", loc: "westeurope", ten: "tenant-1",
			resourceID: "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.HybridCompute/machines/m"}
	}
	g := newExFleet()
	g.add("d", connected())
	rep, err := exExecutor(g).Apply(context.Background(), exPlan(agent.ActionDisconnect, "d"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if r := g.hosts["d"].runs; r[agent.StepProbe] != 1 || r[agent.StepDisconnect] != 1 || r["refused"] != 0 || exResult(rep, "d").Outcome != results.OutcomeOK {
		t.Errorf("disconnect: runs %v (%s), want a probe, then the disconnect", r, exResult(rep, "d").Outcome)
	}
	// Reconnect of a registered host: the one-session step refuses (its agent
	// is registered), then the decision (disconnect, connect) runs with what
	// the disconnect deletes noted first.
	k := newExFleet()
	k.add("r", connected())
	rep, err = exExecutor(k).Apply(context.Background(), exPlan(agent.ActionReconnect, "r"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := exResult(rep, "r")
	if r := k.hosts["r"].runs; r["refused"] != 1 || r[agent.StepProbe] != 0 || r[agent.StepDisconnect] != 1 || r[agent.StepConnect] != 1 || h.Outcome != results.OutcomeOK ||
		len(h.Notes) == 0 || !strings.Contains(h.Notes[0], "deletes the Azure resource /subscriptions/sub-1") {
		t.Errorf("reconnect: runs %v, %s, notes %q; want refused, disconnect, connect, the loss noted", r, h.Outcome, h.Notes)
	}
}

// A one-session connect that refused on its precondition ends in the journal
// as a probe: resume does not count it as an action on the host.
func TestResumeRefusedStepIsNoAction(t *testing.T) {
	p := exPlan(agent.ActionConnect, "a", "b")
	recs := []journalRecord{
		{Event: evStarted, Host: "a"},
		{Event: evAttemptBegin, Host: "a", Step: agent.StepConnect, Attempt: 2},
		{Event: evAttemptEnd, Host: "a", Step: agent.StepProbe, Attempt: 2, ExitCode: agent.ExitStateChanged},
		{Event: evAttemptBegin, Host: "a", Step: agent.StepProbe, Attempt: 3},
		{Event: evStarted, Host: "b"},
		{Event: evAttemptBegin, Host: "b", Step: agent.StepConnect, Attempt: 2},
		{Event: evAttemptEnd, Host: "b", Step: agent.StepConnect, Attempt: 2, ExitCode: 41, Code: "AZCM0041"},
	}
	prior, err := priorFromJournal(p, recs)
	if err != nil {
		t.Fatal(err)
	}
	if prior[0].lastAct != "" || prior[1].lastAct != agent.StepConnect {
		t.Errorf("lastAct a %q (refused: want none), b %q (connect ran: want connect)", prior[0].lastAct, prior[1].lastAct)
	}
}
