package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
)

// Real agent fidelity (issue 13), end to end: real OpenSSH sshd hosts, logging
// in as root and as a sudo user, with the simulator's real-agent scenarios
// (their outputs are copied from public threads; the simulator's code names
// each source).

var reregLogins = []struct {
	name  string
	login sshtest.Login
}{
	{"root", sshtest.LoginRoot},
	{"sudo", sshtest.LoginSudo},
}

// agentState is the part of the simulator's state.json these tests read: the
// agent's registration and "Azure" as far as the host is concerned.
type agentState struct {
	Status                string         `json:"status"`
	ResourceID            string         `json:"resourceId"`
	Attempts              map[string]int `json:"attempts"`
	SuccessfulConnects    int            `json:"successfulConnects"`
	SuccessfulDisconnects int            `json:"successfulDisconnects"`
	AzureResources        []string       `json:"azureResources"`
}

func readAgentState(t *testing.T, h *sshtest.Host) agentState {
	t.Helper()
	var s agentState
	data, err := os.ReadFile(filepath.Join(h.Root, "state.json"))
	if err != nil {
		t.Fatalf("%s: %v", h.Name, err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: state.json: %v", h.Name, err)
	}
	return s
}

// agentRuns counts the agent invocations of cmd on host the simulator recorded
// ("disconnect" counts --force-local-only too: the state's attempts tell them apart).
func agentRuns(recs []simRecord, host, cmd string) int {
	n := 0
	for _, r := range recs {
		if r.Host == host && r.Cmd == cmd && r.Event == "start" {
			n++
		}
	}
	return n
}

func reregApply(t *testing.T, x *Executor, p *plan.Plan) *results.Report {
	t.Helper()
	dir := t.TempDir()
	rep, err := x.Apply(context.Background(), p, dir)
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, dir)
	return rep
}

// Behind a TLS-inspecting proxy the agent logs an x509 unknown-authority error
// and then the proxy's 403: that is the host's network, not the shared
// credential, so the circuit breaker stays closed and the healthy hosts after
// the proxied ones are connected.
func TestE2ETLSProxyKeepsBreakerClosed(t *testing.T) {
	for _, l := range reregLogins {
		t.Run(l.name, func(t *testing.T) {
			const proxied = 5 // more than the breaker's threshold (3)
			scenario := "default: {slow: 20ms}\nhosts:\n"
			for i := 1; i <= proxied; i++ {
				scenario += fmt.Sprintf("  host-%d: {tls_inspection: true}\n", i)
			}
			fleet, p := e2eFleetAs(t, proxied+3, l.login, scenario, agent.ActionConnect, nil)
			x := e2eExecutor()
			x.Concurrency = 1 // the proxied hosts end before the healthy ones start
			rep := reregApply(t, x, p)
			if len(rep.BreakerOpen) > 0 {
				t.Errorf("breaker opened for %v", rep.BreakerOpen)
			}
			for i, h := range rep.Hosts {
				if i < proxied {
					if h.Outcome != results.OutcomeFailed || h.Class == results.ClassCredential || h.Class == results.ClassSuccess {
						t.Errorf("%s (behind the proxy): %s %s class %s (%s), want failed, not a credential failure", h.Name, h.Outcome, h.FinalCode, h.Class, h.Detail)
					}
					continue
				}
				if h.Outcome != results.OutcomeOK {
					t.Errorf("%s (healthy): %s %s (%s), want ok", h.Name, h.Outcome, h.FinalCode, h.Detail)
				}
				if s := readAgentState(t, fleet.Host(h.Name)); s.Status != "Connected" || len(s.AzureResources) != 1 {
					t.Errorf("%s: agent %s with Azure resources %v", h.Name, s.Status, s.AzureResources)
				}
			}
		})
	}
}

// Input errors are not retried: a private link scope the agent requires
// (AZCM0026 with "Private Link Scope resource ID must be provided") and an
// agent refusing a caller that is not root get exactly one connect each; with
// the scope in the inventory the same host connects.
func TestE2EInputErrorsNotRetried(t *testing.T) {
	for _, l := range reregLogins {
		t.Run(l.name, func(t *testing.T) {
			const pls = "/subscriptions/" + e2eSub + "/resourceGroups/" + e2eRG + "/providers/Microsoft.HybridCompute/privateLinkScopes/pls"
			scenario := "hosts:\n  host-1: {private_link_required: true}\n  host-2: {not_root: true}\n  host-3: {private_link_required: true}\n"
			fleet, p := e2eFleetAs(t, 3, l.login, scenario, agent.ActionConnect, func(h *inventory.Host) {
				if h.Name == "host-3" {
					h.Azure.PrivateLinkScope = pls
				}
			})
			rep := reregApply(t, e2eExecutor(), p)
			recs := readRecord(t, fleet.RecordFile)
			for _, tc := range []struct {
				host    string
				outcome results.Outcome
				code    string // "" = any
				class   results.Class
			}{
				{"host-1", results.OutcomeFailed, "", results.ClassInput}, // the classifier's code for a required private link scope
				{"host-2", results.OutcomeFailed, "AZCM0018", results.ClassHost},
				{"host-3", results.OutcomeOK, "AZCM0000", results.ClassSuccess},
			} {
				h := exResult(rep, tc.host)
				if h.Outcome != tc.outcome || (tc.code != "" && h.FinalCode != tc.code) || h.Class != tc.class {
					t.Errorf("%s: %s %s class %s (%s), want %s %s class %s", tc.host, h.Outcome, h.FinalCode, h.Class, h.Detail, tc.outcome, tc.code, tc.class)
				}
				if n, m := exCount(h, agent.StepConnect), agentRuns(recs, tc.host, "connect"); n != 1 || m != 1 {
					t.Errorf("%s: %d connect attempts in the report, %d agent runs; want exactly 1", tc.host, n, m)
				}
			}
		})
	}
}

