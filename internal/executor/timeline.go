package executor

import (
	"path/filepath"
	"time"

	"github.com/arcfleet/arcfleet/internal/results"
)

// ReadTimeline reads runDir's journal into the report's timeline model (the HTML
// report draws it): per host its attempts and the waits between retries, and
// when runs began and the circuit breaker opened. The journal never holds a
// secret, nor does the timeline.
func ReadTimeline(runDir string) (*results.Timeline, error) {
	recs, _, err := readJournal(filepath.Join(runDir, JournalFile))
	if err != nil {
		return nil, err
	}
	return buildTimeline(recs), nil
}

func buildTimeline(recs []journalRecord) *results.Timeline {
	tl := &results.Timeline{}
	idx := map[string]int{}
	host := func(name string) *results.HostTimeline {
		i, ok := idx[name]
		if !ok {
			i = len(tl.Hosts)
			idx[name] = i
			tl.Hosts = append(tl.Hosts, results.HostTimeline{Host: name})
		}
		return &tl.Hosts[i]
	}
	waitFrom := map[string]time.Time{} // host -> when its retry was scheduled
	open := map[string]journalRecord{} // host -> attempt-begin without its end yet
	breakerSeen := map[string]bool{}   // detail of breaker marks already set
	for _, r := range recs {
		if !r.T.IsZero() {
			if tl.Start.IsZero() || r.T.Before(tl.Start) {
				tl.Start = r.T
			}
			if r.T.After(tl.End) {
				tl.End = r.T
			}
		}
		switch r.Event {
		case evRunStart:
			tl.Marks = append(tl.Marks, results.TimelineMark{Kind: results.MarkRunStart, At: r.T, Label: r.Detail})
		case evStarted:
			if h := host(r.Host); h.Started.IsZero() {
				h.Started = r.T
			}
		case evAttemptBegin:
			h := host(r.Host)
			if from, ok := waitFrom[r.Host]; ok {
				h.Spans = append(h.Spans, results.TimelineSpan{Kind: results.SpanWait, From: from, To: r.T})
				delete(waitFrom, r.Host)
			}
			open[r.Host] = r
		case evAttemptEnd:
			h := host(r.Host)
			from := r.Started
			if from.IsZero() {
				from = r.T.Add(-r.Duration)
			}
			h.Spans = append(h.Spans, results.TimelineSpan{Kind: results.SpanAttempt, Step: r.Step, Attempt: r.Attempt,
				Code: r.Code, Class: r.Class, From: from, To: r.T})
			delete(open, r.Host)
		case evRetry:
			host(r.Host)
			waitFrom[r.Host] = r.T
		case evDone, evInterrupted, evNotStarted:
			h := host(r.Host)
			h.Ended, h.Outcome, h.Code = r.T, r.Outcome, r.Code
			if b, ok := open[r.Host]; ok { // interrupted mid-step: the attempt ends with the host
				h.Spans = append(h.Spans, results.TimelineSpan{Kind: results.SpanAttempt, Step: b.Step, Attempt: b.Attempt,
					Code: string(results.OutcomeInterrupted), From: b.T, To: r.T})
				delete(open, r.Host)
			}
			delete(waitFrom, r.Host)
			if r.Event == evNotStarted && r.Code == codeBreakerOpen && !breakerSeen[r.Detail] {
				breakerSeen[r.Detail] = true
				tl.Marks = append(tl.Marks, results.TimelineMark{Kind: results.MarkBreaker, At: r.T, Label: r.Detail})
			}
		}
	}
	return tl
}
