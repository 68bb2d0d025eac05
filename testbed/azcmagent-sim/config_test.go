package main

import (
	"strings"
	"testing"
)

// TestConfigCommands: list in the documented shape with the defaults, set and
// get persisted across invocations, lists shown as [a b], --add/--remove,
// invalid values and unknown keys refused with AZCM0023, monitor mode locking
// the extension lists.
func TestConfigCommands(t *testing.T) {
	h := newHost(t, "cfg01")
	r := h.expect(0, "config", "list")
	want := "Local Configuration Settings\n" +
		"  incomingconnections.enabled (preview)                 : true\n" +
		"  incomingconnections.ports (preview)                   : []\n" +
		"  connection.type (preview)                             : default\n" +
		"  proxy.url                                             :\n" +
		"  proxy.bypass                                          : []\n"
	if !strings.HasPrefix(r.stdout, want) {
		t.Fatalf("list:\n%s\nwant prefix:\n%s", r.stdout, want)
	}
	r = h.expect(0, "config", "set", "proxy.url", "http://proxy.corp:3128")
	if !strings.Contains(r.stdout, "Config property proxy.url set to value http://proxy.corp:3128\n") {
		t.Fatalf("set: %s", r)
	}
	if r = h.expect(0, "config", "get", "proxy.url"); r.stdout != "http://proxy.corp:3128\n" {
		t.Fatalf("get: %s", r)
	}
	h.expect(0, "config", "set", "proxy.bypass", "Arc,ARM")
	h.expect(0, "config", "set", "proxy.bypass", "AAD", "--add")
	h.expect(0, "config", "set", "proxy.bypass", "Arc", "--remove")
	r = h.expect(0, "config", "list")
	for _, l := range []string{"  proxy.url                                             : http://proxy.corp:3128\n",
		"  proxy.bypass                                          : [ARM AAD]\n"} {
		if !strings.Contains(r.stdout, l) {
			t.Errorf("list lacks %q:\n%s", l, r.stdout)
		}
	}
	h.expect(23, "config", "set", "proxy.bypass", "Everything")
	h.expect(23, "config", "set", "proxy.url", "http://user:pw@proxy:3128")
	h.expect(23, "config", "set", "no.such.key", "1")
	h.expect(0, "config", "set", "config.mode", "monitor")
	r = h.expect(23, "config", "set", "extensions.allowlist", "Microsoft.Azure.Monitor/AzureMonitorLinuxAgent")
	if !strings.Contains(r.stdout+r.stderr, "monitor mode") {
		t.Errorf("monitor mode refusal: %s", r)
	}
}

// TestConfigKeysByVersion: an agent before 1.15 has no proxy.bypass (and
// before 1.13 no proxy.url): list leaves them out, set refuses them.
func TestConfigKeysByVersion(t *testing.T) {
	h := newHost(t, "old01")
	h.scenario("agent_version: 1.14.01234.1\n")
	r := h.expect(0, "config", "list")
	if strings.Contains(r.stdout, "proxy.bypass") || !strings.Contains(r.stdout, "proxy.url") {
		t.Fatalf("1.14 list: %s", r)
	}
	h.expect(23, "config", "set", "proxy.bypass", "Arc")
}

// TestConnectNeedsProxy: proxy_required makes connect fail its network check
// (AZCM0026) until proxy.url names that proxy; gateway ids are checked and kept.
func TestConnectNeedsProxy(t *testing.T) {
	h := newHost(t, "px01")
	h.scenario("proxy_required: http://proxy.corp:3128\n")
	r := h.expect(26, connectArgs()...)
	if !strings.Contains(r.stdout+r.stderr, "proxy.corp:3128") {
		t.Errorf("failure names the proxy: %s", r)
	}
	h.expect(0, "config", "set", "proxy.url", "http://proxy.corp:3128")
	h.expect(23, connectArgs("--gateway-id", "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/foo/gw")...)
	gw := "/subscriptions/" + subID + "/resourceGroups/rg/providers/Microsoft.HybridCompute/gateways/gw1"
	h.expect(0, connectArgs("--gateway-id", gw, "--enable-automatic-upgrade")...)
	st := h.readFile("state.json")
	if !strings.Contains(st, `"gatewayId": "`+gw+`"`) || !strings.Contains(st, `"automaticUpgrade": true`) {
		t.Errorf("state lacks the gateway or automatic upgrade:\n%s", st)
	}
	if s := showJSONOf(t, h); s.HTTPSProxy != "http://proxy.corp:3128" {
		t.Errorf("show httpsProxy = %q", s.HTTPSProxy)
	}
}
