package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"
)

// OpenSSH interop: a host's missing SSH settings are read from the user's
// ssh_config (~/.ssh/config, or ssh.config_file; "none" reads nothing) with
// github.com/kevinburke/ssh_config, which parses the file (Host patterns with *,
// ? and !, Include, quoted values, Match all) and keeps each line's position.
// arcfleet evaluates the blocks itself so it can say which line gave a value.
//
// Read: HostName, User, Port, IdentityFile (the first), ProxyJump. The
// inventory's own values win, ssh_config's come next, arcfleet's defaults last.
// Not supported, with a warning naming the line: Match (other than Match all:
// its block is ignored), ProxyCommand (the host is dialed directly). Not read:
// /etc/ssh/ssh_config, CanonicalizeHostname, CertificateFile, and the other
// directives.

// DefaultSSHConfig is the ssh_config read when no layer sets ssh.config_file; a
// missing file is not an error. Tests point it elsewhere.
var DefaultSSHConfig = "~/.ssh/config"

type sshConfigFile struct {
	path  string // as read (home expanded)
	label string // as shown: "~/.ssh/config" or the path
	cfg   *ssh_config.Config
	match []int // lines of Match blocks arcfleet ignores
	err   error
}

// sshConfigs caches each ssh_config file for one Parse.
type sshConfigs map[string]*sshConfigFile

// load reads and parses path once. A missing default file is (nil, nil).
func (cs sshConfigs) load(path string, explicit bool) *sshConfigFile {
	if f, ok := cs[path]; ok {
		return f
	}
	f := &sshConfigFile{path: expandHome(path), label: path}
	cs[path] = f
	data, err := os.ReadFile(f.path)
	switch {
	case err != nil && !explicit && errors.Is(err, os.ErrNotExist):
		cs[path] = nil
		return nil
	case err != nil:
		f.err = err
		return f
	}
	data, f.match = maskMatch(data)
	f.cfg, f.err = decodeSSHConfig(data)
	return f
}

// decodeSSHConfig parses with the library; a panic it lets through (it
// re-panics runtime errors) becomes an error, never a crash.
func decodeSSHConfig(data []byte) (cfg *ssh_config.Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			cfg, err = nil, fmt.Errorf("malformed ssh_config (%v)", r)
		}
	}()
	return ssh_config.DecodeBytes(data)
}

// maskMatch turns each Match line other than "Match all" into "Host !*" (a
// block that matches no host), so the library neither refuses the file
// (Match exec, user, ...) nor evaluates criteria it reads differently from
// OpenSSH; the lines are reported as warnings. Line numbers do not change.
func maskMatch(data []byte) ([]byte, []int) {
	lines := bytes.Split(data, []byte("\n"))
	var masked []int
	for i, l := range lines {
		t := strings.TrimSpace(string(l))
		kw, rest := splitDirective(t)
		if !strings.EqualFold(kw, "match") || strings.EqualFold(strings.TrimSpace(rest), "all") {
			continue
		}
		lines[i] = []byte("Host !*")
		masked = append(masked, i+1)
	}
	return bytes.Join(lines, []byte("\n")), masked
}

// splitDirective splits "Key value", "Key=value" or "Key = value".
func splitDirective(t string) (string, string) {
	i := strings.IndexAny(t, " \t=")
	if i < 0 {
		return t, ""
	}
	rest := strings.TrimLeft(t[i:], " \t")
	rest = strings.TrimPrefix(rest, "=")
	return t[:i], strings.TrimSpace(rest)
}

// get is the first value of key for alias in file order (OpenSSH: the first
// obtained value wins) and where it was written. A value from an Included file
// is placed at its Include line (the library does not say which file gave it).
func (f *sshConfigFile) get(alias, key string) (string, string, bool) {
	if f == nil || f.cfg == nil {
		return "", "", false
	}
	for _, h := range f.cfg.Hosts {
		if !h.Matches(alias) {
			continue
		}
		for _, n := range h.Nodes {
			switch t := n.(type) {
			case *ssh_config.KV:
				if strings.EqualFold(t.Key, key) {
					return t.Value, fmt.Sprintf("%s:%d", f.label, t.Pos().Line), true
				}
			case *ssh_config.Include:
				if v := t.Get(alias, key); v != "" {
					return v, fmt.Sprintf("%s:%d (Include)", f.label, t.Pos().Line), true
				}
			}
		}
	}
	return "", "", false
}

