package azure

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
)

// Actions Preflight and Verify understand (the agent package's names).
const (
	ActionConnect    = "connect"
	ActionDisconnect = "disconnect"
	ActionReconnect  = "reconnect"
)

// Resource providers an Arc-enabled server needs in its subscription. The
// agent's connect fails without the first; the others serve extensions, guest
// configuration, SSH/Windows Admin Center and Arc-enabled SQL Server.
const providerHybridCompute = "Microsoft.HybridCompute"

var arcProviders = []string{providerHybridCompute, "Microsoft.GuestConfiguration", "Microsoft.HybridConnectivity", "Microsoft.AzureArcData"}

// Permission actions on Microsoft.HybridCompute/machines per action.
const (
	actionWrite  = "Microsoft.HybridCompute/machines/write"
	actionDelete = "Microsoft.HybridCompute/machines/delete"
)

// AgentState is what the agent on a host reported (`azcmagent show`, from a
// probed plan); the zero value means not probed.
type AgentState struct {
	Probed     bool
	Status     string // Connected, Disconnected, Expired
	ResourceID string
}

// Request is what Preflight checks.
type Request struct {
	Action      string // connect, disconnect, reconnect
	Hosts       []*inventory.Host
	Credentials map[string]inventory.Credential
	// Agents: per host name, what its agent reported, when the plan was probed.
	Agents map[string]AgentState
	// Concurrency bounds the calls in flight (default 8).
	Concurrency int
}

// Finding is one pre-flight finding: the code the agent (or Azure) would have
// answered with, what Azure showed, and the hosts it concerns. A finding that
// is not a warning blocks exactly those hosts.
type Finding struct {
	Code    string   `json:"code"`
	Warning bool     `json:"warning,omitempty"`
	Scope   string   `json:"scope"`   // "credential NAME", "subscription S", "resource group S/RG"
	Message string   `json:"message"` // what is wrong, never a secret or token
	Hosts   []string `json:"hosts"`
	// ScopeMsg and Msg are Scope and Message as messages (internal/results
	// msg_azure.go), so a report says them in its language. Not in the JSON.
	ScopeMsg results.Msg `json:"-"`
	Msg      results.Msg `json:"-"`
}

// newFinding is a finding whose scope and message are m's English.
func newFinding(code string, warning bool, scope, m results.Msg, hosts []string) Finding {
	return Finding{Code: code, Warning: warning, Scope: scope.Text("en"), ScopeMsg: scope, Message: m.Text("en"), Msg: m, Hosts: hosts}
}

// ReportMsg is the finding as a blocked host's report says it: code, scope,
// message and the knowledge base's fix for the code.
func (f Finding) ReportMsg() results.Msg {
	scope, msg := f.ScopeMsg, f.Msg
	if scope.Text("en") != f.Scope {
		scope = results.M(results.MsgText, f.Scope)
	}
	if msg.Text("en") != f.Message {
		msg = results.M(results.MsgText, f.Message)
	}
	return results.M("az_finding", f.Code).With(scope, msg, results.M(results.MsgRemedy, f.Code))
}

// BlockMsg is the detail of a host the findings fs block (Result.Blocking):
// "Azure pre-flight: " and each finding with its fix, "; " between them.
func BlockMsg(fs []Finding) results.Msg {
	why := make([]results.Msg, len(fs))
	for i, f := range fs {
		why[i] = f.ReportMsg()
	}
	return results.M("az_preflight").With(results.Join(why...))
}

func scopeCred(name string) results.Msg { return results.M("az_scope_cred", name) }
func scopeSub(sub string) results.Msg   { return results.M("az_scope_sub", sub) }
func scopeRG(sub, rg string) results.Msg {
	return results.M("az_scope_rg", sub+"/"+rg)
}

// Remedy is the knowledge base's fix for the finding's code in lang.
func (f Finding) Remedy(lang string) string {
	e, ok := results.Lookup(f.Code)
	if !ok {
		return ""
	}
	_, _, r := e.Text(lang)
	return r
}

// Title is the knowledge base's title of the code in lang.
func (f Finding) Title(lang string) string {
	e, ok := results.Lookup(f.Code)
	if !ok {
		return f.Code
	}
	t, _, _ := e.Text(lang)
	return t
}

