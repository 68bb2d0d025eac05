package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/internal/transport/ssh"
	"github.com/arcfleet/arcfleet/internal/transport/winrm"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
	"github.com/arcfleet/arcfleet/testbed/winrmtest"
)

// These tests run the generated Linux scripts for real with /bin/sh, exactly as
// sshd would (`sh -c COMMAND`), against a small fake agent that records what it
// saw. The fake agent is a shell script: it stands in for azcmagent's interface
// (argv, --config, log file, exit code), not its behaviour.

const sentinel = "S3NT1NEL-never-on-a-command-line-7f3a"

const fakeAgent = `#!/bin/sh
O=$FAKE_OUT
printf '%s\n' "$@" >"$O/argv"
echo $$ >"$O/pid"
echo $PPID >"$O/ppid"
case "$1" in
show) echo '{"status":"Connected","resourceId":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/m","location":"westeurope"}'; exit ${FAKE_EXIT:-0};;
version) echo 'azcmagent version 1.47.02954.1234'; exit 0;;
esac
cfg=
while [ $# -gt 0 ]; do [ "$1" = --config ] && cfg=$2; shift; done
if [ -n "$cfg" ]; then
  echo "$cfg" >"$O/cfgpath"
  stat -c %a "$cfg" >"$O/mode"
  stat -c %a "$(dirname "$cfg")" >"$O/dirmode"
  cp "$cfg" "$O/config.copy"
fi
[ -n "${FAKE_TRUNCATE:-}" ] && : >"$FAKE_LOG"
printf 'time="t1" level=info msg="agent run"\n' >>"$FAKE_LOG"
printf 'time="t2" level=error msg="Åre ünïcode, quotes \" and = signs"\n' >>"$FAKE_LOG"
echo "agent stderr line" >&2
echo '{"status":"done"}'
: >"$O/ready"
if [ -n "${FAKE_WAIT:-}" ]; then
  # Bounded: a fake agent a test failed to stop must not outlive it for long.
  i=0; while [ ! -e "$O/release" ] && [ $i -lt 3000 ]; do sleep 0.02; i=$((i + 1)); done
fi
exit ${FAKE_EXIT:-0}
`

type fakeHost struct {
	dir, bin, out, tmp, log string
}

func newFakeHost(t *testing.T) *fakeHost {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	d := t.TempDir()
	f := &fakeHost{dir: d, bin: filepath.Join(d, "bin"), out: filepath.Join(d, "out"), tmp: filepath.Join(d, "tmp"), log: filepath.Join(d, "log", "azcmagent.log")}
	for _, p := range []string{f.bin, f.out, f.tmp, filepath.Dir(f.log)} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeExe(t, filepath.Join(f.bin, "azcmagent"), fakeAgent)
	return f
}

func writeExe(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func (f *fakeHost) host(os string) *inventory.Host {
	return &inventory.Host{Name: "h1", OS: os, Agent: inventory.Agent{Path: filepath.Join(f.bin, "azcmagent"), Log: f.log}}
}

type runResult struct {
	exit           int
	stdout, stderr string
}

// start runs cmd like sshd does: the login shell gets it as one string, and
// the step's input as the executor feeds it: the header line, then stdin.
func (f *fakeHost) start(t *testing.T, cmd string, stdin []byte, env ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	if !strings.Contains(cmd, "# arcfleet "+StepStop+"\n") {
		stdin = Input("agent-test", time.Minute, 0, LastStep{}, stdin)
	}
	return f.startRaw(t, cmd, stdin, env...)
}

// startRaw is start with stdin fed as given.
func (f *fakeHost) startRaw(t *testing.T, cmd string, stdin []byte, env ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	c := exec.Command("/bin/sh", "-c", cmd)
	// sshd gives each session its own process group; so must the tests, or the
	// sudo guard's `kill -KILL 0` could reach the test binary's group.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Env = append([]string{"PATH=" + f.bin + ":/usr/bin:/bin", "TMPDIR=" + f.tmp, "FAKE_OUT=" + f.out, "FAKE_LOG=" + f.log,
		"ARCFLEET_STATE_DIR=" + filepath.Join(f.dir, "state")}, env...)
	if stdin != nil {
		c.Stdin = bytes.NewReader(stdin)
	}
	var so, se bytes.Buffer
	c.Stdout, c.Stderr = &so, &se
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	return c, &so, &se
}