// Re-registration of a host whose Azure resource has a delete lock: the
// disconnect fails AZCM0043 ScopeLocked, and the host is left as it was
// (still connected, no --force-local-only, no connect) with the lock named as
// the fix. A credential without delete rights is the same. A resource already
// deleted in Azure is the one case for the local-only reset, then connect.
func TestE2ELockedResourceLeftAlone(t *testing.T) {
	for _, l := range reregLogins {
		t.Run(l.name, func(t *testing.T) {
			ini := fmt.Sprintf("{status: Connected, subscription_id: %s, resource_group: %s, location: westeurope, tenant_id: %s}", e2eSub, e2eRG, e2eTenant)
			scenario := fmt.Sprintf("hosts:\n  host-1: {delete_lock: true, initial: %s}\n  host-2: {delete_denied: true, initial: %s}\n  host-3: {resource_deleted: true, initial: %s}\n  host-4: {initial: %s}\n", ini, ini, ini, ini)
			fleet, p := e2eFleetAs(t, 4, l.login, scenario, agent.ActionReconnect, nil)
			rep := reregApply(t, e2eExecutor(), p)
			for _, tc := range []struct {
				host                 string
				outcome              results.Outcome
				detail               string
				disc, local, connect int
			}{
				{"host-1", results.OutcomeFailed, "fix: remove the lock", 1, 0, 0},
				{"host-2", results.OutcomeFailed, "Azure Connected Machine Resource Administrator", 1, 0, 0},
				{"host-3", results.OutcomeOK, "", 1, 1, 1},
				{"host-4", results.OutcomeOK, "", 1, 0, 1},
			} {
				h := exResult(rep, tc.host)
				if h.Outcome != tc.outcome || !strings.Contains(h.Detail, tc.detail) {
					t.Errorf("%s: %s %s (%s), want %s with %q", tc.host, h.Outcome, h.FinalCode, h.Detail, tc.outcome, tc.detail)
				}
				got := [3]int{exCount(h, agent.StepDisconnect), exCount(h, agent.StepDisconnectLocal), exCount(h, agent.StepConnect)}
				if got != [3]int{tc.disc, tc.local, tc.connect} {
					t.Errorf("%s: disconnect/force-local/connect %v, want %v", tc.host, got, [3]int{tc.disc, tc.local, tc.connect})
				}
				// Before the disconnect ran, the report said what it deletes.
				if len(h.Notes) == 0 || !strings.Contains(h.Notes[0], "before disconnect") || !strings.Contains(h.Notes[0], "/providers/Microsoft.HybridCompute/machines/"+tc.host) ||
					!strings.Contains(h.Notes[0], "managed identity") {
					t.Errorf("%s: notes %q", tc.host, h.Notes)
				}
				s := readAgentState(t, fleet.Host(tc.host))
				if s.Status != "Connected" || len(s.AzureResources) != 1 || s.AzureResources[0] != s.ResourceID {
					t.Errorf("%s: agent %s %s, Azure %v; want connected with exactly its one resource", tc.host, s.Status, s.ResourceID, s.AzureResources)
				}
				if tc.outcome == results.OutcomeFailed && (s.Attempts["force_local"] != 0 || s.SuccessfulDisconnects != 0 || s.Attempts["connect"] != 0) {
					t.Errorf("%s: the host was not left as it was: %+v", tc.host, s)
				}
			}
			if h := exResult(rep, "host-1"); !strings.Contains(h.Detail, "ScopeLocked") || h.Class == results.ClassCredential {
				t.Errorf("host-1: %s class %s (%s)", h.FinalCode, h.Class, h.Detail)
			}
		})
	}
}

