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

	"golang.org/x/sync/errgroup"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
)

// Executor defaults.
const (
	DefaultConcurrency = 50
	// DefaultTimeout bounds one attempt: the agent itself may take 10 minutes to connect.
	DefaultTimeout = 15 * time.Minute
)

// Codes of the executor's own outcomes (results' catalog explains each).
const (
	codeDrift        = "ARCF-DRIFT"         // registered to another target: left alone
	codeExpired      = "ARCF-EXPIRED"       // registered at the target but Expired: needs reconnect
	codeBreakerOpen  = "ARCF-BREAKER-OPEN"  // not started: the credential's circuit breaker is open
	codeCanaryFailed = "ARCF-CANARY-FAILED" // not started: a canary host failed
	codeDeadline     = "ARCF-DEADLINE"      // the run's deadline stopped or kept back the host
	codeInterrupted  = "ARCF-INTERRUPTED"   // the run was interrupted before or while the host ran
	codeJournal      = "ARCF-JOURNAL"       // not started: the journal could not be written
	codeProbeOutput  = "ARCF-PROBE-OUTPUT"  // the agent's show output could not be read
	codeHostBusy     = "ARCF-HOST-BUSY"     // another operation held the host past the wait
	codeCleanup      = "ARCF-CLEANUP"       // a stopped step's clean-up on the host was not confirmed
)

// Run-directory file names.
const (
	PlanFile = "plan.json"
	HostsDir = "hosts"
)

// Event kinds.
const (
	EventStart      = "start"       // a host was launched
	EventAttempt    = "attempt"     // one step's attempt ended (Step, Attempt, Code)
	EventRetry      = "retry"       // a retry is scheduled after Delay (Code: why)
	EventDone       = "done"        // the host finished (Outcome, Code)
	EventNotStarted = "not-started" // the host was never launched (Message: why)
	EventWarning    = "warning"     // about the run, not one host (e.g. concurrency lowered)
	EventProbed     = "probed"      // Probe (plan --probe) read the host: Verdict, Message the detail
)

// DefaultMemoryLimit is the arcfleet binary's soft memory limit when GOMEMLIMIT is unset. Without
// one, GOGC=100 lets the heap reach twice the live data: 190-250 MB peak RSS at
// 10,000 hosts, 500 at once (issue 6 asks under 150 MB). With 128 MiB the same
// run peaks at 137 MB for about 7-10% more controller CPU per host (measured:
// demo BenchmarkOverhead, README). Live data above the limit (far larger
// fleets or concurrency) makes the GC run often, at most half the CPU: then
// set GOMEMLIMIT (e.g. GOMEMLIMIT=512MiB, or off).
const DefaultMemoryLimit = 128 << 20

// Executor runs plans: bounded fan-out over the hosts, one connection per host
// carrying all its steps, the retry policy, a per-credential circuit breaker,
// an agent-action start-rate limit, canary hosts, a journal and resume.
// The zero value is usable once Dialer is set.
type Executor struct {
	Dialer      transport.Dialer
	LookupEnv   func(string) (string, bool) // resolves secret refs (SP secret, login passwords); nil = os.LookupEnv
	Concurrency int                         // hosts in flight at once; default 50
	Rate        float64                     // agent actions started per second, 0 = unlimited
	// Burst is the token bucket's size for Rate (default 1: actions evenly spaced), at most Rate.
	Burst   int
	Canary  int           // the first N hosts run alone; the rest start only if all of them succeed
	Timeout time.Duration // per attempt (dial, or one remote step), default 15m
	// BusyWait bounds the wait for a host another operation holds; default:
	// Timeout plus the stop grace and the watchdog's margin.
	BusyWait time.Duration

	// TwoSessions turns off the one-session happy path (exec_host.go,
	// oneSession): every try probes in a session of its own before acting.
	TwoSessions bool

	Deadline time.Duration // whole run, 0 = none: hosts not started by then end not-started, no retry starts after it
	Events   func(Event)   // progress; called from many goroutines; may be nil
	Now      func() time.Time
	// Sleep waits out retry backoff and service waits (not the start rate);
	// nil = real timer; tests may shorten backoff.
	Sleep func(ctx context.Context, d time.Duration) error
	// RetryFailed makes Resume also re-run hosts that ended failed, or blocked
	// by a secret reference that did not resolve or by Blocked: causes the user may have fixed
	// since (a credential, an unset variable). Hosts not finished are always
	// re-run. A re-run host gets a fresh retry budget.
	RetryFailed bool
	// Blocked holds hosts a check outside the plan found blocked before any host
	// was touched (the Azure pre-flight: a delete lock, a missing permission, a
	// name clash), by host name. They end blocked with its code and detail and
	// are never dialed; RetryFailed runs them again on resume, once the cause is
	// fixed (the check runs again then and blocks them again if it is not).
	Blocked map[string]Block
	// Tokens mints the access tokens of credentials in access-token mode, right
	// before each connect or disconnect attempt. nil: hosts in that mode end
	// blocked (CodeNoTokenSource) with the fix.
	Tokens TokenSource

	// jitter replaces the random backoff jitter in tests.
	jitter func(time.Duration) time.Duration
}

