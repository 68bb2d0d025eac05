package results

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestClassifySimulator runs the agent simulator (testbed/azcmagent-sim, the stand-in
// for azcmagent that arcfleet's end-to-end tests use) in each failure mode and
// classifies what it really printed: exit status, stdout, stderr and the lines it
// appended to azcmagent.log.
func TestClassifySimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the simulator")
	}
	dir := t.TempDir()
	sim := filepath.Join(dir, "azcmagent-sim")
	build := exec.Command("go", "build", "-o", sim, "github.com/arcfleet/arcfleet/testbed/azcmagent-sim")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the simulator: %v\n%s", err, out)
	}
	const secret = "Sim-S3cret.value~42"
	sum := sha256.Sum256([]byte("the-right-secret"))
	connect := []string{"connect", "-s", "00000000-0000-0000-0000-000000000001", "-g", "rg", "-l", "westeurope",
		"-t", "00000000-0000-0000-0000-000000000002", "-i", "00000000-0000-0000-0000-000000000003", "-p", secret}
	type simCase struct {
		name     string
		scenario string
		flags    []string
		want     string
		created  bool
		related  string        // must be among Related
		after    time.Duration // Retry-After the diagnosis must carry
	}
	tests := []simCase{
		{"wrong secret", "accept_secret_sha256: " + hex.EncodeToString(sum[:]), nil, "AZCM0041", false, "", 0},
		{"wrong secret json", "accept_secret_sha256: " + hex.EncodeToString(sum[:]), []string{"--json"}, "AZCM0041", false, "", 0},
		{"wrong secret old agent", "accept_secret_sha256: " + hex.EncodeToString(sum[:]) + "\nold_format: true", nil, "MSG-INVALID-CLIENT-SECRET", false, "", 0},
		{"name taken", "resource_exists: true", nil, "AZCM0044", false, "", 0},
		{"name taken, Exit Code prefix", "resource_exists: true\nexit_code_prefix: true", []string{"--log-stderr"}, "AZCM0044", false, "", 0},
		{"name taken old agent", "resource_exists: true\nold_format: true", nil, "AZCM0044", false, "", 0},
		{"created then failed", "created_then_fail: true", nil, "AZCM0062", true, "", 0},
		{"group policy", "succeed_after_disconnect: true", nil, "AZCM0081", false, "MSG-GPO-PROFILE-DELETED", 0},
		{"service down", "service_down: true", nil, "AZCM0064", false, "", 0},
		{"network", "connect: {code: AZCM0026}", []string{"--json", "--log-stderr"}, "AZCM0026", false, "", 0},
		{"network old agent", "connect: {code: AZCM0026}\nold_format: true", nil, "AZCM0026", false, "", 0},
		{"crash", "connect: {crash: true}", nil, "AZCM0002", false, "", 0},
		{"success", "", nil, "AZCM0000", false, "", 0},
	}
	// Azure throttling (HTTP 429 with Retry-After), in every output mode.
	for _, flags := range [][]string{nil, {"--json"}, {"--log-stderr"}, {"--json", "--log-stderr"}} {
		tests = append(tests, simCase{"throttled " + strings.Join(flags, " "), "throttled: {retry_after: 2s, times: 1}", flags, "ARM-THROTTLED", false, "", 2 * time.Second})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.WriteFile(filepath.Join(root, "scenario.yaml"), []byte(tt.scenario+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(sim, append(append([]string{}, connect...), tt.flags...)...)
			cmd.Env = append(os.Environ(), "AZCMAGENT_SIM_ROOT="+root, "AZCMAGENT_SIM_HOST=web01", "AZCMAGENT_SIM_NO_ROOT=1")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			exit := 0
			if err := cmd.Run(); err != nil {
				var ee *exec.ExitError
				if !errors.As(err, &ee) {
					t.Fatal(err)
				}
				exit = ee.ExitCode()
			}
			logData, _ := os.ReadFile(filepath.Join(root, "log", "azcmagent.log"))
			ev := Evidence{ExitCode: exit, Stdout: stdout.String(), Stderr: stderr.String(),
				AgentLog: strings.Split(strings.TrimSpace(string(logData)), "\n"), Secrets: []string{secret}}
			d := Classify(ev)
			if d.Code != tt.want || d.ResourceCreated != tt.created || d.RetryAfter != tt.after {
				t.Fatalf("exit %d: %s (created %v, retry after %v), want %s (created %v, retry after %v)\nrelated %v\nstdout:\n%s\nstderr:\n%s\nlog:\n%s",
					exit, d.Code, d.ResourceCreated, d.RetryAfter, tt.want, tt.created, tt.after, d.Related, stdout.String(), stderr.String(), logData)
			}
			if tt.related != "" && !strings.Contains(strings.Join(d.Related, " "), tt.related) {
				t.Errorf("related %v lacks %s", d.Related, tt.related)
			}
			if len(d.Evidence) == 0 {
				t.Error("no evidence kept")
			}
			for _, l := range d.Evidence {
				if strings.Contains(l, secret) {
					t.Errorf("evidence leaks the secret: %q", l)
				}
			}
		})
	}
}
