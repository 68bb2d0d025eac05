package inventory

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// agent_config: the agent's local settings (`azcmagent config set`, applied by
// the configure step before connect) and connect options. Sources, checked
// 2026-12 (learn.microsoft.com/azure/azure-arc/servers/...):
//   - azcmagent-config: `config set KEY VALUE`, `config list`, `config clear`.
//   - manage-agent-proxy-settings: proxy.url (agent 1.13+; "http://host:port";
//     authenticated proxies are not supported), proxy.bypass (agent 1.15+)
//     with the values AAD, ARM, AMA, Arc, ArcData (ArcData: agent 1.36+),
//     several separated by commas.
//   - security-extensions: extensions.allowlist / extensions.blocklist
//     ("Publisher/Type", comma separated; "Allow/None" allows none),
//     extensions.enabled, guestconfiguration.enabled, config.mode monitor|full
//     (in monitor mode the lists cannot be changed).
//   - ssh-arc-overview: incomingconnections.ports (comma separated).
//   - azcmagent-connect: --gateway-id (Arc gateway resource ID), and
//     --enable-automatic-upgrade (public preview; manage-agent: agent 1.48+,
//     Azure public cloud only). The agent has no documented config key for
//     automatic upgrade, so it is a connect option here.
//   - includes/sql-server-auto-onboard: the tag ArcSQLServerExtensionDeployment
//     with value Disabled opts a machine out of SQL Server auto-onboarding.
//   - arc-gateway: proxy bypass is not supported with a gateway; gateways
//     serve the Azure public cloud only.

// ProxyBypassValues are the services proxy.bypass accepts, as the agent spells them.
var ProxyBypassValues = []string{"AAD", "ARM", "AMA", "Arc", "ArcData"}

// SQL Server auto-onboarding opt-out tag.
const (
	SQLOptOutTag   = "ArcSQLServerExtensionDeployment"
	SQLOptOutValue = "Disabled"
)

// Agent versions that first understood a setting (warned about against agent.min_version).
const (
	ProxyURLMinAgent    = "1.13"
	ProxyBypassMinAgent = "1.15"
	ArcDataMinAgent     = "1.36"
	AutoUpgradeMinAgent = "1.48"
	// GatewayAutoAgent: from this version connect with --gateway-id sets the
	// agent's connection.type itself; older agents need `config set connection.type gateway`.
	GatewayAutoAgent = "1.51"
)

// CodeAgentConfig: an agent_config setting arcfleet cannot use as written.
const CodeAgentConfig = "ARCF0012"

