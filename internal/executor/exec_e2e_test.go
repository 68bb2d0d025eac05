package executor

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/plan"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport/ssh"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
)

// End-to-end: real OpenSSH sshd hosts (testbed/sshtest) with the agent
// simulator installed, arcfleet's real scripts, ssh transport and classifier.

const (
	e2eSub    = "11111111-2222-3333-4444-555555555555"
	e2eTenant = "99999999-8888-7777-6666-555555555555"
	e2eRG     = "rg-arc"
)

// e2eFleet starts n sshd hosts logging in as the plain test user, whose agents
// follow scenario (a fleet scenario YAML), and a plan of action over them.
func e2eFleet(t *testing.T, n int, scenario, action string) (*sshtest.Fleet, *plan.Plan) {
	t.Helper()
	return e2eFleetAs(t, n, sshtest.LoginTest, scenario, action, nil)
}

// e2eFleetAs starts n hosts (host-1..) logging in as login, whose agents follow
// scenario (a fleet scenario), and a plan of action over them; edit adjusts
// each host's inventory entry before its steps are built.
func e2eFleetAs(t *testing.T, n int, login sshtest.Login, scenario, action string, edit func(h *inventory.Host)) (*sshtest.Fleet, *plan.Plan) {
	t.Helper()
	skipUnlessE2E(t, login)
	sim := sshtest.BuildSim(t)
	scen := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(scen, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	f := sshtest.StartFleet(t, n, sshtest.FleetOptions{AgentBinary: sim, Login: login, Env: map[string]string{"AZCMAGENT_SIM_SCENARIO": scen}})
	p := &plan.Plan{FormatVersion: plan.PlanFormatVersion, Action: action, Inventory: "e2e.yaml", InventoryDigest: "sha256:e2e", CreatedAt: time.Now(),
		Credentials: map[string]inventory.Credential{
			"sp": {Name: "sp", ClientID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", TenantID: e2eTenant, Secret: inventory.SecretRef{Env: "ARC_SP_SECRET"}},
		}}
	for _, sh := range f.Hosts {
		h := inventory.Host{Name: sh.Name, Address: sh.Address, Port: sh.Port, OS: "linux", Transport: "ssh", Credential: "sp",
			Azure: inventory.Azure{SubscriptionID: e2eSub, ResourceGroup: e2eRG, Location: "westeurope", TenantID: e2eTenant},
			SSH:   inventory.SSH{User: sh.User, IdentityFile: sh.IdentityFile, KnownHosts: sh.KnownHostsFile, HostKeyPolicy: "strict"},
			Agent: inventory.Agent{Path: sh.AgentPath, Log: sh.AgentLog}}
		if login == sshtest.LoginSudo {
			h.SSH.Become = "sudo"
		}
		if edit != nil {
			edit(&h)
		}
		p.Hosts = append(p.Hosts, plan.HostPlan{Host: h, Steps: agent.HostSteps(&h, action), Recovery: []agent.Step{agent.RestartServiceStep(&h), agent.StopStep(&h)}})
	}
	return f, p
}
func e2eExecutor() *Executor {
	return &Executor{
		Dialer:      &ssh.Dialer{},
		LookupEnv:   exEnv,
		Concurrency: 8,
		Timeout:     30 * time.Second,
		// Backoff and service waits shortened 200-fold; their logic is unit-tested.
		Sleep: func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d / 200)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		},
	}
}

type simRecord struct {
	Host  string    `json:"host"`
	Cmd   string    `json:"cmd"`
	Pid   int       `json:"pid"`
	Event string    `json:"event"`
	T     time.Time `json:"t"`
	Exit  *int      `json:"exit"`
}

