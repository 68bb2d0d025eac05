package demo

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/executor"
	"github.com/arcfleet/arcfleet/internal/plan"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/internal/transport/ssh"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// childEnv makes the test binary a fleet process: the benchmarks run the
// simulated hosts in a child process, so the controller's CPU time and peak
// RSS are measured alone.
const childEnv = "ARCFLEET_DEMO_FLEET_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(fleetChild(spec))
	}
	os.Exit(m.Run())
}

// childSpec is what the controller asks the fleet process for.
type childSpec struct {
	Dir     string
	Sim     string
	N       int
	Slow    time.Duration
	InProc  bool
	Secrets map[string]string
}

// fleetChild starts the fleet, prints "ready INVENTORY", and serves until its
// stdin closes (the controller is done or dead).
func fleetChild(spec string) int {
	var cs childSpec
	if err := json.NewDecoder(os.Stdin).Decode(&cs); err != nil {
		fmt.Fprintf(os.Stderr, "fleet child %s: read spec: %v\n", spec, err)
		return 2
	}
	o := ScaleOptions(cs.Sim, cs.Dir, cs.N, cs.Slow)
	o.InProcessAgent, o.PinHostKey, o.Secrets = cs.InProc, true, cs.Secrets
	f, err := Start(context.Background(), o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fleet child: %v\n", err)
		return 2
	}
	defer f.Close()
	fmt.Printf("ready %s\n", f.Inventory)
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// startFleetProcess runs a fleet in a child process; the returned Fleet plans
// and applies from this process.
func startFleetProcess(b *testing.B, cs childSpec) *Fleet {
	b.Helper()
	cs.Secrets = map[string]string{}
	for _, k := range []string{EnvSPSecret, EnvLabSecret, EnvWinRMPasswd} {
		cs.Secrets[k] = "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36) + k
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { in.Close(); cmd.Wait() })
	if err := json.NewEncoder(in).Encode(cs); err != nil {
		b.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	inv, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
	if err != nil || !ok {
		b.Fatalf("fleet process: %q %v", line, err)
	}
	o := ScaleOptions(cs.Sim, cs.Dir, cs.N, cs.Slow)
	return &Fleet{Dir: cs.Dir, Inventory: inv, Hosts: o.Hosts, secrets: cs.Secrets}
}

// BenchmarkOverhead: N hosts whose agent takes T to connect, C at once.
// wall/ideal is the measured wall time over ceil(N/C)*T; cpu-ms/host and
// peak-RSS-MB are the controller's own (the fleet runs in another process).
// "inproc" hosts emulate the agent inside the fleet process; "spawn" hosts run
// /bin/sh and azcmagent-sim for every step, as the demo's do.
func BenchmarkOverhead(b *testing.B) {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set { // as the arcfleet binary does
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(executor.DefaultMemoryLimit))
	}
	cases := []struct {
		name   string
		n, c   int
		t      time.Duration
		inproc bool
	}{
		{"spawn/N=1000/C=100/T=5s", 1000, 100, 5 * time.Second, false},
		{"inproc/N=1000/C=100/T=5s", 1000, 100, 5 * time.Second, true},
		{"inproc/N=10000/C=500/T=5s", 10000, 500, 5 * time.Second, true},
		{"inproc/N=10000/C=200/T=2s", 10000, 200, 2 * time.Second, true},
	}
	var sim string
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			if !tc.inproc && sim == "" {
				sim = sshtest.BuildSim(b)
			}
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := b.TempDir()
				f := startFleetProcess(b, childSpec{Dir: filepath.Join(dir, "fleet"), Sim: sim, N: tc.n, Slow: tc.t, InProc: tc.inproc})
				p, err := f.Plan()
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				debug.FreeOSMemory()
				resetPeakRSS(b)
				cpu0, m0 := selfCPU(), machineCPU(b)
				b.StartTimer()
				start := time.Now()
				rep, err := f.Apply(context.Background(), p, RunOptions{RunDir: filepath.Join(dir, "run"), Concurrency: tc.c, Timeout: 10 * time.Minute})
				wall := time.Since(start)
				b.StopTimer()
				cpu, busy := selfCPU()-cpu0, machineCPU(b).busySince(m0)
				if err != nil {
					b.Fatal(err)
				}
				if s := Summary(rep); s[results.OutcomeOK] != tc.n {
					b.Fatalf("outcomes %v; first: %v", s, firstDiffs(f.Check(rep), 3))
				}
				ideal := time.Duration((tc.n+tc.c-1)/tc.c) * tc.t
				b.ReportMetric(wall.Seconds()/ideal.Seconds(), "wall/ideal")
				b.ReportMetric(float64(cpu.Microseconds())/1000/float64(tc.n), "cpu-ms/host")
				b.ReportMetric(peakRSSMB(b), "peak-RSS-MB")
				b.ReportMetric(wall.Seconds(), "wall-s")
				b.ReportMetric(busy, "machine-busy-%")
			}
		})
	}
}

