package main

// End-to-end tests of the arcfleet binary: it is built once per test process and
// run as a subprocess (stdin /dev/null, so not a terminal) against fleets of real
// OpenSSH sshd hosts (testbed/sshtest) and WinRM test servers over HTTPS
// (testbed/winrmtest), every host with the agent simulator as its agent.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
	"github.com/arcfleet/arcfleet/testbed/winrmtest"
	"github.com/arcfleet/arcfleet/testbed/wintwin"
)

// Sentinel secrets: the SP secret, a wrong SP secret (breaker) and the WinRM
// password. None may appear in any output, file or command line.
const (
	e2eSPSecret    = "S3NT1NEL-e2e-sp-secret-6b0f2d"
	e2eBadSecret   = "S3NT1NEL-e2e-wrong-secret-2c7a91"
	e2eWinRMPasswd = "S3NT1NEL-e2e-winrm-pw-83d4e0"

	envSPSecret  = "ARC_E2E_SP_SECRET"
	envLabSecret = "ARC_E2E_LAB_SECRET"
	envWinRMPw   = "ARC_E2E_WINRM_PASSWORD"

	e2eTenant = "99999999-8888-7777-6666-555555555555"
	e2eSub    = "11111111-2222-3333-4444-555555555555"
	e2eRG     = "rg-arc"
	e2eClient = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	e2eLabApp = "bbbbbbbb-cccc-dddd-eeee-ffffffffffff"
)

func e2eSentinels() []string { return []string{e2eSPSecret, e2eBadSecret, e2eWinRMPasswd} }

// buildArcfleet builds ./cmd/arcfleet once per test process into
// $TMPDIR/arcfleet-cli-PID (a lock file serialises parallel tests; a package
// variable would be mutable package state) and returns the binary's path.
func buildArcfleet(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "arcfleet-cli-"+strconv.Itoa(os.Getpid()))
	bin := filepath.Join(dir, "arcfleet")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	reapStaleBuilds()
	args := []string{"build", "-o", bin + ".tmp"}
	if raceBuild {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, ".")...) // the test runs in cmd/arcfleet
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build arcfleet: %v\n%s", err, out)
	}
	if err := os.Rename(bin+".tmp", bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// reapStaleBuilds removes arcfleet-cli-PID dirs of test processes that are gone.
func reapStaleBuilds() {
	tmp := os.TempDir()
	ents, _ := os.ReadDir(tmp)
	for _, e := range ents {
		pid, ok := strings.CutPrefix(e.Name(), "arcfleet-cli-")
		if !ok || pid == strconv.Itoa(os.Getpid()) {
			continue
		}
		if _, err := strconv.Atoi(pid); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join("/proc", pid)); os.IsNotExist(err) {
			os.RemoveAll(filepath.Join(tmp, e.Name()))
		}
	}
}

// e2eHost is one host of an e2e fleet, Linux (sshd) or Windows (WinRM server).
type e2eHost struct {
	Name    string
	Windows bool
	Root    string // AZCMAGENT_SIM_ROOT
	Address string
	Port    int
	Agent   string // agent path as the inventory gives it
	Log     string
	srv     *winrmtest.Server
}

// e2eFleet is a test's fleet, working directory and arcfleet runner.
type e2eFleet struct {
	t        *testing.T
	bin      string // arcfleet
	sim      string // the simulator binary
	Dir      string // inventories, plans, run dirs
	Inv      string // inventory path
	Scenario string // fleet scenario file
	Record   string // AZCMAGENT_SIM_RECORD of every host
	ssh      *sshtest.Fleet
	winDir   string
	caFile   string
	Hosts    []*e2eHost // inventory order: Linux hosts, then Windows hosts

	mu      sync.Mutex
	outputs []string // stdout and stderr of every arcfleet run, for the sentinel scan
	running int      // arcfleet processes alive: the cmdline sampler runs meanwhile
	leaks   []string // sentinel hits in /proc/*/cmdline
	stop    chan struct{}
}

