package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// Defaults for settings nobody wrote down.
const (
	DefaultSSHPort       = 22
	DefaultWinRMPort     = 5986 // HTTPS
	DefaultWinRMHTTPPort = 5985
	DefaultKnownHosts    = "~/.ssh/known_hosts"
	DefaultHostKeyPolicy = "strict"
	DefaultWinRMAuth     = "ntlm" // Windows enables Negotiate, not Basic, out of the box
)

// chain is the host's layers from weakest to strongest:
// defaults < defaults.<os> < groups in the host's order < the host itself.
func (s *source) chain(rh *rawHost, os string) []*layer {
	ch := make([]*layer, 0, 3+len(rh.groups))
	ch = append(ch, &s.base)
	if l := s.perOS[os]; l != nil {
		ch = append(ch, l)
	}
	for _, g := range rh.groups {
		if l := s.groups[g.v]; l != nil {
			ch = append(ch, l)
		}
	}
	return append(ch, &rh.layer)
}

// hostOS is the host's os:, else the last of its groups that sets one, else linux.
func (s *source) hostOS(rh *rawHost) val[string] {
	if rh.os.set {
		return rh.os
	}
	for i := len(rh.groups) - 1; i >= 0; i-- {
		if l := s.groups[rh.groups[i].v]; l != nil && l.os.set {
			return l.os
		}
	}
	return val[string]{v: "linux"}
}

// pick returns the strongest layer's setting.
func pick[T any](ch []*layer, get func(*layer) *val[T]) val[T] {
	for i := len(ch) - 1; i >= 0; i-- {
		if v := get(ch[i]); v.set {
			return *v
		}
	}
	return val[T]{}
}