// BenchmarkRealSSHD100 is the 100-host case on real OpenSSH sshd hosts
// (testbed/sshtest.StartFleet: root and sshd needed, else skipped), so the
// transport's cost is real: one sshd fork per connection, PAM-less login, the
// simulator spawned per step.
func BenchmarkRealSSHD100(b *testing.B) {
	const n, c, t = 100, 50, 2 * time.Second
	sim := sshtest.BuildSim(b)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		secret := "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		sum := sha256.Sum256([]byte(secret))
		scen := filepath.Join(dir, "scenario.yaml")
		if err := os.WriteFile(scen, []byte(fmt.Sprintf("default: {slow: %s, accept_secret_sha256: %s}\n", t, hex.EncodeToString(sum[:]))), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		fl := sshtest.StartFleet(b, n, sshtest.FleetOptions{AgentBinary: sim, Env: map[string]string{"AZCMAGENT_SIM_SCENARIO": scen}})
		inv := filepath.Join(dir, "inventory.yaml")
		if err := os.WriteFile(inv, sshdInventory(fl), 0o600); err != nil {
			b.Fatal(err)
		}
		hosts := make([]HostSpec, n)
		for j, h := range fl.Hosts {
			hosts[j] = HostSpec{Name: h.Name, OS: "linux", Want: Want{Outcome: results.OutcomeOK}}
		}
		f := &Fleet{Dir: dir, Inventory: inv, Hosts: hosts, secrets: map[string]string{EnvSPSecret: secret}}
		p, err := f.Plan()
		if err != nil {
			b.Fatal(err)
		}
		cpu0, m0 := selfCPU(), machineCPU(b)
		b.StartTimer()
		start := time.Now()
		rep, err := f.Apply(context.Background(), p, RunOptions{RunDir: filepath.Join(dir, "run"), Concurrency: c})
		wall := time.Since(start)
		b.StopTimer()
		cpu, busy := selfCPU()-cpu0, machineCPU(b).busySince(m0)
		if err != nil {
			b.Fatal(err)
		}
		if diffs := f.Check(rep); len(diffs) > 0 {
			b.Fatalf("real sshd fleet: %v", firstDiffs(diffs, 5))
		}
		b.ReportMetric(wall.Seconds()/(time.Duration((n+c-1)/c)*t).Seconds(), "wall/ideal")
		b.ReportMetric(float64(cpu.Microseconds())/1000/n, "cpu-ms/host")
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(busy, "machine-busy-%")
	}
}

func sshdInventory(fl *sshtest.Fleet) []byte {
	var s strings.Builder
	fmt.Fprintf(&s, "version: 1\nazure: {tenant_id: %s, subscription_id: %s, resource_group: %s, location: westeurope}\n", DemoTenant, DemoSubscription, demoRG)
	fmt.Fprintf(&s, "credentials:\n  demo-sp: {client_id: 3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21, secret: {env: %s}}\n", EnvSPSecret)
	fmt.Fprintf(&s, "defaults:\n  credential: demo-sp\n  linux:\n    ssh: {user: %s, identity_file: %s, known_hosts: %s}\nhosts:\n", fl.User, yamlQuote(fl.IdentityFile), yamlQuote(fl.KnownHostsFile))
	for _, h := range fl.Hosts {
		fmt.Fprintf(&s, "  - {name: %s, address: %s, agent: {path: %s, log: %s}}\n", h.Name, h.Address, yamlQuote(h.AgentPath), yamlQuote(h.AgentLog))
	}
	return []byte(s.String())
}