var (
	extensionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)
	gatewayRE   = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.HybridCompute/gateways/[^/]+$`)
)

func (d *dec) agentConfig(n *yaml.Node, path, host string, a *rawAgentConfig) {
	known := []string{"proxy", "extensions", "guest_configuration", "monitor_mode", "incoming_connections_ports",
		"automatic_upgrade", "gateway_id", "sql_auto_onboarding"}
	d.fields(n, path, host, known, func(key string, _, v *yaml.Node) bool {
		p := join(path, key)
		switch key {
		case "proxy":
			d.fields(v, p, host, []string{"url", "bypass"}, func(key string, _, v *yaml.Node) bool {
				switch key {
				case "url":
					a.proxyURL = d.proxyURL(v, join(p, key), host)
				case "bypass":
					a.proxyBypass = d.list(v, join(p, key), host, func(it val[string], ip string) (string, bool) {
						for _, b := range ProxyBypassValues {
							if strings.EqualFold(it.v, b) {
								return b, true // the agent's spelling
							}
						}
						d.failAt(it.pos, ip, host, fmt.Sprintf("%q is not a proxy bypass service", it.v),
							"use AAD, ARM, AMA, Arc or ArcData (the services the agent can send around the proxy)")
						return "", false
					})
				default:
					return false
				}
				return true
			})
		case "extensions":
			d.fields(v, p, host, []string{"allowlist", "blocklist", "enabled"}, func(key string, _, v *yaml.Node) bool {
				ext := func(it val[string], ip string) (string, bool) {
					if !extensionRE.MatchString(it.v) {
						d.failAt(it.pos, ip, host, fmt.Sprintf("%q is not an extension name", it.v),
							"write Publisher/Type, e.g. Microsoft.Azure.Monitor/AzureMonitorLinuxAgent (or Allow/None in an allowlist to allow none)")
						return "", false
					}
					return it.v, true
				}
				switch key {
				case "allowlist":
					a.allowlist = d.list(v, join(p, key), host, ext)
				case "blocklist":
					a.blocklist = d.list(v, join(p, key), host, ext)
				case "enabled":
					a.extEnabled = d.boolean(v, join(p, key), host)
				default:
					return false
				}
				return true
			})
		case "guest_configuration":
			d.fields(v, p, host, []string{"enabled"}, func(key string, _, v *yaml.Node) bool {
				if key != "enabled" {
					return false
				}
				a.gcEnabled = d.boolean(v, join(p, key), host)
				return true
			})
		case "monitor_mode":
			a.monitor = d.boolean(v, p, host)
		case "automatic_upgrade":
			a.autoUpgrade = d.boolean(v, p, host)
		case "sql_auto_onboarding":
			a.sqlAuto = d.boolean(v, p, host)
		case "gateway_id":
			g := d.str(v, p, host)
			if g.set && !gatewayRE.MatchString(g.v) {
				d.failAt(g.pos, p, host, "gateway_id is not an Arc gateway resource ID",
					"use /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.HybridCompute/gateways/NAME (az arcgateway list)")
				g = val[string]{}
			}
			a.gatewayID = g
		case "incoming_connections_ports":
			a.ports = d.ports(v, p, host)
		default:
			return false
		}
		return true
	})
}

// proxyURL reads proxy.url. The value is never quoted in an error: a URL
// written with a password in it is a secret in the wrong place.
func (d *dec) proxyURL(n *yaml.Node, path, host string) val[string] {
	v := d.str(n, path, host)
	if !v.set {
		return v
	}
	u, err := url.Parse(v.v)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		d.failAt(v.pos, path, host, "proxy.url is not a URL", "write http://HOST:PORT (the agent's proxy.url)")
	case u.User != nil:
		d.failAt(v.pos, path, host, "proxy.url carries a user name or password: the agent does not support authenticated proxies, and arcfleet never puts a credential in a plan or on a command line",
			"remove USER:PASSWORD@ and allow the machines through the proxy without authentication (or use an Arc gateway)")
	case u.Scheme != "http" && u.Scheme != "https":
		d.failAt(v.pos, path, host, fmt.Sprintf("proxy.url has scheme %q", u.Scheme), "write http://HOST:PORT (the agent speaks HTTP to its proxy)")
	case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "":
		d.failAt(v.pos, path, host, "proxy.url has a path, query or fragment", "write only http://HOST:PORT")
	case strings.ContainsAny(v.v, " \t\r\n\"'`$\\;,"):
		d.failAt(v.pos, path, host, "proxy.url holds spaces, quotes or shell characters", "write only http://HOST:PORT")
	default:
		return v
	}
	return val[string]{}
}

// list reads a non-empty list whose items check turns into the agent's form
// (false: reported). The whole list is unset when any item is wrong.
func (d *dec) list(n *yaml.Node, path, host string, check func(it val[string], itemPath string) (string, bool)) val[[]string] {
	items := d.strList(n, path, host)
	nn := deref(n)
	if nn == nil {
		return val[[]string]{}
	}
	if len(items) == 0 {
		if nn.Kind == yaml.SequenceNode && len(nn.Content) == 0 {
			d.fail(nn, path, host, "an empty list sets nothing", "list at least one value, or remove the key (arcfleet does not clear agent settings: run azcmagent config clear KEY)")
		}
		return val[[]string]{}
	}
	out := make([]string, 0, len(items))
	ok := true
	for i, it := range items {
		v, good := check(it, fmt.Sprintf("%s[%d]", path, i))
		if !good {
			ok = false
			continue
		}
		if slices.Contains(out, v) {
			d.failAt(it.pos, path, host, fmt.Sprintf("%q is listed twice", v), "list each value once")
			ok = false
			continue
		}
		out = append(out, v)
	}
	if !ok {
		return val[[]string]{}
	}
	return val[[]string]{v: out, set: true, pos: d.pos(nn)}
}

