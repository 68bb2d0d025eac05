// Package demo assembles arcfleet's embedded demo fleet: simulated Linux hosts
// (in-process SSH servers, testbed/sshtest.NewServer) and Windows hosts (WinRM
// test servers, testbed/winrmtest), each with its own agent-simulator root,
// scenario and environment, plus the inventory that reaches them. It needs
// nothing but Go and the azcmagent-sim binary: no sshd, no root.
//
// The same assembly serves the end-to-end demo test, the 10,000-host scale test
// and the benchmarks.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/internal/transport/ssh"
	"github.com/arcfleet/arcfleet/internal/transport/winrm"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
	"github.com/arcfleet/arcfleet/testbed/winrmtest"
	"github.com/arcfleet/arcfleet/testbed/wintwin"
)

// Environment variables the demo inventory references for its secrets. They are
// served by Fleet.LookupEnv only: the demo never sets them in the process
// environment, so no child process inherits them.
const (
	EnvSPSecret    = "ARCFLEET_DEMO_SP_SECRET"
	EnvLabSecret   = "ARCFLEET_DEMO_LAB_SECRET"
	EnvWinRMPasswd = "ARCFLEET_DEMO_WINRM_PASSWORD"
)

// Login users of the simulated hosts.
const (
	LinuxUser   = "arcadmin"
	WindowsUser = "arcadmin"
)

// HostSpec is one simulated host and the outcome it is designed to end with.
type HostSpec struct {
	Name  string
	OS    string   // "linux" (SSH) or "windows" (WinRM)
	Group []string // inventory groups
	// Scenario is the host's azcmagent-sim scenario (README "Scenarios");
	// nil takes Options.DefaultScenario.
	Scenario map[string]any
	// Unreachable: the inventory points at a closed port.
	Unreachable bool
	Want        Want
}

// Want is a host's designed result: its outcome and final code ("" = any).
type Want struct {
	Outcome results.Outcome
	Code    string
	// MinAttempts is the least number of recorded attempts (e.g. 2 for a host
	// that must have been retried); 0 = no check.
	MinAttempts int
}

// Options configures Start.
type Options struct {
	Sim   string // the azcmagent-sim binary (FindSim)
	Dir   string // where hosts, keys and the inventory go; created
	Hosts []HostSpec
	// DefaultScenario applies to hosts without a Scenario of their own.
	DefaultScenario map[string]any
	// Groups is the inventory's groups: section (YAML), indented by two spaces.
	Groups string
	// Retry is the inventory's retry: section (YAML), indented by two spaces.
	Retry string
	// SharedHostKey gives every SSH host one host key (scale runs: key
	// generation is cheap, but one key per host buys the benchmark nothing).
	SharedHostKey bool
	// Record sets AZCMAGENT_SIM_RECORD to Dir/record.jsonl on every host.
	Record bool
	// InProcessAgent: Linux hosts emulate the agent inside this process
	// (probe and connect only; of the scenario only slow: applies) instead of
	// spawning /bin/sh and azcmagent-sim per step. For scale runs; see lightHost.
	InProcessAgent bool
	// PinHostKey (with SharedHostKey): the inventory pins the shared key's
	// fingerprint (host_key_policy: fingerprint) instead of listing every host
	// in known_hosts. transport/ssh reads the whole known_hosts file on every
	// dial, which at 10,000 hosts costs more than everything else together.
	PinHostKey bool
	// Secrets, when set, are the values of EnvSPSecret, EnvLabSecret and
	// EnvWinRMPasswd (a benchmark's fleet process gets them from the
	// controller); nil means new random values.
	Secrets map[string]string
}

// Fleet is a running simulated fleet.
type Fleet struct {
	Dir        string
	Inventory  string // the inventory file
	Scenario   string // the fleet scenario file (AZCMAGENT_SIM_SCENARIO)
	RecordFile string // "" unless Options.Record
	Hosts      []HostSpec

	secrets map[string]string // env name -> value, for LookupEnv only
	ssh     []*sshtest.Server
	win     []*winrmtest.Server
	light   []*lightHost
}

// LookupEnv resolves the demo inventory's secret references; other names fall
// through to the process environment, as the real CLI's would.
func (f *Fleet) LookupEnv(name string) (string, bool) {
	if v, ok := f.secrets[name]; ok {
		return v, true
	}
	return os.LookupEnv(name)
}

