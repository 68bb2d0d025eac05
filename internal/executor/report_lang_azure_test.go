package executor

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/azure"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/testbed/azurefake"
)

// azureChecks runs the Azure pre-flight against a fake Azure for hosts azro
// (a ReadOnly lock on its resource group), azperm (the credential may not
// write machines there) and azgone (no such resource group), and returns the
// hosts it blocks as apply --azure passes them to the executor
// (cmd/arcfleet/azure.go); and the post-run verification of hosts vmissing,
// vstale, vother, vleft and vnone against the same fake.
func azureChecks(t *testing.T) (map[string]Block, *results.AzureVerification) {
	t.Helper()
	const (
		tenant = "11111111-aaaa-bbbb-cccc-000000000001"
		app    = "22222222-aaaa-bbbb-cccc-000000000002"
		sub    = "33333333-aaaa-bbbb-cccc-000000000003"
	)
	f := azurefake.New(t, azurefake.Options{})
	f.AddApp(tenant, azurefake.App{ClientID: app, Secret: "fake-sp-secret"})
	f.AddSubscription(sub, tenant)
	for _, rg := range []string{"rg-ro", "rg-noperm", "rg-ok"} {
		f.AddResourceGroup(sub, rg, "westeurope")
	}
	f.AddLock(sub, "rg-ro", azurefake.Lock{Name: "frozen", Level: "ReadOnly"})
	f.SetPermissions(sub, "rg-noperm", app, []azurefake.Permission{{Actions: []string{"*/read"}}})
	ts := azure.NewTokenSource(azure.Options{
		LookupEnv: func(k string) (string, bool) { return "fake-sp-secret", k == "FAKE_SP" },
		Endpoints: &azure.Endpoints{AuthorityHost: f.AuthorityHost(), ARM: f.ARMEndpoint(), CAPool: f.CAPool()},
	})
	creds := map[string]inventory.Credential{"sp": {Name: "sp", ClientID: app, TenantID: tenant, Secret: inventory.SecretRef{Env: "FAKE_SP"}}}
	host := func(name, rg string) *inventory.Host {
		return &inventory.Host{Name: name, Credential: "sp", Azure: inventory.Azure{SubscriptionID: sub, ResourceGroup: rg, Location: "westeurope"}}
	}
	r := azure.Preflight(context.Background(), ts, azure.Request{Action: azure.ActionConnect, Credentials: creds,
		Hosts: []*inventory.Host{host("azro", "rg-ro"), host("azperm", "rg-noperm"), host("azgone", "rg-gone")}})
	blocked := map[string]Block{}
	for h, fs := range r.Blocking() {
		m := azure.BlockMsg(fs)
		blocked[h] = Block{Code: fs[0].Code, Detail: m.Text("en"), Msg: &m}
	}
	if len(blocked) != 3 {
		t.Fatalf("the pre-flight blocks %d hosts, want 3: %+v", len(blocked), r.Findings)
	}

	id := func(n string) string { return azurefake.MachineID(sub, "rg-ok", n) }
	f.PutMachine(sub, "rg-ok", azurefake.Machine{Name: "vstale", Status: "Disconnected"})
	f.PutMachine(sub, "rg-ok", azurefake.Machine{Name: "vother"})
	f.PutMachine(sub, "rg-ok", azurefake.Machine{Name: "vleft"})
	vh := func(name, action, rid string) azure.VerifyHost {
		return azure.VerifyHost{Host: host(name, "rg-ok"), Action: action, Outcome: results.OutcomeOK, ResourceID: rid}
	}
	v := azure.Verify(context.Background(), ts, azure.VerifyRequest{Credentials: creds, Hosts: []azure.VerifyHost{
		vh("vmissing", azure.ActionConnect, id("vmissing")), vh("vstale", azure.ActionConnect, id("vstale")),
		vh("vother", azure.ActionConnect, "/subscriptions/"+sub+"/resourceGroups/rg-elsewhere/providers/Microsoft.HybridCompute/machines/vother"),
		vh("vleft", azure.ActionDisconnect, ""), vh("vnone", azure.ActionConnect, ""),
	}})
	return blocked, v
}

// packagePlan is an install plan of hosts whose agent package (.deb) is a
// directory when planned (pkgdir), has another size at apply time than the
// plan recorded (pkgsize), or is gone by then (pkggone).
func packagePlan(t *testing.T) *plan.Plan {
	t.Helper()
	dir := t.TempDir()
	paths := map[string]string{"pkgdir": filepath.Join(dir, "pkgdir.deb"), "pkgsize": filepath.Join(dir, "size.deb"), "pkggone": filepath.Join(dir, "gone.deb")}
	if err := os.Mkdir(paths["pkgdir"], 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"pkgsize", "pkggone"} {
		if err := os.WriteFile(paths[n], []byte("a package"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := exPlan(agent.ActionInstall, "pkgdir", "pkgsize", "pkggone")
	for i := range p.Hosts {
		h := &p.Hosts[i].Host
		h.Agent.Package.Deb = paths[h.Name]
		p.Hosts[i].Steps = agent.HostSteps(h, agent.ActionInstall)
	}
	if err := os.WriteFile(paths["pkgsize"], []byte("another, longer package"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(paths["pkggone"]); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeEntraTokens is internal/azure's token source against a fake Entra ID
// that knows exPlan's credential sp (client-1 in tenant-1) with another
// secret than the one exEnv gives: every token request is refused
// (AADSTS7000215).
func fakeEntraTokens(t *testing.T) *azure.TokenSource {
	t.Helper()
	f := azurefake.New(t, azurefake.Options{})
	f.AddApp("tenant-1", azurefake.App{ClientID: "client-1", Secret: "not-the-sentinel"})
	return azure.NewTokenSource(azure.Options{LookupEnv: exEnv,
		Endpoints: &azure.Endpoints{AuthorityHost: f.AuthorityHost(), ARM: f.ARMEndpoint(), CAPool: f.CAPool()}})
}