// Result is the outcome of Preflight.
type Result struct {
	Findings []Finding `json:"findings"`
	// What was checked: hosts, distinct credentials, subscriptions and resource groups.
	Hosts          int `json:"hosts"`
	Credentials    int `json:"credentials"`
	Subscriptions  int `json:"subscriptions"`
	ResourceGroups int `json:"resource_groups"`
	// Calls is the number of HTTP requests sent to Entra ID and Resource Manager.
	Calls int64 `json:"calls"`
}

// Blocking returns, per host, the findings that block it.
func (r *Result) Blocking() map[string][]Finding {
	m := map[string][]Finding{}
	for _, f := range r.Findings {
		if f.Warning {
			continue
		}
		for _, h := range f.Hosts {
			m[h] = append(m[h], f)
		}
	}
	return m
}

// Counts returns the number of blocking findings and of warnings.
func (r *Result) Counts() (blocking, warnings int) {
	for _, f := range r.Findings {
		if f.Warning {
			warnings++
		} else {
			blocking++
		}
	}
	return
}

// group keys
type credKey struct{ name, tenant, cloud string }
type subKey struct {
	cred credKey
	sub  string
}
type rgKey struct {
	sub subKey
	rg  string
}

type pfRun struct {
	ts    *TokenSource
	req   Request
	mu    sync.Mutex
	finds []Finding
}

func (p *pfRun) add(f Finding) {
	if len(f.Hosts) == 0 {
		return
	}
	sort.Strings(f.Hosts)
	p.mu.Lock()
	p.finds = append(p.finds, f)
	p.mu.Unlock()
}

// hostCred is the credential a host signs in with: its credential, in the host's tenant.
func hostCred(h *inventory.Host, creds map[string]inventory.Credential) (inventory.Credential, bool) {
	c, ok := creds[h.Credential]
	if !ok {
		return c, false
	}
	if h.Azure.TenantID != "" {
		c.TenantID = h.Azure.TenantID
	}
	return c, true
}

// Preflight checks Azure for the hosts of req before any host is touched. The
// number of calls is one token per credential, one provider list per
// subscription and three lists per resource group (permissions, locks, machines),
// whatever the number of hosts. Calls that fail become findings (warnings when
// they only mean a check could not be made).
func Preflight(ctx context.Context, ts *TokenSource, req Request) *Result {
	start := ts.Calls()
	p := &pfRun{ts: ts, req: req}
	if req.Concurrency <= 0 {
		req.Concurrency = 8
	}
	creds := map[credKey]inventory.Credential{}
	subs := map[subKey][]*inventory.Host{}
	rgs := map[rgKey][]*inventory.Host{}
	credHosts := map[credKey][]*inventory.Host{}
	var noCred []string
	for _, h := range req.Hosts {
		if h.Azure.SubscriptionID == "" || h.Azure.ResourceGroup == "" {
			continue // the inventory's own validation reports it (AZCM0016)
		}
		c, ok := hostCred(h, req.Credentials)
		if !ok {
			noCred = append(noCred, h.Name)
			continue
		}
		ck := credKey{c.Name, strings.ToLower(c.TenantID), strings.ToLower(h.Azure.Cloud)}
		creds[ck] = c
		credHosts[ck] = append(credHosts[ck], h)
		sk := subKey{ck, strings.ToLower(h.Azure.SubscriptionID)}
		subs[sk] = append(subs[sk], h)
		rk := rgKey{sk, strings.ToLower(h.Azure.ResourceGroup)}
		rgs[rk] = append(rgs[rk], h)
	}
	p.add(newFinding(CodeToken, false, results.M("az_scope_inventory"), results.M("az_no_cred"), noCred))

	// Tokens: one per credential (and tenant), in parallel.
	okCred := map[credKey]bool{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, req.Concurrency)
	for ck, c := range creds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			_, _, err := ts.Token(ctx, c)
			if err != nil {
				ae := tokenError(c.Name, err, nil)
				p.add(newFinding(ae.Code(), false, scopeCred(c.Name), ae.Msg(), names(credHosts[ck])))
				return
			}
			mu.Lock()
			okCred[ck] = true
			mu.Unlock()
		}()
	}
	wg.Wait()

	// Subscriptions: providers and locations.
	okSub := map[subKey]*armClients{}
	for sk, hosts := range subs {
		if !okCred[sk.cred] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if cl := p.checkSubscription(ctx, creds[sk.cred], sk, hosts); cl != nil {
				mu.Lock()
				okSub[sk] = cl
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	// Resource groups: permissions, locks, machines.
	for rk, hosts := range rgs {
		cl := okSub[rk.sub]
		if cl == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			p.checkResourceGroup(ctx, cl, rk, hosts)
		}()
	}
	wg.Wait()

	distinctSubs, distinctRGs, distinctCreds := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for sk := range subs {
		distinctSubs[sk.sub] = true
	}
	for rk := range rgs {
		distinctRGs[rk.sub.sub+"/"+rk.rg] = true
	}
	for ck := range creds {
		distinctCreds[ck.name] = true
	}
	res := &Result{Findings: p.finds, Hosts: len(req.Hosts), Credentials: len(distinctCreds), Subscriptions: len(distinctSubs), ResourceGroups: len(distinctRGs), Calls: ts.Calls() - start}
	slices.SortFunc(res.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(boolInt(a.Warning), boolInt(b.Warning)), strings.Compare(a.Scope, b.Scope), strings.Compare(a.Code, b.Code), strings.Compare(a.Message, b.Message))
	})
	return res
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func names(hs []*inventory.Host) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Name
	}
	return out
}

