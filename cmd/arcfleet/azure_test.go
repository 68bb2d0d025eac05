package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/spf13/pflag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/testbed/azurefake"
)

const (
	azTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	azSub    = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
	azApp    = "3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21"
)

// azureWorld is a fake Azure matching cliInv (tenant, subscription, rg, app) and
// the environment that points arcfleet at it.
func azureWorld(t *testing.T) (*azurefake.Fake, map[string]string) {
	t.Helper()
	f := azurefake.New(t, azurefake.Options{})
	f.AddApp(azTenant, azurefake.App{ClientID: azApp, Secret: validateSentinel})
	f.AddSubscription(azSub, azTenant)
	f.AddResourceGroup(azSub, "rg", "westeurope")
	ca, err := f.WriteCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return f, map[string]string{
		"SP":              validateSentinel,
		azureEndpointsEnv: "authority=" + f.AuthorityHost() + ",arm=" + f.ARMEndpoint() + ",ca=" + ca,
	}
}

func TestValidateAzure(t *testing.T) {
	f, envm := azureWorld(t)
	inv := writeInv(t, cliInv)
	wrong := map[string]string{"SP": "wrong-secret-zz9", azureEndpointsEnv: envm[azureEndpointsEnv]}

	code, out, errb := runValidate(t, envm, "-i", inv, "--azure")
	if code != exitOK || out != "" || !strings.Contains(errb, "Azure pre-flight: 0 findings, 0 warnings, 0 hosts blocked") {
		t.Fatalf("clean: exit %d\nstdout %s\nstderr %s", code, out, errb)
	}
	if !strings.Contains(errb, "WARNING: Azure calls go to") || !strings.Contains(errb, azureEndpointsEnv) {
		t.Errorf("the endpoint override is not announced:\n%s", errb)
	}
	if calls := f.Count(""); calls != 1+1+3 { // token, providers, permissions+locks+machines of one group
		t.Errorf("calls %s, want 5 besides discovery", f.CountString())
	}

	code, out, errb = runValidate(t, wrong, "-i", inv, "--azure")
	if code != exitInvalid || !strings.Contains(out, "azure: AADSTS7000215 credential sp: ") || !strings.Contains(out, "(2 hosts: a, b); fix: Put the secret's value") {
		t.Fatalf("wrong secret: exit %d\nstdout %s\nstderr %s", code, out, errb)
	}
	if strings.Contains(out+errb, "wrong-secret-zz9") || strings.Contains(out+errb, validateSentinel) {
		t.Fatalf("a secret is printed:\n%s%s", out, errb)
	}

	f.AddLock(azSub, "rg", azurefake.Lock{Name: "keep", Level: "CanNotDelete"})
	code, out, _ = runValidate(t, envm, "-i", inv, "--azure")
	if code != exitOK || !strings.Contains(out, "azure: ARCF-AZURE-DELETE-LOCK resource group "+azSub+"/rg: warning: ") {
		t.Fatalf("connect under a delete lock: exit %d, want 0 and a warning:\n%s", code, out)
	}
	code, out, _ = runValidate(t, envm, "-i", inv, "--azure", "--action", "disconnect", "--limit", "b")
	if code != exitInvalid || !strings.Contains(out, "azure: ARM-SCOPE-LOCKED") || !strings.Contains(out, "(1 host: b)") {
		t.Fatalf("disconnect under a delete lock: exit %d, want 2 naming b only:\n%s", code, out)
	}

	// Without --azure nothing talks to Azure, whatever the environment says.
	before := f.Count("")
	if code, _, errb := runValidate(t, wrong, "-i", inv); code != exitOK || strings.Contains(errb, "Azure pre-flight") || strings.Contains(errb, "WARNING") || f.Count("") != before {
		t.Errorf("validate without --azure: exit %d, stderr %s, calls %d -> %d", code, errb, before, f.Count(""))
	}
	bad := map[string]string{"SP": validateSentinel, azureEndpointsEnv: "authority=http://x,arm=http://y"}
	if code, _, errb := runValidate(t, bad, "-i", inv, "--azure"); code != exitInvalid || !strings.Contains(errb, "must be https") {
		t.Errorf("bad override: exit %d, %s", code, errb)
	}
}

func TestPlanAzureSection(t *testing.T) {
	f, envm := azureWorld(t)
	f.PutMachine(azSub, "rg", azurefake.Machine{Name: "b", Status: "Expired"})
	inv := writeInv(t, cliInv)
	code, out, errb := runCmd(t, envm, false, "plan", "-i", inv, "--action", "connect", "--azure")
	if code != exitOK || !strings.Contains(out, "Azure pre-flight: 0 findings, 1 warning") || !strings.Contains(out, "AZCM0044 Resource name already in use (warning)") || !strings.Contains(out, "status Expired") {
		t.Fatalf("table: exit %d\n%s\n%s", code, out, errb)
	}
	code, out, errb = runCmd(t, envm, false, "plan", "-i", inv, "--action", "connect", "--azure", "--format", "json")
	var p map[string]any
	if code != exitOK || json.Unmarshal([]byte(out), &p) != nil || !strings.Contains(errb, "AZCM0044") {
		t.Fatalf("json: exit %d, stdout must stay the plan's JSON, the section on stderr:\n%s\n%s", code, out, errb)
	}
	code, out, _ = runCmd(t, envm, false, "plan", "-i", inv, "--action", "connect", "--azure", "--format", "markdown")
	if code != exitOK || !strings.Contains(out, "## Azure pre-flight") || !strings.Contains(out, "| AZCM0044 | no (warning) |") {
		t.Fatalf("markdown: exit %d\n%s", code, out)
	}
}

