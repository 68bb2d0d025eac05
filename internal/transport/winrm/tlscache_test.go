package winrm

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/testbed/winrmtest"
)

func tryDial(t *testing.T, d *Dialer, tg transport.Target) error {
	t.Helper()
	c, err := d.Dial(context.Background(), tg)
	noSecret(t, err)
	if err != nil {
		return err
	}
	return c.Close()
}

// TestCAFileCached: dials (sequential and parallel) load ca_file once per
// Dialer; a changed, broken, removed and restored file is picked up on the
// next dial, and a failed load is not cached.
func TestCAFileCached(t *testing.T) {
	s := start(t, winrmtest.Options{HTTPS: true, Auth: []string{"basic"}})
	tg := target(s, "basic")
	good, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	other, err := winrmtest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	write := func(b []byte) func() {
		return func() {
			if err := os.WriteFile(s.CAFile, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	d := &Dialer{}
	for _, st := range []struct {
		name  string
		write func()
		want  transport.Kind
		loads int
	}{
		{"first", nil, "", 1},
		{"again", nil, "", 1},
		{"another CA", write(other.PEM), transport.TLSFailed, 2},
		{"not PEM", write([]byte("not a certificate")), transport.TLSFailed, 3},
		{"still not PEM", nil, transport.TLSFailed, 4}, // failures are not cached
		{"removed", func() { os.Remove(s.CAFile) }, transport.TLSFailed, 4},
		{"restored", write(good), "", 5},
		{"restored again", nil, "", 5},
	} {
		if st.write != nil {
			st.write()
		}
		err := tryDial(t, d, tg)
		if got := transport.KindOf(err); got != st.want {
			t.Fatalf("%s: error kind %q (%v), want %q", st.name, got, err, st.want)
		}
		if n := d.tls.loadCount(); n != st.loads {
			t.Fatalf("%s: %d loads, want %d", st.name, n, st.loads)
		}
	}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if err := tryDial(t, d, tg); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := d.tls.loadCount(); n != 5 {
		t.Fatalf("%d loads after 6 parallel dials, want 5", n)
	}
}

// TestClientCertCached: cert auth loads the key pair (and ca_file) once per
// Dialer, and a reissued pair is picked up.
func TestClientCertCached(t *testing.T) {
	s := start(t, winrmtest.Options{HTTPS: true, Auth: []string{"cert"}})
	tg := target(s, "cert")
	tg.Password = ""
	dir := t.TempDir()
	var err error
	if tg.CertFile, tg.KeyFile, err = s.CA.WriteClientCert(dir, s.User); err != nil {
		t.Fatal(err)
	}
	d := &Dialer{}
	for i := range 4 {
		if err := tryDial(t, d, tg); err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
	}
	if n := d.tls.loadCount(); n != 2 {
		t.Fatalf("%d loads for 4 dials, want 2 (CA file, key pair)", n)
	}
	// A pair from a CA the server does not trust: the handshake must fail,
	// which it would not with the old pair still cached.
	other, err := winrmtest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.WriteClientCert(dir, s.User); err != nil {
		t.Fatal(err)
	}
	if err := tryDial(t, d, tg); err == nil {
		t.Fatal("dial with an untrusted client certificate succeeded: the old pair was used")
	}
	if _, _, err := s.CA.WriteClientCert(dir, s.User); err != nil {
		t.Fatal(err)
	}
	if err := tryDial(t, d, tg); err != nil {
		t.Fatalf("dial with the reissued pair: %v", err)
	}
	if n := d.tls.loadCount(); n != 4 {
		t.Fatalf("%d loads, want 4", n)
	}
	// A key that does not match the certificate is an AuthFailed error, not cached.
	if err := os.WriteFile(tg.KeyFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := tryDial(t, d, tg); transport.KindOf(err) != transport.AuthFailed {
		t.Fatalf("bad key file: %v, want AuthFailed", err)
	}
}

// BenchmarkTLSConfig: the TLS setup of one cert-auth dial. "cached" reuses
// one Dialer; "load-per-dial" uses a new Dialer each time, which is what
// every dial cost before the cache.
func BenchmarkTLSConfig(b *testing.B) {
	s := winrmtest.Start(b, winrmtest.Options{HTTPS: true, Auth: []string{"cert"}, Password: sentinel})
	tg := s.Target("win1", "cert")
	var err error
	if tg.CertFile, tg.KeyFile, err = s.CA.WriteClientCert(b.TempDir(), s.User); err != nil {
		b.Fatal(err)
	}
	bench := func(b *testing.B, d func() *Dialer) {
		for b.Loop() {
			c := &conn{auth: "cert"}
			if _, err := c.tlsConfig(d(), tg); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("cached", func(b *testing.B) { d := &Dialer{}; bench(b, func() *Dialer { return d }) })
	b.Run("load-per-dial", func(b *testing.B) { bench(b, func() *Dialer { return &Dialer{} }) })
}
