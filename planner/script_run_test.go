package planner

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/inventory"
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
  while [ ! -e "$O/release" ]; do sleep 0.02; done
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

// start runs cmd like sshd does: the login shell gets it as one string.
func (f *fakeHost) start(t *testing.T, cmd string, stdin []byte, env ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	c := exec.Command("/bin/sh", "-c", cmd)
	// sshd gives each session its own process group; so must the tests, or the
	// sudo guard's `kill -KILL 0` could reach the test binary's group.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Env = append([]string{"PATH=" + f.bin + ":/usr/bin:/bin", "TMPDIR=" + f.tmp, "FAKE_OUT=" + f.out, "FAKE_LOG=" + f.log}, env...)
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
		{name: "connect ok", step: StepConnect, wantLog: wantAppended},
		{name: "connect AZCM0041", step: StepConnect, exit: 41, wantLog: wantAppended},
		{name: "connect exit 1", step: StepConnect, exit: 1, wantLog: wantAppended},
		{name: "connect exit 255", step: StepConnect, exit: 255, wantLog: wantAppended},
		{name: "connect no log before", step: StepConnect, noLog: true, wantLog: wantAppended},
		{name: "connect log truncated", step: StepConnect, truncate: true, wantLog: wantAppended},
		{name: "disconnect AZCM0043", step: StepDisconnect, exit: 43, wantLog: wantAppended},
		{name: "disconnect-local ok", step: StepDisconnectLocal, wantLog: wantAppended},
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

// TestWindowsEmulationTwinRuns runs the sh twin carried by each Windows script
// the way the WinRM test server does, with the simulator's log location.
func TestWindowsEmulationTwinRuns(t *testing.T) {
	t.Parallel()
	for _, name := range []string{StepConnect, StepDisconnect, StepDisconnectLocal, StepProbe} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeHost(t)
			root := filepath.Dir(filepath.Dir(f.log))
			if err := os.WriteFile(f.log, []byte(preLog), 0o644); err != nil {
				t.Fatal(err)
			}
			h := &inventory.Host{Name: "w1", OS: "windows"}
			st := buildStep(h, specFor(name))
			ps, err := DecodePowerShell(st.Command)
			if err != nil || ps != st.Script {
				t.Fatalf("command does not decode to the script: %v", err)
			}
			twin, err := EmulatedSh(ps)
			if err != nil || twin == "" {
				t.Fatalf("no twin: %v", err)
			}
			r := f.run(t, twin, StepInput(st, h, testCred(), sentinel), "FAKE_EXIT=67", "AZCMAGENT_SIM_ROOT="+root)
			if r.exit != 67 {
				t.Fatalf("exit %d, want 67; stderr %s", r.exit, r.stderr)
			}
			if name == StepProbe {
				return
			}
			if _, lines := SplitOutput(r.stderr); strings.Join(lines, "\n") != strings.Join(wantAppended, "\n") {
				t.Errorf("log lines %q", lines)
			}
			f.assertTmpEmpty(t)
		})
	}
}
