package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/results"
)

// TestKillResumeE2E: arcfleet is killed with SIGKILL while two hosts are in a
// slow connect; `arcfleet resume RUN_DIR --yes` finishes the run. Every host
// ends connected exactly once (report, simulator record and agent state), and
// no host that finished before the kill is contacted again.
func TestKillResumeE2E(t *testing.T) {
	t.Parallel()
	f := startFleet(t, "kr", 6, 1)
	f.writeScenario("slow: 20ms", map[string]string{
		"kr-3": "connect: {slow: 3s}",
		"kr-4": "connect: {slow: 3s}",
	})
	inv := f.writeInventory(invOpts{})
	runDir := filepath.Join(f.Dir, "run")
	p := f.start("apply", "-i", inv, "--action", "connect", "--yes", "--concurrency", "2", "--timeout", "20s", "--run-dir", runDir)
	waitFor(t, 20*time.Second, "kr-3 and kr-4 in their slow connect", func() bool {
		return f.agentStarted("connect", "kr-3", "kr-4")
	})
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if r := p.wait(10 * time.Second); r.code != 128+int(syscall.SIGKILL) {
		t.Fatalf("arcfleet was not killed by SIGKILL\n%s", r)
	}
	before := doneHosts(readJournal(t, runDir))
	if before["kr-1"] != 1 || before["kr-2"] != 1 || before["kr-3"] != 0 || before["kr-4"] != 0 {
		t.Fatalf("hosts done at the kill: %v; want kr-1 and kr-2, not kr-3 or kr-4", before)
	}
	if _, err := os.Stat(filepath.Join(runDir, results.ReportJSONFile)); !os.IsNotExist(err) {
		t.Errorf("a report after SIGKILL? (%v)", err)
	}

	r := f.run("resume", runDir, "--yes", "--timeout", "20s")
	if r.code != exitOK {
		t.Fatalf("resume: want exit 0\n%s", r)
	}
	rep := readReport(t, runDir)
	for _, n := range []string{"kr-3", "kr-4"} {
		t.Logf("%s after resume: %+v", n, hostResult(t, rep, n).Attempts)
	}
	if len(rep.Hosts) != len(f.Hosts) || rep.Interrupted {
		t.Fatalf("report after resume: %d hosts, interrupted %v", len(rep.Hosts), rep.Interrupted)
	}
	for _, h := range rep.Hosts {
		if h.Outcome != results.OutcomeOK {
			t.Errorf("%s: %s %s (%s)", h.Name, h.Outcome, h.FinalCode, h.Detail)
		}
	}
	// Each host finished exactly once in the journal.
	for _, n := range f.Names() {
		if d := doneHosts(readJournal(t, runDir))[n]; d != 1 {
			t.Errorf("%s: %d done records in the journal, want 1", n, d)
		}
	}
	recs := f.record()
	conn := successfulConnects(recs)
	for _, n := range f.Names() {
		if conn[n] != 1 {
			t.Errorf("%s: %d successful connects, want exactly 1", n, conn[n])
		}
		if s := f.state(n); s.Status != "Connected" || s.SuccessfulConnects != 1 {
			t.Errorf("%s: agent state %+v, want Connected once", n, s)
		}
	}
	// Hosts finished before the kill were not contacted again.
	for _, rec := range recs {
		if before[rec.Host] > 0 && rec.T.After(killed) {
			t.Errorf("%s finished before the kill but ran %q %s at %s, after it", rec.Host, rec.Cmd, rec.Event, rec.T.Format(time.RFC3339Nano))
		}
	}
	f.assertNoSecrets()
}