// checkSubscription lists the resource providers once; nil when the
// subscription cannot be used (its hosts then have a finding).
func (p *pfRun) checkSubscription(ctx context.Context, cred inventory.Credential, sk subKey, hosts []*inventory.Host) *armClients {
	sub := hosts[0].Azure.SubscriptionID
	scope := scopeSub(sub)
	cl, err := p.ts.clients(cred, hosts[0].Azure.Cloud, sub)
	if err != nil {
		p.add(newFinding(CodeCheckFailed, false, scope, errMsg(err), names(hosts)))
		return nil
	}
	provs, err := cl.listProviders(ctx)
	if err != nil {
		ae := armError(results.M("az_what_providers", sub, cred.Name), err)
		switch ae.Code() {
		case CodeSubNotFound:
			p.add(newFinding(ae.Code(), false, scope, results.M("az_sub_not_found", sub, cred.TenantID, cred.Name), names(hosts)))
			return nil
		default:
			// Not fatal: the resource-group checks may still run; providers and locations stay unchecked.
			p.add(newFinding(ae.Code(), true, scope, results.M("az_unchecked_providers").With(ae.Msg()), names(hosts)))
			return cl
		}
	}
	var missingOther []string
	for _, ns := range arcProviders {
		if pr, ok := provs[strings.ToLower(ns)]; ok && pr.registered {
			continue
		}
		if ns == providerHybridCompute {
			p.add(newFinding(CodeProviderUnreg, p.req.Action == ActionDisconnect, scope, results.M("az_provider_unreg", ns, sub), names(hosts)))
			continue
		}
		missingOther = append(missingOther, ns)
	}
	if len(missingOther) > 0 {
		key := plural(len(missingOther), "az_provider_unreg", "az_providers_unreg")
		p.add(newFinding(CodeProvider, true, scope, results.M(key, strings.Join(missingOther, ", "), sub), names(hosts)))
	}
	// Location: Microsoft.HybridCompute/machines must be offered there.
	if p.req.Action != ActionDisconnect {
		if hc, ok := provs[strings.ToLower(providerHybridCompute)]; ok && len(hc.locations) > 0 {
			byLoc := map[string][]string{}
			for _, h := range hosts {
				l := normLocation(h.Azure.Location)
				if l != "" && !slices.Contains(hc.locations, l) { // none: the inventory's validation says so
					byLoc[h.Azure.Location] = append(byLoc[h.Azure.Location], h.Name)
				}
			}
			for loc, hs := range byLoc {
				p.add(newFinding(CodeBadLocation, false, scope, results.M("az_bad_location", strconv.Quote(loc), sub), hs))
			}
		}
	}
	return cl
}

// expectedName is the machine resource name a host's connect creates: its
// resource_name, else the name in the agent's resource id, else the inventory name.
func expectedName(h *inventory.Host, a AgentState) string {
	if h.ResourceName != "" {
		return h.ResourceName
	}
	if a.ResourceID != "" {
		if i := strings.LastIndex(a.ResourceID, "/"); i >= 0 {
			return a.ResourceID[i+1:]
		}
	}
	return h.Name
}

