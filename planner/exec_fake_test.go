package planner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/arcfleet/arcfleet/inventory"
	"github.com/arcfleet/arcfleet/results"
	"github.com/arcfleet/arcfleet/transport"
)

// An in-memory fleet for the engine's logic tests: it recognises arcfleet's real
// step commands (ProbeStep, ConnectStep, ...) and plays the agent per host from
// a small script. The end-to-end tests use real sshd hosts and the simulator.

type fakeHost struct {
	status     string // "Connected", "Disconnected", "Expired"
	sub, rg    string
	loc, ten   string
	resourceID string
	dialFail   []transport.Kind         // the first dials fail with these kinds
	exits      map[string][]int         // per step: exit codes of successive runs; then 0
	hang       map[string]bool          // step blocks until its context ends
	applyHang  map[string]bool          // step applies its effect, then blocks (crash mid-action)
	echoStdin  bool                     // print stdin to stdout and stderr (secret leak bait)
	delay      time.Duration            // every step takes this long
	runs       map[string]int           // step -> runs
	stdins     map[string][]string      // step -> stdin fed
	starts     map[string][]time.Time   // step -> start times
}

type fakeFleet struct {
	mu          sync.Mutex
	hosts       map[string]*fakeHost
	dials       map[string]int
	open        int // connections open now
	maxOpen     int
	actionTimes []time.Time
}

func newFakeFleet() *fakeFleet {
	return &fakeFleet{hosts: map[string]*fakeHost{}, dials: map[string]int{}}
}

func (f *fakeFleet) add(name string, h *fakeHost) *fakeHost {
	if h.status == "" {
		h.status = "Disconnected"
	}
	h.runs, h.stdins, h.starts = map[string]int{}, map[string][]string{}, map[string][]time.Time{}
	f.hosts[name] = h
	return h
}

func (f *fakeFleet) runsOf(host, step string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hosts[host].runs[step]
}

func (f *fakeFleet) Dial(ctx context.Context, t transport.Target) (transport.Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.hosts[t.Name]
	if h == nil {
		return nil, &transport.Error{Kind: transport.Unreachable, Host: t.Name, Op: "dial", Err: fmt.Errorf("no such fake host")}
	}
	n := f.dials[t.Name]
	f.dials[t.Name]++
	if n < len(h.dialFail) {
		return nil, &transport.Error{Kind: h.dialFail[n], Host: t.Name, Op: "dial", Err: fmt.Errorf("fake %s", h.dialFail[n])}
	}
	f.open++
	if f.open > f.maxOpen {
		f.maxOpen = f.open
	}
	return &fakeConn{f: f, name: t.Name, h: h}, nil
}

type fakeConn struct {
	f      *fakeFleet
	name   string
	h      *fakeHost
	closed bool
}

var stepRe = regexp.MustCompile(`# arcfleet ([a-z-]+)`)

func stepOfCommand(cmd string) string {
	if s, err := DecodePowerShell(cmd); err == nil {
		cmd = s
	}
	if m := stepRe.FindStringSubmatch(cmd); m != nil {
		return m[1]
	}
	return ""
}

func (c *fakeConn) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	step := stepOfCommand(cmd)
	var in []byte
	if stdin != nil {
		in, _ = io.ReadAll(stdin)
	}
	f, h := c.f, c.h
	f.mu.Lock()
	k := h.runs[step]
	h.runs[step]++
	h.stdins[step] = append(h.stdins[step], string(in))
	now := time.Now()
	h.starts[step] = append(h.starts[step], now)
	if step == StepConnect || step == StepDisconnect || step == StepDisconnectLocal {
		f.actionTimes = append(f.actionTimes, now)
	}
	exit := 0
	if k < len(h.exits[step]) {
		exit = h.exits[step][k]
	}
	hang, applyHang, delay, echo := h.hang[step], h.applyHang[step], h.delay, h.echoStdin
	f.mu.Unlock()

	if hang {
		<-ctx.Done()
		return -1, &transport.Error{Kind: transport.Canceled, Host: c.name, Op: "run", Err: ctx.Err()}
	}
	if delay > 0 {
		select {
		case <-ctx.Done():
			return -1, &transport.Error{Kind: transport.Canceled, Host: c.name, Op: "run", Err: ctx.Err()}
		case <-time.After(delay):
		}
	}
	if echo {
		fmt.Fprintf(stdout, "config: %s\n", in)
		fmt.Fprintf(stderr, "stdin was %s\n", in)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch step {
	case StepProbe:
		b, _ := json.Marshal(map[string]string{"status": h.status, "resourceId": h.resourceID, "subscriptionId": h.sub,
			"resourceGroup": h.rg, "location": h.loc, "tenantId": h.ten})
		fmt.Fprintf(stdout, "%s\n%sazcmagent version 1.50.0\n", b, AgentVersionMarker)
		return 0, nil
	case StepConnect:
		if exit == 0 {
			if h.status == "Connected" {
				exit = 67
			} else {
				var cfg map[string]string
				_ = json.Unmarshal(in, &cfg)
				h.status, h.sub, h.rg, h.loc, h.ten = "Connected", cfg["subscription-id"], cfg["resource-group"], cfg["location"], cfg["tenant-id"]
				h.resourceID = "/subscriptions/" + h.sub + "/resourceGroups/" + h.rg + "/providers/Microsoft.HybridCompute/machines/" + c.name
			}
		}
	case StepDisconnect, StepDisconnectLocal:
		if exit == 0 {
			h.status, h.resourceID, h.sub, h.rg, h.loc, h.ten = "Disconnected", "", "", "", "", ""
		}
	}
	if applyHang {
		f.mu.Unlock()
		<-ctx.Done()
		f.mu.Lock()
		return -1, &transport.Error{Kind: transport.Canceled, Host: c.name, Op: "run", Err: ctx.Err()}
	}
	if exit != 0 {
		fmt.Fprintf(stdout, "AZCM%04d: Fake Failure\n", exit)
	}
	fmt.Fprintf(stderr, "%s\ntime=\"2024-01-01T00:00:00Z\" level=info msg=\"fake %s exit %d\"\n", AgentLogMarker, step, exit)
	return exit, nil
}

