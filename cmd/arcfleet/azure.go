package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/arcfleet/arcfleet/internal/azure"
	"github.com/arcfleet/arcfleet/internal/executor"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/markdown"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
)

// azureEndpointsEnv points arcfleet's Azure calls at other endpoints than the
// real clouds' (the tests and the demo use local fakes):
// "authority=https://HOST:PORT/,arm=https://HOST:PORT,ca=PEM_FILE". It is not
// a user setting: whenever it is set, every command that would talk to Azure
// says so on stderr, so a real run cannot be redirected silently.
const azureEndpointsEnv = "ARCFLEET_AZURE_ENDPOINTS"

// azureEndpoints reads the override; nil when unset.
func azureEndpoints(e *env) (*azure.Endpoints, error) {
	v := e.getenv(azureEndpointsEnv)
	if v == "" {
		return nil, nil
	}
	ep := &azure.Endpoints{}
	var caFile string
	for _, kv := range strings.Split(v, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(kv), "=")
		switch k {
		case "authority":
			ep.AuthorityHost = val
		case "arm":
			ep.ARM = val
		case "ca":
			caFile = val
		default:
			return nil, fmt.Errorf("%s: unknown key %q; fix: authority=URL,arm=URL,ca=PEM_FILE, or unset it to use Azure", azureEndpointsEnv, k)
		}
	}
	if !strings.HasPrefix(ep.AuthorityHost, "https://") || !strings.HasPrefix(ep.ARM, "https://") {
		return nil, fmt.Errorf("%s: authority and arm must be https URLs; fix: unset it to use Azure", azureEndpointsEnv)
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("%s: ca: %w", azureEndpointsEnv, err)
		}
		ep.CAPool = x509.NewCertPool()
		if !ep.CAPool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: ca %s holds no PEM certificate", azureEndpointsEnv, caFile)
		}
	}
	return ep, nil
}

// newAzure builds the TokenSource for these hosts (their clouds per credential).
// It prints the endpoint override when one is set.
func newAzure(e *env, hosts []*inventory.Host) (*azure.TokenSource, error) {
	ep, err := azureEndpoints(e)
	if err != nil {
		return nil, err
	}
	if ep != nil {
		fmt.Fprintf(e.stderr, "arcfleet: WARNING: Azure calls go to %s (set by %s), not to Azure\n", ep, azureEndpointsEnv)
	}
	clouds, tenants := map[string]string{}, map[string]string{}
	for _, h := range hosts {
		if _, seen := clouds[h.Credential]; !seen {
			clouds[h.Credential] = h.Azure.Cloud
		}
		if _, seen := tenants[h.Credential]; !seen && h.Azure.TenantID != "" {
			tenants[h.Credential] = h.Azure.TenantID
		}
	}
	return azure.NewTokenSource(azure.Options{
		LookupEnv: lookupEnv(e),
		Endpoints: ep,
		CloudOf:   func(cred string) string { return clouds[cred] },
		TenantOf:  func(cred string) string { return tenants[cred] },
	}), nil
}

// planHosts are a plan's hosts as inventory hosts.
func planHosts(p *plan.Plan) []*inventory.Host {
	hs := make([]*inventory.Host, len(p.Hosts))
	for i := range p.Hosts {
		hs[i] = &p.Hosts[i].Host
	}
	return hs
}

// usesAccessToken reports whether a planned host's credential is in access-token mode.
func usesAccessToken(p *plan.Plan) bool {
	for i := range p.Hosts {
		if c, ok := p.Credentials[p.Hosts[i].Host.Credential]; ok && c.AuthMode() == inventory.AuthAccessToken {
			return true
		}
	}
	return false
}

// --- pre-flight (validate --azure, plan --azure) ------------------------------

// azurePreflight runs the pre-flight for hosts; agents from a probed plan, else nil.
func azurePreflight(ctx context.Context, e *env, creds map[string]inventory.Credential, hosts []*inventory.Host, action string, agents map[string]azure.AgentState) (*azure.Result, error) {
	ts, err := newAzure(e, hosts)
	if err != nil {
		return nil, err
	}
	return azure.Preflight(ctx, ts, azure.Request{Action: action, Hosts: hosts, Credentials: creds, Agents: agents}), nil
}

// probedAgents are what a probed plan's hosts reported.
func probedAgents(p *plan.Plan) map[string]azure.AgentState {
	m := map[string]azure.AgentState{}
	for i := range p.Hosts {
		if pr := p.Hosts[i].Probe; pr != nil && pr.AgentStatus != "" {
			m[p.Hosts[i].Host.Name] = azure.AgentState{Probed: true, Status: pr.AgentStatus, ResourceID: pr.ResourceID}
		}
	}
	return m
}

