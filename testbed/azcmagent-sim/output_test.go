package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGoldenOutput pins the console and JSON shapes others parse.
func TestGoldenOutput(t *testing.T) {
	h := newHost(t, "web01")
	norm := func(s string) string { return strings.ReplaceAll(s, h.root, "$ROOT") }
	steps := []struct {
		file string
		args []string
		code int
		both bool // golden holds stdout and stderr
	}{
		{"connect.txt", connectArgs("--correlation-id", corrID, "--tags", "Env=Prod,'Cost Center'='a, b'"), 0, false},
		{"show.txt", []string{"show"}, 0, false},
		{"show.json", []string{"show", "--json"}, 0, false},
		{"connect-again.json", connectArgs("--correlation-id", corrID, "--json", "--log-stderr"), 67, true},
		{"connect-again.txt", connectArgs("--correlation-id", corrID), 67, false},
		{"disconnect.json", disconnectArgs("--json"), 0, false},
		{"connect.json", connectArgs("--correlation-id", corrID, "-j"), 0, false},
		{"disconnect-force.txt", []string{"disconnect", "--force-local-only"}, 0, false},
		{"check.json", []string{"check", "--json", "-l", "swedencentral"}, 0, false},
		{"check.txt", []string{"check"}, 0, false},
		{"version.txt", []string{"version"}, 0, false},
		{"parse-error.json", []string{"connect", "--json", "--bogus"}, 101, true},
		{"validation-log-stderr.txt", []string{"connect", "--log-stderr", "-s", subID}, 16, true},
	}
	for _, s := range steps {
		r := h.expect(s.code, s.args...)
		got := norm(r.stdout)
		if s.both {
			got = "--- stdout\n" + got + "--- stderr\n" + norm(r.stderr)
		}
		golden(t, s.file, got)
		if strings.HasSuffix(s.file, ".json") && !json.Valid([]byte(r.stdout)) {
			t.Errorf("%s: stdout is not pure JSON:\n%s", s.file, r)
		}
	}
}

// TestJSONShapes checks the fields arcfleet relies on, independent of the golden files.
func TestJSONShapes(t *testing.T) {
	h := newHost(t, "web01")
	var ok jsonResult
	r := h.expect(0, connectArgs("--json", "--log-stderr", "--verbose")...)
	if err := json.Unmarshal([]byte(r.stdout), &ok); err != nil {
		t.Fatalf("connect --json: %v\n%s", err, r)
	}
	if ok.Status != "Succeeded" || !strings.HasSuffix(ok.ResourceID, "/providers/Microsoft.HybridCompute/machines/web01") || ok.Error != nil {
		t.Fatalf("connect --json: %+v", ok)
	}
	if !strings.Contains(r.stderr, "DEBUG   ") || !strings.Contains(r.stderr, "INFO    Connected machine to Azure") {
		t.Errorf("--json --log-stderr --verbose: human lines belong on stderr:\n%s", r)
	}
	var bad jsonResult
	r = h.expect(67, connectArgs("--json")...)
	if err := json.Unmarshal([]byte(r.stdout), &bad); err != nil {
		t.Fatalf("failed connect --json: %v\n%s", err, r)
	}
	if bad.Status != "Failed" || bad.Error == nil || bad.Error.Code != "AZCM0067" || bad.Error.ExitCode != 67 || bad.Error.Message == "" {
		t.Fatalf("failed connect --json: %+v", bad)
	}
	if !strings.Contains(r.stderr, "AZCM0067: Machine Already Connected") {
		t.Errorf("the AZCM line should still reach stderr:\n%s", r)
	}
	// --log-stderr without --json: errors on stderr, INFO on stdout.
	r = h.expect(67, connectArgs("--log-stderr")...)
	if strings.Contains(r.stdout, "AZCM0067") || !strings.Contains(r.stderr, "AZCM0067: Machine Already Connected") || !strings.Contains(r.stdout, "INFO    Connecting") {
		t.Errorf("--log-stderr routing:\n%s", r)
	}
}

