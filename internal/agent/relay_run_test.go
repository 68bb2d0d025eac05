package agent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

// relayAgent prints the files RELAY_OUT and RELAY_ERR as they are and exits
// RELAY_EXIT: the action script relays the agent's output from its private
// directory with shell builtins up to 4 KiB and cat beyond; what arrives must
// be what the agent printed, byte for byte (but for NUL bytes in the first
// 4 KiB, which the shells' read drops: sh.go says why that is accepted).
const relayAgent = `#!/bin/sh
cat "$RELAY_OUT"
cat "$RELAY_ERR" >&2
printf 'time="t1" level=error msg="relay run"\n' >>"$FAKE_LOG"
exit ${RELAY_EXIT:-0}
`

func TestLinuxRelaysAgentOutputExactly(t *testing.T) {
	t.Parallel()
	line := "INFO    Connecting machine to Azure... This might take a few minutes. \\n %s -n \t\r\n"
	long := strings.Repeat(line, 2000) // ~150 KiB: the builtins stop at 4 KiB, cat relays the rest
	cases := map[string]string{
		"empty":                  "",
		"one line":               "{\"status\":\"done\"}\n",
		"no final newline":       "{\"status\":\"done\"}",
		"blanks, backslashes":    "  leading\ttab\\ and \\\\ back\\nslashes %s %d -e -n  \n\ntrailing  \n",
		"utf-8 and CR":           "Göteborg Åre\r\nünïcode\r\n",
		"4095 bytes":             strings.Repeat("a", 4094) + "\n",
		"4096 bytes":             strings.Repeat("b", 4095) + "\n",
		"4097 bytes":             strings.Repeat("c", 4096) + "\n",
		"short lines past 4 KiB": strings.Repeat("0123456\n", 600),
		"one long line":          strings.Repeat("x", 9000),
		"long":                   long,
		"long, no newline":       long + "tail",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeHost(t)
			writeExe(t, filepath.Join(f.bin, "azcmagent"), relayAgent)
			out, errf := filepath.Join(f.dir, "agent-stdout"), filepath.Join(f.dir, "agent-stderr")
			// stderr gets the content behind a prefix, so that the two streams differ.
			errContent := "E " + content
			if err := os.WriteFile(out, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(errf, []byte(errContent), 0o644); err != nil {
				t.Fatal(err)
			}
			h := f.host("linux")
			h.Azure = inventory.Azure{SubscriptionID: "sub", ResourceGroup: "rg", Location: "westeurope"}
			for _, exit := range []int{0, 1} {
				st := buildStep(h, specFor(StepConnect))
				r := f.run(t, st.Command, StepInput(st, h, testCred(), sentinel), "RELAY_OUT="+out, "RELAY_ERR="+errf, fmt.Sprintf("RELAY_EXIT=%d", exit))
				if r.exit != exit {
					t.Fatalf("exit %d, want %d; stderr:\n%.2000s", r.exit, exit, r.stderr)
				}
				if r.stdout != content {
					t.Errorf("exit %d: stdout differs from the agent's (%d bytes, want %d):\n%.300q\nwant\n%.300q", exit, len(r.stdout), len(content), r.stdout, content)
				}
				agentErr, logLines := SplitOutput(r.stderr)
				if agentErr != errContent {
					t.Errorf("exit %d: stderr differs from the agent's (%d bytes, want %d):\n%.300q\nwant\n%.300q", exit, len(agentErr), len(errContent), agentErr, errContent)
				}
				// The log's lines are evidence for a failure only.
				if want := map[int]int{0: 0, 1: 1}[exit]; len(logLines) != want {
					t.Errorf("exit %d: %d agent log lines %q, want %d", exit, len(logLines), logLines, want)
				}
				if !strings.Contains(r.stderr, AgentLogMarker) {
					t.Errorf("exit %d: no %s line in stderr", exit, AgentLogMarker)
				}
				f.assertTmpEmpty(t)
			}
		})
	}
}

