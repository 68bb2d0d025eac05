package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/plan"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
)

// hostRun is one host's part of a run: one connection carries all its steps.
type hostRun struct {
	r       *run
	i       int
	hp      *plan.HostPlan
	h       *inventory.Host
	cs      *credSecret
	res     results.HostResult
	tgt     transport.Target
	conn    transport.Conn
	secrets []string        // SP secrets of the run + this host's login secrets
	masker  *results.Masker // masks secrets, built once per host
	brkKey  string          // the host's circuit breaker: credential and tenant
	// attempt is the number of the try of the host's action under way: 1
	// for the first, counted across resumes (a resumed host's first try is
	// the one after the last the journal holds), never reset. Its dial, probe
	// and action steps all carry it: "attempt 2" is the host's second try.
	attempt int
	tries   int // failed tries so far, continued on resume (the retry cap spans runs; RetryFailed resets it)
	// lastAct is the last agent action step begun (connect, disconnect,
	// disconnect-local), from this run or, on resume, from the journal. Once a
	// host has been acted on, finding it in the intended state means "ok".
	lastAct string
	// lastCode is the code of the previous failed try.
	lastCode string
	// token: a start-rate token is held for the next agent action.
	token bool
	// show is the probe the current try decided on: what a disconnect deletes.
	show agent.AgentShow
	// unknown names an action step whose connection was lost while it ran: its
	// outcome is unknown until a probe sees the host again (resolveUnknown).
	unknown string
	// resolved says how the host's probe resolved such a step, for the report.
	resolved    string
	resolvedMsg results.Msg // resolved as a message for the report
	// leaseNext: the action step about to run has another of this run's steps
	// after it, so it keeps the host for this run when it ends.
	leaseNext bool
	// expect is the precondition the next action step checks on the host
	// (agent.ExpectUnregistered), "" for none: see oneSession.
	expect string
	// accessToken: the token minted for the step about to run (access-token
	// mode, token.go); never journaled or logged (the maskers know it).
	accessToken string
}

// tryOutcome is how one try of a host (dial, probe, act) ended.
type tryOutcome struct {
	final   bool
	outcome results.Outcome
	detail  string
	msg     results.Msg // detail as a message for the report; zero when there is none
	diag    results.Diagnosis
	kind    transport.Kind
	created bool   // AZCM0062: the output shows the Azure resource was created
	cut     bool   // the run's deadline ended the try's last attempt
	busy    string // another operation held the host, so the action did not start: its owner
	// changed: the step refused because the host no longer met its
	// precondition; show is what it read there (nil when it could not be read).
	changed bool
	show    *agent.AgentShow
}

// stepOut is one remote step's result.
type stepOut struct {
	exit    int
	kind    transport.Kind
	errMsg  string
	errM    results.Msg // errMsg as a message for the report (errMsgOf)
	stdout  string
	diag    results.Diagnosis
	logPath string
	cut     bool             // ended by the run's deadline
	busy    string           // another operation held the host: its owner record
	stopped string           // how the controller stopped the step on the host
	stopM   results.Msg      // stopped as a message
	clean   bool             // the stop step confirmed nothing of the step is left (over this connection)
	changed string           // the step refused: the host did not meet its precondition (why)
	show    *agent.AgentShow // what a step with a precondition read of the agent
}

func (s stepOut) ok() bool {
	return s.kind == "" && s.exit == 0 && (s.diag.Class == results.ClassSuccess || s.diag.Class == "")
}