// TestConfigFile: --config in JSON and YAML, command-line values win, unknown keys refused.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	jsonCfg := write("arc.json", fmt.Sprintf(`{"subscription-id": %q, "resource-group": "rg-config", "location": "westeurope",
		"tenant-id": %q, "service-principal-id": %q, "service-principal-secret": %q, "tags": "Source=json"}`, subID, tenantID, appID, sentinel))
	yamlCfg := write("arc.yaml", fmt.Sprintf("subscription-id: %s\nresource-group: rg-config\nlocation: West Europe\ntenant-id: %s\nservice-principal-id: %s\nservice-principal-secret: %s\ntags:\n  Source: yaml\n  Owner: Jane Doe\ncloud: azurecloud\n", subID, tenantID, appID, sentinel))
	tests := []struct {
		name     string
		args     []string
		code     int
		rg, tags string
	}{
		{"json", []string{"connect", "--config", jsonCfg}, 0, "rg-config", "Source=json"},
		{"json, flag wins", []string{"connect", "--config", jsonCfg, "-g", "rg-flag", "--tags", "Source=flag"}, 0, "rg-flag", "Source=flag"},
		{"yaml", []string{"connect", "--config", yamlCfg}, 0, "rg-config", "Owner='Jane Doe',Source=yaml"},
		{"yaml, flag wins", []string{"connect", "--config=" + yamlCfg, "--resource-group=rg-flag"}, 0, "rg-flag", "Owner='Jane Doe',Source=yaml"},
		{"unknown key", []string{"connect", "--config", write("bad.json", `{"tenant": "x"}`)}, 101, "", ""},
		{"key of another command is ignored", []string{"connect", "--config", write("force.yaml", "force-local-only: true")}, 16, "", ""},
		{"not yaml", []string{"connect", "--config", write("broken.json", `{"service-principal-secret": "`+sentinel)}, 23, "", ""},
		{"mapping value", []string{"connect", "--config", write("map.yaml", "location: {a: b}")}, 23, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHost(t, "web01")
			r := h.expect(tt.code, tt.args...)
			if strings.Contains(r.stdout+r.stderr, sentinel) {
				t.Fatalf("the secret from the config file reached the console:\n%s", r)
			}
			if tt.code != 0 {
				return
			}
			doc := showJSONOf(t, h)
			if doc.ResourceGroup != tt.rg || formatTags(doc.Tags) != tt.tags {
				t.Errorf("resourceGroup=%q tags=%q, want %q %q", doc.ResourceGroup, formatTags(doc.Tags), tt.rg, tt.tags)
			}
		})
	}
	// disconnect takes its credential from --config too.
	h := newHost(t, "web02")
	h.expect(0, "connect", "--config", jsonCfg)
	h.expect(0, "disconnect", "--config", jsonCfg)
}

var logLine = regexp.MustCompile(`^time="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ" level=(debug|info|error|fatal) msg="(?:[^"\\]|\\.)*"(?: Error="(?:[^"\\]|\\.)*")?$`)

// gpoPattern is what Microsoft's Group Policy script searches the log for.
var gpoPattern = regexp.MustCompile(`AZCM\d*:[\s\w]*`)

func TestLogLines(t *testing.T) {
	h := newHost(t, "web01")
	h.scenario("connect: {code: AZCM0041, fail_first: 1}")
	h.expect(41, connectArgs()...)
	first := h.readFile("log/azcmagent.log")
	h.expect(0, connectArgs("--verbose")...)
	all := h.readFile("log/azcmagent.log")
	if !strings.HasPrefix(all, first) || len(all) <= len(first) {
		t.Fatalf("the log must be appended to, not rewritten")
	}
	lines := strings.Split(strings.TrimSuffix(all, "\n"), "\n")
	for _, l := range lines {
		if !logLine.MatchString(l) {
			t.Errorf("not a logrus line: %q", l)
		}
	}
	var fatal string
	for _, l := range strings.Split(first, "\n") {
		if strings.Contains(l, "level=fatal") {
			fatal = l
		}
	}
	if !strings.Contains(fatal, `msg="AZCM0041: Invalid Credentials" Error="`) || gpoPattern.FindString(fatal) != "AZCM0041: Invalid Credentials" {
		t.Errorf("fatal line %q", fatal)
	}
	if !strings.Contains(all[len(first):], "level=debug") || !strings.HasSuffix(all, `level=info msg="Connected machine to Azure"`+"\n") {
		t.Errorf("second attempt's lines:\n%s", all[len(first):])
	}
}

