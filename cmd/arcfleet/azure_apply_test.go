package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/testbed/azurefake"
	"github.com/arcfleet/arcfleet/testbed/demo"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
)

// azureFleet is a demo fleet of Linux hosts (simulated agents over SSH) and a
// fake Entra ID and Resource Manager that know its credential, subscription and
// resource group; env points arcfleet at the fakes and holds the fleet's secrets.
type azureFleet struct {
	fl       *demo.Fleet
	fk       *azurefake.Fake
	env      map[string]string
	spSecret string
}

// startAzureFleet starts it; accessToken puts the demo credential in access-token
// mode, record makes the simulator record each agent's login.
func startAzureFleet(t *testing.T, accessToken, record bool, names ...string) *azureFleet {
	t.Helper()
	specs := make([]demo.HostSpec, len(names))
	for i, n := range names {
		specs[i] = demo.HostSpec{Name: n, OS: "linux"}
	}
	fl, err := demo.Start(context.Background(), demo.Options{Sim: sshtest.BuildSim(t), Dir: t.TempDir(), Record: record, Hosts: specs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fl.Close() })
	if accessToken {
		raw, _ := os.ReadFile(fl.Inventory)
		secretLine := "    secret: {env: " + demo.EnvSPSecret + "}\n"
		if !bytes.Contains(raw, []byte(secretLine)) {
			t.Fatalf("demo inventory changed shape: no %q", secretLine)
		}
		os.WriteFile(fl.Inventory, bytes.Replace(raw, []byte(secretLine), []byte("    auth: access-token\n"+secretLine), 1), 0o600)
	}
	af := &azureFleet{fl: fl}
	af.spSecret, _ = fl.LookupEnv(demo.EnvSPSecret)
	af.fk = azurefake.New(t, azurefake.Options{})
	af.fk.AddApp(demo.DemoTenant, azurefake.App{ClientID: "3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21", Secret: af.spSecret})
	af.fk.AddSubscription(demo.DemoSubscription, demo.DemoTenant)
	af.fk.AddResourceGroup(demo.DemoSubscription, "rg-arcfleet-demo", "westeurope")
	ca, err := af.fk.WriteCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	af.env = map[string]string{azureEndpointsEnv: "authority=" + af.fk.AuthorityHost() + ",arm=" + af.fk.ARMEndpoint() + ",ca=" + ca}
	for _, k := range []string{demo.EnvSPSecret, demo.EnvLabSecret, demo.EnvWinRMPasswd} {
		if v, ok := fl.LookupEnv(k); ok {
			af.env[k] = v
		}
	}
	return af
}

// TestApplyAccessTokenVerifiesAzure runs `arcfleet apply` on simulated hosts
// with a credential in access-token mode, against the fake Entra ID and ARM
// (ARCFLEET_AZURE_ENDPOINTS): the controller mints the token, the hosts connect
// with it, and the verification (on by default in this mode) reads the
// machines back: l3's is missing in Azure, so the run exits 3 and the report
// says why.
func TestApplyAccessTokenVerifiesAzure(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: simulated hosts")
	}
	af := startAzureFleet(t, true, false, "l1", "l2", "l3")
	fl, fk, environ, spSecret := af.fl, af.fk, af.env, af.spSecret
	// Azure's side (the simulator does not call Azure): l1 and l2 are there, l3 is not.
	fk.PutMachine(demo.DemoSubscription, "rg-arcfleet-demo", azurefake.Machine{Name: "l1"})
	fk.PutMachine(demo.DemoSubscription, "rg-arcfleet-demo", azurefake.Machine{Name: "l2"})
	runDir := filepath.Join(t.TempDir(), "run")
	code, out, errb := runCmd(t, environ, false, "apply", "-i", fl.Inventory, "--action", "connect", "--yes", "--run-dir", runDir, "--timeout", "1m")
	if code != exitHostsFailed {
		t.Fatalf("exit %d, want 3 (l3 missing in Azure)\nstdout:\n%s\nstderr:\n%s", code, out, errb)
	}
	if !strings.Contains(errb, "WARNING: Azure calls go to") {
		t.Errorf("the endpoint override is not announced:\n%s", errb)
	}
	for _, want := range []string{"Outcome: 3 ok", "Azure verification: 2 verified, 1 mismatched", "l3 ARCF-AZURE-MISSING"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	rep, err := results.ReadReport(runDir)
	if err != nil || rep.Azure == nil || len(rep.Azure.Mismatches()) != 1 {
		t.Fatalf("report.json: %v %+v", err, rep)
	}
	if fk.Count(azurefake.KindToken) != 1 {
		t.Errorf("token requests %d for the run and its verification, want 1", fk.Count(azurefake.KindToken))
	}
	if strings.Contains(out+errb, spSecret) {
		t.Errorf("the secret is printed")
	}
}

