package executor

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/plan"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
)

// interruptedRun applies connect over a fleet where "mid" hangs inside connect
// after the agent already connected (a crash mid-action), "hung" hangs before
// connecting, and the rest succeed; the run is canceled once both are in flight.
func interruptedRun(t *testing.T) (f *exFleet, dir string, rep *results.Report) {
	t.Helper()
	f = newExFleet()
	names := []string{"done1", "done2", "mid", "hung", "later1", "later2"}
	for _, n := range names {
		f.add(n, &exHost{})
	}
	f.hosts["mid"].applyHang = map[string]bool{agent.StepConnect: true}
	f.hosts["hung"].hang = map[string]bool{agent.StepConnect: true}
	x := exExecutor(f)
	x.Concurrency = 2
	x.Canary = 2 // done1, done2 first; then mid and hung fill both slots
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	inflight := map[string]bool{}
	x.Events = func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Kind == EventStart {
			inflight[e.Host] = true
			if inflight["mid"] && inflight["hung"] {
				go func() { time.Sleep(50 * time.Millisecond); cancel() }()
			}
		}
	}
	dir = t.TempDir()
	rep, err := x.Apply(ctx, exPlan(agent.ActionConnect, names...), dir)
	if err != nil {
		t.Fatal(err)
	}
	return f, dir, rep
}