// line is the line number in an origin "FILE:LINE[ (Include)]".
func originPos(f *sshConfigFile, at string) Pos {
	s := strings.TrimSuffix(at, " (Include)")
	n, _ := strconv.Atoi(s[strings.LastIndexByte(s, ':')+1:])
	return Pos{File: f.path, Line: n, Col: 1}
}

// expandTokens replaces OpenSSH's % tokens and a leading ~ in v.
func expandTokens(v string, tok map[byte]string) (string, error) {
	if strings.HasPrefix(v, "~/") {
		v = expandHome(v)
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '%' {
			b.WriteByte(v[i])
			continue
		}
		if i+1 >= len(v) {
			return "", errors.New("a lone % at the end")
		}
		i++
		if v[i] == '%' {
			b.WriteByte('%')
			continue
		}
		r, ok := tok[v[i]]
		if !ok {
			return "", fmt.Errorf("token %%%c is not supported by arcfleet", v[i])
		}
		b.WriteString(r)
	}
	return b.String(), nil
}

func localUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// hop is one ProxyJump entry: [user@]host[:port] or ssh://[user@]host[:port].
type hop struct {
	spec, user, host string
	port             int
}

func parseProxyJump(v string) ([]hop, error) {
	var out []hop
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		h := hop{spec: s}
		s = strings.TrimPrefix(s, "ssh://")
		if at := strings.LastIndexByte(s, '@'); at >= 0 {
			h.user, s = s[:at], s[at+1:]
		}
		h.host = s
		if host, port, err := net.SplitHostPort(s); err == nil {
			p, err := strconv.Atoi(port)
			if err != nil || p < 1 || p > 65535 {
				return nil, fmt.Errorf("hop %q: port %q is not a number from 1 to 65535", h.spec, port)
			}
			h.host, h.port = host, p
		} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
			h.host = s[1 : len(s)-1]
		}
		if h.host == "" || strings.ContainsAny(h.host, " \t/[]") {
			return nil, fmt.Errorf("hop %q: no host", h.spec)
		}
		out = append(out, h)
	}
	return out, nil
}

// sshCfgRun is the ssh_config state of one Parse.
type sshCfgRun struct {
	files sshConfigs
	d     *dec
	src   *source
	inv   *Inventory
	names map[string]int // jump host name -> index in inv.JumpHosts
}

func (r *sshCfgRun) note(name string, p Pos, msg, fix string) {
	if r.src.notes == nil {
		r.src.notes = map[string][]Finding{}
	}
	r.src.notes[name] = append(r.src.notes[name], Finding{Pos: p, Code: CodeSSHConfig, Host: name,
		Message: msg + "; fix: " + fix, Warning: true})
}

// file is the ssh_config the chain names (nil: none).
func (r *sshCfgRun) file(ch []*layer, path, name string) *sshConfigFile {
	cf := pick(ch, func(l *layer) *val[string] { return &l.ssh.configFile })
	if cf.v == "none" {
		return nil
	}
	p := DefaultSSHConfig
	if cf.set && cf.v != "" {
		p = cf.v
	}
	if p == "" {
		return nil
	}
	f := r.files.load(p, cf.set)
	if f != nil && f.err != nil {
		at := cf.pos
		if !cf.set {
			at = Pos{File: r.d.file, Line: 1, Col: 1}
		}
		r.d.failAt(at, path+".ssh.config_file", name, fmt.Sprintf("cannot read ssh_config %s: %s", f.label, unwrapPathErr(f.err)),
			"fix the file, or set `ssh: {config_file: none}` in defaults to not read it")
		return nil
	}
	return f
}