// Secrets are the values that must never be shown, logged or written (tests
// look for them in every output).
func (f *Fleet) Secrets() []string {
	out := make([]string, 0, len(f.secrets))
	for _, v := range f.secrets {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// Dialer is the real transport, as `arcfleet apply` uses it.
func Dialer() transport.Dialer {
	return transport.Mux{SSH: &ssh.Dialer{}, WinRM: &winrm.Dialer{}}
}

// Close stops every server and kills their commands. The directory is left
// for the caller (the demo removes it, tests use t.TempDir).
func (f *Fleet) Close() error {
	var errs []error
	for _, s := range f.ssh {
		errs = append(errs, s.Close())
	}
	for _, s := range f.win {
		errs = append(errs, s.Close())
	}
	for _, s := range f.light {
		errs = append(errs, s.Close())
	}
	f.ssh, f.win, f.light = nil, nil, nil
	return errors.Join(errs...)
}

// Start builds and starts the fleet o describes and writes its inventory.
// On error, whatever was started is stopped.
func Start(ctx context.Context, o Options) (f *Fleet, err error) {
	if o.Sim == "" && needsSim(o) {
		return nil, errors.New("demo: no azcmagent-sim binary; fix: run `make demo` (it builds bin/azcmagent-sim)")
	}
	if len(o.Hosts) == 0 {
		return nil, errors.New("demo: no hosts")
	}
	f = &Fleet{Dir: o.Dir, Hosts: o.Hosts, secrets: map[string]string{}}
	started := f // the returns below set f to nil before this runs
	defer func() {
		if err != nil {
			started.Close()
			f = nil
		}
	}()
	bin := filepath.Join(o.Dir, "bin")
	tmp := filepath.Join(o.Dir, "tmp")
	for _, d := range []string{bin, tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if o.Sim != "" {
		if _, err := sshtest.InstallAgent(bin, o.Sim); err != nil {
			return nil, err
		}
	}
	// Secrets: random per run, so nothing can depend on their value.
	for _, name := range []string{EnvSPSecret, EnvLabSecret, EnvWinRMPasswd} {
		f.secrets[name] = "demo-" + rand.Text()
		if v := o.Secrets[name]; v != "" {
			f.secrets[name] = v
		}
	}
	sum := sha256.Sum256([]byte(f.secrets[EnvSPSecret]))
	accept := hex.EncodeToString(sum[:])

	f.Scenario = filepath.Join(o.Dir, "scenario.yaml")
	if err := writeScenario(f.Scenario, o, accept); err != nil {
		return nil, err
	}
	if o.Record {
		f.RecordFile = filepath.Join(o.Dir, "record.jsonl")
	}

	clientKey, err := sshtest.WriteKey(filepath.Join(o.Dir, "id_ed25519"), "")
	if err != nil {
		return nil, err
	}
	var shared xssh.Signer
	if o.SharedHostKey {
		if shared, _, err = sshtest.NewSigner(); err != nil {
			return nil, err
		}
	}
	var lightCfg *xssh.ServerConfig
	if o.InProcessAgent {
		if lightCfg, shared, err = newLightConfig(clientKey.PublicKey(), shared); err != nil {
			return nil, err
		}
	}
	var ca *winrmtest.CA
	caFile := filepath.Join(o.Dir, "winrm-ca.pem")

	addrs := make([]hostAddr, len(o.Hosts))
	var known bytes.Buffer
	for i, h := range o.Hosts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		root := filepath.Join(o.Dir, "hosts", h.Name)
		if !o.InProcessAgent || h.OS == "windows" {
			if err := os.MkdirAll(filepath.Join(root, "log"), 0o700); err != nil {
				return nil, err
			}
		}
		env := f.hostEnv(bin, tmp, root, h.Name)
		switch {
		case h.Unreachable:
			port, err := closedPort()
			if err != nil {
				return nil, err
			}
			addrs[i] = hostAddr{"127.0.0.1", port, root}
		case h.OS == "windows":
			if ca == nil {
				if ca, err = winrmtest.NewCA(); err != nil {
					return nil, err
				}
				if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
					return nil, err
				}
			}
			s, err := winrmtest.New(winrmtest.Options{
				HTTPS: true, CA: ca, User: WindowsUser, Password: f.secrets[EnvWinRMPasswd],
				Auth: []string{"ntlm", "basic"}, Env: env, Dir: root,
			})
			if err != nil {
				return nil, fmt.Errorf("demo: host %s: %w", h.Name, err)
			}
			f.win = append(f.win, s)
			// The server cannot run PowerShell: each Windows step of the
			// inventory's host (agent at the Windows defaults) runs the same
			// step rendered for Linux, with the simulator's log.
			if err := wintwin.Register(s, inventory.Host{Name: h.Name, OS: "windows"}, inventory.Agent{Log: filepath.Join(root, "log", "azcmagent.log")}); err != nil {
				return nil, fmt.Errorf("demo: host %s: %w", h.Name, err)
			}
			addrs[i] = hostAddr{s.Host, s.Port, root}
		case o.InProcessAgent:
			slow, err := scenarioSlow(h.Scenario, o.DefaultScenario)
			if err != nil {
				return nil, fmt.Errorf("demo: host %s: %w", h.Name, err)
			}
			lh, err := startLightHost(h.Name, slow, sum, lightCfg)
			if err != nil {
				return nil, fmt.Errorf("demo: host %s: %w", h.Name, err)
			}
			f.light = append(f.light, lh)
			host, port := lh.addr()
			known.WriteString(knownhosts.Line([]string{knownhosts.Normalize(net.JoinHostPort(host, strconv.Itoa(port)))}, shared.PublicKey()) + "\n")
			addrs[i] = hostAddr{host, port, root}
		default:
			s, err := sshtest.NewServer(sshtest.ServerConfig{
				HostKey: shared, AuthorizedKeys: []xssh.PublicKey{clientKey.PublicKey()},
				User: LinuxUser, Env: env, Dir: root,
			})
			if err != nil {
				return nil, fmt.Errorf("demo: host %s: %w", h.Name, err)
			}
			f.ssh = append(f.ssh, s)
			known.WriteString(s.KnownHostsLine() + "\n")
			addrs[i] = hostAddr{s.Host(), s.Port(), root}
		}
	}
	knownFile := filepath.Join(o.Dir, "known_hosts")
	if err := os.WriteFile(knownFile, known.Bytes(), 0o600); err != nil {
		return nil, err
	}
	f.Inventory = filepath.Join(o.Dir, "inventory.yaml")
	pin := ""
	if o.PinHostKey {
		if shared == nil {
			return nil, errors.New("demo: PinHostKey needs SharedHostKey")
		}
		pin = xssh.FingerprintSHA256(shared.PublicKey())
	}
	inv := inventoryYAML(o, addrs, filepath.Join(o.Dir, "id_ed25519"), knownFile, caFile, pin)
	if err := os.WriteFile(f.Inventory, inv, 0o600); err != nil {
		return nil, err
	}
	return f, nil
}

// needsSim: some host spawns the simulator (all but in-process Linux hosts).
func needsSim(o Options) bool {
	for _, h := range o.Hosts {
		if !h.Unreachable && (h.OS == "windows" || !o.InProcessAgent) {
			return true
		}
	}
	return false
}

type hostAddr struct {
	host string
	port int
	root string
}

// hostEnv is a host's complete command environment: the simulator's settings
// and a PATH that finds it as `azcmagent` (and the systemctl shim).
func (f *Fleet) hostEnv(bin, tmp, root, name string) []string {
	env := []string{
		"PATH=" + bin + ":/usr/local/bin:/usr/bin:/bin",
		"HOME=" + root,
		"TMPDIR=" + tmp,
		"LANG=C.UTF-8",
		"AZCMAGENT_SIM_ROOT=" + root,
		"AZCMAGENT_SIM_HOST=" + name,
		"AZCMAGENT_SIM_NO_ROOT=1",
		"AZCMAGENT_SIM_SCENARIO=" + f.Scenario,
		// The host's own arcfleet state (host lock, last step), not the
		// machine's /var/lib/arcfleet: each simulated host is a host.
		"ARCFLEET_STATE_DIR=" + filepath.Join(root, "arcfleet-state"),
	}
	if f.RecordFile != "" {
		env = append(env, "AZCMAGENT_SIM_RECORD="+f.RecordFile)
	}
	return env
}

// scenarioSlow is the slow: of a host's scenario (or the default's).
func scenarioSlow(sc, def map[string]any) (time.Duration, error) {
	if sc == nil {
		sc = def
	}
	v, ok := sc["slow"]
	if !ok {
		return 0, nil
	}
	s, _ := v.(string)
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("scenario slow: %v: want a duration such as 2s", v)
	}
	return d, nil
}