func TestInterruptThenResume(t *testing.T) {
	f, dir, rep := interruptedRun(t)
	if !rep.Interrupted || rep.ExitCode() != 130 {
		t.Fatalf("Interrupted %v exit %d, want true and 130", rep.Interrupted, rep.ExitCode())
	}
	want := map[string]results.Outcome{"done1": results.OutcomeOK, "done2": results.OutcomeOK,
		"mid": results.OutcomeInterrupted, "hung": results.OutcomeInterrupted,
		"later1": results.OutcomeNotStarted, "later2": results.OutcomeNotStarted}
	for n, o := range want {
		if got := exResult(rep, n).Outcome; got != o {
			t.Errorf("%s: %s, want %s", n, got, o)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, results.ReportJSONFile)); err != nil {
		t.Errorf("no partial report: %v", err)
	}
	if f.open != 0 {
		t.Errorf("%d connections left open", f.open)
	}

	// Resume with the agents behaving now.
	f.hosts["mid"].applyHang, f.hosts["hung"].hang = nil, nil
	x := exExecutor(f)
	rep2, err := x.Resume(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range rep2.Hosts {
		if h.Outcome != results.OutcomeOK {
			t.Errorf("after resume %s: %s (%s)", h.Name, h.Outcome, h.Detail)
		}
	}
	tests := []struct {
		host     string
		connects int
	}{
		{"done1", 1}, {"done2", 1}, // finished: never run again
		{"mid", 1},  // connected before the crash: the probe finds it, no second connect
		{"hung", 2}, // never got through: retried
		{"later1", 1}, {"later2", 1},
	}
	for _, tc := range tests {
		if got := f.runsOf(tc.host, agent.StepConnect); got != tc.connects {
			t.Errorf("%s: connect ran %d times in all, want %d", tc.host, got, tc.connects)
		}
	}
	if f.dials["done1"] != 1 {
		t.Errorf("a finished host was contacted again on resume")
	}
	if d := exResult(rep2, "mid").Detail; !strings.Contains(d, "after acting") {
		t.Errorf("mid: detail %q", d)
	}
	// Attempt numbers continue (the resumed try is the next) and no log file
	// of the first run is overwritten.
	mid := exResult(rep2, "mid")
	seen := map[string]bool{}
	last := 0
	for _, a := range mid.Attempts {
		if a.LogPath != "" && seen[a.LogPath] {
			t.Errorf("mid: log %s used twice: %+v", a.LogPath, mid.Attempts)
		}
		seen[a.LogPath] = true
		if a.N < last {
			t.Errorf("mid: attempt numbers go back: %+v", mid.Attempts)
		}
		last = a.N
	}
	if len(mid.Attempts) < 2 || mid.Attempts[0].N != 1 || last != 2 {
		t.Errorf("mid: attempts %+v, want the first run's try 1 then the resumed try 2", mid.Attempts)
	}
	if rep2.ExitCode() != 0 {
		t.Errorf("exit after resume %d", rep2.ExitCode())
	}
}

func TestResumeTornJournal(t *testing.T) {
	f, dir, _ := interruptedRun(t)
	jpath := filepath.Join(dir, JournalFile)
	// Cut the journal in the middle of its last record, as SIGKILL during a write would.
	data, err := os.ReadFile(jpath)
	if err != nil {
		t.Fatal(err)
	}
	cut := len(data) - 7
	if err := os.WriteFile(jpath, data[:cut], 0o600); err != nil {
		t.Fatal(err)
	}
	f.hosts["mid"].applyHang, f.hosts["hung"].hang = nil, nil
	rep, err := exExecutor(f).Resume(context.Background(), jpath[:len(jpath)-len(JournalFile)-1])
	if err != nil {
		t.Fatal(err)
	}
	if rep.ExitCode() != 0 || f.runsOf("done1", agent.StepConnect) != 1 || f.runsOf("mid", agent.StepConnect) != 1 {
		t.Errorf("exit %d, done1 connects %d, mid connects %d", rep.ExitCode(), f.runsOf("done1", agent.StepConnect), f.runsOf("mid", agent.StepConnect))
	}
	// Every line of the journal is whole JSON again: the torn tail was cut before appending.
	fh, err := os.Open(jpath)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	n := 0
	for sc.Scan() {
		n++
		if _, _, err := parseJournal("j", append(sc.Bytes(), '\n')); err != nil {
			t.Errorf("line %d: %v", n, err)
		}
	}
}

func TestResumeErrors(t *testing.T) {
	x := exExecutor(newExFleet())
	if _, err := x.Resume(context.Background(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "plan") {
		t.Errorf("resume of an empty dir: %v", err)
	}
	// A journal naming a host the plan does not have belongs to another run.
	f := newExFleet()
	f.add("a", &exHost{})
	dir := t.TempDir()
	if _, err := exExecutor(f).Apply(context.Background(), exPlan(agent.ActionConnect, "a"), dir); err != nil {
		t.Fatal(err)
	}
	j, _, err := openJournal(filepath.Join(dir, JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	j.append(journalRecord{Event: evStarted, Host: "stranger"})
	j.close()
	if _, err := exExecutor(f).Resume(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "stranger") {
		t.Errorf("foreign journal: %v", err)
	}
}

// An attempt the journal saw begin but never end (arcfleet killed in it) stays in
// the host's history as interrupted: its log exists and it may have acted.
func TestPriorKeepsAttemptCutByKill(t *testing.T) {
	p := &plan.Plan{Hosts: []plan.HostPlan{{Host: inventory.Host{Name: "h1"}}, {Host: inventory.Host{Name: "h2"}}}}
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	recs := []journalRecord{
		{T: t0, Event: evRunStart, Detail: "apply", Numbering: attemptNumbering},
		{T: t0, Event: evStarted, Host: "h1"},
		{T: t0, Event: evAttemptBegin, Host: "h1", Step: agent.StepProbe, Attempt: 1},
		{T: t0, Event: evAttemptEnd, Host: "h1", Step: agent.StepProbe, Attempt: 1, Code: "AZCM0000", Started: t0},
		{T: t0.Add(time.Second), Event: evAttemptBegin, Host: "h1", Step: agent.StepConnect, Attempt: 1, LogPath: "hosts/h1/attempt-1-connect.log"},
		{T: t0, Event: evStarted, Host: "h2"},
		{T: t0, Event: evAttemptBegin, Host: "h2", Step: agent.StepProbe, Attempt: 1},
		{T: t0, Event: evAttemptEnd, Host: "h2", Step: agent.StepProbe, Attempt: 1, Code: "AZCM0000", Started: t0},
	}
	prior, err := priorFromJournal(p, recs)
	if err != nil {
		t.Fatal(err)
	}
	a := prior[0].attempts
	if len(a) != 2 || a[1].Step != agent.StepConnect || a[1].N != 1 || a[1].Code != codeInterrupted || a[1].LogPath != "hosts/h1/attempt-1-connect.log" || !a[1].Started.Equal(t0.Add(time.Second)) {
		t.Errorf("h1 attempts = %+v, want probe then the cut connect as %s", a, codeInterrupted)
	}
	if len(prior[1].attempts) != 1 {
		t.Errorf("h2 attempts = %+v, want only its probe", prior[1].attempts)
	}
}
