package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport/winrm"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
	"github.com/arcfleet/arcfleet/testbed/winrmtest"
	"github.com/arcfleet/arcfleet/testbed/wintwin"
)

// simCfgState is what the simulator keeps of a host's agent (state.json).
type simCfgState struct {
	Status    string            `json:"status"`
	Config    map[string]string `json:"config"`
	GatewayID string            `json:"gatewayId"`
	Attempts  map[string]int    `json:"attempts"`
}

func readSimCfgState(t *testing.T, h *sshtest.Host) simCfgState {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.Root, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s simCfgState
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestE2EConfigureStep: on real sshd hosts (root, sudo, plain logins) whose
// network reaches Azure only through a proxy, connect alone fails its network
// check (AZCM0026); with agent_config the configure step sets proxy.url and
// the other settings under the host lock, and the connect after it gets
// through. A reconnect runs the configure step again: it finds every setting
// as wanted and sets nothing.
func TestE2EConfigureStep(t *testing.T) {
	const proxy = "http://proxy.corp.example:3128"
	gw := "/subscriptions/" + e2eSub + "/resourceGroups/" + e2eRG + "/providers/Microsoft.HybridCompute/gateways/gw1"
	f := false
	cfg := inventory.AgentConfig{ProxyURL: proxy, ProxyBypass: []string{"Arc", "AAD"},
		ExtensionsAllowlist: []string{"Microsoft.Azure.Monitor/AzureMonitorLinuxAgent"}, GuestConfigurationEnabled: &f,
		IncomingConnectionsPorts: []int{22}, GatewayID: gw}
	for name, login := range map[string]sshtest.Login{"root": sshtest.LoginRoot, "sudo": sshtest.LoginSudo, "plain": sshtest.LoginTest} {
		t.Run(name, func(t *testing.T) {
			scen := "default: {proxy_required: \"" + proxy + "\"}\n"
			// Without agent_config: no configure step, and connect cannot get out.
			fleet, bare := e2eFleetAs(t, 1, login, scen, agent.ActionConnect, nil)
			if agent.Configures(bare.Hosts[0].Steps) {
				t.Fatal("a host without agent_config has a configure step")
			}
			x := e2eExecutor()
			rep, err := x.Apply(context.Background(), bare, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if h := rep.Hosts[0]; h.Outcome != results.OutcomeFailed || h.FinalCode != "AZCM0026" {
				t.Fatalf("without the proxy: %s %s %s", h.Outcome, h.FinalCode, h.Detail)
			}

			// The same host with agent_config.
			p := bare
			hp := &p.Hosts[0]
			hp.Host.AgentConfig = cfg
			hp.Steps = agent.HostSteps(&hp.Host, agent.ActionConnect)
			if names := stepNames(hp.Steps); names != "probe,configure,connect" {
				t.Fatalf("steps %s", names)
			}
			dir := t.TempDir()
			rep, err = x.Apply(context.Background(), p, dir)
			if err != nil {
				t.Fatal(err)
			}
			if h := rep.Hosts[0]; h.Outcome != results.OutcomeOK {
				t.Fatalf("with agent_config: %s %s %s", h.Outcome, h.FinalCode, h.Detail)
			}
			st := readSimCfgState(t, fleet.Hosts[0])
			want := map[string]string{"proxy.url": proxy, "proxy.bypass": "AAD,Arc", "guestconfiguration.enabled": "false",
				"extensions.allowlist": "Microsoft.Azure.Monitor/AzureMonitorLinuxAgent", "incomingconnections.ports": "22"}
			for k, v := range want {
				if st.Config[k] != v {
					t.Errorf("%s = %q, want %q (config %v)", k, st.Config[k], v, st.Config)
				}
			}
			if st.Status != "Connected" || st.GatewayID != gw || st.Attempts["config set"] != len(want) {
				t.Errorf("state: %+v", st)
			}
			logs := configureLogs(t, dir)
			if len(logs) != 1 || strings.Count(logs[0], agent.ConfigMarker) != len(want) || strings.Contains(logs[0], " unchanged") {
				t.Errorf("configure log:\n%s", strings.Join(logs, "\n---\n"))
			}

			// Reconnect: disconnect, configure (nothing differs), connect.
			// A reconnect whose run begins in the second the last connect ended
			// is taken for another run's re-registration (agent.Decide): begin later.
			time.Sleep(1100 * time.Millisecond)
			p.Action = agent.ActionReconnect
			hp.Steps = agent.HostSteps(&hp.Host, agent.ActionReconnect)
			dir = t.TempDir()
			rep, err = x.Apply(context.Background(), p, dir)
			if err != nil {
				t.Fatal(err)
			}
			if h := rep.Hosts[0]; h.Outcome != results.OutcomeOK {
				t.Fatalf("reconnect: %s %s %s", h.Outcome, h.FinalCode, h.Detail)
			}
			if again := readSimCfgState(t, fleet.Hosts[0]); again.Attempts["config set"] != len(want) || again.Status != "Connected" {
				t.Errorf("the second configure set something: %+v", again)
			}
			logs = configureLogs(t, dir)
			if len(logs) != 1 || strings.Count(logs[0], " unchanged") != len(want) || strings.Contains(logs[0], " set\n") {
				t.Errorf("second configure log:\n%s", strings.Join(logs, "\n---\n"))
			}
			if set, unchanged := agent.ParseConfigured(stdoutOf(logs[0])); len(set) != 0 || len(unchanged) != len(want) {
				t.Errorf("ParseConfigured: set %v unchanged %v", set, unchanged)
			}
		})
	}
}

func stepNames(steps []agent.Step) string {
	var n []string
	for _, s := range steps {
		n = append(n, s.Name)
	}
	return strings.Join(n, ",")
}

// configureLogs are the configure step's attempt logs of a run directory.
func configureLogs(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, HostsDir, "*", "attempt-*-"+agent.StepConfigure+"*.log"))
	var out []string
	for _, p := range m {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// stdoutOf is the stdout lines of an attempt log, without their prefix.
func stdoutOf(log string) string {
	var b strings.Builder
	for l := range strings.Lines(log) {
		if rest, ok := strings.CutPrefix(l, "stdout| "); ok {
			b.WriteString(rest)
		}
	}
	return b.String()
}

// TestE2EConfigureStepWindows: the Windows configure step (its PowerShell
// loader and script on stdin) through the executor and the real WinRM client
// to a test server, which runs the step's Linux twin (testbed/wintwin: the
// server cannot run PowerShell, so the PowerShell itself is reviewed, not run).
// The host needs the proxy to connect; the configure step before connect sets it.
func TestE2EConfigureStepWindows(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	const proxy = "http://proxy.corp.example:3128"
	w := newWinEnv(t, "default: {proxy_required: \""+proxy+"\"}\n", "")
	wh := w.start(t, "win-cfg", winrmtest.Options{})
	h := wh.invHost("ntlm")
	h.AgentConfig = inventory.AgentConfig{ProxyURL: proxy, ExtensionsAllowlist: []string{"Microsoft.Azure.Monitor/AzureMonitorWindowsAgent"}}
	// Twins for this host's steps (its configure step holds its settings).
	if err := wintwin.Register(wh.srv, inventory.Host{Name: h.Name, OS: "windows", AgentConfig: h.AgentConfig},
		inventory.Agent{Log: filepath.Join(wh.root, "log", "azcmagent.log")}); err != nil {
		t.Fatal(err)
	}
	p := planOf(agent.ActionConnect, h)
	if names := stepNames(p.Hosts[0].Steps); names != "probe,configure,connect" {
		t.Fatalf("steps %s", names)
	}
	if st, _, err := agent.LoaderDigest(p.Hosts[0].Steps[1].Command); err != nil || st != agent.StepConfigure {
		t.Fatalf("configure command is not a loader for the step: %q %v", st, err)
	}
	x := e2eExecutor()
	x.Dialer = &winrm.Dialer{}
	x.LookupEnv = winLookupEnv
	rep, err := x.Apply(context.Background(), p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Hosts[0]; r.Outcome != results.OutcomeOK {
		t.Fatalf("%s %s %s", r.Outcome, r.FinalCode, r.Detail)
	}
	st := readSimState(t, wh.root)
	b, _ := json.Marshal(st)
	raw, err := os.ReadFile(filepath.Join(wh.root, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"proxy.url": "`+proxy+`"`) || !strings.Contains(string(raw), "AzureMonitorWindowsAgent") {
		t.Errorf("settings not applied: %s\n%s", b, raw)
	}
}

// TestE2EReconnectConfigureRefusedKeepsRegistration: a reconnect of a
// Connected host with agent_config whose agent is too old for one of its keys
// (proxy.url needs 1.13) fails on the configure step before the disconnect, so
// the machine's Azure resource and registration are left as they were (the
// configure step used to run after the disconnect and left the host
// disconnected). Real sshd, root and sudo logins.
func TestE2EReconnectConfigureRefusedKeepsRegistration(t *testing.T) {
	for name, login := range map[string]sshtest.Login{"root": sshtest.LoginRoot, "sudo": sshtest.LoginSudo} {
		t.Run(name, func(t *testing.T) {
			scen := fmt.Sprintf("default: {agent_version: \"1.12.0\", initial: {status: Connected, subscription_id: %s, resource_group: %s, location: westeurope, tenant_id: %s}}\n", e2eSub, e2eRG, e2eTenant)
			fleet, p := e2eFleetAs(t, 1, login, scen, agent.ActionReconnect, func(h *inventory.Host) {
				h.AgentConfig = inventory.AgentConfig{ProxyURL: "http://proxy.corp.example:3128"}
			})
			if names := stepNames(p.Hosts[0].Steps); names != "probe,configure,disconnect,disconnect-local,connect" {
				t.Fatalf("plan steps %s", names)
			}
			rep, err := e2eExecutor().Apply(context.Background(), p, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			h := rep.Hosts[0]
			if h.Outcome != results.OutcomeFailed || h.FinalCode != "HOST-CONFIG-UNSUPPORTED" {
				t.Fatalf("%s %s %s, want failed HOST-CONFIG-UNSUPPORTED", h.Outcome, h.FinalCode, h.Detail)
			}
			for _, a := range h.Attempts {
				if a.Step == agent.StepDisconnect || a.Step == agent.StepDisconnectLocal || a.Step == agent.StepConnect {
					t.Errorf("attempt %+v ran after the configure step was refused", a)
				}
			}
			if st := readSimCfgState(t, fleet.Hosts[0]); st.Status != "Connected" || st.Attempts["disconnect"] != 0 {
				t.Errorf("the agent was touched: %+v", st)
			}
		})
	}
}