// AZCM0062 after Azure created the resource: the host's agent holds the
// registration its failed connect left, so arcfleet deletes that (disconnect)
// and connects again, with or without a "resource created" line in the output.
// The host ends connected with exactly one resource. A same-name resource of
// another machine (AZCM0044) is never touched.
func TestE2EConnect0062CleanedUp(t *testing.T) {
	for _, l := range reregLogins {
		t.Run(l.name, func(t *testing.T) {
			scenario := "hosts:\n  host-1: {connect_fails_after_create: true}\n  host-2: {created_then_fail: true}\n  host-3: {resource_exists: true}\n"
			fleet, p := e2eFleetAs(t, 3, l.login, scenario, agent.ActionConnect, nil)
			rep := reregApply(t, e2eExecutor(), p)
			for _, host := range []string{"host-1", "host-2"} {
				h := exResult(rep, host)
				if h.Outcome != results.OutcomeOK {
					t.Errorf("%s: %s %s (%s), want ok", host, h.Outcome, h.FinalCode, h.Detail)
				}
				got := [3]int{exCount(h, agent.StepConnect), exCount(h, agent.StepDisconnect), exCount(h, agent.StepDisconnectLocal)}
				if got != [3]int{2, 1, 0} {
					t.Errorf("%s: connect/disconnect/force-local %v, want [2 1 0]", host, got)
				}
				s := readAgentState(t, fleet.Host(host))
				if s.Status != "Connected" || len(s.AzureResources) != 1 || s.AzureResources[0] != s.ResourceID {
					t.Errorf("%s: agent %s %s, Azure %v; want connected with exactly one resource", host, s.Status, s.ResourceID, s.AzureResources)
				}
			}
			if n := exResult(rep, "host-1").Notes; len(n) < 2 || !strings.Contains(n[0], "AZCM0062") || !strings.Contains(n[0], "this host's own connect created") {
				t.Errorf("host-1: notes %q, want the clean-up explained before what the disconnect deletes", n)
			}
			h := exResult(rep, "host-3")
			if h.Outcome != results.OutcomeFailed || h.FinalCode != "AZCM0044" || exCount(h, agent.StepDisconnect)+exCount(h, agent.StepDisconnectLocal) != 0 {
				t.Errorf("host-3: %s %s attempts %+v; want failed AZCM0044 and no disconnect of any kind", h.Outcome, h.FinalCode, h.Attempts)
			}
			if s := readAgentState(t, fleet.Host("host-3")); s.Attempts["disconnect"]+s.Attempts["force_local"] != 0 {
				t.Errorf("host-3: the agent ran a disconnect: %v", s.Attempts)
			}
		})
	}
}

// Azure Local (show: Cloud Provider AzSHCI): reconnect is refused and the host
// left as it was, unless the inventory allows it for that host; a connect of
// one already connected at the target is no change.
func TestE2EAzureLocalRefusedUnlessAllowed(t *testing.T) {
	for _, l := range reregLogins {
		t.Run(l.name, func(t *testing.T) {
			ini := fmt.Sprintf("{status: Connected, subscription_id: %s, resource_group: %s, location: westeurope, tenant_id: %s}", e2eSub, e2eRG, e2eTenant)
			scenario := fmt.Sprintf("default: {cloud_provider: AzSHCI, initial: %s}\n", ini)
			fleet, p := e2eFleetAs(t, 2, l.login, scenario, agent.ActionReconnect, func(h *inventory.Host) {
				h.Azure.AllowAzureLocalDisconnect = h.Name == "host-2"
			})
			rep := reregApply(t, e2eExecutor(), p)
			h := exResult(rep, "host-1")
			if h.Outcome != results.OutcomeBlocked || h.FinalCode != codeAzureLocal || !strings.Contains(h.Detail, "AzSHCI") || !strings.Contains(h.Detail, "allow_azure_local_disconnect") {
				t.Errorf("host-1: %s %s (%s), want blocked %s", h.Outcome, h.FinalCode, h.Detail, codeAzureLocal)
			}
			if s := readAgentState(t, fleet.Host("host-1")); s.Status != "Connected" || s.Attempts["disconnect"]+s.Attempts["force_local"]+s.Attempts["connect"] != 0 {
				t.Errorf("host-1: the refused host was acted on: %+v", s)
			}
			if h := exResult(rep, "host-2"); h.Outcome != results.OutcomeOK || exCount(h, agent.StepDisconnect) != 1 || exCount(h, agent.StepConnect) != 1 {
				t.Errorf("host-2 (allowed): %s %s (%s) attempts %+v, want ok after disconnect and connect", h.Outcome, h.FinalCode, h.Detail, h.Attempts)
			}
			if rep.ExitCode() == 0 {
				t.Error("exit 0 with a refused host")
			}

			// connect of the same machines: already connected, no change, no refusal.
			p.Action = agent.ActionConnect
			for i := range p.Hosts {
				p.Hosts[i].Steps = agent.HostSteps(&p.Hosts[i].Host, agent.ActionConnect)
			}
			rep = reregApply(t, e2eExecutor(), p)
			for _, h := range rep.Hosts {
				if h.Outcome != results.OutcomeUnchanged {
					t.Errorf("connect %s: %s %s (%s), want unchanged", h.Name, h.Outcome, h.FinalCode, h.Detail)
				}
			}
		})
	}
}
