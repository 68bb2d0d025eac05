package planner

import (
	"fmt"
	"os"
	"strings"

	"github.com/arcfleet/arcfleet/inventory"
	"github.com/arcfleet/arcfleet/transport"
)

// maxJumpDepth bounds `via:` chains (and catches loops).
const maxJumpDepth = 4

// TargetFor turns a resolved inventory host into the transport Target to dial:
// login secrets are resolved by reference through lookupEnv (or read from their
// file), and `ssh.via` becomes the Jump target, looked up by name with hosts
// (e.g. inventory.Inventory.Host, or PlanHosts(p)). Errors name the host, the
// setting and the fix, never a secret value.
func TargetFor(h *inventory.Host, hosts func(name string) *inventory.Host, lookupEnv func(string) (string, bool)) (transport.Target, error) {
	return targetFor(h, hosts, lookupEnv, 0)
}

// PlanHosts returns a lookup of the plan's hosts by name, for TargetFor.
func PlanHosts(p *Plan) func(name string) *inventory.Host {
	idx := make(map[string]int, len(p.Hosts))
	for i := range p.Hosts {
		idx[p.Hosts[i].Host.Name] = i
	}
	return func(name string) *inventory.Host {
		if i, ok := idx[name]; ok {
			return &p.Hosts[i].Host
		}
		return nil
	}
}

func targetFor(h *inventory.Host, hosts func(string) *inventory.Host, lookupEnv func(string) (string, bool), depth int) (transport.Target, error) {
	t := transport.Target{Name: h.Name, Address: h.Address, Port: h.Port, Protocol: h.Transport}
	if t.Protocol == "" {
		t.Protocol = "ssh"
		if h.OS == "windows" {
			t.Protocol = "winrm"
		}
	}
	var err error
	switch t.Protocol {
	case "ssh":
		s := h.SSH
		t.User, t.IdentityFile, t.UseAgent = s.User, s.IdentityFile, s.UseAgent
		t.KnownHostsFile, t.HostKeyPolicy, t.Fingerprint = s.KnownHosts, s.HostKeyPolicy, s.Fingerprint
		if t.Port == 0 {
			t.Port = 22
		}
		if t.Password, err = resolveSecret("host "+h.Name, "ssh.password", s.Password, lookupEnv); err != nil {
			return transport.Target{}, err
		}
		if t.Passphrase, err = resolveSecret("host "+h.Name, "ssh.passphrase", s.Passphrase, lookupEnv); err != nil {
			return transport.Target{}, err
		}
		if s.Via != "" {
			if depth >= maxJumpDepth {
				return transport.Target{}, fmt.Errorf("host %s: ssh.via: more than %d jump hosts in a row (a loop?); fix: shorten the via chain", h.Name, maxJumpDepth)
			}
			var jh *inventory.Host
			if hosts != nil {
				jh = hosts(s.Via)
			}
			if jh == nil {
				return transport.Target{}, fmt.Errorf("host %s: ssh.via %q: no such host in the inventory or plan; fix: add it to the inventory (and to the plan's --limit)", h.Name, s.Via)
			}
			if jh.Name == h.Name {
				return transport.Target{}, fmt.Errorf("host %s: ssh.via names the host itself; fix: name a different jump host", h.Name)
			}
			jt, err := targetFor(jh, hosts, lookupEnv, depth+1)
			if err != nil {
				return transport.Target{}, fmt.Errorf("host %s: jump host: %w", h.Name, err)
			}
			if jt.Protocol != "ssh" {
				return transport.Target{}, fmt.Errorf("host %s: ssh.via %q is reached over %s; fix: a jump host must use ssh", h.Name, s.Via, jt.Protocol)
			}
			t.Jump = &jt
		}
	case "winrm":
		w := h.WinRM
		t.User, t.HTTPS, t.Insecure = w.User, w.HTTPS, w.Insecure
		t.CAFile, t.TLSServerName, t.Auth = w.CAFile, w.TLSServerName, w.Auth
		t.CertFile, t.KeyFile = w.CertFile, w.KeyFile
		if t.Port == 0 {
			t.Port = 5986
			if !w.HTTPS {
				t.Port = 5985
			}
		}
		if t.Password, err = resolveSecret("host "+h.Name, "winrm.password", w.Password, lookupEnv); err != nil {
			return transport.Target{}, err
		}
	default:
		return transport.Target{}, fmt.Errorf("host %s: transport %q is not supported; fix: use ssh or winrm", h.Name, h.Transport)
	}
	return t, nil
}

// resolveSecret returns the value a reference points to ("" for no reference).
// Errors name the reference, never the value.
func resolveSecret(who, key string, ref inventory.SecretRef, lookupEnv func(string) (string, bool)) (string, error) {
	switch {
	case ref.Env != "":
		if lookupEnv == nil {
			lookupEnv = os.LookupEnv
		}
		v, ok := lookupEnv(ref.Env)
		if !ok || v == "" {
			return "", fmt.Errorf("%s: %s %s: the environment variable is not set or empty; fix: export %s before running arcfleet", who, key, ref, ref.Env)
		}
		return v, nil
	case ref.File != "":
		b, err := os.ReadFile(ref.File)
		if err != nil {
			return "", fmt.Errorf("%s: %s %s: cannot read the file (%v); fix: make it readable by the user running arcfleet", who, key, ref, pathErrCause(err))
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("%s: %s %s: the file is empty; fix: put the secret in it", who, key, ref)
		}
		return v, nil
	}
	return "", nil
}

// pathErrCause strips the path from an *os.PathError (the caller names it already).
func pathErrCause(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
