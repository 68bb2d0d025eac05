package executor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/internal/transport/ssh"
	"github.com/arcfleet/arcfleet/internal/transport/winrm"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
	"github.com/arcfleet/arcfleet/testbed/winrmtest"
)

// mixedKind is a scripted behaviour of one host in the mixed fleet.
type mixedKind struct {
	scenario string // the host's scenario entry, without the secret check
	want     mixedWant
}

type mixedWant struct {
	outcome  results.Outcome
	code     string
	connects int
	restarts int
	dials    int // failed dials
}

// The mixed fleet's behaviours. Every agent accepts only the real SP secret
// (accept_secret_sha256), so "bad" hosts, given another credential, fail AZCM0041.
var mixedKinds = map[string]mixedKind{
	"ok":        {"connect: {slow: 2s}", mixedWant{results.OutcomeOK, "AZCM0000", 1, 0, 0}},
	"fast":      {"", mixedWant{results.OutcomeOK, "AZCM0000", 1, 0, 0}},
	"flaky":     {"connect: {code: AZCM0026, fail_first: 2, slow: 100ms}", mixedWant{results.OutcomeOK, "AZCM0000", 3, 0, 0}},
	"exists":    {"resource_exists: true", mixedWant{results.OutcomeFailed, "AZCM0044", 1, 0, 0}},
	"bad":       {"", mixedWant{results.OutcomeFailed, "AZCM0041", 1, 0, 0}},
	"bad-late":  {"", mixedWant{results.OutcomeNotStarted, "ARCF-BREAKER-OPEN", 0, 0, 0}}, // after the breaker opened
	"slow":      {"connect: {slow: 2500ms}", mixedWant{results.OutcomeOK, "AZCM0000", 1, 0, 0}},
	"unreach":   {"", mixedWant{results.OutcomeFailed, "TRANSPORT-UNREACHABLE", 0, 0, DefaultMaxAttempts}},
	"connected": {"", mixedWant{results.OutcomeUnchanged, "", 0, 0, 0}},
	"service":   {"service_down: true", mixedWant{results.OutcomeOK, "AZCM0000", 2, 1, 0}},
}

// mixedFleet is the plan order: 40 Linux hosts (sshd) and 10 Windows hosts
// (WinRM), interleaved. In the first half most connects take 2 s, so the
// concurrency limit binds; in the second most are fast, so the start rate
// binds. The first three "bad" hosts come early: the breaker (threshold 3) is
// open long before the other four are launched.
var mixedFleet = []struct{ os, kind, auth string }{
	{"linux", "slow", ""}, {"linux", "bad", ""}, {"windows", "ok", "ntlm"}, {"linux", "bad", ""}, {"linux", "ok", ""},
	{"linux", "bad", ""}, {"windows", "flaky", "ntlm"}, {"linux", "flaky", ""}, {"linux", "ok", ""}, {"linux", "unreach", ""},
	{"windows", "service", "ntlm"}, {"linux", "ok", ""}, {"linux", "exists", ""}, {"linux", "ok", ""}, {"windows", "ok", "basic"},
	{"linux", "connected", ""}, {"linux", "ok", ""}, {"linux", "ok", ""}, {"windows", "unreach", "ntlm"}, {"linux", "ok", ""},
	{"linux", "flaky", ""}, {"linux", "ok", ""}, {"windows", "exists", "ntlm"}, {"linux", "ok", ""}, {"linux", "service", ""},
	{"linux", "fast", ""}, {"windows", "connected", "ntlm"}, {"linux", "fast", ""}, {"linux", "slow", ""}, {"linux", "bad-late", ""},
	{"linux", "fast", ""}, {"windows", "fast", "ntlm"}, {"linux", "fast", ""}, {"linux", "exists", ""}, {"linux", "fast", ""},
	{"linux", "bad-late", ""}, {"linux", "fast", ""}, {"windows", "fast", "basic"}, {"linux", "fast", ""}, {"linux", "flaky", ""},
	{"linux", "connected", ""}, {"linux", "bad-late", ""}, {"linux", "fast", ""}, {"linux", "fast", ""}, {"linux", "unreach", ""},
	{"linux", "fast", ""}, {"windows", "bad-late", "ntlm"}, {"linux", "fast", ""}, {"linux", "fast", ""}, {"linux", "fast", ""},
}

