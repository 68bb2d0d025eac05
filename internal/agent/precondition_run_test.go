package agent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

// The connect step's precondition (step.go) run for real with /bin/sh against
// a fake agent whose `show --json` the test sets (FAKE_SHOW) and which records
// every command it is asked for (calls).

const showFakeAgent = `#!/bin/sh
O=$FAKE_OUT
echo "$1" >>"$O/calls"
case "$1" in
show) printf '%s\n' "$FAKE_SHOW"; exit ${FAKE_SHOW_EXIT:-0};;
version) echo 'azcmagent version 1.9.1234.5'; exit 0;;
esac
echo '{"status":"Succeeded","resourceId":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/h1"}'
exit 0
`

func newShowFake(t *testing.T) *fakeHost {
	f := newFakeHost(t)
	writeExe(t, filepath.Join(f.bin, "azcmagent"), showFakeAgent)
	return f
}

func (f *fakeHost) calls(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.out, "calls"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// prettyShow is a show --json document as the agent prints it: indented, over
// many lines.
func prettyShow(t *testing.T, fields map[string]any) string {
	t.Helper()
	b, err := json.MarshalIndent(fields, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const testResourceID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/h1"

func TestProbeReadsVersionFromShow(t *testing.T) {
	t.Parallel()
	f := newShowFake(t)
	h := f.host("linux")
	show := prettyShow(t, map[string]any{"status": "Disconnected", "resourceId": "", "agentVersion": "1.50.03036.1885"})
	r := f.run(t, ProbeStep(h).Command, nil, "FAKE_SHOW="+show)
	s, err := ParseProbe(r.stdout)
	if err != nil || r.exit != 0 {
		t.Fatalf("probe exit %d, %v: %s %s", r.exit, err, r.stdout, r.stderr)
	}
	if s.AgentVersion != "1.50.03036.1885" || s.Status != "Disconnected" {
		t.Errorf("ParseProbe = %+v", s)
	}
	if c := f.calls(t); strings.Join(c, " ") != "show" {
		t.Errorf("agent called for %v, want show only (no `version` when show has agentVersion)", c)
	}
	// An agent whose show --json lacks agentVersion: `version` fills it in.
	g := newShowFake(t)
	r = g.run(t, ProbeStep(g.host("linux")).Command, nil, "FAKE_SHOW="+prettyShow(t, map[string]any{"status": "Disconnected"}))
	if s, _ := ParseProbe(r.stdout); s.AgentVersion != "1.9.1234.5" {
		t.Errorf("without agentVersion in show: version %q, want the one `version` printed", s.AgentVersion)
	}
	if c := g.calls(t); strings.Join(c, " ") != "show version" {
		t.Errorf("agent called for %v, want show then version", c)
	}
}

func TestConnectPrecondition(t *testing.T) {
	t.Parallel()
	connected := map[string]any{"status": "Connected", "resourceId": testResourceID, "agentVersion": "1.50.1", "location": "westeurope"}
	cases := []struct {
		name     string
		show     string
		showExit string
		expect   string
		acts     bool   // connect runs
		why      string // in the refusal
	}{
		{name: "unregistered", show: prettyShow(t, map[string]any{"status": "Disconnected", "resourceId": "", "agentVersion": "1.50.1", "tags": map[string]string{"Cost Center": "a, b"}}), expect: ExpectUnregistered, acts: true},
		{name: "one line", show: `{"status":"Disconnected","resourceId":"","agentVersion":"1.50.1"}`, expect: ExpectUnregistered, acts: true},
		{name: "connected", show: prettyShow(t, connected), expect: ExpectUnregistered, why: "status, resourceId"},
		{name: "expired", show: prettyShow(t, map[string]any{"status": "Expired", "resourceId": testResourceID}), expect: ExpectUnregistered, why: "status, resourceId"},
		{name: "resource id left", show: prettyShow(t, map[string]any{"status": "Disconnected", "resourceId": testResourceID}), expect: ExpectUnregistered, why: "resourceId"},
		{name: "no resourceId key", show: prettyShow(t, map[string]any{"status": "Disconnected"}), expect: ExpectUnregistered, why: "resourceId"},
		// A tag value cannot fake the match: its quotes are escaped.
		{name: "tag injection", show: prettyShow(t, map[string]any{"status": "Connected", "resourceId": testResourceID,
			"tags": map[string]string{"x": `","status":"Disconnected","resourceId":"","y":"`}}), expect: ExpectUnregistered, why: "status, resourceId"},
		// Nor can tag keys: the agent's own keys come first.
		{name: "tag keys", show: prettyShow(t, map[string]any{"status": "Connected", "resourceId": testResourceID,
			"tags": map[string]string{"status": "Disconnected", "resourceId": ""}}), expect: ExpectUnregistered, why: "status, resourceId"},
		{name: "show fails", show: `{"status":"Disconnected","resourceId":""}`, showExit: "70", expect: ExpectUnregistered, why: "show: 70"},
		{name: "no JSON", show: "", expect: ExpectUnregistered, why: "status, resourceId"},
		// No precondition (after a probe): show is not run again.
		{name: "none", show: prettyShow(t, connected), acts: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newShowFake(t)
			h := f.host("linux")
			st := ConnectStep(h)
			if !SupportsPrecondition(st) {
				t.Fatal("the connect step does not check a precondition")
			}
			in := InputExpect("run-a", time.Minute, 0, c.expect, AgentConfig(h, testCred(), sentinel))
			env := []string{"FAKE_SHOW=" + c.show}
			if c.showExit != "" {
				env = append(env, "FAKE_SHOW_EXIT="+c.showExit)
			}
			cmd, so, se := f.startRaw(t, st.Command, in, env...)
			r := waitResult(t, cmd, so, se)
			calls := strings.Join(f.calls(t), " ")
			show, rest, found, perr := CutStepShow(r.stdout)
			why, refused := StateChanged(r.stderr)
			owner, _ := os.ReadFile(filepath.Join(f.dir, "state", "owner"))
			last, _ := os.ReadFile(filepath.Join(f.dir, "state", "last"))
			if c.acts {
				if r.exit != 0 || refused {
					t.Fatalf("exit %d, refused %v (%s): %s", r.exit, refused, why, r.stderr)
				}
				want := "show connect"
				if c.expect == "" {
					want = "connect"
				}
				if calls != want {
					t.Errorf("agent called for %q, want %q", calls, want)
				}
				if !strings.Contains(string(last), "step=connect exit=0") {
					t.Errorf("last record %q", last)
				}
				if c.expect != "" && (!found || perr != nil || show.Status != "Disconnected" || show.AgentVersion != "1.50.1") {
					t.Errorf("CutStepShow = %+v, %v, %v", show, found, perr)
				}
				if c.expect == "" && found {
					t.Errorf("a step without precondition printed a show line: %q", r.stdout)
				}
				if strings.Contains(rest, ShowMarker) || strings.Contains(rest, LastMarker) || !strings.Contains(rest, `"status":"Succeeded"`) {
					t.Errorf("the agent's own stdout after CutStepShow: %q", rest)
				}
			} else {
				if r.exit != ExitStateChanged || !refused || !strings.Contains(why, c.why) {
					t.Fatalf("exit %d, refused %v (%q, want it to name %q): %s", r.exit, refused, why, c.why, r.stderr)
				}
				if strings.Contains(calls, "connect") {
					t.Errorf("the agent was asked to connect after a refusal: %q", calls)
				}
				// Refused before it became the host's owner: no lease, no last step.
				if len(owner) != 0 || len(last) != 0 {
					t.Errorf("a refused step left owner %q, last %q", owner, last)
				}
				if c.name == "connected" && (!found || show.ResourceID != testResourceID || show.Status != "Connected") {
					t.Errorf("CutStepShow = %+v, %v, %v", show, found, perr)
				}
			}
			f.assertTmpEmpty(t)
		})
	}
}

// A refused step's lock is free at once: the next step of another run takes
// the host without waiting (no lease was written).
func TestRefusedConnectLeavesHostFree(t *testing.T) {
	t.Parallel()
	f := newShowFake(t)
	h := f.host("linux")
	st := ConnectStep(h)
	env := "FAKE_SHOW=" + `{"status":"Connected","resourceId":"` + testResourceID + `"}`
	cmd, so, se := f.startRaw(t, st.Command, InputExpect("run-a", time.Minute, 0, ExpectUnregistered, AgentConfig(h, testCred(), sentinel)), env)
	if r := waitResult(t, cmd, so, se); r.exit != ExitStateChanged {
		t.Fatalf("exit %d: %s", r.exit, r.stderr)
	}
	start := time.Now()
	cmd, so, se = f.startRaw(t, st.Command, Input("run-b", time.Minute, 0, LastStep{}, AgentConfig(h, testCred(), sentinel)), env)
	if r := waitResult(t, cmd, so, se); r.exit != 0 || Busy(r.stderr) != "" {
		t.Fatalf("another run's connect after a refusal: exit %d: %s", r.exit, r.stderr)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("the next run waited %v for the host", d)
	}
}

func TestInputExpect(t *testing.T) {
	in := string(InputExpect("r1", 90*time.Second, 30*time.Second, ExpectUnregistered, []byte("{}\n")))
	if want := "arcfleet r1 90 30 ? unregistered\n{}\n" + InputEnd + "\n"; in != want {
		t.Errorf("InputExpect = %q, want %q", in, want)
	}
	if in := string(InputExpect("r1", time.Second, 0, "", nil)); in != "arcfleet r1 1 0 ?\n" {
		t.Errorf("without expect: %q", in)
	}
	h := &inventory.Host{Name: "h1", OS: "linux"}
	old := ConnectStep(h).Script
	if !SupportsPrecondition(Step{Name: StepConnect, Script: old}) || SupportsPrecondition(Step{Name: StepConnect, Script: "# arcfleet connect\n"}) ||
		SupportsPrecondition(ProbeStep(h)) {
		t.Error("SupportsPrecondition: wrong for the current connect step, an older one, or the probe")
	}
}