// TestLinuxConnectPrograms counts the programs a connect that succeeds starts
// on the host (strace; skipped without it): on a fleet sharing CPUs with the
// controller each one costs about a millisecond per host. Besides sh and the
// agent: flock (the lock), date twice (owner and last records), wc (the log's
// size, for a failure's evidence), mktemp (the private directory), setsid
// (the agent's process group), rm (the directory), and the watchdog's sleeps;
// the output is relayed and the log skipped with builtins.
func TestLinuxConnectPrograms(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace not installed")
	}
	f := newFakeHost(t)
	writeExe(t, filepath.Join(f.bin, "azcmagent"), "#!/bin/sh\necho '{\"status\":\"done\"}'\n")
	if err := os.WriteFile(f.log, []byte(preLog), 0o644); err != nil {
		t.Fatal(err)
	}
	// A host arcfleet has seen before: its state directory exists (else mkdir).
	if err := os.MkdirAll(filepath.Join(f.dir, "state"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := f.host("linux")
	h.Azure = inventory.Azure{SubscriptionID: "sub", ResourceGroup: "rg", Location: "westeurope"}
	st := ConnectStep(h)
	trace := filepath.Join(f.dir, "trace")
	before := time.Now().Unix()
	r := f.run(t, fmt.Sprintf("%s -f -qq -e trace=execve -e signal=none -o %s sh -c %s", strace, trace, ShQuote(st.Command)), StepInput(st, h, testCred(), sentinel))
	if r.exit != 0 {
		t.Fatalf("exit %d: %s", r.exit, r.stderr)
	}
	// The end is stamped from the start's date and the boot clock (no second
	// date): it must still be the wall-clock time the step ended.
	last, err := os.ReadFile(filepath.Join(f.dir, "state", "last"))
	if err != nil {
		t.Fatal(err)
	}
	l, ok := ParseLast(LastMarker + string(last))
	if at := l.At.Unix(); !ok || at < before-2 || at > time.Now().Unix()+2 {
		t.Errorf("last record %q: at=%d, want the time the step ended (%d..%d)", last, l.At.Unix(), before, time.Now().Unix())
	}
	data, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	var progs []string
	for _, l := range strings.Split(string(data), "\n") {
		_, rest, ok := strings.Cut(l, `execve("`)
		if !ok || strings.Contains(l, "ENOENT") {
			continue // PATH lookups that missed
		}
		name := filepath.Base(rest[:strings.IndexByte(rest, '"')])
		switch name {
		case "strace", "sh", "dash", "bash", "azcmagent", "sleep":
		default:
			progs = append(progs, name)
		}
	}
	slices.Sort(progs)
	if want := []string{"date", "flock", "mktemp", "rm", "setsid", "wc"}; !slices.Equal(progs, want) {
		t.Errorf("programs started besides sh, the agent and the watchdog's sleep: %q, want %q", progs, want)
	}
}

// TestLinuxKilledScriptWatchdogRemovesSecret: a script killed outright
// (SIGKILL cannot be trapped) while the agent runs leaves the private
// directory to its watchdog, which follows the agent: once the agent ends,
// the directory with the secret is removed without waiting for another run.
func TestLinuxKilledScriptWatchdogRemovesSecret(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t)
	h := f.host("linux")
	c, so, se := f.start(t, ConnectStep(h).Command, AgentConfig(h, testCred(), sentinel), "FAKE_WAIT=1")
	waitFile(t, filepath.Join(f.out, "ready"))
	cfg := f.read(t, "cfgpath")
	scriptPID, _ := strconv.Atoi(f.read(t, "ppid"))
	if err := syscall.Kill(scriptPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitResult(t, c, so, se) // reaps the script: kill -0 no longer finds it
	if _, err := os.Stat(cfg); err != nil {
		t.Fatalf("the config is gone while the agent still runs (%v): the script was not killed outright", err)
	}
	if err := os.WriteFile(filepath.Join(f.out, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(filepath.Dir(cfg)); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still there 15 s after the agent ended", filepath.Dir(cfg))
		}
	}
	f.assertTmpEmpty(t)
}