func (f *fakeHost) run(t *testing.T, cmd string, stdin []byte, env ...string) runResult {
	t.Helper()
	c, so, se := f.start(t, cmd, stdin, env...)
	return waitResult(t, c, so, se)
}

func waitResult(t *testing.T, c *exec.Cmd, so, se *bytes.Buffer) runResult {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return runResult{exit: c.ProcessState.ExitCode(), stdout: so.String(), stderr: se.String()}
	case <-time.After(20 * time.Second):
		_ = c.Process.Kill()
		t.Fatal("script did not finish in 20 s")
	}
	return runResult{}
}

func (f *fakeHost) read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.out, name))
	if err != nil {
		t.Fatalf("fake agent left no %s: %v", name, err)
	}
	return strings.TrimSpace(string(b))
}

func (f *fakeHost) assertTmpEmpty(t *testing.T) {
	t.Helper()
	ents, err := os.ReadDir(f.tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left behind in TMPDIR: %s", e.Name())
	}
}

func testCred() inventory.Credential {
	return inventory.Credential{Name: "sp", ClientID: "11111111-2222-3333-4444-555555555555", TenantID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", Secret: inventory.SecretRef{Env: "ARC_SP_SECRET"}}
}

var preLog = "time=\"old1\" level=info msg=\"before\"\ntime=\"old2\" level=info msg=\"before too\"\n"

var wantAppended = []string{`time="t1" level=info msg="agent run"`, `time="t2" level=error msg="Åre ünïcode, quotes \" and = signs"`}

func TestLinuxScriptsRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		step     string
		exit     int
		noLog    bool // no azcmagent.log before the run
		truncate bool // the agent truncates its log (rotation)
		wantLog  []string
	}{
		// The log's lines are evidence for a failure: a step that succeeded shows none.
		{name: "connect ok", step: StepConnect},
		{name: "connect AZCM0041", step: StepConnect, exit: 41, wantLog: wantAppended},
		{name: "connect exit 1", step: StepConnect, exit: 1, wantLog: wantAppended},
		{name: "connect exit 255", step: StepConnect, exit: 255, wantLog: wantAppended},
		{name: "connect no log before", step: StepConnect, exit: 1, noLog: true, wantLog: wantAppended},
		{name: "connect log truncated", step: StepConnect, exit: 1, truncate: true, wantLog: wantAppended},
		{name: "disconnect AZCM0043", step: StepDisconnect, exit: 43, wantLog: wantAppended},
		{name: "disconnect-local ok", step: StepDisconnectLocal},
		{name: "disconnect-local AZCM0063", step: StepDisconnectLocal, exit: 63, wantLog: wantAppended},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeHost(t)
			if !tc.noLog {
				if err := os.WriteFile(f.log, []byte(preLog), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			h := f.host("linux")
			h.Azure = inventory.Azure{SubscriptionID: "sub", ResourceGroup: "rg", Location: "westeurope", Tags: map[string]string{"Owner": "Team O'Neil, Ops", "Ort": "Göteborg"}}
			st := buildStep(h, specFor(tc.step))
			stdin := StepInput(st, h, testCred(), sentinel)
			env := []string{"FAKE_EXIT=" + strconv.Itoa(tc.exit)}
			if tc.truncate {
				env = append(env, "FAKE_TRUNCATE=1")
			}
			r := f.run(t, st.Command, stdin, env...)
			if r.exit != tc.exit {
				t.Fatalf("exit %d, want the agent's %d; stderr:\n%s", r.exit, tc.exit, r.stderr)
			}
			agentErr, logLines := SplitOutput(r.stderr)
			if !strings.Contains(r.stderr, AgentLogMarker) {
				t.Errorf("no %s line in stderr:\n%s", AgentLogMarker, r.stderr)
			}
			if strings.TrimSpace(agentErr) != "agent stderr line" {
				t.Errorf("agent stderr = %q", agentErr)
			}
			if strings.Join(logLines, "\n") != strings.Join(tc.wantLog, "\n") {
				t.Errorf("log lines after the marker:\n%q\nwant exactly the appended ones:\n%q", logLines, tc.wantLog)
			}
			if strings.TrimSpace(r.stdout) != `{"status":"done"}` {
				t.Errorf("stdout = %q, want the agent's JSON only", r.stdout)
			}
			argv := f.read(t, "argv")
			if strings.Contains(argv, sentinel) {
				t.Errorf("secret in the agent's argv: %q", argv)
			}
			if !strings.Contains(argv, "--json\n--log-stderr") {
				t.Errorf("argv lacks --json --log-stderr: %q", argv)
			}
			if st.Name == StepDisconnectLocal {
				if !strings.HasPrefix(argv, "disconnect\n--force-local-only") {
					t.Errorf("argv = %q", argv)
				}
				if _, err := os.Stat(filepath.Join(f.out, "cfgpath")); err == nil {
					t.Error("disconnect-local got a --config file; it needs no credential")
				}
			} else {
				if m := f.read(t, "mode"); m != "600" {
					t.Errorf("config file mode %s, want 600", m)
				}
				if m := f.read(t, "dirmode"); m != "700" {
					t.Errorf("config dir mode %s, want 700", m)
				}
				if got := f.read(t, "config.copy"); got != strings.TrimSpace(string(stdin)) {
					t.Errorf("config file = %q, want stdin %q", got, stdin)
				}
				if _, err := os.Stat(f.read(t, "cfgpath")); !os.IsNotExist(err) {
					t.Errorf("config file still there after the run: %v", err)
				}
			}
			f.assertTmpEmpty(t)
		})
	}
}

