package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/testbed/azurefake"
	"github.com/arcfleet/arcfleet/testbed/demo"
)

// TestApplyAccessTokenBadSecret: `arcfleet apply` in access-token mode when the
// controller's secret is wrong (the fake Entra ID answers AADSTS7000215). No
// host is acted on: the first host fails with the Entra code, the credential's
// breaker opens at once, the others are not started (exit 4), the agents never
// ran connect, and neither the wrong secret nor the right one is printed or
// written. With the right secret the same fleet connects, each agent with the
// token the controller minted (the simulator's record), its config holding no
// service-principal key.
func TestApplyAccessTokenBadSecret(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: simulated hosts")
	}
	af := startAzureFleet(t, true, true, "l1", "l2", "l3", "l4")
	fl, fk, environ, spSecret := af.fl, af.fk, af.env, af.spSecret
	const wrong = "S3NT1NEL-wrong-secret-value"
	environ[demo.EnvSPSecret] = wrong

	runDir := filepath.Join(t.TempDir(), "run")
	code, out, errb := runCmd(t, environ, false, "apply", "-i", fl.Inventory, "--action", "connect", "--yes", "--run-dir", runDir,
		"--timeout", "1m", "--concurrency", "1", "--verify-azure=false")
	if code != exitBreaker {
		t.Fatalf("exit %d, want %d (breaker)\nstdout:\n%s\nstderr:\n%s", code, exitBreaker, out, errb)
	}
	rep, err := results.ReadReport(runDir)
	if err != nil {
		t.Fatal(err)
	}
	failed, notStarted := 0, 0
	for _, h := range rep.Hosts {
		switch {
		case h.Outcome == results.OutcomeFailed && h.FinalCode == "AADSTS7000215":
			failed++
		case h.Outcome == results.OutcomeNotStarted && h.FinalCode == "ARCF-BREAKER-OPEN" && strings.Contains(h.Detail, "AADSTS7000215"):
			notStarted++
		default:
			t.Errorf("%s: %s %s %q", h.Name, h.Outcome, h.FinalCode, h.Detail)
		}
	}
	if failed != 1 || notStarted != len(rep.Hosts)-1 {
		t.Errorf("%d failed, %d not started of %d", failed, notStarted, len(rep.Hosts))
	}
	if n := fk.Count(azurefake.KindToken); n != 1 {
		t.Errorf("%d token requests, want 1 (the breaker stops the rest)", n)
	}
	if b, _ := os.ReadFile(fl.RecordFile); bytes.Contains(b, []byte(`"cmd":"connect"`)) {
		t.Errorf("an agent ran connect without a token:\n%s", b)
	}
	leaks := func(what string) {
		t.Helper()
		for _, s := range []string{wrong, spSecret} {
			if strings.Contains(out+errb, s) {
				t.Errorf("%s: a secret is printed", what)
			}
			// The run's records, and the hosts (their TMPDIR, state and agent logs).
			for _, root := range []string{filepath.Dir(runDir), fl.Dir} {
				filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
					if err == nil && d.Type().IsRegular() {
						if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(s)) {
							t.Errorf("%s: a secret in %s", what, p)
						}
					}
					return nil
				})
			}
		}
	}
	leaks("wrong secret")

	// The right secret: every agent connects with a token minted here.
	environ[demo.EnvSPSecret] = spSecret
	runDir = filepath.Join(t.TempDir(), "run")
	code, out, errb = runCmd(t, environ, false, "apply", "-i", fl.Inventory, "--action", "connect", "--yes", "--run-dir", runDir,
		"--timeout", "1m", "--verify-azure=false")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errb)
	}
	b, _ := os.ReadFile(fl.RecordFile)
	connects := 0
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r struct {
			Cmd, Event, Auth string
			TokenSHA256      string   `json:"token_sha256"`
			ConfigKeys       []string `json:"config_keys"`
		}
		if json.Unmarshal([]byte(l), &r) != nil || r.Cmd != "connect" || r.Event != "end" {
			continue
		}
		connects++
		keys := strings.Join(r.ConfigKeys, ",")
		if r.Auth != "access token" || r.TokenSHA256 == "" || !strings.Contains(keys, "access-token") || strings.Contains(keys, "service-principal") {
			t.Errorf("an agent connected with %s (config keys %s)", r.Auth, keys)
		}
	}
	if connects != len(rep.Hosts) {
		t.Errorf("%d connects recorded for %d hosts", connects, len(rep.Hosts))
	}
	leaks("right secret")
}
