// Package ansible reads Ansible inventories (YAML and INI) and converts them
// to arcfleet's inventory schema, listing what could not be carried over.
//
// It reads files only; it never runs Ansible, a dynamic inventory script or a
// vault decryption.
package ansible

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// MaxHosts bounds the hosts one file may expand to (ranges multiply).
const MaxHosts = 100_000

// Value is one variable as written: its text, whether it was vaulted (!vault,
// never decrypted), and where.
type Value struct {
	S     string
	Vault bool
	Line  int
}

// Group is an Ansible group: its hosts, child groups and vars.
type Group struct {
	Name     string
	Hosts    []string
	Children []string
	Vars     map[string]Value
	Line     int
	has      map[string]bool // Hosts as a set
}

func (g *Group) addHost(h string) {
	if g.has == nil {
		g.has = map[string]bool{}
	}
	if !g.has[h] {
		g.has[h] = true
		g.Hosts = append(g.Hosts, h)
	}
}

// Host is an Ansible host with its own vars.
type Host struct {
	Name string
	Vars map[string]Value
	Line int
}

// Inventory is a parsed Ansible inventory: groups by name ("all" always
// exists; "ungrouped" when hosts are outside every group) and hosts in the
// order first seen.
type Inventory struct {
	File   string
	Format string // "yaml" or "ini"
	Groups map[string]*Group
	Hosts  map[string]*Host
	Order  []string // host names in file order
}

// Error is a parse error at a line of the file.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

func newInventory(file, format string) *Inventory {
	inv := &Inventory{File: file, Format: format, Groups: map[string]*Group{}, Hosts: map[string]*Host{}}
	inv.group("all", 0)
	return inv
}

func (inv *Inventory) group(name string, line int) *Group {
	g := inv.Groups[name]
	if g == nil {
		g = &Group{Name: name, Vars: map[string]Value{}, Line: line}
		inv.Groups[name] = g
	}
	return g
}

func (inv *Inventory) host(name string, line int) *Host {
	h := inv.Hosts[name]
	if h == nil {
		h = &Host{Name: name, Vars: map[string]Value{}, Line: line}
		inv.Hosts[name] = h
		inv.Order = append(inv.Order, name)
	}
	return h
}

func addUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// Parse reads an Ansible inventory in YAML or INI (detected: a YAML mapping
// whose values are group bodies is YAML, anything else INI).
func Parse(file string, data []byte) (*Inventory, error) {
	if looksYAML(data) {
		return ParseYAML(file, data)
	}
	return ParseINI(file, data)
}

func looksYAML(data []byte) bool {
	for _, l := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";") || t == "---" {
			continue
		}
		// INI: "[group]" or "host var=x"; YAML: "all:" or "group:".
		return !strings.HasPrefix(t, "[") && strings.HasSuffix(strings.SplitN(t, "#", 2)[0], ":") ||
			strings.HasPrefix(strings.TrimSpace(strings.SplitN(t, "#", 2)[0]), "all:")
	}
	return false
}

var groupNameOK = func(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return false
		}
	}
	return true
}

