package results

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/report")

var t0 = time.Date(2024, 5, 2, 9, 14, 0, 0, time.UTC)

func attempt(n int, step, code string, exit int, d time.Duration, host string) Attempt {
	return Attempt{N: n, Step: step, Code: code, ExitCode: exit, Started: t0.Add(time.Duration(n) * time.Minute), Duration: d,
		LogPath: fmt.Sprintf("hosts/%s/attempt-%d.log", host, n)}
}

// fixtureReport is a run with every outcome, a large group, hostile names and
// evidence, and the sentinel secret pushed through Classify.
func fixtureReport() *Report {
	r := &Report{FormatVersion: ReportFormatVersion, RunID: "20240502T091400Z-3f2a", Action: "connect", Inventory: "fleet.yaml",
		Started: t0, Finished: t0.Add(3*time.Minute + 12*time.Second), Interrupted: true, BreakerOpen: []string{"sp-prod"}}
	add := func(h HostResult) { r.Hosts = append(r.Hosts, h) }
	for i := 1; i <= 13; i++ {
		n := fmt.Sprintf("app%02d", i)
		add(HostResult{Name: n, OS: "linux", Action: "connect", Outcome: OutcomeOK, FinalCode: "AZCM0000", Class: ClassSuccess,
			Attempts: []Attempt{attempt(1, "connect", "AZCM0000", 0, 41*time.Second+300*time.Millisecond, n)}, LogPath: "hosts/" + n + "/attempt-1.log"})
		if i == 4 {
			add(HostResult{Name: "dc01", OS: "windows", Action: "connect", Outcome: OutcomeUnchanged, Detail: "already connected to the intended target"})
			add(HostResult{Name: "dc02", OS: "windows", Action: "connect", Outcome: OutcomeUnchanged})
		}
	}
	for i := 3; i <= 14; i++ {
		n := fmt.Sprintf("web%02d", i)
		d := Classify(Evidence{ExitCode: 44, Stdout: "INFO    Connecting machine to Azure...\nAZCM0044: Resource Name Already Exists\n"})
		add(HostResult{Name: n, OS: "linux", Action: "connect", Outcome: OutcomeFailed, FinalCode: d.Code, Class: d.Class, Evidence: d.Evidence,
			Attempts: []Attempt{attempt(1, "connect", d.Code, 44, 2100*time.Millisecond, n)}, LogPath: "hosts/" + n + "/attempt-1.log"})
	}
	se := sentinelEvidence()
	for _, n := range []string{"db01", "db02"} {
		d := Classify(se)
		add(HostResult{Name: n, OS: "linux", Action: "connect", Outcome: OutcomeFailed, FinalCode: d.Code, Class: d.Class, Evidence: d.Evidence,
			Detail:   Mask("credential sp-prod, secret "+sentinel, se.Secrets),
			Attempts: []Attempt{attempt(1, "connect", d.Code, 41, 5*time.Second, n)}, LogPath: "hosts/" + n + "/attempt-1.log"})
	}
	for _, n := range []string{"db03", "db04", "db05"} {
		add(HostResult{Name: n, OS: "linux", Action: "connect", Outcome: OutcomeNotStarted, FinalCode: "ARCF-BREAKER-OPEN", Class: ClassCredential,
			Detail: "circuit breaker open for credential sp-prod after AZCM0041 on 2 hosts"})
	}
	d := Classify(Evidence{Transport: "host-key-changed", TransportMsg: "jump01: handshake: host-key-changed: key mismatch (remove line 12 of /root/.ssh/known_hosts)"})
	add(HostResult{Name: "jump01", OS: "linux", Action: "connect", Outcome: OutcomeFailed, FinalCode: d.Code, Class: d.Class, Evidence: d.Evidence,
		Attempts: []Attempt{attempt(1, "probe", d.Code, 0, 80*time.Millisecond, "jump01")}, LogPath: "hosts/jump01/attempt-1.log"})
	// The Group Policy's deleted himds profile: "no such host" for the sign-in
	// endpoint and the identity's certificate gone (without the second line it is plain DNS).
	d = Classify(Evidence{ExitCode: 1, Stdout: "FATAL[0000] Failed to acquire authorization token device flow: Error occurred while sending request for Device Authorization Code: Post https://login.windows.net/t/oauth2/devicecode?api-version=1.0:  dial tcp lookup login.windows.net: no such host.\n",
		AgentLog: []string{`level=error msg="Failed to load the managed identity certificate" Error="open C:\\Windows\\ServiceProfiles\\himds\\AppData\\Local\\AzureConnectedMachineAgent\\Certs\\myCert.cer: The system cannot find the path specified."`}})
	add(HostResult{Name: "fs01", OS: "windows", Action: "connect", Outcome: OutcomeFailed, FinalCode: d.Code, Class: d.Class, Evidence: d.Evidence,
		Attempts: []Attempt{
			attempt(1, "connect", d.Code, 1, 12*time.Second, "fs01"),
			attempt(2, "disconnect", "AZCM0000", 0, 9*time.Second, "fs01"),
			attempt(3, "connect", d.Code, 1, 11*time.Second+600*time.Millisecond, "fs01"),
		}, LogPath: "hosts/fs01/attempt-3.log"})
	add(HostResult{Name: "odd|name_*1*", OS: "linux", Action: "connect", Outcome: OutcomeBlocked, FinalCode: "ARCF0005",
		Detail: "fleet.yaml:40:7: hosts[9].ssh.via: host odd|name_*1*: jump host <missing> not in inventory; fix: add it"})
	add(HostResult{Name: "tagged01", OS: "linux", Action: "connect", Outcome: OutcomeBlocked, FinalCode: "AZCM0013", Class: ClassInput,
		Detail: "fleet.yaml:22:9: azure.tags: value with spaces must be quoted"})
	add(HostResult{Name: "weird01", OS: "linux", Action: "connect", Outcome: OutcomeFailed, FinalCode: "EXIT-UNKNOWN", Class: ClassSupport,
		Evidence: []string{"stdout: =HYPERLINK(\"http://x\") ``` <b>&amp;</b> | pipe", "stderr: \x1b[31mred\x1b[0m"},
		Attempts: []Attempt{attempt(1, "connect", "EXIT-UNKNOWN", 7, 700*time.Millisecond, "weird01")}, LogPath: "hosts/weird01/attempt-1.log"})
	add(HostResult{Name: "late01", OS: "linux", Action: "connect", Outcome: OutcomeInterrupted})
	return r
}

