package ansible

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Options fill what an Ansible inventory does not know: the Azure target and
// the tenant of the credential. Empty values are left out of the output with a
// TODO comment, so `arcfleet validate` names each one with its fix.
type Options struct {
	SubscriptionID string
	ResourceGroup  string
	Location       string
	TenantID       string
}

// Note is one thing not carried over (or changed) and where it was written.
// It never holds a variable's value.
type Note struct {
	At   string // "FILE:LINE"
	Who  string // "host web01", "group web", "all"
	What string // the variable or the subject
	Why  string
}

// Result is a converted inventory and its notes.
type Result struct {
	YAML  []byte
	Notes []Note
	Hosts int
	// Windows counts hosts converted to WinRM.
	Windows int
}

var arcHostRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Variables carried over; everything else is reported.
var carried = map[string]bool{
	"ansible_host": true, "ansible_ssh_host": true, "ansible_port": true, "ansible_ssh_port": true,
	"ansible_user": true, "ansible_ssh_user": true, "ansible_ssh_private_key_file": true, "ansible_private_key_file": true,
	"ansible_ssh_common_args": true, "ansible_ssh_extra_args": true,
	"ansible_connection": true, "ansible_become": true, "ansible_become_method": true, "ansible_become_user": true,
	"ansible_winrm_transport": true, "ansible_winrm_scheme": true, "ansible_winrm_server_cert_validation": true,
	"ansible_winrm_ca_trust_path": true, "ansible_winrm_cert_pem": true, "ansible_winrm_cert_key_pem": true,
}

var secretVars = map[string]bool{
	"ansible_password": true, "ansible_ssh_pass": true, "ansible_ssh_password": true, "ansible_become_pass": true,
	"ansible_become_password": true, "ansible_winrm_password": true, "ansible_ssh_private_key_passphrase": true,
}

type conv struct {
	inv     *Inventory
	direct  map[string][]string // host -> groups listing it
	parents map[string][]string // group -> groups listing it as a child
	gtrans  map[string]map[string]bool
	notes   []Note
	depth   map[string]int
	member  map[string][]string // host -> its groups (direct and inherited) by precedence, weakest first, without all
	trans   map[string]string   // host -> "ssh" or "winrm"
	jumps   []jumpOut           // jump_hosts: made from ProxyJump / ProxyCommand ssh -W in ssh args
}

// jumpOut is one jump_hosts: entry of the output.
type jumpOut struct {
	name, host, user, port, via string
}

// Convert turns inv into an arcfleet inventory (YAML text).
func Convert(inv *Inventory, opt Options) Result {
	c := &conv{inv: inv, depth: map[string]int{}, member: map[string][]string{}, trans: map[string]string{},
		direct: map[string][]string{}, parents: map[string][]string{}, gtrans: map[string]map[string]bool{}}
	c.walk("all", 0)
	for name, g := range inv.Groups {
		if _, ok := c.depth[name]; !ok { // unreachable from all: treat as a top-level group
			c.walk(name, 1)
		}
		for _, h := range g.Hosts {
			c.direct[h] = append(c.direct[h], name)
		}
		for _, ch := range g.Children {
			c.parents[ch] = append(c.parents[ch], name)
		}
	}
	for _, h := range inv.Order {
		c.member[h] = c.groupsOf(h)
		c.trans[h] = "ssh"
		if v, ok := c.effective(h, "ansible_connection"); ok && (v.S == "winrm" || v.S == "psrp") {
			c.trans[h] = "winrm"
		}
		for _, g := range append(c.member[h], "all") {
			if c.gtrans[g] == nil {
				c.gtrans[g] = map[string]bool{}
			}
			c.gtrans[g][c.trans[h]] = true
		}
	}
	var out strings.Builder
	c.write(&out, opt)
	res := Result{YAML: []byte(out.String()), Notes: c.notes, Hosts: len(inv.Order)}
	for _, h := range inv.Order {
		if c.trans[h] == "winrm" {
			res.Windows++
		}
	}
	return res
}

func (c *conv) walk(name string, d int) {
	if old, ok := c.depth[name]; ok && old >= d {
		return
	}
	c.depth[name] = d
	if g := c.inv.Groups[name]; g != nil {
		for _, ch := range g.Children {
			c.walk(ch, d+1)
		}
	}
}