// ParseINI reads the INI format: host lines ("name[:port] k=v ..."),
// [group], [group:vars] (k=v per line) and [group:children] sections.
func ParseINI(file string, data []byte) (*Inventory, error) {
	inv := newInventory(file, "ini")
	section, kind := "ungrouped", "hosts"
	for i, raw := range strings.Split(string(data), "\n") {
		n := i + 1
		line := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		fail := func(msg string) error { return &Error{File: file, Line: n, Msg: msg} }
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return nil, fail("section header without ']'")
			}
			if rest := strings.TrimSpace(line[end+1:]); rest != "" && rest[0] != '#' && rest[0] != ';' {
				return nil, fail(fmt.Sprintf("text after the section header: %q", rest))
			}
			name := line[1:end]
			kind = "hosts"
			if g, k, ok := strings.Cut(name, ":"); ok {
				name, kind = g, k
			}
			switch kind {
			case "hosts", "vars", "children":
			default:
				return nil, fail(fmt.Sprintf("section [%s:%s]: use [NAME], [NAME:vars] or [NAME:children]", name, kind))
			}
			if !groupNameOK(name) {
				return nil, fail(fmt.Sprintf("invalid group name %q", name))
			}
			section = name
			inv.group(section, n)
			continue
		}
		switch kind {
		case "vars":
			k, v, ok := strings.Cut(line, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return nil, fail("expected key=value in a :vars section")
			}
			inv.group(section, n).Vars[k] = Value{S: unquote(strings.TrimSpace(v)), Line: n}
		case "children":
			child := strings.Fields(line)[0]
			if !groupNameOK(child) {
				return nil, fail(fmt.Sprintf("invalid group name %q", child))
			}
			if child == section || child == "all" {
				return nil, fail(fmt.Sprintf("group %q cannot be a child of %q", child, section))
			}
			inv.group(child, n)
			g := inv.group(section, n)
			g.Children = addUnique(g.Children, child)
		default:
			toks, err := shellFields(line)
			if err != nil {
				return nil, fail(err.Error())
			}
			pattern, port := splitPort(toks[0])
			names, err := ExpandRange(pattern)
			if err != nil {
				return nil, fail(err.Error())
			}
			if len(inv.Order)+len(names) > MaxHosts {
				return nil, fail(fmt.Sprintf("more than %d hosts", MaxHosts))
			}
			vars := map[string]Value{}
			if port != "" {
				vars["ansible_port"] = Value{S: port, Line: n}
			}
			for _, t := range toks[1:] {
				if strings.HasPrefix(t, "#") {
					break
				}
				k, v, ok := strings.Cut(t, "=")
				if !ok || k == "" {
					return nil, fail(fmt.Sprintf("%q: host variables are written key=value", t))
				}
				vars[k] = Value{S: v, Line: n}
			}
			g := inv.group(section, n)
			for _, name := range names {
				h := inv.host(name, n)
				for k, v := range vars {
					h.Vars[k] = v
				}
				g.addHost(name)
			}
		}
	}
	return inv, inv.check()
}

// splitPort splits "host:port" (one colon, numeric port) as Ansible's INI does.
func splitPort(s string) (string, string) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 || strings.Count(s, ":") != 1 || strings.HasSuffix(s, "]") {
		return s, ""
	}
	if _, err := strconv.Atoi(s[i+1:]); err != nil {
		return s, ""
	}
	return s[:i], s[i+1:]
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		return s[1 : len(s)-1]
	}
	return s
}

// shellFields splits a host line as shlex does: whitespace separates, quotes
// group (and are removed), a backslash escapes the next character.
func shellFields(s string) ([]string, error) {
	var out []string
	var b strings.Builder
	in, quote, esc := false, byte(0), false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			b.WriteByte(c)
			esc = false
		case c == '\\' && quote != '\'':
			esc, in = true, true
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				b.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, b.String())
				b.Reset()
				in = false
			}
		default:
			b.WriteByte(c)
			in = true
		}
	}
	if quote != 0 || esc {
		return nil, errors.New("unterminated quote or escape")
	}
	if in {
		out = append(out, b.String())
	}
	if len(out) == 0 {
		return nil, errors.New("empty host line")
	}
	return out, nil
}

// ParseYAML reads the YAML format: top-level groups (usually all:) with hosts:,
// vars: and children:.
func ParseYAML(file string, data []byte) (inv *Inventory, err error) {
	defer func() {
		if r := recover(); r != nil { // yaml.v3 has panicked on hostile input
			inv, err = nil, &Error{File: file, Line: 1, Msg: fmt.Sprintf("malformed YAML (%v)", r)}
		}
	}()
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, &Error{File: file, Line: 1, Msg: "YAML: " + err.Error()}
	}
	inv = newInventory(file, "yaml")
	if len(doc.Content) == 0 {
		return inv, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: file, Line: root.Line, Msg: "expected groups (all:) at the top level"}
	}
	p := &yparser{inv: inv, file: file}
	for i := 0; i+1 < len(root.Content); i += 2 {
		name := root.Content[i].Value
		if err := p.group(name, root.Content[i], root.Content[i+1], 0); err != nil {
			return nil, err
		}
		if name != "all" {
			g := inv.Groups["all"]
			g.Children = addUnique(g.Children, name)
		}
	}
	return inv, inv.check()
}