func (d *dec) ports(n *yaml.Node, path, host string) val[[]int] {
	nn := deref(n)
	if nn == nil {
		return val[[]int]{}
	}
	var nodes []*yaml.Node
	switch nn.Kind {
	case yaml.ScalarNode:
		nodes = []*yaml.Node{nn}
	case yaml.SequenceNode:
		nodes = nn.Content
	default:
		d.typeErr(nn, path, host, "a list of port numbers", "write [22, 3389]")
		return val[[]int]{}
	}
	if len(nodes) == 0 {
		d.fail(nn, path, host, "an empty list sets nothing", "list at least one port, or remove the key")
		return val[[]int]{}
	}
	out := make([]int, 0, len(nodes))
	for i, it := range nodes {
		v := d.integer(it, fmt.Sprintf("%s[%d]", path, i), host, 1, 65535)
		if !v.set {
			return val[[]int]{}
		}
		if slices.Contains(out, v.v) {
			d.failAt(v.pos, path, host, fmt.Sprintf("port %d is listed twice", v.v), "list each port once")
			return val[[]int]{}
		}
		out = append(out, v.v)
	}
	return val[[]int]{v: out, set: true, pos: d.pos(nn)}
}

// resolveAgentConfig picks each agent_config setting from the strongest layer
// that writes it (lists are replaced whole, not merged).
func resolveAgentConfig(ch []*layer) AgentConfig {
	ac := func(l *layer) *rawAgentConfig { return &l.agentConfig }
	optBool := func(get func(*rawAgentConfig) *val[bool]) *bool {
		if v := pick(ch, func(l *layer) *val[bool] { return get(ac(l)) }); v.set {
			b := v.v
			return &b
		}
		return nil
	}
	strs := func(get func(*rawAgentConfig) *val[[]string]) []string {
		return slices.Clone(pick(ch, func(l *layer) *val[[]string] { return get(ac(l)) }).v)
	}
	return AgentConfig{
		ProxyURL:                  pick(ch, func(l *layer) *val[string] { return &ac(l).proxyURL }).v,
		ProxyBypass:               strs(func(a *rawAgentConfig) *val[[]string] { return &a.proxyBypass }),
		ExtensionsAllowlist:       strs(func(a *rawAgentConfig) *val[[]string] { return &a.allowlist }),
		ExtensionsBlocklist:       strs(func(a *rawAgentConfig) *val[[]string] { return &a.blocklist }),
		ExtensionsEnabled:         optBool(func(a *rawAgentConfig) *val[bool] { return &a.extEnabled }),
		GuestConfigurationEnabled: optBool(func(a *rawAgentConfig) *val[bool] { return &a.gcEnabled }),
		MonitorMode:               optBool(func(a *rawAgentConfig) *val[bool] { return &a.monitor }),
		IncomingConnectionsPorts:  slices.Clone(pick(ch, func(l *layer) *val[[]int] { return &ac(l).ports }).v),
		GatewayID:                 pick(ch, func(l *layer) *val[string] { return &ac(l).gatewayID }).v,
		AutomaticUpgrade:          pick(ch, func(l *layer) *val[bool] { return &ac(l).autoUpgrade }).v,
		SQLAutoOnboarding:         optBool(func(a *rawAgentConfig) *val[bool] { return &a.sqlAuto }),
	}
}

// applySQLOptOut adds the SQL Server opt-out tag for sql_auto_onboarding: false;
// a tag of that name with another value, or the opt-out tag with
// sql_auto_onboarding: true, contradicts it.
func applySQLOptOut(d *dec, ch []*layer, h *Host, path string) {
	s := h.AgentConfig.SQLAutoOnboarding
	if s == nil {
		return
	}
	at := pick(ch, func(l *layer) *val[bool] { return &l.agentConfig.sqlAuto }).pos
	v, has := h.Azure.Tags[SQLOptOutTag]
	switch {
	case !*s && has && v != SQLOptOutValue:
		d.failAt(at, path+".agent_config.sql_auto_onboarding", h.Name,
			fmt.Sprintf("sql_auto_onboarding: false adds the tag %s=%s, but the host's tags set it to %q", SQLOptOutTag, SQLOptOutValue, v),
			"remove one of the two")
	case !*s:
		if h.Azure.Tags == nil {
			h.Azure.Tags = map[string]string{}
		}
		h.Azure.Tags[SQLOptOutTag] = SQLOptOutValue
	case has && strings.EqualFold(v, SQLOptOutValue):
		d.failAt(at, path+".agent_config.sql_auto_onboarding", h.Name,
			fmt.Sprintf("sql_auto_onboarding: true, but the host's tags opt it out (%s=%s)", SQLOptOutTag, v),
			"remove the tag, or set sql_auto_onboarding: false")
	}
}