// Block is why a check outside the plan keeps a host from running.
type Block struct {
	Code   string // a catalog code (AZCM/ARM/AADSTS/ARCF)
	Detail string // what was found and the fix; never a secret
	// Msg, when set, is Detail as a message (its English is Detail), so a
	// report says it in its language.
	Msg *results.Msg
}

// Event is one progress event. Message never holds a secret.
type Event struct {
	Time    time.Time
	Host    string
	Kind    string // EventStart, EventAttempt, EventRetry, EventDone, EventNotStarted, EventWarning
	Step    string
	Attempt int
	Code    string
	Outcome results.Outcome
	Class   results.Class // of Code, when there is one
	Delay   time.Duration
	Message string
	Verdict string // EventProbed: the probe's verdict (VerdictConnect, VerdictHostKey, ...)
	// Log is the attempt's log file (relative to the run directory) and
	// Evidence the first line of its evidence, masked: for -v.
	Log      string
	Evidence string
}

// Apply runs plan p, writing its run directory runDir (created; it must not hold
// a run already): plan.json, journal.jsonl, hosts/NAME/attempt-N-STEP.log, the reports.
// The run directory is locked for the whole run (a second Apply or Resume on it
// fails at once). The returned report is also written when ctx is canceled
// (Interrupted set). An error means the run could not be set up or its records
// not written.
func (x *Executor) Apply(ctx context.Context, p *plan.Plan, runDir string) (*results.Report, error) {
	if err := checkPlan(p); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(runDir, HostsDir), 0o700); err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	// Lock first, then look: checking for a journal before taking the lock
	// would let two processes both find none.
	j, recs, err := openJournal(filepath.Join(runDir, JournalFile))
	if err != nil {
		return nil, err
	}
	defer j.close()
	if len(recs) > 0 {
		return nil, fmt.Errorf("run directory %s already holds a run (%s); fix: `arcfleet resume %s`, or choose a new --run-dir", runDir, JournalFile, runDir)
	}
	if err := plan.Save(filepath.Join(runDir, PlanFile), p); err != nil {
		return nil, err
	}
	return x.execute(ctx, p, runDir, j, nil, "apply")
}

func checkPlan(p *plan.Plan) error {
	if p == nil {
		return errors.New("no plan")
	}
	switch p.Action {
	case agent.ActionConnect, agent.ActionDisconnect, agent.ActionReconnect, agent.ActionInstall, agent.ActionUpgrade:
	default:
		return fmt.Errorf("plan action %q: fix: use connect, disconnect, reconnect, install or upgrade", p.Action)
	}
	seen := make(map[string]bool, len(p.Hosts))
	for i := range p.Hosts {
		n := p.Hosts[i].Host.Name
		if n == "" || seen[n] || n != filepath.Base(n) || n == "." || n == ".." {
			return fmt.Errorf("plan host %d: name %q is empty, repeated or not usable as a directory name; fix: regenerate the plan", i+1, n)
		}
		seen[n] = true
	}
	return nil
}

// run is the state of one Apply or Resume.
type run struct {
	x        *Executor
	p        *plan.Plan
	runDir   string // "" for Probe: no journal, no logs
	j        *journal
	policy   retryPolicy
	bucket   *tokenBucket
	brk      *breaker
	started  time.Time
	deadline time.Time // zero = none
	hosts    func(string) *inventory.Host

	creds   map[string]*credSecret // by credential name
	secrets []string               // every resolved SP secret, masked everywhere
	masker  *results.Masker        // masks secrets; set once they are resolved
	lockID  string                 // this run's name on the hosts (hostLockID)

	res   []results.HostResult // by plan index; each written only by its host's goroutine
	prior []*priorHost         // by plan index, from the journal on Resume; nil entries on Apply
}