func allOKReport() *Report {
	return &Report{FormatVersion: ReportFormatVersion, RunID: "r-ok", Action: "disconnect", Started: t0, Finished: t0.Add(8 * time.Second),
		Hosts: []HostResult{
			{Name: "a1", OS: "linux", Action: "disconnect", Outcome: OutcomeOK, FinalCode: "AZCM0000"},
			{Name: "a2", OS: "windows", Action: "disconnect", Outcome: OutcomeUnchanged},
		}}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "report", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./results -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./results -update to accept):\n--- got\n%s", path, got)
	}
}

func TestRenderGolden(t *testing.T) {
	reports := map[string]*Report{"fleet": fixtureReport(), "all-ok": allOKReport()}
	for rname, r := range reports {
		for _, format := range ReportFormats {
			for _, lang := range Languages {
				var b bytes.Buffer
				if err := RenderReport(&b, r, format, lang, false); err != nil {
					t.Fatalf("%s %s %s: %v", rname, format, lang, err)
				}
				checkGolden(t, fmt.Sprintf("%s.%s.%s", rname, format, lang), b.Bytes())
			}
		}
	}
	var b bytes.Buffer
	if err := RenderReport(&b, fixtureReport(), "table", "en", true); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "fleet.table-color.en", b.Bytes())
}

