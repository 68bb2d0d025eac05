package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/plan"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
)

// An in-memory fleet for the engine's logic tests: it recognises arcfleet's real
// step commands (ProbeStep, ConnectStep, ...) and plays the agent per host from
// a small script. The end-to-end tests use real sshd hosts and the simulator.

type exHost struct {
	status     string // "Connected", "Disconnected", "Expired"
	sub, rg    string
	loc, ten   string
	resourceID string
	dialFail   []transport.Kind  // the first dials fail with these kinds
	exits      map[string][]int  // per step: exit codes of successive runs; then 0
	hang       map[string]bool   // step blocks until its context ends
	applyHang  map[string]bool   // step applies its effect, then blocks (crash mid-action)
	echoStdin  bool              // print stdin to stdout and stderr (secret leak bait)
	delay      time.Duration     // every step takes this long
	failOut    map[string]string // per step: what a failed run prints after its AZCM line
	// failRegisters: a failed connect leaves the agent registered at the
	// target, not Connected (AZCM0062 after Azure created the resource).
	failRegisters bool
	// busyProbes: the first probes report another operation holding the host
	// (-1: every probe).
	busyProbes int
	busyChecks int                    // probes and precondition checks so far (busyProbes counts them)
	runs       map[string]int         // step -> runs ("refused": connect steps that refused on their precondition)
	stdins     map[string][]string    // step -> stdin fed
	starts     map[string][]time.Time // step -> start times
}

type exFleet struct {
	mu          sync.Mutex
	hosts       map[string]*exHost
	dials       map[string]int
	open        int // connections open now
	maxOpen     int
	actionTimes []time.Time
}

func newExFleet() *exFleet {
	return &exFleet{hosts: map[string]*exHost{}, dials: map[string]int{}}
}

func (f *exFleet) add(name string, h *exHost) *exHost {
	if h.status == "" {
		h.status = "Disconnected"
	}
	h.runs, h.stdins, h.starts = map[string]int{}, map[string][]string{}, map[string][]time.Time{}
	f.hosts[name] = h
	return h
}

func (f *exFleet) runsOf(host, step string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hosts[host].runs[step]
}

func (f *exFleet) Dial(ctx context.Context, t transport.Target) (transport.Conn, error) {
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
	return &exConn{f: f, name: t.Name, h: h}, nil
}

type exConn struct {
	f      *exFleet
	name   string
	h      *exHost
	closed bool
}

var exStepRe = regexp.MustCompile(`# arcfleet ([a-z-]+)`)

func exStepOf(cmd string) string {
	if s, err := agent.DecodePowerShell(cmd); err == nil {
		cmd = s
	}
	if m := exStepRe.FindStringSubmatch(cmd); m != nil {
		return m[1]
	}
	return ""
}

