package executor

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/results"
)

func TestBuildTimeline(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	recs := []journalRecord{
		{T: at(0), Event: evRunStart, Detail: "apply"},
		{T: at(0), Event: evStarted, Host: "h1"},
		{T: at(0.1), Event: evAttemptBegin, Host: "h1", Step: "connect", Attempt: 1},
		{T: at(2), Event: evAttemptEnd, Host: "h1", Step: "connect", Attempt: 1, Started: at(0.1), Code: "AZCM0026", Class: results.ClassTransient},
		{T: at(2), Event: evRetry, Host: "h1", Try: 1},
		{T: at(5), Event: evAttemptBegin, Host: "h1", Step: "connect", Attempt: 2},
		{T: at(7), Event: evAttemptEnd, Host: "h1", Step: "connect", Attempt: 2, Duration: 2 * time.Second, Code: "AZCM0000", Class: results.ClassSuccess},
		{T: at(7), Event: evDone, Host: "h1", Outcome: results.OutcomeOK, Code: "AZCM0000"},
		{T: at(3), Event: evNotStarted, Host: "h2", Outcome: results.OutcomeNotStarted, Code: codeBreakerOpen, Detail: "circuit breaker open for credential sp"},
		{T: at(4), Event: evNotStarted, Host: "h4", Outcome: results.OutcomeNotStarted, Code: codeBreakerOpen, Detail: "circuit breaker open for credential sp"},
		{T: at(1), Event: evStarted, Host: "h3"},
		{T: at(1), Event: evAttemptBegin, Host: "h3", Step: "disconnect", Attempt: 1},
		{T: at(8), Event: evInterrupted, Host: "h3", Outcome: results.OutcomeInterrupted},
		{T: at(9), Event: evRunStart, Detail: "resume"},
	}
	tl := buildTimeline(recs)
	want := &results.Timeline{
		Start: at(0), End: at(9),
		Hosts: []results.HostTimeline{
			{Host: "h1", Started: at(0), Ended: at(7), Outcome: results.OutcomeOK, Code: "AZCM0000", Spans: []results.TimelineSpan{
				{Kind: results.SpanAttempt, Step: "connect", Attempt: 1, Code: "AZCM0026", Class: results.ClassTransient, From: at(0.1), To: at(2)},
				{Kind: results.SpanWait, From: at(2), To: at(5)},
				{Kind: results.SpanAttempt, Step: "connect", Attempt: 2, Code: "AZCM0000", Class: results.ClassSuccess, From: at(5), To: at(7)},
			}},
			{Host: "h2", Ended: at(3), Outcome: results.OutcomeNotStarted, Code: codeBreakerOpen},
			{Host: "h4", Ended: at(4), Outcome: results.OutcomeNotStarted, Code: codeBreakerOpen},
			{Host: "h3", Started: at(1), Ended: at(8), Outcome: results.OutcomeInterrupted, Spans: []results.TimelineSpan{
				{Kind: results.SpanAttempt, Step: "disconnect", Attempt: 1, Code: "interrupted", From: at(1), To: at(8)},
			}},
		},
		Marks: []results.TimelineMark{
			{Kind: results.MarkRunStart, At: at(0), Label: "apply"},
			{Kind: results.MarkBreaker, At: at(3), Label: "circuit breaker open for credential sp"},
			{Kind: results.MarkRunStart, At: at(9), Label: "resume"},
		},
	}
	if !reflect.DeepEqual(tl, want) {
		t.Errorf("timeline:\n got %+v\nwant %+v", tl, want)
	}
}

func TestReadTimelineNoJournal(t *testing.T) {
	if _, err := ReadTimeline(t.TempDir()); err == nil || !os.IsNotExist(err) {
		t.Errorf("no journal: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, JournalFile), []byte(`{"t":"2026-12-04T12:00:00Z","event":"started","host":"a"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tl, err := ReadTimeline(dir)
	if err != nil || len(tl.Hosts) != 1 || tl.Hosts[0].Host != "a" {
		t.Errorf("timeline %+v, %v", tl, err)
	}
}
