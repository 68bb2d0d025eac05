package executor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/plan"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
)

// priorHost is what the journal says about one host before a resume.
type priorHost struct {
	done        bool // finished: not run again (but see retryable)
	final       journalRecord
	attempts    []results.Attempt
	lastAttempt int            // the last try's number (journalRecord.Attempt)
	oldRetries  int            // retry records read in a journal before attemptNumbering
	lastAct     string         // last agent action step begun: the host may have been acted on
	actBefore   string         // lastAct before the open attempt began
	tries       int            // failed tries so far: the retry cap counts across runs
	open        *journalRecord // an attempt begun but never ended (arcfleet was killed in it)
	notes       []string       // the report's notes so far (evNote)
	noteMsgs    []results.Msg  // notes as messages (a zero Msg: none), one per note
	lastCode    string         // the code of the last failed try (agent.Situation.LastCode)
}

// result is the report line of finished host i of plan.
func (p *priorHost) result(plan *plan.Plan, i int) results.HostResult {
	f := p.final
	hr := results.HostResult{Name: f.Host, OS: plan.Hosts[i].Host.OS, Action: plan.Action, Outcome: f.Outcome, Attempts: p.attempts,
		FinalCode: f.Code, Class: f.Class, Detail: f.Detail, Evidence: f.Evidence, LogPath: f.LogPath, Notes: p.notes, NoteMsgs: p.noteMsgs}
	if f.Msg != nil && f.Msg.Text("en") == f.Detail { // a message that says what the English says, or none
		hr.DetailMsg = f.Msg
	}
	return hr
}

// retryable: the host finished for a cause the user can fix and then retry
// (Executor.RetryFailed): it failed, or a secret reference did not resolve.
func (p *priorHost) retryable() bool {
	switch p.final.Outcome {
	case results.OutcomeFailed:
		return true
	case results.OutcomeBlocked:
		return p.final.Code == inventory.CodeSecretUnresolved || p.final.External
	}
	return false
}

func isActionStep(s string) bool {
	return s == agent.StepConnect || s == agent.StepDisconnect || s == agent.StepDisconnectLocal
}

// priorFromJournal folds journal records into per-host state, by plan index.
// Records of hosts not in the plan are an error: the journal belongs to another run.
func priorFromJournal(p *plan.Plan, recs []journalRecord) ([]*priorHost, error) {
	idx := make(map[string]int, len(p.Hosts))
	for i := range p.Hosts {
		idx[p.Hosts[i].Host.Name] = i
	}
	prior := make([]*priorHost, len(p.Hosts))
	numbering := 0 // of the records that follow: each run-start says
	for _, rec := range recs {
		if rec.Event == evRunStart {
			numbering = rec.Numbering
		}
		if rec.Host == "" {
			continue
		}
		i, ok := idx[rec.Host]
		if !ok {
			return nil, fmt.Errorf("%s: host %q is not in %s: the journal belongs to another run; fix: resume the run directory it came from", JournalFile, rec.Host, PlanFile)
		}
		ph := prior[i]
		if ph == nil {
			ph = &priorHost{}
			prior[i] = ph
		}
		if numbering < attemptNumbering {
			// A run before attemptNumbering numbered dials and steps in one
			// sequence: its attempts are renumbered as the tries they belong
			// to (one more than the retries before them).
			if rec.Event == evRetry {
				ph.oldRetries++
				rec.Attempt = ph.oldRetries
			} else if rec.Attempt > 0 {
				rec.Attempt = ph.oldRetries + 1
			}
		}
		if rec.Attempt > ph.lastAttempt {
			ph.lastAttempt = rec.Attempt
		}
		switch rec.Event {
		case evStarted:
			ph.done = false
		case evAttemptBegin:
			ph.actBefore = ph.lastAct
			if isActionStep(rec.Step) {
				ph.lastAct = rec.Step
			}
			ph.closeOpen()
			r := rec
			ph.open = &r
		case evRetry:
			ph.tries = max(ph.tries, rec.Try)
			ph.lastCode = rec.Code
		case evNote:
			ph.notes = append(ph.notes, rec.Detail)
			var m results.Msg
			if rec.Msg != nil && rec.Msg.Text("en") == rec.Detail {
				m = *rec.Msg
			}
			ph.noteMsgs = append(ph.noteMsgs, m)
		case evAttemptEnd:
			if ph.open != nil && ph.open.Attempt == rec.Attempt && isActionStep(ph.open.Step) && rec.Step == agent.StepProbe {
				// A one-session connect that refused on its precondition
				// (exec_host.go): it read the agent and did not act.
				ph.lastAct = ph.actBefore
			}
			ph.open = nil
			if rec.Step != "dial" || rec.Code != "" {
				ph.attempts = append(ph.attempts, results.Attempt{N: rec.Attempt, Step: rec.Step, Code: rec.Code, ExitCode: rec.ExitCode, Started: rec.Started, Duration: rec.Duration, LogPath: rec.LogPath})
			}
		case evDone:
			ph.closeOpen()
			ph.done = true
			ph.final = rec
			if rec.Outcome == results.OutcomeFailed {
				ph.lastCode = rec.Code
			}
		}
	}
	for _, ph := range prior {
		if ph != nil {
			ph.closeOpen()
		}
	}
	return prior, nil
}

// closeOpen keeps an attempt whose end the journal never got (a kill, a crash)
// in the host's history, as interrupted: its log exists and it may have acted.
func (p *priorHost) closeOpen() {
	if p.open == nil {
		return
	}
	r := p.open
	p.open = nil
	started := r.Started
	if started.IsZero() {
		started = r.T
	}
	p.attempts = append(p.attempts, results.Attempt{N: r.Attempt, Step: r.Step, Code: codeInterrupted, ExitCode: -1, Started: started, LogPath: r.LogPath})
}

// Resume continues the run in runDir: hosts that finished are not run again
// (with RetryFailed, those that failed are); a host that was in flight is probed
// first (`show`) and marked ok when already in the intended state, else retried
// within what is left of its retry budget; hosts never started run normally. It
// reads plan.json and journal.jsonl (a torn last line, left by a kill, is
// ignored), appends to the journal, and rewrites the reports over all hosts.
// The run directory is locked for the whole resume.
func (x *Executor) Resume(ctx context.Context, runDir string) (*results.Report, error) {
	p, err := readPlanFile(filepath.Join(runDir, PlanFile))
	if err != nil {
		return nil, err
	}
	return x.ResumePlan(ctx, p, runDir)
}

// ResumePlan is Resume for a caller that has already read runDir's plan.json
// (to show it and ask before acting), so a 10,000-host plan is not read twice.
func (x *Executor) ResumePlan(ctx context.Context, p *plan.Plan, runDir string) (*results.Report, error) {
	if err := checkPlan(p); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(runDir, PlanFile), err)
	}
	jpath := filepath.Join(runDir, JournalFile)
	if _, err := os.Stat(jpath); err != nil {
		return nil, fmt.Errorf("resume %s: %w; fix: pass the run directory that apply printed", runDir, err)
	}
	j, recs, err := openJournal(jpath) // its errors name the journal or the run directory
	if err != nil {
		return nil, err
	}
	defer j.close()
	prior, err := priorFromJournal(p, recs)
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", runDir, err)
	}
	return x.execute(ctx, p, runDir, j, prior, "resume")
}

func readPlanFile(path string) (*plan.Plan, error) {
	p, err := plan.LoadPlan(path)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	if err := checkPlan(p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}