// TestLinuxConnectSIGTERM interrupts connect while the agent runs: the secret is
// on no process's command line, the config exists during the run, and the
// trap kills the agent and removes the config.
func TestLinuxConnectSIGTERM(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			f := newFakeHost(t)
			h := f.host("linux")
			st := ConnectStep(h)
			c, so, se := f.start(t, st.Command, AgentConfig(h, testCred(), sentinel), "FAKE_WAIT=1")
			waitFile(t, filepath.Join(f.out, "ready"))
			cfg := f.read(t, "cfgpath")
			if _, err := os.Stat(cfg); err != nil {
				t.Fatalf("config file missing while the agent runs: %v", err)
			}
			assertNotInProcCmdlines(t, sentinel)
			scriptPID, _ := strconv.Atoi(f.read(t, "ppid"))
			agentPID, _ := strconv.Atoi(f.read(t, "pid"))
			if err := syscall.Kill(scriptPID, sig); err != nil {
				t.Fatal(err)
			}
			r := waitResult(t, c, so, se)
			if want := 128 + int(sig); r.exit != want {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.exit, want, r.stderr)
			}
			if _, err := os.Stat(cfg); !os.IsNotExist(err) {
				t.Errorf("config file survived %s: %v", sig, err)
			}
			f.assertTmpEmpty(t)
			deadline := time.Now().Add(5 * time.Second)
			for syscall.Kill(agentPID, 0) == nil {
				if time.Now().After(deadline) {
					t.Fatalf("agent pid %d still running after %s", agentPID, sig)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear", path)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func assertNotInProcCmdlines(t *testing.T, secret string) {
	t.Helper()
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	if len(paths) == 0 {
		t.Fatal("no /proc/*/cmdline to inspect")
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(secret)) {
			t.Errorf("secret on the command line of %s: %q", p, b)
		}
	}
}

