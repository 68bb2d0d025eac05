package executor

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
)

// TargetFor turns a resolved inventory host into the transport Target to dial:
// login secrets are resolved by reference through lookupEnv (or read from their
// file), and `ssh.via` becomes the Jump target, looked up by name with hosts
// (e.g. inventory.Inventory.Host, or p.HostLookup()). Errors name the host, the
// setting and the fix, never a secret value.
func TargetFor(h *inventory.Host, hosts func(name string) *inventory.Host, lookupEnv func(string) (string, bool)) (transport.Target, error) {
	return targetFor(h, hosts, lookupEnv, 0)
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
			t.Port = inventory.DefaultSSHPort
		}
		if t.Password, err = resolveSecret(results.M("who_host", h.Name), "ssh.password", s.Password, lookupEnv); err != nil {
			return transport.Target{}, err
		}
		if t.Passphrase, err = resolveSecret(results.M("who_host", h.Name), "ssh.passphrase", s.Passphrase, lookupEnv); err != nil {
			return transport.Target{}, err
		}
		if s.Via != "" {
			if depth >= inventory.MaxJumpDepth {
				return transport.Target{}, errorf(results.M("via_too_deep", h.Name, strconv.Itoa(inventory.MaxJumpDepth)))
			}
			var jh *inventory.Host
			if hosts != nil {
				jh = hosts(s.Via)
			}
			if jh == nil {
				return transport.Target{}, errorf(results.M("via_unknown", h.Name, strconv.Quote(s.Via)))
			}
			if jh.Name == h.Name {
				return transport.Target{}, errorf(results.M("via_self", h.Name))
			}
			jt, err := targetFor(jh, hosts, lookupEnv, depth+1)
			if err != nil {
				if se, ok := err.(*secretError); ok { // the jump host's secret: the same, said of this host
					m := results.M("jump_host_err", h.Name).With(se.msg)
					return transport.Target{}, &secretError{err: fmt.Errorf("host %s: jump host: %w", h.Name, err), msg: m}
				}
				return transport.Target{}, &msgError{m: results.M("jump_host_err", h.Name).With(errMsg(err)), err: err}
			}
			if jt.Protocol != "ssh" {
				return transport.Target{}, errorf(results.M("via_not_ssh", h.Name, strconv.Quote(s.Via), jt.Protocol))
			}
			t.Jump = &jt
		}
	case "winrm":
		w := h.WinRM
		t.User, t.HTTPS, t.Insecure = w.User, w.HTTPS, w.Insecure
		t.CAFile, t.TLSServerName, t.Auth = w.CAFile, w.TLSServerName, w.Auth
		t.CertFile, t.KeyFile = w.CertFile, w.KeyFile
		if t.Port == 0 {
			t.Port = inventory.DefaultWinRMPort
			if !w.HTTPS {
				t.Port = inventory.DefaultWinRMHTTPPort
			}
		}
		if t.Password, err = resolveSecret(results.M("who_host", h.Name), "winrm.password", w.Password, lookupEnv); err != nil {
			return transport.Target{}, err
		}
	default:
		return transport.Target{}, errorf(results.M("transport_unsupported", h.Name, strconv.Quote(h.Transport)))
	}
	return t, nil
}

// resolveSecret returns the value a reference points to ("" for no reference).
// Errors name who uses it and the reference, never the value.
// who says whose reference it is (who_host, who_credential).
func resolveSecret(who results.Msg, key string, ref inventory.SecretRef, lookupEnv func(string) (string, bool)) (string, error) {
	if ref.IsZero() {
		return "", nil
	}
	v, err := ref.Resolve(lookupEnv)
	if err != nil {
		fix := results.M("secret_fix_file")
		if ref.Env != "" {
			fix = results.M("secret_fix_env", ref.Env)
		}
		m := results.M("secret_unresolved", key, ref.String()).With(who, resolveMsg(err), fix)
		return "", &secretError{err: fmt.Errorf("%s: %s %s: %v; fix: %s", who.Text("en"), key, ref, err, fix.Text("en")), msg: m}
	}
	return v, nil
}

// secretError is a secret reference that does not resolve: the user can fix it
// (export the variable) and retry, unlike a wrong setting in the plan. msg
// says it for the report.
type secretError struct {
	err error
	msg results.Msg
}

func (e *secretError) Error() string { return e.err.Error() }
func (e *secretError) Unwrap() error { return e.err }

// isSecretError reports whether err (from TargetFor, say) is an unresolved secret reference.
func isSecretError(err error) bool {
	var se *secretError
	return errors.As(err, &se)
}
