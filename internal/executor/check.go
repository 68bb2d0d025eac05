package executor

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"

	"golang.org/x/sync/errgroup"
)

// Check verdicts (besides the probe's unreachable, host-key, auth, error).
const (
	CheckClear    = "clear"    // the check ran and found nothing
	CheckFindings = "findings" // the check ran and found causes
	CheckBlocked  = "blocked"  // validation findings: the host was not dialed
)

// HostCheck is what `arcfleet check` found on one host.
type HostCheck struct {
	Host         string                `json:"host"`
	OS           string                `json:"os"`
	Verdict      string                `json:"verdict"`
	Detail       string                `json:"detail,omitempty"`
	DetailMsg    *results.Msg          `json:"detail_msg,omitempty"` // Detail as a message (report languages); nil when none says it
	AgentVersion string                `json:"agent_version,omitempty"`
	PrivateLink  bool                  `json:"private_link,omitempty"`
	Endpoints    []agent.CheckEndpoint `json:"endpoints,omitempty"`
	Findings     []agent.CheckFinding  `json:"findings,omitempty"`
}

// CheckOptions tune Check.
type CheckOptions struct {
	// MinVersion returns the lowest agent version a host may run ("" = none):
	// a lower one is a CauseAgentBelowMin finding.
	MinVersion func(host string) string
}

