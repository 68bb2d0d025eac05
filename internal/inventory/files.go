package inventory

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// CheckFiles checks, for the selected hosts, that the local files a run would
// read exist and are readable: ssh.identity_file, winrm.ca_file, winrm.cert_file
// and winrm.key_file; and, for host_key_policy strict, that ssh.known_hosts
// exists and has an entry for each host (as Address:Port, the name the SSH
// transport looks the host up by). home replaces a leading "~/" ("" means the
// user's home directory). It reads files but never a secret: identity files are
// opened, not parsed.
//
// A problem shared by many hosts is one finding naming the count and a few hosts.
func CheckFiles(inv *Inventory, hosts []*Host, home string) []Finding {
	// The jump hosts (not fleet members) the hosts go through read files too.
	if js := inv.jumpsOf(hosts); len(js) > 0 {
		hosts = append([]*Host(nil), hosts...)
		for _, w := range js {
			hosts = append(hosts, w.h)
		}
	}
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	expand := func(p string) string {
		if rest, ok := strings.CutPrefix(p, "~/"); ok && home != "" {
			return filepath.Join(home, rest)
		}
		return p
	}
	type use struct {
		code, key, path string
		pos             Pos
		hosts           []string
	}
	var order []*use
	byKey := map[string]*use{}
	note := func(code, key, path string, p Pos, host string) {
		if path == "" {
			return
		}
		k := key + "\x00" + path
		u := byKey[k]
		if u == nil {
			u = &use{code: code, key: key, path: path, pos: p}
			byKey[k] = u
			order = append(order, u)
		}
		u.hosts = append(u.hosts, host)
	}
	// known_hosts files of strict hosts, and the hosts to find in each.
	type khUse struct {
		path  string
		pos   Pos
		hosts []*Host
	}
	var khOrder []*khUse
	khByPath := map[string]*khUse{}
	for _, h := range hosts {
		w := inv.where(h)
		switch h.Transport {
		case "ssh":
			s := h.SSH
			note(CodeSSHLogin, "ssh.identity_file", s.IdentityFile, posOf(w, func(l *layer) *val[string] { return &l.ssh.identityFile }), h.Name)
			if s.HostKeyPolicy == "strict" || s.HostKeyPolicy == "" {
				kh := s.KnownHosts
				if kh == "" {
					kh = DefaultKnownHosts
				}
				u := khByPath[kh]
				if u == nil {
					u = &khUse{path: kh, pos: posOf(w, func(l *layer) *val[string] { return &l.ssh.knownHosts })}
					if !pick(w.ch, func(l *layer) *val[string] { return &l.ssh.knownHosts }).set {
						u.pos = posOf(w, func(l *layer) *val[string] { return &l.ssh.hostKeyPolicy })
					}
					khByPath[kh] = u
					khOrder = append(khOrder, u)
				}
				u.hosts = append(u.hosts, h)
			}
		case "winrm":
			x := h.WinRM
			wp := func(get func(*rawWinRM) *val[string]) Pos {
				return posOf(w, func(l *layer) *val[string] { return get(&l.winrm) })
			}
			note(CodeWinRMLogin, "winrm.ca_file", x.CAFile, wp(func(r *rawWinRM) *val[string] { return &r.caFile }), h.Name)
			if x.Auth == "cert" {
				note(CodeWinRMLogin, "winrm.cert_file", x.CertFile, wp(func(r *rawWinRM) *val[string] { return &r.certFile }), h.Name)
				note(CodeWinRMLogin, "winrm.key_file", x.KeyFile, wp(func(r *rawWinRM) *val[string] { return &r.keyFile }), h.Name)
			}
		}
	}
	var out []Finding
	add := func(p Pos, code string, hs []string, msg string) {
		f := Finding{Pos: p, Code: code, Message: msg}
		if len(hs) == 1 {
			f.Host = hs[0]
		}
		out = append(out, f)
	}
	for _, u := range order {
		if problem := unreadable(expand(u.path)); problem != "" {
			fix := fileFix[u.key]
			add(u.pos, u.code, u.hosts, fmt.Sprintf("%s %s %s; used by %s; fix: %s", u.key, u.path, problem, hostList(u.hosts), fix))
		}
	}
	for _, u := range khOrder {
		names := make([]string, len(u.hosts))
		for i, h := range u.hosts {
			names[i] = h.Name
		}
		file := expand(u.path)
		keyscan := keyscanFix(u.hosts, u.path)
		if problem := unreadable(file); problem != "" {
			add(u.pos, CodeSSHLogin, names, fmt.Sprintf("host_key_policy strict needs known_hosts %s, which %s; used by %s; fix: %s, "+
				"or set host_key_policy: accept-new to learn each key on first connect", u.path, problem, hostList(names), keyscan))
			continue
		}
		missing, caLines, err := unknownHosts(file, u.hosts)
		if err != nil {
			add(u.pos, CodeSSHLogin, names, fmt.Sprintf("known_hosts %s cannot be read: %v; used by %s; fix: repair or replace the file (ssh-keygen -F HOST shows what it holds)",
				u.path, err, hostList(names)))
			continue
		}
		if len(missing) == 0 {
			continue
		}
		mnames := make([]string, len(missing))
		for i, h := range missing {
			mnames[i] = h.Name
		}
		empty := ""
		if st, err := os.Stat(file); err == nil && st.Size() == 0 {
			empty = " (the file is empty)"
		}
		f := Finding{Pos: u.pos, Code: CodeSSHLogin,
			Message: fmt.Sprintf("host_key_policy strict and known_hosts %s%s has no key for %s, so the connection would be refused; fix: %s, "+
				"or set host_key_policy: accept-new to learn each key on first connect", u.path, empty, hostList(mnames), keyscanFix(missing, u.path))}
		if len(missing) == 1 {
			f.Host = missing[0].Name
		}
		if caLines {
			// A @cert-authority line may vouch for these hosts; arcfleet cannot tell
			// without the host's certificate, so it only warns.
			f.Warning = true
			f.Message += " (the file has @cert-authority lines: if they cover these hosts, ignore this)"
		}
		out = append(out, f)
	}
	return out
}