type yparser struct {
	inv  *Inventory
	file string
}

func (p *yparser) fail(n *yaml.Node, msg string) error {
	return &Error{File: p.file, Line: n.Line, Msg: msg}
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func (p *yparser) group(name string, k, body *yaml.Node, depth int) error {
	if depth > 64 {
		return p.fail(k, "groups nested too deeply")
	}
	if !groupNameOK(name) {
		return p.fail(k, fmt.Sprintf("invalid group name %q", name))
	}
	g := p.inv.group(name, k.Line)
	body = deref(body)
	if isNull(body) {
		return nil
	}
	if body.Kind != yaml.MappingNode {
		return p.fail(body, fmt.Sprintf("group %q: expected hosts:, vars: or children:", name))
	}
	for i := 0; i+1 < len(body.Content); i += 2 {
		key, v := body.Content[i], deref(body.Content[i+1])
		switch key.Value {
		case "hosts":
			if isNull(v) {
				continue
			}
			if v.Kind != yaml.MappingNode {
				return p.fail(v, fmt.Sprintf("group %q: hosts: is a mapping of host names", name))
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				hk, hv := v.Content[j], deref(v.Content[j+1])
				pattern, port := splitPort(hk.Value)
				names, err := ExpandRange(pattern)
				if err != nil {
					return p.fail(hk, err.Error())
				}
				if len(p.inv.Order)+len(names) > MaxHosts {
					return p.fail(hk, fmt.Sprintf("more than %d hosts", MaxHosts))
				}
				vars, err := p.vars(hv)
				if err != nil {
					return err
				}
				if port != "" {
					vars["ansible_port"] = Value{S: port, Line: hk.Line}
				}
				for _, hn := range names {
					h := p.inv.host(hn, hk.Line)
					for vk, vv := range vars {
						h.Vars[vk] = vv
					}
					g.addHost(hn)
				}
			}
		case "vars":
			vars, err := p.vars(v)
			if err != nil {
				return err
			}
			for vk, vv := range vars {
				g.Vars[vk] = vv
			}
		case "children":
			if isNull(v) {
				continue
			}
			if v.Kind != yaml.MappingNode {
				return p.fail(v, fmt.Sprintf("group %q: children: is a mapping of group names", name))
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				cn := v.Content[j].Value
				if cn == name || cn == "all" {
					return p.fail(v.Content[j], fmt.Sprintf("group %q cannot be a child of %q", cn, name))
				}
				g.Children = addUnique(g.Children, cn)
				if err := p.group(cn, v.Content[j], v.Content[j+1], depth+1); err != nil {
					return err
				}
			}
		default:
			return p.fail(key, fmt.Sprintf("group %q: unknown key %q (Ansible groups have hosts:, vars:, children:)", name, key.Value))
		}
	}
	return nil
}

// vars reads a mapping of variables; non-scalar values are kept as their
// YAML text (they are reported, not carried over).
func (p *yparser) vars(n *yaml.Node) (map[string]Value, error) {
	out := map[string]Value{}
	n = deref(n)
	if isNull(n) {
		return out, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, p.fail(n, "expected a mapping of variables")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		val := Value{Line: k.Line}
		switch {
		case v == nil:
		case v.Tag == "!vault":
			val.Vault = true
		case v.Kind == yaml.ScalarNode:
			val.S = v.Value
		default:
			b, _ := yaml.Marshal(v)
			val.S = strings.TrimSpace(string(b))
		}
		out[k.Value] = val
	}
	return out, nil
}

// check rejects child loops (Ansible refuses them too).
func (inv *Inventory) check() error {
	state := map[string]int{}
	var visit func(name string, depth int) error
	visit = func(name string, depth int) error {
		switch state[name] {
		case 1:
			return &Error{File: inv.File, Line: inv.Groups[name].Line, Msg: fmt.Sprintf("group %q is its own descendant (children loop)", name)}
		case 2:
			return nil
		}
		state[name] = 1
		for _, c := range inv.Groups[name].Children {
			if err := visit(c, depth+1); err != nil {
				return err
			}
		}
		state[name] = 2
		return nil
	}
	names := make([]string, 0, len(inv.Groups))
	for n := range inv.Groups {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := visit(n, 0); err != nil {
			return err
		}
	}
	// Hosts outside every group but all are in ungrouped, as Ansible has them.
	in := map[string]bool{}
	for _, g := range inv.Groups {
		if g.Name == "all" {
			continue
		}
		for _, h := range g.Hosts {
			in[h] = true
		}
	}
	for _, h := range inv.Order {
		if !in[h] {
			u := inv.group("ungrouped", 0)
			u.addHost(h)
		}
	}
	if u := inv.Groups["ungrouped"]; u != nil {
		all := inv.Groups["all"]
		all.Children = addUnique(all.Children, "ungrouped")
	}
	return nil
}

// ExpandRange expands Ansible host ranges: web[01:10] (zero padded as the
// start is), db[a:f], x[1:10:2]; several ranges in one name multiply.
func ExpandRange(pattern string) ([]string, error) {
	return expandRange(pattern, 0)
}

func expandRange(p string, depth int) ([]string, error) {
	open := strings.IndexByte(p, '[')
	if open < 0 {
		return []string{p}, nil
	}
	closeAt := strings.IndexByte(p[open:], ']')
	if closeAt < 0 || !strings.Contains(p[open:open+closeAt], ":") {
		return []string{p}, nil // not a range: the name as written
	}
	if depth > 8 {
		return nil, fmt.Errorf("host pattern %q: too many ranges", p)
	}
	head, body, tail := p[:open], p[open+1:open+closeAt], p[open+closeAt+1:]
	b := strings.Split(body, ":")
	if len(b) != 2 && len(b) != 3 {
		return nil, fmt.Errorf("host range [%s]: write [begin:end] or [begin:end:step]", body)
	}
	beg, end, step := b[0], b[1], 1
	if len(b) == 3 {
		s, err := strconv.Atoi(b[2])
		if err != nil || s < 1 {
			return nil, fmt.Errorf("host range [%s]: the step must be a positive number", body)
		}
		step = s
	}
	if beg == "" {
		beg = "0"
	}
	if end == "" {
		return nil, fmt.Errorf("host range [%s]: no end", body)
	}
	var seq []string
	if isLetter(beg) && isLetter(end) {
		if beg[0] > end[0] || unicode.IsLower(rune(beg[0])) != unicode.IsLower(rune(end[0])) {
			return nil, fmt.Errorf("host range [%s]: begin must not be after end", body)
		}
		for c := beg[0]; c <= end[0]; c += byte(step) {
			seq = append(seq, string(c))
			if int(c)+step > 255 {
				break
			}
		}
	} else {
		lo, err1 := strconv.Atoi(beg)
		hi, err2 := strconv.Atoi(end)
		if err1 != nil || err2 != nil || lo < 0 || hi < 0 {
			return nil, fmt.Errorf("host range [%s]: use numbers or single letters", body)
		}
		if lo > hi {
			return nil, fmt.Errorf("host range [%s]: begin must not be after end", body)
		}
		width := 0
		if len(beg) > 1 && beg[0] == '0' {
			if len(beg) != len(end) {
				return nil, fmt.Errorf("host range [%s]: a zero-padded begin and the end must have the same width", body)
			}
			width = len(beg)
		}
		// (hi-lo)/step+1 hosts; compared without the +1 and counted by n, so
		// neither the bound nor i can overflow near the int range's end.
		count := (hi - lo) / step
		if count >= MaxHosts {
			return nil, fmt.Errorf("host range [%s]: more than %d hosts", body, MaxHosts)
		}
		for n := 0; n <= count; n++ {
			seq = append(seq, fmt.Sprintf("%0*d", width, lo+n*step))
		}
	}
	var out []string
	for _, s := range seq {
		more, err := expandRange(head+s+tail, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
		if len(out) > MaxHosts {
			return nil, fmt.Errorf("host pattern %q: more than %d hosts", p, MaxHosts)
		}
	}
	return out, nil
}

func isLetter(s string) bool {
	return len(s) == 1 && (s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z')
}
