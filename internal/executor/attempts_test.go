package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
)

// The attempt users read (report, events, journal) is the host's try of its
// action, from 1: a dial, a probe and the connect of one try share it; a
// retry is the next number. Log files are named by attempt and step, unique.
func TestAttemptNumbersCountTries(t *testing.T) {
	f := newExFleet()
	f.add("transient", &exHost{exits: map[string][]int{agent.StepConnect: {26, 26}}})
	f.add("unreach", &exHost{dialFail: []transport.Kind{transport.Unreachable, transport.Unreachable}})
	f.add("ok", &exHost{})
	x := exExecutor(f)
	var mu sync.Mutex
	events := map[string][]string{}
	x.Events = func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Kind == EventAttempt || e.Kind == EventRetry {
			events[e.Host] = append(events[e.Host], fmt.Sprintf("%s %s %d", e.Kind, e.Step, e.Attempt))
		}
	}
	dir := t.TempDir()
	rep, err := x.Apply(context.Background(), exPlan(agent.ActionConnect, "transient", "unreach", "ok"), dir)
	if err != nil {
		t.Fatal(err)
	}
	attempts := func(h results.HostResult) string {
		var s []string
		for _, a := range h.Attempts {
			s = append(s, fmt.Sprintf("%s %d %s", a.Step, a.N, filepath.Base(a.LogPath)))
		}
		return strings.Join(s, ", ")
	}
	for host, want := range map[string]string{
		// Acted on once, the host is probed before each further connect: same try, same number.
		"transient": "connect 1 attempt-1-connect.log, probe 2 attempt-2-probe.log, connect 2 attempt-2-connect.log, probe 3 attempt-3-probe.log, connect 3 attempt-3-connect.log",
		"unreach":   "dial 1 ., dial 2 ., connect 3 attempt-3-connect.log",
		"ok":        "connect 1 attempt-1-connect.log",
	} {
		h := exResult(rep, host)
		if got := attempts(h); got != want {
			t.Errorf("%s: report attempts %q, want %q", host, got, want)
		}
		for _, a := range h.Attempts {
			if a.LogPath == "" {
				continue
			}
			if data, err := os.ReadFile(filepath.Join(dir, a.LogPath)); err != nil || !strings.Contains(string(data), fmt.Sprintf("%s attempt %d started", a.Step, a.N)) {
				t.Errorf("%s: log %s (%v):\n%s", host, a.LogPath, err, data)
			}
		}
	}
	for host, want := range map[string]string{
		"transient": "attempt connect 1, retry  1, attempt probe 2, attempt connect 2, retry  2, attempt probe 3, attempt connect 3",
		"unreach":   "attempt dial 1, retry  1, attempt dial 2, retry  2, attempt connect 3",
	} {
		if got := strings.Join(events[host], ", "); got != want {
			t.Errorf("%s: events %q, want %q", host, got, want)
		}
	}
	recs := readJournalFile(t, dir)
	if recs[0].Event != evRunStart || recs[0].Numbering != attemptNumbering {
		t.Errorf("first journal record %+v, want run-start with numbering %d", recs[0], attemptNumbering)
	}
}

