package executor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/results"
)

// TestBusyHostWaits: a host another operation holds is probed again until it
// is free, then acted on once; one that stays held past BusyWait ends
// ARCF-HOST-BUSY, naming the holder, without any agent action.
func TestBusyHostWaits(t *testing.T) {
	f := newExFleet()
	f.add("freed", &exHost{busyProbes: 2})
	f.add("held", &exHost{busyProbes: -1})
	x := exExecutor(f)
	x.BusyWait = 100 * time.Millisecond
	rep, err := x.Apply(context.Background(), exPlan(agent.ActionConnect, "freed", "held"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The first look is the connect step's own (precondition, busy), then probes.
	if r := exResult(rep, "freed"); r.Outcome != results.OutcomeOK || f.hosts["freed"].runs[agent.StepConnect] != 1 || f.hosts["freed"].runs["busy"] != 1 || f.hosts["freed"].runs[agent.StepProbe] != 2 {
		t.Errorf("freed: %s %s, %v runs; want ok after a busy connect step, 2 probes and 1 connect", r.Outcome, r.FinalCode, f.hosts["freed"].runs)
	}
	r := exResult(rep, "held")
	if r.Outcome != results.OutcomeFailed || r.FinalCode != codeHostBusy || !strings.Contains(r.Detail, "run other-run (connect") {
		t.Errorf("held: %s %s %q; want failed %s naming the other run", r.Outcome, r.FinalCode, r.Detail, codeHostBusy)
	}
	if n := f.hosts["held"].runs[agent.StepConnect]; n != 0 {
		t.Errorf("held: %d connects beside the live operation", n)
	}
}
