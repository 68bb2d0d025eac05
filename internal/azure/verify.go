package azure

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
)

// VerifyHost is one host of a finished run.
type VerifyHost struct {
	Host    *inventory.Host
	Action  string          // what the run did to it: connect, disconnect, reconnect
	Outcome results.Outcome // only ok and unchanged hosts are checked
	// ResourceID is the agent's resource id after the run ("" unknown; the
	// check then looks the machine up by its resource name).
	ResourceID string
}

// VerifyRequest is what Verify reads back.
type VerifyRequest struct {
	Hosts       []VerifyHost
	Credentials map[string]inventory.Credential
	Concurrency int // default 8
}

// Verify reads the run's hosts back from Azure: one machine list per resource
// group. A connected host's machine must exist, be Connected and have the
// agent's resource id; a disconnected host's machine must be gone. Hosts that
// did not end ok or unchanged are not checked.
func Verify(ctx context.Context, ts *TokenSource, req VerifyRequest) *results.AzureVerification {
	start := ts.Calls()
	if req.Concurrency <= 0 {
		req.Concurrency = 8
	}
	groups := map[rgKey][]VerifyHost{}
	creds := map[rgKey]inventory.Credential{}
	var checks []results.AzureCheck
	for _, vh := range req.Hosts {
		if vh.Outcome != results.OutcomeOK && vh.Outcome != results.OutcomeUnchanged {
			continue
		}
		h := vh.Host
		c, ok := hostCred(h, req.Credentials)
		if !ok {
			checks = append(checks, checkSays(results.AzureCheck{Host: h.Name, Code: CodeUnverified}, results.M("az_no_cred")))
			continue
		}
		rk := rgKey{subKey{credKey{c.Name, strings.ToLower(c.TenantID), strings.ToLower(h.Azure.Cloud)}, strings.ToLower(h.Azure.SubscriptionID)}, strings.ToLower(h.Azure.ResourceGroup)}
		groups[rk] = append(groups[rk], vh)
		creds[rk] = c
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, req.Concurrency)
	for rk, vhs := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cs := verifyGroup(ctx, ts, creds[rk], vhs)
			mu.Lock()
			checks = append(checks, cs...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(checks, func(i, j int) bool { return checks[i].Host < checks[j].Host })
	return &results.AzureVerification{Checked: ts.o.Now().UTC(), Calls: ts.Calls() - start, Hosts: checks}
}

func verifyGroup(ctx context.Context, ts *TokenSource, cred inventory.Credential, vhs []VerifyHost) []results.AzureCheck {
	h0 := vhs[0].Host
	sub, rg := h0.Azure.SubscriptionID, h0.Azure.ResourceGroup
	out := make([]results.AzureCheck, 0, len(vhs))
	fail := func(detail results.Msg) []results.AzureCheck {
		for _, vh := range vhs {
			out = append(out, checkSays(results.AzureCheck{Host: vh.Host.Name, Code: CodeUnverified}, detail))
		}
		return out
	}
	cl, err := ts.clients(cred, h0.Azure.Cloud, sub)
	if err != nil {
		return fail(errMsg(err))
	}
	ms, err := cl.listMachines(ctx, rg)
	if err != nil {
		ae := armError(results.M("az_what_machines", sub+"/"+rg), err)
		return fail(results.M("az_v_arm", ae.Code()).With(ae.Msg()))
	}
	byID := make(map[string]machine, len(ms))
	for _, m := range ms {
		byID[strings.ToLower(m.id)] = m
	}
	for _, vh := range vhs {
		out = append(out, verifyHost(vh, ms, byID, rg))
	}
	return out
}

func verifyHost(vh VerifyHost, byName, byID map[string]machine, rg string) results.AzureCheck {
	h := vh.Host
	c := results.AzureCheck{Host: h.Name}
	name := expectedName(h, AgentState{ResourceID: vh.ResourceID})
	m, found := byID[strings.ToLower(vh.ResourceID)]
	if !found || vh.ResourceID == "" {
		m, found = byName[strings.ToLower(name)]
	}
	if vh.Action == ActionDisconnect {
		if found {
			c.Code, c.ResourceID, c.Status = CodeStillPresent, m.id, m.status
			return checkSays(c, results.M("az_v_still_present", m.id, rg, m.status))
		}
		c.OK = true
		return checkSays(c, results.M("az_v_no_machine", name, rg))
	}
	if !found {
		c.Code = CodeMissing
		if vh.ResourceID != "" {
			return checkSays(c, results.M("az_v_agent_missing", vh.ResourceID, rg))
		}
		return checkSays(c, results.M("az_v_no_machine", name, rg))
	}
	c.ResourceID, c.Status = m.id, m.status
	switch {
	case vh.ResourceID != "" && !strings.EqualFold(vh.ResourceID, m.id):
		c.Code = CodeIDMismatch
		return checkSays(c, results.M("az_v_id_mismatch", vh.ResourceID, m.id))
	case !strings.EqualFold(m.status, "Connected"):
		c.Code = CodeNotConnected
		status := results.M(results.MsgText, m.status)
		if m.status == "" {
			status = results.M("az_status_unknown")
		}
		return checkSays(c, results.M("az_v_not_connected", m.id).With(status))
	default:
		c.OK = true
		if vh.ResourceID == "" {
			return checkSays(c, results.M("az_v_ok_by_name", name))
		}
		return checkSays(c, results.M("az_v_ok"))
	}
}

// checkSays is c with m as its detail (Detail is m's English).
func checkSays(c results.AzureCheck, m results.Msg) results.AzureCheck {
	c.Detail, c.DetailMsg = m.Text("en"), &m
	return c
}

var resourceIDRe = regexp.MustCompile(`"resourceId"\s*:\s*"([^"]*)"`)

// AgentResourceID is the agent's resource id after a run, read from the host's
// attempt logs in runDir: the last non-empty `resourceId` of the agent's
// `connect --json` or `show --json` output. After a connect that is the machine
// it created; after a disconnect, the machine it was connected to (whose absence
// Verify then checks). "" when no log names one.
func AgentResourceID(runDir string, h results.HostResult) string {
	for i := len(h.Attempts) - 1; i >= 0; i-- {
		lp := h.Attempts[i].LogPath
		if lp == "" || filepath.IsAbs(lp) || strings.HasPrefix(filepath.Clean(lp), "..") {
			continue
		}
		f, err := os.Open(filepath.Join(runDir, filepath.FromSlash(lp)))
		if err != nil {
			continue
		}
		last := ""
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			for _, m := range resourceIDRe.FindAllStringSubmatch(sc.Text(), -1) {
				if m[1] != "" {
					last = m[1]
				}
			}
		}
		f.Close()
		if last != "" {
			return last
		}
	}
	return ""
}
