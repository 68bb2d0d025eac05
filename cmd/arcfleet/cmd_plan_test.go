package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/plan"
)

const planSentinel = "S3NT1NEL-plan-must-never-read-me-91c2"

// planEnv runs commands in-process; getenv fails the test if a secret variable is read.
func planEnv(t *testing.T, secretVars ...string) (*env, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var so, se bytes.Buffer
	return &env{
		stdin:  strings.NewReader(""),
		stdout: &so,
		stderr: &se,
		getenv: func(k string) string {
			for _, s := range secretVars {
				if k == s {
					t.Errorf("plan read secret variable %s", k)
				}
			}
			return os.Getenv(k)
		},
	}, &so, &se
}

// secretFleet is an inventory whose every secret reference holds the sentinel.
func secretFleet(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "sp.secret")
	if err := os.WriteFile(secretFile, []byte(planSentinel), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ARC_SP_SECRET", planSentinel)
	t.Setenv("WINRM_PASSWORD", planSentinel)
	t.Setenv("KEY_PASSPHRASE", planSentinel)
	inv := `version: 1
azure:
  tenant_id: 72f988bf-86f1-41af-91ab-2d7cd011db47
  subscription_id: 0b1f6471-1bf0-4dda-aec3-cb9272f09590
  resource_group: rg-arc
  location: westeurope
  tags: {Owner: "Ops, Göteborg"}
credentials:
  sp-env: {client_id: 3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21, secret: {env: ARC_SP_SECRET}}
  sp-file: {client_id: 9e2d7c1b-4a3f-4e5d-9b8c-7a6f5e4d3c2b, secret: {file: ` + secretFile + `}}
defaults:
  credential: sp-env
  linux: {ssh: {user: arc, identity_file: /k, passphrase: {env: KEY_PASSPHRASE}, become: sudo}}
  windows: {winrm: {user: arc, password: {env: WINRM_PASSWORD}, auth: ntlm}}
hosts:
  - {name: l1, address: 10.0.0.1}
  - {name: l2, address: 10.0.0.2, credential: sp-file}
  - {name: w1, address: 10.0.0.3, os: windows}
  - {name: bad, address: 10.0.0.4, resource_name: "bad_"}
`
	path := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(path, []byte(inv), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPlanNeverHoldsSecret: with the sentinel in every referenced variable and
// file, no output of any format, nor the saved plan, contains it.
func TestPlanNeverHoldsSecret(t *testing.T) {
	inv := secretFleet(t)
	for _, action := range []string{"connect", "disconnect", "reconnect"} {
		for _, format := range []string{"table", "markdown", "json"} {
			e, so, se := planEnv(t, "ARC_SP_SECRET", "WINRM_PASSWORD", "KEY_PASSPHRASE")
			out := filepath.Join(t.TempDir(), "plan.json")
			if code := run(context.Background(), e, []string{"plan", "-i", inv, "--action", action, "--format", format, "-o", out}); code != exitOK {
				t.Fatalf("%s %s: exit %d: %s", action, format, code, se)
			}
			saved, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			for what, s := range map[string]string{"stdout": so.String(), "stderr": se.String(), "saved plan": string(saved)} {
				if strings.Contains(s, planSentinel) {
					t.Errorf("%s %s: the secret is in the %s", action, format, what)
				}
			}
			if !strings.Contains(string(saved), "<secret env:ARC_SP_SECRET>") || !strings.Contains(so.String(), "env:ARC_SP_SECRET") {
				t.Errorf("%s %s: the secret reference is not shown", action, format)
			}
		}
	}
}

func TestPlanCommand(t *testing.T) {
	inv := secretFleet(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\nhosts:\n  - name: a\n    port: [1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{"help", []string{"--help"}, exitOK, "Exit status: 0 the plan was made", ""},
		{"table with blocked host", []string{"-i", inv, "--action", "connect"}, exitOK, "BLOCKED", ""},
		{"markdown", []string{"-i", inv, "--action", "reconnect", "--format", "markdown"}, exitOK, "## Blocked hosts (1)", "3 to reconnect, 1 blocked: invalid settings (not probed)."},
		{"detailed exit code: changes", []string{"-i", inv, "--action", "connect", "--detailed-exitcode"}, plan.ExitChanges, "3 to connect, 1 blocked: invalid settings", ""},
		{"detailed exit code: error is 1", []string{"-i", inv, "--action", "explode", "--detailed-exitcode"}, plan.ExitError, "", "explode"},
		{"detailed exit code: only blocked hosts", []string{"-i", inv, "--action", "connect", "--limit", "bad", "--detailed-exitcode"}, plan.ExitError, "1 blocked: invalid settings. Nothing apply can change", ""},
		{"limit", []string{"-i", inv, "--action", "disconnect", "--limit", "w*", "--format", "json"}, exitOK, `"name": "w1"`, ""},
		{"no inventory", []string{"--action", "connect"}, exitInvalid, "", "-i INVENTORY is required"},
		{"no action", []string{"-i", inv}, exitInvalid, "", "--action is required"},
		{"bad action", []string{"-i", inv, "--action", "explode"}, exitInvalid, "", "explode"},
		{"bad format", []string{"-i", inv, "--action", "connect", "--format", "yaml"}, exitInvalid, "", "use table, markdown or json"},
		{"unknown limit", []string{"-i", inv, "--action", "connect", "--limit", "nosuchhost"}, exitInvalid, "", "nosuchhost"},
		{"missing file", []string{"-i", "/nonexistent/fleet.yaml", "--action", "connect"}, exitInvalid, "", "/nonexistent/fleet.yaml"},
		{"YAML error names file:line", []string{"-i", bad, "--action", "connect"}, exitInvalid, "", "bad.yaml:3:1: YAML syntax error"},
		{"stray argument", []string{"-i", inv, "--action", "connect", "extra"}, exitInvalid, "", "unexpected argument"},
		{"unwritable -o", []string{"-i", inv, "--action", "connect", "-o", "/nonexistent/dir/plan.json"}, exitInvalid, "", "fix:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, so, se := planEnv(t)
			code := run(context.Background(), e, append([]string{"plan"}, tc.args...))
			if code != tc.code || !strings.Contains(so.String(), tc.stdout) || !strings.Contains(se.String(), tc.stderr) {
				t.Errorf("exit %d (want %d)\nstdout: %.400s\nstderr: %s\nwant stdout ~ %q, stderr ~ %q", code, tc.code, so, se, tc.stdout, tc.stderr)
			}
		})
	}
}

// TestPlanSavedIsLoadable: what -o writes is what --format json prints, and LoadPlan reads it.
func TestPlanSavedIsLoadable(t *testing.T) {
	inv := secretFleet(t)
	out := filepath.Join(t.TempDir(), "plan.json")
	e, so, se := planEnv(t)
	if code := run(context.Background(), e, []string{"plan", "-i", inv, "--action", "reconnect", "--format", "json", "-o", out}); code != exitOK {
		t.Fatalf("exit %d: %s", code, se)
	}
	saved, _ := os.ReadFile(out)
	if !bytes.Equal(saved, so.Bytes()) {
		t.Error("the saved plan differs from the printed JSON")
	}
	p, err := plan.LoadPlan(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Hosts) != 4 || p.Action != "reconnect" || !json.Valid(saved) || !strings.Contains(se.String(), "arcfleet apply "+out) {
		t.Errorf("loaded plan: %d hosts, action %s; stderr %s", len(p.Hosts), p.Action, se)
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
		t.Errorf("plan saved with mode %v", fi.Mode().Perm())
	}
}

// TestPlanExamples: the shipped example inventories plan in every format.
func TestPlanExamples(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("..", "..", "examples", "*.yaml"))
	sub, _ := filepath.Glob(filepath.Join("..", "..", "examples", "*", "*.yaml"))
	paths = append(paths, sub...)
	if len(paths) == 0 {
		t.Skip("no examples yet")
	}
	for _, path := range paths {
		if data, err := os.ReadFile(path); err != nil || !bytes.Contains(data, []byte("\nversion: 1")) {
			continue // job files (CronJob, ...) beside the inventories
		}
		for _, format := range []string{"table", "markdown", "json"} {
			e, _, se := planEnv(t)
			if code := run(context.Background(), e, []string{"plan", "-i", path, "--action", "reconnect", "--format", format}); code != exitOK {
				t.Errorf("%s (%s): exit %d: %s", path, format, code, se)
			}
		}
	}
}

// plan --format json -o prints exactly the saved plan (copied, not encoded twice),
// and that is what Render gives for the loaded plan.
func TestPlanJSONOutMatchesSaved(t *testing.T) {
	out := filepath.Join(t.TempDir(), "plan.json")
	code, stdout, errs := runCmd(t, nil, false, "plan", "-i", "../../examples/linux-fleet.yaml", "--action", "reconnect", "--format", "json", "-o", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	saved, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(saved) || len(saved) == 0 {
		t.Fatalf("stdout (%d bytes) differs from the saved plan (%d bytes)", len(stdout), len(saved))
	}
	p, err := plan.LoadPlan(out)
	if err != nil {
		t.Fatal(err)
	}
	var again strings.Builder
	if err := plan.Render(&again, p, plan.FormatJSON); err != nil {
		t.Fatal(err)
	}
	if again.String() != stdout {
		t.Error("the loaded plan renders differently from what was saved")
	}
}
