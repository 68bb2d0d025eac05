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
	disconnect := []string{"disconnect", "-i", "00000000-0000-0000-0000-000000000003", "-p", secret}
	type simCase struct {
		name     string
		scenario string
		flags    []string
		want     string
		created  bool
		related  string        // must be among Related
		after    time.Duration // Retry-After the diagnosis must carry
		args     []string      // the command; nil = connect
		refused  bool          // Diagnosis.DeleteRefused
		gone     bool          // Diagnosis.ResourceGone
	}
	tests := []simCase{
		{name: "wrong secret", scenario: "accept_secret_sha256: " + hex.EncodeToString(sum[:]), want: "AZCM0041"},
		{name: "wrong secret json", scenario: "accept_secret_sha256: " + hex.EncodeToString(sum[:]), flags: []string{"--json"}, want: "AZCM0041"},
		{name: "wrong secret old agent", scenario: "accept_secret_sha256: " + hex.EncodeToString(sum[:]) + "\nold_format: true", want: "MSG-INVALID-CLIENT-SECRET"},
		{name: "name taken", scenario: "resource_exists: true", want: "AZCM0044"},
		{name: "name taken, Exit Code prefix", scenario: "resource_exists: true\nexit_code_prefix: true", flags: []string{"--log-stderr"}, want: "AZCM0044"},
		{name: "name taken old agent", scenario: "resource_exists: true\nold_format: true", want: "AZCM0044"},
		{name: "created then failed", scenario: "created_then_fail: true", want: "AZCM0062", created: true},
		{name: "group policy", scenario: "succeed_after_disconnect: true", want: "AZCM0081", related: "MSG-GPO-PROFILE-DELETED"},
		{name: "service down", scenario: "service_down: true", want: "AZCM0064"},
		{name: "network", scenario: "connect: {code: AZCM0026}", flags: []string{"--json", "--log-stderr"}, want: "AZCM0026"},
		{name: "network old agent", scenario: "connect: {code: AZCM0026}\nold_format: true", want: "AZCM0026"},
		{name: "crash", scenario: "connect: {crash: true}", want: "AZCM0002"},
		{name: "success", scenario: "", want: "AZCM0000"},
	}
	// The real agents' outputs the simulator copies (issue 13).
	for _, flags := range [][]string{nil, {"--json"}} {
		mode := strings.Join(flags, " ")
		tests = append(tests,
			simCase{name: "TLS inspection " + mode, scenario: "tls_inspection: true", flags: flags, want: "MSG-TLS-INSPECTION", related: "ARM-AUTHORIZATION-FAILED"},
			simCase{name: "private link scope required " + mode, scenario: "private_link_required: true", flags: flags, want: "MSG-PRIVATE-LINK-SCOPE-REQUIRED"},
			simCase{name: "not root " + mode, scenario: "not_root: true", flags: flags, want: "AZCM0018"},
			simCase{name: "delete lock " + mode, scenario: "initial: {status: Connected}\ndelete_lock: true", flags: flags, args: disconnect,
				want: "ARM-SCOPE-LOCKED", related: "AZCM0043", refused: true},
			simCase{name: "delete denied " + mode, scenario: "initial: {status: Connected}\ndelete_denied: true", flags: flags, args: disconnect,
				want: "ARM-AUTHORIZATION-FAILED", related: "AZCM0043", refused: true},
			simCase{name: "resource deleted in Azure " + mode, scenario: "resource_deleted: true", flags: flags, args: disconnect,
				want: "AZCM0043", gone: true},
		)
	}
	// Azure throttling (HTTP 429 with Retry-After), in every output mode.
	for _, flags := range [][]string{nil, {"--json"}, {"--log-stderr"}, {"--json", "--log-stderr"}} {
		tests = append(tests, simCase{name: "throttled " + strings.Join(flags, " "), scenario: "throttled: {retry_after: 2s, times: 1}", flags: flags, want: "ARM-THROTTLED", after: 2 * time.Second})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.WriteFile(filepath.Join(root, "scenario.yaml"), []byte(tt.scenario+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			args := tt.args
			if args == nil {
				args = connect
			}
			cmd := exec.Command(sim, append(append([]string{}, args...), tt.flags...)...)
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
			if d.DeleteRefused != tt.refused || d.ResourceGone != tt.gone {
				t.Errorf("delete refused %v, resource gone %v; want %v, %v\nevidence:\n  %s", d.DeleteRefused, d.ResourceGone, tt.refused, tt.gone, strings.Join(d.Evidence, "\n  "))
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