func readJournalFile(t *testing.T, dir string) []journalRecord {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	recs, _, err := parseJournal(JournalFile, data)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// A run directory written by the version before (dials and steps numbered in
// one sequence, logs attempt-N.log) resumes: its attempts are renumbered as
// tries, the resumed try is the next one, its logs get new names and the old
// logs are kept as they were.
func TestResumeJournalOfPreviousVersion(t *testing.T) {
	f := newExFleet()
	f.add("h1", &exHost{})
	f.add("h2", &exHost{})
	p := exPlan(agent.ActionConnect, "h1", "h2")
	dir := t.TempDir()
	if err := plan.Save(filepath.Join(dir, PlanFile), p); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	// As the previous version wrote it: no numbering on run-start; h1 dialled
	// (1), connected with AZCM0026 (2), was retried and killed in its second
	// connect (3); h2 dialled (1) and connected (2).
	old := []journalRecord{
		{T: at(0), Event: evRunStart, Detail: "apply"},
		{T: at(0), Event: evStarted, Host: "h1"},
		{T: at(0), Event: evStarted, Host: "h2"},
		{T: at(0), Event: evAttemptBegin, Host: "h1", Step: "dial", Attempt: 1},
		{T: at(1), Event: evAttemptEnd, Host: "h1", Step: "dial", Attempt: 1, Started: at(0), Class: results.ClassSuccess},
		{T: at(1), Event: evAttemptBegin, Host: "h1", Step: agent.StepConnect, Attempt: 2, LogPath: "hosts/h1/attempt-2.log"},
		{T: at(2), Event: evAttemptEnd, Host: "h1", Step: agent.StepConnect, Attempt: 2, Started: at(1), Code: "AZCM0026", Class: results.ClassTransient, ExitCode: 26, LogPath: "hosts/h1/attempt-2.log"},
		{T: at(2), Event: evRetry, Host: "h1", Code: "AZCM0026", Class: results.ClassTransient, Try: 1, Detail: "retry"},
		{T: at(3), Event: evAttemptBegin, Host: "h1", Step: agent.StepConnect, Attempt: 3, LogPath: "hosts/h1/attempt-3.log"},
		{T: at(0), Event: evAttemptBegin, Host: "h2", Step: "dial", Attempt: 1},
		{T: at(1), Event: evAttemptEnd, Host: "h2", Step: "dial", Attempt: 1, Started: at(0), Class: results.ClassSuccess},
		{T: at(1), Event: evAttemptBegin, Host: "h2", Step: agent.StepConnect, Attempt: 2, LogPath: "hosts/h2/attempt-2.log"},
		{T: at(2), Event: evAttemptEnd, Host: "h2", Step: agent.StepConnect, Attempt: 2, Started: at(1), Code: "AZCM0000", Class: results.ClassSuccess, LogPath: "hosts/h2/attempt-2.log"},
		{T: at(2), Event: evDone, Host: "h2", Outcome: results.OutcomeOK, Code: "AZCM0000", Class: results.ClassSuccess, LogPath: "hosts/h2/attempt-2.log"},
	}
	var b strings.Builder
	for _, r := range old {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(line), "numbering") {
			t.Fatalf("the old journal must not say numbering: %s", line)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, JournalFile), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	oldLogs := map[string]string{"hosts/h1/attempt-2.log": "old connect 1\n", "hosts/h1/attempt-3.log": "old connect 2\n", "hosts/h2/attempt-2.log": "old h2\n"}
	for rel, content := range oldLogs {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	rep, err := exExecutor(f).Resume(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	h1, h2 := exResult(rep, "h1"), exResult(rep, "h2")
	if h1.Outcome != results.OutcomeOK || h2.Outcome != results.OutcomeOK || f.dials["h2"] != 0 {
		t.Fatalf("h1 %s (%s), h2 %s dialled %d times; want both ok, h2 not contacted", h1.Outcome, h1.Detail, h2.Outcome, f.dials["h2"])
	}
	var got []string
	for _, a := range h1.Attempts {
		got = append(got, fmt.Sprintf("%s %d %s %s", a.Step, a.N, a.Code, a.LogPath))
	}
	// The killed connect's outcome is unknown: the resumed try probes first.
	want := []string{
		"connect 1 AZCM0026 hosts/h1/attempt-2.log",
		"connect 2 ARCF-INTERRUPTED hosts/h1/attempt-3.log",
		"probe 3 AZCM0000 hosts/h1/attempt-3-probe.log",
		"connect 3 AZCM0000 hosts/h1/attempt-3-connect.log",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("h1 attempts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(h2.Attempts) != 1 || h2.Attempts[0].N != 1 {
		t.Errorf("h2 attempts %+v, want its connect as attempt 1", h2.Attempts)
	}
	for rel, content := range oldLogs {
		if data, err := os.ReadFile(filepath.Join(dir, rel)); err != nil || string(data) != content {
			t.Errorf("old log %s changed: %q (%v)", rel, data, err)
		}
	}
	// The resume's records say their numbering; the reports were rewritten.
	recs := readJournalFile(t, dir)
	var starts []int
	for _, r := range recs {
		if r.Event == evRunStart {
			starts = append(starts, r.Numbering)
		}
	}
	if fmt.Sprint(starts) != fmt.Sprint([]int{0, attemptNumbering}) {
		t.Errorf("run-start numberings %v", starts)
	}
	if rj, err := results.ReadReport(dir); err != nil || len(rj.Hosts) != 2 {
		t.Errorf("report.json after resume: %v", err)
	}
}
