package agent

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
)

func configHost(os string) *inventory.Host {
	f, tr := false, true
	return &inventory.Host{Name: "cfg", OS: os, AgentConfig: inventory.AgentConfig{
		ProxyURL: "http://proxy.corp.example:3128", ProxyBypass: []string{"Arc", "AAD"},
		ExtensionsBlocklist: []string{"Microsoft.Compute/CustomScriptExtension", "Microsoft.Azure.Extensions/CustomScript"},
		ExtensionsEnabled:   &tr, GuestConfigurationEnabled: &f, MonitorMode: &f, IncomingConnectionsPorts: []int{3389, 22},
		GatewayID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/gateways/gw", AutomaticUpgrade: true,
	}}
}

func TestConfigSettings(t *testing.T) {
	got := ConfigSettings(configHost("linux"))
	want := []ConfigSetting{
		{Key: "config.mode", Value: "full"},
		{Key: "proxy.url", Value: "http://proxy.corp.example:3128"},
		{Key: "proxy.bypass", Value: "AAD,Arc", List: true},
		{Key: "extensions.blocklist", Value: "Microsoft.Azure.Extensions/CustomScript,Microsoft.Compute/CustomScriptExtension", List: true},
		{Key: "extensions.enabled", Value: "true"},
		{Key: "guestconfiguration.enabled", Value: "false"},
		{Key: "incomingconnections.ports", Value: "22,3389", List: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if s := ConfigSettings(&inventory.Host{OS: "linux"}); s != nil {
		t.Errorf("no agent_config: %v", s)
	}
	// Plans: the configure step right before connect, only with settings.
	for _, tc := range []struct {
		h      *inventory.Host
		action string
		want   string
	}{
		{configHost("linux"), ActionConnect, "probe,configure,connect"},
		{configHost("windows"), ActionReconnect, "probe,configure,disconnect,disconnect-local,connect"},
		{configHost("linux"), ActionDisconnect, "probe,disconnect"},
		{&inventory.Host{OS: "linux", AgentConfig: inventory.AgentConfig{GatewayID: "g"}}, ActionConnect, "probe,connect"},
	} {
		var n []string
		for _, s := range HostSteps(tc.h, tc.action) {
			n = append(n, s.Name)
		}
		if strings.Join(n, ",") != tc.want {
			t.Errorf("%s: %v, want %s", tc.action, n, tc.want)
		}
	}
	planned := HostSteps(configHost("linux"), ActionConnect)
	if got := WithConfigure([]string{StepConnect}, planned); !reflect.DeepEqual(got, []string{StepConfigure, StepConnect}) {
		t.Errorf("WithConfigure: %v", got)
	}
	// Reconnect: configured before the disconnect deletes anything.
	if got := WithConfigure([]string{StepDisconnect, StepConnect}, planned); !reflect.DeepEqual(got, []string{StepConfigure, StepDisconnect, StepConnect}) {
		t.Errorf("WithConfigure on reconnect: %v", got)
	}
	if got := WithConfigure([]string{StepDisconnect}, planned); !reflect.DeepEqual(got, []string{StepDisconnect}) {
		t.Errorf("WithConfigure on disconnect: %v", got)
	}
	if got := WithConfigure([]string{StepConnect}, HostSteps(&inventory.Host{OS: "linux"}, ActionConnect)); !reflect.DeepEqual(got, []string{StepConnect}) {
		t.Errorf("WithConfigure without settings: %v", got)
	}
}

// TestConfigureScriptRuns runs the Linux configure step with /bin/sh against
// the simulator: the first run sets every setting, the second finds them all
// as wanted and sets nothing; an agent too old for a key fails the step
// (config-unsupported) before anything is set; a value the agent refuses ends
// the step with the agent's code.
func TestConfigureScriptRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the simulator")
	}
	sim := sshtest.BuildSim(t)
	setup := func(t *testing.T, scenario string) (*fakeHost, string, []string) {
		f := newFakeHost(t)
		if err := os.Remove(filepath.Join(f.bin, "azcmagent")); err != nil { // the fake agent: the simulator instead
			t.Fatal(err)
		}
		if _, err := sshtest.InstallAgent(f.bin, sim); err != nil {
			t.Fatal(err)
		}
		root := filepath.Join(f.dir, "root")
		if err := os.MkdirAll(filepath.Join(root, "log"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "scenario.yaml"), []byte(scenario), 0o644); err != nil {
			t.Fatal(err)
		}
		f.log = filepath.Join(root, "log", "azcmagent.log")
		return f, root, []string{"AZCMAGENT_SIM_ROOT=" + root, "AZCMAGENT_SIM_HOST=cfg", "AZCMAGENT_SIM_NO_ROOT=1"}
	}
	h := configHost("linux")
	t.Run("set then unchanged", func(t *testing.T) {
		f, root, env := setup(t, "{}\n")
		h.Agent = inventory.Agent{Path: filepath.Join(f.bin, "azcmagent"), Log: f.log}
		st := ConfigureStep(h)
		r := f.run(t, st.Command, nil, env...)
		set, unchanged := ParseConfigured(r.stdout)
		// config.mode full and extensions.enabled true are the agent's defaults.
		if r.exit != 0 || strings.Join(set, ",") != "proxy.url,proxy.bypass,extensions.blocklist,guestconfiguration.enabled,incomingconnections.ports" ||
			strings.Join(unchanged, ",") != "config.mode,extensions.enabled" {
			t.Fatalf("first run: exit %d set %v unchanged %v\n%s\n%s", r.exit, set, unchanged, r.stdout, r.stderr)
		}
		state, _ := os.ReadFile(filepath.Join(root, "state.json"))
		for _, want := range []string{`"proxy.url": "http://proxy.corp.example:3128"`, `"proxy.bypass": "AAD,Arc"`, `"incomingconnections.ports": "22,3389"`} {
			if !strings.Contains(string(state), want) {
				t.Errorf("state lacks %s:\n%s", want, state)
			}
		}
		r = f.run(t, st.Command, nil, env...)
		set, unchanged = ParseConfigured(r.stdout)
		if r.exit != 0 || len(set) != 0 || len(unchanged) != 7 {
			t.Fatalf("second run: exit %d set %v unchanged %v\n%s\n%s", r.exit, set, unchanged, r.stdout, r.stderr)
		}
		// The step holds the host lock like every action: its owner and last records.
		if last, err := os.ReadFile(filepath.Join(f.dir, "state", "last")); err != nil || !strings.Contains(string(last), "step=configure exit=0") {
			t.Errorf("last record %q (%v)", last, err)
		}
		f.assertTmpEmpty(t)
	})
	t.Run("agent too old", func(t *testing.T) {
		f, root, env := setup(t, "agent_version: 1.14.0.0\n")
		h.Agent = inventory.Agent{Path: filepath.Join(f.bin, "azcmagent"), Log: f.log}
		r := f.run(t, ConfigureStep(h).Command, nil, env...)
		d := results.Classify(results.Evidence{ExitCode: r.exit, Stdout: r.stdout, Stderr: r.stderr})
		if r.exit != ExitSetupFailed || !strings.Contains(r.stderr, "config-unsupported") || !strings.Contains(r.stderr, "proxy.bypass") || d.Code != "HOST-CONFIG-UNSUPPORTED" {
			t.Fatalf("exit %d code %s\n%s", r.exit, d.Code, r.stderr)
		}
		if state, _ := os.ReadFile(filepath.Join(root, "state.json")); strings.Contains(string(state), "proxy.url") {
			t.Errorf("something was set before the refusal:\n%s", state)
		}
	})
	t.Run("value refused", func(t *testing.T) {
		f, _, env := setup(t, "{}\n")
		bad := &inventory.Host{Name: "cfg", OS: "linux", Agent: inventory.Agent{Path: filepath.Join(f.bin, "azcmagent"), Log: f.log},
			AgentConfig: inventory.AgentConfig{ExtensionsAllowlist: []string{"Not a name"}}}
		r := f.run(t, ConfigureStep(bad).Command, nil, env...)
		d := results.Classify(results.Evidence{ExitCode: r.exit, Stdout: r.stdout, Stderr: r.stderr})
		if r.exit != 23 || d.Code != "AZCM0023" {
			t.Fatalf("exit %d code %s\n%s\n%s", r.exit, d.Code, r.stdout, r.stderr)
		}
	})
}

func TestGoldenConfigure(t *testing.T) {
	for _, os := range []string{"linux", "windows"} {
		h := configHost(os)
		st := ConfigureStep(h)
		var b strings.Builder
		b.WriteString("--- plan\n" + DescribeSettings(ConfigSettings(h)) + "\n--- command\n" + st.Command + "\n--- script\n" + st.Script)
		checkGolden(t, "scripts/configure-"+os+".golden", []byte(b.String()))
	}
}