const maxListed = 10

func hostList(hs []string, esc func(string) string) string {
	n := len(hs)
	if n > maxListed {
		hs = hs[:maxListed]
	}
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = esc(h)
	}
	s := strings.Join(out, ", ")
	if n > maxListed {
		s += fmt.Sprintf(" and %d more", n-maxListed)
	}
	return s
}

func ident(s string) string { return s }

// printPreflightLines writes validate's lines: one per finding.
func printPreflightLines(w io.Writer, r *azure.Result) {
	for _, f := range r.Findings {
		msg := f.Message
		if f.Warning {
			msg = "warning: " + msg
		}
		fmt.Fprintf(w, "azure: %s %s: %s (%d %s: %s); fix: %s\n", f.Code, f.Scope, msg, len(f.Hosts), plural(len(f.Hosts), "host", "hosts"), hostList(f.Hosts, ident), f.Remedy("en"))
	}
}

func preflightSummary(r *azure.Result) string {
	b, w := r.Counts()
	blocked := len(r.Blocking())
	return fmt.Sprintf("Azure pre-flight: %d %s, %d %s, %d %s blocked; %d %s, %d %s, %d resource %s checked with %d Azure %s",
		b, plural(b, "finding", "findings"), w, plural(w, "warning", "warnings"), blocked, plural(blocked, "host", "hosts"),
		r.Credentials, plural(r.Credentials, "credential", "credentials"), r.Subscriptions, plural(r.Subscriptions, "subscription", "subscriptions"),
		r.ResourceGroups, plural(r.ResourceGroups, "group", "groups"), r.Calls, plural(int(r.Calls), "call", "calls"))
}

// printPreflightSection writes plan's Azure section (markdown when md).
func printPreflightSection(w io.Writer, r *azure.Result, md bool) {
	if md {
		fmt.Fprintf(w, "\n## Azure pre-flight\n\n%s.\n\n", markdown.Escape(preflightSummary(r)))
		if len(r.Findings) == 0 {
			fmt.Fprintln(w, "No finding: Azure is ready for these hosts.")
			return
		}
		fmt.Fprintf(w, "| Code | Blocks | Scope | Finding | Hosts | Fix |\n|---|---|---|---|---|---|\n")
		for _, f := range r.Findings {
			blocks := "yes"
			if f.Warning {
				blocks = "no (warning)"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", markdown.Cell(f.Code), blocks, markdown.Cell(markdown.Escape(f.Scope)),
				markdown.Cell(markdown.Escape(f.Message)), markdown.Cell(hostList(f.Hosts, markdown.Escape)), markdown.Cell(f.Remedy("en")))
		}
		return
	}
	fmt.Fprintf(w, "\n%s\n", preflightSummary(r))
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "  No finding: Azure is ready for these hosts.")
	}
	for _, f := range r.Findings {
		tag := "BLOCKS"
		if f.Warning {
			tag = "warning"
		}
		fmt.Fprintf(w, "  %s %s (%s) %s\n    %s\n    hosts: %s\n    fix: %s\n", f.Code, f.Title("en"), tag, f.Scope, f.Message, hostList(f.Hosts, ident), f.Remedy("en"))
	}
}

// --- apply: access-token mode and the post-run verification -------------------

// azureApply is apply's Azure part: the token source for access-token hosts and
// the verification after the run.
type azureApply struct {
	e      *env
	verify *bool
	pre    *bool
	fs     *pflag.FlagSet
	ts     *azure.TokenSource
}

func registerAzureApply(e *env, fs *pflag.FlagSet) *azureApply {
	a := &azureApply{e: e, fs: fs, verify: new(bool), pre: new(bool)}
	fs.BoolVar(a.pre, "azure", false, "before any host is touched, run the Azure pre-flight (as validate --azure) and leave the hosts a finding blocks untouched: blocked with the finding's code in the report (resume --retry-failed --azure runs them again once it is fixed); the other hosts run")
	fs.BoolVar(a.verify, "verify-azure", false, "after the run, read every host's machine back from Azure (exists, Connected, same resource id; gone after disconnect) and add the result to the report; on by default when a credential uses auth: access-token (the controller has Azure access then), --verify-azure=false turns it off")
	return a
}

