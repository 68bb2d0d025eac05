package results

import "time"

// Timeline is a run as it happened, for the HTML report's picture: per host its
// attempts and the waits between them, and marks across the run (a resume
// started, the circuit breaker opened). The executor builds it from the run's
// journal (executor.ReadTimeline); results does not read journals.
type Timeline struct {
	Start, End time.Time
	Hosts      []HostTimeline // in the order the hosts first appear in the journal
	Marks      []TimelineMark // in time order
}

// HostTimeline is one host's row.
type HostTimeline struct {
	Host    string
	Started time.Time // launched; zero when never launched
	Ended   time.Time // done, interrupted or not started
	Outcome Outcome
	Code    string
	Spans   []TimelineSpan
}

// Span kinds.
const (
	SpanAttempt = "attempt" // a remote step ran (Step, Attempt, Code)
	SpanWait    = "wait"    // a retry was scheduled; waiting for it
)

// TimelineSpan is one stretch of a host's time.
type TimelineSpan struct {
	Kind     string // SpanAttempt or SpanWait
	Step     string // attempt: probe, connect, disconnect, ...
	Attempt  int
	Code     string // attempt: its diagnosis (AZCM0000 for success); wait: why
	Class    Class
	From, To time.Time
}

// Mark kinds.
const (
	MarkRunStart = "run-start"    // Apply or Resume began (Label: which)
	MarkBreaker  = "breaker-open" // the first host kept from starting by the circuit breaker (Label: its detail)
)

// TimelineMark is one moment across the run.
type TimelineMark struct {
	Kind  string
	At    time.Time
	Label string
}