func (r *run) runHost(ctx context.Context, i int) {
	hr := r.newHostRun(i)
	if pr := r.prior[i]; pr != nil {
		hr.attempt = pr.lastAttempt
		hr.lastAct = pr.lastAct
		hr.tries = pr.tries
		hr.lastCode = pr.lastCode
		hr.res.Attempts = append([]results.Attempt(nil), pr.attempts...)
		hr.res.Notes = append([]string(nil), pr.notes...)
		hr.res.NoteMsgs = append([]results.Msg(nil), pr.noteMsgs...)
	}
	defer hr.closeConn()
	r.record(journalRecord{Event: evStarted, Host: hr.h.Name})
	r.emit(Event{Kind: EventStart, Host: hr.h.Name})

	tgt, err := TargetFor(hr.h, r.hosts, r.x.lookupEnv())
	if err != nil {
		code, detail := inventory.CodeSSHLogin, errMsg(err)
		switch {
		case isSecretError(err):
			code = inventory.CodeSecretUnresolved
			detail = results.M("then_resume").With(detail, r.resumeMsg(true))
		case hr.h.OS == "windows" || hr.h.Transport == "winrm":
			code = inventory.CodeWinRMLogin
		}
		r.finish(hr, said(tryOutcome{final: true, outcome: results.OutcomeBlocked, diag: results.Diagnosis{Code: code, Class: results.ClassInput}}, detail))
		return
	}
	hr.setTarget(tgt, r.secrets)
	r.finish(hr, hr.loop(ctx))
}

func (r *run) newHostRun(i int) *hostRun {
	hp := &r.p.Hosts[i]
	cs := r.creds[hp.Host.Credential]
	if cs == nil {
		cs = &credSecret{}
	}
	return &hostRun{r: r, i: i, hp: hp, h: &hp.Host, cs: cs, res: r.baseResult(i), brkKey: r.breakerKey(i), masker: r.masker}
}

// setTarget sets the host's transport target and masks its login secrets too.
func (hr *hostRun) setTarget(tgt transport.Target, runSecrets []string) {
	hr.tgt = tgt
	hr.secrets = append(append([]string(nil), runSecrets...), targetSecrets(&tgt)...)
	hr.masker = results.NewMasker(hr.secrets)
}

func targetSecrets(t *transport.Target) []string {
	var s []string
	for ; t != nil; t = t.Jump {
		if t.Password != "" {
			s = append(s, t.Password)
		}
		if t.Passphrase != "" {
			s = append(s, t.Passphrase)
		}
	}
	return s
}

func (hr *hostRun) closeConn() {
	if hr.conn != nil {
		hr.conn.Close()
		hr.conn = nil
	}
}

func (hr *hostRun) mask(s string) string { return hr.masker.Mask(s) }

// loop tries the host until it is done, the retry policy gives up, or the run
// is interrupted.
func (hr *hostRun) loop(ctx context.Context) tryOutcome {
	r := hr.r
	rem := remedyNone
	for {
		hr.attempt++
		t := hr.try(ctx, rem)
		if t.final {
			return t
		}
		if ctx.Err() != nil {
			return hr.interrupted(t)
		}
		if t.cut {
			return hr.deadlineCut(t)
		}
		if hr.res.Leftover != "" {
			// A stopped step may still run there: never start another beside it.
			t.diag = results.Diagnosis{Code: codeCleanup, Class: results.ClassOf(codeCleanup), Evidence: t.diag.Evidence}
			return failed(t, results.M("not_retried_cleanup"))
		}
		hr.tries++
		tries := hr.tries
		next, delay, whyMsg := r.policy.decideMsg(failure{Code: t.diag.Code, Class: t.diag.Class, Transport: t.kind, ResourceCreated: t.created,
			RetryAfter: t.diag.RetryAfter}, tries)
		if next == remedyNone {
			return failed(t, whyMsg)
		}
		if !r.deadline.IsZero() && !r.x.now().Add(delay).Before(r.deadline) {
			return failed(t, results.M("not_retried_deadline", r.x.Deadline.String(), delay.Round(time.Millisecond).String(), retryAfterNote(delay, t.diag.RetryAfter)))
		}
		if why, open := r.brk.OpenMsg(hr.brkKey); open {
			return failed(t, results.M("not_retried_because").With(why))
		}
		r.record(journalRecord{Event: evRetry, Host: hr.h.Name, Attempt: hr.attempt, Code: t.diag.Code, Class: t.diag.Class, Try: tries, Detail: next.String()})
		r.emit(Event{Kind: EventRetry, Host: hr.h.Name, Code: t.diag.Code, Class: t.diag.Class, Attempt: hr.attempt, Delay: delay,
			Message: fmt.Sprintf("%s after %s: %s%s in %s", next, t.diag.Code, delay.Round(time.Millisecond), retryAfterNote(delay, t.diag.RetryAfter), hr.mask(t.detail))})
		if err := r.x.sleep(ctx, delay); err != nil {
			return hr.interrupted(t)
		}
		rem, hr.lastCode = next, t.diag.Code
	}
}

