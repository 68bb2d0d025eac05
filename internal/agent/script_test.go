package agent

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
)

// scriptHosts are the layouts whose scripts are kept as golden files.
func scriptHosts() map[string]*inventory.Host {
	return map[string]*inventory.Host{
		"linux":          {Name: "l1", OS: "linux"},
		"linux-sudo":     {Name: "l2", OS: "linux", SSH: inventory.SSH{Become: "sudo"}, Agent: inventory.Agent{Path: "/opt/it's here/azcmagent", Log: "/var/log/arc agent/azcmagent.log"}},
		"windows":        {Name: "w1", OS: "windows"},
		"windows-custom": {Name: "w2", OS: "windows", Agent: inventory.Agent{Path: `D:\Arc's agent\azcmagent.exe`, Log: `D:\Arc's agent\log\azcmagent.log`}},
	}
}

func TestGoldenScripts(t *testing.T) {
	for name, h := range scriptHosts() {
		var b strings.Builder
		for _, st := range append(HostSteps(h, ActionReconnect), RestartServiceStep(h)) {
			fmt.Fprintf(&b, "===== step %s (only_if %q, stdin %q)\n--- command\n%s\n--- script\n%s", st.Name, st.OnlyIf, st.Stdin, st.Command, st.Script)
		}
		checkGolden(t, "scripts/"+name+".golden", []byte(b.String()))
	}
}

func tagHost() *inventory.Host {
	return &inventory.Host{Name: "tags", OS: "linux", ResourceName: "web-01",
		Azure: inventory.Azure{SubscriptionID: "00000000-0000-0000-0000-000000000001", ResourceGroup: "rg-arc", Location: "swedencentral",
			Cloud: "AzureCloud", CorrelationID: "9f0b1a2c-3d4e-4f50-8a6b-7c8d9e0f1a2b", PrivateLinkScope: "/subscriptions/x/pls",
			Tags: map[string]string{"Cost Center": "R&D, Lab", "Formula": "a=b", "Ort": "Göteborg", "Plain": "yes", "Empty": ""}}}
}

