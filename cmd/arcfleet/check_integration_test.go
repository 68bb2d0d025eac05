package main

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
)

// arcfleet check on real sshd hosts and WinRM test servers (Windows steps run
// as their Linux twins, testbed/wintwin), each host's simulated network in
// another failure mode: the report groups the hosts by cause with the
// catalog's codes, exit 3; the clear hosts alone exit 0. Nothing is connected.
func TestCheckRealHosts(t *testing.T) {
	f := startFleet(t, "ck", 5, 2)
	n := f.Names()
	l1, l2, l3, l4, l5, w1, w2 := n[0], n[1], n[2], n[3], n[4], n[5], n[6]
	f.writeScenario("", map[string]string{
		l2: "network: {mode: dns, endpoints: [management.azure.com]}",
		l3: "network: {mode: dns}",
		l4: "network: {mode: proxy-unreachable}",
		l5: "network: {mode: firewall, endpoints: [his.arc.azure.com]}",
		w1: "network: {mode: tls-inspection}",
	})
	inv := f.writeInventory(invOpts{})

	r := f.run("check", "-i", inv, "--format", "json").expect(t, exitHostsFailed)
	var rep checkReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("check --format json: %v\n%s", err, r)
	}
	groups := map[string][]string{}
	eps := map[string][]string{}
	for _, g := range rep.Groups {
		groups[g.Code] = g.Hosts
		eps[g.Code] = g.Endpoints
	}
	want := map[string][]string{
		"MSG-DNS-LOOKUP-FAILED": {l2, l3},
		"MSG-PROXY-UNREACHABLE": {l4},
		"ARCF-CHECK-FIREWALL":   {l5},
		"MSG-TLS-INSPECTION":    {w1},
	}
	for code, hosts := range want {
		got := slices.Clone(groups[code])
		slices.Sort(got)
		if !slices.Equal(got, hosts) {
			t.Errorf("%s: hosts %v, want %v\n%s", code, got, hosts, r)
		}
	}
	if len(rep.Groups) != len(want) {
		t.Errorf("groups %+v, want only %v", rep.Groups, want)
	}
	if rep.Clear != 2 {
		t.Errorf("clear %d, want 2 (%s, %s)", rep.Clear, l1, w2)
	}
	if got := eps["ARCF-CHECK-FIREWALL"]; !slices.Equal(got, []string{"https://gbl.his.arc.azure.com", "https://westeurope.his.arc.azure.com"}) {
		t.Errorf("firewall endpoints %v", got)
	}
	if got := eps["MSG-DNS-LOOKUP-FAILED"]; len(got) != 9 || !slices.Contains(got, "https://management.azure.com") {
		t.Errorf("DNS endpoints %v: want l3's nine (l2's one among them)", got)
	}
	for _, hc := range rep.Hosts {
		if hc.AgentVersion == "" || len(hc.Endpoints) != 9 {
			t.Errorf("%s: agent %q, %d endpoint rows", hc.Host, hc.AgentVersion, len(hc.Endpoints))
		}
	}
	// The table: one block per cause, hosts named, the fix from the catalog.
	r = f.run("check", "-i", inv).expect(t, exitHostsFailed)
	t.Logf("the table report:\n%s", r)
	if !strings.Contains(r.stdout, "MSG-DNS-LOOKUP-FAILED: Name resolution failed (2 hosts: ") || !strings.Contains(r.stdout, "fix: ") ||
		!strings.Contains(r.stderr, "2 of 7 hosts clear; 5 need attention: 4 causes.") {
		t.Errorf("table report:\n%s", r)
	}
	// In Swedish: the summary, headings, verdicts and labels too.
	r = f.run("check", "-i", inv, "--lang", "sv").expect(t, exitHostsFailed)
	for _, s := range []string{"VÄRD ", "BEDÖMNING", " anmärkningar ", "MSG-DNS-LOOKUP-FAILED: Namnuppslagningen misslyckades (2 värdar: ", "åtgärd: ", "bevis: "} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("check --lang sv lacks %q:\n%s", s, r)
		}
	}
	if !strings.Contains(r.stderr, "2 av 7 värdar utan anmärkning; 5 behöver åtgärdas: 4 orsaker.") || strings.Contains(r.stdout, "fix: ") || strings.Contains(r.stdout, "VERDICT") {
		t.Errorf("check --lang sv:\n%s", r)
	}
	// Read-only: no agent action ran.
	for _, rec := range f.record() {
		if rec.Cmd == "connect" || rec.Cmd == "disconnect" {
			t.Errorf("check ran %s on %s", rec.Cmd, rec.Host)
		}
	}
	// The clear hosts alone.
	r = f.run("check", "-i", inv, "-l", l1+","+w2, "--format", "markdown").expect(t, exitOK)
	if !strings.Contains(r.stdout, "2 hosts checked, all clear.") {
		t.Errorf("clear hosts:\n%s", r)
	}
	// plan --probe runs the same check: each host's causes in its probe
	// (JSON: probe.network; table: the detail names the codes).
	r = f.run("plan", "-i", inv, "--action", "connect", "--probe", "--format", "json").expect(t, exitOK)
	var p plan.Plan
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatalf("plan json: %v\n%s", err, r)
	}
	for _, hp := range p.Hosts {
		var codes []string
		for _, f := range hp.Probe.Network {
			codes = append(codes, f.Code)
		}
		var want []string
		for code, hosts := range map[string][]string{"MSG-DNS-LOOKUP-FAILED": {l2, l3}, "MSG-PROXY-UNREACHABLE": {l4}, "ARCF-CHECK-FIREWALL": {l5}, "MSG-TLS-INSPECTION": {w1}} {
			if slices.Contains(hosts, hp.Host.Name) {
				want = append(want, code)
			}
		}
		if !slices.Equal(codes, want) || hp.Probe.Verdict != "connect" {
			t.Errorf("plan --probe %s: verdict %s, network %v, want connect, %v", hp.Host.Name, hp.Probe.Verdict, codes, want)
		}
	}
	r = f.run("plan", "-i", inv, "--action", "connect", "--probe").expect(t, exitOK)
	if !strings.Contains(r.stdout, "network: MSG-DNS-LOOKUP-FAILED (management.azure.com)") ||
		!strings.Contains(r.stdout, "network: ARCF-CHECK-FIREWALL (gbl.his.arc.azure.com, westeurope.his.arc.azure.com)") {
		t.Errorf("plan --probe table does not name the causes:\n%s", r)
	}

	// Invalid input: exit 2, as validate.
	f.run("check", "-i", inv, "--format", "xml").expect(t, exitInvalid)
	f.run("check", "-i", inv, "-l", "nosuchhost").expect(t, exitInvalid)
}