// TestInterruptResumeE2E: SIGINT while two hosts (one Linux, one Windows) hang
// in connect: exit 130, a partial report with the in-flight hosts interrupted
// and the rest not started, no agent process left on any host; resume then
// connects every host exactly once.
func TestInterruptResumeE2E(t *testing.T) {
	t.Parallel()
	f := startFleet(t, "si", 4, 1)
	hang := "connect: {attempts: {1: {hang: true}}}"
	f.writeScenario("slow: 20ms", map[string]string{"si-2": hang, "si-w1": hang})
	// si-w1 second in the file: with concurrency 2, si-2 and si-w1 hang together
	// and si-3, si-4 wait for a slot.
	var order []*e2eHost
	for _, n := range []string{"si-1", "si-w1", "si-2", "si-3", "si-4"} {
		order = append(order, f.Host(n))
	}
	f.Hosts = order
	inv := f.writeInventory(invOpts{})
	runDir := filepath.Join(f.Dir, "run")
	p := f.start("apply", "-i", inv, "--action", "connect", "--yes", "--concurrency", "2", "--timeout", "20s", "--run-dir", runDir)
	waitFor(t, 20*time.Second, "si-2 and si-w1 hanging in connect", func() bool {
		return f.agentStarted("connect", "si-2", "si-w1")
	})
	time.Sleep(200 * time.Millisecond) // let the hung agents settle into their wait
	// The check below must see hung agents when they exist, else it proves nothing.
	if hung := f.simProcesses(); len(hung) < 2 {
		t.Fatalf("simProcesses sees %d hung agents before the interruption, want 2 (si-2, si-w1): %v", len(hung), hung)
	}
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	r := p.wait(15 * time.Second)
	if r.code != exitInterrupted {
		t.Fatalf("want exit 130 after SIGINT\n%s", r)
	}
	if !strings.Contains(r.stderr, "interrupted") {
		t.Errorf("stderr does not say the run was interrupted:\n%s", r.stderr)
	}
	rep := readReport(t, runDir)
	if !rep.Interrupted {
		t.Error("partial report not marked interrupted")
	}
	want := map[string]results.Outcome{
		"si-1": results.OutcomeOK, "si-w1": results.OutcomeInterrupted, "si-2": results.OutcomeInterrupted,
		"si-3": results.OutcomeNotStarted, "si-4": results.OutcomeNotStarted,
	}
	for _, h := range rep.Hosts {
		if h.Outcome != want[h.Name] {
			t.Errorf("%s: %s (%s), want %s", h.Name, h.Outcome, h.Detail, want[h.Name])
		}
	}
	// Nothing of the agent is left running on any host.
	var left []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		if left = f.simProcesses(); len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(left) > 0 {
		t.Errorf("agent processes left on the hosts 5s after the interruption:\n%s", strings.Join(left, "\n"))
	}

	r = f.run("resume", runDir, "--yes", "--timeout", "20s")
	if r.code != exitOK {
		t.Fatalf("resume: want exit 0\n%s", r)
	}
	rep = readReport(t, runDir)
	if rep.Interrupted {
		t.Error("report after resume still interrupted")
	}
	conn := successfulConnects(f.record())
	for _, h := range rep.Hosts {
		if h.Outcome != results.OutcomeOK || conn[h.Name] != 1 {
			t.Errorf("%s after resume: %s %s (%s), %d successful connects; want ok, 1", h.Name, h.Outcome, h.FinalCode, h.Detail, conn[h.Name])
		}
	}
	f.assertNoSecrets()
}