// closedPort returns a loopback port nothing listens on (an unreachable host).
func closedPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	return port, ln.Close()
}

// writeScenario writes the fleet scenario file. Every entry carries the
// accepted secret's hash, so a host given another secret fails with AZCM0041.
func writeScenario(path string, o Options, accept string) error {
	withSecret := func(m map[string]any) map[string]any {
		out := map[string]any{"accept_secret_sha256": accept}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	doc := map[string]any{"default": withSecret(o.DefaultScenario)}
	hosts := map[string]any{}
	for _, h := range o.Hosts {
		if h.Scenario != nil {
			hosts[h.Name] = withSecret(h.Scenario)
		}
	}
	if len(hosts) > 0 {
		doc["hosts"] = hosts
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// inventoryYAML renders the fleet's inventory: what a newcomer would write for
// these hosts, with secrets as env references.
func inventoryYAML(o Options, addrs []hostAddr, identity, knownHosts, caFile, pin string) []byte {
	var b strings.Builder
	b.WriteString("# arcfleet demo inventory: simulated hosts on 127.0.0.1, written by `arcfleet demo`.\n")
	b.WriteString("version: 1\n\nazure:\n")
	b.WriteString("  tenant_id: " + DemoTenant + "\n")
	b.WriteString("  subscription_id: " + DemoSubscription + "\n")
	b.WriteString("  resource_group: rg-arcfleet-demo\n  location: westeurope\n  cloud: AzureCloud\n")
	b.WriteString("  tags:\n    ManagedBy: arcfleet\n\n")
	b.WriteString("credentials:\n")
	b.WriteString("  demo-sp:\n    client_id: 3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21\n    secret: {env: " + EnvSPSecret + "}\n")
	b.WriteString("  lab-sp:\n    client_id: 9e2d7c1b-4a3f-4e5d-9b8c-7a6f5e4d3c2b\n    secret: {env: " + EnvLabSecret + "}\n\n")
	b.WriteString("defaults:\n  credential: demo-sp\n")
	b.WriteString("  linux:\n    ssh:\n      user: " + LinuxUser + "\n")
	b.WriteString("      identity_file: " + yamlQuote(identity) + "\n")
	if pin != "" {
		b.WriteString("      host_key_policy: fingerprint\n      fingerprint: " + pin + "\n")
	} else {
		b.WriteString("      known_hosts: " + yamlQuote(knownHosts) + "\n")
		b.WriteString("      host_key_policy: strict\n")
	}
	// Relative to the session's working directory, which is each simulated
	// host's own root: one path (so one script) for every host.
	b.WriteString("    agent:\n      log: log/azcmagent.log\n")
	b.WriteString("  windows:\n    winrm:\n      user: " + WindowsUser + "\n")
	b.WriteString("      password: {env: " + EnvWinRMPasswd + "}\n")
	b.WriteString("      auth: ntlm\n      https: true\n")
	b.WriteString("      ca_file: " + yamlQuote(caFile) + "\n")
	if o.Groups != "" {
		b.WriteString("\ngroups:\n" + strings.TrimRight(o.Groups, "\n") + "\n")
	}
	if o.Retry != "" {
		b.WriteString("\nretry:\n" + strings.TrimRight(o.Retry, "\n") + "\n")
	}
	b.WriteString("\nhosts:\n")
	for i, h := range o.Hosts {
		a := addrs[i]
		fmt.Fprintf(&b, "  - name: %s\n    address: %s\n    port: %s\n", h.Name, a.host, strconv.Itoa(a.port))
		if h.OS == "windows" {
			b.WriteString("    os: windows\n")
		}
		if len(h.Group) > 0 {
			b.WriteString("    groups: [" + strings.Join(h.Group, ", ") + "]\n")
		}
	}
	return []byte(b.String())
}

func yamlQuote(s string) string {
	b, _ := yaml.Marshal(s)
	return strings.TrimSpace(string(b))
}
