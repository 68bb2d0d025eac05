package executor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
)

// One operation per host, and stop means stopped (issue 12), on real sshd
// hosts logging in as root, as a sudo user and as a plain user.

var stopLogins = []struct {
	name  string
	login sshtest.Login
}{
	{"root", sshtest.LoginRoot},
	{"sudo", sshtest.LoginSudo},
	{"plain", sshtest.LoginTest},
}

// assertHostClean checks that nothing of arcfleet is left on the host: no
// script or agent process, no arcfleet.* directory, the secret in no file
// under the host's directory (its TMPDIR, state and agent roots), and the lock free.
func assertHostClean(t *testing.T, h *sshtest.Host) {
	t.Helper()
	// Live processes only (a zombie has ended; ps shows its state Z).
	var procs []string
	if !eventually(3*time.Second, func() bool {
		procs = procs[:0]
		out, _ := exec.Command("ps", "-eo", "pid=,stat=,args=").Output()
		for _, l := range strings.Split(string(out), "\n") {
			f := strings.Fields(l)
			if len(f) > 2 && !strings.HasPrefix(f[1], "Z") && strings.Contains(l, h.AgentPath) {
				procs = append(procs, f[0]+" "+f[1]+" "+clip(strings.Join(f[2:], " "), 60))
			}
		}
		return len(procs) == 0
	}) {
		t.Errorf("%s: processes left: %q", h.Name, procs)
	}
	if dirs, _ := filepath.Glob(filepath.Join(h.TmpDir, "arcfleet.*")); len(dirs) > 0 {
		t.Errorf("%s: private directories left: %v", h.Name, dirs)
	}
	if err := filepath.Walk(h.Dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > 8<<20 {
			return nil
		}
		if b, rerr := os.ReadFile(path); rerr == nil && strings.Contains(string(b), execSentinel) {
			t.Errorf("%s: the secret is in %s", h.Name, path)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if err := exec.Command("flock", "-n", filepath.Join(h.Dir, "arcfleet-state", "lock"), "true").Run(); err != nil {
		t.Errorf("%s: the host lock is still held: %v", h.Name, err)
	}
}

// eventually retries cond for up to d (the host's processes end asynchronously
// after a stop is confirmed only to the extent the stop step can see them).
func eventually(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func countCmd(t *testing.T, f *sshtest.Fleet, host, cmd, event string) int {
	t.Helper()
	n := 0
	for _, r := range readRecord(t, f.RecordFile) {
		if r.Host == host && r.Cmd == cmd && r.Event == event {
			n++
		}
	}
	return n
}

// TestStopOnTimeout: the agent hangs in connect; each attempt's timeout stops
// it on the host, whatever the login, and the host is left clean.
func TestStopOnTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	for _, lg := range stopLogins {
		t.Run(lg.name, func(t *testing.T) {
			f, p := e2eFleetAs(t, 2, lg.login, "default:\n  connect: {hang: true}\n", agent.ActionConnect, nil)
			p.Retry = inventory.Retry{MaxAttempts: 2}
			x := e2eExecutor()
			x.Timeout = 3 * time.Second
			runDir := t.TempDir()
			start := time.Now()
			rep, err := x.Apply(context.Background(), p, runDir)
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			for _, hr := range rep.Hosts {
				if hr.Outcome != results.OutcomeFailed || hr.Leftover != "" {
					t.Errorf("%s: %s %s leftover %q: %s", hr.Name, hr.Outcome, hr.FinalCode, hr.Leftover, hr.Detail)
				}
				if !strings.Contains(hr.Detail+strings.Join(hr.Evidence, " "), "stopped on the host") {
					dumpLogs(t, runDir, hr.Name)
					t.Errorf("%s: the report does not say the attempt was stopped on the host: %s", hr.Name, hr.Detail)
				}
			}
			for _, h := range f.Hosts {
				if n := countCmd(t, f, h.Name, "connect", "start"); n != 2 {
					t.Errorf("%s: %d connects started, want 2 (one per attempt)", h.Name, n)
				}
				assertHostClean(t, h)
			}
			t.Logf("%s: 2 hosts x 2 attempts of 3s timed out and stopped in %s", lg.name, took.Round(time.Millisecond))
		})
	}
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func dumpLogs(t *testing.T, runDir, host string) {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(runDir, HostsDir, host, "*.log"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		t.Logf("%s:\n%s", l, b)
	}
}

// TestStopOnInterrupt: Ctrl+C (the run's context canceled) mid-connect stops
// the agent on every host and leaves them clean; the report says interrupted.
func TestStopOnInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	for _, lg := range stopLogins {
		t.Run(lg.name, func(t *testing.T) {
			f, p := e2eFleetAs(t, 3, lg.login, "default:\n  connect: {hang: true}\n", agent.ActionConnect, nil)
			x := e2eExecutor()
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				// Each host's one session (connect with its precondition) starts
				// the agent's connect: interrupt once all three run.
				eventually(20*time.Second, func() bool { return countAll(t, f, "connect", "start") == 3 })
				cancel()
			}()
			rep, err := x.Apply(ctx, p, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Interrupted {
				t.Error("report not marked interrupted")
			}
			for _, hr := range rep.Hosts {
				if hr.Outcome != results.OutcomeInterrupted || hr.Leftover != "" {
					t.Errorf("%s: %s %s leftover %q: %s", hr.Name, hr.Outcome, hr.FinalCode, hr.Leftover, hr.Detail)
				}
			}
			for _, h := range f.Hosts {
				assertHostClean(t, h)
			}
		})
	}
}

func countAll(t *testing.T, f *sshtest.Fleet, cmd, event string) int {
	n := 0
	for _, h := range f.Hosts {
		n += countCmd(t, f, h.Name, cmd, event)
	}
	return n
}

// TestOverlappingRuns: two runs with different run directories over the same
// hosts at once (a manual run during a scheduled one) start one agent
// operation per host at a time: each host is connected once, and the second
// run reports it unchanged. Two reconnect runs 1.5 s apart re-register each
// host once: the second sees that the first did it while it waited.
func TestOverlappingRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	for _, action := range []string{agent.ActionConnect, agent.ActionReconnect} {
		t.Run(action, func(t *testing.T) {
			scenario := "default:\n  connect: {slow: 2s}\n"
			if action == agent.ActionReconnect {
				scenario += fmt.Sprintf("  initial: {status: Connected, subscription_id: %s, resource_group: %s, location: westeurope, tenant_id: %s}\n", e2eSub, e2eRG, e2eTenant)
			}
			f, p := e2eFleetAs(t, 4, sshtest.LoginRoot, scenario, action, nil)
			var wg sync.WaitGroup
			reps := make([]*results.Report, 2)
			for k := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if k == 1 {
						time.Sleep(1500 * time.Millisecond)
					}
					rep, err := e2eExecutor().Apply(context.Background(), p, t.TempDir())
					if err != nil {
						t.Error(err)
					}
					reps[k] = rep
				}()
			}
			wg.Wait()
			for _, h := range f.Hosts {
				if n := countCmd(t, f, h.Name, "connect", "start"); n != 1 {
					t.Errorf("%s: %d connects, want 1", h.Name, n)
				}
				if action == agent.ActionReconnect {
					if n := countCmd(t, f, h.Name, "disconnect", "start"); n != 1 {
						t.Errorf("%s: %d disconnects, want 1", h.Name, n)
					}
				}
				assertNoOverlap(t, f, h.Name)
			}
			for k, rep := range reps {
				if rep == nil {
					continue
				}
				for _, hr := range rep.Hosts {
					if hr.Outcome != results.OutcomeOK && hr.Outcome != results.OutcomeUnchanged {
						t.Errorf("run %d: %s: %s %s: %s", k+1, hr.Name, hr.Outcome, hr.FinalCode, hr.Detail)
					}
				}
			}
		})
	}
}

