package executor

import (
	"context"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/results"
)

// Hosts a check outside the plan blocks (the Azure pre-flight) are never
// dialed, end blocked with the check's code and the catalog's class, and only
// they: the other hosts run. A plain resume leaves them; resume --retry-failed
// runs them again once the cause is gone (here: the check no longer blocks).
func TestBlockedHostsNeverDialed(t *testing.T) {
	f := newExFleet()
	names := []string{"locked1", "fine", "locked2"}
	for _, n := range names {
		f.add(n, &exHost{})
	}
	p := exPlan(agent.ActionConnect, names...)
	x := exExecutor(f)
	x.LookupEnv = func(k string) (string, bool) { return execSentinel, k == "ARC_SP_SECRET" }
	x.Blocked = map[string]Block{
		"locked1": {Code: "ARM-SCOPE-LOCKED", Detail: "resource group rg1 has a delete lock; fix: remove it"},
		"locked2": {Code: "ARCF-NOT-IN-CATALOG", Detail: "some check"},
	}
	dir := t.TempDir()
	rep, err := x.Apply(context.Background(), p, dir)
	if err != nil {
		t.Fatal(err)
	}
	h := exResult(rep, "locked1")
	if h.Outcome != results.OutcomeBlocked || h.FinalCode != "ARM-SCOPE-LOCKED" || !strings.Contains(h.Detail, "delete lock") {
		t.Errorf("locked1: %s %s %q, want blocked by the lock", h.Outcome, h.FinalCode, h.Detail)
	}
	if want := results.ClassOf("ARM-SCOPE-LOCKED"); want == "" || h.Class != want {
		t.Errorf("locked1 class %q, want the catalog's %q", h.Class, want)
	}
	if h := exResult(rep, "locked2"); h.Class != results.ClassInput {
		t.Errorf("locked2: a code not in the catalog gets class %q, want input", h.Class)
	}
	if h := exResult(rep, "fine"); h.Outcome != results.OutcomeOK {
		t.Errorf("fine: %s %s, want ok: a block concerns only its hosts", h.Outcome, h.FinalCode)
	}
	if f.dials["locked1"] != 0 || f.dials["locked2"] != 0 {
		t.Fatalf("blocked hosts dialed: %d, %d", f.dials["locked1"], f.dials["locked2"])
	}

	x.Blocked = nil // the lock was removed
	rep2, err := x.Resume(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if h := exResult(rep2, "locked1"); h.Outcome != results.OutcomeBlocked || f.dials["locked1"] != 0 {
		t.Errorf("plain resume: locked1 %s, dialed %d; want it left blocked", h.Outcome, f.dials["locked1"])
	}
	x.RetryFailed = true
	rep3, err := x.Resume(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if h := exResult(rep3, n); h.Outcome != results.OutcomeOK {
			t.Errorf("resume --retry-failed: %s %s %s, want ok", n, h.Outcome, h.FinalCode)
		}
	}
	if n := f.runsOf("fine", agent.StepConnect); n != 1 {
		t.Errorf("fine connected %d times, want once", n)
	}
}
