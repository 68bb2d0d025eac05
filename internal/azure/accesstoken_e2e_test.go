package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/executor"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/testbed/azurefake"
	"github.com/arcfleet/arcfleet/testbed/demo"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
)

// TestAccessTokenModeEndToEnd runs connect in access-token mode through the
// real executor and SSH transport on simulated hosts, with this package's
// TokenSource minting the tokens from the fake Entra ID: the hosts connect with
// the token (the simulator checks it is a JWT that has not expired), one token
// serves the fleet, the secret reaches no host and no file of the run, and the
// verification then finds each agent's machine.
func TestAccessTokenModeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: simulated hosts")
	}
	sim := sshtest.BuildSim(t)
	ctx := context.Background()
	fl, err := demo.Start(ctx, demo.Options{Sim: sim, Dir: t.TempDir(), Record: true, Hosts: []demo.HostSpec{
		{Name: "l1", OS: "linux"}, {Name: "l2", OS: "linux"}, {Name: "l3", OS: "linux"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	raw, err := os.ReadFile(fl.Inventory)
	if err != nil {
		t.Fatal(err)
	}
	secretLine := "    secret: {env: " + demo.EnvSPSecret + "}\n"
	if !bytes.Contains(raw, []byte(secretLine)) {
		t.Fatalf("demo inventory changed shape: no %q", secretLine)
	}
	raw = bytes.Replace(raw, []byte(secretLine), []byte("    auth: access-token\n"+secretLine), 1)
	if err := os.WriteFile(fl.Inventory, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Load(fl.Inventory)
	if err != nil {
		t.Fatal(err)
	}
	cred := inv.Credentials["demo-sp"]
	if cred.AuthMode() != inventory.AuthAccessToken {
		t.Fatalf("credential mode %q", cred.AuthMode())
	}
	spSecret, _ := fl.LookupEnv(demo.EnvSPSecret)

	fk := azurefake.New(t, azurefake.Options{})
	fk.AddApp(demo.DemoTenant, azurefake.App{ClientID: cred.ClientID, Secret: spSecret})
	fk.AddSubscription(demo.DemoSubscription, demo.DemoTenant)
	fk.AddResourceGroup(demo.DemoSubscription, "rg-arcfleet-demo", "westeurope")
	// The demo inventory sets the tenant for the hosts (azure.tenant_id), not on the credential.
	ts := NewTokenSource(Options{LookupEnv: fl.LookupEnv, Endpoints: &Endpoints{AuthorityHost: fk.AuthorityHost(), ARM: fk.ARMEndpoint(), CAPool: fk.CAPool()},
		TenantOf: func(string) string { return demo.DemoTenant }})

	hosts, _ := inv.Select("")
	p := plan.Build(inv, hosts, "connect", "", time.Now())
	runDir := filepath.Join(t.TempDir(), "run")
	x := &executor.Executor{Dialer: demo.Dialer(), LookupEnv: fl.LookupEnv, Tokens: ts, Concurrency: 3, Timeout: time.Minute}
	rep, err := x.Apply(ctx, p, runDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range rep.Hosts {
		if h.Outcome != results.OutcomeOK {
			t.Fatalf("%s: %s %s %s", h.Name, h.Outcome, h.FinalCode, h.Detail)
		}
	}
	if n := fk.Count(azurefake.KindToken); n != 1 {
		t.Errorf("token requests %d for 3 hosts, want 1", n)
	}
	// The secret is nowhere in the run directory or the simulator's record.
	for _, dir := range []string{runDir, fl.Dir} {
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if b, _ := os.ReadFile(path); bytes.Contains(b, []byte(spSecret)) && filepath.Base(path) != "inventory.yaml" {
				t.Errorf("the secret is in %s", path)
			}
			return nil
		})
	}
	// The simulator's record: each connect logged in with the access token, and
	// its --config carried no secret.
	rec, err := os.ReadFile(fl.RecordFile)
	if err != nil {
		t.Fatal(err)
	}
	connects := 0
	for _, line := range strings.Split(string(rec), "\n") {
		if !strings.Contains(line, `"cmd":"connect"`) || !strings.Contains(line, `"event":"end"`) {
			continue
		}
		connects++
		if !strings.Contains(line, `"auth":"access token"`) || strings.Contains(line, "service-principal-secret") {
			t.Errorf("connect not in access-token mode: %s", line)
		}
	}
	if connects != 3 {
		t.Errorf("%d connects recorded, want 3", connects)
	}

	// Azure's side: the simulator does not call Azure, so register what each
	// agent reported, then verify.
	var vhs []VerifyHost
	for _, h := range rep.Hosts {
		rid := AgentResourceID(runDir, h)
		if rid == "" {
			t.Fatalf("%s: no resourceId in its attempt logs", h.Name)
		}
		fk.PutMachine(demo.DemoSubscription, "rg-arcfleet-demo", azurefake.Machine{Name: rid[strings.LastIndex(rid, "/")+1:]})
		vhs = append(vhs, VerifyHost{Host: inv.Host(h.Name), Action: h.Action, Outcome: h.Outcome, ResourceID: rid})
	}
	v := Verify(ctx, ts, VerifyRequest{Hosts: vhs, Credentials: inv.Credentials})
	for _, c := range v.Hosts {
		if !c.OK {
			t.Errorf("verify %s: %s %s", c.Host, c.Code, c.Detail)
		}
	}
	if js, _ := json.Marshal(v); bytes.Contains(js, []byte(spSecret)) {
		t.Errorf("the verification holds the secret")
	}
}