// TestBreakerE2E: hosts of group lab use their own credential, whose secret the
// agents refuse (AZCM0041). After 3 such failures the breaker stops that
// credential: the other lab hosts are not started, hosts of the good credential
// all connect, and arcfleet exits 4.
func TestBreakerE2E(t *testing.T) {
	t.Parallel()
	f := startFleet(t, "br", 7, 2)
	f.writeScenario("slow: 20ms", nil)
	lab := map[string]bool{"br-2": true, "br-3": true, "br-5": true, "br-6": true, "br-w2": true}
	inv := f.writeInventory(invOpts{lab: lab})
	runDir := filepath.Join(f.Dir, "run")
	r := f.run("apply", "-i", inv, "--action", "connect", "--yes", "--concurrency", "1", "--run-dir", runDir)
	if r.code != exitBreaker {
		t.Fatalf("want exit 4\n%s", r)
	}
	rep := readReport(t, runDir)
	if len(rep.BreakerOpen) != 1 {
		t.Errorf("breaker open for %v, want the lab credential", rep.BreakerOpen)
	}
	failed, notStarted := 0, 0
	for _, h := range rep.Hosts {
		switch {
		case !lab[h.Name]:
			if h.Outcome != results.OutcomeOK {
				t.Errorf("%s (good credential): %s %s (%s)", h.Name, h.Outcome, h.FinalCode, h.Detail)
			}
		case h.Outcome == results.OutcomeFailed:
			failed++
			if h.FinalCode != "AZCM0041" || countSteps(h, "connect") != 1 {
				t.Errorf("%s: failed with %s after %d connects, want AZCM0041 after 1", h.Name, h.FinalCode, countSteps(h, "connect"))
			}
		case h.Outcome == results.OutcomeNotStarted:
			notStarted++
			if !strings.Contains(h.Detail, "sp-lab") {
				t.Errorf("%s: not started without naming the credential: %q", h.Name, h.Detail)
			}
		default:
			t.Errorf("%s (lab): %s %s", h.Name, h.Outcome, h.Detail)
		}
	}
	if failed != 3 || notStarted != 2 {
		t.Errorf("lab: %d failed, %d not started; want 3 and 2", failed, notStarted)
	}
	// Not started means not contacted.
	acted := actionHosts(f.record())
	for _, h := range rep.Hosts {
		if h.Outcome == results.OutcomeNotStarted && acted[h.Name] {
			t.Errorf("%s not started, yet its agent ran an action", h.Name)
		}
	}
	f.assertNoSecrets()
}

// TestSecondInterruptE2E: the first SIGINT starts an orderly stop; when it is
// slow (the host is frozen, so the remote kill is never confirmed), a second
// SIGINT exits at once with 130, and resume then finishes the run.
func TestSecondInterruptE2E(t *testing.T) {
	t.Parallel()
	f := startFleet(t, "s2", 2, 0)
	f.writeScenario("slow: 20ms", map[string]string{"s2-2": "connect: {attempts: {1: {hang: true}}}"})
	inv := f.writeInventory(invOpts{})
	runDir := filepath.Join(f.Dir, "run")
	p := f.start("apply", "-i", inv, "--action", "connect", "--yes", "--concurrency", "1", "--timeout", "20s", "--run-dir", runDir)
	waitFor(t, 20*time.Second, "s2-2 hanging in connect", func() bool { return f.agentStarted("connect", "s2-2") })
	frozen := f.ssh.Host("s2-2")
	frozen.Freeze()
	defer frozen.Thaw()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	select {
	case <-p.done:
		t.Fatalf("arcfleet ended before the second SIGINT although its host is frozen\n%s", p.result())
	default:
	}
	second := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	r := p.wait(10 * time.Second)
	if d := time.Since(second); r.code != exitInterrupted || d > time.Second || !strings.Contains(r.stderr, "exiting at once") {
		t.Fatalf("second SIGINT: exit %d after %v, want 130 at once\n%s", r.code, d, r)
	}
	frozen.Thaw()
	// The hung agent got SIGTERM while frozen: it ends now.
	waitFor(t, 5*time.Second, "the hung agent to end", func() bool { return len(f.simProcesses()) == 0 })

	r = f.run("resume", runDir, "--yes", "--timeout", "20s")
	if r.code != exitOK {
		t.Fatalf("resume: want exit 0\n%s", r)
	}
	conn := successfulConnects(f.record())
	for _, n := range f.Names() {
		if conn[n] != 1 {
			t.Errorf("%s: %d successful connects, want 1", n, conn[n])
		}
	}
	f.assertNoSecrets()
}