// interrupted ends a host the run's interruption caught in flight: resume runs
// it again, probing first.
func (hr *hostRun) interrupted(t tryOutcome) tryOutcome {
	t.final, t.outcome = true, results.OutcomeInterrupted
	t = said(t, results.M("interrupted_in_flight").With(hr.r.resumeMsg(false)))
	t.diag = results.Diagnosis{Code: codeInterrupted, Class: results.ClassOf(codeInterrupted), Evidence: t.diag.Evidence}
	return t
}

// deadlineCut ends a host whose attempt the run's deadline stopped: its outcome
// on the host is unknown, so resume runs it again, probing first.
func (hr *hostRun) deadlineCut(t tryOutcome) tryOutcome {
	last, ok := t.detailMsg()
	t.final, t.outcome = true, results.OutcomeInterrupted
	t = said(t, results.M("deadline_in_flight", hr.r.x.Deadline.String()).With(last, hr.r.resumeMsg(false)))
	if !ok {
		t.msg = results.Msg{}
	}
	t.diag = results.Diagnosis{Code: codeDeadline, Class: results.ClassOf(codeDeadline), Evidence: t.diag.Evidence}
	return t
}

// said returns t with m as its detail (the English) and its message.
func said(t tryOutcome, m results.Msg) tryOutcome {
	t.detail, t.msg = m.Text("en"), m
	return t
}

// withMsg is said(t, m), for where a variable named said hides it.
func (t tryOutcome) withMsg(m results.Msg) tryOutcome { return said(t, m) }

// detailMsg is t's detail as a message, and whether it has one that says it
// (an empty detail is the empty text).
func (t tryOutcome) detailMsg() (results.Msg, bool) {
	if t.msg.Key != "" && t.msg.Text("en") == t.detail {
		return t.msg, true
	}
	if t.detail == "" {
		return results.M(results.MsgText, ""), true
	}
	return results.Msg{}, false
}

// then returns t with m after its detail ("; "), the message too when t has one.
func (t tryOutcome) then(m results.Msg) tryOutcome {
	prev, ok := t.detailMsg()
	if t.detail == "" {
		return said(t, m)
	}
	t.detail += "; " + m.Text("en")
	t.msg = results.Msg{}
	if ok {
		t.msg = results.Join(prev, m)
	}
	return t
}

func failed(t tryOutcome, why results.Msg) tryOutcome {
	t.final, t.outcome = true, results.OutcomeFailed
	t = t.then(why)
	return t
}

// try is one pass over the host: connect if needed, apply the remedy, probe,
// then act on what the probe found.
func (hr *hostRun) try(ctx context.Context, rem remedy) tryOutcome {
	if hr.conn == nil {
		// A package the controller cannot send: refused before dialing (install_gate.go).
		if t, refused := hr.packageRefused(); refused {
			return t
		}
		if t, ok := hr.dial(ctx); !ok {
			return t
		}
	}
	if rem == remedyRestart {
		// A failed restart is recorded; the probe and the action tell whether it mattered.
		if o := hr.runStep(ctx, hr.step(agent.StepRestartService), false); o.kind != "" {
			return stepFailure(o, agent.StepRestartService)
		}
	}
	// The install or upgrade step first, when the plan has one (install.go).
	if t, next := hr.install(ctx); !next {
		return t
	}
	// Probe, wait while another operation holds the host, decide, act; again
	// when another operation took the host between the probe and the action.
	// One session instead where it is safe (oneSession): connect with the
	// precondition; if the host does not meet it, decide on what the step
	// read there as on a probe.
	for round := 0; ; round++ {
		var show agent.AgentShow
		probed := false
		if round == 0 && hr.oneSession(rem) {
			hr.expect = agent.ExpectUnregistered
			t := hr.act(ctx, []string{agent.StepConnect})
			hr.expect = ""
			switch {
			case t.busy != "":
				hr.r.emit(Event{Kind: EventWarning, Host: hr.h.Name, Message: "another operation holds the host: " + agent.DescribeOwner(t.busy)})
				continue
			case !t.changed:
				return t
			case t.show != nil:
				show, probed = *t.show, true
			}
			// A refusal without a readable show: the probe says why.
		}
		if !probed {
			po := hr.runStep(ctx, hr.step(agent.StepProbe), false)
			if !po.ok() {
				return stepFailure(po, agent.StepProbe)
			}
			var err error
			show, err = agent.ParseProbe(po.stdout)
			if err != nil {
				return said(tryOutcome{final: true, outcome: results.OutcomeFailed, diag: results.Diagnosis{Code: codeProbeOutput, Class: results.ClassOf(codeProbeOutput)}}, maskedErrMsg(err, hr.mask))
			}
		}
		if show.Busy != "" {
			var t tryOutcome
			var ok bool
			if show, t, ok = hr.waitNotBusy(ctx, show); !ok {
				return t
			}
		}
		hr.resolveUnknown(show)
		seq, t := hr.decide(show, rem)
		if t.final {
			return t
		}
		t = hr.act(ctx, seq)
		if t.busy == "" {
			return t
		}
		if round >= maxBusyRounds {
			return said(tryOutcome{final: true, outcome: results.OutcomeFailed, diag: results.Diagnosis{Code: codeHostBusy, Class: results.ClassOf(codeHostBusy)}},
				results.M("busy_took_m", strconv.Itoa(round+1)).With(ownerMsg(t.busy)))
		}
		hr.r.emit(Event{Kind: EventWarning, Host: hr.h.Name, Message: "another operation took the host before this one could start: " + agent.DescribeOwner(t.busy)})
	}
}

