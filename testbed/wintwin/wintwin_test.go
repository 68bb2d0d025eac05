package wintwin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/transport/winrm"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
	"github.com/arcfleet/arcfleet/testbed/winrmtest"
	"github.com/arcfleet/arcfleet/testbed/wintwin"
)

var _ wintwin.Registrar = (*winrmtest.Server)(nil)

// registry records what Register registers.
type registry map[string]string

func (r registry) Register(command, sh string) { r[command] = sh }

func TestTwins(t *testing.T) {
	sim := inventory.Agent{Log: "/sim/root/log/azcmagent.log"}
	for _, win := range []inventory.Host{
		{Name: "w1", OS: "windows"},
		{Name: "w2", OS: "windows", Agent: inventory.Agent{Path: `D:\Arc's agent\azcmagent.exe`, Log: `D:\Arc's agent\log\azcmagent.log`}},
	} {
		r := registry{}
		if err := wintwin.Register(r, win, sim); err != nil {
			t.Fatal(err)
		}
		// Every command line any action (or the restart, stop, check) sends has a twin.
		sent := map[string]string{}
		for _, a := range []string{agent.ActionConnect, agent.ActionDisconnect, agent.ActionReconnect} {
			for _, s := range agent.HostSteps(&win, a) {
				sent[s.Command] = s.Name
			}
		}
		for _, s := range []agent.Step{agent.InstallStep(&win), agent.UpgradeStep(&win), agent.RestartServiceStep(&win), agent.StopStep(&win), agent.CheckStep(&win)} {
			sent[s.Command] = s.Name
		}
		if len(r) != len(sent) || len(r) != 9 {
			t.Errorf("%s: %d twins for %d distinct commands, want 9", win.Name, len(r), len(sent))
		}
		for cmd, name := range sent {
			sh, ok := r[cmd]
			if !ok {
				t.Errorf("%s %s: no twin", win.Name, name)
				continue
			}
			// The twin first skips the script the command's loader reads from stdin.
			if _, step, ok := strings.Cut(sh, "' ]; do :; done\n"); !ok || !strings.HasPrefix(step, "# arcfleet "+name+"\n") {
				t.Errorf("%s %s: twin %.60q is not the step's Linux script after the loader's stdin", win.Name, name, sh)
			}
			if name != agent.StepRestartService && name != agent.StepStop && !strings.Contains(sh, "command -v azcmagent") {
				t.Errorf("%s %s: twin does not find the simulator on PATH:\n%s", win.Name, name, sh)
			}
			if (name == agent.StepConnect || name == agent.StepDisconnect) && !strings.Contains(sh, agent.ShQuote(sim.Log)) {
				t.Errorf("%s %s: twin does not read the simulator's log:\n%s", win.Name, name, sh)
			}
			ps, err := agent.DecodePowerShell(cmd)
			if err != nil || !strings.HasPrefix(ps, "# arcfleet "+name+"\n") {
				t.Errorf("%s %s: not the step's PowerShell command (%v)", win.Name, name, err)
			}
		}
	}
	if _, err := wintwin.Twins(inventory.Host{Name: "l", OS: "linux"}, sim); err == nil {
		t.Error("a Linux host: no error")
	}
}

// TestTwinsRunOnServer runs arcfleet's Windows steps through the real WinRM
// client against a test server given their twins, with the agent simulator:
// probe, connect (config on stdin), probe, restart, disconnect.
func TestTwinsRunOnServer(t *testing.T) {
	sim := sshtest.BuildSim(t)
	dir := t.TempDir()
	root, bin := filepath.Join(dir, "root"), filepath.Join(dir, "bin")
	if err := os.MkdirAll(filepath.Join(root, "log"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := sshtest.InstallAgent(bin, sim); err != nil {
		t.Fatal(err)
	}
	s := winrmtest.Start(t, winrmtest.Options{HTTPS: true, Env: []string{
		"PATH=" + bin + ":/usr/bin:/bin", "AZCMAGENT_SIM_ROOT=" + root, "AZCMAGENT_SIM_HOST=w1", "AZCMAGENT_SIM_NO_ROOT=1"}})
	win := inventory.Host{Name: "w1", OS: "windows", Azure: inventory.Azure{SubscriptionID: "11111111-2222-3333-4444-555555555555",
		ResourceGroup: "rg", Location: "westeurope", TenantID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}}
	if err := wintwin.Register(s, win, inventory.Agent{Log: filepath.Join(root, "log", "azcmagent.log")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := (&winrm.Dialer{}).Dial(ctx, s.Target("w1", "ntlm"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cred := inventory.Credential{Name: "sp", ClientID: "bbbbbbbb-2222-3333-4444-555555555555", TenantID: win.Azure.TenantID}
	const secret = "twin-SECRET-sentinel"
	run := func(st agent.Step) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		in := agent.StepStdin(st, agent.Input("twin-test", time.Minute, 0, agent.LastStep{}, agent.StepInput(st, &win, cred, secret)))
		code, err := c.Run(ctx, st.Command, bytes.NewReader(in), &out, &errb)
		if err != nil {
			t.Fatalf("%s: %v", st.Name, err)
		}
		return code, out.String(), errb.String()
	}
	probe := func(want string) {
		t.Helper()
		code, out, errs := run(agent.ProbeStep(&win))
		show, err := agent.ParseProbe(out)
		if code != 0 || err != nil || show.Status != want || show.AgentVersion == "" {
			t.Fatalf("probe: exit %d, %+v (%v), want %s; stderr %s", code, show, err, want, errs)
		}
	}
	probe("Disconnected")
	code, out, errs := run(agent.ConnectStep(&win))
	if code != 0 {
		t.Fatalf("connect: exit %d\n%s\n%s", code, out, errs)
	}
	// The agent's own words came back (its log lines follow only a failure:
	// on success the step spares the host the tail).
	if !strings.Contains(out+errs, "Connected machine to Azure") {
		t.Errorf("connect: the agent's output did not come back: %q %q", out, errs)
	}
	if strings.Contains(out+errs, secret) {
		t.Error("the secret in the output")
	}
	probe("Connected")
	if code, _, errs := run(agent.RestartServiceStep(&win)); code != 0 {
		t.Errorf("restart: exit %d: %s", code, errs)
	}
	var st struct {
		ServiceRestarts int `json:"serviceRestarts"`
	}
	if b, err := os.ReadFile(filepath.Join(root, "state.json")); err != nil || json.Unmarshal(b, &st) != nil || st.ServiceRestarts != 1 {
		t.Errorf("simulator state after the restart: %s (%v)", b, err)
	}
	if code, out, errs := run(agent.DisconnectStep(&win)); code != 0 {
		t.Fatalf("disconnect: exit %d\n%s\n%s", code, out, errs)
	}
	probe("Disconnected")
	if ents, _ := os.ReadDir(s.TempDir); len(ents) != 0 {
		t.Errorf("left in the host's TMPDIR: %v", ents)
	}
	// A PowerShell command no twin stands for is refused, not run.
	other := win
	other.Agent.Path = `C:\elsewhere\azcmagent.exe`
	var errb bytes.Buffer
	code, err = c.Run(ctx, agent.ProbeStep(&other).Command, nil, &bytes.Buffer{}, &errb)
	if err != nil || code != 1 || !strings.Contains(errb.String(), "no sh script is registered") {
		t.Errorf("unregistered command: exit %d, %v, stderr %q", code, err, errb.String())
	}
}