type credSecret struct {
	cred   inventory.Credential
	secret string
	err    error
	code   string // of err: ARCF0001 (reference does not resolve) or ARCF0007 (credential unusable)
}

func (x *Executor) now() time.Time {
	if x.Now != nil {
		return x.Now()
	}
	return time.Now()
}

func (x *Executor) sleep(ctx context.Context, d time.Duration) error {
	if x.Sleep != nil {
		return x.Sleep(ctx, d)
	}
	return realSleep(ctx, d)
}

// realSleep waits d or until ctx ends.
func realSleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (x *Executor) lookupEnv() func(string) (string, bool) {
	if x.LookupEnv != nil {
		return x.LookupEnv
	}
	return os.LookupEnv
}

func (x *Executor) timeout() time.Duration {
	if x.Timeout > 0 {
		return x.Timeout
	}
	return DefaultTimeout
}

func (r *run) emit(e Event) {
	if r.x.Events == nil {
		return
	}
	e.Time = r.x.now()
	e.Message = r.masker.Mask(e.Message)
	e.Evidence = r.masker.Mask(e.Evidence)
	r.x.Events(e)
}

// record appends to the journal (when there is one). A journal that cannot be
// written makes resume unsafe, so the first failure stops new launches.
func (r *run) record(rec journalRecord) {
	if r.j == nil {
		return
	}
	rec.T = r.x.now()
	rec.Detail = r.masker.Mask(rec.Detail)
	if rec.Msg != nil {
		m := rec.Msg.Mask(r.masker.Mask)
		rec.Msg = &m
	}
	_ = r.j.append(rec) // the error sticks in the journal; launch checks it
}

func (r *run) journalErr() error {
	if r.j == nil {
		return nil
	}
	r.j.mu.Lock()
	defer r.j.mu.Unlock()
	return r.j.err
}

func newRun(x *Executor, p *plan.Plan, runDir string, j *journal) (*run, error) {
	r := &run{x: x, p: p, runDir: runDir, j: j, started: x.now(), hosts: p.HostLookup(), lockID: hostLockID(runDir)}
	r.policy = newRetryPolicy(p.Retry)
	if x.jitter != nil {
		r.policy.jitter = x.jitter
	}
	r.brk = newBreaker(p.Retry.BreakerThreshold, r.resumeMsg(true))
	if x.Rate > 0 {
		// The real timer, not x.Sleep: tests shorten backoff waits, never the start rate.
		r.bucket = newTokenBucket(x.Rate, x.Burst, x.now, realSleep)
	}
	if x.Deadline > 0 {
		r.deadline = r.started.Add(x.Deadline)
	}
	r.res = make([]results.HostResult, len(p.Hosts))
	r.prior = make([]*priorHost, len(p.Hosts))
	r.creds = map[string]*credSecret{}
	r.masker = results.NewMasker(nil)
	return r, nil
}

// resumeMsg is the command that continues this run, with --retry-failed when
// the hosts it is for ended failed: "`arcfleet resume RUN_DIR --retry-failed`".
func (r *run) resumeMsg(retryFailed bool) results.Msg {
	if r.runDir == "" {
		return results.M("resume_again")
	}
	if retryFailed {
		return results.M("resume_retry", r.runDir)
	}
	return results.M("resume_cmd", r.runDir)
}

// tenantOf is the tenant host i signs in to: its own, else its credential's
// (the tenant AgentConfig gives the agent).
func (r *run) tenantOf(i int) string {
	h := &r.p.Hosts[i].Host
	if h.Azure.TenantID != "" {
		return h.Azure.TenantID
	}
	return r.p.Credentials[h.Credential].TenantID
}

// breakerKey is host i's circuit breaker: its service principal in its tenant.
func (r *run) breakerKey(i int) string {
	return credentialKey(r.p.Hosts[i].Host.Credential, r.tenantOf(i))
}