// oneSession: this try may run the connect step with the precondition
// agent.ExpectUnregistered instead of a probe first. That is safe where the
// decision for an unregistered agent is "connect" and nothing else: connect
// and reconnect actions (agent.Decide), no remedy but a plain retry, nothing
// acted on yet in this run or a resumed one, no step of unknown outcome, and
// a plan whose connect script checks the precondition. Every other decision
// needs the probe's full output before the action (what a disconnect deletes
// is noted before it runs; drift and Azure Local compare fields the scripts
// do not): those keep two sessions. So does a host with agent_config: its
// configure step (agent/configure.go) runs only once the probe has decided
// on connect, never on an agent found connected or registered elsewhere.
func (hr *hostRun) oneSession(rem remedy) bool {
	a := hr.r.p.Action
	return (a == agent.ActionConnect || a == agent.ActionReconnect) && (rem == remedyNone || rem == remedyRetry) &&
		hr.lastAct == "" && hr.unknown == "" && !hr.r.x.TwoSessions && agent.SupportsPrecondition(hr.step(agent.StepConnect)) &&
		!agent.Configures(hr.hp.Steps) // configure runs only once the probe has decided on connect
}

// intendedTenant is the host's tenant, or its credential's.
func (hr *hostRun) intendedTenant() string { return hr.r.tenantOf(hr.i) }

// act runs the agent steps in order. Before a `disconnect` it records what that
// deletes; a failed one before a `connect` (reconnect) falls back to
// `disconnect --force-local-only` only when the failure says the Azure resource
// is already gone (reregister.go).
func (hr *hostRun) act(ctx context.Context, seq []string) tryOutcome {
	var last stepOut
	seq = agent.WithConfigure(seq, hr.hp.Steps) // agent_config: configure first, before reconnect's disconnect
	for k, name := range seq {
		if hr.lastAct == "" {
			// The start-rate token first, the breaker after: it may open while
			// this host queues for the token, and then the host must not act.
			if o, ok := hr.takeToken(ctx); !ok {
				return stepFailure(o, name)
			}
			if why, open := hr.r.brk.OpenMsg(hr.brkKey); open {
				return said(tryOutcome{final: true, outcome: results.OutcomeNotStarted, diag: results.Diagnosis{Code: codeBreakerOpen, Class: results.ClassOf(codeBreakerOpen)}}, why)
			}
		}
		prevAct := hr.lastAct
		if name == agent.StepDisconnect {
			hr.noteMsg(lossNote(hr.show))
		}
		hr.leaseNext = k+1 < len(seq)
		o := hr.runStep(ctx, hr.step(name), true)
		if o.busy != "" {
			hr.lastAct = prevAct // the other operation acted, not this one
			return said(tryOutcome{busy: o.busy, diag: o.diag}, results.M("busy_holds_m").With(ownerMsg(o.busy)))
		}
		if o.changed != "" {
			// The agent did not act; the start-rate token stays this host's
			// for the action the decision may still take.
			hr.lastAct, hr.token = prevAct, hr.r.bucket != nil
			return tryOutcome{changed: true, show: o.show, detail: o.changed}
		}
		if o.show != nil {
			hr.show = *o.show
		}
		last = o
		if o.ok() {
			continue
		}
		if name == agent.StepDisconnect && k+1 < len(seq) && hr.localFallback(o) {
			lo := hr.runStep(ctx, hr.step(agent.StepDisconnectLocal), true) // hr.leaseNext still holds: connect follows
			last = lo
			if lo.ok() {
				continue
			}
			return stepFailure(lo, agent.StepDisconnectLocal)
		}
		if name == agent.StepDisconnect {
			return hr.disconnectFailure(o)
		}
		return stepFailure(o, name)
	}
	return tryOutcome{final: true, outcome: results.OutcomeOK, diag: last.diag, detail: ""}
}

