package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{`Status Code=429 Too Many Requests Retry-After: 17`, 17 * time.Second},
		{`Retry-After: 17 Too Many Requests`, 17 * time.Second},
		{`map[Retry-After:[5] X-Ms-Request-Id:[abc]]`, 5 * time.Second},
		{`{"Retry-After":"17"}`, 17 * time.Second},
		{`{"retryAfter": 3}`, 3 * time.Second},
		{`retry_after=2.5`, 2500 * time.Millisecond},
		{`please retry after 17 seconds`, 17 * time.Second},
		{`retry after 250ms`, 250 * time.Millisecond},
		{`retry after 2 minutes`, 2 * time.Minute},
		{`Retry-After: 1 then Retry-After: 9`, 9 * time.Second}, // the last wins
		{`Retry-After: 86400`, MaxRetryAfter},
		{`Retry-After: 99999999999999999999999999`, MaxRetryAfter},
		{`Retry-After: 0`, 0},
		{`Retry-After: -5`, 0},
		{`Retry-After: soon`, 0},
		{`Retry-After: Wed, 21 Oct 2026 07:28:00 GMT`, 0},
		{`will retry after 3 attempts`, 0},
		{`retrying after 4s`, 0}, // the agent's own schedule, not the server's
		{`no header here: 17`, 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestClassifyRetryAfter(t *testing.T) {
	throttled := `Error="Status Code=429 Too Many Requests Retry-After: 17"`
	tests := []struct {
		name string
		ev   Evidence
		want time.Duration
	}{
		{"stderr", Evidence{ExitCode: 1, Stderr: throttled}, 17 * time.Second},
		{"agent log after marker", Evidence{ExitCode: 1, Stderr: "x\n" + AgentLogMarker + "\n" + throttled}, 17 * time.Second},
		{"escaped inside a JSON string", Evidence{ExitCode: 1, Stdout: `{"error":{"message":"429 Too Many Requests {\"Retry-After\":\"8\"}"}}`}, 8 * time.Second},
		{"no header", Evidence{ExitCode: 1, Stderr: "Status Code=429 Too Many Requests"}, 0},
		{"success ignores it", Evidence{ExitCode: 0, Stdout: "Retry-After: 5\nConnected machine to Azure"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Classify(tt.ev)
			if d.RetryAfter != tt.want {
				t.Errorf("RetryAfter %v, want %v (code %s)", d.RetryAfter, tt.want, d.Code)
			}
			if tt.want > 0 && d.Code != "ARM-THROTTLED" {
				t.Errorf("code %s, want ARM-THROTTLED", d.Code)
			}
		})
	}
}

// The field travels in reports and journals as nanoseconds, omitted when unset.
func TestDiagnosisRetryAfterJSON(t *testing.T) {
	b, err := json.Marshal(Diagnosis{Code: "ARM-THROTTLED", RetryAfter: 17 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"retry_after_ns":17000000000`) {
		t.Errorf("JSON %s lacks retry_after_ns", b)
	}
	b, _ = json.Marshal(Diagnosis{Code: "AZCM0000"})
	if strings.Contains(string(b), "retry_after") {
		t.Errorf("JSON %s carries an unset retry_after_ns", b)
	}
}

// FuzzParseRetryAfter: never panics, never negative, never above the cap.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"Retry-After: 17", `{"Retry-After":"17"}`, "retry after 2.5 minutes", "Retry-After:[1e308]", "retry after 3 attempts", "Retry-After: 9999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := parseRetryAfter(s)
		if d < 0 || d > MaxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %v, outside [0, %v]", s, d, MaxRetryAfter)
		}
	})
}

// TestClassifySimulatorThrottled classifies what the agent simulator's
// `throttled:` scenario really prints, in each output mode.
func TestClassifySimulatorThrottled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the simulator")
	}
	dir := t.TempDir()
	sim := filepath.Join(dir, "azcmagent-sim")
	if out, err := exec.Command("go", "build", "-o", sim, "github.com/arcfleet/arcfleet/cmd/azcmagent-sim").CombinedOutput(); err != nil {
		t.Fatalf("building the simulator: %v\n%s", err, out)
	}
	connect := []string{"connect", "-s", "00000000-0000-0000-0000-000000000001", "-g", "rg", "-l", "westeurope",
		"-t", "00000000-0000-0000-0000-000000000002", "-i", "00000000-0000-0000-0000-000000000003", "-p", "Sim-S3cret"}
	for _, flags := range [][]string{nil, {"--json"}, {"--log-stderr"}, {"--json", "--log-stderr"}} {
		t.Run(strings.Join(append([]string{"plain"}, flags...), " "), func(t *testing.T) {
			root := t.TempDir()
			if err := os.WriteFile(filepath.Join(root, "scenario.yaml"), []byte("throttled: {retry_after: 2s, times: 1}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(sim, append(append([]string{}, connect...), flags...)...)
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
			d := Classify(Evidence{ExitCode: exit, Stdout: stdout.String(), Stderr: stderr.String(),
				AgentLog: strings.Split(strings.TrimSpace(string(logData)), "\n")})
			if d.Code != "ARM-THROTTLED" || d.RetryAfter != 2*time.Second || d.ResourceCreated {
				t.Errorf("exit %d: %s retry after %v (created %v), want ARM-THROTTLED after 2s\nstdout:\n%s\nstderr:\n%s",
					exit, d.Code, d.RetryAfter, d.ResourceCreated, stdout.String(), stderr.String())
			}
		})
	}
}
