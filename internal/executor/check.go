package executor

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/plan"
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
					out[i].Detail = f.Code + ": " + f.Message
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
	var ok bool
	if hc.Verdict, hc.Detail, ok = hr.dialReadOnly(ctx); !ok {
		return
	}
	var fs []agent.CheckFinding
	// The probe: the agent's version and cloud provider.
	po := hr.runStep(ctx, hr.step(agent.StepProbe), false)
	if po.ok() {
		if s, err := agent.ParseProbe(po.stdout); err == nil {
			hc.AgentVersion = s.AgentVersion
			if strings.EqualFold(s.CloudProvider, "Azure") {
				fs = append(fs, agent.CheckFinding{Cause: agent.CauseAzureVM, Code: agent.CauseCodes[agent.CauseAzureVM],
					Evidence: "azcmagent show: cloud provider " + s.CloudProvider})
			}
		}
	}
	if min := minVersion(o, hr.h.Name); min != "" && hc.AgentVersion != "" && VersionLess(hc.AgentVersion, min) {
		fs = append(fs, agent.CheckFinding{Cause: agent.CauseAgentBelowMin, Code: agent.CauseCodes[agent.CauseAgentBelowMin],
			Evidence: fmt.Sprintf("agent %s, min_agent_version %s", hc.AgentVersion, min)})
	}
	eps, cfs, verdict, detail := r.runCheck(ctx, hr)
	hc.Endpoints = eps
	if verdict != "" {
		hc.Verdict, hc.Detail = verdict, detail
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
// step ran; otherwise the host could not be checked (unreachable, error).
func (r *run) runCheck(ctx context.Context, hr *hostRun) (eps []agent.CheckEndpoint, fs []agent.CheckFinding, verdict, detail string) {
	if hr.conn == nil {
		if t, ok := hr.dial(ctx); !ok {
			return nil, nil, VerdictUnreachable, t.detail
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
		return nil, nil, verdict, "check: " + hr.mask(err.Error())
	}
	out, perr := agent.ParseCheck(hr.mask(stdout.String()), hr.mask(stderr.String()))
	if perr != nil {
		ev := fmt.Sprintf("azcmagent check exited %d", exit)
		if exit == agent.ExitAgentNotFound {
			ev = "the agent is not installed (exit 127)"
		}
		if len(out.Errors) > 0 {
			ev += ": " + out.Errors[0]
		}
		return out.Endpoints, []agent.CheckFinding{{Cause: agent.CauseCheckFailed, Code: agent.CauseCodes[agent.CauseCheckFailed], Evidence: ev}}, "", ""
	}
	return out.Endpoints, agent.ClassifyCheck(out, hr.h.Azure.PrivateLinkScope != ""), "", ""
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
		parts = append(parts, "not checked: "+detail)
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

// VersionLess compares dotted agent versions ("1.50.03036.1885") numerically,
// field by field; a missing field counts as 0, a non-numeric one as text.
func VersionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		x, y := "0", "0"
		if i < len(as) {
			x = as[i]
		}
		if i < len(bs) {
			y = bs[i]
		}
		xn, xerr := strconv.Atoi(x)
		yn, yerr := strconv.Atoi(y)
		if xerr == nil && yerr == nil {
			if xn != yn {
				return xn < yn
			}
			continue
		}
		if x != y {
			return x < y
		}
	}
	return false
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