func resolve(d *dec, inv *Inventory, src *source) {
	inv.Hosts = make([]Host, len(src.hosts))
	type addrKey struct {
		addr string
		port int
	}
	byAddr := make(map[addrKey]int, len(src.hosts))
	cfg := &sshCfgRun{files: sshConfigs{}, d: d, src: src, inv: inv, names: map[string]int{}}
	resolveJumps(d, inv, src, cfg)
	for i, rh := range src.hosts {
		if d.c.full {
			return
		}
		h := &inv.Hosts[i]
		h.Name, h.Pos = rh.name.v, rh.pos
		seen := make(map[string]bool, len(rh.groups))
		for _, g := range rh.groups {
			switch {
			case src.groups[g.v] == nil:
				fix := "define it under groups: or remove it from this host"
				if s := closest(g.v, src.order); s != "" {
					fix = fmt.Sprintf("did you mean %q? (or define it under groups:)", s)
				}
				d.failAt(g.pos, rh.path+".groups", h.Name, fmt.Sprintf("unknown group %q", g.v), fix)
			case seen[g.v]:
				d.failAt(g.pos, rh.path+".groups", h.Name, fmt.Sprintf("group %q is listed twice", g.v), "list each group once")
			}
			seen[g.v] = true
			h.Groups = append(h.Groups, g.v)
		}
		osv := src.hostOS(rh)
		h.OS = osv.v
		ch := src.chain(rh, h.OS)

		tr := pick(ch, func(l *layer) *val[string] { return &l.transport })
		h.Transport = tr.v
		if !tr.set {
			h.Transport = map[string]string{"linux": "ssh", "windows": "winrm"}[h.OS]
		}
		if h.OS == "linux" && h.Transport == "winrm" {
			d.failAt(tr.pos, rh.path+".transport", h.Name, "WinRM is for Windows hosts; this host is linux",
				"use transport: ssh, or set os: windows if it is a Windows host")
		}

		cred := pick(ch, func(l *layer) *val[string] { return &l.credential })
		h.Credential = cred.v
		if cred.set {
			if _, ok := src.creds[cred.v]; !ok {
				fix := "define it under credentials:"
				if s := closest(cred.v, sortedKeys(src.creds)); s != "" {
					fix = fmt.Sprintf("did you mean %q? (or define it under credentials:)", s)
				}
				d.failAt(cred.pos, rh.path+".credential", h.Name, fmt.Sprintf("unknown credential %q", cred.v), fix)
			}
		}

		resolveAzure(ch, h)
		if h.Azure.TenantID == "" {
			if c, ok := src.creds[h.Credential]; ok {
				h.Azure.TenantID = c.tenantID.v
			}
		}
		switch {
		case rh.resourceName.set:
			h.ResourceName = rh.resourceName.v
		case h.Azure.ResourceNameTemplate != "":
			short, _, _ := strings.Cut(h.Name, ".")
			h.ResourceName = strings.NewReplacer("{name}", h.Name, "{short}", short).Replace(h.Azure.ResourceNameTemplate)
		}

		switch h.Transport {
		case "ssh":
			h.SSH = resolveSSH(ch)
		case "winrm":
			h.WinRM = resolveWinRM(ch)
			if !h.WinRM.HTTPS && !h.WinRM.AllowHTTP {
				p := pick(ch, func(l *layer) *val[bool] { return &l.winrm.https }).pos
				d.failAt(p, rh.path+".winrm.https", h.Name, "https: false sends WinRM traffic in plain HTTP",
					"keep HTTPS (5986), or opt in explicitly with `allow_http: true` next to `https: false`")
			}
			if v := pick(ch, func(l *layer) *val[string] { return &l.ssh.via }); v.set {
				d.failAt(v.pos, rh.path+".ssh.via", h.Name, "ssh.via (jump host) works only for SSH hosts", "remove via: for WinRM hosts")
			}
		}
		h.Agent = Agent{
			Path: pick(ch, func(l *layer) *val[string] { return &l.agent.path }).v,
			Log:  pick(ch, func(l *layer) *val[string] { return &l.agent.log }).v,
			// install and upgrade (internal/agent/install.go)
			Install:    pick(ch, func(l *layer) *val[bool] { return &l.agent.install }).v,
			MinVersion: pick(ch, func(l *layer) *val[string] { return &l.agent.minVersion }).v,
			Package: AgentPackage{
				Deb: pick(ch, func(l *layer) *val[string] { return &l.agent.pkgDeb }).v,
				RPM: pick(ch, func(l *layer) *val[string] { return &l.agent.pkgRPM }).v,
				MSI: pick(ch, func(l *layer) *val[string] { return &l.agent.pkgMSI }).v,
			},
		}
		h.AgentConfig = resolveAgentConfig(ch) // agentconfig.go
		applySQLOptOut(d, ch, h, rh.path)

		port := pick(ch, func(l *layer) *val[int] { return &l.port })
		h.Port = port.v
		if !port.set {
			switch {
			case h.Transport == "ssh":
				h.Port = DefaultSSHPort
			case h.WinRM.HTTPS:
				h.Port = DefaultWinRMPort
			default:
				h.Port = DefaultWinRMHTTPPort
			}
		}

		h.Address = rh.address.v
		apos := rh.address.pos
		if !rh.address.set {
			h.Address, apos = h.Name, rh.name.pos
		}
		if h.Transport == "ssh" { // ssh_config fills what the inventory leaves unset
			if p := cfg.apply(h, ch, rh.path, !rh.address.set, port.set); p.Line > 0 {
				apos = p
			}
		}
		switch {
		case h.Address == "":
			d.failAt(apos, rh.path+".address", h.Name, "empty address", "give a DNS name or IP address, or remove address: to use the host name")
		case strings.ContainsAny(h.Address, " \t\r\n[]/,"):
			d.failAt(apos, rh.path+".address", h.Name, fmt.Sprintf("invalid address %q", h.Address),
				"give a DNS name or IP address without spaces, brackets, scheme or port (use port: for the port)")
		default:
			k := addrKey{strings.ToLower(h.Address), h.Port}
			if j, dup := byAddr[k]; dup {
				d.failAt(apos, rh.path+".address", h.Name, fmt.Sprintf("same address and port (%s:%d) as host %s (%s)", h.Address, h.Port, inv.Hosts[j].Name, inv.Hosts[j].Pos),
					"remove the duplicate entry, or give each a distinct address or port")
			} else {
				byAddr[k] = i
			}
		}
	}
	checkVia(d, inv, src)
}

func resolveAzure(ch []*layer, h *Host) {
	get := func(f func(a *rawAzure) *val[string]) string {
		return pick(ch, func(l *layer) *val[string] { return f(&l.azure) }).v
	}
	h.Azure = Azure{
		TenantID:                  get(func(a *rawAzure) *val[string] { return &a.tenantID }),
		SubscriptionID:            get(func(a *rawAzure) *val[string] { return &a.subscriptionID }),
		ResourceGroup:             get(func(a *rawAzure) *val[string] { return &a.resourceGroup }),
		Location:                  get(func(a *rawAzure) *val[string] { return &a.location }),
		Cloud:                     get(func(a *rawAzure) *val[string] { return &a.cloud }),
		CorrelationID:             get(func(a *rawAzure) *val[string] { return &a.correlationID }),
		PrivateLinkScope:          get(func(a *rawAzure) *val[string] { return &a.privateLinkScope }),
		ResourceNameTemplate:      get(func(a *rawAzure) *val[string] { return &a.nameTemplate }),
		AllowAzureLocalDisconnect: pick(ch, func(l *layer) *val[bool] { return &l.azure.allowAzureLocalDisconnect }).v,
	}
	n := 0
	for _, l := range ch {
		n += len(l.tags)
	}
	if n > 0 {
		h.Azure.Tags = make(map[string]string, n)
		for _, l := range ch { // weakest first: the host wins
			for _, t := range l.tags {
				h.Azure.Tags[t.key] = t.value
			}
		}
	}
}