func TestRenderContent(t *testing.T) {
	r := fixtureReport()
	render := func(format, lang string, color bool) string {
		var b bytes.Buffer
		if err := RenderReport(&b, r, format, lang, color); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	table := render("table", "en", false)
	if strings.Contains(table, "\x1b") {
		t.Error("table without colour contains escape codes")
	}
	if !strings.Contains(render("table", "en", true), "\x1b[31m") {
		t.Error("table with colour has no colour")
	}
	// Largest group first, at most 10 names, then "and N more".
	i44, i41 := strings.Index(table, "AZCM0044"), strings.Index(table, "AZCM0041")
	if i44 < 0 || i41 < 0 || i44 > i41 {
		t.Errorf("groups not largest first")
	}
	if !strings.Contains(strings.Join(strings.Fields(table), " "), "AZCM0044 Resource name already in use (12 hosts: web03, web04, web05, web06, web07, web08, web09, web10, web11, web12 and 2 more)") {
		t.Errorf("group line wrong:\n%s", table)
	}
	// Hosts that needed nothing are counted, not listed.
	if strings.Contains(table, "app01") || !strings.Contains(table, "13 ok, 2 unchanged") {
		t.Errorf("ok hosts listed or not counted:\n%s", table)
	}
	if !strings.Contains(render("markdown", "sv", false), "Orsak") {
		t.Error("Swedish markdown has no Swedish headings")
	}
	// Machine formats parse.
	var js map[string]any
	if err := json.Unmarshal([]byte(render("json", "en", false)), &js); err != nil {
		t.Fatalf("json: %v", err)
	}
	if js["format_version"] != float64(ReportFormatVersion) {
		t.Errorf("format_version %v", js["format_version"])
	}
	var ju junitSuites
	if err := xml.Unmarshal([]byte(render("junit", "en", false)), &ju); err != nil {
		t.Fatalf("junit: %v", err)
	}
	if ju.Tests != len(r.Hosts) || len(ju.Suites[0].Cases) != len(r.Hosts) {
		t.Errorf("junit: %d tests, %d cases, want %d", ju.Tests, len(ju.Suites[0].Cases), len(r.Hosts))
	}
	failures := 0
	for _, c := range ju.Suites[0].Cases {
		if c.Failure != nil {
			failures++
			if c.Name == "web03" && (!strings.Contains(c.Failure.Body, "Cause:") || !strings.Contains(c.Failure.Body, "Fix:") || c.Failure.Type != "AZCM0044") {
				t.Errorf("junit failure lacks code, cause or fix: %+v", c.Failure)
			}
		}
	}
	if failures != ju.Failures || failures != 19 { // 17 failed + 2 blocked
		t.Errorf("junit failures %d (attr %d), want 19", failures, ju.Failures)
	}
	recs, err := csv.NewReader(strings.NewReader(render("csv", "sv", false))).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	if len(recs) != len(r.Hosts)+1 {
		t.Errorf("csv: %d records, want %d", len(recs), len(r.Hosts)+1)
	}
	for _, rec := range recs {
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("csv cell would run as a formula: %q", cell)
			}
		}
	}
}

func TestRenderErrors(t *testing.T) {
	var b bytes.Buffer
	if err := RenderReport(&b, fixtureReport(), "yaml", "en", false); err == nil || !strings.Contains(err.Error(), "table, markdown, json, junit, csv") {
		t.Errorf("unknown format: %v", err)
	}
	if err := RenderReport(&b, fixtureReport(), "json", "de", false); err == nil {
		t.Error("unknown language accepted")
	}
	if err := RenderReport(&b, nil, "json", "en", false); err == nil {
		t.Error("nil report accepted")
	}
	empty := &Report{RunID: "e", Action: "connect"}
	for _, f := range ReportFormats {
		if err := RenderReport(&b, empty, f, "en", false); err != nil {
			t.Errorf("empty report, %s: %v", f, err)
		}
	}
}

func TestSentinelNeverInReport(t *testing.T) {
	r := fixtureReport()
	r.Hosts = append(r.Hosts, HostResult{Name: "leaky", Outcome: OutcomeFailed, Detail: "token " + sentinel, Evidence: []string{"x " + sentinel}})
	r.MaskSecrets([]string{sentinel})
	dir := t.TempDir()
	if err := WriteReports(dir, r); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{ReportJSONFile, ReportMarkdownFile} {
		data, _ := os.ReadFile(filepath.Join(dir, f))
		if bytes.Contains(data, []byte(sentinel)) || bytes.Contains(data, []byte("S3cret.Value")) {
			t.Errorf("%s contains the secret", f)
		}
	}
	for _, format := range ReportFormats {
		for _, lang := range Languages {
			var b bytes.Buffer
			if err := RenderReport(&b, r, format, lang, true); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), sentinel) || strings.Contains(b.String(), "S3cret.Value") {
				t.Errorf("%s/%s contains the secret", format, lang)
			}
		}
	}
}

