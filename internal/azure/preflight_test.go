package azure

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/testbed/azurefake"
)

func host(name, sub, rg, loc string) *inventory.Host {
	return &inventory.Host{Name: name, Credential: "sp", Azure: inventory.Azure{SubscriptionID: sub, ResourceGroup: rg, Location: loc}}
}

// world is a fake Azure with one problem per resource group.
func world(t *testing.T) (*azurefake.Fake, *TokenSource) {
	f := azurefake.New(t, azurefake.Options{})
	f.AddApp(tenant, azurefake.App{ClientID: app, Secret: secret})
	f.AddSubscription(sub1, tenant)
	for _, rg := range []string{"rg-ok", "rg-lock", "rg-ro", "rg-noperm", "rg-clash", "rg-machinelock"} {
		f.AddResourceGroup(sub1, rg, "westeurope")
	}
	f.AddLock(sub1, "rg-lock", azurefake.Lock{Name: "keep", Level: "CanNotDelete"})
	f.AddLock(sub1, "rg-ro", azurefake.Lock{Name: "frozen", Level: "ReadOnly"})
	f.AddLock(sub1, "rg-machinelock", azurefake.Lock{Name: "pin", Level: "CanNotDelete", Machine: "db-01"})
	f.SetPermissions(sub1, "rg-noperm", app, []azurefake.Permission{{Actions: []string{"*/read"}}})
	f.PutMachine(sub1, "rg-clash", azurefake.Machine{Name: "web-03", Status: "Disconnected"})
	f.PutMachine(sub1, "rg-clash", azurefake.Machine{Name: "web-04", Status: "Connected"})
	f.AddSubscription(sub2, tenant)
	f.SetProvider(sub2, "Microsoft.HybridCompute", false)
	f.SetProvider(sub2, "Microsoft.AzureArcData", false)
	f.AddResourceGroup(sub2, "rg-b", "westeurope")
	return f, newSource(f, Options{})
}

func findingFor(r *Result, code, host string) *Finding {
	for i, f := range r.Findings {
		if f.Code == code && slices.Contains(f.Hosts, host) {
			return &r.Findings[i]
		}
	}
	return nil
}