// linuxInvHost is the inventory host of an sshd test host.
func linuxInvHost(sh *sshtest.Host) inventory.Host {
	return inventory.Host{Name: sh.Name, Address: sh.Address, Port: sh.Port, OS: "linux", Transport: "ssh", Credential: "sp",
		Azure: inventory.Azure{SubscriptionID: e2eSub, ResourceGroup: e2eRG, Location: "westeurope", TenantID: e2eTenant},
		SSH:   inventory.SSH{User: sh.User, IdentityFile: sh.IdentityFile, KnownHosts: sh.KnownHostsFile, HostKeyPolicy: "strict"},
		Agent: inventory.Agent{Path: sh.AgentPath, Log: sh.AgentLog}}
}

// interval is one agent command's run on one host, from the simulator's record.
type interval struct {
	host, cmd  string
	start, end time.Time
}

// intervals pairs the record's start and end lines by pid. A start without an
// end (a killed agent) is returned in open.
func intervals(recs []simRecord) (done []interval, open []simRecord) {
	starts := map[int]simRecord{}
	for _, r := range recs {
		switch r.Event {
		case "start":
			starts[r.Pid] = r
		case "end":
			if s, ok := starts[r.Pid]; ok {
				done = append(done, interval{host: s.Host, cmd: s.Cmd, start: s.T, end: r.T})
				delete(starts, r.Pid)
			}
		}
	}
	for _, s := range starts {
		open = append(open, s)
	}
	return done, open
}

// peakHosts is the largest number of hosts running an agent command at one instant.
func peakHosts(iv []interval) (peak int, at time.Time) {
	type edge struct {
		t     time.Time
		host  string
		delta int
	}
	var es []edge
	for _, v := range iv {
		es = append(es, edge{v.start, v.host, 1}, edge{v.end, v.host, -1})
	}
	// Ends before starts at the same instant: touching intervals do not overlap.
	sort.Slice(es, func(i, j int) bool {
		if es[i].t.Equal(es[j].t) {
			return es[i].delta < es[j].delta
		}
		return es[i].t.Before(es[j].t)
	})
	running := map[string]int{}
	for _, e := range es {
		running[e.host] += e.delta
		if running[e.host] == 0 {
			delete(running, e.host)
		}
		if len(running) > peak {
			peak, at = len(running), e.t
		}
	}
	return peak, at
}

// maxPerWindow is the most times in any window of length w (half-open).
func maxPerWindow(ts []time.Time, w time.Duration) (max int, at time.Time) {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	j := 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		if n := i - j + 1; n > max {
			max, at = n, ts[j]
		}
	}
	return max, at
}

func TestE2EMixedLinuxWindowsFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	if why := sshtest.Available(); why != "" {
		t.Skip(why)
	}
	const (
		concurrency = 6
		rate        = 4
		burst       = 1
	)
	// Names in plan order.
	names := make([]string, len(mixedFleet))
	nl, nw := 0, 0
	for i, m := range mixedFleet {
		if m.os == "linux" {
			nl++
			names[i] = fmt.Sprintf("lin-%02d", nl) // as sshtest numbers them
		} else {
			nw++
			names[i] = fmt.Sprintf("win-%d", nw)
		}
	}
	if nl != 40 || nw != 10 {
		t.Fatalf("fleet table: %d linux, %d windows", nl, nw)
	}
	sum := sha256.Sum256([]byte(execSentinel))
	connected := fmt.Sprintf("initial: {status: Connected, subscription_id: %s, resource_group: %s, location: westeurope, tenant_id: %s}", e2eSub, e2eRG, e2eTenant)
	var scen strings.Builder
	scen.WriteString("hosts:\n")
	for i, m := range mixedFleet {
		entry := "accept_secret_sha256: " + hex.EncodeToString(sum[:])
		if s := mixedKinds[m.kind].scenario; s != "" {
			entry += ", " + s
		}
		if m.kind == "connected" {
			entry += ", " + connected
		}
		fmt.Fprintf(&scen, "  %s: {%s}\n", names[i], entry)
	}

	w := newWinEnv(t, scen.String(), "")
	// The Linux hosts' scripts make their private config dirs here, not in the
	// shared /tmp, so the test can see that none is left behind.
	linTmp := filepath.Join(t.TempDir(), "tmp")
	if err := os.MkdirAll(linTmp, 0o755); err != nil || os.Chmod(linTmp, 0o1777) != nil || os.Chmod(filepath.Dir(linTmp), 0o755) != nil {
		t.Fatal("Linux hosts' TMPDIR: ", err)
	}
	fleet := sshtest.StartFleet(t, nl, sshtest.FleetOptions{AgentBinary: w.sim, NamePrefix: "lin-",
		Env: map[string]string{"AZCMAGENT_SIM_SCENARIO": w.scen, "TMPDIR": linTmp}})
	w.record = fleet.RecordFile // one record for the whole fleet
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, w.ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}

	var hosts []inventory.Host
	win := map[string]*winHost{}
	for i, m := range mixedFleet {
		var h inventory.Host
		switch {
		case m.os == "linux" && m.kind == "unreach":
			sh := fleet.Host(names[i])
			h = linuxInvHost(sh)
			h.Address, h.Port = "127.0.0.1", closedPort(t)
		case m.os == "linux":
			h = linuxInvHost(fleet.Host(names[i]))
		case m.kind == "unreach":
			h = inventory.Host{Name: names[i], Address: "127.0.0.1", Port: closedPort(t), OS: "windows", Transport: "winrm", Credential: "sp",
				Azure: inventory.Azure{SubscriptionID: e2eSub, ResourceGroup: e2eRG, Location: "westeurope", TenantID: e2eTenant},
				WinRM: inventory.WinRM{User: "arcfleet", Password: inventory.SecretRef{Env: "ARC_WINRM_PASSWORD"}, Auth: m.auth, HTTPS: true, CAFile: caFile}}
		default:
			wh := w.start(t, names[i], winrmtest.Options{})
			win[names[i]] = wh
			h = wh.invHost(m.auth)
			h.Azure.Tags = nil
		}
		if strings.HasPrefix(m.kind, "bad") {
			h.Credential = "sp-bad"
		}
		hosts = append(hosts, h)
	}
	p := planOf(agent.ActionConnect, hosts...)

	x := winExecutor(transport.Mux{SSH: &ssh.Dialer{}, WinRM: &winrm.Dialer{}})
	x.Concurrency, x.Rate, x.Burst = concurrency, rate, burst
	watch := watchProcs(t, execSentinel, winPassword, "other-secret-value")
	dir := t.TempDir()
	t0 := time.Now()
	rep, err := x.Apply(context.Background(), p, dir)
	watch.end(t)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d hosts (%d linux over sshd, %d windows over WinRM) in %s", len(hosts), nl, nw, time.Since(t0).Round(time.Millisecond))

	// Each host: final outcome, code, and attempt counts.
	for i, h := range rep.Hosts {
		m := mixedFleet[i]
		want := mixedKinds[m.kind].want
		got := mixedWant{h.Outcome, h.FinalCode, exCount(h, agent.StepConnect), exCount(h, agent.StepRestartService), exCount(h, "dial")}
		if h.Name != names[i] || got != want {
			t.Errorf("%s (%s %s): %+v (%s); want %+v", h.Name, m.os, m.kind, got, h.Detail, want)
		}
		if m.kind == "bad-late" && !strings.Contains(h.Detail, "circuit breaker open for credential sp-bad") {
			t.Errorf("%s: not started, but %q does not name the breaker", h.Name, h.Detail)
		}
	}
	if got := rep.BreakerOpen; len(got) != 1 || !strings.HasPrefix(got[0], "sp-bad") || rep.ExitCode() != 4 {
		t.Errorf("breaker open for %v, exit %d; want sp-bad only, exit 4", got, rep.ExitCode())
	}
	// Windows hosts that acted ended connected in their own simulator state.
	for i, m := range mixedFleet {
		if wh := win[names[i]]; wh != nil && mixedKinds[m.kind].want.outcome == results.OutcomeOK {
			if s := readSimState(t, wh.root); s.Status != "Connected" || s.ResourceGroup != e2eRG {
				t.Errorf("%s: agent state %+v", wh.name, s)
			}
		}
	}

	// The simulator's shared record: concurrency and start rate.
	recs := readRecord(t, fleet.RecordFile)
	iv, open := intervals(recs)
	if len(open) > 0 {
		t.Errorf("agent commands that never ended: %+v", open)
	}
	peak, peakAt := peakHosts(iv)
	if peak > concurrency || peak < concurrency-1 {
		t.Errorf("hosts running an agent command at once: peak %d at %s; want <= %d (and the limit reached or nearly)", peak, peakAt.Format("15:04:05.000"), concurrency)
	}
	var simStarts []time.Time
	seen := map[string]bool{}
	for _, v := range iv {
		seen[v.host] = true
		if v.cmd == "connect" || v.cmd == "disconnect" {
			simStarts = append(simStarts, v.start)
		}
	}
	// The executor's own start times (taken right after the rate token) obey the
	// bucket exactly: at most rate+burst in any second.
	var xStarts []time.Time
	for _, h := range rep.Hosts {
		for _, a := range h.Attempts {
			if a.Step == agent.StepConnect || a.Step == agent.StepDisconnect || a.Step == agent.StepDisconnectLocal {
				xStarts = append(xStarts, a.Started)
			}
		}
	}
	xMax, xAt := maxPerWindow(xStarts, time.Second)
	if xMax > rate+burst {
		t.Errorf("arcfleet started %d agent actions within one second from %s; want <= %d", xMax, xAt.Format("15:04:05.000"), rate+burst)
	}
	// The agents see each start a transport round trip later, which varies by
	// host and protocol; one token interval (1/rate) of that jitter is allowed.
	simMax, simAt := maxPerWindow(simStarts, time.Second)
	if simMax > rate+burst+1 {
		t.Errorf("agents started %d actions within one second from %s; want <= %d", simMax, simAt.Format("15:04:05.000"), rate+burst+1)
	}
	if simMax < rate-1 {
		t.Errorf("at most %d actions per second: the rate limit was never reached, so the check proves nothing", simMax)
	}
	if len(simStarts) != len(xStarts) || len(simStarts) < 45 {
		t.Errorf("%d agent actions recorded by the simulators, %d by arcfleet", len(simStarts), len(xStarts))
	}
	t.Logf("agent actions %d; peak hosts in an agent command %d (limit %d); most starts per second: arcfleet %d, agents %d (rate %d, burst %d)",
		len(simStarts), peak, concurrency, xMax, simMax, rate, burst)

	// A slow host never held up the others: while each 2.5 s connect ran,
	// other hosts' connects started and finished.
	for i, m := range mixedFleet {
		if m.kind != "slow" {
			continue
		}
		var slow *interval
		for k := range iv {
			if iv[k].host == names[i] && iv[k].cmd == "connect" {
				slow = &iv[k]
			}
		}
		if slow == nil {
			t.Errorf("%s: no connect in the record", names[i])
			continue
		}
		others := 0
		for _, v := range iv {
			if v.host != names[i] && v.cmd == "connect" && v.start.After(slow.start) && v.end.Before(slow.end) {
				others++
			}
		}
		if others < 5 {
			t.Errorf("%s: only %d other connects ran while its slow connect did (%s..%s)", names[i], others, slow.start.Format("05.000"), slow.end.Format("05.000"))
			for _, v := range iv {
				if v.end.After(slow.start) && v.start.Before(slow.end) {
					t.Logf("  %s %s %s..%s", v.host, v.cmd, v.start.Format("05.000"), v.end.Format("05.000"))
				}
			}
		}
	}
	// Unreachable and not-started hosts never ran an agent command; all others did.
	for i, m := range mixedFleet {
		if want := m.kind != "unreach" && m.kind != "bad-late"; seen[names[i]] != want {
			t.Errorf("%s (%s): ran agent commands %v, want %v", names[i], m.kind, seen[names[i]], want)
		}
	}
	if watch.seen == 0 {
		t.Error("the process watch never saw an agent: it proves nothing")
	}
	noSecretUnder(t, dir, execSentinel, winPassword, "other-secret-value")
	for _, wh := range win {
		noSecretUnder(t, wh.dir, execSentinel, winPassword, "other-secret-value")
	}
	noSecretUnder(t, fleet.Dir, execSentinel, winPassword, "other-secret-value")
	if ents, _ := os.ReadDir(linTmp); len(ents) > 0 {
		t.Errorf("%d config dirs left in the Linux hosts' TMPDIR", len(ents))
	}
	for _, wh := range win {
		if ents, _ := os.ReadDir(wh.tmp); len(ents) > 0 {
			t.Errorf("%s: %d config dirs left in its TMPDIR", wh.name, len(ents))
		}
	}
}