func stepFailure(o stepOut, step string) tryOutcome {
	t := tryOutcome{diag: o.diag, kind: o.kind}
	switch {
	case o.kind != "":
		t = said(t, results.M("step_failed", step).With(o.errMsgOf()))
	case o.errMsg != "": // the step did not run (no access token, token.go)
		t = said(t, results.M("step_skipped", step).With(o.errMsgOf()))
	case o.diag.Code != "":
		t = said(t, results.M("step_exit_code", step, strconv.Itoa(o.exit), o.diag.Code))
	default:
		t = said(t, results.M("step_exit", step, strconv.Itoa(o.exit)))
	}
	t.created = o.diag.ResourceCreated
	t.cut = o.cut
	return t
}

// step returns the plan's step of that name (apply runs exactly the plan), or
// the generated one for remedies the plan does not list.
func (hr *hostRun) step(name string) agent.Step {
	// Two loops, not append(Steps, Recovery...): that could write into the
	// plan's backing array, which other goroutines read.
	for _, steps := range [][]agent.Step{hr.hp.Steps, hr.hp.Recovery} {
		for _, s := range steps {
			if s.Name == name {
				return s
			}
		}
	}
	switch name {
	case agent.StepProbe:
		return agent.ProbeStep(hr.h)
	case agent.StepConnect:
		return agent.ConnectStep(hr.h)
	case agent.StepDisconnect:
		return agent.DisconnectStep(hr.h)
	case agent.StepDisconnectLocal:
		return agent.DisconnectLocalStep(hr.h)
	case agent.StepStop:
		return agent.StopStep(hr.h)
	}
	return agent.RestartServiceStep(hr.h)
}

// dial opens the host's connection (one per host; redialled after a transport failure).
func (hr *hostRun) dial(ctx context.Context) (tryOutcome, bool) {
	r := hr.r
	n := hr.attemptN()
	start := r.x.now()
	r.record(journalRecord{Event: evAttemptBegin, Host: hr.h.Name, Step: "dial", Attempt: n})
	dctx, cancel, cut := r.attemptContext(ctx)
	conn, err := r.x.Dialer.Dial(dctx, hr.tgt)
	cancel()
	if err == nil {
		hr.conn = conn
		r.record(journalRecord{Event: evAttemptEnd, Host: hr.h.Name, Step: "dial", Attempt: n, Started: start, Duration: r.x.now().Sub(start), Class: results.ClassSuccess})
		return tryOutcome{}, true
	}
	kind := errKind(ctx, dctx, err)
	msg := hr.mask(err.Error())
	diag := results.Classify(results.Evidence{Transport: string(kind), TransportMsg: msg, Secrets: hr.secrets})
	att := results.Attempt{N: n, Step: "dial", Code: diag.Code, ExitCode: -1, Started: start, Duration: r.x.now().Sub(start)}
	hr.res.Attempts = append(hr.res.Attempts, att)
	r.record(journalRecord{Event: evAttemptEnd, Host: hr.h.Name, Step: "dial", Attempt: n, Started: start, Duration: att.Duration, Code: diag.Code, Class: diag.Class, ExitCode: -1, Detail: msg})
	r.emit(Event{Kind: EventAttempt, Host: hr.h.Name, Step: "dial", Attempt: n, Code: diag.Code, Class: diag.Class, Message: msg, Evidence: firstLine(diag.Evidence)})
	t := said(tryOutcome{diag: diag, kind: kind, cut: cut()}, results.M("dial_err").With(transportMsg(err).Mask(hr.mask)))
	// The whole text masked too (a secret split across two arguments is
	// whole in it): for apply, probe and check alike; a mismatch drops the
	// message (detailMsg), never the masking.
	t.detail = hr.mask(t.detail)
	return t, false
}

