package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"

	xssh "golang.org/x/crypto/ssh"
)

// NewSigner returns a fresh ed25519 key: cheap enough to give every test host its own.
func NewSigner() (xssh.Signer, ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	s, err := xssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, nil, err
	}
	return s, priv, nil
}

// WriteKey writes a new ed25519 private key in OpenSSH format to path (mode 0600),
// encrypted with passphrase when it is not empty, and returns its signer.
func WriteKey(path, passphrase string) (xssh.Signer, error) {
	s, priv, err := NewSigner()
	if err != nil {
		return nil, err
	}
	var blk *pem.Block
	if passphrase == "" {
		blk, err = xssh.MarshalPrivateKey(priv, "arcfleet-test")
	} else {
		blk, err = xssh.MarshalPrivateKeyWithPassphrase(priv, "arcfleet-test", []byte(passphrase))
	}
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(blk), 0o600); err != nil {
		return nil, err
	}
	return s, nil
}
