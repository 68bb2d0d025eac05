package ssh

import (
	"cmp"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/internal/transport/filecache"
	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Host-key policies (Target.HostKeyPolicy).
const (
	PolicyStrict         = "strict"
	PolicyAcceptNew      = "accept-new"
	PolicyFingerprint    = "fingerprint"
	PolicyInsecureIgnore = "insecure-ignore"
)

// hostKeyCheck is the host-key verification of one dial. It remembers the key
// the server presented and why it was refused, because x/crypto only hands back
// a wrapped error string.
type hostKeyCheck struct {
	d      *Dialer
	t      transport.Target
	file   string  // known_hosts file ("" for fingerprint / insecure-ignore)
	kh     *khFile // the Dialer's cache of file
	algos  []string
	seen   xssh.PublicKey
	refuse *transport.Error
}

// newHostKeyCheck prepares the check for t, looking hostport (the name the host
// is known by) up in its known_hosts file when the policy needs one.
func (d *Dialer) newHostKeyCheck(t transport.Target, hostport string) (*hostKeyCheck, error) {
	hk := &hostKeyCheck{d: d, t: t}
	switch t.HostKeyPolicy {
	case "", PolicyStrict, PolicyAcceptNew:
		f, err := knownHostsPath(t.KnownHostsFile)
		if err != nil {
			return nil, err
		}
		hk.file, hk.kh = f, d.kh.file(f)
		known, err := hk.kh.known(hostport)
		if err != nil {
			return nil, err
		}
		hk.algos = hostKeyAlgorithms(known)
	case PolicyFingerprint:
		if !strings.HasPrefix(t.Fingerprint, "SHA256:") {
			return nil, fmt.Errorf("host_key_policy fingerprint needs a pinned fingerprint \"SHA256:...\" (as printed by `ssh-keygen -lf`), got %q", t.Fingerprint)
		}
	case PolicyInsecureIgnore:
	default:
		return nil, fmt.Errorf("unknown host_key_policy %q; use strict, accept-new, fingerprint or insecure-ignore", t.HostKeyPolicy)
	}
	return hk, nil
}

// callback is the ClientConfig.HostKeyCallback.
func (hk *hostKeyCheck) callback(hostname string, remote net.Addr, key xssh.PublicKey) error {
	hk.seen = key
	fp := xssh.FingerprintSHA256(key)
	switch hk.t.HostKeyPolicy {
	case PolicyInsecureIgnore:
		return nil
	case PolicyFingerprint:
		if subtle.ConstantTimeCompare([]byte(fp), []byte(hk.t.Fingerprint)) == 1 {
			return nil
		}
		hk.refuse = (&transport.Error{Kind: transport.HostKeyChanged, Host: hk.t.Name, Op: "host key",
			Err: transport.NewPhrase(transport.ErrPinnedMismatch, nil, key.Type(), fp, hk.t.Fingerprint)}).WithHint(transport.HintPinnedChanged)
		return hk.refuse
	}
	err := hk.verify(hostname, remote, key)
	var ke *knownhosts.KeyError
	if err == nil || !errors.As(err, &ke) || len(ke.Want) > 0 || hk.t.HostKeyPolicy != PolicyAcceptNew {
		hk.refuse = hk.classify(hostname, key, err)
		if hk.refuse != nil {
			return hk.refuse
		}
		return nil
	}
	// accept-new and the host is unknown: learn it, unless another dial (this
	// or another process) learned a different key meanwhile.
	err = hk.d.learn(hk.kh, hostname, remote, key)
	hk.refuse = hk.classify(hostname, key, err)
	if hk.refuse != nil {
		return hk.refuse
	}
	return nil
}

func (hk *hostKeyCheck) verify(hostname string, remote net.Addr, key xssh.PublicKey) error {
	return hk.kh.check(hostname, remote, key)
}

// classify turns a known_hosts verdict into the transport error a caller can act on.
func (hk *hostKeyCheck) classify(hostname string, key xssh.PublicKey, err error) *transport.Error {
	if err == nil {
		return nil
	}
	fp := xssh.FingerprintSHA256(key)
	host := knownhosts.Normalize(hostname)
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case errors.As(err, &re):
		return (&transport.Error{Kind: transport.HostKeyChanged, Host: hk.t.Name, Op: "host key",
			Err: transport.NewPhrase(transport.ErrKeyRevoked, nil, key.Type(), fp, re.Revoked.Filename, strconv.Itoa(re.Revoked.Line))}).WithHint(transport.HintKeyRevoked)
	case errors.As(err, &ke) && len(ke.Want) == 0:
		return (&transport.Error{Kind: transport.HostKeyUnknown, Host: hk.t.Name, Op: "host key",
			Err: transport.NewPhrase(transport.ErrKeyNotKnown, nil, host, hk.file, key.Type(), fp)}).WithHint(transport.HintKeyUnknown,
			key.Type(), strconv.Itoa(portOr22(hk.t.Port)), hk.t.Address, hk.file)
	case errors.As(err, &ke):
		w := ke.Want[0]
		return (&transport.Error{Kind: transport.HostKeyChanged, Host: hk.t.Name, Op: "host key",
			Err: transport.NewPhrase(transport.ErrKeyMismatch, nil,
				key.Type(), fp, w.Filename, strconv.Itoa(w.Line), w.Key.Type(), xssh.FingerprintSHA256(w.Key), host)}).WithHint(transport.HintKeyChanged,
			strconv.Itoa(w.Line), w.Filename, host, w.Filename)
	}
	return (&transport.Error{Kind: transport.HostKeyUnknown, Host: hk.t.Name, Op: "host key", Err: err}).WithHint(transport.HintKnownHostsCheck, hk.file)
}

