package inventory

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// CodeSSHConfig marks warnings about ssh_config lines arcfleet does not follow.
const CodeSSHConfig = "ARCF0011"

// rawJump is one jump host that is not a fleet member: a jump_hosts: entry, or a
// hop made from ssh_config's ProxyJump (synth).
type rawJump struct {
	layer
	name    string
	address val[string]
	pos     Pos
	synth   bool
}

const maskJump = kPort | kSSH

// jumpHosts reads `jump_hosts: {NAME: {address:, port:, ssh: {...}}}`.
func (d *dec) jumpHosts(n *yaml.Node, src *source) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		if n != nil {
			d.typeErr(n, "jump_hosts", "", "a mapping of jump host names", "write `jump_hosts: {bastion: {address: bastion.corp.example, ssh: {user: jump}}}`")
		}
		return
	}
	d.fields(n, "jump_hosts", "", nil, func(name string, k, v *yaml.Node) bool {
		p := join("jump_hosts", name)
		if !hostNameRE.MatchString(name) {
			d.fail(k, p, "", fmt.Sprintf("invalid jump host name %q", name), "use letters, digits, '.', '_' and '-'")
			return true
		}
		rj := &rawJump{name: name, pos: d.pos(k)}
		rj.path = p
		d.layerFields(v, p, name, maskJump, knownKeys(maskJump, "address"), &rj.layer, src.dir, func(key string, _, v *yaml.Node) bool {
			if key != "address" {
				return false
			}
			rj.address = d.str(v, p+".address", name)
			return true
		})
		src.jumps = append(src.jumps, rj)
		return true
	})
}

// jumpBase is the chain every jump host starts from: defaults < defaults.linux.
func (s *source) jumpBase() []*layer {
	ch := []*layer{&s.base}
	if l := s.perOS["linux"]; l != nil {
		ch = append(ch, l)
	}
	return ch
}

// jumpChain is rj's chain: defaults < defaults.linux < the entry.
func (s *source) jumpChain(rj *rawJump) []*layer {
	if rj.synth {
		return s.jumpBase()
	}
	return append(s.jumpBase(), &rj.layer)
}

// resolveJumps resolves the jump_hosts: entries (before the fleet's hosts, whose
// ProxyJump may name one) into inv.JumpHosts.
func resolveJumps(d *dec, inv *Inventory, src *source, cfg *sshCfgRun) {
	for _, rj := range src.jumps {
		if _, dup := src.index[rj.name]; dup {
			d.failAt(rj.pos, rj.path, rj.name, fmt.Sprintf("jump host %q has the name of a host under hosts:", rj.name),
				"rename it, or remove it from jump_hosts: and name the fleet host in via:")
			continue
		}
		ch := src.jumpChain(rj)
		h := Host{Name: rj.name, OS: "linux", Transport: "ssh", Pos: rj.pos, SSH: resolveSSH(ch)}
		port := pick(ch, func(l *layer) *val[int] { return &l.port })
		h.Port = port.v
		if !port.set {
			h.Port = DefaultSSHPort
		}
		h.Address = rj.address.v
		if !rj.address.set {
			h.Address = rj.name
		}
		if h.Address == "" || strings.ContainsAny(h.Address, " \t\r\n[]/,") {
			d.failAt(rj.address.pos, rj.path+".address", rj.name, fmt.Sprintf("invalid address %q", h.Address),
				"give a DNS name or IP address without spaces, brackets, scheme or port (use port: for the port)")
		}
		cfg.names[rj.name] = len(inv.JumpHosts)
		inv.JumpHosts = append(inv.JumpHosts, h)
	}
	// Entries that failed stay out of inv.JumpHosts; keep src.jumps aligned.
	kept := src.jumps[:0]
	for _, rj := range src.jumps {
		if _, ok := cfg.names[rj.name]; ok {
			kept = append(kept, rj)
		}
	}
	src.jumps = kept
	for i := range inv.JumpHosts {
		rj := src.jumps[i]
		ch := src.jumpChain(rj)
		portSet := pick(ch, func(l *layer) *val[int] { return &l.port }).set
		if p := cfg.apply(&inv.JumpHosts[i], ch, rj.path, !rj.address.set, portSet); p.Line > 0 {
			if a := inv.JumpHosts[i].Address; strings.ContainsAny(a, " \t\r\n[]/,") {
				d.failAt(p, rj.path+".address", rj.name, fmt.Sprintf("ssh_config HostName gives the invalid address %q", a), "fix the HostName line, or set address: in the entry")
			}
		}
	}
}

// atPos is the position an origin "FILE:LINE[ (Include)]" names.
func atPos(at string) Pos {
	s := strings.TrimSuffix(at, " (Include)")
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return Pos{File: s}
	}
	n, _ := strconv.Atoi(s[i+1:])
	return Pos{File: s[:i], Line: n, Col: 1}
}

// ViaHost returns the host an ssh.via names: a fleet host, else a jump host
// (jump_hosts: or a ProxyJump hop); nil when there is none.
func (inv *Inventory) ViaHost(name string) *Host {
	if h := inv.Host(name); h != nil {
		return h
	}
	for i := range inv.JumpHosts {
		if inv.JumpHosts[i].Name == name {
			return &inv.JumpHosts[i]
		}
	}
	return nil
}