// startFleet starts nLinux sshd hosts named PREFIX-N and nWin WinRM hosts named
// PREFIX-wN, logging in as the plain test user, all Linux hosts with one TMPDIR
// in the test's dir. Skips when real sshd hosts cannot run here.
func startFleet(t *testing.T, prefix string, nLinux, nWin int) *e2eFleet {
	t.Helper()
	return newFleet(t, prefix, nLinux, nWin, sshtest.LoginTest, true)
}

// startLoginFleet starts n sshd hosts logging in as login, each with its own
// TMPDIR (Host.TmpDir) and arcfleet state directory, as sshtest sets them.
func startLoginFleet(t *testing.T, prefix string, n int, login sshtest.Login) *e2eFleet {
	t.Helper()
	return newFleet(t, prefix, n, 0, login, false)
}

func newFleet(t *testing.T, prefix string, nLinux, nWin int, login sshtest.Login, sharedTmp bool) *e2eFleet {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: real sshd hosts")
	}
	if why := sshtest.Available(); why != "" {
		t.Skip(why)
	}
	f := &e2eFleet{t: t, bin: buildArcfleet(t), sim: sshtest.BuildSim(t), Dir: t.TempDir(), stop: make(chan struct{})}
	f.Scenario = filepath.Join(f.Dir, "scenario.yaml")
	if err := os.WriteFile(f.Scenario, []byte("default: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The non-root login user reads the scenario.
	if err := os.Chmod(f.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AZCMAGENT_SIM_SCENARIO": f.Scenario}
	if sharedTmp {
		// The hosts' TMPDIR (where the connect script keeps the agent's --config file,
		// secret included, while the agent runs) is in the test's dir, so the secret
		// scan sees a config file left behind by an interrupted or killed run.
		hostTmp := filepath.Join(f.Dir, "host-tmp")
		if err := os.Mkdir(hostTmp, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(hostTmp, 0o1777); err != nil {
			t.Fatal(err)
		}
		env["TMPDIR"] = hostTmp
	}
	f.ssh = sshtest.StartFleet(t, nLinux, sshtest.FleetOptions{AgentBinary: f.sim, NamePrefix: prefix + "-", Login: login, Env: env})
	f.Record = f.ssh.RecordFile
	for _, h := range f.ssh.Hosts {
		f.Hosts = append(f.Hosts, &e2eHost{Name: h.Name, Root: h.Root, Address: h.Address, Port: h.Port, Agent: h.AgentPath, Log: h.AgentLog})
	}
	if nWin > 0 {
		f.startWindows(prefix, nWin)
	}
	go f.sampleCmdlines()
	t.Cleanup(func() { close(f.stop) })
	return f
}

// startWindows starts WinRM test servers (HTTPS, one CA, NTLM). They cannot run
// PowerShell: for each Windows step arcfleet will send (the inventory gives the
// agent and its log as absolute POSIX paths) they run the same step rendered
// for Linux (testbed/wintwin), which uses those paths as they are.
func (f *e2eFleet) startWindows(prefix string, n int) {
	t := f.t
	f.winDir = t.TempDir()
	ca, err := winrmtest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	f.caFile = filepath.Join(f.winDir, "winrm-ca.pem")
	if err := os.WriteFile(f.caFile, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(f.winDir, "bin")
	agent, err := sshtest.InstallAgent(bin, f.sim) // with the systemctl shim the restart step's twin needs
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("%s-w%d", prefix, i)
		root := filepath.Join(f.winDir, name)
		tmp := filepath.Join(root, "tmp")
		for _, d := range []string{filepath.Join(root, "log"), tmp} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		env := []string{
			"PATH=" + bin + ":/usr/local/bin:/usr/bin:/bin",
			"HOME=" + root, "TMPDIR=" + tmp, "LANG=C.UTF-8",
			"AZCMAGENT_SIM_ROOT=" + root, "AZCMAGENT_SIM_HOST=" + name, "AZCMAGENT_SIM_NO_ROOT=1",
			"AZCMAGENT_SIM_SCENARIO=" + f.Scenario, "AZCMAGENT_SIM_RECORD=" + f.Record,
		}
		s := winrmtest.Start(t, winrmtest.Options{HTTPS: true, CA: ca, User: "arcfleet", Password: e2eWinRMPasswd,
			Auth: []string{"ntlm"}, Env: env, Dir: root})
		a := inventory.Agent{Path: agent, Log: filepath.Join(root, "log", "azcmagent.log")}
		// writeInventory gives the host these agent paths: its commands are these steps'.
		if err := wintwin.Register(s, inventory.Host{Name: name, OS: "windows", Agent: a}, a); err != nil {
			t.Fatal(err)
		}
		f.Hosts = append(f.Hosts, &e2eHost{Name: name, Windows: true, Root: root, Address: s.Host, Port: s.Port,
			Agent: a.Path, Log: a.Log, srv: s})
	}
}

// Names lists the fleet's host names in inventory order.
func (f *e2eFleet) Names() []string {
	var n []string
	for _, h := range f.Hosts {
		n = append(n, h.Name)
	}
	return n
}

func (f *e2eFleet) Host(name string) *e2eHost {
	for _, h := range f.Hosts {
		if h.Name == name {
			return h
		}
	}
	f.t.Fatalf("no host %s in the fleet", name)
	return nil
}

func secretSHA(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// writeScenario writes the fleet scenario. Every agent accepts only the good SP
// secret, so a successful connect proves the sentinel reached the agent (on
// stdin). hosts maps a host name to extra flow-mapping entries ("slow: 3s, ...").
func (f *e2eFleet) writeScenario(def string, hosts map[string]string) {
	base := "accept_secret_sha256: " + secretSHA(e2eSPSecret)
	join := func(extra string) string {
		if extra == "" {
			return "{" + base + "}"
		}
		return "{" + base + ", " + extra + "}"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "default: %s\nhosts:\n", join(def))
	names := make([]string, 0, len(hosts))
	for n := range hosts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f.Host(n) // a typo in a test's host name must not pass silently
		// A listed host does not inherit default:, so it gets def as well.
		extra := hosts[n]
		if def != "" && extra != "" {
			extra = def + ", " + extra
		} else if def != "" {
			extra = def
		}
		fmt.Fprintf(&b, "  %s: %s\n", n, join(extra))
	}
	if err := os.WriteFile(f.Scenario, []byte(b.String()), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// connectedAt is a scenario `initial:` for a host already connected to the inventory's target.
func connectedAt(rg string) string {
	return fmt.Sprintf("initial: {status: Connected, subscription_id: %s, resource_group: %s, location: westeurope, tenant_id: %s}", e2eSub, rg, e2eTenant)
}

// invOpts vary the inventory.
type invOpts struct {
	lab  map[string]bool   // hosts in group lab: credential sp-lab (its secret: envLabSecret)
	tags map[string]string // host -> "K: V" extra tag
	sudo bool              // Linux hosts: become: sudo
}

// writeInventory writes the fleet's inventory to f.Inv and returns its path.
func (f *e2eFleet) writeInventory(o invOpts) string {
	become := ""
	if o.sudo {
		become = ", become: sudo"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `version: 1
azure:
  tenant_id: %s
  subscription_id: %s
  resource_group: %s
  location: westeurope
  tags: {Owner: arcfleet-e2e}
credentials:
  sp: {client_id: %s, secret: {env: %s}}
  sp-lab: {client_id: %s, secret: {env: %s}}
defaults:
  credential: sp
  linux:
    ssh: {user: %s, identity_file: %s, known_hosts: %s, host_key_policy: strict%s}
  windows:
    winrm: {user: arcfleet, password: {env: %s}, auth: ntlm, ca_file: %s}
retry:
  max_attempts: 3
  base_delay: 20ms
  max_delay: 100ms
  codes:
    AZCM0064: {action: restart-agent-service, delay: 50ms}
groups:
  lab: {credential: sp-lab}
hosts:
`, e2eTenant, e2eSub, e2eRG, e2eClient, envSPSecret, e2eLabApp, envLabSecret,
		f.ssh.User, f.ssh.IdentityFile, f.ssh.KnownHostsFile, become, envWinRMPw, orNone(f.caFile))
	for _, h := range f.Hosts {
		fmt.Fprintf(&b, "  - name: %s\n    address: %s\n    port: %d\n    agent: {path: %s, log: %s}\n", h.Name, h.Address, h.Port, h.Agent, h.Log)
		if h.Windows {
			b.WriteString("    os: windows\n")
		}
		if o.lab[h.Name] {
			b.WriteString("    groups: [lab]\n")
		}
		if tag := o.tags[h.Name]; tag != "" {
			fmt.Fprintf(&b, "    tags: {%s}\n", tag)
		}
	}
	f.Inv = filepath.Join(f.Dir, "fleet.yaml")
	if err := os.WriteFile(f.Inv, []byte(b.String()), 0o644); err != nil {
		f.t.Fatal(err)
	}
	return f.Inv
}

func orNone(s string) string {
	if s == "" {
		return "/nonexistent-ca.pem"
	}
	return s
}

// cliResult is one finished arcfleet run.
type cliResult struct {
	args           []string
	code           int
	stdout, stderr string
}

func (r cliResult) String() string {
	return fmt.Sprintf("arcfleet %s: exit %d\n--- stdout:\n%s--- stderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// cliProc is a running arcfleet.
type cliProc struct {
	f              *e2eFleet
	cmd            *exec.Cmd
	args           []string
	stdout, stderr *lockedBuffer
	done           chan struct{}
	code           int
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs arcfleet with the secrets in its environment (and nowhere else),
// stdin /dev/null and its working directory f.Dir.
func (f *e2eFleet) start(args ...string) *cliProc {
	f.t.Helper()
	p := &cliProc{f: f, args: args, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(f.bin, args...)
	p.cmd.Dir = f.Dir
	p.cmd.Env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + f.Dir, "TMPDIR=" + os.TempDir(), "LANG=C.UTF-8",
		envSPSecret + "=" + e2eSPSecret, envLabSecret + "=" + e2eBadSecret, envWinRMPw + "=" + e2eWinRMPasswd,
		"GORACE=halt_on_error=1",
	}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	f.mu.Lock()
	f.running++
	f.mu.Unlock()
	if err := p.cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.code = 128 + int(ws.Signal())
		} else if err != nil && p.code < 0 {
			p.code = -1
		}
		f.mu.Lock()
		f.running--
		f.outputs = append(f.outputs, p.stdout.String(), p.stderr.String())
		f.mu.Unlock()
		close(p.done)
	}()
	return p
}

// wait waits for the process; it kills it after timeout and fails the test.
func (p *cliProc) wait(timeout time.Duration) cliResult {
	p.f.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.f.t.Fatalf("arcfleet %s did not end within %s\n%s", strings.Join(p.args, " "), timeout, p.result())
	}
	return p.result()
}

func (p *cliProc) result() cliResult {
	return cliResult{args: p.args, code: p.code, stdout: p.stdout.String(), stderr: p.stderr.String()}
}

// run runs arcfleet to its end (at most a minute).
func (f *e2eFleet) run(args ...string) cliResult {
	f.t.Helper()
	return f.start(args...).wait(time.Minute)
}

// expect fails the test unless the run exited with code.
func (r cliResult) expect(t *testing.T, code int) cliResult {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d\n%s", code, r)
	}
	return r
}

// sampleCmdlines looks for the sentinels in every process's command line while
// an arcfleet process runs: a secret on a remote command line shows up here too,
// since the remote hosts are processes of this machine.
func (f *e2eFleet) sampleCmdlines() {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-tick.C:
		}
		f.mu.Lock()
		busy := f.running > 0
		f.mu.Unlock()
		if !busy {
			continue
		}
		if hits := cmdlineLeaks(); len(hits) > 0 {
			f.mu.Lock()
			f.leaks = append(f.leaks, hits...)
			f.mu.Unlock()
		}
	}
}

// cmdlineLeaks names the processes whose command line holds a sentinel (never the value).
func cmdlineLeaks() []string {
	ents, _ := os.ReadDir("/proc")
	var hits []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, s := range e2eSentinels() {
			if bytes.Contains(b, []byte(s)) {
				exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
				hits = append(hits, fmt.Sprintf("pid %s (%s)", e.Name(), exe))
			}
		}
	}
	return hits
}

// filesWithSentinel walks dirs and files (symlinks not followed) and names every
// regular file holding a sentinel.
func filesWithSentinel(paths ...string) []string {
	var hits []string
	for _, root := range paths {
		if root == "" {
			continue
		}
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			for _, s := range e2eSentinels() {
				if bytes.Contains(data, []byte(s)) {
					hits = append(hits, path)
				}
			}
			return nil
		})
	}
	return hits
}