func TestWriteReadReport(t *testing.T) {
	dir := t.TempDir()
	r := fixtureReport()
	if err := WriteReports(dir, r); err != nil {
		t.Fatal(err)
	}
	got, err := ReadReport(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(r)
		t.Errorf("round trip differs:\n%s\n%s", a, b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("run dir holds %d files, want report.json and report.md (no temp files left)", len(entries))
	}
}

func TestReadReportErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadReport(filepath.Join(dir, "nope")); err == nil || !strings.Contains(err.Error(), "no such run directory") {
		t.Errorf("missing dir: %v", err)
	}
	if _, err := ReadReport(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "report.json")) {
		t.Errorf("missing report: %v", err)
	}
	tests := []struct{ name, data, want string }{
		{"syntax", "{\n  \"format_version\": 1,\n  \"hosts\": [}\n", "report.json:3:13"},
		{"type", "{\"format_version\": \"one\"}", "report.json:1:"},
		{"no version", "{\"hosts\": []}", "not an arcfleet report"},
		{"newer", "{\"format_version\": 99}", "newer than this arcfleet"},
	}
	for _, tt := range tests {
		if err := os.WriteFile(filepath.Join(dir, "report.json"), []byte(tt.data), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadReport(dir)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want it to mention %q", tt.name, err, tt.want)
		}
	}
}

func bigReport(n int) *Report {
	r := &Report{FormatVersion: ReportFormatVersion, RunID: "bench", Action: "connect", Started: t0, Finished: t0.Add(time.Hour)}
	codes := []string{"AZCM0044", "AZCM0041", "TRANSPORT-UNREACHABLE", "AZCM0064", "MSG-GPO-PROFILE-DELETED"}
	for i := range n {
		h := HostResult{Name: fmt.Sprintf("host%05d", i), OS: "linux", Action: "connect", Outcome: OutcomeOK, FinalCode: "AZCM0000",
			Attempts: []Attempt{{N: 1, Step: "connect", Code: "AZCM0000", Duration: 40 * time.Second}}, LogPath: fmt.Sprintf("hosts/host%05d/attempt-1.log", i)}
		if i%3 == 0 {
			c := codes[i%len(codes)]
			h.Outcome, h.FinalCode, h.Class = OutcomeFailed, c, ClassOf(c)
			h.Attempts = append(h.Attempts, Attempt{N: 2, Step: "connect", Code: c, Duration: 3 * time.Second})
			h.Evidence = []string{"stdout: INFO Connecting machine to Azure...", "stdout: " + c + ": Something Failed", "log: time=\"2024\" level=fatal msg=\"x\""}
		}
		r.Hosts = append(r.Hosts, h)
	}
	return r
}

func TestRenderLinear(t *testing.T) {
	// Allocations grow linearly with the number of hosts (a deterministic proxy that
	// shared CI load cannot flake); the wall-clock bound only catches a runaway.
	// BenchmarkRenderReport10k has the timing figure.
	small, large := bigReport(1000), bigReport(10000)
	for _, f := range ReportFormats {
		allocs := func(r *Report) float64 {
			return testing.AllocsPerRun(1, func() {
				if err := RenderReport(io.Discard, r, f, "en", false); err != nil {
					t.Fatal(err)
				}
			})
		}
		start := time.Now()
		a1, a10 := allocs(small), allocs(large)
		if a10 > 13*a1 {
			t.Errorf("%s: %.0f allocations for 10,000 hosts, %.0f for 1,000: not linear", f, a10, a1)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("%s: %v to render 11,000 hosts", f, d)
		}
	}
}