// resolveCredentials resolves, once per credential, the SP secret of every
// host that will run. A reference that does not resolve blocks its hosts.
func (r *run) resolveCredentials(idx []int) {
	for _, i := range idx {
		name := r.p.Hosts[i].Host.Credential
		if _, ok := r.creds[name]; ok {
			continue
		}
		c, ok := r.p.Credentials[name]
		cs := &credSecret{cred: c, code: inventory.CodeCredential}
		switch {
		case name == "":
			cs.err = errorf(results.M("cred_none"))
		case !ok:
			cs.err = errorf(results.M("cred_not_in_plan", strconv.Quote(name)))
		case c.AuthMode() == inventory.AuthAccessToken:
			// Hosts get tokens minted per attempt (token.go); the controller's own
			// secret is read only to be masked, should anything echo it.
			if r.x.Tokens == nil {
				cs.err, cs.code = errorf(noTokenSourceMsg(c)), codeNoTokenSource
			}
			if v, err := resolveSecret(results.M("who_credential", name), "secret", c.ControllerSecret(), r.x.lookupEnv()); err == nil && v != "" {
				r.secrets = append(r.secrets, v)
			}
		default:
			// What the hosts receive: the secret, or the certificate (certificate mode).
			key, ref := "secret", c.HostSecret()
			if c.AuthMode() == inventory.AuthCertificate {
				key = "certificate"
			}
			cs.secret, cs.err = resolveSecret(results.M("who_credential", name), key, ref, r.x.lookupEnv())
			if isSecretError(cs.err) {
				cs.code = inventory.CodeSecretUnresolved
			}
			if cs.err == nil && cs.secret == "" {
				cs.err = errorf(results.M("cred_no_ref", name, key))
			}
		}
		if cs.secret != "" {
			r.secrets = append(r.secrets, cs.secret)
		}
		r.creds[name] = cs
	}
	r.masker = results.NewMasker(r.secrets)
}

// execute runs the hosts of p not finished in prior, then writes the reports.
func (x *Executor) execute(ctx context.Context, p *plan.Plan, runDir string, j *journal, prior []*priorHost, mode string) (*results.Report, error) {
	r, err := newRun(x, p, runDir, j)
	if err != nil {
		return nil, err
	}
	if prior != nil {
		r.prior = prior
	}
	r.record(journalRecord{Event: evRunStart, Detail: mode, Numbering: attemptNumbering})

	var todo []int
	for i := range p.Hosts {
		if pr := r.prior[i]; pr != nil && pr.done {
			if !x.RetryFailed || !pr.retryable() {
				r.res[i] = pr.result(p, i)
				continue
			}
			pr.tries = 0 // the user fixed the cause: a fresh retry budget
		}
		todo = append(todo, i)
	}
	var runnable []int
	var needCred []int
	for _, i := range todo {
		if !p.Hosts[i].Blocked() {
			needCred = append(needCred, i)
		}
	}
	r.resolveCredentials(needCred)
	for _, i := range todo {
		hp := &p.Hosts[i]
		if hp.Blocked() {
			r.finishBlockedMsg(i, findingsMsg(hp.Findings), findingsCode(hp.Findings))
			continue
		}
		if b, ok := x.Blocked[hp.Host.Name]; ok {
			class := results.ClassOf(b.Code)
			if class == "" {
				class = results.ClassInput
			}
			r.finishBlockedBy(i, b.Detail, b.Msg, b.Code, class, true)
			continue
		}
		if cs := r.creds[hp.Host.Credential]; cs.err != nil {
			m := errMsg(cs.err)
			if cs.code == inventory.CodeSecretUnresolved {
				m = results.M("then_resume").With(m, r.resumeMsg(true))
			}
			r.finishBlockedMsg(i, m, cs.code)
			continue
		}
		runnable = append(runnable, i)
	}

	conc := r.concurrency()
	canary := x.Canary
	if canary > len(runnable) {
		canary = len(runnable)
	}
	if canary > 0 {
		r.fanOut(ctx, runnable[:canary], conc)
		var bad []results.Msg
		for _, i := range runnable[:canary] {
			if o := r.res[i].Outcome; o != results.OutcomeOK && o != results.OutcomeUnchanged {
				bad = append(bad, results.M("canary_host", r.res[i].Name, r.res[i].FinalCode).With(results.M(results.MsgOutcome, string(o))))
			}
		}
		rest := runnable[canary:]
		// An interrupted canary is no verdict: fanOut reports the rest as interrupted.
		if len(bad) > 0 && ctx.Err() == nil {
			why := results.M("canary_failed").With(joinMaxMsg(bad, 5), r.resumeMsg(true))
			for _, i := range rest {
				r.notStartedMsg(i, why, codeCanaryFailed)
			}
			rest = nil
		}
		r.fanOut(ctx, rest, conc)
	} else {
		r.fanOut(ctx, runnable, conc)
	}

	rep := r.report(ctx.Err() != nil)
	if runDir != "" {
		if werr := results.WriteReports(runDir, rep); werr != nil {
			return rep, fmt.Errorf("run %s: %w", runDir, werr)
		}
	}
	if jerr := r.journalErr(); jerr != nil {
		return rep, jerr
	}
	return rep, nil
}