// errKind is the transport kind of err, telling a per-attempt timeout from an
// interruption of the run.
func errKind(parent, attempt context.Context, err error) transport.Kind {
	k := transport.KindOf(err)
	if parent.Err() != nil {
		return transport.Canceled
	}
	if attempt.Err() != nil && (k == "" || k == transport.Canceled) {
		return transport.Timeout
	}
	if k == "" {
		if errors.Is(err, context.DeadlineExceeded) {
			return transport.Timeout
		}
		return transport.Protocol
	}
	return k
}

// runStep runs one remote step on the host's connection: journal, streamed and
// masked log file, per-attempt timeout, classification.
func (hr *hostRun) runStep(ctx context.Context, st agent.Step, action bool) stepOut {
	r := hr.r
	name := hr.h.Name
	if action {
		if o, ok := hr.takeToken(ctx); !ok {
			return o
		}
		if hr.needsToken(st.Name) {
			if o, ok := hr.mintToken(ctx, st.Name); !ok {
				return o // the step did not run; the start-rate token stays held
			}
		}
		hr.token = false
		hr.lastAct = st.Name
	}
	n := hr.attemptN()
	var logRel string
	var alog *attemptLog
	if r.runDir != "" {
		logRel, alog = hr.openLog(n, st.Name)
	}
	start := r.x.now()
	r.record(journalRecord{Event: evAttemptBegin, Host: name, Step: st.Name, Attempt: n, LogPath: logRel})
	if alog != nil {
		alog.writeLine("# ", fmt.Appendf(nil, "arcfleet %s %s attempt %d started %s", name, st.Name, n, start.UTC().Format(time.RFC3339Nano)))
	}
	outW := &streamWriter{log: alog, prefix: "stdout| "}
	errW := &streamWriter{log: alog, prefix: "stderr| "}
	actx, cancel, cut := r.attemptContext(ctx)
	var attempt time.Duration
	if dl, ok := actx.Deadline(); ok {
		attempt = dl.Sub(r.x.now())
	}
	stdin, closeIn := hr.stepReader(st, attempt) // install.go: a package follows the input
	exit, err := hr.conn.Run(actx, st.Command, stdin, outW, errW)
	closeIn()
	kind := transport.Kind("")
	if err != nil {
		kind = errKind(ctx, actx, err)
	}
	o := stepOut{exit: exit, kind: kind, logPath: logRel, cut: err != nil && cut()}
	cancel()
	outW.flush()
	errW.flush()
	o.stdout = outW.text()
	if action && err != nil {
		hr.afterLostStep(st.Name, kind, errW.text(), alog, &o)
	}
	if action && err == nil {
		o.busy = agent.Busy(errW.text())
	}
	stepName := st.Name
	if action && hr.expect != "" {
		// What the step read of the agent is not the agent's action output.
		show, rest, found, perr := agent.CutStepShow(o.stdout)
		o.stdout = rest
		if found && perr == nil {
			o.show = &show
		}
		if why, refused := agent.StateChanged(errW.text()); refused && err == nil && o.busy == "" {
			// The step read the agent under the host lock and stopped: a
			// probe, as far as the report and the journal's end go.
			o.changed, stepName = hr.mask(why), agent.StepProbe
			if perr != nil {
				o.changed += "; " + hr.mask(perr.Error())
			}
		}
	}
	agentErr, logLines := agent.SplitOutput(errW.text())
	ev := results.Evidence{ExitCode: exit, Stdout: o.stdout, Stderr: agentErr, AgentLog: logLines, Secrets: hr.secrets}
	if err != nil {
		o.exit = -1
		o.errMsg = hr.mask(err.Error())
		o.errM = said2(transportMsg(err).Mask(hr.mask), o.errMsg)
		switch {
		case o.cut:
			o.errMsg += fmt.Sprintf(" (run deadline %s reached)", r.x.Deadline)
			o.errM = results.M("err_deadline_cut", r.x.Deadline.String()).With(o.errM)
		case kind == transport.Timeout && !strings.Contains(o.errMsg, "timeout"):
			o.errMsg += fmt.Sprintf(" (attempt timeout %s)", r.x.timeout())
			o.errM = results.M("err_attempt_timeout", r.x.timeout().String()).With(o.errM)
		}
		if o.stopped != "" {
			o.errMsg += "; " + o.stopped
			o.errM = results.Join(o.errM, said2(o.stopM, o.stopped))
		}
		ev.ExitCode, ev.Transport, ev.TransportMsg = -1, string(kind), o.errMsg
	}
	o.diag = results.Classify(ev)
	if o.changed != "" {
		o.diag = results.Diagnosis{Class: results.ClassSuccess}
	}
	for i := range o.diag.Evidence {
		o.diag.Evidence[i] = hr.mask(o.diag.Evidence[i])
	}
	dur := r.x.now().Sub(start)
	if alog != nil {
		alog.writeLine("# ", fmt.Appendf(nil, "exit %d code %s class %s after %s %s", o.exit, o.diag.Code, o.diag.Class, dur.Round(time.Millisecond), o.errMsg))
		if cerr := alog.close(); cerr != nil {
			r.emit(Event{Kind: EventWarning, Host: name, Message: fmt.Sprintf("log %s: %v", logRel, cerr)})
		}
	}
	if err != nil && !o.clean {
		hr.closeConn() // the connection's state is unknown: redial before the next step
	}
	att := results.Attempt{N: n, Step: stepName, Code: o.diag.Code, ExitCode: o.exit, Started: start, Duration: dur, LogPath: logRel}
	hr.res.Attempts = append(hr.res.Attempts, att)
	hr.res.LogPath = logRel
	r.record(journalRecord{Event: evAttemptEnd, Host: name, Step: stepName, Attempt: n, Started: start, Duration: dur, ExitCode: o.exit, Code: o.diag.Code, Class: o.diag.Class, Detail: o.errMsg, LogPath: logRel})
	r.emit(Event{Kind: EventAttempt, Host: name, Step: stepName, Attempt: n, Code: o.diag.Code, Class: o.diag.Class, Message: o.errMsg,
		Log: logRel, Evidence: firstLine(o.diag.Evidence)})
	return o
}