// apply fills the settings of h (fleet or jump host, SSH) that its layers ch
// leave unset from ssh_config. addrFree: no address: written for it. Returns the
// position of an address taken from ssh_config (zero Pos otherwise).
func (r *sshCfgRun) apply(h *Host, ch []*layer, path string, addrFree, portSet bool) Pos {
	f := r.file(ch, path, h.Name)
	if f == nil {
		return Pos{}
	}
	for _, line := range f.match {
		r.note(h.Name, Pos{File: f.path, Line: line, Col: 1}, "this Match block is not evaluated by arcfleet (only Match all is): its settings are not used",
			"rewrite it as a Host block, or set the values in the inventory")
	}
	origin := func(key, at string) {
		if h.SSH.Origins == nil {
			h.SSH.Origins = map[string]string{}
		}
		h.SSH.Origins[key] = at
	}
	alias := h.Address
	tok := map[byte]string{'h': alias, 'n': alias}
	var addrPos Pos
	if v, at, ok := f.get(alias, "HostName"); ok && addrFree {
		if x, err := expandTokens(v, tok); err != nil {
			r.note(h.Name, originPos(f, at), "HostName "+v+": "+err.Error(), "use %h or a literal name")
		} else if x != "" {
			h.Address = x
			addrPos = originPos(f, at)
			origin("address", at)
		}
	}
	set := func(get func(*rawSSH) *val[string]) bool {
		return pick(ch, func(l *layer) *val[string] { return get(&l.ssh) }).set
	}
	if v, at, ok := f.get(alias, "User"); ok && !set(func(s *rawSSH) *val[string] { return &s.user }) {
		h.SSH.User = v
		origin("user", at)
	}
	if v, at, ok := f.get(alias, "Port"); ok && !portSet {
		if p, err := strconv.Atoi(v); err != nil || p < 1 || p > 65535 {
			r.d.failAt(originPos(f, at), path+".port", h.Name, fmt.Sprintf("ssh_config Port %q is not a number from 1 to 65535", v), "fix the Port line, or set port: in the inventory")
		} else {
			h.Port = p
			origin("port", at)
		}
	}
	homeDir, _ := os.UserHomeDir()
	tok = map[byte]string{'h': h.Address, 'n': alias, 'p': strconv.Itoa(h.Port), 'r': h.SSH.User, 'u': localUser(), 'd': homeDir}
	if v, at, ok := f.get(alias, "IdentityFile"); ok && !set(func(s *rawSSH) *val[string] { return &s.identityFile }) {
		x, err := expandTokens(v, tok)
		switch {
		case err != nil:
			r.note(h.Name, originPos(f, at), "IdentityFile "+v+": "+err.Error(), "write the path without that token, or set ssh.identity_file")
		case !filepath.IsAbs(x):
			r.note(h.Name, originPos(f, at), fmt.Sprintf("IdentityFile %s is not an absolute path: not used", v), "write it as ~/... or an absolute path")
		default:
			if _, err := os.Stat(x); err != nil {
				// OpenSSH skips an IdentityFile that does not exist; so does arcfleet.
				r.note(h.Name, originPos(f, at), fmt.Sprintf("IdentityFile %s: %v: not used", x, unwrapPathErr(err)), "create the key, or fix or remove the line")
			} else {
				h.SSH.IdentityFile = x
				origin("identity_file", at)
			}
		}
	}
	jump, jat, jok := f.get(alias, "ProxyJump")
	if cmd, at, ok := f.get(alias, "ProxyCommand"); ok && !strings.EqualFold(cmd, "none") && (!jok || originPos(f, at).Line < originPos(f, jat).Line) {
		r.note(h.Name, originPos(f, at), "ProxyCommand is not supported by arcfleet: the host is dialed without it",
			"use ProxyJump, or ssh.via with a jump host (docs/inventory.md)")
	}
	if jok && !set(func(s *rawSSH) *val[string] { return &s.via }) && !strings.EqualFold(jump, "none") {
		if via := r.hops(f, jump, jat, h.Name); via != "" {
			h.SSH.Via = via
			origin("via", jat)
		}
	}
	return addrPos
}