func TestPreflightFindings(t *testing.T) {
	f, ts := world(t)
	hosts := []*inventory.Host{
		host("ok-01", sub1, "rg-ok", "westeurope"),
		host("ok-far", sub1, "rg-ok", "australiacentral"),
		host("lock-01", sub1, "rg-lock", "westeurope"),
		host("ro-01", sub1, "rg-ro", "westeurope"),
		host("noperm-01", sub1, "rg-noperm", "westeurope"),
		host("web-03", sub1, "rg-clash", "westeurope"),
		host("web-04", sub1, "rg-clash", "westeurope"),
		host("web-05", sub1, "rg-clash", "westeurope"),
		host("db-01", sub1, "rg-machinelock", "westeurope"),
		host("db-02", sub1, "rg-machinelock", "westeurope"),
		host("b-01", sub2, "rg-b", "westeurope"),
		host("gone-01", sub1, "rg-gone", "westeurope"),
	}
	creds := map[string]inventory.Credential{"sp": spCred()}
	agents := map[string]AgentState{
		"web-03": {Probed: true, Status: "Disconnected"},
		"web-04": {Probed: true, Status: "Connected", ResourceID: azurefake.MachineID(sub1, "rg-clash", "web-04")},
	}
	r := Preflight(context.Background(), ts, Request{Action: ActionConnect, Hosts: hosts, Credentials: creds, Agents: agents})
	for _, fd := range r.Findings {
		t.Logf("%s warning=%v %s: %s %v", fd.Code, fd.Warning, fd.Scope, fd.Message, fd.Hosts)
		if fd.Remedy("en") == "" || fd.Remedy("sv") == "" {
			t.Errorf("%s has no remedy text", fd.Code)
		}
	}
	want := []struct {
		code, host string
		warning    bool
	}{
		{CodeBadLocation, "ok-far", false},
		{CodeDeleteLock, "lock-01", true},
		{CodeScopeLocked, "ro-01", false},
		{CodeAuthzFailed, "noperm-01", false},
		{CodeNameClash, "web-03", false}, // probed, not connected to it: connect fails
		{CodeProviderUnreg, "b-01", false},
		{CodeProvider, "b-01", true},
		{CodeRGNotFound, "gone-01", false},
		{CodeDeleteLock, "db-01", true},
	}
	for _, w := range want {
		fd := findingFor(r, w.code, w.host)
		if fd == nil {
			t.Errorf("no %s finding for %s", w.code, w.host)
			continue
		}
		if fd.Warning != w.warning {
			t.Errorf("%s for %s: warning %v, want %v", w.code, w.host, fd.Warning, w.warning)
		}
	}
	blocked := r.Blocking()
	for _, clean := range []string{"ok-01", "lock-01", "web-04", "web-05", "db-01", "db-02"} {
		if len(blocked[clean]) > 0 {
			t.Errorf("%s is blocked: %+v", clean, blocked[clean])
		}
	}
	if findingFor(r, CodeDeleteLock, "db-02") != nil {
		t.Errorf("a lock on machine db-01 concerns db-02")
	}
	if fd := findingFor(r, CodeNameClash, "web-05"); fd != nil {
		t.Errorf("web-05 has no machine in Azure, got %+v", fd)
	}
	if fd := findingFor(r, CodeNameClash, "web-04"); fd != nil {
		t.Errorf("web-04's agent is connected to that very machine, got %+v", fd)
	}
	// Calls: 1 token (+ discovery) ; 2 provider lists; 3 per resource group that exists, 1 for the missing one.
	if n := f.Count(azurefake.KindToken); n != 1 {
		t.Errorf("token requests %d, want 1", n)
	}
	if n := f.Count(azurefake.KindProviders); n != 2 {
		t.Errorf("provider lists %d, want 2 (one per subscription)", n)
	}
	if p, l, m := f.Count(azurefake.KindPermissions), f.Count(azurefake.KindLocks), f.Count(azurefake.KindMachines); p != 8 || l != 7 || m != 7 {
		t.Errorf("permissions/locks/machines lists %d/%d/%d, want 8/7/7 (one each per resource group; none after a missing group)", p, l, m)
	}
	if f.Count(azurefake.KindMachine) != 0 {
		t.Errorf("per-machine calls: %d", f.Count(azurefake.KindMachine))
	}
	if r.Calls != int64(f.Count("")+f.Count(azurefake.KindDiscovery)) {
		t.Errorf("Result.Calls %d, fake served %s", r.Calls, f.CountString())
	}
}

func TestPreflightUnprobedNameClashIsAWarning(t *testing.T) {
	_, ts := world(t)
	r := Preflight(context.Background(), ts, Request{Action: ActionConnect, Hosts: []*inventory.Host{host("web-03", sub1, "rg-clash", "westeurope")}, Credentials: map[string]inventory.Credential{"sp": spCred()}})
	fd := findingFor(r, CodeNameClash, "web-03")
	if fd == nil || !fd.Warning || !strings.Contains(fd.Message, "Disconnected") {
		t.Fatalf("want a warning naming the status, got %+v", r.Findings)
	}
}

