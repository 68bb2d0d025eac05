package main

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// `azcmagent config get|set|list|clear` (learn.microsoft.com/azure/azure-arc/
// servers/azcmagent-config). Values persist in the host's state (State.Config).
// Output shapes:
//   - set: "Config property KEY set to value VALUE", and for proxy.url an INFO
//     line about the Arc proxy service (as printed in Microsoft's Operator
//     Nexus guide for Arc-enrolled VMs);
//   - list: "Local Configuration Settings", then "  KEY[ (preview)]<pad>: VALUE"
//     per key, lists as [a b] (the same guide, and Microsoft's Arc lab guide,
//     which shows a one-item blocklist as [Publisher/Type]);
//   - get: the value alone (no public sample of its output was found; an
//     assumption of the simulator).
// --add / --remove change one item of a list key. Keys appear by agent
// version: proxy.url from 1.13, proxy.bypass from 1.15 (older agents reject
// them as unknown properties, AZCM0023).

// configKey is one setting the simulated agent knows.
type configKey struct {
	name, def string
	list      bool
	preview   bool
	since     string // agent version that introduced it
	check     func(v string) error
}

var configKeys = []configKey{
	{name: "incomingconnections.enabled", def: "true", preview: true, check: boolValue},
	{name: "incomingconnections.ports", def: "", list: true, preview: true, check: portValue},
	{name: "connection.type", def: "default", preview: true, check: oneOf("default", "direct", "gateway")},
	{name: "proxy.url", def: "", since: "1.13", check: proxyValue},
	{name: "proxy.bypass", def: "", list: true, since: "1.15", check: oneOf("AAD", "ARM", "AMA", "Arc", "ArcData")},
	{name: "extensions.allowlist", def: "", list: true, check: extensionValue},
	{name: "extensions.blocklist", def: "", list: true, check: extensionValue},
	{name: "guestconfiguration.enabled", def: "true", check: boolValue},
	{name: "extensions.enabled", def: "true", check: boolValue},
	{name: "config.mode", def: "full", check: oneOf("full", "monitor")},
	{name: "guestconfiguration.agent.cpulimit", def: "5", check: cpuValue},
	{name: "extensions.agent.cpulimit", def: "5", check: cpuValue},
}

func boolValue(v string) error {
	if v != "true" && v != "false" {
		return fmt.Errorf("%q is not true or false", v)
	}
	return nil
}

func oneOf(vals ...string) func(string) error {
	return func(v string) error {
		if !slices.Contains(vals, v) {
			return fmt.Errorf("%q is not one of %s", v, strings.Join(vals, ", "))
		}
		return nil
	}
}

func portValue(v string) error {
	if p, err := strconv.Atoi(v); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%q is not a port number", v)
	}
	return nil
}

func cpuValue(v string) error {
	if p, err := strconv.Atoi(v); err != nil || p < 1 || p > 100 {
		return fmt.Errorf("%q is not a percentage", v)
	}
	return nil
}

var extensionNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)

func extensionValue(v string) error {
	if !extensionNameRE.MatchString(v) {
		return fmt.Errorf("%q is not Publisher/Type", v)
	}
	return nil
}

// proxyValue: an http(s) URL without credentials (the agent does not support
// authenticated proxies).
func proxyValue(v string) error {
	u, err := url.Parse(v)
	switch {
	case err != nil || u.Host == "":
		return fmt.Errorf("not a URL")
	case u.User != nil:
		return fmt.Errorf("authenticated proxies are not supported")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("the proxy URL must start with http:// or https://")
	}
	return nil
}

func lookupConfigKey(name string) *configKey {
	for i := range configKeys {
		if configKeys[i].name == name {
			return &configKeys[i]
		}
	}
	return nil
}

// known: the key exists in this agent version.
func (k *configKey) known(version string) bool {
	return k.since == "" || !versionBefore(version, k.since)
}