// Check dials every unblocked host of p read-only, reads the agent's state
// and version (the probe step) and runs the check step (`azcmagent check`),
// and returns what each host showed, in plan order. Neither step changes the
// host, reads a service-principal secret or takes the host lock. The error is
// for a bad plan or an interrupted check.
func (x *Executor) Check(ctx context.Context, p *plan.Plan, o CheckOptions) ([]HostCheck, error) {
	if err := checkPlan(p); err != nil {
		return nil, err
	}
	r, err := x.probeRun(p)
	if err != nil {
		return nil, err
	}
	out := make([]HostCheck, len(p.Hosts))
	var g errgroup.Group
	g.SetLimit(r.concurrency())
	for i := range p.Hosts {
		hp := &p.Hosts[i]
		out[i] = HostCheck{Host: hp.Host.Name, OS: hp.Host.OS, PrivateLink: hp.Host.Azure.PrivateLinkScope != ""}
		if hp.Blocked() {
			out[i].Verdict = CheckBlocked
			for _, f := range hp.Findings {
				if !f.Warning {
					out[i].setDetail(f.Code+": "+f.Message, results.M("chk_blocked", f.Code).With(findingMessageMsg(f)))
					break
				}
			}
			continue
		}
		g.Go(func() error {
			if ctx.Err() == nil {
				r.checkHost(ctx, i, &out[i], o)
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return out, fmt.Errorf("check interrupted: %w", err)
	}
	return out, nil
}

func (r *run) checkHost(ctx context.Context, i int, hc *HostCheck, o CheckOptions) {
	hr := r.newHostRun(i)
	defer hr.closeConn()
	v, t, ok := hr.dialReadOnlyMsg(ctx)
	if !ok {
		hc.Verdict = v
		hc.setDetail(t.detail, t.msg)
		return
	}
	var fs []agent.CheckFinding
	// The probe: the agent's version and cloud provider.
	po := hr.runStep(ctx, hr.step(agent.StepProbe), false)
	if po.ok() {
		if s, err := agent.ParseProbe(po.stdout); err == nil {
			hc.AgentVersion = s.AgentVersion
			if strings.EqualFold(s.CloudProvider, "Azure") {
				fs = append(fs, evidenceFinding(agent.CauseAzureVM, results.M("chk_ev_azure_vm", s.CloudProvider)))
			}
		}
	}
	if min := minVersion(o, hr.h.Name); min != "" && hc.AgentVersion != "" && inventory.VersionLess(hc.AgentVersion, min) {
		fs = append(fs, evidenceFinding(agent.CauseAgentBelowMin, results.M("chk_ev_below_min", hc.AgentVersion, min)))
	}
	eps, cfs, verdict, detail := r.runCheck(ctx, hr)
	hc.Endpoints = eps
	if verdict != "" {
		hc.Verdict = verdict
		hc.setDetail(detail.detail, detail.msg)
		return
	}
	fs = append(fs, cfs...)
	hc.Findings = fs
	hc.Verdict = CheckClear
	if len(fs) > 0 {
		hc.Verdict = CheckFindings
	}
}

// runCheck runs the check step over hr's connection (dialling again when the
// previous step lost it) and classifies its output. verdict is "" when the
// step ran; otherwise the host could not be checked (unreachable, error) and
// detail says why.
func (r *run) runCheck(ctx context.Context, hr *hostRun) (eps []agent.CheckEndpoint, fs []agent.CheckFinding, verdict string, detail tryOutcome) {
	if hr.conn == nil {
		if t, ok := hr.dial(ctx); !ok {
			return nil, nil, VerdictUnreachable, t
		}
	}
	st := agent.CheckStep(hr.h)
	var stdout, stderr bytes.Buffer
	actx, cancel, _ := r.attemptContext(ctx)
	exit, err := hr.conn.Run(actx, st.Command, bytes.NewReader(agent.StepStdin(st, agent.CheckInput(hr.h))), &stdout, &stderr)
	cancel()
	if err != nil {
		verdict = VerdictError
		if k := errKind(ctx, actx, err); k == transport.Unreachable || k == transport.Lost || k == transport.Timeout {
			verdict = VerdictUnreachable
		}
		hr.closeConn()
		text := "check: " + hr.mask(err.Error())
		return nil, nil, verdict, tryOutcome{detail: text, msg: said2(results.M("chk_step_err").With(maskedErrMsg(err, hr.mask)), text)}
	}
	out, perr := agent.ParseCheck(hr.mask(stdout.String()), hr.mask(stderr.String()))
	if perr != nil {
		ev := results.M("chk_ev_exited", strconv.Itoa(exit))
		if exit == agent.ExitAgentNotFound {
			ev = results.M("chk_ev_not_installed", strconv.Itoa(exit))
		}
		if len(out.Errors) > 0 {
			ev = results.M("chk_ev_said", out.Errors[0]).With(ev)
		}
		return out.Endpoints, []agent.CheckFinding{evidenceFinding(agent.CauseCheckFailed, ev)}, "", tryOutcome{}
	}
	return out.Endpoints, agent.ClassifyCheck(out, hr.h.Azure.PrivateLinkScope != ""), "", tryOutcome{}
}

// evidenceFinding is a finding of cause whose evidence is arcfleet's words, m.
func evidenceFinding(cause string, m results.Msg) agent.CheckFinding {
	return agent.CheckFinding{Cause: cause, Code: agent.CauseCodes[cause], Evidence: m.Text("en"), EvidenceMsg: &m}
}

// setDetail sets hc's detail, and its message when m says it word for word.
func (hc *HostCheck) setDetail(detail string, m results.Msg) {
	hc.Detail, hc.DetailMsg = detail, nil
	if m.Key != "" && m.Text("en") == detail {
		hc.DetailMsg = &m
	}
}

// DetailText is hc's detail in lang (en|sv): its message's when it has one.
func (hc *HostCheck) DetailText(lang string) string {
	if lang != "en" && hc.DetailMsg != nil {
		if s := hc.DetailMsg.Text(lang); s != "" {
			return s
		}
	}
	return hc.Detail
}

// findingMessageMsg is f.Message as a message (findingMsg's body), or the
// text as it is.
func findingMessageMsg(f inventory.Finding) results.Msg {
	if m := findingMsg(f); m.Key == "finding" && len(m.Sub) == 1 {
		return said2(m.Sub[0], f.Message)
	}
	return results.M(results.MsgText, f.Message)
}

// probeNetwork is plan --probe's check: the causes go to pr.Network and are
// named in pr.Detail ("network: CODE (endpoint, ...); ...").
func (r *run) probeNetwork(ctx context.Context, hr *hostRun, pr *plan.Probe) {
	if ctx.Err() != nil {
		return
	}
	_, fs, verdict, detail := r.runCheck(ctx, hr)
	var parts []string
	if verdict != "" {
		parts = append(parts, "not checked: "+detail.detail)
	}
	for _, f := range fs {
		s := f.Code
		if len(f.Endpoints) > 0 {
			s += " (" + shortList(f.Endpoints, 3) + ")"
		}
		parts = append(parts, s)
	}
	pr.Network = fs
	if len(parts) == 0 {
		return
	}
	n := "network: " + strings.Join(parts, "; ")
	if pr.Detail == "" {
		pr.Detail = n
	} else {
		pr.Detail += "; " + n
	}
}

func minVersion(o CheckOptions, host string) string {
	if o.MinVersion == nil {
		return ""
	}
	return o.MinVersion(host)
}

// shortList joins up to n endpoints without their scheme, then "+K more".
func shortList(eps []string, n int) string {
	var out []string
	for i, e := range eps {
		if i == n {
			out = append(out, fmt.Sprintf("+%d more", len(eps)-n))
			break
		}
		out = append(out, strings.TrimPrefix(e, "https://"))
	}
	return strings.Join(out, ", ")
}