func TestPreflightDisconnect(t *testing.T) {
	_, ts := world(t)
	hosts := []*inventory.Host{host("lock-01", sub1, "rg-lock", "westeurope"), host("ok-01", sub1, "rg-ok", "westeurope"), host("db-01", sub1, "rg-machinelock", "westeurope")}
	r := Preflight(context.Background(), ts, Request{Action: ActionDisconnect, Hosts: hosts, Credentials: map[string]inventory.Credential{"sp": spCred()}})
	b := r.Blocking()
	if len(b["lock-01"]) != 1 || b["lock-01"][0].Code != CodeScopeLocked {
		t.Errorf("lock-01: %+v, want ARM-SCOPE-LOCKED blocking", b["lock-01"])
	}
	if len(b["db-01"]) != 1 || b["db-01"][0].Code != CodeScopeLocked {
		t.Errorf("db-01 (its machine is locked): %+v", b["db-01"])
	}
	if len(b["ok-01"]) != 0 {
		t.Errorf("ok-01 blocked: %+v", b["ok-01"])
	}
}

func TestPreflightTokenFailureBlocksTheCredentialsHosts(t *testing.T) {
	f, ts := world(t)
	f.SetSecretExpired(tenant, app, true)
	other := spCred()
	other.Name = "other"
	f.AddApp("tenant-2", azurefake.App{ClientID: "app-2", Secret: secret})
	other.ClientID, other.TenantID = "app-2", "tenant-2"
	hosts := []*inventory.Host{host("a", sub1, "rg-ok", "westeurope"), host("b", sub1, "rg-ok", "westeurope"), host("c", sub1, "rg-ok", "westeurope")}
	hosts[2].Credential = "other"
	r := Preflight(context.Background(), ts, Request{Action: ActionConnect, Hosts: hosts, Credentials: map[string]inventory.Credential{"sp": spCred(), "other": other}})
	fd := findingFor(r, "AADSTS7000222", "a")
	if fd == nil || !slices.Equal(fd.Hosts, []string{"a", "b"}) {
		t.Fatalf("want AADSTS7000222 on a and b, got %+v", r.Findings)
	}
	// c's credential signs in, but its tenant does not own the subscription.
	if b := r.Blocking()["c"]; len(b) != 1 || b[0].Code != CodeSubNotFound {
		t.Errorf("c: %+v, want ARM-SUBSCRIPTION-NOT-FOUND only", b)
	}
	if n := f.Count(azurefake.KindPermissions); n != 0 {
		t.Errorf("resource group checked %d times though no credential could use it", n)
	}
}

// Calls grow with resource groups, not hosts.
func TestPreflightCallsIndependentOfHosts(t *testing.T) {
	count := func(nHosts int) int64 {
		f := azurefake.New(t, azurefake.Options{})
		f.AddApp(tenant, azurefake.App{ClientID: app, Secret: secret})
		f.AddSubscription(sub1, tenant)
		for g := range 4 {
			f.AddResourceGroup(sub1, fmt.Sprintf("rg-%d", g), "westeurope")
		}
		ts := newSource(f, Options{})
		var hosts []*inventory.Host
		for i := range nHosts {
			hosts = append(hosts, host(fmt.Sprintf("h%05d", i), sub1, fmt.Sprintf("rg-%d", i%4), "westeurope"))
		}
		r := Preflight(context.Background(), ts, Request{Action: ActionConnect, Hosts: hosts, Credentials: map[string]inventory.Credential{"sp": spCred()}})
		if len(r.Findings) != 0 {
			t.Fatalf("findings: %+v", r.Findings)
		}
		return r.Calls
	}
	small, large := count(8), count(2000)
	if small != large {
		t.Fatalf("8 hosts made %d calls, 2000 hosts %d", small, large)
	}
	// discovery + token + providers + 4 x (permissions, locks, machines)
	if small != 1+1+1+4*3 {
		t.Errorf("calls %d, want 15", small)
	}
}

