//go:build demo

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/testbed/demo"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
)

func demoEnv() (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: os.Getenv}, &out, &errb
}

// TestDemoCommand runs `arcfleet demo` in-process, as `make demo` does: the
// simulator is found on PATH, the designed failures end in exit 0.
func TestDemoCommand(t *testing.T) {
	sim := sshtest.BuildSim(t)
	t.Setenv("PATH", filepath.Dir(sim)+string(os.PathListSeparator)+os.Getenv("PATH"))
	runDir := filepath.Join(t.TempDir(), "run")
	e, out, errb := demoEnv()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if code := run(ctx, e, []string{"demo", "--run-dir", runDir}); code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errb)
	}
	for _, want := range []string{
		"29 simulated hosts", "== The plan", "connect of 29 hosts: ", "distinct scripts left out here", "== Applying", "== The remediation report",
		"AZCM0041", "AZCM0044", "TRANSPORT-UNREACHABLE", "lab04", "Run directory: " + runDir,
		"would exit 4 here", "the demo exits 0",
		"== Azure pre-flight", "AADSTS7000215 Invalid client secret (AADSTS7000215) (BLOCKS) credential lab-sp", "hosts: lab01, lab02, lab03, lab04, lab05",
		"Azure verification: 21 verified, 1 mismatched, 0 not verified", "app04 ARCF-AZURE-MISSING",
		"== Network pre-flight", "ARCF-CHECK-FIREWALL: Endpoint blocked by a firewall (timeout) (1 host: app03)",
		"endpoints: https://gbl.his.arc.azure.com, https://westeurope.his.arc.azure.com", "`arcfleet check -l app03` again:\n1 host checked, all clear.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q\n%s", want, out)
		}
	}
	// The plan summary, not ~150 lines of scripts.
	if strings.Contains(out.String(), "== S1:") || strings.Contains(out.String(), "\n  | ") {
		t.Errorf("the demo prints the plan's scripts:\n%s", out)
	}
	// Not a terminal: one line per event on stderr.
	if !strings.Contains(errb.String(), "done     web01") {
		t.Errorf("stderr has no line events:\n%s", errb)
	}
	b, err := os.ReadFile(filepath.Join(runDir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep results.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Hosts) != 29 || len(rep.BreakerOpen) != 1 {
		t.Errorf("report.json: %d hosts, breaker %v", len(rep.Hosts), rep.BreakerOpen)
	}
}

func TestDemoCommandUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"demo", "extra"}, exitInvalid, `unexpected argument "extra"`},
		{[]string{"demo", "--plan-format", "json"}, exitInvalid, "use table or markdown"},
		{[]string{"demo", "--nope"}, exitInvalid, "unknown flag: --nope"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			e, _, errb := demoEnv()
			if code := run(context.Background(), e, tc.args); code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if !strings.Contains(errb.String(), tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, errb)
			}
		})
	}
}

// TestDemoVerdict: a run that differs from the design exits 1 and names the
// host; the designed run exits 0 and explains the failures.
func TestDemoVerdict(t *testing.T) {
	f := &demo.Fleet{Hosts: []demo.HostSpec{
		{Name: "a", Want: demo.Want{Outcome: results.OutcomeOK, Code: "AZCM0000"}},
		{Name: "b", Want: demo.Want{Outcome: results.OutcomeFailed, Code: "AZCM0044"}},
	}}
	tests := []struct {
		name    string
		hosts   []results.HostResult
		code    int
		wantErr string
	}{
		{"as designed", []results.HostResult{
			{Name: "a", Outcome: results.OutcomeOK, FinalCode: "AZCM0000"},
			{Name: "b", Outcome: results.OutcomeFailed, FinalCode: "AZCM0044"}}, exitOK, ""},
		{"b succeeded", []results.HostResult{
			{Name: "a", Outcome: results.OutcomeOK, FinalCode: "AZCM0000"},
			{Name: "b", Outcome: results.OutcomeOK, FinalCode: "AZCM0000"}}, exitDemoUnexpected, "b: outcome ok"},
		{"wrong code", []results.HostResult{
			{Name: "a", Outcome: results.OutcomeOK, FinalCode: "AZCM0000"},
			{Name: "b", Outcome: results.OutcomeFailed, FinalCode: "AZCM0041"}}, exitDemoUnexpected, `b: final code "AZCM0041"`},
		{"host missing", []results.HostResult{
			{Name: "a", Outcome: results.OutcomeOK, FinalCode: "AZCM0000"}}, exitDemoUnexpected, "b: missing from the report"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, out, errb := demoEnv()
			code := demoVerdict(e, f, &results.Report{Hosts: tc.hosts}, time.Second)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if tc.wantErr != "" && !strings.Contains(errb.String(), tc.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantErr, errb)
			}
			if tc.code == exitOK && !strings.Contains(out.String(), "designed outcome") {
				t.Errorf("stdout does not explain the designed failures:\n%s", out)
			}
		})
	}
}
