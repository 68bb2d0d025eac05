package executor

import (
	"context"
	"fmt"
	"strings"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/plan"

	"golang.org/x/sync/errgroup"

	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
)

// Probe verdicts beyond those documented on Probe.Verdict.
const (
	VerdictConnect             = "connect"
	VerdictDisconnect          = "disconnect"
	VerdictReconnect           = "reconnect" // reconnect of a registered host: disconnect, then connect
	VerdictAlreadyConnected    = "already-connected"
	VerdictAlreadyDisconnected = "already-disconnected" // disconnect of a host that is not connected: no change
	VerdictDrift               = "drift"
	VerdictAzureLocal          = "azure-local" // refused: it would disconnect an Azure Local machine (agent.Decide)
	VerdictUnreachable         = "unreachable"
	VerdictHostKey             = "host-key"
	VerdictAuth                = "auth"
	VerdictError               = "error"
)

// Probe connects to every unblocked host of p read-only (host key, `azcmagent
// show --json`, agent version) and fills HostPlan.Probe with what apply would
// do. It runs no agent action and reads no service-principal secret. Per-host
// problems become verdicts; the error is for a bad plan or an interrupted probe.
func (x *Executor) Probe(ctx context.Context, p *plan.Plan) error {
	if err := checkPlan(p); err != nil {
		return err
	}
	r, err := x.probeRun(p)
	if err != nil {
		return err
	}
	var g errgroup.Group
	g.SetLimit(r.concurrency())
	for i := range p.Hosts {
		if p.Hosts[i].Blocked() {
			continue
		}
		g.Go(func() error {
			if ctx.Err() == nil {
				name := p.Hosts[i].Host.Name
				r.emit(Event{Kind: EventStart, Host: name})
				pr := r.probeHost(ctx, i, true)
				p.Hosts[i].Probe = pr
				r.emit(Event{Kind: EventProbed, Host: name, Verdict: pr.Verdict, Message: pr.Detail})
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("probe interrupted: %w", err)
	}
	p.Probed = true
	return nil
}

// CheckProbes re-probes every host of a saved plan that carries a Probe and
// refuses the plan when a host's host key, agent status or resource id no
// longer matches what was recorded: the plan was reviewed against a fleet that
// has changed since. It returns nil when all match.
func CheckProbes(ctx context.Context, x *Executor, p *plan.Plan) error {
	if err := checkPlan(p); err != nil {
		return err
	}
	r, err := x.probeRun(p)
	if err != nil {
		return err
	}
	diffs := make([]string, len(p.Hosts))
	var g errgroup.Group
	g.SetLimit(r.concurrency())
	for i := range p.Hosts {
		old := p.Hosts[i].Probe
		if old == nil || p.Hosts[i].Blocked() {
			continue
		}
		g.Go(func() error {
			if ctx.Err() == nil {
				diffs[i] = probeDiff(p.Hosts[i].Host.Name, old, r.probeHost(ctx, i, false))
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("checking the plan's probes interrupted: %w", err)
	}
	var stale []string
	for _, d := range diffs {
		if d != "" {
			stale = append(stale, d)
		}
	}
	if len(stale) > 0 {
		return fmt.Errorf("the plan is stale: %s; fix: run `arcfleet plan --probe` again and review it", joinMax(stale, 10))
	}
	return nil
}

// probeDiff names what changed on a host since the plan's probe, or "".
func probeDiff(host string, old, now *plan.Probe) string {
	var d []string
	if now.Verdict == VerdictHostKey && old.Verdict != VerdictHostKey {
		d = append(d, "its host key no longer verifies: "+now.Detail)
	}
	if now.HostKey != "" && old.HostKey != "" && now.HostKey != old.HostKey {
		d = append(d, fmt.Sprintf("host key was %s, now %s", old.HostKey, now.HostKey))
	}
	probed := now.AgentStatus != "" || now.Verdict != VerdictUnreachable && now.Verdict != VerdictAuth && now.Verdict != VerdictHostKey && now.Verdict != VerdictError
	if probed {
		if !strings.EqualFold(old.AgentStatus, now.AgentStatus) {
			d = append(d, fmt.Sprintf("agent status was %q, now %q", old.AgentStatus, now.AgentStatus))
		}
		if !strings.EqualFold(old.ResourceID, now.ResourceID) {
			d = append(d, fmt.Sprintf("resource id was %q, now %q", old.ResourceID, now.ResourceID))
		}
	}
	if len(d) == 0 {
		return ""
	}
	return fmt.Sprintf("host %s: %s (probed %s)", host, strings.Join(d, ", "), old.ProbedAt.UTC().Format("2006-01-02T15:04:05Z"))
}

// probeRun is a run without run directory, journal or secrets.
func (x *Executor) probeRun(p *plan.Plan) (*run, error) {
	r, err := newRun(x, p, "", nil)
	if err != nil {
		return nil, err
	}
	for name, c := range p.Credentials {
		r.creds[name] = &credSecret{cred: c}
	}
	return r, nil
}

// probeHost dials host i and reads the agent's state; never acts. With
// network it also runs the check step (check.go) and records its causes.
func (r *run) probeHost(ctx context.Context, i int, network bool) *plan.Probe {
	hr := r.newHostRun(i)
	defer hr.closeConn()
	pr := &plan.Probe{ProbedAt: r.x.now()}
	var ok bool
	if pr.Verdict, pr.Detail, ok = hr.dialReadOnly(ctx); !ok {
		return pr
	}
	pr.HostKey = hr.conn.Fingerprint()
	o := hr.runStep(ctx, hr.step(agent.StepProbe), false)
	if !o.ok() {
		pr.Verdict, pr.Detail = VerdictError, stepFailure(o, agent.StepProbe).detail
		if o.kind == transport.Unreachable || o.kind == transport.Lost || o.kind == transport.Timeout {
			pr.Verdict = VerdictUnreachable
		}
		return pr
	}
	s, err := agent.ParseProbe(o.stdout)
	if err != nil {
		pr.Verdict, pr.Detail = VerdictError, hr.mask(err.Error())
		return pr
	}
	pr.AgentStatus, pr.ResourceID, pr.AgentVersion = s.Status, s.ResourceID, s.AgentVersion
	seq, t := hr.decide(s, remedyNone)
	switch {
	case t.final && t.outcome == results.OutcomeUnchanged && r.p.Action == agent.ActionDisconnect:
		pr.Verdict = VerdictAlreadyDisconnected
	case t.final && t.outcome == results.OutcomeUnchanged:
		pr.Verdict = VerdictAlreadyConnected
	case t.final && t.diag.Code == codeDrift:
		pr.Verdict = VerdictDrift
	case t.final && t.diag.Code == codeAzureLocal:
		pr.Verdict = VerdictAzureLocal
	case t.final:
		pr.Verdict = VerdictError
	case len(seq) == 2:
		pr.Verdict = VerdictReconnect
	case seq[0] == agent.StepDisconnect:
		pr.Verdict = VerdictDisconnect
	default:
		pr.Verdict = VerdictConnect
	}
	if t.final {
		pr.Detail = t.detail
	}
	if network {
		r.probeNetwork(ctx, hr, pr)
	}
	return pr
}

// dialReadOnly connects the host for a read-only pass (probe, check): its
// verdict and why when it cannot, ok when connected.
func (hr *hostRun) dialReadOnly(ctx context.Context) (verdict, detail string, ok bool) {
	verdict, t, ok := hr.dialReadOnlyMsg(ctx)
	return verdict, t.detail, ok
}

// dialReadOnlyMsg is dialReadOnly with why as a try's outcome: its detail
// and the detail's message (check's report says it in its language).
func (hr *hostRun) dialReadOnlyMsg(ctx context.Context) (verdict string, t tryOutcome, ok bool) {
	tgt, err := TargetFor(hr.h, hr.r.hosts, hr.r.x.lookupEnv())
	if err != nil {
		return VerdictError, tryOutcome{detail: hr.mask(err.Error()), msg: errMsg(err).Mask(hr.mask)}, false
	}
	hr.setTarget(tgt, nil)
	t, ok = hr.dial(ctx)
	if ok {
		return "", tryOutcome{}, true
	}
	switch t.kind {
	case transport.Unreachable, transport.Timeout, transport.Lost:
		verdict = VerdictUnreachable
	case transport.HostKeyUnknown, transport.HostKeyChanged, transport.TLSFailed:
		verdict = VerdictHostKey
	case transport.AuthFailed:
		verdict = VerdictAuth
	default:
		verdict = VerdictError
	}
	return verdict, t, false
}