func TestLinuxAgentLookup(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(LinuxAgentFallback); err == nil {
		t.Skipf("%s exists on this machine", LinuxAgentFallback)
	}
	f := newFakeHost(t)
	h := f.host("linux")
	h.Agent.Path = "" // found on PATH
	r := f.run(t, DisconnectLocalStep(h).Command, nil, "FAKE_EXIT=7")
	if r.exit != 7 || !strings.HasPrefix(f.read(t, "argv"), "disconnect") {
		t.Fatalf("agent on PATH not used: exit %d, stderr %s", r.exit, r.stderr)
	}
	g := newFakeHost(t)
	if err := os.Remove(filepath.Join(g.bin, "azcmagent")); err != nil {
		t.Fatal(err)
	}
	h = g.host("linux")
	h.Agent.Path = ""
	for _, st := range []Step{ProbeStep(h), ConnectStep(h), DisconnectStep(h), DisconnectLocalStep(h)} {
		r = g.run(t, st.Command, []byte("{}"))
		if r.exit != ExitAgentNotFound || !strings.Contains(r.stderr, ErrorMarker+"agent-not-found") {
			t.Errorf("%s without an agent: exit %d, stderr %q", st.Name, r.exit, r.stderr)
		}
	}
	g.assertTmpEmpty(t)
}

func TestLinuxProbeRun(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t)
	h := f.host("linux")
	for _, exit := range []int{0, 70} {
		r := f.run(t, ProbeStep(h).Command, nil, "FAKE_EXIT="+strconv.Itoa(exit))
		if r.exit != exit {
			t.Fatalf("probe exit %d, want %d", r.exit, exit)
		}
		show, err := ParseProbe(r.stdout)
		if err != nil {
			t.Fatal(err)
		}
		if show.Status != "Connected" || show.Location != "westeurope" || show.AgentVersion != "1.47.02954.1234" {
			t.Errorf("ParseProbe = %+v", show)
		}
	}
}

func TestLinuxSudo(t *testing.T) {
	t.Parallel()
	// A sudo stand-in on PATH: the real one would need a non-root user and a sudoers
	// file; what is tested here is the script's handling of sudo's answers.
	const fakeSudo = `#!/bin/sh
[ "$1" = -n ] || { echo "sudo: called without -n" >&2; exit 99; }
shift
if [ -n "${FAKE_SUDO_DENY:-}" ]; then echo "sudo: a password is required" >&2; exit 1; fi
echo "$*" >>"$FAKE_OUT/sudo-calls"
exec "$@"
`
	f := newFakeHost(t)
	writeExe(t, filepath.Join(f.bin, "sudo"), fakeSudo)
	h := f.host("linux")
	h.SSH.Become = "sudo"
	st := ConnectStep(h)
	r := f.run(t, st.Command, AgentConfig(h, testCred(), sentinel), "FAKE_EXIT=41")
	if r.exit != 41 {
		t.Fatalf("exit %d through sudo, want 41; stderr %s", r.exit, r.stderr)
	}
	if calls := f.read(t, "sudo-calls"); !strings.Contains(calls, "sh -c") || strings.Contains(calls, sentinel) {
		t.Errorf("sudo calls = %q", calls)
	}
	f.assertTmpEmpty(t)
	r = f.run(t, st.Command, AgentConfig(h, testCred(), sentinel), "FAKE_SUDO_DENY=1")
	if r.exit != ExitSudoPassword || !strings.Contains(r.stderr, ErrorMarker+"sudo-password-required") {
		t.Errorf("sudo asking for a password: exit %d, stderr %q", r.exit, r.stderr)
	}
	if strings.Contains(ProbeStep(h).Command, "sudo") {
		t.Error("the read-only probe must not need sudo")
	}
}

func TestLinuxRestartService(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t)
	writeExe(t, filepath.Join(f.bin, "systemctl"), "#!/bin/sh\necho \"$*\" >\"$FAKE_OUT/systemctl\"\nexit 5\n")
	r := f.run(t, RestartServiceStep(f.host("linux")).Command, nil)
	if r.exit != 5 || f.read(t, "systemctl") != "restart himdsd" {
		t.Errorf("restart: exit %d, systemctl %q", r.exit, f.read(t, "systemctl"))
	}
}

