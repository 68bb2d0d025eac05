package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/results"
)

// TestApplyMixedFleetE2E: `arcfleet apply -i INV --action connect` on 10 Linux
// (sshd) and 3 Windows (WinRM/HTTPS) hosts with scripted agent outcomes.
func TestApplyMixedFleetE2E(t *testing.T) {
	t.Parallel()
	f := startFleet(t, "ap", 10, 3)
	f.writeScenario("slow: 20ms", map[string]string{
		"ap-06": "connect: {code: AZCM0026, fail_first: 1}", // transient once, then ok
		"ap-07": "service_down: true",                       // AZCM0064: restart the service, retry
		"ap-08": "connect: {code: AZCM0013}",                // invalid tags: not retried
		"ap-09": connectedAt(e2eRG),                         // already at the target
		"ap-10": "succeed_after_disconnect: true",           // AZCM0081 (GPO): disconnect, connect
		"ap-w2": "connect: {code: AZCM0026}",                // transient every time: attempt cap
		"ap-w3": connectedAt("rg-other"),                    // drift: connected elsewhere
	})
	inv := f.writeInventory(invOpts{})
	runDir := filepath.Join(f.Dir, "run1")

	// Not a terminal and no --yes: refused, and no host is touched.
	r := f.run("apply", "-i", inv, "--action", "connect", "--run-dir", runDir).expect(t, exitInvalid)
	if !strings.Contains(r.stderr, "--yes") {
		t.Errorf("refusal does not say to pass --yes:\n%s", r)
	}
	if recs := f.record(); len(recs) != 0 {
		t.Fatalf("apply without --yes touched hosts: %d simulator records, first %+v", len(recs), recs[0])
	}
	if _, err := os.Stat(runDir); !os.IsNotExist(err) {
		t.Errorf("apply without --yes created the run directory (%v)", err)
	}

	r = f.run("apply", "-i", inv, "--action", "connect", "--yes", "--concurrency", "4", "--timeout", "20s", "--run-dir", runDir).expect(t, exitHostsFailed)

	type want struct {
		outcome  results.Outcome
		code     string
		connects int // connect attempts in the report
	}
	wants := map[string]want{
		"ap-06": {results.OutcomeOK, "AZCM0000", 2},
		"ap-07": {results.OutcomeOK, "AZCM0000", 2},
		"ap-08": {results.OutcomeFailed, "AZCM0013", 1},
		"ap-09": {results.OutcomeUnchanged, "", 0},
		"ap-10": {results.OutcomeOK, "AZCM0000", 2},
		"ap-w2": {results.OutcomeFailed, "AZCM0026", 3},
		"ap-w3": {results.OutcomeBlocked, "ARCF-DRIFT", 0},
	}
	for _, n := range []string{"ap-01", "ap-02", "ap-03", "ap-04", "ap-05", "ap-w1"} {
		wants[n] = want{results.OutcomeOK, "AZCM0000", 1}
	}
	rep := readReport(t, runDir)
	if len(rep.Hosts) != len(f.Hosts) {
		t.Fatalf("report has %d hosts, the fleet %d", len(rep.Hosts), len(f.Hosts))
	}
	if rep.Interrupted || len(rep.BreakerOpen) > 0 {
		t.Errorf("report: interrupted %v, breaker %v", rep.Interrupted, rep.BreakerOpen)
	}
	for _, h := range rep.Hosts {
		w, ok := wants[h.Name]
		if !ok {
			t.Errorf("unexpected host %s in the report", h.Name)
			continue
		}
		if h.Outcome != w.outcome || h.FinalCode != w.code || countSteps(h, "connect") != w.connects {
			t.Errorf("%s: %s %q after %d connects (%s); want %s %q after %d", h.Name, h.Outcome, h.FinalCode, countSteps(h, "connect"), h.Detail, w.outcome, w.code, w.connects)
		}
		// Every attempt's log is in the run directory.
		for _, a := range h.Attempts {
			if a.LogPath == "" {
				t.Errorf("%s: attempt %d (%s) without a log", h.Name, a.N, a.Step)
				continue
			}
			if _, err := os.Stat(filepath.Join(runDir, a.LogPath)); err != nil {
				t.Errorf("%s: %v", h.Name, err)
			}
			if ok, _ := filepath.Match(fmt.Sprintf("hosts/%s/attempt-%d-*.log", h.Name, a.N), a.LogPath); !ok {
				t.Errorf("%s: log path %q is not hosts/%s/attempt-%d-STEP.log", h.Name, a.LogPath, h.Name, a.N)
			}
		}
	}
	if n := countSteps(hostResult(t, rep, "ap-07"), "restart-agent-service"); n != 1 {
		t.Errorf("ap-07: restart-agent-service ran %d times, want 1", n)
	}
	if d := hostResult(t, rep, "ap-w3").Detail; !strings.Contains(d, "rg-other") || !strings.Contains(d, e2eRG) {
		t.Errorf("ap-w3: drift detail lacks both targets: %q", d)
	}
	// The attempt log holds the agent's evidence.
	for _, a := range hostResult(t, rep, "ap-08").Attempts {
		if a.Step != "connect" {
			continue
		}
		log08, err := os.ReadFile(filepath.Join(runDir, a.LogPath))
		if err != nil || !strings.Contains(string(log08), "AZCM0013") {
			t.Errorf("ap-08 %s lacks the agent's AZCM0013 (%v):\n%s", a.LogPath, err, log08)
		}
	}
	if md, err := os.ReadFile(filepath.Join(runDir, results.ReportMarkdownFile)); err != nil || !strings.Contains(string(md), "ap-08") {
		t.Errorf("report.md missing or without the failed host (%v)", err)
	}

	// The journal: one done record per host, with the report's outcome.
	done := map[string]string{}
	for _, rec := range readJournal(t, runDir) {
		if rec.Event == "done" {
			if _, dup := done[rec.Host]; dup {
				t.Errorf("journal: %s done twice", rec.Host)
			}
			done[rec.Host] = rec.Outcome
		}
	}
	for _, h := range rep.Hosts {
		if done[h.Name] != string(h.Outcome) {
			t.Errorf("journal: %s done %q, report %q", h.Name, done[h.Name], h.Outcome)
		}
	}

	// The simulator agrees: who was connected, how often.
	conn := successfulConnects(f.record())
	for _, n := range f.Names() {
		want := 0
		if wants[n].outcome == results.OutcomeOK {
			want = 1
		}
		if conn[n] != want {
			t.Errorf("%s: %d successful connects on the host, want %d", n, conn[n], want)
		}
	}

	// stderr is not a terminal: one line per host event, no progress bar.
	if strings.ContainsAny(r.stderr, "\r\x1b") {
		t.Errorf("stderr has terminal control characters:\n%q", r.stderr)
	}
	for _, h := range rep.Hosts {
		doneRe := regexp.MustCompile(`(?m)^\S+ done +` + regexp.QuoteMeta(h.Name) + ` .*outcome=(\S+)`)
		m := doneRe.FindAllStringSubmatch(r.stderr, -1)
		if len(m) != 1 || m[0][1] != string(h.Outcome) {
			t.Errorf("%s: done lines on stderr %q, want one with outcome=%s", h.Name, m, h.Outcome)
		}
		if starts := regexp.MustCompile(`(?m)^\S+ start +`+regexp.QuoteMeta(h.Name)+`$`).FindAllString(r.stderr, -1); len(starts) != 1 {
			t.Errorf("%s: %d start lines on stderr, want 1", h.Name, len(starts))
		}
	}
	if !regexp.MustCompile(`(?m)^\S+ retry +ap-06 .*code=AZCM0026 .*retry_in=`).MatchString(r.stderr) {
		t.Errorf("no retry line for ap-06 on stderr:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, "ap-08") {
		t.Errorf("stdout lacks the report:\n%s", r.stdout)
	}
	f.assertNoSecrets()
}

// TestPlanThenApplyE2E: a saved plan is applied exactly, and refused (exit 2,
// saying why, touching nothing) when the inventory changed, when it is too old,
// and when a probed host's agent state changed behind arcfleet's back.
func TestPlanThenApplyE2E(t *testing.T) {
	t.Parallel()
	f := startFleet(t, "pl", 4, 1)
	f.writeScenario("slow: 20ms", nil)
	inv := f.writeInventory(invOpts{})
	plan := func(name string, extra ...string) string {
		p := filepath.Join(f.Dir, name)
		f.run(append([]string{"plan", "-i", inv, "--action", "connect", "-o", p}, extra...)...).expect(t, exitOK)
		return p
	}
	subset := plan("subset.json", "--limit", "pl-1,pl-2,pl-w1")
	changed := plan("before-change.json")
	old := plan("old.json")

	// The fresh plan runs exactly its hosts.
	run1 := filepath.Join(f.Dir, "run-subset")
	f.run("apply", subset, "--yes", "--run-dir", run1).expect(t, exitOK)
	var got []string
	for _, h := range readReport(t, run1).Hosts {
		got = append(got, h.Name+"="+string(h.Outcome))
	}
	if strings.Join(got, " ") != "pl-1=ok pl-2=ok pl-w1=ok" {
		t.Errorf("subset plan applied to %v", got)
	}
	acted := actionHosts(f.record())
	if len(acted) != 3 || !acted["pl-1"] || !acted["pl-2"] || !acted["pl-w1"] {
		t.Errorf("agent actions ran on %v, want exactly pl-1, pl-2, pl-w1", acted)
	}
	nrec := len(f.record())

	// Too old.
	r := f.run("apply", old, "--yes", "--max-plan-age", "1ns", "--run-dir", filepath.Join(f.Dir, "run-old")).expect(t, exitInvalid)
	if !strings.Contains(r.stderr, "stale") || !strings.Contains(r.stderr, "more than the 1ns allowed") {
		t.Errorf("old plan refused without saying why:\n%s", r)
	}

	// The inventory changed (a tag) since the plan was made.
	inv = f.writeInventory(invOpts{tags: map[string]string{"pl-4": "Role: web"}})
	r = f.run("apply", changed, "--yes", "--run-dir", filepath.Join(f.Dir, "run-changed")).expect(t, exitInvalid)
	if !strings.Contains(r.stderr, "inventory "+inv+" changed since the plan was made") {
		t.Errorf("changed inventory: refusal does not say why:\n%s", r)
	}
	if n := len(f.record()); n != nrec {
		t.Errorf("refused plans touched hosts: %d new simulator records", n-nrec)
	}
	for _, d := range []string{"run-old", "run-changed"} {
		if _, err := os.Stat(filepath.Join(f.Dir, d, "journal.jsonl")); !os.IsNotExist(err) {
			t.Errorf("a refused plan started run %s (%v)", d, err)
		}
	}

	// A probed plan whose fleet did not change is applied.
	probed := plan("probed-ok.json", "--probe", "--limit", "pl-3")
	f.run("apply", probed, "--yes", "--run-dir", filepath.Join(f.Dir, "run-probed")).expect(t, exitOK)
	if s := f.state("pl-3"); s.Status != "Connected" {
		t.Errorf("pl-3 after the probed plan: %+v", s)
	}

	// A probed plan, then pl-1 is disconnected behind arcfleet's back: stale.
	stale := plan("probed-stale.json", "--probe", "--limit", "pl-1,pl-4")
	f.simDirect("pl-1", "disconnect", "--force-local-only")
	nrec = len(f.record())
	r = f.run("apply", stale, "--yes", "--run-dir", filepath.Join(f.Dir, "run-stale")).expect(t, exitInvalid)
	if !regexp.MustCompile(`stale: .*host pl-1: agent status was "Connected", now "Disconnected"`).MatchString(r.stderr) || strings.Contains(r.stderr, "host pl-4:") {
		t.Errorf("stale probed plan: refusal does not name pl-1 (only):\n%s", r)
	}
	for _, rec := range f.record()[nrec:] {
		if rec.Cmd != "show" && rec.Cmd != "version" {
			t.Errorf("refused plan ran %q on %s", rec.Cmd, rec.Host)
		}
	}
	if s := f.state("pl-4"); s.Status == "Connected" {
		t.Error("pl-4 was connected by a refused plan")
	}
	f.assertNoSecrets()
}

// TestReconnectGPOBrokenE2E: the re-registration job over hosts whose identity a
// Group Policy incident broke ends with every host connected, exit 0.
func TestReconnectGPOBrokenE2E(t *testing.T) {
	t.Parallel()
	f := startFleet(t, "gp", 4, 1)
	broken := "gpo_broken_identity: true, " + connectedAt(e2eRG)
	f.writeScenario("slow: 20ms", map[string]string{
		"gp-1":  broken,
		"gp-2":  broken,
		"gp-3":  "succeed_after_disconnect: true", // not connected; connect fails AZCM0081 until a disconnect
		"gp-4":  connectedAt(e2eRG),               // healthy: disconnect, connect
		"gp-w1": broken,
	})
	inv := f.writeInventory(invOpts{})
	runDir := filepath.Join(f.Dir, "run")
	start := time.Now()
	r := f.run("apply", "-i", inv, "--action", "reconnect", "--yes", "--run-dir", runDir)
	if r.code != exitOK {
		t.Fatalf("want exit 0\n%s", r)
	}
	rep := readReport(t, runDir)
	for _, h := range rep.Hosts {
		if h.Outcome != results.OutcomeOK {
			t.Errorf("%s: %s %s (%s)", h.Name, h.Outcome, h.FinalCode, h.Detail)
		}
		if s := f.state(h.Name); s.Status != "Connected" || s.ResourceGroup != e2eRG {
			t.Errorf("%s: agent state %+v", h.Name, s)
		}
		local := countSteps(h, "disconnect-local")
		switch h.Name {
		case "gp-1", "gp-2", "gp-w1": // the SP's disconnect deletes the resource (the broken identity does not matter), connect
			if local != 0 || countSteps(h, "disconnect") != 1 || countSteps(h, "connect") != 1 {
				t.Errorf("%s: attempts %+v", h.Name, h.Attempts)
			}
		case "gp-4":
			if local != 0 || countSteps(h, "disconnect") != 1 || countSteps(h, "connect") != 1 {
				t.Errorf("%s: attempts %+v", h.Name, h.Attempts)
			}
		}
	}
	t.Logf("reconnect of %d hosts: %s", len(rep.Hosts), time.Since(start).Round(time.Millisecond))
	f.assertNoSecrets()
}

// TestSentinelScanCanFail: the secret checks used by every e2e test find a
// planted sentinel in a file and on a command line (else they prove nothing).
func TestSentinelScanCanFail(t *testing.T) {
	// Not parallel: the planted command line must be gone before the parallel
	// e2e tests resume, or their /proc scans would find it.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "clean"), []byte("nothing here"), 0o600); err != nil {
		t.Fatal(err)
	}
	if hits := filesWithSentinel(dir); len(hits) != 0 {
		t.Fatalf("false positive: %v", hits)
	}
	leak := filepath.Join(dir, "sub", "leak.log")
	if err := os.MkdirAll(filepath.Dir(leak), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(leak, []byte("x "+e2eWinRMPasswd+" y"), 0o600); err != nil {
		t.Fatal(err)
	}
	if hits := filesWithSentinel(dir); len(hits) != 1 || hits[0] != leak {
		t.Errorf("planted file not found: %v", hits)
	}
	cmd := exec.Command("/bin/sh", "-c", "sleep 5", e2eSPSecret)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if hits := cmdlineLeaks(); len(hits) == 0 || !strings.Contains(strings.Join(hits, " "), "pid ") {
		t.Errorf("planted command line not found: %v", hits)
	}
}

// TestIsTerminalDevNull: /dev/null is a character device but not a terminal;
// cron's `arcfleet apply </dev/null` must be told to pass --yes, not prompted.
func TestIsTerminalDevNull(t *testing.T) {
	fh, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if isTerminal(fh) {
		t.Error("/dev/null taken for a terminal")
	}
}
