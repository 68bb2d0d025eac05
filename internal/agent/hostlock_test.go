package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

func TestParseStarted(t *testing.T) {
	for _, tc := range []struct {
		stderr string
		want   Started
		ok     bool
	}{
		{StartedMarker + "pid=12 pg= dir=/tmp/arcfleet.12.ab\n" + StartedMarker + "pid=12 pg=40 dir=/tmp/arcfleet.12.ab\n", Started{12, 40, "/tmp/arcfleet.12.ab"}, true},
		// A temporary directory with spaces (a Windows profile) stays whole.
		{StartedMarker + `pid=7 pg= dir=C:\Users\John Smith\AppData\Local\Temp\arcfleet.7.x` + "\r\n", Started{7, 0, `C:\Users\John Smith\AppData\Local\Temp\arcfleet.7.x`}, true},
		// Group 1 would be kill -1: everything.
		{StartedMarker + "pid=9 pg=1 dir=/tmp/arcfleet.9.a\n", Started{9, 0, "/tmp/arcfleet.9.a"}, true},
		{StartedMarker + "pid=1 pg=5 dir=/tmp/x\n", Started{}, false},
		{StartedMarker + "pid=5 pg=5\n", Started{}, false},
		{"no marker\n", Started{}, false},
	} {
		got, ok := ParseStarted(tc.stderr)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseStarted(%q) = %+v %v, want %+v %v", tc.stderr, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseLastAndSeen(t *testing.T) {
	l, ok := ParseLast(LastMarker + "run=r1 step=connect exit=0 at=1796406000\n")
	if !ok || l.Run != "r1" || l.Exit != 0 || l.key() != "r1@1796406000" {
		t.Errorf("%+v %v key %s", l, ok, l.key())
	}
	if l, ok := ParseLast(LastMarker + "run=r1 step=connect exit= at=1796406000\n"); !ok || l.Exit != -1 || l.key() != "r1@1796406000" {
		t.Errorf("an empty exit (Windows) must still give the record: %+v %v", l, ok)
	}
	if l, ok := ParseLast(LastMarker + "?\n"); !ok || !l.Unreadable || l.key() != "?" {
		t.Errorf("unreadable: %+v %v key %s", l, ok, l.key())
	}
	if l, _ := ParseLast("nothing"); l.key() != "-" {
		t.Errorf("no record: key %s", l.key())
	}
	if got := string(Input("run 1", 90*time.Second, Lease, LastStep{Unreadable: true}, nil)); got != "arcfleet run_1 90 30 ?\n" {
		t.Errorf("Input header %q", got)
	}
}

// TestActionStepSeen: an action step refuses a host another run changed since
// this run's probe, unless the probe could not read the record ("?").
func TestActionStepSeen(t *testing.T) {
	for _, tc := range []struct {
		seen   LastStep
		refuse bool
	}{
		{LastStep{Run: "other", At: time.Unix(1796406000, 0)}, false}, // the probe saw it: acting is decided on it
		{LastStep{}, true},                  // the probe saw none; another run's step ended since
		{LastStep{Unreadable: true}, false}, // the probe could not read it: no comparison
	} {
		f := newFakeHost(t)
		state := filepath.Join(f.dir, "state")
		if err := os.MkdirAll(state, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(state, "last"), []byte("run=other step=connect exit=0 at=1796406000\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		h := f.host("linux")
		h.Azure.SubscriptionID, h.Azure.ResourceGroup, h.Azure.Location = "s", "rg", "westeurope"
		st := ConnectStep(h)
		c, so, se := f.startRaw(t, st.Command, Input("mine", time.Minute, 0, tc.seen, AgentConfig(h, testCred(), sentinel)))
		r := waitResult(t, c, so, se)
		refused := r.exit == 125 && strings.Contains(r.stderr, BusyMarker+"changed since the probe")
		if refused != tc.refuse {
			t.Errorf("seen %+v: exit %d, stderr %q; want refused %v", tc.seen, r.exit, r.stderr, tc.refuse)
		}
	}
}

// TestLeaseOfDeadStep: a lease a step recorded while running counts while its
// process lives; once it is gone without recording its end (SIGKILL, reboot),
// the host is free at once, not after its watchdog time.
func TestLeaseOfDeadStep(t *testing.T) {
	for _, tc := range []struct {
		name string
		pid  int
		busy bool
	}{
		{"live", os.Getpid(), true},
		{"dead", deadPID(t), false},
	} {
		f := newFakeHost(t)
		state := filepath.Join(f.dir, "state")
		if err := os.MkdirAll(state, 0o755); err != nil {
			t.Fatal(err)
		}
		owner := fmt.Sprintf("run=other step=connect pid=%d since=1796406000 until=%d\n", tc.pid, time.Now().Add(time.Hour).Unix())
		if err := os.WriteFile(filepath.Join(state, "owner"), []byte(owner), 0o644); err != nil {
			t.Fatal(err)
		}
		h := f.host("linux")
		h.Azure.SubscriptionID, h.Azure.ResourceGroup, h.Azure.Location = "s", "rg", "westeurope"
		r := f.run(t, ConnectStep(h).Command, AgentConfig(h, testCred(), sentinel))
		busy := r.exit == 125 && strings.Contains(r.stderr, BusyMarker+"run=other")
		if busy != tc.busy {
			t.Errorf("%s holder: exit %d, stderr %q; want busy %v", tc.name, r.exit, r.stderr, tc.busy)
		}
	}
}

// Both renderings skip the "changed since the probe" comparison when the
// controller saw nothing to compare (SEEN "?": the install step and the
// one-session connect, which read the host's state under the lock instead).
// Without it every Windows host whose last record is another run's refused
// those steps as busy (found in review).
func TestSeenUnknownSkipsChangedCheck(t *testing.T) {
	h := &inventory.Host{Name: "w", OS: "windows"}
	ps := ConnectStep(h).Script
	if !strings.Contains(ps, `$seen -ne '?' -and`) {
		t.Errorf("the PowerShell lock compares SEEN even when it is '?':\n%s", ps)
	}
	sh := ConnectStep(&inventory.Host{Name: "l", OS: "linux"}).Script
	if !strings.Contains(sh, `[ "${V:--}" != '?' ]`) {
		t.Errorf("the sh lock compares SEEN even when it is '?'")
	}
}
