// Package benchpeers measures arcfleet side by side with its peers on the same
// real sshd hosts (testbed/sshtest) and the same agent (the simulator, told to
// take a fixed time to connect): the bare x/crypto/ssh client that runs the
// agent's connect in one session per host (the floor: nothing is cheaper over
// SSH), arcfleet's executor (one session per host on the happy path, and with
// TwoSessions, probe then connect, as before), and parallel-ssh when installed.
// Run it with `make bench-peers` (root, sshd; ARCFLEET_BENCH_PEERS=1).
package benchpeers

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/executor"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport/ssh"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
)

const (
	sub    = "11111111-2222-3333-4444-555555555555"
	tenant = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	spID   = "99999999-8888-7777-6666-555555555555"
	rg     = "rg-bench"
	secret = "bench-secret-not-a-real-one"
)

// config is one side-by-side measurement.
type config struct {
	hosts, concurrency int
	agent              time.Duration // what the simulator's connect takes
}

// configs: ARCFLEET_BENCH_PEERS_CONFIGS="100/1s/50,300/2s/100" (the default).
func configs(b *testing.B) []config {
	spec := os.Getenv("ARCFLEET_BENCH_PEERS_CONFIGS")
	if spec == "" {
		spec = "100/1s/50,300/2s/100"
	}
	var cs []config
	for _, s := range strings.Split(spec, ",") {
		f := strings.Split(strings.TrimSpace(s), "/")
		if len(f) != 3 {
			b.Fatalf("config %q: want HOSTS/AGENT_TIME/CONCURRENCY", s)
		}
		n, err1 := strconv.Atoi(f[0])
		d, err2 := time.ParseDuration(f[1])
		c, err3 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil || err3 != nil || n < 1 || c < 1 {
			b.Fatalf("config %q: want HOSTS/AGENT_TIME/CONCURRENCY", s)
		}
		cs = append(cs, config{n, c, d})
	}
	return cs
}

// tool is one contender: run connects hosts and returns the hosts that failed.
type tool struct {
	name string
	run  func(ctx context.Context, hosts []*sshtest.Host, c config) (failed int, note string, err error)
}

// BenchmarkPeers prints, per config, each contender's wall-clock time for the
// whole fleet (rounds: ARCFLEET_BENCH_PEERS_ROUNDS, default 3, the contenders
// interleaved within each round) and its ratio to the floor's median.
func BenchmarkPeers(b *testing.B) {
	if os.Getenv("ARCFLEET_BENCH_PEERS") == "" {
		b.Skip("set ARCFLEET_BENCH_PEERS=1 (make bench-peers): starts hundreds of sshd hosts")
	}
	cs := configs(b)
	most := 0
	for _, c := range cs {
		most = max(most, c.hosts)
	}
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("ARCFLEET_BENCH_PEERS_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	sim := sshtest.BuildSim(b)
	scen := filepath.Join(b.TempDir(), "scenario.yaml")
	writeScenario(b, scen, time.Second)
	start := time.Now()
	f := sshtest.StartFleet(b, most, sshtest.FleetOptions{AgentBinary: sim, Env: map[string]string{"AZCMAGENT_SIM_SCENARIO": scen}})
	fmt.Printf("fleet: %d sshd hosts started in %s; login %s\n", most, time.Since(start).Round(time.Millisecond), f.User)

	tools := []tool{{"bare x/crypto/ssh (floor)", bare(f)}, {"arcfleet", arcfleet(b, f, false)}, {"arcfleet, two sessions", arcfleet(b, f, true)}}
	if p, err := exec.LookPath("parallel-ssh"); err == nil {
		tools = append(tools, tool{"parallel-ssh", pssh(b, f, p)})
	} else {
		fmt.Println("parallel-ssh: not installed (Debian package pssh), left out")
	}
	// ARCFLEET_BENCH_PEERS_TOOLS: only the contenders whose name contains one of
	// these comma-separated words (the floor always runs: the ratios need it).
	if only := os.Getenv("ARCFLEET_BENCH_PEERS_TOOLS"); only != "" {
		kept := tools[:1]
		for _, t := range tools[1:] {
			for _, w := range strings.Split(only, ",") {
				if w != "" && strings.Contains(t.name, w) {
					kept = append(kept, t)
					break
				}
			}
		}
		tools = kept
	}
	b.ResetTimer()
	for _, c := range cs {
		writeScenario(b, scen, c.agent)
		hosts := f.Hosts[:c.hosts]
		times := make([][]time.Duration, len(tools))
		notes := make([]string, len(tools))
		for round := range rounds {
			for k, t := range tools {
				reset(b, hosts)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				m0, c0 := machineCPU(), controllerCPU()
				t0 := time.Now()
				failed, note, err := t.run(ctx, hosts, c)
				d := time.Since(t0)
				m1, c1 := machineCPU(), controllerCPU()
				cancel()
				if err != nil {
					b.Fatalf("%s: %v", t.name, err)
				}
				if failed > 0 {
					b.Fatalf("%s, round %d: %d of %d hosts failed (%s)", t.name, round+1, failed, len(hosts), note)
				}
				if n := connected(b, hosts); n != len(hosts) {
					b.Fatalf("%s, round %d: %d of %d hosts connected afterwards", t.name, round+1, n, len(hosts))
				}
				times[k] = append(times[k], d)
				// CPU per host: the controller's (this process, and its children
				// for parallel-ssh) and the rest of the machine's (sshd, the
				// scripts and the agent on the hosts; other work on the machine too).
				ctl := c1 - c0
				notes[k] = fmt.Sprintf("cpu/host: controller %s, hosts+rest %s; %s", ms(int64(ctl)/int64(len(hosts))), ms(int64(m1-m0-ctl)/int64(len(hosts))), note)
			}
		}
		load, _ := os.ReadFile("/proc/loadavg")
		fmt.Printf("\n%d hosts, agent connect %s, concurrency %d, %d rounds (load after: %s)\n", c.hosts, c.agent, c.concurrency, rounds, strings.Join(strings.Fields(string(load))[:3], " "))
		fmt.Printf("%-28s %-8s %-8s %-26s %s\n", "tool", "median", "x floor", "all rounds", "per host (last round)")
		floor := median(times[0])
		for k, t := range tools {
			var all []string
			for _, d := range times[k] {
				all = append(all, secs(d))
			}
			fmt.Printf("%-28s %-8s %-8.2f %-26s %s\n", t.name, secs(median(times[k])), median(times[k]).Seconds()/floor.Seconds(), strings.Join(all, " "), notes[k])
		}
	}
}

// machineCPU is the CPU time all cores spent busy so far (/proc/stat).
func machineCPU() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 { // not idle, not iowait
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / 100 // USER_HZ
}

// controllerCPU is this process's CPU time and that of its waited-for children.
func controllerCPU() time.Duration {
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func writeScenario(b *testing.B, path string, connect time.Duration) {
	y := fmt.Sprintf("default:\n  connect: {slow: %s}\n", connect)
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		b.Fatal(err)
	}
}

// reset makes every host a fresh, unregistered agent with no arcfleet state.
func reset(b *testing.B, hosts []*sshtest.Host) {
	for _, h := range hosts {
		for _, p := range []string{filepath.Join(h.Root, "state.json"), filepath.Join(h.Dir, "arcfleet-state", "owner"), filepath.Join(h.Dir, "arcfleet-state", "last")} {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				b.Fatal(err)
			}
		}
	}
}