func (p *pfRun) checkResourceGroup(ctx context.Context, cl *armClients, rk rgKey, hosts []*inventory.Host) {
	sub, rg := hosts[0].Azure.SubscriptionID, hosts[0].Azure.ResourceGroup
	scope := scopeRG(sub, rg)
	action := p.req.Action
	all := names(hosts)

	// Permissions of the caller on the group.
	perms, err := cl.listPermissions(ctx, rg)
	if err != nil {
		ae := armError(results.M("az_what_perms", rg), err)
		if ae.Code() == CodeRGNotFound {
			p.add(newFinding(ae.Code(), false, scope, results.M("az_rg_missing", rg, sub), all))
			return
		}
		p.add(newFinding(ae.Code(), true, scope, results.M("az_unchecked_perms").With(ae.Msg()), all))
	} else {
		var need []string
		if action != ActionDisconnect {
			need = append(need, actionWrite)
		}
		if action != ActionConnect {
			need = append(need, actionDelete)
		}
		for _, a := range need {
			if !allows(perms, a) {
				p.add(newFinding(CodeAuthzFailed, false, scope, results.M("az_may_not", a, rg, action), all))
			}
		}
	}

	// Locks on the group or on machines in it.
	locks, err := cl.listLocks(ctx, rg)
	if err != nil {
		ae := armError(results.M("az_what_locks", rg), err)
		p.add(newFinding(ae.Code(), true, scope, results.M("az_unchecked_locks").With(ae.Msg()), all))
	} else {
		p.lockFindings(locks, hosts, scope, rg)
	}

	// Machines already in the group.
	ms, err := cl.listMachines(ctx, rg)
	if err != nil {
		ae := armError(results.M("az_what_machines", rg), err)
		p.add(newFinding(ae.Code(), true, scope, results.M("az_unchecked_machines").With(ae.Msg()), all))
		return
	}
	if action == ActionDisconnect {
		return
	}
	type clashKey struct {
		warning bool
		status  string
	}
	clashes := map[clashKey][]string{}
	for _, h := range hosts {
		a := p.req.Agents[h.Name]
		m, ok := ms[strings.ToLower(expectedName(h, a))]
		if !ok {
			continue
		}
		if a.Probed && strings.EqualFold(a.Status, "Connected") && strings.EqualFold(a.ResourceID, m.id) {
			continue // the same machine: the agent is connected to it
		}
		k := clashKey{!a.Probed, m.status}
		clashes[k] = append(clashes[k], h.Name)
	}
	for k, hs := range clashes {
		status := results.M(results.MsgText, k.status)
		if k.status == "" {
			status = results.M("az_status_unknown")
		}
		key := "az_name_clash"
		if k.warning {
			key = "az_name_clash_unprobed"
		}
		p.add(newFinding(CodeNameClash, k.warning, scope, results.M(key, rg).With(status), hs))
	}
}

func (p *pfRun) lockFindings(locks []lock, hosts []*inventory.Host, scope results.Msg, rg string) {
	action := p.req.Action
	type lk struct {
		code    string
		warning bool
		msg     string
	}
	found := map[lk][]string{}
	msgs := map[lk]results.Msg{}
	for _, l := range locks {
		readOnly := strings.EqualFold(l.level, "ReadOnly")
		var hs []string
		for _, h := range hosts {
			if l.machine == "" || strings.EqualFold(l.machine, expectedName(h, p.req.Agents[h.Name])) {
				hs = append(hs, h.Name)
			}
		}
		if len(hs) == 0 {
			continue
		}
		where := results.M("az_where_rg", rg)
		if l.machine != "" {
			where = results.M("az_where_machine")
		}
		var code string
		var warning bool
		var m results.Msg
		switch {
		case readOnly:
			code, m = CodeScopeLocked, results.M("az_lock_readonly", strconv.Quote(l.name)).With(where)
		case action == ActionConnect:
			code, warning, m = CodeDeleteLock, true, results.M("az_lock_connect", l.level, strconv.Quote(l.name)).With(where)
		default:
			code, m = CodeScopeLocked, results.M("az_lock_delete", l.level, strconv.Quote(l.name), action).With(where)
		}
		k := lk{code, warning, m.Text("en")}
		found[k] = append(found[k], hs...)
		msgs[k] = m
	}
	for k, hs := range found {
		p.add(newFinding(k.code, k.warning, scope, msgs[k], dedupe(hs)))
	}
}

func dedupe(s []string) []string {
	sort.Strings(s)
	return slices.Compact(s)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