func TestVerify(t *testing.T) {
	f, ts := world(t)
	id := func(n string) string { return azurefake.MachineID(sub1, "rg-ok", n) }
	f.PutMachine(sub1, "rg-ok", azurefake.Machine{Name: "good"})
	f.PutMachine(sub1, "rg-ok", azurefake.Machine{Name: "stale", Status: "Disconnected"})
	f.PutMachine(sub1, "rg-ok", azurefake.Machine{Name: "other"})
	f.PutMachine(sub1, "rg-ok", azurefake.Machine{Name: "left"})
	f.PutMachine(sub1, "rg-ok", azurefake.Machine{Name: "byname"})
	vh := func(name, action, rid string, o results.Outcome) VerifyHost {
		return VerifyHost{Host: host(name, sub1, "rg-ok", "westeurope"), Action: action, Outcome: o, ResourceID: rid}
	}
	req := VerifyRequest{Credentials: map[string]inventory.Credential{"sp": spCred()}, Hosts: []VerifyHost{
		vh("good", ActionConnect, id("good"), results.OutcomeOK),
		vh("missing", ActionConnect, id("missing"), results.OutcomeOK),
		vh("stale", ActionConnect, id("stale"), results.OutcomeUnchanged),
		vh("other", ActionConnect, "/subscriptions/"+sub2+"/resourceGroups/rg-b/providers/Microsoft.HybridCompute/machines/other", results.OutcomeOK),
		vh("left", ActionDisconnect, "", results.OutcomeOK),
		vh("gone", ActionDisconnect, "", results.OutcomeOK),
		vh("byname", ActionReconnect, "", results.OutcomeOK),
		vh("failed", ActionConnect, "", results.OutcomeFailed),
		{Host: host("g", sub1, "rg-gone", "westeurope"), Action: ActionConnect, Outcome: results.OutcomeOK},
	}}
	v := Verify(context.Background(), ts, req)
	got := map[string]results.AzureCheck{}
	for _, c := range v.Hosts {
		got[c.Host] = c
	}
	want := map[string]string{"good": "", "missing": CodeMissing, "stale": CodeNotConnected, "other": CodeIDMismatch, "left": CodeStillPresent, "gone": "", "byname": "", "g": CodeUnverified}
	for h, code := range want {
		c, ok := got[h]
		if !ok {
			t.Errorf("%s not checked", h)
			continue
		}
		if c.OK != (code == "") || c.Code != code {
			t.Errorf("%s: ok=%v code=%s (%s), want code %q", h, c.OK, c.Code, c.Detail, code)
		}
	}
	if _, ok := got["failed"]; ok {
		t.Errorf("a failed host was verified")
	}
	if n := f.Count(azurefake.KindMachines); n != 2 {
		t.Errorf("machine lists %d, want 2 (one per resource group)", n)
	}
	if len(v.Mismatches()) != 4 {
		t.Errorf("mismatches %d, want 4", len(v.Mismatches()))
	}
}

// Resource Manager's transient failures: retried by the SDK; when they outlast
// the retries, the check is reported as not made (a warning), not as a block.
func TestPreflightARMFailures(t *testing.T) {
	f, ts := world(t)
	f.Fail(azurefake.KindProviders, 1, 500, "InternalServerError") // one failure: the retry succeeds
	f.Fail(azurefake.KindMachines, 10, 429, "TooManyRequests")     // outlasts the retries
	r := Preflight(context.Background(), ts, Request{Action: ActionConnect, Hosts: []*inventory.Host{host("ok-01", sub1, "rg-ok", "westeurope")}, Credentials: map[string]inventory.Credential{"sp": spCred()}})
	if len(r.Findings) != 1 {
		t.Fatalf("findings %+v, want one", r.Findings)
	}
	fd := r.Findings[0]
	if fd.Code != CodeThrottled || !fd.Warning || !strings.Contains(fd.Message, "existing machines not checked") {
		t.Errorf("got %+v, want an ARM-THROTTLED warning", fd)
	}
	if n := f.Count(azurefake.KindProviders); n != 2 {
		t.Errorf("provider lists %d, want 2 (one retry)", n)
	}
	if n := f.Count(azurefake.KindMachines); n != 3 {
		t.Errorf("machine lists %d, want 3 (two retries)", n)
	}
}
