package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/plan"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/internal/transport/winrm"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
	"github.com/arcfleet/arcfleet/testbed/winrmtest"
	"github.com/arcfleet/arcfleet/testbed/wintwin"
)

// End-to-end for Windows hosts: arcfleet's real Windows steps (PowerShell sent
// as -EncodedCommand) through the executor and the real transport/winrm client
// to testbed/winrmtest servers over HTTPS with a test CA. The servers cannot run
// PowerShell: for each Windows step's command line they run the same step as
// rendered for Linux (testbed/wintwin) against the agent simulator. What this
// cannot show (PowerShell itself) is listed in testbed/winrmtest/README.md.

// winPassword is every test WinRM server's password: a second sentinel that
// must never show up where the SP secret must not.
const winPassword = "W1nRM-pa55-SENTINEL-7"

// winLookupEnv resolves the test inventories' secret references.
func winLookupEnv(name string) (string, bool) {
	switch name {
	case "ARC_WINRM_PASSWORD":
		return winPassword, true
	case "ARC_WINRM_WRONG":
		return "not-the-password", true
	}
	return exEnv(name)
}

// winEnv is what Windows test hosts share: the simulator, one CA, one record file.
type winEnv struct {
	sim    string
	ca     *winrmtest.CA
	record string // AZCMAGENT_SIM_RECORD of every host
	scen   string // AZCMAGENT_SIM_SCENARIO of every host (a fleet file)
}