// assertNoSecrets: no sentinel in any arcfleet output, in the test's inventories,
// plans and run dirs, in any file of the hosts (sim roots, logs, record, sshd
// logs, the WinRM servers' dirs), nor on any command line sampled during runs.
func (f *e2eFleet) assertNoSecrets() {
	t := f.t
	t.Helper()
	f.mu.Lock()
	outputs, leaks, running := f.outputs, f.leaks, f.running
	f.mu.Unlock()
	if running > 0 {
		t.Fatalf("assertNoSecrets with %d arcfleet processes running", running)
	}
	if len(outputs) == 0 {
		t.Fatal("assertNoSecrets: no arcfleet output collected: the scan would prove nothing")
	}
	for i, o := range outputs {
		for _, s := range e2eSentinels() {
			if strings.Contains(o, s) {
				t.Errorf("a secret appears in arcfleet output #%d", i)
			}
		}
	}
	for _, p := range filesWithSentinel(f.Dir, f.ssh.Dir, f.winDir) {
		t.Errorf("a secret appears in %s", p)
	}
	for _, l := range leaks {
		t.Errorf("a secret appeared on a command line: %s", l)
	}
}

// simRecord is one line of the simulator's record file.
type simRecord struct {
	Host  string    `json:"host"`
	Cmd   string    `json:"cmd"`
	Pid   int       `json:"pid"`
	Event string    `json:"event"`
	T     time.Time `json:"t"`
	Exit  *int      `json:"exit"`
}