// takeToken waits for a start-rate token for the next agent action, unless
// one is held already.
func (hr *hostRun) takeToken(ctx context.Context) (stepOut, bool) {
	if hr.token || hr.r.bucket == nil {
		hr.token = hr.r.bucket != nil
		return stepOut{}, true
	}
	// The wait ends at the run's deadline too.
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if !hr.r.deadline.IsZero() {
		wctx, cancel = context.WithDeadline(ctx, hr.r.deadline)
	}
	err := hr.r.bucket.Wait(wctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			m := results.M("rate_deadline")
			return stepOut{kind: transport.Timeout, errMsg: m.Text("en"), errM: m, exit: -1, cut: true}, false
		}
		m := results.M("rate_interrupted")
		return stepOut{kind: transport.Canceled, errMsg: m.Text("en"), errM: m, exit: -1}, false
	}
	hr.token = true
	return stepOut{}, true
}

// attemptN is the attempt number steps and dials carry: the try under way
// (1 outside the retry loop, e.g. plan --probe).
func (hr *hostRun) attemptN() int { return max(hr.attempt, 1) }

// openLog creates the log of step in attempt n: hosts/NAME/attempt-N-STEP.log,
// or attempt-N-STEP-K.log (K = 2, 3, ...) when the attempt runs that step
// again (a probe after a wait). Never an existing file: a resumed run's
// attempts continue the numbering, and logs of runs before it (attempt-N.log,
// N counting dials and steps) keep their names. It returns the path relative
// to the run directory ("" and nil when no file could be made: warned).
func (hr *hostRun) openLog(n int, step string) (string, *attemptLog) {
	dir := filepath.Join(HostsDir, hr.h.Name)
	if err := os.MkdirAll(filepath.Join(hr.r.runDir, dir), 0o700); err != nil {
		hr.r.emit(Event{Kind: EventWarning, Host: hr.h.Name, Message: fmt.Sprintf("log directory: %v", err)})
		return "", nil
	}
	for k := 1; ; k++ {
		name := fmt.Sprintf("attempt-%d-%s.log", n, step)
		if k > 1 {
			name = fmt.Sprintf("attempt-%d-%s-%d.log", n, step, k)
		}
		rel := filepath.Join(dir, name)
		f, err := os.OpenFile(filepath.Join(hr.r.runDir, rel), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) && k < 1000 {
			continue
		}
		if err != nil {
			hr.r.emit(Event{Kind: EventWarning, Host: hr.h.Name, Message: fmt.Sprintf("log file: %v", err)})
			return "", nil
		}
		return rel, &attemptLog{f: f, masker: hr.masker}
	}
}