// newWinEnv builds the simulator and writes scenario as the fleet scenario.
// record "" makes a fresh record file.
func newWinEnv(t *testing.T, scenario, record string) *winEnv {
	t.Helper()
	ca, err := winrmtest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w := &winEnv{sim: sshtest.BuildSim(t), ca: ca, record: record, scen: filepath.Join(dir, "scenario.yaml")}
	if w.record == "" {
		w.record = filepath.Join(dir, "record.jsonl")
	}
	if err := os.WriteFile(w.scen, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

// winHost is one emulated Windows host: a WinRM server whose commands see the
// simulator as `azcmagent` and a `systemctl` shim on PATH, its own simulator
// root and its own TMPDIR (where the scripts' private config dirs go).
type winHost struct {
	name string
	srv  *winrmtest.Server
	dir  string // everything of the host: root, bin, tmp
	root string // AZCMAGENT_SIM_ROOT
	tmp  string // TMPDIR
}

func (w *winEnv) start(t *testing.T, name string, opts winrmtest.Options) *winHost {
	t.Helper()
	h := &winHost{name: name, dir: t.TempDir()}
	h.root = filepath.Join(h.dir, "root")
	h.tmp = filepath.Join(h.dir, "tmp")
	bin := filepath.Join(h.dir, "bin")
	for _, d := range []string{h.root, h.tmp, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The restart step's Linux twin runs `systemctl restart himdsd` (Restart-Service
	// himds on Windows); InstallAgent's shim hands it to the simulator.
	if _, err := sshtest.InstallAgent(bin, w.sim); err != nil {
		t.Fatal(err)
	}
	opts.HTTPS = true
	opts.CA = w.ca
	opts.Password = winPassword
	opts.Dir = h.dir
	opts.Env = []string{
		"PATH=" + bin + ":/usr/local/bin:/usr/bin:/bin",
		"TMPDIR=" + h.tmp,
		"HOME=" + h.dir,
		"AZCMAGENT_SIM_ROOT=" + h.root,
		"AZCMAGENT_SIM_HOST=" + name,
		"AZCMAGENT_SIM_SCENARIO=" + w.scen,
		"AZCMAGENT_SIM_RECORD=" + w.record,
		"AZCMAGENT_SIM_NO_ROOT=1",
	}
	h.srv = winrmtest.Start(t, opts)
	// Every Windows step of invHost (agent at the Windows defaults) runs its
	// Linux twin: the simulator found on PATH, its log under the host's root.
	if err := wintwin.Register(h.srv, inventory.Host{Name: name, OS: "windows"}, inventory.Agent{Log: filepath.Join(h.root, "log", "azcmagent.log")}); err != nil {
		t.Fatal(err)
	}
	return h
}

// invHost is the inventory host that reaches h over WinRM with auth, the
// agent at the Windows default paths (the server's twins find the simulator).
func (h *winHost) invHost(auth string) inventory.Host {
	return inventory.Host{Name: h.name, Address: h.srv.Host, Port: h.srv.Port, OS: "windows", Transport: "winrm", Credential: "sp",
		Azure: inventory.Azure{SubscriptionID: e2eSub, ResourceGroup: e2eRG, Location: "westeurope", TenantID: e2eTenant,
			Tags: map[string]string{"Cost Center": "R&D, Nordic", "Ägare": "Åsa Öberg", "env": "prod"}},
		WinRM: inventory.WinRM{User: h.srv.User, Password: inventory.SecretRef{Env: "ARC_WINRM_PASSWORD"}, Auth: auth, HTTPS: true, CAFile: h.srv.CAFile}}
}

// planOf is a plan of action over hosts, with the credentials the e2e tests use.
func planOf(action string, hosts ...inventory.Host) *plan.Plan {
	p := &plan.Plan{FormatVersion: plan.PlanFormatVersion, Action: action, Inventory: "e2e.yaml", InventoryDigest: "sha256:e2e", CreatedAt: time.Now(),
		Credentials: map[string]inventory.Credential{
			"sp":     {Name: "sp", ClientID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", TenantID: e2eTenant, Secret: inventory.SecretRef{Env: "ARC_SP_SECRET"}},
			"sp-bad": {Name: "sp-bad", ClientID: "bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee", TenantID: e2eTenant, Secret: inventory.SecretRef{Env: "ARC_OTHER_SECRET"}},
		}}
	for i := range hosts {
		h := hosts[i]
		p.Hosts = append(p.Hosts, plan.HostPlan{Host: h, Steps: agent.HostSteps(&h, action), Recovery: []agent.Step{agent.RestartServiceStep(&h)}})
	}
	return p
}

// simState is the part of the simulator's state.json the tests check.
type simState struct {
	Status                string            `json:"status"`
	ResourceID            string            `json:"resourceId"`
	ResourceGroup         string            `json:"resourceGroup"`
	SubscriptionID        string            `json:"subscriptionId"`
	TenantID              string            `json:"tenantId"`
	Location              string            `json:"location"`
	Tags                  map[string]string `json:"tags"`
	Service               string            `json:"service"`
	ServiceRestarts       int               `json:"serviceRestarts"`
	Attempts              map[string]int    `json:"attempts"`
	SuccessfulConnects    int               `json:"successfulConnects"`
	SuccessfulDisconnects int               `json:"successfulDisconnects"`
}

func readSimState(t *testing.T, root string) simState {
	t.Helper()
	var s simState
	b, err := os.ReadFile(filepath.Join(root, "state.json"))
	if err != nil {
		t.Fatalf("simulator state: %v", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("simulator state %s: %v", root, err)
	}
	return s
}

// connectedAtTarget fails t unless the host's agent is connected where the
// inventory wants it, with its tags.
func connectedAtTarget(t *testing.T, h *winHost, want inventory.Host) simState {
	t.Helper()
	s := readSimState(t, h.root)
	a := want.Azure
	if s.Status != "Connected" || s.SubscriptionID != a.SubscriptionID || s.ResourceGroup != a.ResourceGroup ||
		s.Location != a.Location || s.TenantID != a.TenantID || !strings.Contains(s.ResourceID, "/resourceGroups/"+a.ResourceGroup+"/") {
		t.Errorf("%s: agent state %+v; want Connected to %s/%s/%s tenant %s", h.name, s, a.SubscriptionID, a.ResourceGroup, a.Location, a.TenantID)
	}
	if fmt.Sprint(s.Tags) != fmt.Sprint(a.Tags) {
		t.Errorf("%s: tags %q, want %q", h.name, s.Tags, a.Tags)
	}
	return s
}

// cmdDialer wraps a Dialer and keeps every command line sent to a host: the
// exact text that crossed the connection (what process auditing would log).
type cmdDialer struct {
	d    transport.Dialer
	mu   sync.Mutex
	cmds map[string][]string // by host
}

func newCmdDialer(d transport.Dialer) *cmdDialer {
	return &cmdDialer{d: d, cmds: map[string][]string{}}
}

func (c *cmdDialer) Dial(ctx context.Context, t transport.Target) (transport.Conn, error) {
	conn, err := c.d.Dial(ctx, t)
	if err != nil {
		return nil, err
	}
	return &cmdConn{Conn: conn, d: c, host: t.Name}, nil
}

func (c *cmdDialer) sent(host string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.cmds[host]...)
}

type cmdConn struct {
	transport.Conn
	d    *cmdDialer
	host string
}

func (c *cmdConn) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	c.d.mu.Lock()
	c.d.cmds[c.host] = append(c.d.cmds[c.host], cmd)
	c.d.mu.Unlock()
	return c.Conn.Run(ctx, cmd, stdin, stdout, stderr)
}

// procWatch scans every process's command line while a run goes on, as `ps`
// on the hosts would: the secrets must never be there.
type procWatch struct {
	stop  chan struct{}
	done  chan struct{}
	sim   string
	seen  int // scans that found a simulator process: proof the watch saw runs
	leaks []string
}

func watchProcs(t *testing.T, secrets ...string) *procWatch {
	t.Helper()
	sim, err := filepath.EvalSymlinks(sshtest.BuildSim(t))
	if err != nil {
		t.Fatal(err)
	}
	w := &procWatch{stop: make(chan struct{}), done: make(chan struct{}), sim: sim}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(15 * time.Millisecond)
		defer tick.Stop()
		for {
			w.scan(secrets)
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

func (w *procWatch) scan(secrets []string) {
	ents, _ := os.ReadDir("/proc")
	found := false
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, s := range secrets {
			if strings.Contains(string(cmd), s) {
				w.leaks = append(w.leaks, e.Name()+": "+strings.ReplaceAll(string(cmd), "\x00", " "))
			}
		}
		if exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); exe == w.sim {
			found = true
		}
	}
	if found {
		w.seen++
	}
}

// end stops the watch and fails t on a leak.
func (w *procWatch) end(t *testing.T) {
	t.Helper()
	close(w.stop)
	<-w.done
	for _, l := range w.leaks {
		t.Errorf("secret in a process command line: %s", l)
	}
}

// hostProcesses lists the live (not zombie) processes of the emulated host
// name: the server gives every command AZCMAGENT_SIM_HOST=name.
func hostProcesses(name string) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !strings.Contains("\x00"+string(env), "\x00AZCMAGENT_SIM_HOST="+name+"\x00") {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && strings.HasPrefix(string(stat[i:]), ") Z") {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out = append(out, e.Name()+": "+strings.ReplaceAll(string(cmd), "\x00", " "))
	}
	return out
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || !strings.HasPrefix(string(stat[i:]), ") Z")
}

// noSecretUnder fails t when a file under dir holds one of secrets, and
// returns how many files it read.
func noSecretUnder(t *testing.T, dir string, secrets ...string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&os.ModeSymlink != 0 {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		n++
		for _, s := range secrets {
			if strings.Contains(string(data), s) {
				t.Errorf("secret in %s", path)
			}
		}
		return nil
	})
	return n
}

// checkSentCommands: every command line sent to host is an arcfleet
// PowerShell -EncodedCommand, exactly one of the host's steps (nothing added
// for the test server), and neither the line nor the script holds a secret.
// It returns the decoded scripts.
func checkSentCommands(t *testing.T, d *cmdDialer, host string, secrets ...string) []string {
	t.Helper()
	win := inventory.Host{Name: host, OS: "windows"}
	// A Windows command is a loader that runs the step's script, read from
	// stdin, only if its digest is the plan's: the script is the plan's.
	stepScripts := map[string]string{}
	for _, st := range append(agent.HostSteps(&win, agent.ActionReconnect), agent.RestartServiceStep(&win), agent.StopStep(&win)) {
		stepScripts[st.Command] = st.Script
	}
	var scripts []string
	for _, cmd := range d.sent(host) {
		ps, err := agent.DecodePowerShell(cmd)
		if err != nil {
			t.Errorf("%s: sent %.60q: %v", host, cmd, err)
			continue
		}
		script, ok := stepScripts[cmd]
		if !ok {
			t.Errorf("%s: sent a command that is none of a Windows host's steps:\n%s", host, ps)
		}
		if _, digest, err := agent.LoaderDigest(cmd); err != nil || digest != agent.ScriptDigest(script) {
			t.Errorf("%s: the command's loader does not check its step's script (%v)", host, err)
		}
		for _, s := range secrets {
			if strings.Contains(cmd+ps+script, s) {
				t.Errorf("%s: secret in a command line or script sent over WinRM", host)
			}
		}
		scripts = append(scripts, script)
	}
	return scripts
}

// closedPort returns a loopback port that refuses connections for the whole
// test: a socket bound to it but never listening keeps the port from being
// handed to another test's listener (a closed listener's port can be reused at
// once, and then the "unreachable" host answers).
func closedPort(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*syscall.SockaddrInet4).Port
}

func winExecutor(d transport.Dialer) *Executor {
	x := e2eExecutor()
	x.Dialer = d
	x.LookupEnv = winLookupEnv
	return x
}

func TestE2EWindowsOnboarding(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	connected := fmt.Sprintf("{status: Connected, subscription_id: %s, resource_group: %s, location: westeurope, tenant_id: %s}", e2eSub, e2eRG, e2eTenant)
	type want struct {
		outcome results.Outcome
		code    string
		steps   map[string]int // attempts per step name ("dial" = failed dials)
	}
	cases := []struct {
		name     string
		scenario string // the host's entry in the fleet scenario
		action   string
		auth     string
		opts     winrmtest.Options
		pwRef    string        // winrm password reference; default ARC_WINRM_PASSWORD
		timeout  time.Duration // per attempt; default e2eExecutor's
		want     want
		check    func(t *testing.T, h *winHost, inv inventory.Host, res results.HostResult, d *cmdDialer, rec []simRecord)
	}{
		{
			name: "connect-ntlm", scenario: "{}", auth: "ntlm",
			// One session: the connect step reads the agent itself (precondition).
			want: want{results.OutcomeOK, "AZCM0000", map[string]int{agent.StepConnect: 1}},
			check: func(t *testing.T, h *winHost, inv inventory.Host, res results.HostResult, d *cmdDialer, _ []simRecord) {
				s := connectedAtTarget(t, h, inv)
				if s.SuccessfulConnects != 1 || s.Attempts["connect"] != 1 {
					t.Errorf("agent saw %d connects (%d successful), want 1", s.Attempts["connect"], s.SuccessfulConnects)
				}
				// The plan's Windows script is what crossed the wire, exactly.
				scripts := checkSentCommands(t, d, h.name, execSentinel, winPassword)
				if len(scripts) != 1 || !strings.Contains(scripts[0], "& $A connect --config $F --json --log-stderr") {
					t.Errorf("sent %d scripts; the connect script:\n%s", len(scripts), strings.Join(scripts, "\n----\n"))
				}
			},
		},
		{
			name: "connect-basic", scenario: "{}", auth: "basic",
			want: want{results.OutcomeOK, "AZCM0000", map[string]int{agent.StepConnect: 1}},
			check: func(t *testing.T, h *winHost, inv inventory.Host, _ results.HostResult, _ *cmdDialer, _ []simRecord) {
				connectedAtTarget(t, h, inv)
			},
		},
		{
			name: "already-connected", scenario: "{initial: " + connected + "}", auth: "ntlm",
			want: want{results.OutcomeUnchanged, "", map[string]int{agent.StepProbe: 1}},
			check: func(t *testing.T, h *winHost, _ inventory.Host, _ results.HostResult, _ *cmdDialer, rec []simRecord) {
				for _, r := range rec {
					if r.Cmd == "connect" || r.Cmd == "disconnect" {
						t.Errorf("the agent ran %s on an already connected host", r.Cmd)
					}
				}
				if s := readSimState(t, h.root); s.Status != "Connected" || s.SuccessfulConnects != 0 {
					t.Errorf("state %+v", s)
				}
			},
		},
		{
			name: "resource-exists", scenario: "{resource_exists: true}", auth: "ntlm",
			want: want{results.OutcomeFailed, "AZCM0044", map[string]int{agent.StepConnect: 1}},
		},
		{
			name: "service-down", scenario: "{service_down: true}", auth: "ntlm",
			// The first connect is the one-session step; the retry after the
			// restart probes first (a remedy: two sessions).
			want: want{results.OutcomeOK, "AZCM0000", map[string]int{agent.StepProbe: 1, agent.StepConnect: 2, agent.StepRestartService: 1}},
			check: func(t *testing.T, h *winHost, inv inventory.Host, res results.HostResult, d *cmdDialer, rec []simRecord) {
				if res.Attempts[0].Step != agent.StepConnect || res.Attempts[0].Code != "AZCM0064" {
					t.Errorf("first connect: %+v, want AZCM0064", res.Attempts[0])
				}
				s := connectedAtTarget(t, h, inv)
				if s.ServiceRestarts != 1 || s.Service != "running" {
					t.Errorf("agent service restarts %d (%s), want 1", s.ServiceRestarts, s.Service)
				}
				restarts := 0
				for _, r := range rec {
					if r.Cmd == "service restart" && r.Event == "end" && r.Exit != nil && *r.Exit == 0 {
						restarts++
					}
				}
				if restarts != 1 {
					t.Errorf("the simulator recorded %d service restarts, want 1", restarts)
				}
				// The restart sent is the plan's: Restart-Service himds (its Linux
				// twin's systemctl restart is handed to the simulator by the shim).
				var found bool
				for _, ps := range checkSentCommands(t, d, h.name, execSentinel, winPassword) {
					if !strings.Contains(ps, "# arcfleet "+agent.StepRestartService) {
						continue
					}
					found = true
					if !strings.Contains(ps, "Restart-Service -Name himds -Force") {
						t.Errorf("restart script:\n%s", ps)
					}
				}
				if !found {
					t.Error("no restart-agent-service command was sent")
				}
			},
		},
		{
			name: "old-format-message-only", scenario: "{old_format: true, connect: {code: AZCM0041}}", auth: "ntlm",
			want: want{results.OutcomeFailed, "MSG-INVALID-CLIENT-SECRET", map[string]int{agent.StepConnect: 1}},
			check: func(t *testing.T, _ *winHost, _ inventory.Host, res results.HostResult, _ *cmdDialer, _ []simRecord) {
				if res.Class != results.ClassCredential || !strings.Contains(strings.Join(res.Evidence, "\n"), "Invalid client secret is provided") {
					t.Errorf("class %s evidence %q", res.Class, res.Evidence)
				}
			},
		},
		{
			name: "reconnect-gpo-broken", scenario: "{gpo_broken_identity: true, initial: " + connected + "}", action: agent.ActionReconnect, auth: "ntlm",
			want: want{results.OutcomeOK, "AZCM0000", map[string]int{agent.StepProbe: 1, agent.StepDisconnect: 1, agent.StepConnect: 1}},
			check: func(t *testing.T, h *winHost, inv inventory.Host, res results.HostResult, _ *cmdDialer, _ []simRecord) {
				// The service principal signs the DELETE: a broken local identity does not stop it.
				if res.Attempts[1].Code != "AZCM0000" {
					t.Errorf("disconnect: %+v, want AZCM0000", res.Attempts[1])
				}
				s := connectedAtTarget(t, h, inv)
				if s.SuccessfulConnects != 1 || s.Attempts["force_local"] != 0 {
					t.Errorf("agent: %d connects, %d force-local disconnects; want 1 and none (it would orphan the resource)", s.SuccessfulConnects, s.Attempts["force_local"])
				}
			},
		},
		{
			name: "hung-agent", scenario: "{connect: {attempts: {1: {hang: true}}}}", auth: "ntlm", timeout: 3 * time.Second,
			// The hung first connect is the one-session step; the retry after
			// it (acted on: outcome unknown) probes first.
			want: want{results.OutcomeOK, "AZCM0000", map[string]int{agent.StepProbe: 1, agent.StepConnect: 2}},
			check: func(t *testing.T, h *winHost, inv inventory.Host, res results.HostResult, _ *cmdDialer, rec []simRecord) {
				a := res.Attempts[0]
				if a.Code != "TRANSPORT-TIMEOUT" || a.Duration < 3*time.Second || a.Duration > 8*time.Second {
					t.Errorf("hung connect: %s after %s, want TRANSPORT-TIMEOUT after the 3s attempt timeout", a.Code, a.Duration)
				}
				connectedAtTarget(t, h, inv)
				// The first connect's agent never ended on its own: the twin's INT
				// trap stopped it (exit AZCM0011) after WinRM's Ctrl+C, or the
				// terminate killed it (a start without an end). Either way it is gone.
				exits := map[int]*int{}
				var hung []int
				for _, r := range rec {
					switch {
					case r.Cmd == "connect" && r.Event == "start":
						hung = append(hung, r.Pid)
					case r.Event == "end":
						exits[r.Pid] = r.Exit
					}
				}
				if len(hung) != 2 {
					t.Fatalf("%d connects in the record, want 2", len(hung))
				}
				if e := exits[hung[0]]; e != nil && *e == 0 || alive(hung[0]) {
					t.Errorf("hung agent pid %d: exit %v, alive %v", hung[0], e, alive(hung[0]))
				}
			},
		},
		{
			name: "winrm-401-ntlm", scenario: "{}", auth: "ntlm", pwRef: "ARC_WINRM_WRONG",
			want: want{results.OutcomeFailed, "TRANSPORT-AUTH", map[string]int{"dial": 1}},
		},
		{
			name: "winrm-401-basic", scenario: "{}", auth: "basic", pwRef: "ARC_WINRM_WRONG",
			want: want{results.OutcomeFailed, "TRANSPORT-AUTH", map[string]int{"dial": 1}},
		},
		{
			name: "tls-wrong-ca", scenario: "{}", auth: "ntlm", opts: winrmtest.Options{WrongCert: true},
			want: want{results.OutcomeFailed, "TRANSPORT-TLS", map[string]int{"dial": 1}},
			check: func(t *testing.T, h *winHost, _ inventory.Host, res results.HostResult, _ *cmdDialer, _ []simRecord) {
				if !strings.Contains(res.Detail, "ca_file") {
					t.Errorf("detail %q does not say how to fix it", res.Detail)
				}
				if c := h.srv.Counts(); c["Create"] != 0 {
					t.Errorf("a shell was created over an unverified connection: %v", c)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := "win-" + tc.name
			w := newWinEnv(t, fmt.Sprintf("hosts:\n  %s: %s\n", name, tc.scenario), "")
			h := w.start(t, name, tc.opts)
			inv := h.invHost(tc.auth)
			if tc.pwRef != "" {
				inv.WinRM.Password.Env = tc.pwRef
			}
			action := tc.action
			if action == "" {
				action = agent.ActionConnect
			}
			d := newCmdDialer(&winrm.Dialer{})
			x := winExecutor(d)
			if tc.timeout > 0 {
				x.Timeout = tc.timeout
			}
			// At the retry after a failed attempt, nothing of that attempt may be left running.
			var mu sync.Mutex
			var leftAtRetry []string
			x.Events = func(e Event) {
				if e.Kind == EventRetry {
					left := hostProcesses(name)
					if n := h.srv.Running(); n > 0 {
						left = append(left, fmt.Sprintf("winrmtest: %d commands running", n))
					}
					mu.Lock()
					leftAtRetry = append(leftAtRetry, left...)
					mu.Unlock()
				}
			}
			watch := watchProcs(t, execSentinel, winPassword)
			dir := t.TempDir()
			rep, err := x.Apply(context.Background(), planOf(action, inv), dir)
			watch.end(t)
			if err != nil {
				t.Fatal(err)
			}
			if tc.timeout > 0 && watch.seen == 0 {
				t.Error("the process watch never saw the hung agent: it proves nothing")
			}
			res := rep.Hosts[0]
			got := map[string]int{}
			for _, a := range res.Attempts {
				got[a.Step]++
			}
			if res.Outcome != tc.want.outcome || res.FinalCode != tc.want.code || fmt.Sprint(got) != fmt.Sprint(tc.want.steps) {
				t.Errorf("%s %s with attempts %v (%s); want %s %s with %v", res.Outcome, res.FinalCode, got, res.Detail, tc.want.outcome, tc.want.code, tc.want.steps)
			}
			if len(leftAtRetry) > 0 {
				t.Errorf("processes of the failed attempt left at the retry: %v", leftAtRetry)
			}
			if tc.check != nil {
				var rec []simRecord
				if _, err := os.Stat(w.record); err == nil {
					rec = readRecord(t, w.record)
				}
				tc.check(t, h, inv, res, d, rec)
			}
			// Nothing left running on the host; no config dir left in its TMPDIR;
			// no secret in any file of the host or the run dir.
			// Within 3 s, as assertHostClean: the step's watchdog ends with the
			// step, but the `sleep 1` it was in may outlive it by up to a second.
			var left []string
			if !eventually(3*time.Second, func() bool { left = hostProcesses(name); return len(left) == 0 && h.srv.Running() == 0 }) {
				t.Errorf("left running on the host: %v (winrmtest: %d)", left, h.srv.Running())
			}
			if ents, _ := os.ReadDir(h.tmp); len(ents) > 0 {
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				t.Errorf("left in the host's TMPDIR: %v", names)
			}
			noSecretUnder(t, h.dir, execSentinel, winPassword)
			if n := noSecretUnder(t, dir, execSentinel, winPassword); n < 3 {
				t.Errorf("only %d files in the run dir", n)
			}
			if b, _ := json.Marshal(rep); strings.Contains(string(b), execSentinel) || strings.Contains(string(b), winPassword) {
				t.Error("secret in the report")
			}
			// Every command line, as the plan holds it, is free of secrets too.
			for _, st := range append(agent.HostSteps(&inv, action), agent.RestartServiceStep(&inv)) {
				ps, err := agent.DecodePowerShell(st.Command)
				if err != nil || strings.Contains(st.Command+ps, execSentinel) {
					t.Errorf("plan step %s: %v", st.Name, err)
				}
			}
		})
	}
}