// concurrency is Executor.Concurrency, lowered when the open-file limit cannot
// carry that many hosts (about 3 descriptors each: socket, log file, spare).
func (r *run) concurrency() int {
	c := r.x.Concurrency
	if c <= 0 {
		c = DefaultConcurrency
	}
	if limit, ok := openFileLimit(); ok {
		const margin, perHost = 64, 3
		max := (int(limit) - margin) / perHost
		if max < 1 {
			max = 1
		}
		if c > max {
			r.emit(Event{Kind: EventWarning, Message: fmt.Sprintf("concurrency lowered from %d to %d: the open-file limit is %d (about %d per host); fix: raise it with `ulimit -n`", c, max, limit, perHost)})
			c = max
		}
	}
	return c
}

// fanOut runs hosts idx with at most conc at once. A host is checked again when
// its slot comes free: by then the run may be interrupted, past its deadline, or
// its credential's breaker open.
func (r *run) fanOut(ctx context.Context, idx []int, conc int) {
	if len(idx) == 0 {
		return
	}
	var g errgroup.Group
	g.SetLimit(conc)
	for _, i := range idx {
		if why, code := r.launchBlocker(ctx, i); why.Key != "" {
			r.notStartedMsg(i, why, code)
			continue
		}
		g.Go(func() error {
			if why, code := r.launchBlocker(ctx, i); why.Key != "" {
				r.notStartedMsg(i, why, code)
				return nil
			}
			r.runHost(ctx, i)
			return nil
		})
	}
	_ = g.Wait()
}

// launchBlocker says why host i must not start now, and its code, or a zero Msg.
func (r *run) launchBlocker(ctx context.Context, i int) (why results.Msg, code string) {
	if ctx.Err() != nil {
		return results.M("interrupted_before").With(r.resumeMsg(false)), codeInterrupted
	}
	if r.pastDeadline() {
		return results.M("deadline_before", r.x.Deadline.String()).With(r.resumeMsg(false)), codeDeadline
	}
	if err := r.journalErr(); err != nil {
		return results.M("journal_stopped", err.Error()), codeJournal
	}
	if why, open := r.brk.OpenMsg(r.breakerKey(i)); open {
		return why, codeBreakerOpen
	}
	return results.Msg{}, ""
}

// pastDeadline reports whether the run's deadline has passed.
func (r *run) pastDeadline() bool {
	return !r.deadline.IsZero() && !r.x.now().Before(r.deadline)
}

// attemptContext bounds one attempt: Executor.Timeout, and never past the run's
// deadline. cut reports, once the attempt is over, whether the deadline (not the
// timeout, nor an interrupt) ended it.
func (r *run) attemptContext(ctx context.Context) (actx context.Context, cancel context.CancelFunc, cut func() bool) {
	end := r.x.now().Add(r.x.timeout())
	byDeadline := !r.deadline.IsZero() && r.deadline.Before(end)
	if byDeadline {
		end = r.deadline
	}
	actx, cancel = context.WithTimeout(ctx, end.Sub(r.x.now()))
	return actx, cancel, func() bool { return byDeadline && ctx.Err() == nil && actx.Err() != nil }
}

// notStartedMsg is notStarted with why as a message (English in the journal
// and events, in the report's language in the report).
func (r *run) notStartedMsg(i int, why results.Msg, code string) {
	why = why.Mask(r.masker.Mask)
	hp := &r.p.Hosts[i]
	hr := r.baseResult(i)
	hr.Outcome = results.OutcomeNotStarted
	hr.Detail = why.Text("en")
	hr.DetailMsg = &why
	hr.FinalCode = code
	hr.Class = results.ClassOf(code)
	if pr := r.prior[i]; pr != nil {
		hr.Attempts = pr.attempts
	}
	r.res[i] = hr
	r.record(journalRecord{Event: evNotStarted, Host: hp.Host.Name, Outcome: hr.Outcome, Code: code, Class: hr.Class, Detail: hr.Detail, Msg: hr.DetailMsg})
	r.emit(Event{Kind: EventNotStarted, Host: hp.Host.Name, Outcome: hr.Outcome, Code: code, Class: hr.Class, Message: hr.Detail})
}

// finishBlockedMsg ends host i blocked (class input) by m, masked: the
// report says it in its language.
func (r *run) finishBlockedMsg(i int, m results.Msg, code string) {
	m = m.Mask(r.masker.Mask)
	// The whole text masked too: a secret split across two arguments is
	// whole in it (the message is then dropped, the English kept masked).
	r.finishBlockedBy(i, r.masker.Mask(m.Text("en")), &m, code, results.ClassInput, false)
}