// assertNoOverlap checks from the simulator's record that no two agent
// commands that change state ran at once on the host.
func assertNoOverlap(t *testing.T, f *sshtest.Fleet, host string) {
	t.Helper()
	open := 0
	for _, r := range readRecord(t, f.RecordFile) {
		if r.Host != host || (r.Cmd != "connect" && r.Cmd != "disconnect") {
			continue
		}
		switch r.Event {
		case "start":
			open++
			if open > 1 {
				t.Errorf("%s: two agent operations at once (%s started at %s)", host, r.Cmd, r.T.Format(time.RFC3339Nano))
			}
		case "end":
			open--
		}
	}
}

// TestLostConnectionMidConnect: the network cuts the session while connect
// runs. arcfleet does not start a second connect beside the first: it
// reconnects, waits while the first holds the host, probes, and reports what
// happened there (connected), with exactly one connect on the host.
func TestLostConnectionMidConnect(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	for _, lg := range stopLogins[:2] {
		t.Run(lg.name, func(t *testing.T) {
			f, p := e2eFleetAs(t, 1, lg.login, "default:\n  connect: {slow: 3s}\n", agent.ActionConnect, nil)
			h := f.Hosts[0]
			px, err := sshtest.NewProxy(h.HostPort())
			if err != nil {
				t.Fatal(err)
			}
			defer px.Close()
			hp := &p.Hosts[0].Host
			hp.Address, hp.Port = px.Addr()
			hp.SSH.HostKeyPolicy, hp.SSH.Fingerprint = "fingerprint", h.HostKeyFingerprint
			go func() {
				eventually(10*time.Second, func() bool { return countCmd(t, f, h.Name, "connect", "start") == 1 })
				time.Sleep(300 * time.Millisecond)
				px.Cut()
			}()
			runDir := t.TempDir()
			rep, err := e2eExecutor().Apply(context.Background(), p, runDir)
			if err != nil {
				t.Fatal(err)
			}
			hr := rep.Hosts[0]
			if hr.Outcome != results.OutcomeOK || !strings.Contains(hr.Detail, "connection was lost during connect") {
				dumpLogs(t, runDir, hr.Name)
				t.Errorf("%s %s: %s; want ok, saying the connection was lost during connect and how it ended", hr.Outcome, hr.FinalCode, hr.Detail)
			}
			// The report says it in Swedish too (results/msg.go).
			if hr.DetailMsg == nil || hr.DetailMsg.Text("en") != hr.Detail || !strings.Contains(hr.DetailMsg.Text("sv"), "anslutningen bröts under connect") {
				t.Errorf("detail %q: message %+v, want one that says it, in Swedish too", hr.Detail, hr.DetailMsg)
			}
			if n := countCmd(t, f, h.Name, "connect", "start"); n != 1 {
				t.Errorf("%d connects, want 1", n)
			}
			assertHostClean(t, h)
		})
	}
}