func (c *fakeConn) Fingerprint() string { return "SHA256:fake-" + c.name }

func (c *fakeConn) Close() error {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	if !c.closed {
		c.closed = true
		c.f.open--
	}
	return nil
}

// fakeClassify stands in for results.Classify in logic tests: exit code = AZCM
// number, classes per agent-facts.md.
func fakeClassify(ev results.Evidence) results.Diagnosis {
	if ev.Transport != "" {
		return results.Diagnosis{Code: "TRANSPORT-" + strings.ToUpper(ev.Transport), Class: results.ClassTransport}
	}
	if ev.ExitCode == 0 {
		return results.Diagnosis{Code: "AZCM0000", Class: results.ClassSuccess}
	}
	code := fmt.Sprintf("AZCM%04d", ev.ExitCode)
	class := results.ClassSupport
	switch ev.ExitCode {
	case 11, 26:
		class = results.ClassTransient
	case 61, 64, 70:
		class = results.ClassService
	case 43, 44, 62, 63, 67, 81:
		class = results.ClassAction
	case 12, 41, 42:
		class = results.ClassCredential
	case 13, 14, 15, 16, 17:
		class = results.ClassInput
	case 18:
		class = results.ClassHost
	}
	var evd []string
	for _, l := range append(strings.Split(ev.Stdout, "\n"), strings.Split(ev.Stderr, "\n")...) {
		if l != "" {
			evd = append(evd, maskValues(l, ev.Secrets))
		}
	}
	return results.Diagnosis{Code: code, Class: class, Evidence: evd}
}

func fakeResultsOps() *resultsOps {
	return &resultsOps{classify: fakeClassify, mask: maskValues, writeReports: writeReportJSON}
}

// testPlan builds a plan over names with the real step commands.
func testPlan(action string, names ...string) *Plan {
	p := &Plan{FormatVersion: PlanFormatVersion, Action: action, Inventory: "test.yaml",
		Credentials: map[string]inventory.Credential{
			"sp":    {Name: "sp", ClientID: "client-1", TenantID: "tenant-1", Secret: inventory.SecretRef{Env: "ARC_SP_SECRET"}},
			"other": {Name: "other", ClientID: "client-2", TenantID: "tenant-2", Secret: inventory.SecretRef{Env: "ARC_OTHER_SECRET"}},
		}}
	for _, n := range names {
		h := inventory.Host{Name: n, Address: "192.0.2.1", Port: 22, OS: "linux", Transport: "ssh", Credential: "sp",
			Azure: inventory.Azure{TenantID: "tenant-1", SubscriptionID: "sub-1", ResourceGroup: "rg-1", Location: "westeurope"}}
		p.Hosts = append(p.Hosts, HostPlan{Host: h, Steps: HostSteps(&h, action)})
	}
	return p
}

const execSentinel = "S3NTINEL-s3cret-value-42"

func testEnv(name string) (string, bool) {
	switch name {
	case "ARC_SP_SECRET":
		return execSentinel, true
	case "ARC_OTHER_SECRET":
		return "other-secret-value", true
	}
	return "", false
}

// testExecutor returns an executor over f with instant, recorded sleeps.
func testExecutor(f *fakeFleet) *Executor {
	return &Executor{
		Dialer:      f,
		LookupEnv:   testEnv,
		Concurrency: 8,
		Timeout:     5 * time.Second,
		Sleep:       func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		results:     fakeResultsOps(),
		jitter:      func(d time.Duration) time.Duration { return d },
	}
}

func resultOf(r *results.Report, name string) results.HostResult {
	for _, h := range r.Hosts {
		if h.Name == name {
			return h
		}
	}
	return results.HostResult{}
}

func countSteps(h results.HostResult, step string) int {
	n := 0
	for _, a := range h.Attempts {
		if a.Step == step {
			n++
		}
	}
	return n
}