// TestSecretNeverWritten: the sentinel secret, given on the command line and in
// --config, with --verbose, in successes and failures, reaches no output and no file.
func TestSecretNeverWritten(t *testing.T) {
	record := filepath.Join(t.TempDir(), "record.jsonl")
	h := newHost(t, "web01", "AZCMAGENT_SIM_RECORD="+record)
	cfg := filepath.Join(t.TempDir(), "arc.yaml")
	os.WriteFile(cfg, []byte("service-principal-secret: "+sentinel+"\nservice-principal-id: "+appID+"\ntenant-id: "+tenantID+"\n"), 0o600)
	token := "eyJ" + sentinel + ".eyJzdWIi.c2ln"
	runs := [][]string{
		connectArgs("--verbose"),
		connectArgs("--verbose", "--json"),
		{"disconnect", "--config", cfg, "-v", "--log-stderr"},
		{"connect", "-s", subID, "-g", "rg", "-l", "westeurope", "--config", cfg, "-v", "--tags", "bad tag=x"},
		{"connect", "-s", subID, "-g", "rg", "-l", "westeurope", "--access-token", token, "-v"},
		{"disconnect", "--access-token", token, "-v", "-j"},
		{"connect", "-s", subID, "-g", "rg", "-l", "westeurope", "-i", appID, "-t", tenantID, "-v", "--service-principal-secret=" + sentinel, sentinel},
		{"show", "-v"},
	}
	h.scenario("connect: {attempts: {3: {code: AZCM0041}}}")
	for _, args := range runs {
		r := h.run(args...)
		if strings.Contains(r.stdout+r.stderr, sentinel) {
			t.Errorf("%v: the secret reached the console:\n%s", args, r)
		}
	}
	var files []string
	filepath.WalkDir(h.root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	files = append(files, record)
	if len(files) < 4 {
		t.Fatalf("expected state, lock, log and record files, got %v", files)
	}
	for _, f := range files {
		if strings.Contains(readOr(f), sentinel) {
			t.Errorf("%s holds the secret", f)
		}
	}
	if !strings.Contains(h.readFile("log/azcmagent.log"), "authentication=service principal secret") {
		t.Error("the verbose log should say which authentication was used (proving verbose logging ran)")
	}
}

// TestConcurrentConnectsOneHost: parallel connects on one host serialise on the
// state lock: one succeeds, the rest see AZCM0067, and the counters are exact.
func TestConcurrentConnectsOneHost(t *testing.T) {
	h := newHost(t, "web01")
	h.scenario("slow: 20ms")
	const n = 8
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = h.run(connectArgs()...).code
		}()
	}
	wg.Wait()
	sort.Ints(codes)
	want := []int{0, 67, 67, 67, 67, 67, 67, 67}
	if fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Fatalf("exit codes %v, want %v", codes, want)
	}
	var st State
	if err := json.Unmarshal([]byte(h.readFile("state.json")), &st); err != nil {
		t.Fatalf("state.json corrupt: %v", err)
	}
	if st.Attempts["connect"] != n || st.SuccessfulConnects != 1 || st.Status != statusConnected {
		t.Fatalf("state after %d parallel connects: %+v", n, st)
	}
}

// TestRecord: concurrent hosts append whole JSON lines to one record file; each
// process has a start and an end with its exit code; the slow scenario shows
// overlapping runs.
func TestRecord(t *testing.T) {
	record := filepath.Join(t.TempDir(), "record.jsonl")
	const n = 10
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		h := newHost(t, fmt.Sprintf("web%02d", i), "AZCMAGENT_SIM_RECORD="+record)
		h.scenario("slow: 300ms")
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.run(connectArgs()...)
			h.run("service", "restart")
		}()
	}
	wg.Wait()
	data, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 4*n {
		t.Fatalf("%d record lines, want %d", len(lines), 4*n)
	}
	type span struct{ start, end time.Time }
	spans := map[int]*span{}
	for _, l := range lines {
		var rl recordLine
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rl); err != nil {
			t.Fatalf("bad record line %q: %v", l, err)
		}
		ts, err := time.Parse(time.RFC3339Nano, rl.T)
		if err != nil || rl.PID == 0 || !strings.HasPrefix(rl.Host, "web") {
			t.Fatalf("bad record line %q", l)
		}
		switch {
		case rl.Event == "start" && rl.Exit == nil:
			if rl.Cmd == "connect" {
				spans[rl.PID] = &span{start: ts}
			}
		case rl.Event == "end" && rl.Exit != nil && *rl.Exit == 0:
			if rl.Cmd == "connect" {
				spans[rl.PID].end = ts
			} else if rl.Cmd != "service restart" {
				t.Fatalf("unexpected cmd in %q", l)
			}
		default:
			t.Fatalf("bad record line %q", l)
		}
	}
	// With 10 hosts of 300 ms each started together, some runs must overlap.
	maxOverlap := 0
	for _, a := range spans {
		o := 0
		for _, b := range spans {
			if b.start.Before(a.end) && a.start.Before(b.end) {
				o++
			}
		}
		maxOverlap = max(maxOverlap, o)
	}
	if len(spans) != n || maxOverlap < 2 {
		t.Fatalf("spans %d, max overlap %d", len(spans), maxOverlap)
	}
}

// TestCrashMidOutput: the crash leaves half a progress line on stdout.
func TestCrashMidOutput(t *testing.T) {
	h := newHost(t, "web01")
	h.scenario("connect: {crash: true}")
	r := h.expect(2, connectArgs()...)
	if strings.HasSuffix(r.stdout, "\n") || !strings.HasPrefix(r.stderr, "panic: ") {
		t.Fatalf("crash output:\n%s", r)
	}
	if doc := showJSONOf(t, h); doc.Status != "Disconnected" {
		t.Fatalf("a crashed connect must not connect: %+v", doc)
	}
}