func BenchmarkRenderReport10k(b *testing.B) {
	r := bigReport(10000)
	for _, f := range ReportFormats {
		b.Run(f, func(b *testing.B) {
			for b.Loop() {
				var w bytes.Buffer
				if err := RenderReport(&w, r, f, "en", false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Hosts are grouped by the cause the report can name: a catalogued code groups
// all its hosts under the catalog's wording; without one, only hosts with the
// same detail share a group, so no host's cause is shown as another's.
func TestGroupsKeepCausesApart(t *testing.T) {
	r := &Report{FormatVersion: ReportFormatVersion, Action: "connect", Hosts: []HostResult{
		{Name: "d1", Outcome: OutcomeBlocked, FinalCode: "ARCF-DRIFT", Detail: "drift: sub-9"},
		{Name: "d2", Outcome: OutcomeBlocked, FinalCode: "ARCF-DRIFT", Detail: "drift: sub-8"},
		{Name: "e1", Outcome: OutcomeBlocked, FinalCode: "ARCF-EXPIRED", Detail: "status Expired"},
		{Name: "b1", Outcome: OutcomeNotStarted, FinalCode: "ARCF-BREAKER-OPEN", Detail: "circuit breaker open"},
		{Name: "c1", Outcome: OutcomeNotStarted, FinalCode: "ARCF-CANARY-FAILED", Detail: "canary failed"},
		{Name: "x1", Outcome: OutcomeNotStarted, Detail: "cause one"},
		{Name: "x2", Outcome: OutcomeNotStarted, Detail: "cause two"},
		{Name: "x3", Outcome: OutcomeNotStarted, Detail: "cause one"},
		{Name: "u1", Outcome: OutcomeFailed, FinalCode: "ZZZ-NEWER", Detail: "from a newer arcfleet"},
		{Name: "u2", Outcome: OutcomeFailed, FinalCode: "ZZZ-NEWER", Detail: "something else"},
	}}
	v := newView(r, "en")
	got := map[string]string{} // hosts -> code|cause
	for _, g := range v.groups {
		got[strings.Join(g.Hosts, ",")] = g.Code + "|" + g.Cause
	}
	drift, _ := Lookup("ARCF-DRIFT")
	_, driftCause, _ := drift.Text("en")
	want := map[string]string{
		"d1,d2": "ARCF-DRIFT|" + driftCause,
		"x1,x3": "|cause one",
		"x2":    "|cause two",
		"u1":    "ZZZ-NEWER|from a newer arcfleet",
		"u2":    "ZZZ-NEWER|something else",
	}
	for hosts, w := range want {
		if got[hosts] != w {
			t.Errorf("group %s: %q, want %q (all: %q)", hosts, got[hosts], w, got)
		}
	}
	for _, h := range []string{"e1", "b1", "c1"} {
		if g, ok := got[h]; !ok || strings.HasPrefix(g, "|") {
			t.Errorf("%s: group %q, want its own coded group", h, g)
		}
	}
	if len(v.groups) != 8 {
		t.Errorf("%d groups, want 8: %q", len(v.groups), got)
	}
}

func TestExitCode(t *testing.T) {
	ok := HostResult{Outcome: OutcomeOK}
	same := HostResult{Outcome: OutcomeUnchanged}
	bad := HostResult{Outcome: OutcomeFailed}
	tests := []struct {
		r    *Report
		want int
	}{
		{&Report{Hosts: []HostResult{ok, same}}, 0},
		{&Report{}, 0},
		{&Report{Hosts: []HostResult{ok, bad}}, 3},
		{&Report{Hosts: []HostResult{ok, {Outcome: OutcomeNotStarted}}}, 3},
		{&Report{Hosts: []HostResult{ok, {Outcome: OutcomeBlocked}}}, 3},
		{&Report{Hosts: []HostResult{bad}, BreakerOpen: []string{"sp"}}, 4},
		{&Report{Hosts: []HostResult{bad}, BreakerOpen: []string{"sp"}, Interrupted: true}, 130},
		{nil, 3},
	}
	for i, tc := range tests {
		if got := tc.r.ExitCode(); got != tc.want {
			t.Errorf("%d: ExitCode = %d, want %d", i, got, tc.want)
		}
	}
}
