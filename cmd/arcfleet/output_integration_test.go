package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogFormatJSONE2E: `apply --log-format json -v` on real sshd hosts (a
// retry, a failure not retried, a wrong secret): every stderr line is one JSON
// object a CI job can follow with jq, with the fields the README names; the
// report table stays on stdout; no secret in any encoding.
func TestLogFormatJSONE2E(t *testing.T) {
	t.Parallel()
	f := startFleet(t, "lj", 4, 0)
	f.writeScenario("slow: 20ms", map[string]string{
		"lj-2": "connect: {code: AZCM0026, fail_first: 1}", // transient once, then ok
		"lj-3": "connect: {code: AZCM0013}",                // invalid tags: not retried
	})
	inv := f.writeInventory(invOpts{lab: map[string]bool{"lj-4": true}}) // sp-lab: the agent refuses its secret
	runDir := filepath.Join(f.Dir, "run-json")
	r := f.run("apply", "-i", inv, "--action", "connect", "--yes", "--run-dir", runDir, "--log-format", "json", "-v").expect(t, exitHostsFailed)

	if !strings.Contains(r.stdout, "lj-3") || strings.HasPrefix(strings.TrimSpace(r.stdout), "{") {
		t.Errorf("stdout is not the report table:\n%s", r.stdout)
	}
	var objs []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stderr line %d is not a JSON object (%v): %q\n%s", i+1, err, line, r)
		}
		objs = append(objs, m)
	}
	if objs[0]["msg"] != "text" || !strings.Contains(objs[0]["text"].(string), "connect on 4 host") {
		t.Errorf("first object is not the wrapped confirmation line: %v", objs[0])
	}
	byKind := map[string][]map[string]any{}
	for _, m := range objs {
		k := m["msg"].(string)
		byKind[k] = append(byKind[k], m)
	}
	if s := byKind["run-start"]; len(s) != 1 || s[0]["run_dir"] != runDir || s[0]["hosts"] != 4.0 {
		t.Errorf("run-start: %v", s)
	}
	end := objs[len(objs)-1]
	if end["msg"] != "run-end" || end["exit_code"] != 3.0 || end["ok"] != 2.0 || end["failed"] != 2.0 || end["run_dir"] != runDir {
		t.Errorf("last object: %v, want run-end with exit 3, 2 ok, 2 failed", end)
	}
	done := map[string]map[string]any{}
	for _, m := range byKind["done"] {
		done[m["host"].(string)] = m
	}
	if d := done["lj-3"]; d == nil || d["outcome"] != "failed" || d["code"] != "AZCM0013" || d["class"] != "input" || d["level"] != "ERROR" {
		t.Errorf("lj-3 done: %v", d)
	}
	if d := done["lj-4"]; d == nil || d["outcome"] != "failed" || d["class"] != "credential" {
		t.Errorf("lj-4 done: %v", d)
	}
	if len(done) != 4 {
		t.Errorf("done objects for %d hosts, want 4", len(done))
	}
	// lj-2: attempt 1 failed, a retry with its delay, attempt 2 connected.
	var lj02 []string
	for _, m := range objs {
		if m["host"] != "lj-2" || (m["msg"] != "attempt" && m["msg"] != "retry") {
			continue
		}
		lj02 = append(lj02, m["msg"].(string)+" "+str(m["step"])+" "+str(m["attempt"])+" "+str(m["code"]))
		if m["msg"] == "retry" {
			if d, ok := m["delay_ms"].(float64); !ok || d <= 0 {
				t.Errorf("retry without delay_ms: %v", m)
			}
		}
		if m["msg"] == "attempt" && m["step"] != "dial" {
			lp, _ := m["log"].(string)
			if _, err := os.Stat(filepath.Join(runDir, lp)); lp == "" || err != nil {
				t.Errorf("-v attempt without its log file: %v (%v)", m, err)
			}
		}
	}
	if got, want := strings.Join(lj02, ", "), "attempt connect 1 AZCM0026, retry  1 AZCM0026, attempt probe 2 AZCM0000, attempt connect 2 AZCM0000"; got != want {
		t.Errorf("lj-2 events:\n got %s\nwant %s", got, want)
	}
	for _, s := range e2eSentinels() {
		for _, enc := range []string{s, hex.EncodeToString([]byte(s)), strings.ToUpper(hex.EncodeToString([]byte(s))),
			base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s))} {
			if strings.Contains(r.stderr, enc) || strings.Contains(r.stdout, enc) {
				t.Errorf("a secret (or its encoding) in the output")
			}
		}
	}
	f.assertNoSecrets()

	// The README's pipeline, when jq is installed.
	if _, err := exec.LookPath("jq"); err != nil {
		t.Log("jq not installed: the README's pipeline is not run")
		return
	}
	jq := exec.Command("jq", "-r", `select(.msg == "done" and .outcome != "ok" and .outcome != "unchanged") | "\(.host) \(.outcome) \(.code)"`)
	jq.Stdin = strings.NewReader(r.stderr)
	out, err := jq.Output()
	if err != nil {
		t.Fatalf("jq: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || !strings.Contains(string(out), "lj-3 failed AZCM0013") || !strings.Contains(string(out), "lj-4 failed") {
		t.Errorf("jq over the stream:\n%s", out)
	}
}

func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	b, _ := json.Marshal(v) // a float64 1 is "1"
	return string(b)
}

// TestPlanProbeJSONE2E: `plan --probe --log-format json` follows the probe
// host by host (a start and a "probed" object with the verdict each) and ends
// with the count per verdict; the plan stays on stdout.
func TestPlanProbeJSONE2E(t *testing.T) {
	t.Parallel()
	f := startFleet(t, "pj", 3, 0)
	f.writeScenario("", map[string]string{"pj-3": connectedAt(e2eRG)})
	inv := f.writeInventory(invOpts{})
	r := f.run("plan", "-i", inv, "--action", "connect", "--probe", "--log-format", "json")
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s", r.code, r)
	}
	if !strings.Contains(r.stdout, "pj-3") || strings.HasPrefix(strings.TrimSpace(r.stdout), "{") {
		t.Errorf("stdout is not the plan:\n%s", r.stdout)
	}
	verdicts := map[string]string{}
	var last map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stderr line %d is not a JSON object (%v): %q\n%s", i+1, err, line, r)
		}
		if m["msg"] == "probed" {
			verdicts[m["host"].(string)] = m["verdict"].(string)
		}
		last = m
	}
	if verdicts["pj-1"] != "connect" || verdicts["pj-2"] != "connect" || verdicts["pj-3"] != "already-connected" || len(verdicts) != 3 {
		t.Errorf("probed verdicts %v", verdicts)
	}
	v, _ := last["verdicts"].(map[string]any)
	if last["msg"] != "probe-end" || v["connect"] != 2.0 || v["already-connected"] != 1.0 {
		t.Errorf("last object %v, want probe-end with 2 connect, 1 already-connected", last)
	}
}