// validateAgentConfig checks what the agent would refuse or ignore in the
// combination of a host's agent_config settings (single values are checked as
// they are read).
func validateAgentConfig(h *Host, w where, add, warn report) {
	c := h.AgentConfig
	ap := func(get func(*rawAgentConfig) Pos) Pos {
		for i := len(w.ch) - 1; i >= 0; i-- {
			if p := get(&w.ch[i].agentConfig); p.Line > 0 {
				return p
			}
		}
		return h.Pos
	}
	bypassAt := ap(func(a *rawAgentConfig) Pos { return a.proxyBypass.pos })
	gwAt := ap(func(a *rawAgentConfig) Pos { return a.gatewayID.pos })
	monAt := ap(func(a *rawAgentConfig) Pos { return a.monitor.pos })
	if c.ProxyBypass != nil && c.ProxyURL == "" {
		warn(bypassAt, CodeAgentConfig, say("bypass_no_url"), say("bypass_no_url_fix"))
	}
	if c.GatewayID != "" {
		if c.ProxyBypass != nil {
			add(bypassAt, "AZCM0023", say("bypass_gateway"), say("bypass_gateway_fix"))
		}
		if h.Azure.PrivateLinkScope != "" {
			add(gwAt, "AZCM0023", say("gateway_pls"), say("choose_one"))
		}
		if cl := h.Azure.Cloud; cl != "" && cl != "AzureCloud" {
			add(gwAt, "AZCM0023", say("gateway_cloud", cl), say("gateway_cloud_fix"))
		}
	}
	if c.AutomaticUpgrade {
		if cl := h.Azure.Cloud; cl != "" && cl != "AzureCloud" {
			add(ap(func(a *rawAgentConfig) Pos { return a.autoUpgrade.pos }), "AZCM0023",
				say("autoupgrade_cloud", cl), say("autoupgrade_cloud_fix"))
		}
	}
	if c.MonitorMode != nil && *c.MonitorMode && (c.ExtensionsAllowlist != nil || c.ExtensionsBlocklist != nil) {
		add(monAt, "AZCM0023", say("monitor_lists"), say("monitor_lists_fix"))
	}
	if slices.Contains(c.ExtensionsAllowlist, "Allow/None") && len(c.ExtensionsAllowlist) > 1 {
		add(ap(func(a *rawAgentConfig) Pos { return a.allowlist.pos }), "AZCM0023", say("allow_none"), say("allow_none_fix"))
	}
	// Agent versions, against agent.min_version when the inventory states one.
	if mv := h.Agent.MinVersion; mv != "" {
		older := func(need string) bool { return VersionLess(mv, need) }
		note := func(p Pos, what, need string) {
			warn(p, CodeAgentConfig, say("needs_agent", what, need, mv), say("raise_min", need))
		}
		switch {
		case c.ProxyBypass != nil && slices.Contains(c.ProxyBypass, "ArcData") && older(ArcDataMinAgent):
			note(bypassAt, "proxy.bypass ArcData", ArcDataMinAgent)
		case c.ProxyBypass != nil && older(ProxyBypassMinAgent):
			note(bypassAt, "proxy.bypass", ProxyBypassMinAgent)
		}
		if c.ProxyURL != "" && older(ProxyURLMinAgent) {
			note(ap(func(a *rawAgentConfig) Pos { return a.proxyURL.pos }), "proxy.url", ProxyURLMinAgent)
		}
		if c.GatewayID != "" && older(GatewayAutoAgent) {
			warn(gwAt, CodeAgentConfig, say("gateway_old", mv), say("gateway_old_fix", GatewayAutoAgent))
		}
		if c.AutomaticUpgrade && older(AutoUpgradeMinAgent) {
			note(ap(func(a *rawAgentConfig) Pos { return a.autoUpgrade.pos }), "automatic_upgrade", AutoUpgradeMinAgent)
		}
	}
}

// VersionLess compares dotted agent versions ("1.50.03036.1885") numerically,
// field by field; a missing field counts as 0, a non-numeric one as text.
func VersionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		x, y := "0", "0"
		if i < len(as) {
			x = as[i]
		}
		if i < len(bs) {
			y = bs[i]
		}
		xn, xerr := strconv.Atoi(x)
		yn, yerr := strconv.Atoi(y)
		if xerr == nil && yerr == nil {
			if xn != yn {
				return xn < yn
			}
			continue
		}
		if x != y {
			return x < y
		}
	}
	return false
}