// TestSSHDKilledMidConnect: the host's sshd dies mid-connect (its sessions
// with it, the commands live on) and comes back a second later: one connect,
// reported ok. When it stays down, the report says the outcome is unknown,
// not that the address is wrong.
func TestSSHDKilledMidConnect(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	for _, back := range []bool{true, false} {
		t.Run(fmt.Sprintf("back=%v", back), func(t *testing.T) {
			f, p := e2eFleetAs(t, 1, sshtest.LoginRoot, "default:\n  connect: {slow: 3s}\n", agent.ActionConnect, nil)
			// Backoff 0.5, 1, 2, 2 s: sshd is back after 1 s, well inside.
			p.Retry = inventory.Retry{MaxAttempts: 5}
			h := f.Hosts[0]
			go func() {
				eventually(10*time.Second, func() bool { return countCmd(t, f, h.Name, "connect", "start") == 1 })
				time.Sleep(300 * time.Millisecond)
				if err := h.KillSSHD(); err != nil {
					t.Error(err)
				}
				if back {
					time.Sleep(time.Second)
					if err := h.Start(); err != nil {
						t.Error(err)
					}
				}
			}()
			x := e2eExecutor()
			x.Sleep = nil // real backoff: sshd must be back before the retries run out
			p.Retry.BaseDelay, p.Retry.MaxDelay = 500*time.Millisecond, 2*time.Second
			runDir := t.TempDir()
			rep, err := x.Apply(context.Background(), p, runDir)
			if err != nil {
				t.Fatal(err)
			}
			hr := rep.Hosts[0]
			if back {
				if hr.Outcome != results.OutcomeOK {
					dumpLogs(t, runDir, hr.Name)
					t.Errorf("%s %s: %s; want ok", hr.Outcome, hr.FinalCode, hr.Detail)
				}
			} else if hr.Outcome != results.OutcomeFailed || !strings.Contains(hr.Detail, "outcome of connect on the host is unknown") {
				t.Errorf("%s %s: %s; want failed, saying the connect's outcome is unknown", hr.Outcome, hr.FinalCode, hr.Detail)
			}
			if n := countCmd(t, f, h.Name, "connect", "start"); n != 1 {
				t.Errorf("%d connects, want 1", n)
			}
			// The connect finished on the host either way; the host is clean.
			eventually(10*time.Second, func() bool { return countCmd(t, f, h.Name, "connect", "end") == 1 })
			assertHostClean(t, h)
		})
	}
}