// finishBlockedBy ends host i blocked; external says a check outside the plan
// blocked it (Executor.Blocked), so a resume with RetryFailed runs it again.
// m, when not nil, is detail as a message.
func (r *run) finishBlockedBy(i int, detail string, m *results.Msg, code string, class results.Class, external bool) {
	hp := &r.p.Hosts[i]
	hr := r.baseResult(i)
	hr.Outcome = results.OutcomeBlocked
	hr.Detail = detail
	if m != nil && m.Text("en") == detail {
		hr.DetailMsg = m
	}
	hr.FinalCode = code
	hr.Class = class
	if pr := r.prior[i]; pr != nil {
		hr.Attempts = pr.attempts
	}
	r.res[i] = hr
	r.record(journalRecord{Event: evDone, Host: hp.Host.Name, Outcome: hr.Outcome, Code: code, Class: hr.Class, Detail: detail, Msg: hr.DetailMsg, External: external})
	r.emit(Event{Kind: EventDone, Host: hp.Host.Name, Outcome: hr.Outcome, Code: code, Class: hr.Class, Message: detail})
}

func (r *run) baseResult(i int) results.HostResult {
	h := &r.p.Hosts[i].Host
	return results.HostResult{Name: h.Name, OS: h.OS, Action: r.p.Action}
}

func findingsDetail(fs []inventory.Finding) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.String())
	}
	return "blocked by validation: " + joinMax(s, 5)
}

// findingsMsg is findingsDetail as a message: each finding by its key when
// it has one (Finding.Key), else as its text.
func findingsMsg(fs []inventory.Finding) results.Msg {
	var ms []results.Msg
	for _, f := range fs {
		ms = append(ms, findingMsg(f))
	}
	return said2(results.M("blocked_validation").With(joinMaxMsg(ms, 5)), findingsDetail(fs))
}

// findingMsg is one finding, "FILE:LINE:COL: CODE HOST: message".
func findingMsg(f inventory.Finding) results.Msg {
	text := f.String()
	if f.Key == "" {
		return results.M(results.MsgText, text)
	}
	h := f.Host
	if h == "" {
		h = "-"
	}
	var body results.Msg
	if k, jump := strings.CutPrefix(f.Key, "jump:"); jump {
		body = results.M("f_jump").With(results.M("f_"+k, f.Args...))
	} else {
		body = results.M("f_"+f.Key, f.Args...)
	}
	body = results.M("finding_fix").With(body, results.M("f_"+f.FixKey, f.FixArgs...))
	key := "finding"
	if f.Warning {
		key = "finding_warning"
	}
	return said2(results.M(key, f.Pos.String(), f.Code, h).With(body), text)
}

// joinMaxMsg is joinMax of messages.
func joinMaxMsg(ms []results.Msg, n int) results.Msg {
	if len(ms) > n {
		ms = append(ms[:n:n], results.M("and_more", strconv.Itoa(len(ms)-n)))
	}
	return results.Join(ms...)
}

func findingsCode(fs []inventory.Finding) string {
	if len(fs) > 0 {
		return fs[0].Code
	}
	return ""
}

func joinMax(s []string, n int) string {
	out := ""
	for i, v := range s {
		if i == n {
			return out + fmt.Sprintf("; and %d more", len(s)-n)
		}
		if i > 0 {
			out += "; "
		}
		out += v
	}
	return out
}

// report assembles the run's report in plan order.
func (r *run) report(interrupted bool) *results.Report {
	rep := &results.Report{
		FormatVersion: results.ReportFormatVersion,
		RunID:         filepath.Base(r.runDir),
		Action:        r.p.Action,
		Inventory:     r.p.Inventory,
		Started:       r.started,
		Finished:      r.x.now(),
		Interrupted:   interrupted,
		BreakerOpen:   r.brk.OpenKeys(),
		Hosts:         r.res,
	}
	if r.runDir == "" {
		rep.RunID = ""
	}
	for i := range rep.Hosts {
		if rep.Hosts[i].Name == "" { // never reached: cannot happen, but never report an empty line
			rep.Hosts[i] = r.baseResult(i)
			rep.Hosts[i].Outcome = results.OutcomeNotStarted
			rep.Hosts[i].FinalCode = codeInterrupted
		}
	}
	return rep
}