// TestSweepRemovesOnlyDeadRunsDirs: the connect script's sweep of config dirs
// left by runs that could not clean up (SIGKILL, reboot) removes a dir only when
// the shell PID in its name is gone or it is over 24 hours old, and only the
// user's own: a concurrent run's dir stays, however long that run takes.
func TestSweepRemovesOnlyDeadRunsDirs(t *testing.T) {
	t.Parallel()
	dead := deadPID(t)
	live := os.Getpid() // this test's shell runs as the same user
	old := time.Now().Add(-25 * time.Hour)
	for _, tc := range []struct {
		name    string
		age     time.Time // zero: fresh
		other   bool      // owned by another user (needs root)
		removed bool
	}{
		{fmt.Sprintf("arcfleet.%d.dead", dead), time.Time{}, false, true},
		{fmt.Sprintf("arcfleet.%d.live", live), time.Time{}, false, false},
		{fmt.Sprintf("arcfleet.%d.liveold", live), old, false, true},
		{"arcfleet.OldNam", time.Time{}, false, false}, // earlier naming: age rule only
		{"arcfleet.OldOld", old, false, true},
		{fmt.Sprintf("arcfleet.%d.other", dead), time.Time{}, true, false},
		{fmt.Sprintf("other.%d.x", dead), old, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.other && os.Geteuid() != 0 {
				t.Skip("chown needs root")
			}
			f := newFakeHost(t)
			d := filepath.Join(f.tmp, tc.name)
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, "config.json"), []byte(sentinel), 0o600); err != nil {
				t.Fatal(err)
			}
			if tc.other {
				if err := os.Chown(d, 65534, 65534); err != nil {
					t.Fatal(err)
				}
			}
			if !tc.age.IsZero() {
				if err := os.Chtimes(d, tc.age, tc.age); err != nil {
					t.Fatal(err)
				}
			}
			h := f.host("linux")
			if r := f.run(t, ConnectStep(h).Command, AgentConfig(h, testCred(), sentinel)); r.exit != 0 {
				t.Fatalf("connect: exit %d, stderr %s", r.exit, r.stderr)
			}
			if cfg := f.read(t, "cfgpath"); !strings.HasPrefix(filepath.Base(filepath.Dir(cfg)), "arcfleet."+f.read(t, "ppid")+".") {
				t.Errorf("config dir %s does not carry the script's PID", cfg)
			}
			_, err := os.Stat(d)
			if removed := os.IsNotExist(err); removed != tc.removed {
				t.Errorf("removed=%v, want %v", removed, tc.removed)
			}
			ents, _ := os.ReadDir(f.tmp)
			if want := map[bool]int{true: 0, false: 1}[tc.removed]; len(ents) != want {
				t.Errorf("%d entries left in TMPDIR, want %d (the run's own dir must be gone)", len(ents), want)
			}
		})
	}
}

// deadPID is the PID of a process that has ended.
func deadPID(t *testing.T) int {
	t.Helper()
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	return c.Process.Pid
}

// TestLinuxConnectSIGKILLSweptByNextRun: SIGKILL cannot be trapped, so a
// killed connect leaves its config dir; the next run on the host removes it.
func TestLinuxConnectSIGKILLSweptByNextRun(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t)
	h := f.host("linux")
	c, so, se := f.start(t, ConnectStep(h).Command, AgentConfig(h, testCred(), sentinel), "FAKE_WAIT=1")
	waitFile(t, filepath.Join(f.out, "ready"))
	cfg := f.read(t, "cfgpath")
	// As a crash of the host's processes would: the script's group (with its
	// watchdog) and the agent's own group (the step starts it with setsid).
	agentPID, _ := strconv.Atoi(f.read(t, "pid"))
	if err := syscall.Kill(-c.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(-agentPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitResult(t, c, so, se)
	if _, err := os.Stat(cfg); err != nil {
		t.Fatalf("the killed run's config is gone already (%v): this test proves nothing", err)
	}
	// The script's shell is orphaned by the kill: wait until init has reaped it
	// (a zombie still answers kill -0, so the sweep would rightly keep its dir).
	script := filepath.Join("/proc", f.read(t, "ppid"))
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(script); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed script %s was not reaped within 5 s", script)
		}
	}
	if r := f.run(t, ConnectStep(h).Command, AgentConfig(h, testCred(), sentinel)); r.exit != 0 {
		t.Fatalf("second connect: exit %d, stderr %s", r.exit, r.stderr)
	}
	f.assertTmpEmpty(t)
}

