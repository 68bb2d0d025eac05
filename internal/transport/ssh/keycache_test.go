package ssh

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
	xssh "golang.org/x/crypto/ssh"
)

// keyPassSentinel is the passphrase of the test keys: no error may contain it.
const keyPassSentinel = "SENTINEL-keypass-4b1e"

// keyServer starts a server (also a jump host) that accepts the given keys.
func keyServer(t testing.TB, keys ...xssh.Signer) (*sshtest.Server, transport.Target) {
	t.Helper()
	var pubs []xssh.PublicKey
	for _, k := range keys {
		pubs = append(pubs, k.PublicKey())
	}
	srv, err := sshtest.NewServer(sshtest.ServerConfig{AuthorizedKeys: pubs, AllowForwarding: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, transport.Target{Name: "h", Address: srv.Host(), Port: srv.Port(), Protocol: "ssh", User: "u",
		HostKeyPolicy: PolicyInsecureIgnore, HandshakeTimeout: 10 * time.Second}
}

func writeKey(t testing.TB, path, pass string) xssh.Signer {
	t.Helper()
	s, err := sshtest.WriteKey(path, pass)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tryDial dials tg and closes the connection; it fails t when an error
// names the passphrase.
func tryDial(t *testing.T, d *Dialer, tg transport.Target) error {
	t.Helper()
	c, err := d.Dial(context.Background(), tg)
	if err != nil {
		if tg.Passphrase != "" && strings.Contains(err.Error(), tg.Passphrase) {
			t.Fatalf("error leaks the passphrase: %v", err)
		}
		return err
	}
	return c.Close()
}

func wantKind(t *testing.T, err error, want transport.Kind) {
	t.Helper()
	if got := transport.KindOf(err); got != want {
		t.Fatalf("error kind %q (%v), want %q", got, err, want)
	}
}

// TestKeyParsedOnce: dials (sequential, parallel, and through a jump host
// using the same key) decrypt an encrypted identity file once per Dialer.
func TestKeyParsedOnce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "id")
	k := writeKey(t, path, keyPassSentinel)
	_, tg := keyServer(t, k)
	tg.IdentityFile, tg.Passphrase = path, keyPassSentinel

	d := &Dialer{}
	for i := range 5 {
		if err := tryDial(t, d, tg); err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- tryDial(t, d, tg) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	jt := tg
	jt.Name = "via"
	jump := tg
	jt.Jump = &jump
	if err := tryDial(t, d, jt); err != nil {
		t.Fatalf("dial via jump host: %v", err)
	}
	if n := d.keys.parseCount(); n != 1 {
		t.Fatalf("identity file parsed %d times for 15 dials, want 1", n)
	}
	// Another Dialer has its own cache.
	d2 := &Dialer{}
	if err := tryDial(t, d2, tg); err != nil {
		t.Fatal(err)
	}
	if n := d2.keys.parseCount(); n != 1 {
		t.Fatalf("new Dialer parsed %d times, want 1", n)
	}
}

// TestKeyFileChanged: a rewritten identity file (same path, same size, maybe
// the same timestamp tick) is used on the next dial; a removed one fails.
// Unencrypted keys: bcrypt under -race is slow, and change detection does not
// depend on the key format.
func TestKeyFileChanged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "id")
	a := writeKey(t, path, "")
	b := writeKey(t, filepath.Join(dir, "b"), "")
	_, tg := keyServer(t, a, b)
	tg.IdentityFile = path
	d := &Dialer{}

	steps := []struct {
		name  string
		write func() // nil: leave the file as it is
		want  transport.Kind
		parse int // parses so far
	}{
		{"authorized key a", nil, "", 1},
		{"again", nil, "", 1},
		{"replaced by unauthorized key", func() { writeKey(t, path, "") }, transport.AuthFailed, 2},
		{"replaced by authorized key b", func() { copyFile(t, filepath.Join(dir, "b"), path) }, "", 3},
		{"b again", nil, "", 3},
		{"removed", func() { os.Remove(path) }, transport.Config, 3},
		{"back", func() { copyFile(t, filepath.Join(dir, "b"), path) }, "", 4},
	}
	for _, s := range steps {
		if s.write != nil {
			s.write()
		}
		err := tryDial(t, d, tg)
		if s.want == "" && err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if s.want != "" {
			wantKind(t, err, s.want)
		}
		if n := d.keys.parseCount(); n != s.parse {
			t.Fatalf("%s: %d parses, want %d", s.name, n, s.parse)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestKeyPassphrases: a wrong passphrase is never cached as a success, and
// the right one works after it; errors never hold either passphrase.
func TestKeyPassphrases(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "id")
	k := writeKey(t, path, keyPassSentinel)
	_, tg := keyServer(t, k)
	tg.IdentityFile = path
	d := &Dialer{}
	const wrong = "SENTINEL-wrongpass-91c2"
	for _, s := range []struct {
		pass  string
		want  transport.Kind
		parse int
	}{
		{wrong, transport.AuthFailed, 1},
		{keyPassSentinel, "", 2},
		{wrong, transport.AuthFailed, 3}, // parsed again: failures are not cached
		{keyPassSentinel, "", 3},
		{"", transport.Config, 4},
		{keyPassSentinel, "", 4},
	} {
		tg.Passphrase = s.pass
		err := tryDial(t, d, tg)
		if s.want == "" && err != nil {
			t.Fatalf("passphrase %d chars: %v", len(s.pass), err)
		}
		if s.want != "" {
			wantKind(t, err, s.want)
			if strings.Contains(err.Error(), keyPassSentinel) || strings.Contains(err.Error(), wrong) {
				t.Fatalf("error leaks a passphrase: %v", err)
			}
			var te *transport.Error
			if !asTE(err, &te) || te.Host != "h" {
				t.Fatalf("error does not name the host: %v", err)
			}
		}
		if n := d.keys.parseCount(); n != s.parse {
			t.Fatalf("passphrase %d chars: %d parses, want %d", len(s.pass), n, s.parse)
		}
	}
	// The cache's keys hold no passphrase.
	for id := range d.keys.files.All() {
		if strings.Contains(fmt.Sprintf("%q %x", id.path, id.pass), keyPassSentinel) {
			t.Fatalf("cache key holds the passphrase")
		}
	}
}

func asTE(err error, te **transport.Error) bool {
	e, ok := err.(*transport.Error)
	*te = e
	return ok
}

// BenchmarkDialEncryptedKey: one dial with an encrypted identity file.
// "cached" reuses one Dialer (the key is decrypted once); "parse-per-dial"
// uses a new Dialer each time, which is what every dial cost before the cache.
func BenchmarkDialEncryptedKey(b *testing.B) {
	path := filepath.Join(b.TempDir(), "id")
	k := writeKey(b, path, keyPassSentinel)
	_, tg := keyServer(b, k)
	tg.IdentityFile, tg.Passphrase = path, keyPassSentinel
	dialWith := func(b *testing.B, d *Dialer) {
		c, err := d.Dial(context.Background(), tg)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	b.Run("cached", func(b *testing.B) {
		d := &Dialer{}
		for b.Loop() {
			dialWith(b, d)
		}
	})
	b.Run("parse-per-dial", func(b *testing.B) {
		for b.Loop() {
			dialWith(b, &Dialer{})
		}
	})
}