// learn appends hostname's key to the file for accept-new. Appends are
// serialised in this process by the Dialer's mutex and across processes by
// flock on the file itself; under the lock the file is checked again (from the
// cache, which a change by someone else invalidates), so many parallel dials to
// one host write one line and a key learned meanwhile by someone else wins.
func (d *Dialer) learn(kh *khFile, hostname string, remote net.Addr, key xssh.PublicKey) error {
	d.khMu.Lock()
	defer d.khMu.Unlock()
	file := kh.path
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(file), err)
	}
	f, err := os.OpenFile(file, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open %s to learn the host key: %w", file, err)
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		return fmt.Errorf("lock %s: %w", file, err)
	}
	defer unlockFile(f) //nolint:errcheck // closing releases it too

	l := kh.cache.Lock()
	defer l.Unlock()
	db, err := kh.current(l)
	if err != nil {
		return err
	}
	err = db.callback(hostname, remote, key)
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) || len(ke.Want) > 0 {
		return err // known now (nil), or a different key was learned meanwhile
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", file, err)
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key)
	written := []byte(line + "\n")
	if fi.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, fi.Size()-1); err != nil {
			return fmt.Errorf("read %s: %w", file, err)
		}
		if last[0] != '\n' {
			written = append([]byte("\n"), written...)
		}
	}
	if _, err := f.Write(written); err != nil {
		l.Drop() // a partial line may be on file: read it again next time
		return fmt.Errorf("append host key to %s: %w", file, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("append host key to %s: %w", file, err)
	}
	after, err := f.Stat()
	if err != nil {
		l.Drop()
		return nil
	}
	// The db takes the line as the next line of the file (a newline written
	// before it ends the previous last line, which the db has counted).
	l.Appended(filecache.StampOf(fi), filecache.StampOf(after), written, func(db *khDB) { db.add([]byte(line)) })
	return nil
}

// hostKeyAlgorithms limits the server's host-key algorithms to the types on
// file for that host: x/crypto otherwise prefers ECDSA/RSA, and a host with
// several key types but only an ed25519 entry fails as "changed" (golang/go#29286).
func hostKeyAlgorithms(known []knownhosts.KnownKey) []string {
	var algos []string
	add := func(a ...string) {
		for _, x := range a {
			if !slices.Contains(algos, x) {
				algos = append(algos, x)
			}
		}
	}
	for _, k := range known {
		switch t := k.Key.Type(); t {
		case xssh.KeyAlgoRSA:
			add(xssh.KeyAlgoRSASHA512, xssh.KeyAlgoRSASHA256, xssh.KeyAlgoRSA)
		default:
			add(t)
		}
	}
	return algos
}

func portOr22(p int) int { return cmp.Or(p, 22) }