func (c *exConn) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	step := exStepOf(cmd)
	var in []byte
	if stdin != nil {
		in, _ = io.ReadAll(stdin)
	}
	f, h := c.f, c.h
	f.mu.Lock()
	// A connect with a precondition (agent.InputExpect) first reads the agent
	// under the host lock, as the real script does: busy, or refused when the
	// agent is registered; the agent's connect does not run then.
	if hdr, _, _ := strings.Cut(string(in), "\n"); step == agent.StepConnect && len(strings.Fields(hdr)) > 5 && strings.Fields(hdr)[5] == agent.ExpectUnregistered {
		busy := h.busyProbes < 0 || h.busyChecks < h.busyProbes
		h.busyChecks++
		if busy {
			h.runs["busy"]++
			f.mu.Unlock()
			fmt.Fprintf(stderr, "%srun=other-run step=connect pid=4242 since=1796400000 until=1796409999\n", agent.BusyMarker)
			return 125, nil
		}
		b, _ := json.Marshal(map[string]string{"status": h.status, "resourceId": h.resourceID, "subscriptionId": h.sub,
			"resourceGroup": h.rg, "location": h.loc, "tenantId": h.ten, "agentVersion": "1.50.0"})
		fmt.Fprintf(stdout, "%s\n%s\n%s\n", agent.ShowMarker, b, agent.ShowEndMarker)
		if h.status != "Disconnected" || h.resourceID != "" {
			h.runs["refused"]++
			f.mu.Unlock()
			fmt.Fprintf(stderr, "%sexpected unregistered, show --json differs (status, resourceId)\n", agent.StateChangedMarker)
			return agent.ExitStateChanged, nil
		}
	}
	k := h.runs[step]
	h.runs[step]++
	h.stdins[step] = append(h.stdins[step], string(in))
	now := time.Now()
	h.starts[step] = append(h.starts[step], now)
	if step == agent.StepConnect || step == agent.StepDisconnect || step == agent.StepDisconnectLocal {
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
	case agent.StepProbe:
		busy := h.busyProbes < 0 || h.busyChecks < h.busyProbes
		h.busyChecks++
		if busy {
			fmt.Fprintf(stdout, "%srun=other-run step=connect pid=4242 since=1796400000 until=1796409999\n", agent.BusyMarker)
		}
		b, _ := json.Marshal(map[string]string{"status": h.status, "resourceId": h.resourceID, "subscriptionId": h.sub,
			"resourceGroup": h.rg, "location": h.loc, "tenantId": h.ten})
		fmt.Fprintf(stdout, "%s\n%sazcmagent version 1.50.0\n", b, agent.AgentVersionMarker)
		return 0, nil
	case agent.StepConnect:
		if exit != 0 && exit != 67 && h.failRegisters && h.status != "Connected" {
			h.status, h.sub, h.rg, h.loc, h.ten = "Disconnected", "sub-1", "rg-1", "westeurope", "tenant-1"
			h.resourceID = "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.HybridCompute/machines/" + c.name
		}
		// A scripted 67 plays a host that got connected meanwhile (another run won the race).
		if exit == 0 || exit == 67 {
			if h.status == "Connected" {
				exit = 67
			} else {
				// Stdin: the header line, then the config up to agent.InputEnd.
				_, body, _ := strings.Cut(string(in), "\n")
				body, _, _ = strings.Cut(body, agent.InputEnd)
				var cfg map[string]string
				_ = json.Unmarshal([]byte(body), &cfg)
				h.status, h.sub, h.rg, h.loc, h.ten = "Connected", cfg["subscription-id"], cfg["resource-group"], cfg["location"], cfg["tenant-id"]
				h.resourceID = "/subscriptions/" + h.sub + "/resourceGroups/" + h.rg + "/providers/Microsoft.HybridCompute/machines/" + c.name
			}
		}
	case agent.StepDisconnect, agent.StepDisconnectLocal:
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
		if s := h.failOut[step]; s != "" {
			fmt.Fprintln(stdout, s)
		}
	}
	fmt.Fprintf(stderr, "%s\ntime=\"2024-01-01T00:00:00Z\" level=info msg=\"fake %s exit %d\"\n", agent.AgentLogMarker, step, exit)
	return exit, nil
}

func (c *exConn) Fingerprint() string { return "SHA256:fake-" + c.name }

func (c *exConn) Close() error {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	if !c.closed {
		c.closed = true
		c.f.open--
	}
	return nil
}

// exPlan builds a plan over names with the real step commands.
func exPlan(action string, names ...string) *plan.Plan {
	p := &plan.Plan{FormatVersion: plan.PlanFormatVersion, Action: action, Inventory: "test.yaml",
		InventoryDigest: "sha256:test", CreatedAt: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Credentials: map[string]inventory.Credential{
			"sp":    {Name: "sp", ClientID: "client-1", TenantID: "tenant-1", Secret: inventory.SecretRef{Env: "ARC_SP_SECRET"}},
			"other": {Name: "other", ClientID: "client-2", TenantID: "tenant-2", Secret: inventory.SecretRef{Env: "ARC_OTHER_SECRET"}},
		}}
	for _, n := range names {
		h := inventory.Host{Name: n, Address: "192.0.2.1", Port: 22, OS: "linux", Transport: "ssh", Credential: "sp",
			Azure: inventory.Azure{TenantID: "tenant-1", SubscriptionID: "sub-1", ResourceGroup: "rg-1", Location: "westeurope"}}
		p.Hosts = append(p.Hosts, plan.HostPlan{Host: h, Steps: agent.HostSteps(&h, action)})
	}
	return p
}

const execSentinel = "S3NTINEL-s3cret-value-42"

func exEnv(name string) (string, bool) {
	switch name {
	case "ARC_SP_SECRET":
		return execSentinel, true
	case "ARC_OTHER_SECRET":
		return "other-secret-value", true
	}
	return "", false
}

// exExecutor returns an executor over f with instant, recorded sleeps.
func exExecutor(f *exFleet) *Executor {
	return &Executor{
		Dialer:      f,
		LookupEnv:   exEnv,
		Concurrency: 8,
		Timeout:     5 * time.Second,
		Sleep:       func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		jitter:      func(d time.Duration) time.Duration { return d },
	}
}

func exResult(r *results.Report, name string) results.HostResult {
	for _, h := range r.Hosts {
		if h.Name == name {
			return h
		}
	}
	return results.HostResult{}
}

func exCount(h results.HostResult, step string) int {
	n := 0
	for _, a := range h.Attempts {
		if a.Step == step {
			n++
		}
	}
	return n
}