// versionBefore compares dotted versions numerically.
func versionBefore(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// configValueOf is the key's value in st, or its default.
func configValueOf(st *State, k *configKey) string {
	if v, ok := st.Config[k.name]; ok {
		return v
	}
	return k.def
}

func splitList(v string) []string {
	var out []string
	for _, it := range strings.Split(v, ",") {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// configShown is a value as list prints it.
func configShown(k *configKey, v string) string {
	if k.list {
		return "[" + strings.Join(splitList(v), " ") + "]"
	}
	return v
}

// config runs `azcmagent config SUB ...`. args follow "config".
func (s *sim) config(args []string) int {
	c := &console{stdout: s.stdout, stderr: s.stderr, mask: s.mask, json: wantsJSON(args)}
	var pos []string
	add, remove := false, false
	for _, a := range args {
		switch a {
		case "--add", "-a":
			add = true
		case "--remove", "-r":
			remove = true
		case "--json", "-j", "--log-stderr", "--verbose", "-v", "--no-color":
		default:
			if strings.HasPrefix(a, "-") {
				return c.fail("config", newErr(101, fmt.Sprintf("unknown flag: %s for \"azcmagent config\"", a)), false)
			}
			pos = append(pos, a)
		}
	}
	if len(pos) == 0 {
		return c.fail("config", newErr(101, "config needs a command: clear, get, info, list or set"), false)
	}
	scen, err := loadScenario(s.env("AZCMAGENT_SIM_SCENARIO"), s.root, s.host)
	if err != nil {
		return c.fail("config", newErr(1, "simulator setup: "+err.Error()), false)
	}
	version := agentVersion(scen)
	sub, rest := pos[0], pos[1:]
	key := func() (*configKey, *simError) {
		if len(rest) == 0 {
			return nil, newErr(101, fmt.Sprintf("config %s needs a property name", sub))
		}
		k := lookupConfigKey(rest[0])
		if k == nil || !k.known(version) {
			return nil, newErr(23, fmt.Sprintf("%q is not a configuration property of this agent (%s): run azcmagent config list", rest[0], version))
		}
		return k, nil
	}
	writes := sub == "set" || sub == "clear"
	if writes && os.Geteuid() != 0 && s.env("AZCMAGENT_SIM_NO_ROOT") != "1" {
		return c.fail("config "+sub, newErr(18, "azcmagent config "+sub+" must run as root: retry with sudo"), false)
	}
	store, st, e := s.lockState(scen)
	if e != nil {
		return c.fail("config "+sub, e, false)
	}
	defer store.unlock()
	switch sub {
	case "list":
		c.line(s.stdout, "Local Configuration Settings")
		for i := range configKeys {
			k := &configKeys[i]
			if !k.known(version) {
				continue
			}
			name := k.name
			if k.preview {
				name += " (preview)"
			}
			c.line(s.stdout, strings.TrimRight(fmt.Sprintf("  %-54s: %s", name, configShown(k, configValueOf(st, k))), " "))
		}
		return 0
	case "get":
		k, e := key()
		if e != nil {
			return c.fail("config get", e, false)
		}
		c.line(s.stdout, configShown(k, configValueOf(st, k)))
		return 0
	case "clear":
		k, e := key()
		if e != nil {
			return c.fail("config clear", e, false)
		}
		delete(st.Config, k.name)
		if err := store.save(st); err != nil {
			return c.fail("config clear", newErr(69, err.Error()), false)
		}
		c.line(s.stdout, fmt.Sprintf("Config property %s cleared", k.name))
		return 0
	case "set":
		k, e := key()
		if e != nil {
			return c.fail("config set", e, false)
		}
		if len(rest) != 2 {
			return c.fail("config set", newErr(101, "config set takes a property and one value"), false)
		}
		v := rest[1]
		if (add || remove) && (!k.list || add && remove) {
			return c.fail("config set", newErr(23, "--add and --remove are for list properties, and not together"), false)
		}
		if (k.name == "extensions.allowlist" || k.name == "extensions.blocklist") && configValueOf(st, lookupConfigKey("config.mode")) == "monitor" {
			// security-extensions: in monitor mode the lists cannot be changed.
			return c.fail("config set", newErr(23, "the extension allowlist and blocklist cannot be changed while the agent is in monitor mode: set config.mode full first"), false)
		}
		items := []string{v}
		if k.list {
			items = splitList(v)
		}
		for _, it := range items {
			if err := k.check(it); err != nil {
				return c.fail("config set", newErr(23, fmt.Sprintf("invalid value for %s: %v", k.name, err)), false)
			}
		}
		if k.list {
			cur := splitList(configValueOf(st, k))
			switch {
			case add:
				for _, it := range items {
					if !slices.Contains(cur, it) {
						cur = append(cur, it)
					}
				}
				items = cur
			case remove:
				items = slices.DeleteFunc(cur, func(x string) bool { return slices.Contains(items, x) })
			}
			v = strings.Join(items, ",")
		}
		if st.Config == nil {
			st.Config = map[string]string{}
		}
		st.Config[k.name] = v
		st.Attempts["config set"]++
		if err := store.save(st); err != nil {
			return c.fail("config set", newErr(69, err.Error()), false)
		}
		c.line(s.stdout, fmt.Sprintf("Config property %s set to value %s", k.name, configShown(k, v)))
		if k.name == "proxy.url" {
			c.line(s.stdout, "INFO    Updating service configuration: Azure Arc Proxy")
		}
		return 0
	case "info":
		for _, k := range configKeys {
			if k.known(version) {
				c.line(s.stdout, k.name)
			}
		}
		return 0
	}
	return c.fail("config", newErr(101, fmt.Sprintf("unknown config command %q: use clear, get, info, list or set", sub)), false)
}

// proxyFailure: a host that reaches Azure only through a proxy
// (scenario proxy_required: URL) fails connect's network check as a firewall
// drop unless the agent's proxy.url is that proxy.
func proxyFailure(h *HostScenario, st *State) *simError {
	if h.ProxyRequired == "" || st.Config["proxy.url"] == h.ProxyRequired {
		return nil
	}
	return newErr(26, fmt.Sprintf("Get \"https://management.azure.com\": dial tcp 20.50.2.1:443: i/o timeout (this network reaches Azure only through the proxy %s; proxy.url is %q)",
		h.ProxyRequired, st.Config["proxy.url"]))
}

var gatewayIDRE = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.HybridCompute/gateways/[^/]+$`)

// gatewayInvalid: --gateway-id must be an Arc gateway resource ID.
func gatewayInvalid(g string) *simError {
	if g == "" || gatewayIDRE.MatchString(g) {
		return nil
	}
	return newErr(23, "invalid --gateway-id: want /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.HybridCompute/gateways/NAME")
}

// shownProxy is show's httpsProxy: the agent's proxy.url, else the environment's.
func shownProxy(st *State) string {
	if v := st.Config["proxy.url"]; v != "" {
		return v
	}
	return os.Getenv("https_proxy")
}
