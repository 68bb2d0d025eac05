package ssh

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"sync"

	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/internal/transport/filecache"
	xssh "golang.org/x/crypto/ssh"
)

// An encrypted identity file costs a bcrypt key derivation to parse (about
// 0.1 s at OpenSSH's default rounds), and a run dials every host, redials and
// jump hops with the same file. keyCache parses each (file, passphrase) once
// and again only when the file changes (filecache), as for known_hosts.

// keyID names a parsed identity: its path and a salted SHA-256 of the
// passphrase, so the map never holds a passphrase in clear.
type keyID struct {
	path string
	pass [sha256.Size]byte
}

// keyCache holds the Dialer's parsed identity files. A failed parse (wrong
// passphrase, bad file) is not cached.
type keyCache struct {
	saltOnce sync.Once
	salt     [16]byte
	files    filecache.Map[keyID, *filecache.Cache[xssh.Signer]]
}

func (c *keyCache) file(path, passphrase string) *filecache.Cache[xssh.Signer] {
	c.saltOnce.Do(func() { _, _ = rand.Read(c.salt[:]) }) // never fails (crypto/rand panics instead)
	h := sha256.New()
	h.Write(c.salt[:])
	h.Write([]byte(passphrase))
	id := keyID{path: path}
	h.Sum(id.pass[:0])
	return c.files.Get(id, func() *filecache.Cache[xssh.Signer] {
		return filecache.New(func(data [][]byte) (xssh.Signer, error) {
			return parseIdentity(path, data[0], passphrase)
		}, path)
	})
}

// parseCount is the private-key parses done (tests count them).
func (c *keyCache) parseCount() int {
	n := 0
	for _, f := range c.files.All() {
		n += f.Parses()
	}
	return n
}

// signer returns the identity file's signer, parsing the file only when it
// is not cached or changed. Errors are *transport.Error without Host (the
// caller sets it) and never hold the passphrase.
func (c *keyCache) signer(path, passphrase string) (xssh.Signer, error) {
	s, err := c.file(path, passphrase).Get()
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) {
			return nil, err // from parseIdentity
		}
		return nil, (&transport.Error{Kind: transport.Config, Op: "auth", Err: transport.NewPhrase(transport.ErrKeyRead, err, err.Error())}).WithHint(transport.HintIdentityRead)
	}
	return s, nil
}

func parseIdentity(path string, data []byte, passphrase string) (xssh.Signer, error) {
	authErr := func(kind transport.Kind, err error, hint string) error {
		return (&transport.Error{Kind: kind, Op: "auth", Err: err}).WithHint(hint)
	}
	s, err := xssh.ParsePrivateKey(data)
	var pm *xssh.PassphraseMissingError
	if errors.As(err, &pm) {
		if passphrase == "" {
			return nil, authErr(transport.Config, transport.NewPhrase(transport.ErrKeyEncrypted, nil, path), transport.HintPassphraseUnset)
		}
		s, err = xssh.ParsePrivateKeyWithPassphrase(data, []byte(passphrase))
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, authErr(transport.AuthFailed, transport.NewPhrase(transport.ErrWrongPassphrase, nil, path), transport.HintPassphraseWrong)
		}
	}
	if err != nil {
		return nil, authErr(transport.Config, transport.NewPhrase(transport.ErrKeyParse, err, path, err.Error()), transport.HintKeyFormat)
	}
	return s, nil
}