func (f *e2eFleet) record() []simRecord {
	f.t.Helper()
	data, err := os.ReadFile(f.Record)
	if err != nil {
		f.t.Fatal(err)
	}
	var recs []simRecord
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var r simRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			f.t.Fatalf("%s: record line %q: %v", f.Record, sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

// successfulConnects counts, per host, connects that ended with exit 0.
func successfulConnects(recs []simRecord) map[string]int {
	n := map[string]int{}
	for _, r := range recs {
		if r.Cmd == "connect" && r.Event == "end" && r.Exit != nil && *r.Exit == 0 {
			n[r.Host]++
		}
	}
	return n
}

// actionHosts is the set of hosts on which connect or disconnect started.
func actionHosts(recs []simRecord) map[string]bool {
	s := map[string]bool{}
	for _, r := range recs {
		if (r.Cmd == "connect" || r.Cmd == "disconnect") && r.Event == "start" {
			s[r.Host] = true
		}
	}
	return s
}

// simState is the part of a host's state.json the tests check.
type simState struct {
	Status             string `json:"status"`
	ResourceGroup      string `json:"resourceGroup"`
	SuccessfulConnects int    `json:"successfulConnects"`
}

func (f *e2eFleet) state(name string) simState {
	f.t.Helper()
	var s simState
	data, err := os.ReadFile(filepath.Join(f.Host(name).Root, "state.json"))
	if err != nil {
		f.t.Fatalf("%s: %v", name, err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		f.t.Fatalf("%s: state.json: %v", name, err)
	}
	return s
}

// readReport reads RUN_DIR/report.json.
func readReport(t *testing.T, runDir string) *results.Report {
	t.Helper()
	r, err := results.ReadReport(runDir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func hostResult(t *testing.T, r *results.Report, name string) results.HostResult {
	t.Helper()
	for _, h := range r.Hosts {
		if h.Name == name {
			return h
		}
	}
	t.Fatalf("host %s not in the report", name)
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

// journalRec is the part of a journal.jsonl line the tests check.
type journalRec struct {
	T       time.Time `json:"t"`
	Event   string    `json:"event"`
	Host    string    `json:"host"`
	Step    string    `json:"step"`
	Outcome string    `json:"outcome"`
}

func readJournal(t *testing.T, runDir string) []journalRec {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(runDir, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var recs []journalRec
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		var r journalRec
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			continue // a torn last line after a kill
		}
		recs = append(recs, r)
	}
	return recs
}

// doneHosts is the set of hosts with a "done" journal record.
func doneHosts(recs []journalRec) map[string]int {
	d := map[string]int{}
	for _, r := range recs {
		if r.Event == "done" {
			d[r.Host]++
		}
	}
	return d
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// agentStarted reports whether the record shows cmd started on every host of names.
func (f *e2eFleet) agentStarted(cmd string, names ...string) bool {
	data, _ := os.ReadFile(f.Record)
	for _, n := range names {
		if !bytes.Contains(data, []byte(fmt.Sprintf(`"host":%q,"cmd":%q`, n, cmd))) {
			return false
		}
	}
	return true
}

// simProcesses lists live (not zombie) simulator processes of this fleet's
// hosts: other tests running at the same time use the same binary, so they are
// told apart by AZCMAGENT_SIM_ROOT.
func (f *e2eFleet) simProcesses() []string {
	sim, err := filepath.EvalSymlinks(f.sim)
	if err != nil {
		f.t.Fatal(err)
	}
	roots := map[string]bool{}
	for _, h := range f.Hosts {
		roots["AZCMAGENT_SIM_ROOT="+h.Root] = true
	}
	ents, _ := os.ReadDir("/proc")
	var left []string
	for _, e := range ents {
		dir := filepath.Join("/proc", e.Name())
		if exe, err := os.Readlink(filepath.Join(dir, "exe")); err != nil || exe != sim {
			continue
		}
		if st, err := os.ReadFile(filepath.Join(dir, "stat")); err == nil {
			if i := bytes.LastIndexByte(st, ')'); i > 0 && len(st) > i+2 && st[i+2] == 'Z' {
				continue // a zombie has ended; only its parent has not reaped it yet
			}
		}
		env, _ := os.ReadFile(filepath.Join(dir, "environ"))
		for _, kv := range bytes.Split(env, []byte{0}) {
			if roots[string(kv)] {
				cmd, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
				left = append(left, e.Name()+": "+strings.ReplaceAll(string(cmd), "\x00", " "))
				break
			}
		}
	}
	return left
}

// simDirect runs the simulator on a host's state behind arcfleet's back, as the
// host's login user (state files stay writable for it), without recording.
func (f *e2eFleet) simDirect(name string, args ...string) string {
	f.t.Helper()
	h := f.Host(name)
	cmd := exec.CommandContext(context.Background(), f.sim, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "AZCMAGENT_SIM_ROOT=" + h.Root, "AZCMAGENT_SIM_HOST=" + h.Name, "AZCMAGENT_SIM_NO_ROOT=1"}
	if !h.Windows {
		u, err := user.Lookup(f.ssh.User)
		if err != nil {
			f.t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		f.t.Fatalf("%s %s on %s: %v\n%s", f.sim, strings.Join(args, " "), name, err, out)
	}
	return string(out)
}