// bigInventory is a 10,000-host inventory as a large shop would write it:
// defaults, 20 groups with tags and overrides, hosts in several groups.
func bigInventory(n int) []byte {
	var s strings.Builder
	fmt.Fprintf(&s, "version: 1\nazure:\n  tenant_id: %s\n  subscription_id: %s\n  resource_group: rg-arc\n  location: westeurope\n  tags: {ManagedBy: arcfleet}\n", DemoTenant, DemoSubscription)
	s.WriteString("credentials:\n  sp-a: {client_id: 3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21, secret: {env: SP_A}}\n  sp-b: {client_id: 9e2d7c1b-4a3f-4e5d-9b8c-7a6f5e4d3c2b, tenant_id: " + DemoTenant + ", secret: {env: SP_B}}\n")
	s.WriteString("defaults:\n  credential: sp-a\n  linux:\n    ssh: {user: arcadmin, identity_file: /root/.ssh/id_ed25519, known_hosts: /root/.ssh/known_hosts, become: sudo}\n  windows:\n    winrm: {user: arcadmin, password: {env: WINRM_PW}, auth: ntlm, ca_file: /etc/ssl/corp-ca.pem}\n")
	s.WriteString("groups:\n")
	for g := 0; g < 20; g++ {
		fmt.Fprintf(&s, "  g%02d:\n    tags: {Team: team%02d, 'Cost Center': 'cc %d'}\n", g, g, g)
		if g%5 == 0 {
			s.WriteString("    credential: sp-b\n    azure: {resource_group: rg-arc-b}\n")
		}
	}
	s.WriteString("hosts:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&s, "  - name: srv%05d\n    address: 10.%d.%d.%d\n    groups: [g%02d, g%02d]\n", i, i/65536%256, i/256%256, i%256, i%20, (i%20+1+(i/20)%19)%20)
		if i%10 == 0 {
			s.WriteString("    os: windows\n")
		}
		if i%7 == 0 {
			fmt.Fprintf(&s, "    tags: {Rack: r%d}\n", i%40)
		}
	}
	return []byte(s.String())
}

// benchLookup resolves bigInventory's secret references.
func benchLookup(k string) (string, bool) {
	switch k {
	case "SP_A", "SP_B", "WINRM_PW":
		return "bench-value-" + k, true
	}
	return "", false
}

// BenchmarkValidate is `arcfleet validate` on 1,000 and 10,000 hosts (ten
// times the hosts should take ten times as long): load, select all, validate,
// check secret references.
func BenchmarkValidate(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) { benchValidate(b, n) })
	}
}

func benchValidate(b *testing.B, n int) {
	path := filepath.Join(b.TempDir(), "fleet.yaml")
	if err := os.WriteFile(path, bigInventory(n), 0o600); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		inv, err := inventory.Load(path)
		if err != nil {
			b.Fatal(err)
		}
		hosts, err := inv.Select("")
		if err != nil {
			b.Fatal(err)
		}
		fs := inventory.Validate(inv, hosts, "connect")
		fs = append(fs, inventory.CheckSecretRefs(inv, hosts, benchLookup)...)
		for _, f := range fs {
			if !f.Warning {
				b.Fatalf("finding: %s", f)
			}
		}
	}
}

// BenchmarkPlan is `arcfleet plan --out plan.json` on 1,000 and 10,000
// hosts: load, build (validation included), render the table, save the JSON.
func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) { benchPlan(b, n) })
	}
}