func TestGoldenAgentConfig(t *testing.T) {
	c := testCred()
	var b strings.Builder
	h := tagHost()
	b.WriteString("--- connect\n")
	b.Write(AgentConfig(h, c, SecretPlaceholder(c)))
	b.WriteString("--- disconnect\n")
	b.Write(DisconnectConfig(c, SecretPlaceholder(c)))
	b.WriteString("--- connect, tags the inventory refuses (quotes; Validate blocks the host): written as given\n")
	bad := tagHost()
	bad.Azure.Tags = map[string]string{"Owner": `O'Neil "Ops"`, "Team": "Ops, Göteborg"}
	b.Write(AgentConfig(bad, c, SecretPlaceholder(c)))
	b.WriteString("--- connect, minimal host (tenant from the credential)\n")
	b.Write(AgentConfig(&inventory.Host{Name: "m", OS: "windows", Azure: inventory.Azure{SubscriptionID: "s", ResourceGroup: "g", Location: "l"}}, c, SecretPlaceholder(c)))
	b.WriteString("--- connect, agent_config: Arc gateway, automatic upgrade, SQL Server opt-out tag (resolved into the tags)\n")
	gw := tagHost()
	gw.Azure.PrivateLinkScope = ""
	gw.Azure.Tags = map[string]string{"ArcSQLServerExtensionDeployment": "Disabled"}
	gw.AgentConfig = inventory.AgentConfig{GatewayID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/gateways/gw", AutomaticUpgrade: true}
	b.Write(AgentConfig(gw, c, SecretPlaceholder(c)))
	checkGolden(t, "scripts/agent-config.golden", []byte(b.String()))
}

func TestAgentConfigIsJSONWithSecret(t *testing.T) {
	h, c := tagHost(), testCred()
	var m map[string]string
	if err := json.Unmarshal(AgentConfig(h, c, sentinel), &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"subscription-id": h.Azure.SubscriptionID, "resource-group": "rg-arc", "location": "swedencentral",
		"tenant-id": c.TenantID, "service-principal-id": c.ClientID, "service-principal-secret": sentinel,
		"cloud": "AzureCloud", "resource-name": "web-01", "correlation-id": h.Azure.CorrelationID,
		"private-link-scope": "/subscriptions/x/pls", "tags": AgentTags(h.Azure.Tags),
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
	if len(m) != len(want) {
		t.Errorf("keys %v, want %v", m, want)
	}
	// The plan's stdin equals what apply feeds, but for the secret.
	st := ConnectStep(h)
	plan := string(StepInput(st, h, c, SecretPlaceholder(c)))
	real := string(StepInput(st, h, c, sentinel))
	if strings.ReplaceAll(real, sentinel, SecretPlaceholder(c)) != plan {
		t.Errorf("plan stdin and apply stdin differ beyond the secret:\n%s\n%s", plan, real)
	}
	if StepInput(ProbeStep(h), h, c, sentinel) != nil || StepInput(DisconnectLocalStep(h), h, c, sentinel) != nil {
		t.Error("probe and disconnect-local must get no stdin")
	}
}

// TestScriptsCarryNoParameters: every parameter travels in the config file, so
// no command line holds a secret, an Azure id or a tag.
func TestScriptsCarryNoParameters(t *testing.T) {
	h := tagHost()
	for _, os := range []string{"linux", "windows"} {
		h.OS = os
		for _, st := range append(HostSteps(h, ActionReconnect), RestartServiceStep(h)) {
			for _, v := range []string{sentinel, h.Azure.SubscriptionID, "rg-arc", "Göteborg", "web-01", testCred().ClientID} {
				if strings.Contains(st.Command, v) || strings.Contains(st.Script, v) {
					t.Errorf("%s %s command holds %q", os, st.Name, v)
				}
			}
		}
	}
}

func TestWindowsCommands(t *testing.T) {
	assign := regexp.MustCompile(`\$([A-Za-z_]\w*)\s*=`)
	for name, h := range scriptHosts() {
		if h.OS != "windows" {
			continue
		}
		for _, st := range append(HostSteps(h, ActionReconnect), RestartServiceStep(h)) {
			if len(st.Command) > MaxWindowsCommand {
				t.Errorf("%s %s: command is %d chars, over cmd.exe's %d", name, st.Name, len(st.Command), MaxWindowsCommand)
			}
			if step, digest, err := LoaderDigest(st.Command); err != nil || step != st.Name || digest != ScriptDigest(st.Script) {
				t.Errorf("%s %s: the command's loader does not name the step and its script's digest (%s %s %v)", name, st.Name, step, digest, err)
			}
			// PowerShell variables ignore case: $s and $S are one variable.
			seen := map[string]string{}
			for _, m := range assign.FindAllStringSubmatch(st.Script, -1) {
				if prev, ok := seen[strings.ToLower(m[1])]; ok && prev != m[1] {
					t.Errorf("%s %s: $%s and $%s are the same PowerShell variable", name, st.Name, prev, m[1])
				}
				seen[strings.ToLower(m[1])] = m[1]
			}
		}
	}
	// The script travels on stdin, so agent paths no longer lengthen the
	// command; a command over the limit is still blocked.
	h := &inventory.Host{Name: "long", OS: "windows"}
	if f := CommandLengthFindings(h, []Step{{Name: StepConnect, Command: strings.Repeat("x", MaxWindowsCommand+1)}}); len(f) == 0 {
		t.Error("no finding for a command over the limit")
	}
}

// TestWindowsCommandHeadroom: with the longest agent.path and agent.log the
// inventory accepts, made of the characters that grow most in the script
// (quotes PowerShell doubles, characters outside the BMP), every Windows
// command stays under 90% of cmd.exe's limit.
func TestWindowsCommandHeadroom(t *testing.T) {
	const limit = MaxWindowsCommand * 9 / 10
	n := inventory.MaxWindowsAgentPath - len(`C:\`)
	agentFindings := func(a inventory.Agent) int {
		h := inventory.Host{Name: "w", OS: "windows", Transport: "winrm", Agent: a}
		k := 0
		for _, f := range inventory.Validate(&inventory.Inventory{}, []*inventory.Host{&h}, ActionConnect) {
			if f.Code == inventory.CodeAgentPath {
				k++
			}
		}
		return k
	}
	longest := 0
	for _, c := range []string{"'", "‘", "’", "‚", "‛", "x", "\U0001F600"} {
		k := n / len(utf16.Encode([]rune(c)))
		a := inventory.Agent{Path: `C:\` + strings.Repeat(c, k), Log: `D:\` + strings.Repeat(c, k)}
		if got := agentFindings(a); got != 0 {
			t.Fatalf("%q: the inventory refuses %d of the values this test takes for the longest it accepts", c, got)
		}
		if got := agentFindings(inventory.Agent{Path: a.Path + c, Log: a.Log + c}); got != 2 {
			t.Fatalf("%q: the inventory accepts values longer than this test's (%d findings, want 2)", c, got)
		}
		h := &inventory.Host{Name: "w", OS: "windows", Agent: a}
		for _, st := range append(HostSteps(h, ActionReconnect), RestartServiceStep(h)) {
			longest = max(longest, len(st.Command))
			if len(st.Command) > limit {
				t.Errorf("%q: the %s command is %d characters with the longest agent paths, over 90%% (%d) of cmd.exe's %d",
					c, st.Name, len(st.Command), limit, MaxWindowsCommand)
			}
			if _, digest, err := LoaderDigest(st.Command); err != nil || digest != ScriptDigest(st.Script) {
				t.Errorf("%q %s: the command's loader does not carry the script's digest (%v)", c, st.Name, err)
			}
		}
	}
	t.Logf("longest Windows command with the longest agent paths: %d characters (limit %d)", longest, MaxWindowsCommand)
}

// TestPSQuote: PowerShell ends a single-quoted string at the typographic
// single quotes too, so psQuote doubles all five.
func TestPSQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "''",
		`C:\Arc's agent`:   `'C:\Arc''s agent'`,
		"a\u2018b\u2019c":  "'a\u2018\u2018b\u2019\u2019c'",
		"\u201a\u201b$x`n": "'\u201a\u201a\u201b\u201b$x`n'",
		"\u201c\"":         "'\u201c\"'", // double quotes are literal in single quotes
	} {
		if got := psQuote(in); got != want {
			t.Errorf("psQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDecodePowerShellErrors(t *testing.T) {
	for _, c := range []string{"", "pwsh -c x", "powershell.exe -NoProfile -NonInteractive -EncodedCommand !!", "powershell.exe -NoProfile -NonInteractive -EncodedCommand QQ=="} {
		if _, err := DecodePowerShell(c); err == nil {
			t.Errorf("DecodePowerShell(%q): no error", c)
		}
	}
}

func TestSplitOutput(t *testing.T) {
	for _, tc := range []struct {
		name, in, wantErr string
		wantLog           []string
	}{
		{"no marker (killed)", "boom\n", "boom\n", nil},
		{"empty log", "err\n" + AgentLogMarker + "\n", "err\n", nil},
		{"lines", "e1\ne2\n" + AgentLogMarker + "\nl1\nl2\n", "e1\ne2\n", []string{"l1", "l2"}},
		{"no final newline", "e1" + AgentLogMarker + "\nl1", "e1", []string{"l1"}},
		{"CRLF log", AgentLogMarker + "\nl1\r\nl2\r\n", "", []string{"l1", "l2"}},
		{"marker at end without newline", "e" + "\n" + AgentLogMarker, "e\n", nil},
		{"empty", "", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, l := SplitOutput(tc.in)
			if e != tc.wantErr || fmt.Sprint(l) != fmt.Sprint(tc.wantLog) {
				t.Errorf("SplitOutput(%q) = %q, %q; want %q, %q", tc.in, e, l, tc.wantErr, tc.wantLog)
			}
		})
	}
}

func TestParseProbe(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     AgentShow
		err      bool
	}{
		{"connected", `{"status":"Connected","resourceId":"/sub/x","resourceName":"m","resourceGroup":"rg","subscriptionId":"s","tenantId":"t","location":"l","cloud":"AzureCloud","agentVersion":"1.2"}` + "\n" + AgentVersionMarker + "azcmagent version 9.9\n",
			AgentShow{Status: "Connected", ResourceID: "/sub/x", ResourceName: "m", ResourceGroup: "rg", SubscriptionID: "s", TenantID: "t", Location: "l", Cloud: "AzureCloud", AgentVersion: "1.2"}, false},
		{"version from marker", "{\"status\":\"Disconnected\",\"extra\":[1,2]}\r\n" + AgentVersionMarker + "azcmagent version 1.47.1\r\n", AgentShow{Status: "Disconnected", AgentVersion: "1.47.1"}, false},
		{"banner before JSON", "WARNING something\n{\"status\":\"Expired\"}\n", AgentShow{Status: "Expired"}, false},
		{"empty", "", AgentShow{}, true},
		{"not JSON", "azcmagent: command not found\n", AgentShow{}, true},
		{"truncated", `{"status":"Conn`, AgentShow{}, true},
		{"wrong type", `{"status":5}`, AgentShow{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseProbe(tc.in)
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("ParseProbe = %+v, %v; want %+v, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func FuzzParseProbe(f *testing.F) {
	for _, s := range []string{"", "{}", `{"status":"Connected"}` + "\n" + AgentVersionMarker + "x 1", "{", "{\"a\":{\"b\":[", AgentVersionMarker} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		show, err := ParseProbe(s)
		if err != nil && show != (AgentShow{}) {
			t.Errorf("error %v with a non-zero result %+v", err, show)
		}
	})
}

func FuzzSplitOutput(f *testing.F) {
	for _, s := range []string{"", AgentLogMarker, "a\n" + AgentLogMarker + "\nb\n", AgentLogMarker + AgentLogMarker + "\n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, l := SplitOutput(s)
		if !strings.HasPrefix(s, e) {
			t.Errorf("agent stderr %q is not a prefix of %q", e, s)
		}
		for _, line := range l {
			if strings.Contains(line, "\n") {
				t.Errorf("log line %q holds a newline", line)
			}
		}
	})
}

// TestScriptErrorNamesKnownToResults: every failure name a script can print is
// one the classifier maps to its own knowledge-base entry.
func TestScriptErrorNamesKnownToResults(t *testing.T) {
	re := regexp.MustCompile(regexp.QuoteMeta(ErrorMarker) + `([a-z-]+)`)
	names := map[string]bool{}
	for _, h := range scriptHosts() {
		for _, st := range append(HostSteps(h, ActionReconnect), RestartServiceStep(h)) {
			for _, m := range re.FindAllStringSubmatch(st.Command+st.Script, -1) {
				names[m[1]] = true
			}
		}
	}
	if len(names) < 5 {
		t.Fatalf("found only %v", names)
	}
	for name := range names {
		d := results.Classify(results.Evidence{ExitCode: 125, Stderr: ErrorMarker + name + "\n"})
		if d.Code == "" || d.Code == "HOST-SCRIPT-ERROR" {
			t.Errorf("%s%s classifies as %q, not as its own entry", ErrorMarker, name, d.Code)
		}
	}
}
