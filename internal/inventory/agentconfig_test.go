package inventory

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestAgentConfigLayers: agent_config settings come from the strongest layer
// that writes each one (defaults < defaults.linux < group < host); lists are
// replaced whole; bypass values take the agent's spelling; sql_auto_onboarding
// false becomes the opt-out tag.
func TestAgentConfigLayers(t *testing.T) {
	src := strings.Replace(vbase, "defaults:\n", `defaults:
  agent_config:
    proxy: {url: "http://proxy.corp:3128", bypass: [arm, Arc]}
    extensions: {enabled: true}
  linux:
    agent_config: {guest_configuration: {enabled: false}}
`, 1) + `    groups: [dc]
    agent_config:
      proxy: {bypass: [AAD]}
      sql_auto_onboarding: false
      gateway_id: /subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/gateways/gw
  - name: plain
groups:
  dc:
    agent_config:
      monitor_mode: false
      extensions: {allowlist: [Microsoft.Azure.Monitor/AzureMonitorLinuxAgent]}
      incoming_connections_ports: [22, 3389]
      automatic_upgrade: true
`
	inv, err := Parse("inv.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	f, tr := false, true
	want := AgentConfig{
		ProxyURL: "http://proxy.corp:3128", ProxyBypass: []string{"AAD"},
		ExtensionsAllowlist: []string{"Microsoft.Azure.Monitor/AzureMonitorLinuxAgent"},
		ExtensionsEnabled:   &tr, GuestConfigurationEnabled: &f, MonitorMode: &f,
		IncomingConnectionsPorts: []int{22, 3389}, AutomaticUpgrade: true, SQLAutoOnboarding: &f,
		GatewayID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/gateways/gw",
	}
	if got := inv.Host("h").AgentConfig; !reflect.DeepEqual(got, want) {
		t.Errorf("h:\n got %+v\nwant %+v", got, want)
	}
	if v := inv.Host("h").Azure.Tags[SQLOptOutTag]; v != SQLOptOutValue {
		t.Errorf("opt-out tag = %q", v)
	}
	plain := inv.Host("plain").AgentConfig
	if !reflect.DeepEqual(plain.ProxyBypass, []string{"ARM", "Arc"}) || plain.GatewayID != "" || !plain.HasLocalSettings() {
		t.Errorf("plain: %+v", plain)
	}
	// Inventories without agent_config keep their digest: the field is omitted.
	a, _ := Parse("inv.yaml", []byte(vbase))
	if strings.Contains(digestJSON(a), "agent_config") {
		t.Error("an inventory without agent_config serialises the field")
	}
}

// TestAgentConfigErrors: values the agent refuses are load errors at their line.
func TestAgentConfigErrors(t *testing.T) {
	tests := []struct{ name, host, want string }{
		{"bypass value", "    agent_config: {proxy: {bypass: [ARM, Everything]}}\n", `inv.yaml:15:42: hosts[0].agent_config.proxy.bypass[1]: host h: "Everything" is not a proxy bypass service`},
		{"credentials in url", "    agent_config: {proxy: {url: \"http://bob:hunter2@proxy:3128\"}}\n", "authenticated proxies"},
		{"scheme", "    agent_config: {proxy: {url: \"socks5://proxy:1080\"}}\n", `scheme "socks5"`},
		{"not a url", "    agent_config: {proxy: {url: proxy.corp}}\n", "not a URL"},
		{"extension", "    agent_config: {extensions: {allowlist: [CustomScript]}}\n", "not an extension name"},
		{"empty list", "    agent_config: {extensions: {blocklist: []}}\n", "empty list"},
		{"duplicate", "    agent_config: {proxy: {bypass: [Arc, arc]}}\n", "listed twice"},
		{"port", "    agent_config: {incoming_connections_ports: [22, 70000]}\n", "from 1 to 65535"},
		{"gateway", "    agent_config: {gateway_id: /subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/x/gw}\n", "not an Arc gateway resource ID"},
		{"unknown key", "    agent_config: {proxy_url: x}\n", `unknown key "proxy_url"`},
		{"sql tag conflict", "    tags: {ArcSQLServerExtensionDeployment: Enabled}\n    agent_config: {sql_auto_onboarding: false}\n", "remove one of the two"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("inv.yaml", []byte(vbase+tc.host))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error repeats the proxy password: %v", err)
			}
		})
	}
}

// TestAgentConfigValidate: combinations the agent refuses, and the version warnings.
func TestAgentConfigValidate(t *testing.T) {
	tests := []struct{ name, host, want string }{
		{"ok", "    agent_config: {proxy: {url: \"http://p:3128\", bypass: [Arc]}}\n", ""},
		{"gateway and bypass", "    agent_config: {proxy: {url: \"http://p:3128\", bypass: [Arc]}, gateway_id: /subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/gateways/gw}\n",
			"AZCM0023 h: proxy.bypass is not supported with an Arc gateway"},
		{"gateway and private link", "    azure: {private_link_scope: /subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/privateLinkScopes/pls}\n    agent_config: {gateway_id: /subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/gateways/gw}\n",
			"AZCM0023 h: gateway_id and private_link_scope both set"},
		{"gateway gov cloud", "    azure: {cloud: AzureUSGovernment, location: usgovvirginia}\n    agent_config: {gateway_id: /subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/gateways/gw}\n",
			"Arc gateway is available only in the Azure public cloud"},
		{"monitor and lists", "    agent_config: {monitor_mode: true, extensions: {blocklist: [Microsoft.Compute/CustomScriptExtension]}}\n",
			"in monitor mode the agent refuses changes"},
		{"bypass without url", "    agent_config: {proxy: {bypass: [Arc]}}\n", "ARCF0012 h: warning: proxy.bypass is set without proxy.url"},
		{"bypass vs min_version", "    agent: {min_version: \"1.14\"}\n    agent_config: {proxy: {url: \"http://p:3128\", bypass: [Arc]}}\n",
			"proxy.bypass needs agent 1.15 or later, but agent.min_version is 1.14"},
		{"gateway vs min_version", "    agent: {min_version: \"1.50\"}\n    agent_config: {gateway_id: /subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/gateways/gw}\n",
			"agents up to 1.50 also need `azcmagent config set connection.type gateway`"},
		{"min_version new enough", "    agent: {min_version: \"1.51\"}\n    agent_config: {proxy: {url: \"http://p:3128\", bypass: [ArcData]}, automatic_upgrade: true}\n", ""},
		{"gateway min_version new enough", "    agent: {min_version: \"1.51.0\"}\n    agent_config: {gateway_id: /subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/gateways/gw}\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := Parse("inv.yaml", []byte(vbase+tc.host))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range Validate(inv, []*Host{inv.Host("h")}, "connect") {
				got = append(got, f.String())
			}
			all := strings.Join(got, "\n")
			if tc.want == "" && len(got) > 0 || !strings.Contains(all, tc.want) {
				t.Fatalf("findings:\n%s\nwant %q", all, tc.want)
			}
			if len(Validate(inv, []*Host{inv.Host("h")}, "disconnect")) != 0 {
				t.Error("disconnect is checked for agent_config, which only connect uses")
			}
		})
	}
}

// digestJSON is what the digest hashes, for the test above.
func digestJSON(inv *Inventory) string {
	var b strings.Builder
	for _, h := range inv.Hosts {
		j, _ := json.Marshal(h)
		b.Write(j)
	}
	return b.String()
}