// checkVia checks every jump host (fleet member or not) exists, is an SSH host,
// and that no chain loops or is longer than MaxJumpDepth.
func checkVia(d *dec, inv *Inventory, src *source) {
	nf := len(inv.Hosts)
	all := make([]*Host, 0, nf+len(inv.JumpHosts))
	for i := range inv.Hosts {
		all = append(all, &inv.Hosts[i])
	}
	for i := range inv.JumpHosts {
		all = append(all, &inv.JumpHosts[i])
	}
	idx := make(map[string]int, len(all))
	for i, h := range all {
		if _, dup := idx[h.Name]; !dup {
			idx[h.Name] = i
		}
	}
	// where the via of node k was written, and the path of its entry.
	viaAt := func(k int) (Pos, string) {
		if k < nf {
			h := &inv.Hosts[k]
			rh := src.hosts[k]
			v := pick(src.chain(rh, h.OS), func(l *layer) *val[string] { return &l.ssh.via })
			if !v.set {
				if at, ok := h.SSH.Origins["via"]; ok {
					return atPos(at), rh.path
				}
				return h.Pos, rh.path
			}
			return v.pos, rh.path
		}
		rj := src.jumps[k-nf]
		if v := pick(src.jumpChain(rj), func(l *layer) *val[string] { return &l.ssh.via }); v.set {
			return v.pos, rj.path
		}
		return rj.pos, "jump_hosts." + rj.name
	}
	names := make([]string, 0, len(idx))
	for n := range idx {
		names = append(names, n)
	}
	next := make([]int, len(all))
	for i, h := range all {
		next[i] = -1
		if d.c.full {
			return
		}
		if h.SSH.Via == "" {
			continue
		}
		vp, path := viaAt(i)
		j, ok := idx[h.SSH.Via]
		switch {
		case !ok:
			fix := "name a host listed under hosts: or jump_hosts:"
			if s := closest(h.SSH.Via, names); s != "" {
				fix = fmt.Sprintf("did you mean %q? (or add it under jump_hosts:)", s)
			}
			d.failAt(vp, path+".ssh.via", h.Name, fmt.Sprintf("unknown jump host %q", h.SSH.Via), fix)
		case j == i:
			d.failAt(vp, path+".ssh.via", h.Name, "a host cannot be its own jump host", "remove via: or name another host")
		case all[j].Transport != "ssh":
			d.failAt(vp, path+".ssh.via", h.Name, fmt.Sprintf("jump host %q is not an SSH host", h.SSH.Via), "name a host reached over SSH")
		default:
			next[i] = j
		}
	}
	// Loops, then depth; linear overall thanks to the marks.
	state := make([]uint8, len(all)) // 0 unvisited, 1 on the current path, 2 done
	for i := range all {
		var path []int
		for k := i; k >= 0 && state[k] == 0; k = next[k] {
			state[k] = 1
			path = append(path, k)
			if n := next[k]; n >= 0 && state[n] == 1 {
				start := 0
				for x, p := range path {
					if p == n {
						start = x
					}
				}
				var ns []string
				for _, p := range path[start:] {
					ns = append(ns, all[p].Name)
				}
				ns = append(ns, all[n].Name)
				vp, vpath := viaAt(k)
				d.failAt(vp, vpath+".ssh.via", all[k].Name, "jump hosts form a loop: "+strings.Join(ns, " -> "), "break the loop: one of these hosts must be reachable directly")
				next[k] = -1
				break
			}
		}
		for _, p := range path {
			state[p] = 2
		}
	}
	depth := make([]int, len(all))
	for i := range depth {
		depth[i] = -1
	}
	var depthOf func(k int) int
	depthOf = func(k int) int {
		if depth[k] >= 0 {
			return depth[k]
		}
		depth[k] = 0
		if next[k] >= 0 {
			depth[k] = 1 + depthOf(next[k])
		}
		return depth[k]
	}
	for i := range all {
		if n := depthOf(i); n > MaxJumpDepth && !d.c.full {
			vp, path := viaAt(i)
			d.failAt(vp, path+".ssh.via", all[i].Name, fmt.Sprintf("reached through %d jump hosts in a row, more than the %d arcfleet follows", n, MaxJumpDepth),
				"make one of the hosts on the chain reachable directly (remove its via:)")
		}
	}
}

// jumpsOf lists the jump hosts (not fleet members) the hosts are reached
// through, each once, with their chains for findings.
func (inv *Inventory) jumpsOf(hosts []*Host) []where {
	seen := map[string]bool{}
	var out []where
	for _, h := range hosts {
		for via, n := h.SSH.Via, 0; via != "" && n < MaxJumpDepth; n++ {
			if inv.Host(via) != nil || seen[via] {
				break
			}
			j := inv.ViaHost(via)
			if j == nil {
				break
			}
			seen[via] = true
			out = append(out, inv.where(j))
			via = j.SSH.Via
		}
	}
	return out
}