// The agent's version gate and Azure VMs: an agent older than
// --min-agent-version is ARCF-CHECK-AGENT-MIN, a host whose show reports the
// cloud provider Azure is MSG-AZURE-VM (the agent refuses Azure VMs); the
// network of both is fine.
func TestCheckAgentVersionAndAzureVM(t *testing.T) {
	f := startFleet(t, "cv", 3, 0)
	n := f.Names()
	f.writeScenario("", map[string]string{
		n[0]: "agent_version: 1.40.02669.1635",
		n[1]: "cloud_provider: Azure",
	})
	inv := f.writeInventory(invOpts{})
	r := f.run("check", "-i", inv, "--format", "json", "--min-agent-version", "1.50").expect(t, exitHostsFailed)
	var rep checkReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	got := map[string][]string{}
	for _, g := range rep.Groups {
		got[g.Code] = g.Hosts
	}
	if !slices.Equal(got["ARCF-CHECK-AGENT-MIN"], []string{n[0]}) || !slices.Equal(got["MSG-AZURE-VM"], []string{n[1]}) || len(got) != 2 || rep.Clear != 1 {
		t.Errorf("groups %v, clear %d\n%s", got, rep.Clear, r)
	}
	// Without the gate the old agent is fine.
	r = f.run("check", "-i", inv, "-l", n[0]).expect(t, exitOK)
	f.run("check", "-i", inv, "--min-agent-version", "new").expect(t, exitInvalid)
}

// Private Link, through sudo (become: sudo): a host with a Private Link Scope
// is checked with --enable-pls-check (the simulator then marks the Arc
// endpoints private: clear); one whose Arc endpoints still resolve public is
// ARCF-CHECK-PRIVATE-MISSING; a host without a scope whose endpoints resolve
// private is MSG-PRIVATE-LINK-SCOPE-REQUIRED.
func TestCheckPrivateLinkSudo(t *testing.T) {
	f := startLoginFleet(t, "cp", 3, sshtest.LoginSudo)
	n := f.Names()
	f.writeScenario("", map[string]string{
		n[0]: "network: {mode: private-missing}",
		n[1]: "network: {mode: private-unexpected}",
	})
	inv := f.writeInventory(invOpts{sudo: true})
	b, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	pls := "    azure: {private_link_scope: /subscriptions/" + e2eSub + "/resourceGroups/rg-net/providers/Microsoft.HybridCompute/privateLinkScopes/pls-1}\n"
	s := string(b)
	for _, h := range []string{n[0], n[2]} {
		s = strings.Replace(s, "  - name: "+h+"\n", "  - name: "+h+"\n"+pls, 1)
	}
	if err := os.WriteFile(inv, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	r := f.run("check", "-i", inv, "--format", "json").expect(t, exitHostsFailed)
	var rep checkReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	got := map[string][]string{}
	for _, g := range rep.Groups {
		got[g.Code] = g.Hosts
	}
	if !slices.Equal(got["ARCF-CHECK-PRIVATE-MISSING"], []string{n[0]}) || !slices.Equal(got["MSG-PRIVATE-LINK-SCOPE-REQUIRED"], []string{n[1]}) ||
		len(got) != 2 || rep.Clear != 1 {
		t.Errorf("groups %v, clear %d\n%s", got, rep.Clear, r)
	}
	for _, hc := range rep.Hosts {
		if hc.Host == n[2] && (!hc.PrivateLink || hc.Verdict != "clear") {
			t.Errorf("%s with a scope: %+v", n[2], hc)
		}
	}
}
