package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/results"
)

const reportSentinel = "Rep0rt-S3ntinel-Secret"

// reportRunDir writes a run directory whose report came through Classify with a secret.
func reportRunDir(t *testing.T) (string, *results.Report) {
	t.Helper()
	t0 := time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)
	d := results.Classify(results.Evidence{ExitCode: 41, Stdout: "AZCM0041: Invalid Credentials\n",
		Stderr: "level=fatal msg=\"Invalid client secret is provided: " + reportSentinel + "\"", Secrets: []string{reportSentinel}})
	r := &results.Report{FormatVersion: results.ReportFormatVersion, RunID: "r1", Action: "connect", Started: t0, Finished: t0.Add(time.Minute),
		Hosts: []results.HostResult{
			{Name: "web01", OS: "linux", Action: "connect", Outcome: results.OutcomeOK, FinalCode: "AZCM0000"},
			{Name: "web02", OS: "linux", Action: "connect", Outcome: results.OutcomeFailed, FinalCode: d.Code, Class: d.Class, Evidence: d.Evidence,
				Attempts: []results.Attempt{{N: 1, Step: "connect", Code: d.Code, ExitCode: 41, Started: t0, Duration: 3 * time.Second, LogPath: "hosts/web02/attempt-1.log"}},
				LogPath:  "hosts/web02/attempt-1.log"},
		}}
	dir := t.TempDir()
	if err := results.WriteReports(dir, r); err != nil {
		t.Fatal(err)
	}
	return dir, r
}

func TestReportCommandFormats(t *testing.T) {
	dir, r := reportRunDir(t)
	for _, format := range results.ReportFormats {
		for _, lang := range []string{"en", "sv"} {
			// Flags after the positional RUN_DIR work too.
			code, out, errs := runCmd(t, nil, false, "report", dir, "--format", format, "--lang", lang)
			if code != exitOK {
				t.Fatalf("%s/%s: exit %d: %s", format, lang, code, errs)
			}
			// What was written and read back renders exactly like the report itself.
			var want bytes.Buffer
			if err := results.RenderReport(&want, r, format, lang, false); err != nil {
				t.Fatal(err)
			}
			if out != want.String() {
				t.Errorf("%s/%s: output differs from RenderReport:\n%s\n---\n%s", format, lang, out, want.String())
			}
			if strings.Contains(out, reportSentinel) {
				t.Errorf("%s/%s: the secret reached the output", format, lang)
			}
		}
	}
	for _, f := range []string{"report.json", "report.md"} {
		data, _ := os.ReadFile(filepath.Join(dir, f))
		if bytes.Contains(data, []byte(reportSentinel)) {
			t.Errorf("%s holds the secret", f)
		}
	}
}

func TestReportCommandColor(t *testing.T) {
	dir, _ := reportRunDir(t)
	tests := []struct {
		name     string
		terminal bool
		environ  map[string]string
		args     []string
		color    bool
	}{
		{"terminal", true, nil, nil, true},
		{"pipe", false, nil, nil, false},
		{"NO_COLOR", true, map[string]string{"NO_COLOR": "1"}, nil, false},
		{"markdown on a terminal", true, nil, []string{"--format", "markdown"}, false},
	}
	for _, tt := range tests {
		_, out, _ := runCmd(t, tt.environ, tt.terminal, append([]string{"report", dir}, tt.args...)...)
		if got := strings.Contains(out, "\x1b["); got != tt.color {
			t.Errorf("%s: colour %v, want %v", tt.name, got, tt.color)
		}
	}
}

func TestReportCommandErrors(t *testing.T) {
	dir, _ := reportRunDir(t)
	corrupt := t.TempDir()
	if err := os.WriteFile(filepath.Join(corrupt, "report.json"), []byte("{\"format_version\": 1,\n\"hosts\": [}"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		exit   int
		stderr string
	}{
		{"missing dir", []string{"report", filepath.Join(empty, "nope")}, exitInvalid, "no such run directory"},
		{"no report", []string{"report", empty}, exitInvalid, filepath.Join(empty, "report.json")},
		{"corrupt", []string{"report", corrupt}, exitInvalid, filepath.Join(corrupt, "report.json") + ":2:11"},
		{"no dir", []string{"report"}, exitInvalid, "RUN_DIR"},
		{"two dirs", []string{"report", dir, dir}, exitInvalid, "exactly one"},
		{"bad format", []string{"report", dir, "--format", "pdf"}, exitInvalid, "table, markdown, json, junit, csv"},
		{"bad lang", []string{"report", dir, "--lang", "fi"}, exitInvalid, "en or"},
	}
	for _, tt := range tests {
		code, out, errs := runCmd(t, nil, false, tt.args...)
		if code != tt.exit || !strings.Contains(errs, tt.stderr) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", tt.name, code, errs, tt.exit, tt.stderr)
		}
		if out != "" {
			t.Errorf("%s: unexpected stdout %q", tt.name, out)
		}
	}
	// --help is asked for, so it goes to stdout like every command's.
	if code, out, errs := runCmd(t, nil, false, "report", "--help"); code != exitOK || !strings.Contains(out, "Usage: arcfleet report RUN_DIR") || errs != "" {
		t.Errorf("report --help: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
