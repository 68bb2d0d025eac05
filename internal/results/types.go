// Package results holds arcfleet's AZCM knowledge base (codes, classes, causes and
// remedies in English and Swedish), the classifier that turns one attempt's
// evidence into a diagnosis, and the report model with its renderers.
//
// It imports none of arcfleet's other packages (only the leaf package
// internal/markdown, shared with the plan's renderer): transport failures
// arrive as plain kind strings.
package results

import "time"

// Class says what kind of problem a code is; the retry policy reads it.
type Class string

const (
	ClassSuccess    Class = "success"
	ClassTransient  Class = "transient"  // retry with backoff
	ClassService    Class = "service"    // agent service on the host: restart, then retry
	ClassAction     Class = "action"     // a different step is needed (disconnect first, force-local-only, rename)
	ClassCredential Class = "credential" // shared credential / permission problem: stop the fleet early
	ClassInput      Class = "input"      // invalid parameters: never retry
	ClassHost       Class = "host"       // a prerequisite of that host
	ClassSupport    Class = "support"    // escalate
	ClassTransport  Class = "transport"  // arcfleet could not reach or log in to the host
)

// Evidence is everything one attempt left behind.
type Evidence struct {
	ExitCode int      // remote exit code; meaningful only when Transport == ""
	Stdout   string   // agent stdout
	Stderr   string   // agent stderr
	AgentLog []string // azcmagent.log lines appended during the attempt
	// Transport is the transport.Kind string when the attempt failed in transport
	// (TransportKinds lists those with a knowledge-base entry), else "".
	Transport    string
	TransportMsg string
	Secrets      []string // values to mask wherever evidence is kept
}

// Diagnosis is the classifier's verdict on one attempt.
type Diagnosis struct {
	// Code is the AZCM code ("AZCM0041") when the agent gave or implied one, or the
	// knowledge-base key of a non-AZCM cause (e.g. "TRANSPORT-UNREACHABLE",
	// "MSG-GPO-PROFILE-DELETED"). Every Code has a knowledge-base entry.
	Code     string   `json:"code"`
	Class    Class    `json:"class"`
	Evidence []string `json:"evidence,omitempty"` // at most 20 lines, secrets masked
	// Related are the other codes and message keys the evidence showed, most
	// specific first (e.g. MSG-INVALID-CLIENT-SECRET next to exit code AZCM0041).
	Related []string `json:"related,omitempty"`
	// ResourceCreated: the output shows Azure created the machine resource before
	// the failure (AZCM0062 then needs it removed before connecting again).
	ResourceCreated bool `json:"resource_created,omitempty"`
	// RetryAfter is the wait the service asked for (an HTTP Retry-After value in
	// the output, e.g. with ARM's 429), capped at MaxRetryAfter; 0 = none given.
	RetryAfter time.Duration `json:"retry_after_ns,omitempty"`
	// DeleteRefused: a disconnect failed (AZCM0043/AZCM0063) because Azure
	// refused to delete the machine resource (a lock: ScopeLocked; a missing
	// permission: AuthorizationFailed), so the resource still exists and
	// `disconnect --force-local-only` would orphan it.
	DeleteRefused bool `json:"delete_refused,omitempty"`
	// ResourceGone: a disconnect failed because Azure no longer has the machine
	// resource (ResourceNotFound, HTTP 404): only the local state is left, and
	// `disconnect --force-local-only` removes it.
	ResourceGone bool `json:"resource_gone,omitempty"`
}

// Outcome is how a host ended.
type Outcome string

const (
	OutcomeOK          Outcome = "ok"          // acted and succeeded
	OutcomeUnchanged   Outcome = "unchanged"   // already as intended ("already connected")
	OutcomeFailed      Outcome = "failed"      // gave up (no retry left, or not retryable)
	OutcomeBlocked     Outcome = "blocked"     // refused before acting (validation finding, drift)
	OutcomeNotStarted  Outcome = "not-started" // never launched (circuit breaker, deadline, canary)
	OutcomeInterrupted Outcome = "interrupted" // run interrupted while this host was in flight
)

// Attempt is one step (or dial) of one try on one host; N is the try of the
// host's action it belongs to, 1 for the first, so a probe and the connect
// after it share N.
type Attempt struct {
	N        int           `json:"n"`
	Step     string        `json:"step"` // "probe", "disconnect", "connect", ...
	Code     string        `json:"code"`
	ExitCode int           `json:"exit_code"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	LogPath  string        `json:"log_path,omitempty"` // hosts/NAME/attempt-N-STEP.log (attempt-N.log before), relative to the run dir
}

// HostResult is the report line of one host.
type HostResult struct {
	Name      string    `json:"name"`
	OS        string    `json:"os"`
	Action    string    `json:"action"`
	Outcome   Outcome   `json:"outcome"`
	Attempts  []Attempt `json:"attempts,omitempty"`
	FinalCode string    `json:"final_code,omitempty"` // "" or AZCM0000 on success
	Class     Class     `json:"class,omitempty"`
	Detail    string    `json:"detail,omitempty"` // e.g. the drift target, the breaker's cause
	Evidence  []string  `json:"evidence,omitempty"`
	LogPath   string    `json:"log_path,omitempty"`
	// Notes are what the operator should know whatever the outcome, recorded as
	// the host ran: before a disconnect, what it deletes (the Azure resource and
	// what goes with it, as the agent showed it); why arcfleet cleaned up after
	// AZCM0062; a --force-local-only fallback. Kept for ok hosts too.
	Notes []string `json:"notes,omitempty"`
	// DetailMsg and NoteMsgs are Detail and Notes as messages (msg.go), so a
	// report renders them in its language; absent in reports of earlier
	// versions, which render the English strings. NoteMsgs[i] is Notes[i]
	// (a zero Msg: no message for that note).
	DetailMsg *Msg  `json:"detail_msg,omitempty"`
	NoteMsgs  []Msg `json:"note_msgs,omitempty"`
	// Leftover is what arcfleet stopped on the host but could not confirm gone
	// (a private directory that may hold the secret, a running agent): the
	// operator must remove it. Detail says so too.
	Leftover string `json:"leftover,omitempty"`
}

// Report is the outcome of a run.
type Report struct {
	FormatVersion int          `json:"format_version"`
	RunID         string       `json:"run_id"`
	Action        string       `json:"action"`
	Inventory     string       `json:"inventory,omitempty"`
	Started       time.Time    `json:"started"`
	Finished      time.Time    `json:"finished"`
	Interrupted   bool         `json:"interrupted,omitempty"`
	BreakerOpen   []string     `json:"breaker_open,omitempty"` // credentials stopped by the circuit breaker
	Hosts         []HostResult `json:"hosts"`
	// Azure is the post-run verification against Azure (apply --verify-azure), nil when not run.
	Azure *AzureVerification `json:"azure_verification,omitempty"`
}