// groupsOf is every group holding h directly or through children, ordered as
// Ansible merges their vars: by depth, then name; all is left out.
func (c *conv) groupsOf(h string) []string {
	in := map[string]bool{}
	direct, parents := c.direct[h], c.parents
	var up func(string)
	up = func(n string) {
		if in[n] {
			return
		}
		in[n] = true
		for _, p := range parents[n] {
			up(p)
		}
	}
	for _, d := range direct {
		up(d)
	}
	var out []string
	for n := range in {
		if n != "all" {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if c.depth[out[i]] != c.depth[out[j]] {
			return c.depth[out[i]] < c.depth[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

// effective is h's value of key as Ansible resolves it: host > groups > all.
func (c *conv) effective(h, key string) (Value, bool) {
	if v, ok := c.inv.Hosts[h].Vars[key]; ok {
		return v, true
	}
	gs := c.member[h]
	for i := len(gs) - 1; i >= 0; i-- {
		if v, ok := c.inv.Groups[gs[i]].Vars[key]; ok {
			return v, true
		}
	}
	v, ok := c.inv.Groups["all"].Vars[key]
	return v, ok
}

func (c *conv) note(line int, who, what, why string) {
	at := c.inv.File
	if line > 0 {
		at = fmt.Sprintf("%s:%d", c.inv.File, line)
	}
	c.notes = append(c.notes, Note{At: at, Who: who, What: what, Why: why})
}

// layerOut is what one Ansible var set becomes in arcfleet.
type layerOut struct {
	address, port string
	ssh, winrm    [][2]string // key, YAML value (already quoted)
}

func truthy(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "yes", "true", "1", "on", "y":
		return true, true
	case "no", "false", "0", "off", "n":
		return false, true
	}
	return false, false
}

// mapVars maps one var set (of all, a group or a host) for hosts using the
// transports in trans ("ssh", "winrm").
func (c *conv) mapVars(who string, vars map[string]Value, trans map[string]bool, host bool) layerOut {
	var lo layerOut
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	template := func(v Value) bool { return strings.Contains(v.S, "{{") || strings.Contains(v.S, "{%") }
	first := func(k ...string) (string, Value, bool) {
		for _, x := range k {
			if v, ok := vars[x]; ok && !v.Vault && !template(v) {
				return x, v, true
			}
		}
		return "", Value{}, false
	}
	for _, k := range keys {
		v := vars[k]
		switch {
		case v.Vault:
			c.note(v.Line, who, k, "vaulted value: not decrypted or carried over; set it in the arcfleet inventory (a secret as {env: NAME} or {file: PATH})")
		case template(v) && carried[k]:
			c.note(v.Line, who, k, "a Jinja template: arcfleet does not evaluate it; not carried over")
		case secretVars[k]:
			c.note(v.Line, who, k, "a password: arcfleet inventories hold secret references, not values; set ssh.password or winrm.password as {env: NAME} or {file: PATH}")
		case !carried[k]:
			c.note(v.Line, who, k, "no arcfleet equivalent: not carried over")
		}
	}
	if k, v, ok := first("ansible_host", "ansible_ssh_host"); ok {
		if host {
			lo.address = v.S
		} else {
			c.note(v.Line, who, k, "an address for a whole group: not carried over (set address: per host)")
		}
	}
	if k, v, ok := first("ansible_port", "ansible_ssh_port"); ok {
		if p, err := strconv.Atoi(v.S); err == nil && p >= 1 && p <= 65535 {
			lo.port = strconv.Itoa(p)
		} else {
			c.note(v.Line, who, k, "not a port number from 1 to 65535 (a template?): not carried over")
		}
	}
	add := func(into *[][2]string, key, val string) { *into = append(*into, [2]string{key, val}) }
	if _, v, ok := first("ansible_user", "ansible_ssh_user"); ok {
		if trans["ssh"] {
			add(&lo.ssh, "user", q(v.S))
		}
		if trans["winrm"] {
			add(&lo.winrm, "user", q(v.S))
		}
	}
	if _, v, ok := first("ansible_ssh_private_key_file", "ansible_private_key_file"); ok && trans["ssh"] {
		add(&lo.ssh, "identity_file", q(v.S))
	}
	for _, k := range []string{"ansible_ssh_common_args", "ansible_ssh_extra_args"} {
		if v, ok := vars[k]; ok && !v.Vault && !template(v) && trans["ssh"] {
			via, rest := c.sshArgsJump(v.S)
			if via != "" {
				add(&lo.ssh, "via", q(via))
			}
			if rest {
				c.note(v.Line, who, k, "ssh options other than ProxyJump (-J) and ProxyCommand=\"ssh -W %h:%p HOST\": not carried over")
			}
		}
	}
	if k, v, ok := first("ansible_become"); ok && trans["ssh"] {
		if b, ok := truthy(v.S); !ok {
			c.note(v.Line, who, k, "not yes/no: not carried over")
		} else if b {
			add(&lo.ssh, "become", "sudo")
		} else {
			add(&lo.ssh, "become", "none")
		}
	}
	if k, v, ok := first("ansible_become_method"); ok && v.S != "sudo" {
		c.note(v.Line, who, k, fmt.Sprintf("become method %q: arcfleet becomes root with sudo only", v.S))
	}
	if k, v, ok := first("ansible_become_user"); ok && v.S != "root" {
		c.note(v.Line, who, k, "arcfleet becomes root (the agent needs it), not another user")
	}
	if k, v, ok := first("ansible_connection"); ok {
		switch v.S {
		case "ssh", "paramiko", "smart", "winrm":
		case "psrp":
			c.note(v.Line, who, k, "connection psrp: converted to WinRM (arcfleet speaks WinRM, not PSRP)")
		default:
			c.note(v.Line, who, k, fmt.Sprintf("connection %q: arcfleet reaches hosts over SSH or WinRM only; converted to SSH", v.S))
		}
	}
	if trans["winrm"] {
		if k, v, ok := first("ansible_winrm_transport"); ok {
			auth := ""
			for _, t := range strings.Split(strings.Trim(v.S, "[] "), ",") {
				switch strings.Trim(strings.TrimSpace(t), `'"`) {
				case "ntlm":
					auth = "ntlm"
				case "basic":
					auth = "basic"
				case "certificate":
					auth = "cert"
				}
				if auth != "" {
					break
				}
			}
			if auth == "" {
				c.note(v.Line, who, k, fmt.Sprintf("WinRM transport %q: arcfleet speaks ntlm, basic and certificate; left at ntlm", v.S))
			} else {
				add(&lo.winrm, "auth", auth)
			}
		}
		if _, v, ok := first("ansible_winrm_scheme"); ok {
			if v.S == "http" {
				add(&lo.winrm, "https", "false")
				add(&lo.winrm, "allow_http", "true")
				c.note(v.Line, who, "ansible_winrm_scheme", "plain HTTP kept (https: false, allow_http: true): WinRM messages and the secret cross the network unencrypted; prefer HTTPS")
			} else {
				add(&lo.winrm, "https", "true")
			}
		}
		if _, v, ok := first("ansible_winrm_server_cert_validation"); ok && v.S == "ignore" {
			add(&lo.winrm, "insecure", "true")
			c.note(v.Line, who, "ansible_winrm_server_cert_validation", "certificate validation off kept (insecure: true); prefer winrm.ca_file")
		}
		if _, v, ok := first("ansible_winrm_ca_trust_path"); ok {
			add(&lo.winrm, "ca_file", q(v.S))
		}
		if _, v, ok := first("ansible_winrm_cert_pem"); ok {
			add(&lo.winrm, "cert_file", q(v.S))
		}
		if _, v, ok := first("ansible_winrm_cert_key_pem"); ok {
			add(&lo.winrm, "key_file", q(v.S))
		}
	}
	return lo
}

var (
	jumpArgRE  = regexp.MustCompile(`(?:^|\s)(?:-J\s*|-o\s*ProxyJump[= ]\s*)("[^"]*"|'[^']*'|\S+)`)
	proxyCmdRE = regexp.MustCompile(`(?:^|\s)-o\s*ProxyCommand[= ]\s*("[^"]*"|'[^']*')`)
)

// sshArgsJump finds the jump host in ansible_ssh_common_args: -J HOPS,
// -o ProxyJump=HOPS, or -o ProxyCommand="ssh -W %h:%p [-p PORT] [-l USER] [USER@]HOST".
// It returns the name of the last hop's jump_hosts: entry (made here) and
// whether other options are left that are not carried over.
func (c *conv) sshArgsJump(args string) (string, bool) {
	var hops []jumpOut
	rest := args
	if m := jumpArgRE.FindStringSubmatch(args); m != nil {
		rest = strings.Replace(rest, strings.TrimSpace(m[0]), "", 1)
		for _, h := range strings.Split(strings.Trim(m[1], `"'`), ",") {
			j := jumpOut{host: strings.TrimPrefix(strings.TrimSpace(h), "ssh://")}
			if at := strings.LastIndexByte(j.host, '@'); at >= 0 {
				j.user, j.host = j.host[:at], j.host[at+1:]
			}
			if hp, port := splitPort(j.host); port != "" {
				j.host, j.port = hp, port
			}
			hops = append(hops, j)
		}
	} else if m := proxyCmdRE.FindStringSubmatch(args); m != nil {
		toks := strings.Fields(strings.Trim(m[1], `"'`))
		if len(toks) > 0 && (toks[0] == "ssh" || strings.HasSuffix(toks[0], "/ssh")) {
			var j jumpOut
			w := false
		loop:
			for i := 1; i < len(toks); i++ {
				switch t := toks[i]; {
				case t == "-W" && i+1 < len(toks):
					w = toks[i+1] == "%h:%p" || toks[i+1] == "[%h]:%p"
					i++
				case t == "-p" && i+1 < len(toks):
					j.port = toks[i+1]
					i++
				case t == "-l" && i+1 < len(toks):
					j.user = toks[i+1]
					i++
				case t == "-q" || t == "-4" || t == "-6":
				case strings.HasPrefix(t, "-"):
					w = false // an option arcfleet would not reproduce
					break loop
				default:
					j.host = t
					if at := strings.LastIndexByte(t, '@'); at >= 0 {
						j.user, j.host = t[:at], t[at+1:]
					}
				}
			}
			if w && j.host != "" {
				rest = strings.Replace(rest, strings.TrimSpace(m[0]), "", 1)
				hops = append(hops, j)
			}
		}
	}
	prev := ""
	for _, j := range hops {
		if j.host == "" || strings.ContainsAny(j.host, " \t[]/,%") || len(hops) > 4 {
			return "", true
		}
		if p, err := strconv.Atoi(j.port); j.port != "" && (err != nil || p < 1 || p > 65535) {
			return "", true
		}
		j.via = prev
		prev = c.jumpName(j)
	}
	return prev, strings.TrimSpace(rest) != ""
}

// jumpName is the jump_hosts: entry for j, made once; a single hop naming a
// host of the inventory is that host.
func (c *conv) jumpName(j jumpOut) string {
	if _, ok := c.inv.Hosts[j.host]; ok && j.user == "" && j.port == "" && j.via == "" && arcHostRE.MatchString(j.host) {
		return j.host
	}
	for _, x := range c.jumps {
		if x.host == j.host && x.user == j.user && x.port == j.port && x.via == j.via {
			return x.name
		}
	}
	used := map[string]bool{}
	for h := range c.inv.Hosts {
		used[h] = true
	}
	for _, x := range c.jumps {
		used[x.name] = true
	}
	j.name = sanitize(j.host, used)
	c.jumps = append(c.jumps, j)
	return j.name
}

// q quotes s as a YAML scalar when it needs it.
func q(s string) string {
	b, err := yaml.Marshal(s)
	if err != nil {
		return strconv.Quote(s)
	}
	out := strings.TrimSuffix(string(b), "\n")
	if strings.Contains(out, "\n") {
		return strconv.Quote(s)
	}
	return out
}

// transOf is the set of transports of the hosts a group applies to.
func (c *conv) transOf(group string) map[string]bool {
	if t := c.gtrans[group]; t != nil {
		return t
	}
	return map[string]bool{}
}

func writeLayer(b *strings.Builder, indent string, lo layerOut, withPort bool) {
	if withPort && lo.port != "" {
		fmt.Fprintf(b, "%sport: %s\n", indent, lo.port)
	}
	for _, sec := range []struct {
		name string
		kv   [][2]string
	}{{"ssh", lo.ssh}, {"winrm", lo.winrm}} {
		if len(sec.kv) == 0 {
			continue
		}
		fmt.Fprintf(b, "%s%s:\n", indent, sec.name)
		for _, kv := range sec.kv {
			fmt.Fprintf(b, "%s  %s: %s\n", indent, kv[0], kv[1])
		}
	}
}

func (c *conv) write(b *strings.Builder, opt Options) {
	fmt.Fprintf(b, "# Converted from the Ansible inventory %s by `arcfleet inventory import ansible`.\n", c.inv.File)
	b.WriteString("# Review it, then: arcfleet validate -i THIS_FILE\nversion: 1\n")
	b.WriteString("azure:\n")
	for _, f := range []struct{ key, v, flag, example string }{
		{"subscription_id", opt.SubscriptionID, "--azure-subscription", "00000000-0000-0000-0000-000000000000"},
		{"resource_group", opt.ResourceGroup, "--azure-resource-group", "rg-arc-servers"},
		{"location", opt.Location, "--azure-location", "westeurope"},
	} {
		if f.v != "" {
			fmt.Fprintf(b, "  %s: %s\n", f.key, q(f.v))
		} else {
			fmt.Fprintf(b, "  # TODO: %s: %s   (or import with %s)\n", f.key, f.example, f.flag)
		}
	}
	b.WriteString("credentials:\n  arc:\n")
	b.WriteString("    # The hosts get short-lived tokens minted on this machine from `az login` (docs/security.md).\n")
	b.WriteString("    auth: access-token\n    token_from: azure-cli\n")
	if opt.TenantID != "" {
		fmt.Fprintf(b, "    tenant_id: %s\n", q(opt.TenantID))
	} else {
		b.WriteString("    # TODO: tenant_id: 00000000-0000-0000-0000-000000000000   (or import with --azure-tenant)\n")
	}
	b.WriteString("defaults:\n  credential: arc\n")
	all := c.inv.Groups["all"]
	allT := c.transOf("all")
	lo := c.mapVars("all", all.Vars, allT, false)
	// Ansible logs in with ssh-agent and the default keys when nothing else is said.
	lo.ssh = append([][2]string{{"use_agent", "true"}}, lo.ssh...)
	if allT["winrm"] {
		lo.winrm = append([][2]string{{"password", "{env: ARCFLEET_WINRM_PASSWORD}"}}, lo.winrm...)
		c.note(0, "all", "winrm.password", "Windows passwords are not carried over: the output reads it from $ARCFLEET_WINRM_PASSWORD; export it, or change the reference")
	}
	writeLayer(b, "  ", lo, false)
	if lo.port != "" {
		for _, os := range []string{"linux", "windows"} {
			if allT[map[string]string{"linux": "ssh", "windows": "winrm"}[os]] {
				fmt.Fprintf(b, "  %s:\n    port: %s\n", os, lo.port)
			}
		}
	}
	head := b.String()
	b.Reset()
	// Groups, in file order of first appearance (sorted by name for stability).
	var groups []string
	for name := range c.inv.Groups {
		if name != "all" && name != "ungrouped" {
			groups = append(groups, name)
		}
	}
	sort.Slice(groups, func(i, j int) bool {
		if c.depth[groups[i]] != c.depth[groups[j]] {
			return c.depth[groups[i]] < c.depth[groups[j]]
		}
		return groups[i] < groups[j]
	})
	if u := c.inv.Groups["ungrouped"]; u != nil && len(u.Vars) > 0 {
		groups = append(groups, "ungrouped")
	}
	if len(groups) > 0 {
		b.WriteString("groups:\n")
		for _, name := range groups {
			g := c.inv.Groups[name]
			var body strings.Builder
			writeLayer(&body, "    ", c.mapVars("group "+name, g.Vars, c.transOf(name), false), true)
			if body.Len() == 0 {
				fmt.Fprintf(b, "  %s: {}\n", q(name))
			} else {
				fmt.Fprintf(b, "  %s:\n%s", q(name), body.String())
			}
		}
	}
	b.WriteString("hosts:\n")
	used := map[string]bool{}
	for _, hn := range c.inv.Order {
		h := c.inv.Hosts[hn]
		name := hn
		if !arcHostRE.MatchString(name) || used[name] {
			name = sanitize(hn, used)
			c.note(h.Line, "host "+hn, "name", fmt.Sprintf("not a valid arcfleet host name: named %s, address kept", name))
		}
		used[name] = true
		lo := c.mapVars("host "+hn, h.Vars, map[string]bool{c.trans[hn]: true}, true)
		if lo.address == "" && name != hn {
			lo.address = hn
		}
		// Ansible uses http when the port is 5985 and no scheme is given.
		if c.trans[hn] == "winrm" {
			if _, ok := c.effective(hn, "ansible_winrm_scheme"); !ok {
				if p, ok := c.effective(hn, "ansible_port"); ok && p.S == "5985" {
					lo.winrm = append(lo.winrm, [2]string{"https", "false"}, [2]string{"allow_http", "true"})
					c.note(p.Line, "host "+hn, "ansible_port", "port 5985 without ansible_winrm_scheme is plain HTTP in Ansible: kept (https: false, allow_http: true); prefer HTTPS on 5986")
				}
			}
		}
		fmt.Fprintf(b, "  - name: %s\n", q(name))
		if lo.address != "" {
			fmt.Fprintf(b, "    address: %s\n", q(lo.address))
		}
		if c.trans[hn] == "winrm" {
			b.WriteString("    os: windows\n")
		}
		var gs []string
		for _, g := range c.member[hn] {
			if g != "ungrouped" || (c.inv.Groups["ungrouped"] != nil && len(c.inv.Groups["ungrouped"].Vars) > 0) {
				gs = append(gs, q(g))
			}
		}
		if len(gs) > 0 {
			fmt.Fprintf(b, "    groups: [%s]\n", strings.Join(gs, ", "))
		}
		writeLayer(b, "    ", lo, true)
	}
	body := b.String()
	b.Reset()
	b.WriteString(head)
	if len(c.jumps) > 0 {
		b.WriteString("jump_hosts: # from ProxyJump / ProxyCommand in ansible_ssh_common_args; only hops, never onboarded\n")
		for _, j := range c.jumps {
			fmt.Fprintf(b, "  %s:\n    address: %s\n", q(j.name), q(j.host))
			if j.port != "" {
				fmt.Fprintf(b, "    port: %s\n", j.port)
			}
			if j.user != "" || j.via != "" {
				b.WriteString("    ssh:\n")
				if j.user != "" {
					fmt.Fprintf(b, "      user: %s\n", q(j.user))
				}
				if j.via != "" {
					fmt.Fprintf(b, "      via: %s\n", q(j.via))
				}
			}
		}
	}
	b.WriteString(body)
}

// sanitize makes an arcfleet host name of s: characters outside letters,
// digits, '.', '_' and '-' become '-', unique among used.
func sanitize(s string, used map[string]bool) string {
	var b strings.Builder
	for _, r := range s {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	n := strings.TrimLeft(b.String(), "._-")
	if n == "" {
		n = "host"
	}
	base := n
	for i := 2; used[n]; i++ {
		n = fmt.Sprintf("%s-%d", base, i)
	}
	return n
}

// Report renders the notes for people: one line per variable and reason with
// the places (the first few), then the totals. No value is printed.
func Report(r Result) string {
	var b strings.Builder
	type key struct{ what, why string }
	var order []key
	places := map[key][]string{}
	for _, n := range r.Notes {
		k := key{n.What, n.Why}
		if _, ok := places[k]; !ok {
			order = append(order, k)
		}
		places[k] = append(places[k], fmt.Sprintf("%s (%s)", n.Who, n.At))
	}
	fmt.Fprintf(&b, "Converted %d %s (%d Windows over WinRM).\n", r.Hosts, plural(r.Hosts, "host", "hosts"), r.Windows)
	if len(order) == 0 {
		b.WriteString("Everything was carried over.\n")
		return b.String()
	}
	fmt.Fprintf(&b, "Not carried over or changed (%d):\n", len(order))
	for _, k := range order {
		ps := places[k]
		list := strings.Join(ps[:min(len(ps), 3)], ", ")
		if len(ps) > 3 {
			list += fmt.Sprintf(" and %d more", len(ps)-3)
		}
		fmt.Fprintf(&b, "  %s: %s: %s\n", k.what, k.why, list)
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