// TestInterruptedConnectLeavesNoConfig: a connect step whose agent hangs is
// cancelled or times out through the real transports (OpenSSH sshd hosts,
// with and without become: sudo, and the WinRM server's Windows emulation):
// Run returns within the kill grace, the config dir holding the secret is
// gone from the host's TMPDIR and no agent process is left.
func TestInterruptedConnectLeavesNoConfig(t *testing.T) {
	if why := sshtest.Available(); why != "" {
		t.Skip(why)
	}
	sim := sshtest.BuildSim(t)
	type host struct {
		name string
		conn transport.Conn
		h    *inventory.Host
		tmp  string // the host's TMPDIR
	}
	linux := func(t *testing.T, login sshtest.Login) host {
		f := sshtest.StartFleet(t, 1, sshtest.FleetOptions{AgentBinary: sim, Login: login})
		sh := f.Hosts[0]
		if err := os.WriteFile(filepath.Join(sh.Root, "scenario.yaml"), []byte("connect: {hang: true}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		h := &inventory.Host{Name: sh.Name, OS: "linux", Azure: m1Azure, Agent: inventory.Agent{Path: sh.AgentPath, Log: sh.AgentLog}}
		if login == sshtest.LoginSudo {
			h.SSH.Become = "sudo"
		}
		c, err := (&ssh.Dialer{}).Dial(context.Background(), sh.Target())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return host{sh.Name, c, h, sh.TmpDir}
	}
	windows := func(t *testing.T) host {
		dir := t.TempDir()
		root, bin := filepath.Join(dir, "root"), filepath.Join(dir, "bin")
		for _, d := range []string{root, bin} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(sim, filepath.Join(bin, "azcmagent")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "scenario.yaml"), []byte("connect: {hang: true}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		s := winrmtest.Start(t, winrmtest.Options{HTTPS: true, Env: []string{
			"PATH=" + bin + ":/usr/bin:/bin", "AZCMAGENT_SIM_ROOT=" + root, "AZCMAGENT_SIM_HOST=w1", "AZCMAGENT_SIM_NO_ROOT=1"}})
		win := &inventory.Host{Name: "w1", OS: "windows", Azure: m1Azure}
		// The server cannot run PowerShell: for the Windows connect command it runs
		// the step rendered for Linux, with the simulator's log (testbed/wintwin
		// does this for every step; this package's tests cannot import it).
		lin := *win
		lin.OS, lin.Agent = "linux", inventory.Agent{Log: filepath.Join(root, "log", "azcmagent.log")}
		s.Register(ConnectStep(win).Command, ConnectStep(&lin).Script)
		c, err := (&winrm.Dialer{}).Dial(context.Background(), s.Target("w1", "ntlm"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return host{"w1", c, win, s.TempDir}
	}
	for _, tc := range []struct {
		name    string
		host    func(t *testing.T) host
		timeout bool // context deadline, else cancel
	}{
		{"ssh cancel", func(t *testing.T) host { return linux(t, sshtest.LoginTest) }, false},
		{"ssh timeout", func(t *testing.T) host { return linux(t, sshtest.LoginTest) }, true},
		{"ssh sudo timeout", func(t *testing.T) host {
			if !sshtest.HasSudo() {
				t.Skip("sudo is missing")
			}
			return linux(t, sshtest.LoginSudo)
		}, true},
		{"winrm cancel", windows, false},
		{"winrm timeout", windows, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := tc.host(t)
			st := ConnectStep(hs.h)
			if strings.Contains(st.Command, sentinel) {
				t.Fatal("secret on the command line")
			}
			var ctx context.Context
			var cancel context.CancelFunc
			if tc.timeout {
				ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
			} else {
				ctx, cancel = context.WithCancel(context.Background())
			}
			defer cancel()
			// The secret's file must exist while the agent hangs, or the test proves nothing.
			seen := make(chan string, 1)
			go func() {
				defer close(seen)
				for ctx.Err() == nil {
					if m, _ := filepath.Glob(filepath.Join(hs.tmp, "arcfleet.*", "config.json")); len(m) > 0 {
						if m1AgentRunning(hs.tmp) {
							seen <- m[0]
							if !tc.timeout {
								cancel()
							}
							return
						}
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
			if !tc.timeout {
				time.AfterFunc(10*time.Second, cancel) // a bound if the agent never starts
			}
			var stderr bytes.Buffer
			start := time.Now()
			_, err := hs.conn.Run(ctx, st.Command, bytes.NewReader(Input("agent-test", time.Minute, 0, LastStep{}, StepInput(st, hs.h, testCred(), sentinel))), io.Discard, &stderr)
			took := time.Since(start)
			cfg, ok := <-seen
			if !ok {
				t.Fatalf("the config file never showed up in %s with the agent running: %v\n%s", hs.tmp, err, stderr.String())
			}
			want := transport.Canceled
			if tc.timeout {
				want = transport.Timeout
			}
			if k := transport.KindOf(err); k != want {
				t.Fatalf("error kind %q, want %q: %v", k, want, err)
			}
			if strings.Contains(err.Error(), sentinel) || strings.Contains(stderr.String(), sentinel) {
				t.Errorf("secret in the error or stderr")
			}
			// Cancel at ~0-2 s, then at most the kill grace (3 s) and 1 s for SIGKILL.
			if took > 2*time.Second+ssh.DefaultStopWait+3*time.Second {
				t.Errorf("Run returned after %v", took)
			}
			deadline := time.Now().Add(5 * time.Second) // under sudo the guard may finish the job
			for {
				ents, _ := os.ReadDir(hs.tmp)
				running := m1AgentRunning(hs.tmp)
				if len(ents) == 0 && !running {
					break
				}
				if time.Now().After(deadline) {
					var names []string
					for _, e := range ents {
						names = append(names, e.Name())
					}
					t.Fatalf("after the interruption: left in the host's TMPDIR %v (the config was %s); agent still running: %v", names, cfg, running)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// m1Azure is what connect needs to get past the agent's parameter checks.
var m1Azure = inventory.Azure{SubscriptionID: "11111111-2222-3333-4444-555555555555", ResourceGroup: "rg", Location: "westeurope", TenantID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}

// m1AgentRunning reports whether an agent process runs with a --config file
// under tmp (a host's own TMPDIR, so other tests' agents do not count).
func m1AgentRunning(tmp string) bool {
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte("--config\x00"+tmp+"/")) {
			return true
		}
	}
	return false
}

// A lock file that cannot be opened (here a directory of that name) is a
// state-dir-failed refusal with its marker, not the shell ending silently as
// it would on a special builtin's failed redirection (exec without command).
func TestLinuxLockUnopenable(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t)
	if err := os.MkdirAll(filepath.Join(f.dir, "state", "lock"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := f.host("linux")
	h.Azure = inventory.Azure{SubscriptionID: "sub", ResourceGroup: "rg", Location: "westeurope"}
	st := ConnectStep(h)
	r := f.run(t, st.Command, StepInput(st, h, testCred(), sentinel))
	if r.exit != 125 || !strings.Contains(r.stderr, ErrorMarker+"state-dir-failed") {
		t.Fatalf("exit %d, stderr %q; want 125 and the state-dir-failed marker", r.exit, r.stderr)
	}
	if _, err := os.Stat(f.out); err == nil {
		if ents, _ := os.ReadDir(f.out); len(ents) != 0 {
			t.Errorf("the agent ran: %v", ents)
		}
	}
	f.assertTmpEmpty(t)
}
