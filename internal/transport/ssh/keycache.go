package ssh

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/arcfleet/arcfleet/internal/transport"
	xssh "golang.org/x/crypto/ssh"
)

// An encrypted identity file costs a bcrypt key derivation to parse (about
// 0.1 s at OpenSSH's default rounds), and a run dials every host, redials and
// jump hops with the same file. keyCache parses each (file, passphrase) once
// and again only when the file changes, as khFile does for known_hosts.

// keyID names a parsed identity: its path and a salted SHA-256 of the
// passphrase, so the map never holds a passphrase in clear.
type keyID struct {
	path string
	pass [sha256.Size]byte
}

// keyFile is one cached identity. signer is set only after a successful
// parse: failures (wrong passphrase, bad file) are not cached. mu is held for
// the whole load, so parallel dials with the same key parse it once.
type keyFile struct {
	mu      sync.Mutex
	path    string
	signer  xssh.Signer
	stamp   fileStamp // of the content signer was parsed from
	trusted bool      // stamp was old enough when read: equal stamp, same content
	raw     []byte    // that content, kept while not trusted
}

// keyCache holds the Dialer's parsed identity files.
type keyCache struct {
	mu     sync.Mutex
	salt   [16]byte
	files  map[keyID]*keyFile
	parses int // private-key parses done (tests count them)
}

func (c *keyCache) file(path, passphrase string) *keyFile {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.files == nil {
		c.files = map[keyID]*keyFile{}
		_, _ = rand.Read(c.salt[:]) // never fails (crypto/rand panics instead)
	}
	h := sha256.New()
	h.Write(c.salt[:])
	h.Write([]byte(passphrase))
	id := keyID{path: path}
	h.Sum(id.pass[:0])
	f := c.files[id]
	if f == nil {
		f = &keyFile{path: path}
		c.files[id] = f
	}
	return f
}

func (c *keyCache) parsed() {
	c.mu.Lock()
	c.parses++
	c.mu.Unlock()
}

func (c *keyCache) parseCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.parses
}

// signer returns the identity file's signer, parsing the file only when it
// is not cached or changed. Errors are *transport.Error without Host (the
// caller sets it) and never hold the passphrase.
func (c *keyCache) signer(path, passphrase string) (xssh.Signer, error) {
	f := c.file(path, passphrase)
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	fi, err := os.Stat(path)
	if err != nil {
		f.signer, f.raw = nil, nil
		return nil, readKeyError(err)
	}
	st := stampOf(fi)
	same := f.signer != nil && st == f.stamp
	if same && f.trusted {
		return f.signer, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		f.signer, f.raw = nil, nil
		return nil, readKeyError(err)
	}
	if !same || !bytes.Equal(data, f.raw) {
		f.signer, f.raw = nil, nil
		c.parsed()
		s, err := parseIdentity(path, data, passphrase)
		if err != nil {
			return nil, err
		}
		f.signer = s
	}
	f.stamp, f.trusted, f.raw = st, now.Sub(st.changed()) > racyWindow, nil
	if !f.trusted {
		f.raw = data
	}
	return f.signer, nil
}

func readKeyError(err error) error {
	return &transport.Error{Kind: transport.Config, Op: "auth", Err: fmt.Errorf("read identity file: %w", err),
		Hint: "check ssh.identity_file and that arcfleet's user can read it"}
}

func parseIdentity(path string, data []byte, passphrase string) (xssh.Signer, error) {
	authErr := func(kind transport.Kind, err error, hint string) error {
		return &transport.Error{Kind: kind, Op: "auth", Err: err, Hint: hint}
	}
	s, err := xssh.ParsePrivateKey(data)
	var pm *xssh.PassphraseMissingError
	if errors.As(err, &pm) {
		if passphrase == "" {
			return nil, authErr(transport.Config, fmt.Errorf("identity file %s is encrypted and no passphrase is set", path), "set ssh.passphrase (env: or file: reference) or use ssh-agent (use_agent: true)")
		}
		s, err = xssh.ParsePrivateKeyWithPassphrase(data, []byte(passphrase))
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, authErr(transport.AuthFailed, fmt.Errorf("wrong passphrase for identity file %s", path), "check the secret that ssh.passphrase refers to")
		}
	}
	if err != nil {
		return nil, authErr(transport.Config, fmt.Errorf("identity file %s: %w", path, err), "it must be an OpenSSH or PEM private key")
	}
	return s, nil
}