func resolveSSH(ch []*layer) SSH {
	str := func(f func(s *rawSSH) *val[string]) string {
		return pick(ch, func(l *layer) *val[string] { return f(&l.ssh) }).v
	}
	sec := func(f func(s *rawSSH) *val[SecretRef]) SecretRef {
		return pick(ch, func(l *layer) *val[SecretRef] { return f(&l.ssh) }).v
	}
	s := SSH{
		User:          str(func(s *rawSSH) *val[string] { return &s.user }),
		IdentityFile:  str(func(s *rawSSH) *val[string] { return &s.identityFile }),
		Passphrase:    sec(func(s *rawSSH) *val[SecretRef] { return &s.passphrase }),
		Password:      sec(func(s *rawSSH) *val[SecretRef] { return &s.password }),
		UseAgent:      pick(ch, func(l *layer) *val[bool] { return &l.ssh.useAgent }).v,
		KnownHosts:    str(func(s *rawSSH) *val[string] { return &s.knownHosts }),
		HostKeyPolicy: str(func(s *rawSSH) *val[string] { return &s.hostKeyPolicy }),
		Fingerprint:   str(func(s *rawSSH) *val[string] { return &s.fingerprint }),
		Become:        str(func(s *rawSSH) *val[string] { return &s.become }),
		Via:           str(func(s *rawSSH) *val[string] { return &s.via }),
	}
	if s.KnownHosts == "" {
		s.KnownHosts = DefaultKnownHosts
	}
	if s.HostKeyPolicy == "" {
		s.HostKeyPolicy = DefaultHostKeyPolicy
	}
	if s.Become == "none" {
		s.Become = ""
	}
	return s
}

func resolveWinRM(ch []*layer) WinRM {
	str := func(f func(w *rawWinRM) *val[string]) string {
		return pick(ch, func(l *layer) *val[string] { return f(&l.winrm) }).v
	}
	flag := func(f func(w *rawWinRM) *val[bool]) val[bool] {
		return pick(ch, func(l *layer) *val[bool] { return f(&l.winrm) })
	}
	https := flag(func(w *rawWinRM) *val[bool] { return &w.https })
	w := WinRM{
		User:          str(func(w *rawWinRM) *val[string] { return &w.user }),
		Password:      pick(ch, func(l *layer) *val[SecretRef] { return &l.winrm.password }).v,
		Auth:          str(func(w *rawWinRM) *val[string] { return &w.auth }),
		HTTPS:         https.v || !https.set,
		Insecure:      flag(func(w *rawWinRM) *val[bool] { return &w.insecure }).v,
		AllowHTTP:     flag(func(w *rawWinRM) *val[bool] { return &w.allowHTTP }).v,
		CAFile:        str(func(w *rawWinRM) *val[string] { return &w.caFile }),
		TLSServerName: str(func(w *rawWinRM) *val[string] { return &w.tlsServerName }),
		CertFile:      str(func(w *rawWinRM) *val[string] { return &w.certFile }),
		KeyFile:       str(func(w *rawWinRM) *val[string] { return &w.keyFile }),
	}
	if w.Auth == "" {
		w.Auth = DefaultWinRMAuth
	}
	return w
}

// digest is "sha256:" + hex of the canonical JSON of what apply would use.
// encoding/json sorts map keys and Pos fields are not serialised, so key order
// and layout in the file do not change it.
func digest(inv *Inventory) string {
	canon := struct {
		Version     int                   `json:"version"`
		Credentials map[string]Credential `json:"credentials"`
		Retry       Retry                 `json:"retry"`
		Hosts       []Host                `json:"hosts"`
		JumpHosts   []Host                `json:"jump_hosts,omitempty"`
	}{inv.Version, inv.Credentials, inv.Retry, inv.Hosts, inv.JumpHosts}
	b, _ := json.Marshal(canon) // plain structs, strings and maps: Marshal cannot fail
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Host returns the host named name, or nil.
func (inv *Inventory) Host(name string) *Host {
	if inv.src != nil && inv.src.index != nil {
		if i, ok := inv.src.index[name]; ok && i < len(inv.Hosts) && inv.Hosts[i].Name == name {
			return &inv.Hosts[i]
		}
	}
	for i := range inv.Hosts {
		if inv.Hosts[i].Name == name {
			return &inv.Hosts[i]
		}
	}
	return nil
}