func readRecord(t *testing.T, path string) []simRecord {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var recs []simRecord
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		var r simRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("record line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

func TestE2EMixedFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	const n = 50
	name := func(i int) string { return fmt.Sprintf("host-%02d", i) }
	scenario := fmt.Sprintf(`default:
  slow: 100ms
hosts:
  %s: {slow: 100ms, connect: {code: AZCM0026, fail_first: 2}}
  %s: {slow: 100ms, service_down: true}
  %s: {slow: 100ms, succeed_after_disconnect: true}
  %s: {slow: 100ms, resource_exists: true}
  %s: {initial: {status: Connected, subscription_id: %s, resource_group: %s, location: westeurope, tenant_id: %s}}
  %s: {initial: {status: Connected, subscription_id: %s, resource_group: rg-other, location: eastus, tenant_id: %s}}
  %s: {slow: 100ms, created_then_fail: true}
  %s: {slow: 100ms, connect: {code: AZCM0013}}
  %s: {slow: 100ms, connect: {code: AZCM0026}}
  %s: {slow: 100ms, old_format: true, connect: {code: AZCM0041}}
`, name(41), name(42), name(43), name(44), name(45), e2eSub, e2eRG, e2eTenant, name(46), e2eSub, e2eTenant, name(47), name(48), name(49), name(50))
	fleet, p := e2eFleet(t, n, scenario, agent.ActionConnect)
	for i, h := range fleet.Hosts {
		if h.Name != name(i+1) {
			t.Fatalf("fleet host %d is %s, the scenario names %s", i+1, h.Name, name(i+1))
		}
	}
	x := e2eExecutor()
	x.Rate = 10
	dir := t.TempDir()
	start := time.Now()
	rep, err := x.Apply(context.Background(), p, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d hosts in %s", n, time.Since(start).Round(time.Millisecond))

	type want struct {
		outcome  results.Outcome
		code     string
		connects int
	}
	wants := map[string]want{
		name(41): {results.OutcomeOK, "AZCM0000", 3},                      // transient twice, then ok
		name(42): {results.OutcomeOK, "AZCM0000", 2},                      // AZCM0064: restart the service, retry
		name(43): {results.OutcomeOK, "AZCM0000", 2},                      // AZCM0081 (GPO): disconnect, connect again
		name(44): {results.OutcomeFailed, "AZCM0044", 1},                  // name exists: not retried
		name(45): {results.OutcomeUnchanged, "", 0},                       // already connected to the target
		name(46): {results.OutcomeBlocked, "ARCF-DRIFT", 0},               // drift
		name(47): {results.OutcomeOK, "AZCM0000", 2},                      // AZCM0062 after the resource was created
		name(48): {results.OutcomeFailed, "AZCM0013", 1},                  // input
		name(49): {results.OutcomeFailed, "AZCM0026", 3},                  // transient every time: cap
		name(50): {results.OutcomeFailed, "MSG-INVALID-CLIENT-SECRET", 1}, // old agent, message only
	}
	for i := 1; i <= 40; i++ {
		wants[name(i)] = want{results.OutcomeOK, "AZCM0000", 1}
	}
	for _, h := range rep.Hosts {
		w := wants[h.Name]
		if h.Outcome != w.outcome || h.FinalCode != w.code || exCount(h, agent.StepConnect) != w.connects {
			t.Errorf("%s: %s %s with %d connects (%s); want %s %s with %d", h.Name, h.Outcome, h.FinalCode, exCount(h, agent.StepConnect), h.Detail, w.outcome, w.code, w.connects)
		}
	}
	if d := exResult(rep, name(46)).Detail; !strings.Contains(d, "rg-other") || !strings.Contains(d, e2eRG) {
		t.Errorf("drift detail lacks both targets: %q", d)
	}
	if got := fleet.Host(name(42)); got != nil && exCount(exResult(rep, name(42)), agent.StepRestartService) != 1 {
		t.Errorf("%s: restart-agent-service ran %d times, want 1", name(42), exCount(exResult(rep, name(42)), agent.StepRestartService))
	}

	// The simulator's record: concurrency never above the limit, the start rate held.
	recs := readRecord(t, fleet.RecordFile)
	sort.Slice(recs, func(i, j int) bool { return recs[i].T.Before(recs[j].T) })
	inflight, peak := map[string]int{}, 0
	var actionStarts []time.Time
	for _, r := range recs {
		if r.Cmd == "version" || r.Cmd == "service restart" {
			continue
		}
		switch r.Event {
		case "start":
			inflight[r.Host]++
			if r.Cmd == "connect" || r.Cmd == "disconnect" {
				actionStarts = append(actionStarts, r.T)
			}
		case "end":
			inflight[r.Host]--
			if inflight[r.Host] == 0 {
				delete(inflight, r.Host)
			}
		}
		if len(inflight) > peak {
			peak = len(inflight)
		}
	}
	if peak > x.Concurrency || peak < 2 {
		t.Errorf("hosts running an agent command at once: peak %d, want 2..%d", peak, x.Concurrency)
	}
	// In any one-second window at most Rate+1 actions (connect, disconnect) start (burst 1), plus one
	// for the time between the start-rate token and the attempt's start. The
	// times are the controller's (the attempts' Started, taken right after the
	// token): the agents' own start times also carry the hosts' scheduling,
	// which on a loaded 2-core machine bunches starts the controller spaced.
	// Without the limit, 8 hosts start together and dozens per second.
	var ctlStarts []time.Time
	for _, h := range rep.Hosts {
		for _, a := range h.Attempts {
			if a.Step == agent.StepConnect || a.Step == agent.StepDisconnect || a.Step == agent.StepDisconnectLocal {
				ctlStarts = append(ctlStarts, a.Started)
			}
		}
	}
	sort.Slice(ctlStarts, func(i, j int) bool { return ctlStarts[i].Before(ctlStarts[j]) })
	if len(ctlStarts) != len(actionStarts) {
		t.Errorf("the report has %d connect/disconnect attempts, the agents recorded %d", len(ctlStarts), len(actionStarts))
	}
	for i := range ctlStarts {
		k := 0
		for j := i; j < len(ctlStarts) && ctlStarts[j].Sub(ctlStarts[i]) < time.Second; j++ {
			k++
		}
		if max := int(x.Rate) + 2; k > max {
			t.Fatalf("%d agent actions started within one second from %s, want <= %d at %v/s", k, ctlStarts[i].Format("15:04:05.000"), max, x.Rate)
		}
	}
	if len(actionStarts) < 55 {
		t.Errorf("only %d agent actions recorded", len(actionStarts))
	}
	assertNoSecret(t, dir)
}

func TestE2EReconnectGPOBroken(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	initial := fmt.Sprintf("{status: Connected, subscription_id: %s, resource_group: %s, location: westeurope, tenant_id: %s}", e2eSub, e2eRG, e2eTenant)
	scenario := fmt.Sprintf(`default: {gpo_broken_identity: true, initial: %s}
hosts:
  host-4: {initial: %s}
  host-5: {}
`, initial, initial)
	_, p := e2eFleet(t, 5, scenario, agent.ActionReconnect)
	rep, err := e2eExecutor().Apply(context.Background(), p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range rep.Hosts {
		if h.Outcome != results.OutcomeOK {
			t.Errorf("%s: %s %s (%s)", h.Name, h.Outcome, h.FinalCode, h.Detail)
		}
		local := exCount(h, agent.StepDisconnectLocal)
		switch h.Name {
		case "host-4": // healthy: the SP disconnect works
			if exCount(h, agent.StepDisconnect) != 1 || local != 0 {
				t.Errorf("%s: attempts %+v", h.Name, h.Attempts)
			}
		case "host-5": // not connected: just connect
			if exCount(h, agent.StepDisconnect) != 0 || exCount(h, agent.StepConnect) != 1 {
				t.Errorf("%s: attempts %+v", h.Name, h.Attempts)
			}
		default: // GPO-broken identity: the service principal's disconnect deletes the resource, then connect
			if exCount(h, agent.StepDisconnect) != 1 || local != 0 || exCount(h, agent.StepConnect) != 1 {
				t.Errorf("%s: attempts %+v", h.Name, h.Attempts)
			}
		}
	}
	if rep.ExitCode() != 0 {
		t.Errorf("exit %d", rep.ExitCode())
	}
}

func TestE2EBreakerBadSecret(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	// Every agent accepts only another secret: ours is wrong everywhere.
	_, p := e2eFleet(t, 7, "default: {accept_secret_sha256: 0000000000000000000000000000000000000000000000000000000000000000}\n", agent.ActionConnect)
	x := e2eExecutor()
	x.Concurrency = 1
	dir := t.TempDir()
	rep, err := x.Apply(context.Background(), p, dir)
	if err != nil {
		t.Fatal(err)
	}
	count := map[results.Outcome]int{}
	for _, h := range rep.Hosts {
		count[h.Outcome]++
		if h.Outcome == results.OutcomeFailed && h.FinalCode != "AZCM0041" {
			t.Errorf("%s: %s", h.Name, h.FinalCode)
		}
	}
	if count[results.OutcomeFailed] != 3 || count[results.OutcomeNotStarted] != 4 || rep.ExitCode() != 4 {
		t.Errorf("outcomes %v exit %d; want 3 failed, 4 not started, exit 4", count, rep.ExitCode())
	}
	assertNoSecret(t, dir)
}

func TestE2EInterruptAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	// host-3 and host-4 hang in connect on their first attempt.
	scenario := `default: {slow: 50ms}
hosts:
  host-3: {connect: {attempts: {1: {hang: true}}}}
  host-4: {connect: {attempts: {1: {hang: true}}}}
`
	fleet, p := e2eFleet(t, 8, scenario, agent.ActionConnect)
	x := e2eExecutor()
	x.Concurrency = 4
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	x.Events = func(e Event) {
		if e.Kind == EventDone && e.Host == "host-2" {
			// host-3 and host-4 are hanging by now; interrupt the run (SIGINT in the CLI).
			once.Do(func() { go func() { time.Sleep(700 * time.Millisecond); cancel() }() })
		}
	}
	dir := t.TempDir()
	rep, err := x.Apply(ctx, p, dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ExitCode() != 130 || exResult(rep, "host-3").Outcome != results.OutcomeInterrupted {
		t.Fatalf("exit %d, host-3 %s", rep.ExitCode(), exResult(rep, "host-3").Outcome)
	}
	if _, err := os.Stat(filepath.Join(dir, results.ReportJSONFile)); err != nil {
		t.Error("no partial report")
	}
	// Nothing of the agent is left running on any host.
	time.Sleep(300 * time.Millisecond)
	if left := agentProcesses(t); len(left) > 0 {
		t.Errorf("agent processes left after the interruption: %v", left)
	}

	rep2, err := e2eExecutor().Resume(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.ExitCode() != 0 {
		for _, h := range rep2.Hosts {
			t.Logf("%s: %s %s %s", h.Name, h.Outcome, h.FinalCode, h.Detail)
		}
		t.Fatalf("exit after resume %d", rep2.ExitCode())
	}
	// No host was connected twice: a finished host is never acted on again.
	connects := map[string]int{}
	for _, r := range readRecord(t, fleet.RecordFile) {
		if r.Cmd == "connect" && r.Event == "end" && r.Exit != nil && *r.Exit == 0 {
			connects[r.Host]++
		}
	}
	for _, h := range fleet.Hosts {
		if connects[h.Name] != 1 {
			t.Errorf("%s: %d successful connects, want exactly 1", h.Name, connects[h.Name])
		}
	}
}

// agentProcesses lists live processes running this test's simulator binary.
func agentProcesses(t *testing.T) []string {
	t.Helper()
	sim, err := filepath.EvalSymlinks(sshtest.BuildSim(t))
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir("/proc")
	var left []string
	for _, e := range ents {
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && exe == sim {
			cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			left = append(left, e.Name()+": "+strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
	return left
}

func assertNoSecret(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if data, _ := os.ReadFile(path); strings.Contains(string(data), execSentinel) {
			t.Errorf("secret in %s", path)
		}
		return nil
	})
}

// skipUnlessE2E skips an end-to-end test that cannot run here: -short, no
// sshd (not root), or a sudo login without sudo installed.
func skipUnlessE2E(t *testing.T, login sshtest.Login) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end")
	}
	if why := sshtest.Available(); why != "" {
		t.Skip(why)
	}
	if login == sshtest.LoginSudo && !sshtest.HasSudo() {
		t.Skip("sudo not installed")
	}
}