func benchPlan(b *testing.B, n int) {
	dir := b.TempDir()
	path := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(path, bigInventory(n), 0o600); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		inv, err := inventory.Load(path)
		if err != nil {
			b.Fatal(err)
		}
		hosts, err := inv.Select("")
		if err != nil {
			b.Fatal(err)
		}
		p := plan.Build(inv, hosts, agent.ActionConnect, "", time.Now())
		if err := plan.Render(io.Discard, p, "table"); err != nil {
			b.Fatal(err)
		}
		if err := plan.Save(filepath.Join(dir, "plan.json"), p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSelect10000: --limit expressions over 10,000 hosts (globs, groups,
// tags, exclusions, a list of 1,000 names).
func BenchmarkSelect10000(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(path, bigInventory(10000), 0o600); err != nil {
		b.Fatal(err)
	}
	var names strings.Builder
	for i := 0; i < 10000; i += 10 {
		fmt.Fprintf(&names, "srv%05d\n", i)
	}
	list := filepath.Join(dir, "names.txt")
	if err := os.WriteFile(list, []byte(names.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	inv, err := inventory.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	exprs := []string{"srv0*", "group:g03,!os:windows", "tag:Team=team07", "@" + list, "srv00001,srv09999,group:g19"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, e := range exprs {
			if _, err := inv.Select(e); err != nil {
				b.Fatalf("%s: %v", e, err)
			}
		}
	}
}

// BenchmarkReport10000 renders a 10,000-host report (5% failures with
// evidence) in every format.
func BenchmarkReport10000(b *testing.B) {
	rep := bigReport(10000)
	for _, format := range []string{"table", "markdown", "json", "junit", "csv"} {
		b.Run(format, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := results.RenderReport(io.Discard, rep, format, "en", false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func bigReport(n int) *results.Report {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rep := &results.Report{FormatVersion: results.ReportFormatVersion, RunID: "bench", Action: "connect", Started: t0, Finished: t0.Add(time.Hour)}
	codes := []string{"AZCM0041", "AZCM0044", "AZCM0064", "TRANSPORT-UNREACHABLE", "AZCM0026"}
	for i := 0; i < n; i++ {
		h := results.HostResult{Name: fmt.Sprintf("srv%05d", i), OS: "linux", Action: "connect", Outcome: results.OutcomeOK, FinalCode: "AZCM0000", Class: results.ClassSuccess,
			Attempts: []results.Attempt{{N: 1, Step: "probe", Code: "AZCM0000", Started: t0, Duration: time.Second},
				{N: 2, Step: "connect", Code: "AZCM0000", Started: t0, Duration: 30 * time.Second, LogPath: fmt.Sprintf("hosts/srv%05d/attempt-2.log", i)}}}
		if i%20 == 0 {
			c := codes[i/20%len(codes)]
			h.Outcome, h.FinalCode, h.Class = results.OutcomeFailed, c, results.ClassOf(c)
			h.Detail = "gave up after 3 attempts"
			h.Evidence = []string{"FATAL   something failed on this host", c + ": Title", `time="2026-01-02T03:04:05Z" level=fatal msg="` + c + `"`}
		}
		rep.Hosts = append(rep.Hosts, h)
	}
	return rep
}

// BenchmarkDialKnownHosts: one SSH dial (strict host-key checking) against a
// known_hosts file of 100, 1,000 and 10,000 lines. transport/ssh parses the
// whole file on every dial, so a run over N hosts listed in one file costs
// O(N^2); the scale test and BenchmarkOverhead pin a fingerprint instead.
func BenchmarkDialKnownHosts(b *testing.B) {
	srv, err := sshtest.NewServer(sshtest.ServerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	dir := b.TempDir()
	key, err := sshtest.WriteKey(filepath.Join(dir, "id"), "")
	if err != nil {
		b.Fatal(err)
	}
	srv.Close()
	srv, err = sshtest.NewServer(sshtest.ServerConfig{AuthorizedKeys: []xssh.PublicKey{key.PublicKey()}})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			var kh strings.Builder
			for i := 1; i < n; i++ { // other hosts: same key type, other ports
				fmt.Fprintf(&kh, "%s\n", knownhosts.Line([]string{knownhosts.Normalize(fmt.Sprintf("127.0.0.2:%d", 1024+i))}, srv.HostKey()))
			}
			kh.WriteString(srv.KnownHostsLine() + "\n")
			khFile := filepath.Join(dir, fmt.Sprintf("known_hosts.%d", n))
			if err := os.WriteFile(khFile, []byte(kh.String()), 0o600); err != nil {
				b.Fatal(err)
			}
			tgt := transport.Target{Name: "h", Address: srv.Host(), Port: srv.Port(), Protocol: "ssh", User: "u",
				IdentityFile: filepath.Join(dir, "id"), KnownHostsFile: khFile, HostKeyPolicy: "strict"}
			d := &ssh.Dialer{}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c, err := d.Dial(context.Background(), tgt)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuTimes is the machine's CPU time from /proc/stat, in clock ticks.
type cpuTimes struct{ busy, total uint64 }

// machineCPU reads all cores' time: machine-busy-% shows when a run was CPU
// bound (the fleet's hosts and the controller share this machine's cores).
func machineCPU(b *testing.B) cpuTimes {
	st, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatal(err)
	}
	line, _, _ := strings.Cut(string(st), "\n")
	var c cpuTimes
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseUint(f, 10, 64)
		c.total += v
		if i != 3 && i != 4 { // idle, iowait
			c.busy += v
		}
	}
	return c
}

func (c cpuTimes) busySince(a cpuTimes) float64 {
	if c.total == a.total {
		return 0
	}
	return 100 * float64(c.busy-a.busy) / float64(c.total-a.total)
}

// resetPeakRSS resets VmHWM (Linux: "5" to /proc/self/clear_refs), so the peak
// measured is this run's and not an earlier benchmark's.
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset peak RSS (%v): peak-RSS-MB includes earlier work", err)
	}
}

func peakRSSMB(b *testing.B) float64 {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}