// finish records how the host ended: report line, journal, breaker, event.
func (r *run) finish(hr *hostRun, t tryOutcome) {
	res := hr.res
	res.Outcome = t.outcome
	if hr.unknown != "" && t.outcome != results.OutcomeOK && t.outcome != results.OutcomeUnchanged {
		last, ok := t.detailMsg()
		t = said(t, results.M("outcome_unknown", hr.unknown).With(last))
		if !ok {
			t.msg = results.Msg{}
		}
	}
	if hr.resolved != "" {
		m := hr.resolvedMsg
		if m.Text("en") != hr.resolved {
			m = results.M(results.MsgText, hr.resolved)
		}
		t = t.then(m)
	}
	if res.Leftover != "" {
		t = t.then(results.M("remove_on_host", res.Leftover))
	}
	res.Detail = hr.mask(t.detail)
	if m, ok := t.detailMsg(); ok && t.detail != "" {
		m = m.Mask(hr.mask)
		if m.Text("en") == res.Detail { // the message says what the English says, or none
			res.DetailMsg = &m
		}
	}
	res.FinalCode = t.diag.Code
	res.Class = t.diag.Class
	// Evidence explains a problem; an ok or unchanged host keeps none, which
	// at 10,000 hosts was most of what each finished host held in memory.
	if t.outcome != results.OutcomeOK && t.outcome != results.OutcomeUnchanged {
		res.Evidence = t.diag.Evidence
	}
	if t.outcome == results.OutcomeFailed && t.diag.Class == results.ClassCredential {
		if r.brk.Fail(hr.brkKey, hr.h.Name, t.diag.Code) {
			r.emit(Event{Kind: EventWarning, Host: hr.h.Name, Code: t.diag.Code, Message: r.brk.Open(hr.brkKey)})
		}
	}
	ev := evDone
	if t.outcome == results.OutcomeInterrupted || t.outcome == results.OutcomeNotStarted {
		// Not finished: resume runs it again (probing first when it was acted on).
		ev = evInterrupted
		if t.outcome == results.OutcomeNotStarted {
			ev = evNotStarted
		}
	}
	r.record(journalRecord{Event: ev, Host: hr.h.Name, Outcome: res.Outcome, Code: res.FinalCode, Class: res.Class, Detail: res.Detail, Msg: res.DetailMsg, Evidence: res.Evidence, LogPath: res.LogPath})
	r.emit(Event{Kind: EventDone, Host: hr.h.Name, Outcome: res.Outcome, Code: res.FinalCode, Class: res.Class, Message: res.Detail,
		Log: res.LogPath, Evidence: firstLine(res.Evidence)})
	r.res[hr.i] = res
}

// firstLine is the first non-blank line of evidence (already masked), for events.
func firstLine(evidence []string) string {
	for _, l := range evidence {
		if l = strings.TrimSpace(l); l != "" {
			if i := strings.IndexByte(l, '\n'); i >= 0 {
				l = strings.TrimSpace(l[:i])
			}
			return l
		}
	}
	return ""
}