var fileFix = map[string]string{
	"ssh.identity_file": "point ssh.identity_file at the private key (relative paths are relative to the inventory), readable by this user",
	"winrm.ca_file":     "point winrm.ca_file at the PEM of the CA that signed the hosts' WinRM certificates",
	"winrm.cert_file":   "point winrm.cert_file at the PEM client certificate mapped to a Windows user",
	"winrm.key_file":    "point winrm.key_file at the PEM private key of winrm.cert_file, readable by this user",
}

// unreadable says what is wrong with a file a run must read, "" when nothing.
func unreadable(path string) string {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "does not exist"
	case errors.Is(err, fs.ErrPermission):
		return "cannot be read by this user (permission denied)"
	case err != nil:
		return "cannot be read: " + unwrapPathErr(err)
	case st.IsDir():
		return "is a directory, not a file"
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return "cannot be read by this user (permission denied)"
		}
		return "cannot be read: " + unwrapPathErr(err)
	}
	f.Close()
	return ""
}

// probeKey is a fixed public key no host has: asking known_hosts about it tells
// whether the host is listed (a KeyError with Want) or not (without).
var probeKey = func() ssh.PublicKey {
	k, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public())
	if err != nil {
		panic(err)
	}
	return k
}()

// unknownHosts lists the hosts file has no plain key line for, looked up as
// Address:Port; caLines reports whether the file has @cert-authority lines.
func unknownHosts(file string, hosts []*Host) (missing []*Host, caLines bool, err error) {
	cb, err := knownhosts.New(file)
	if err != nil {
		return nil, false, err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, false, err
	}
	caLines = strings.Contains(string(data), "@cert-authority")
	for _, h := range hosts {
		port := h.Port
		if port <= 0 {
			port = DefaultSSHPort
		}
		hostport := net.JoinHostPort(h.Address, strconv.Itoa(port))
		err := cb(hostport, &net.TCPAddr{IP: net.IPv4zero, Port: port}, probeKey)
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case errors.As(err, &ke) && len(ke.Want) > 0, errors.As(err, &re):
			// listed (a revoked probe key cannot happen; listed either way)
		default:
			missing = append(missing, h)
		}
	}
	return missing, caLines, nil
}

// keyscanFix is the ssh-keyscan line that fetches the hosts' keys, one port at
// a time (ssh-keyscan's -p applies to every address), at most a few addresses shown.
func keyscanFix(hosts []*Host, file string) string {
	byPort := map[int][]string{}
	for _, h := range hosts {
		p := h.Port
		if p <= 0 {
			p = DefaultSSHPort
		}
		byPort[p] = append(byPort[p], h.Address)
	}
	ports := make([]int, 0, len(byPort))
	for p := range byPort {
		ports = append(ports, p)
	}
	sort.Ints(ports)
	var cmds []string
	for _, p := range ports {
		addrs := byPort[p]
		more := ""
		if len(addrs) > 3 {
			more = fmt.Sprintf(" ... (%d addresses)", len(addrs))
			addrs = addrs[:3]
		}
		port := ""
		if p != DefaultSSHPort {
			port = fmt.Sprintf("-p %d ", p)
		}
		cmds = append(cmds, fmt.Sprintf("`ssh-keyscan %s%s%s >> %s`", port, strings.Join(addrs, " "), more, file))
	}
	return "add the hosts' keys, checking each fingerprint out of band (ssh-keygen -lf): " + strings.Join(cmds, " and ")
}