// connected counts hosts whose simulator state says Connected.
func connected(b *testing.B, hosts []*sshtest.Host) int {
	n := 0
	for _, h := range hosts {
		data, err := os.ReadFile(filepath.Join(h.Root, "state.json"))
		if err == nil && strings.Contains(string(data), `"status": "Connected"`) {
			n++
		}
	}
	return n
}

// connectCommand is what the one-command peers run: every parameter on the
// command line (the secret too; it is a test secret).
func connectCommand() string {
	return fmt.Sprintf("azcmagent connect --subscription-id %s --resource-group %s --location westeurope --tenant-id %s --service-principal-id %s --service-principal-secret %s --json",
		sub, rg, tenant, spID, secret)
}

// fanOut runs fn for every host, at most c at once; it returns the failures.
func fanOut(hosts []*sshtest.Host, c int, fn func(h *sshtest.Host) error) (int, error) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, c)
	var failed atomic.Int32
	var first atomic.Value
	for _, h := range hosts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(h); err != nil {
				failed.Add(1)
				first.CompareAndSwap(nil, fmt.Sprintf("%s: %v", h.Name, err))
			}
		}()
	}
	wg.Wait()
	if v := first.Load(); v != nil {
		return int(failed.Load()), fmt.Errorf("%s", v)
	}
	return 0, nil
}

// bare: x/crypto/ssh, strict host keys, key auth, one session running connect.
func bare(f *sshtest.Fleet) func(context.Context, []*sshtest.Host, config) (int, string, error) {
	return func(ctx context.Context, hosts []*sshtest.Host, c config) (int, string, error) {
		hk, err := knownhosts.New(f.KnownHostsFile)
		if err != nil {
			return 0, "", err
		}
		cfg := &xssh.ClientConfig{User: f.User, Auth: []xssh.AuthMethod{xssh.PublicKeys(f.ClientKey)}, HostKeyCallback: hk, Timeout: 30 * time.Second}
		var dial, run atomic.Int64
		failed, err := fanOut(hosts, c.concurrency, func(h *sshtest.Host) error {
			t0 := time.Now()
			cl, err := xssh.Dial("tcp", net.JoinHostPort(h.Address, strconv.Itoa(h.Port)), cfg)
			if err != nil {
				return err
			}
			defer cl.Close()
			t1 := time.Now()
			s, err := cl.NewSession()
			if err != nil {
				return err
			}
			defer s.Close()
			out, err := s.CombinedOutput(connectCommand())
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			dial.Add(int64(t1.Sub(t0)))
			run.Add(int64(time.Since(t1)))
			return nil
		})
		if err != nil {
			return failed, err.Error(), nil
		}
		n := int64(len(hosts))
		return 0, fmt.Sprintf("dial %s, connect session %s", ms(dial.Load()/n), ms(run.Load()/n)), nil
	}
}