// TestApplyVerifyAzure runs apply's post-run step on a finished run directory:
// the report gets the verification, in every format `arcfleet report` writes.
func TestApplyVerifyAzure(t *testing.T) {
	f, envm := azureWorld(t)
	f.PutMachine(azSub, "rg", azurefake.Machine{Name: "a", Status: "Connected"})
	f.PutMachine(azSub, "rg", azurefake.Machine{Name: "b", Status: "Disconnected"})
	invPath := writeInv(t, cliInv)
	inv, err := inventory.Load(invPath)
	if err != nil {
		t.Fatal(err)
	}
	hosts, _ := inv.Select("")
	p := plan.Build(inv, hosts, "connect", "", time.Now())
	runDir := t.TempDir()
	for _, h := range []string{"a", "b"} {
		os.MkdirAll(filepath.Join(runDir, "hosts", h), 0o700)
		id := azurefake.MachineID(azSub, "rg", h)
		os.WriteFile(filepath.Join(runDir, "hosts", h, "attempt-1.log"), []byte(`out: {"status":"Succeeded","resourceId":"`+id+`"}`+"\n"), 0o600)
	}
	r := &results.Report{FormatVersion: results.ReportFormatVersion, RunID: "t", Action: "connect", Started: time.Now(), Finished: time.Now(), Hosts: []results.HostResult{
		{Name: "a", OS: "linux", Action: "connect", Outcome: results.OutcomeOK, FinalCode: "AZCM0000", Attempts: []results.Attempt{{N: 1, Step: "connect", LogPath: "hosts/a/attempt-1.log"}}},
		{Name: "b", OS: "linux", Action: "connect", Outcome: results.OutcomeOK, FinalCode: "AZCM0000", Attempts: []results.Attempt{{N: 1, Step: "connect", LogPath: "hosts/b/attempt-1.log"}}},
	}}
	var errb bytes.Buffer
	e := &env{stdout: &bytes.Buffer{}, stderr: &errb, getenv: func(k string) string { return envm[k] }}

	// Secret mode: off unless asked.
	fs := pflag.NewFlagSet("apply", pflag.ContinueOnError)
	az := registerAzureApply(e, fs)
	fs.Parse(nil)
	if ts, ok := az.setup(p); !ok || ts != nil || az.enabled(p) {
		t.Fatalf("secret-mode inventory: verification on by default")
	}
	fs = pflag.NewFlagSet("apply", pflag.ContinueOnError)
	az = registerAzureApply(e, fs)
	fs.Parse([]string{"--verify-azure"})
	if ts, ok := az.setup(p); !ok || ts == nil {
		t.Fatalf("--verify-azure: no token source: %s", errb.String())
	}
	got, err := az.after(context.Background(), p, runDir, r, nil)
	if err != nil || got.Azure == nil || len(got.Azure.Hosts) != 2 {
		t.Fatalf("after: %v %+v", err, got.Azure)
	}
	if c := got.Azure.Hosts[1]; c.Host != "b" || c.Code != "ARCF-AZURE-NOT-CONNECTED" || !got.Azure.Hosts[0].OK {
		t.Fatalf("checks: %+v", got.Azure.Hosts)
	}
	if got.ExitCode() != exitHostsFailed {
		t.Errorf("exit code %d with a mismatch, want %d", got.ExitCode(), exitHostsFailed)
	}
	for _, format := range results.ReportFormats {
		code, out, errs := runCmd(t, nil, false, "report", runDir, "--format", format)
		if !strings.Contains(out, "ARCF-AZURE-NOT-CONNECTED") {
			t.Errorf("report --format %s (exit %d) does not show the verification:\n%s\n%s", format, code, out, errs)
		}
	}

	// Access-token mode: on by default.
	ap := plan.Build(inv, hosts, "connect", "", time.Now())
	c := ap.Credentials["sp"]
	c.Auth = inventory.AuthAccessToken
	ap.Credentials["sp"] = c
	fs = pflag.NewFlagSet("apply", pflag.ContinueOnError)
	az = registerAzureApply(e, fs)
	fs.Parse(nil)
	if ts, ok := az.setup(ap); !ok || ts == nil || !az.enabled(ap) {
		t.Fatalf("access-token inventory: verification off by default")
	}
	fs = pflag.NewFlagSet("apply", pflag.ContinueOnError)
	az = registerAzureApply(e, fs)
	fs.Parse([]string{"--verify-azure=false"})
	if ts, ok := az.setup(ap); !ok || ts == nil || az.enabled(ap) {
		t.Fatalf("--verify-azure=false: still on, or no token source for the access-token hosts")
	}
}