// hops makes the jump hosts of a ProxyJump value and returns the name of the
// last (the one the host is reached through). A single hop that names a host of
// the inventory or a jump_hosts: entry is that host.
func (r *sshCfgRun) hops(f *sshConfigFile, v, at, host string) string {
	hs, err := parseProxyJump(v)
	if err != nil {
		r.d.failAt(originPos(f, at), "ssh.via", host, "ssh_config ProxyJump: "+err.Error(), "write ProxyJump [user@]host[:port][,...]")
		return ""
	}
	if len(hs) > MaxJumpDepth {
		r.d.failAt(originPos(f, at), "ssh.via", host, fmt.Sprintf("ssh_config ProxyJump lists %d hops, more than the %d arcfleet follows", len(hs), MaxJumpDepth), "shorten the chain")
		return ""
	}
	if len(hs) == 1 && hs[0].spec == hs[0].host {
		if _, ok := r.src.index[hs[0].host]; ok {
			return hs[0].host
		}
		if _, ok := r.names[hs[0].host]; ok {
			return hs[0].host
		}
	}
	prev := ""
	for i, hp := range hs {
		name := strings.Join(specs(hs[:i+1]), ",")
		if _, ok := r.names[name]; !ok {
			r.newHop(f, hp, name, prev, at)
		}
		prev = name
	}
	return prev
}

func specs(hs []hop) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.spec
	}
	return out
}

// newHop adds a jump host made from one ProxyJump entry: what the entry writes,
// then the hop's own ssh_config block (not its ProxyJump), then the inventory's
// defaults (defaults: and defaults.linux:).
func (r *sshCfgRun) newHop(f *sshConfigFile, hp hop, name, via, at string) {
	ch := r.src.jumpBase()
	h := Host{Name: name, Address: hp.host, Port: DefaultSSHPort, OS: "linux", Transport: "ssh", SSH: resolveSSH(ch)}
	h.SSH.Via = via
	if via != "" {
		h.SSH.Origins = map[string]string{"via": at}
	}
	// The hop's own block, as for any host, but what the ProxyJump entry writes
	// wins and the hop's own ProxyJump is not followed.
	tmp := &layer{ssh: rawSSH{configFile: val[string]{v: f.label, set: true}, via: val[string]{v: "-", set: true}}}
	hh := Host{Name: name, Address: hp.host, Port: DefaultSSHPort, SSH: SSH{User: hp.user}}
	if hp.user != "" {
		tmp.ssh.user = val[string]{v: hp.user, set: true}
	}
	if hp.port != 0 {
		hh.Port = hp.port
	}
	if p := r.apply(&hh, []*layer{tmp}, "jump_hosts", true, hp.port != 0); p.Line > 0 && strings.ContainsAny(hh.Address, " \t\r\n[]/,") {
		r.d.failAt(p, "ssh.via", name, fmt.Sprintf("ssh_config HostName gives the invalid address %q", hh.Address), "fix the HostName line")
	}
	h.Address, h.Port = hh.Address, hh.Port
	if hp.user != "" {
		h.SSH.User = hp.user
	}
	for k, o := range hh.SSH.Origins {
		if h.SSH.Origins == nil {
			h.SSH.Origins = map[string]string{}
		}
		h.SSH.Origins[k] = o
		switch k {
		case "user":
			h.SSH.User = hh.SSH.User
		case "identity_file":
			h.SSH.IdentityFile = hh.SSH.IdentityFile
		}
	}
	r.names[name] = len(r.inv.JumpHosts)
	r.inv.JumpHosts = append(r.inv.JumpHosts, h)
	r.src.jumps = append(r.src.jumps, &rawJump{name: name, pos: originPos(f, at), synth: true})
}
