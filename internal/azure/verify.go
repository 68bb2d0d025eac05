package azure

import (
	"bufio"
	"context"
	"fmt"
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
			checks = append(checks, results.AzureCheck{Host: h.Name, Code: CodeUnverified, Detail: "the host names no credential of the inventory"})
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
	fail := func(detail string) []results.AzureCheck {
		for _, vh := range vhs {
			out = append(out, results.AzureCheck{Host: vh.Host.Name, Code: CodeUnverified, Detail: detail})
		}
		return out
	}
	cl, err := ts.clients(cred, h0.Azure.Cloud, sub)
	if err != nil {
		return fail(err.Error())
	}
	ms, err := cl.listMachines(ctx, rg)
	if err != nil {
		ae := armError("listing the machines of resource group "+sub+"/"+rg, err)
		return fail(fmt.Sprintf("%s (%s)", ae.Error(), ae.Code()))
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
			c.Detail = fmt.Sprintf("machine %s is still in resource group %s (status %s)", m.id, rg, m.status)
			return c
		}
		c.OK, c.Detail = true, fmt.Sprintf("no machine %s in resource group %s", name, rg)
		return c
	}
	if !found {
		c.Code = CodeMissing
		c.Detail = fmt.Sprintf("no machine %s in resource group %s", name, rg)
		if vh.ResourceID != "" {
			c.Detail = fmt.Sprintf("the agent reports %s, but resource group %s has no such machine", vh.ResourceID, rg)
		}
		return c
	}
	c.ResourceID, c.Status = m.id, m.status
	switch {
	case vh.ResourceID != "" && !strings.EqualFold(vh.ResourceID, m.id):
		c.Code = CodeIDMismatch
		c.Detail = fmt.Sprintf("the agent reports %s, Azure has %s", vh.ResourceID, m.id)
	case !strings.EqualFold(m.status, "Connected"):
		c.Code = CodeNotConnected
		c.Detail = fmt.Sprintf("machine %s has status %s in Azure", m.id, orUnknown(m.status))
	default:
		c.OK = true
		c.Detail = "Connected, resource id matches the agent's"
		if vh.ResourceID == "" {
			c.Detail = "Connected (the agent's resource id was not recorded: matched by resource name " + name + ")"
		}
	}
	return c
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
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