// setup wires the executor's TokenSource for p's hosts; false (after printing) when the override is unusable.
func (a *azureApply) setup(p *plan.Plan) (*azure.TokenSource, bool) {
	need := usesAccessToken(p) || a.enabled(p)
	if !need {
		return nil, true
	}
	ts, err := newAzure(a.e, planHosts(p))
	if err != nil {
		fmt.Fprintf(a.e.stderr, "arcfleet: %v\n", err)
		return nil, false
	}
	a.ts = ts
	return ts, true
}

// wire gives x what p's hosts need of Azure: the token source for hosts in
// access-token mode (and for --verify-azure), and with --azure the hosts the
// pre-flight blocks. false (after printing) when that cannot be set up.
func (a *azureApply) wire(ctx context.Context, p *plan.Plan, x *executor.Executor) bool {
	ts, ok := a.setup(p)
	if !ok {
		return false
	}
	if ts != nil {
		x.Tokens = ts
	}
	x.Blocked, ok = a.preflight(ctx, p)
	return ok
}

// preflight runs the Azure pre-flight (--azure) before any host is touched:
// it prints the findings and returns the hosts they block, which the run then
// leaves untouched. Warnings (a check that could not be made) block nothing.
// false (after printing) when it could not run at all.
func (a *azureApply) preflight(ctx context.Context, p *plan.Plan) (map[string]executor.Block, bool) {
	if !*a.pre {
		return nil, true
	}
	ts := a.ts
	if ts == nil {
		var err error
		if ts, err = newAzure(a.e, planHosts(p)); err != nil {
			fmt.Fprintf(a.e.stderr, "arcfleet: %v\n", err)
			return nil, false
		}
	}
	r := azure.Preflight(ctx, ts, azure.Request{Action: p.Action, Hosts: planHosts(p), Credentials: p.Credentials, Agents: probedAgents(p)})
	printPreflightLines(a.e.stderr, r)
	fmt.Fprintln(a.e.stderr, preflightSummary(r))
	blocked := map[string]executor.Block{}
	for host, fs := range r.Blocking() {
		m := azure.BlockMsg(fs)
		blocked[host] = executor.Block{Code: fs[0].Code, Detail: m.Text("en"), Msg: &m}
	}
	return blocked, true
}

func (a *azureApply) enabled(p *plan.Plan) bool {
	if flagSet(a.fs, "verify-azure") {
		return *a.verify
	}
	return usesAccessToken(p)
}

// after verifies the run in Azure, adds the result to r and rewrites the run's reports.
func (a *azureApply) after(ctx context.Context, p *plan.Plan, runDir string, r *results.Report, err error) (*results.Report, error) {
	if r == nil || a.ts == nil || !a.enabled(p) || ctx.Err() != nil || r.Interrupted {
		return r, err
	}
	idx := make(map[string]*inventory.Host, len(p.Hosts))
	for i := range p.Hosts {
		idx[p.Hosts[i].Host.Name] = &p.Hosts[i].Host
	}
	var vhs []azure.VerifyHost
	for _, h := range r.Hosts {
		ih := idx[h.Name]
		if ih == nil {
			continue
		}
		vhs = append(vhs, azure.VerifyHost{Host: ih, Action: h.Action, Outcome: h.Outcome, ResourceID: azure.AgentResourceID(runDir, h)})
	}
	r.Azure = azure.Verify(ctx, a.ts, azure.VerifyRequest{Hosts: vhs, Credentials: p.Credentials})
	if werr := results.WriteReports(runDir, r); werr != nil && err == nil {
		err = werr
	}
	return r, err
}

// validateAzure runs validate --azure on the hosts the inventory's own
// findings do not already block, prints its lines and summary, and returns the
// number of blocking findings and warnings; false when it could not run.
func validateAzure(ctx context.Context, e *env, inv *inventory.Inventory, hosts []*inventory.Host, action string, findings []inventory.Finding) (blocking, warnings int, ok bool) {
	bad := map[string]bool{}
	for _, f := range findings {
		if !f.Warning && f.Host != "" {
			bad[f.Host] = true
		}
	}
	var check []*inventory.Host
	for _, h := range hosts {
		if !bad[h.Name] {
			check = append(check, h)
		}
	}
	if len(check) == 0 {
		fmt.Fprintln(e.stderr, "Azure pre-flight: no host left to check (the inventory's findings block them all)")
		return 0, 0, true
	}
	r, err := azurePreflight(ctx, e, inv.Credentials, check, action, nil)
	if err != nil {
		fmt.Fprintf(e.stderr, "arcfleet validate: --azure: %v\n", err)
		return 0, 0, false
	}
	printPreflightLines(e.stdout, r)
	fmt.Fprintln(e.stderr, preflightSummary(r))
	blocking, warnings = r.Counts()
	return blocking, warnings, true
}