// TestApplyAzurePreflightBlocksOnlyItsHosts: `apply --azure` runs the Azure
// pre-flight before any host is touched. A ReadOnly lock on l2's machine
// resource blocks l2 only: it is never connected and ends blocked with the
// lock's code and fix, while l1 and l3 connect. Once the lock is removed,
// `resume --retry-failed --azure` connects l2 and leaves the others alone.
func TestApplyAzurePreflightBlocksOnlyItsHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: simulated hosts")
	}
	af := startAzureFleet(t, false, false, "l1", "l2", "l3")
	fl, fk, environ, spSecret := af.fl, af.fk, af.env, af.spSecret
	fk.AddLock(demo.DemoSubscription, "rg-arcfleet-demo", azurefake.Lock{Name: "freeze-l2", Level: "ReadOnly", Machine: "l2"})
	runDir := filepath.Join(t.TempDir(), "run")
	code, out, errb := runCmd(t, environ, false, "apply", "-i", fl.Inventory, "--action", "connect", "--yes", "--azure", "--run-dir", runDir, "--timeout", "1m")
	if code != exitHostsFailed {
		t.Fatalf("exit %d, want 3 (l2 blocked)\nstdout:\n%s\nstderr:\n%s", code, out, errb)
	}
	if !strings.Contains(errb, "freeze-l2") || !strings.Contains(errb, "Azure pre-flight: 1 finding") {
		t.Errorf("stderr does not show the pre-flight finding and summary:\n%s", errb)
	}
	rep, err := results.ReadReport(runDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range rep.Hosts {
		want := results.OutcomeOK
		if h.Name == "l2" {
			want = results.OutcomeBlocked
			if h.FinalCode != "ARM-SCOPE-LOCKED" || !strings.Contains(h.Detail, "freeze-l2") || !strings.Contains(h.Detail, "fix:") || len(h.Attempts) != 0 {
				t.Errorf("l2: %s %q, %d attempts; want blocked by the lock with its fix, never attempted", h.FinalCode, h.Detail, len(h.Attempts))
			}
			// The report says it in Swedish too (the finding's message, not its English).
			if m := h.DetailMsg; m == nil || m.Text("en") != h.Detail || !strings.HasPrefix(m.Text("sv"), "Azure-förkontroll: ARM-SCOPE-LOCKED resursgrupp ") ||
				!strings.Contains(m.Text("sv"), `ReadOnly-låset "freeze-l2" på datorresursen: Azure vägrar`) {
				t.Errorf("l2: detail message %+v", m)
			}
		}
		if h.Outcome != want {
			t.Errorf("%s: %s %s, want %s", h.Name, h.Outcome, h.FinalCode, want)
		}
	}
	if n := fk.Count(azurefake.KindToken); n != 1 {
		t.Errorf("token requests %d, want 1 for the pre-flight", n)
	}

	fk.RemoveLocks(demo.DemoSubscription, "rg-arcfleet-demo")
	code, out, errb = runCmd(t, environ, false, "resume", runDir, "--retry-failed", "--azure", "--yes")
	if code != exitOK {
		t.Fatalf("resume: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errb)
	}
	if rep, err = results.ReadReport(runDir); err != nil {
		t.Fatal(err)
	}
	for _, h := range rep.Hosts {
		if h.Outcome != results.OutcomeOK {
			t.Errorf("after resume: %s %s %s, want ok", h.Name, h.Outcome, h.FinalCode)
		}
	}
	if strings.Contains(out+errb, spSecret) {
		t.Errorf("the secret is printed")
	}
}