func ms(ns int64) string { return fmt.Sprintf("%dms", ns/1e6) }

// arcfleet: the executor, in this process, over internal/transport/ssh, with
// a run directory (journal, per-attempt logs, reports) as `arcfleet apply` has.
func arcfleet(b *testing.B, f *sshtest.Fleet, twoSessions bool) func(context.Context, []*sshtest.Host, config) (int, string, error) {
	return func(ctx context.Context, hosts []*sshtest.Host, c config) (int, string, error) {
		p := &plan.Plan{FormatVersion: plan.PlanFormatVersion, Action: agent.ActionConnect, Inventory: "bench.yaml", InventoryDigest: "sha256:bench", CreatedAt: time.Now(),
			Credentials: map[string]inventory.Credential{"sp": {Name: "sp", ClientID: spID, TenantID: tenant, Secret: inventory.SecretRef{Env: "ARC_SP_SECRET"}}}}
		for _, sh := range hosts {
			h := inventory.Host{Name: sh.Name, Address: sh.Address, Port: sh.Port, OS: "linux", Transport: "ssh", Credential: "sp",
				Azure: inventory.Azure{SubscriptionID: sub, ResourceGroup: rg, Location: "westeurope", TenantID: tenant},
				SSH:   inventory.SSH{User: sh.User, IdentityFile: sh.IdentityFile, KnownHosts: sh.KnownHostsFile, HostKeyPolicy: "strict"},
				Agent: inventory.Agent{Path: sh.AgentPath, Log: sh.AgentLog}}
			p.Hosts = append(p.Hosts, plan.HostPlan{Host: h, Steps: agent.HostSteps(&h, agent.ActionConnect), Recovery: []agent.Step{agent.RestartServiceStep(&h), agent.StopStep(&h)}})
		}
		var mu sync.Mutex
		began := map[string]time.Time{}
		var perHost time.Duration
		x := &executor.Executor{Dialer: &ssh.Dialer{}, Concurrency: c.concurrency, Timeout: 5 * time.Minute, TwoSessions: twoSessions,
			LookupEnv: func(k string) (string, bool) {
				if k == "ARC_SP_SECRET" {
					return secret, true
				}
				return "", false
			},
			Events: func(e executor.Event) {
				mu.Lock()
				defer mu.Unlock()
				switch e.Kind {
				case executor.EventStart:
					began[e.Host] = time.Now()
				case executor.EventDone:
					perHost += time.Since(began[e.Host])
				}
			}}
		rep, err := x.Apply(ctx, p, b.TempDir())
		if err != nil {
			return 0, "", err
		}
		failed, steps, sessions := 0, time.Duration(0), 0
		for _, h := range rep.Hosts {
			if h.Outcome != results.OutcomeOK {
				failed++
			}
			for _, a := range h.Attempts {
				if a.Step != "dial" {
					steps += a.Duration
					sessions++
				}
			}
		}
		n := time.Duration(len(hosts))
		return failed, fmt.Sprintf("%.1f sessions, host %s (of which steps %s)", float64(sessions)/float64(len(hosts)), ms(int64(perHost/n)), ms(int64(steps/n))), nil
	}
}

// pssh: parallel-ssh (OpenSSH's client per host), same key, same known_hosts.
func pssh(b *testing.B, f *sshtest.Fleet, bin string) func(context.Context, []*sshtest.Host, config) (int, string, error) {
	return func(ctx context.Context, hosts []*sshtest.Host, c config) (int, string, error) {
		list := filepath.Join(b.TempDir(), "hosts")
		var lines []string
		for _, h := range hosts {
			lines = append(lines, h.Address)
		}
		if err := os.WriteFile(list, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			return 0, "", err
		}
		cmd := exec.CommandContext(ctx, bin, "-h", list, "-l", f.User, "-p", strconv.Itoa(c.concurrency), "-t", "0",
			"-x", "-i "+f.IdentityFile+" -o UserKnownHostsFile="+f.KnownHostsFile+" -o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes",
			connectCommand())
		out, err := cmd.CombinedOutput()
		failed := strings.Count(string(out), "[FAILURE]")
		if err != nil && failed == 0 {
			return 0, "", fmt.Errorf("%v: %s", err, out)
		}
		note := ""
		if failed > 0 {
			note = string(out[:min(len(out), 400)])
		}
		return failed, note, nil
	}
}