// TestBreakerAfterRateWait: hosts queued for the start-rate token when the
// breaker opens must not act. With every host launched at once (concurrency 8),
// all pass their launch check together; only the check made after the token
// stops the 4th and later, which would otherwise each try the bad secret again.
func TestBreakerAfterRateWait(t *testing.T) {
	f := newExFleet()
	var names []string
	for i := range 8 {
		n := fmt.Sprintf("bad%d", i+1)
		f.add(n, &exHost{exits: map[string][]int{agent.StepConnect: {41}}})
		names = append(names, n)
	}
	x := exExecutor(f)
	x.Concurrency = 8
	x.Rate = 10 // real timer: actions 100 ms apart, ample for a fake failure to finish
	rep, err := x.Apply(context.Background(), exPlan(agent.ActionConnect, names...), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	acted := 0
	count := map[results.Outcome]int{}
	for _, h := range rep.Hosts {
		count[h.Outcome]++
		acted += f.runsOf(h.Name, agent.StepConnect)
	}
	if acted != DefaultBreakerThreshold || count[results.OutcomeFailed] != DefaultBreakerThreshold || count[results.OutcomeNotStarted] != 8-DefaultBreakerThreshold {
		t.Errorf("%d hosts ran connect with the bad secret, outcomes %v; want %d, then the breaker", acted, count, DefaultBreakerThreshold)
	}
}
