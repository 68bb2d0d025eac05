package ssh

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/transport/filecache"
	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// khFixture is keys, known_hosts lines and lookups to compare khDB with
// x/crypto's knownhosts on.
type khFixture struct {
	lines   []string
	queries []string // hostnames given to the callback ("" = use the remote address)
	keys    []xssh.PublicKey
}

func newKHFixture(t testing.TB) khFixture {
	t.Helper()
	signer := func() xssh.Signer {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s, err := xssh.NewSignerFromKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	k1, k2, k4, ca := signer().PublicKey(), signer().PublicKey(), signer().PublicKey(), signer()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k3 := mustPub(t, &ec.PublicKey)
	hostSigner := signer()
	cert := &xssh.Certificate{Key: hostSigner.PublicKey(), CertType: xssh.HostCert, ValidPrincipals: []string{"web01.corp", "10.0.0.1"},
		ValidBefore: xssh.CertTimeInfinity, Serial: 1}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	ser := func(k xssh.PublicKey) string {
		return strings.TrimPrefix(knownhosts.Line([]string{"x"}, k), "x ")
	}
	l := func(hosts string, k xssh.PublicKey) string { return hosts + " " + ser(k) }
	return khFixture{
		keys: []xssh.PublicKey{k1, k2, k3, k4, ca.PublicKey(), cert, hostSigner.PublicKey()},
		queries: []string{"10.0.0.1:22", "10.0.0.1:2222", "host.example:22", "10.0.0.2:22", "web01.corp:22", "bad.corp:22",
			"10.0.0.5:22", "10.0.0.5:2222", "[::1]:22", "[::1]:2200", "only.negated:22", "10.0.0.9:22", "", "nonsense"},
		lines: []string{
			l("10.0.0.1", k1),
			l("[10.0.0.1]:2222", k2),
			l("host.example,10.0.0.2", k1),
			l("*.corp", k3),
			l("!bad.corp,*.corp", k2),
			l("10.0.0.?", k2),
			l(knownhosts.HashHostname("10.0.0.5"), k1),
			l(knownhosts.HashHostname("[10.0.0.5]:2222"), k2),
			"@cert-authority " + l("*.corp,10.0.0.1", ca.PublicKey()),
			"@revoked " + l("*", k4),
			"@revoked " + l("*", ca.PublicKey()),
			l("::1", k1),
			l("[::1]:2200", k2),
			l("10.0.0.1:22", k2),
			l("10.0.0.1,10.0.0.1", k3),
			l("!only.negated", k1),
			l("10.0.0.9,!10.0.0.9", k1),
			l("10.0.0.1", k1),
			"\t  " + l("web01.corp", k1) + "  comment here ",
			"# comment", "", "   ",
			"garbage",
			"10.0.0.1 ssh-ed25519 !!!",
			"10.0.0.1 ssh-rsa " + strings.TrimPrefix(ser(k1), "ssh-ed25519 "),
			"|1|x|y " + ser(k1),
			"|2|" + strings.TrimPrefix(knownhosts.HashHostname("10.0.0.5"), "|1|") + " " + ser(k1),
			"[10.0.0.1 " + ser(k1),
			"@cert-authority",
			"@unknown " + l("10.0.0.1", k1),
			"@revoked @cert-authority " + l("*", k1),
			"10.0.0.1",
			"10.0.0.1 ssh-ed25519",
		},
	}
}

// compareKH checks that khDB, on content, answers every lookup as knownhosts.New does.
func compareKH(t *testing.T, fx khFixture, content []byte) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	want, werr := knownhosts.New(file)
	db, gerr := parseKHDB(file, content)
	if (werr == nil) != (gerr == nil) || werr != nil && gerr.Error() != "read known_hosts "+file+": "+werr.Error() {
		t.Fatalf("parse: knownhosts %v, khDB %v\n%s", werr, gerr, content)
	}
	if werr != nil {
		return
	}
	remote := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 9), Port: 22}
	for _, q := range fx.queries {
		for ki, k := range fx.keys {
			w, g := want(q, remote, k), db.callback(q, remote, k)
			if d := diffKHErr(w, g); d != "" {
				t.Fatalf("%q key %d: %s\nfile:\n%s", q, ki, d, content)
			}
		}
		if _, _, err := net.SplitHostPort(q); err == nil {
			var ke *knownhosts.KeyError
			errors.As(want(q, remote, probeKey{}), &ke)
			if d := diffKHErr(&knownhosts.KeyError{Want: ke.Want}, &knownhosts.KeyError{Want: db.known(q)}); d != "" {
				t.Fatalf("known(%q): %s\nfile:\n%s", q, d, content)
			}
		}
	}
}

// probeKey is a key of a type no known_hosts line holds: knownhosts then
// lists every line of the host.
type probeKey struct{}

func (probeKey) Type() string                         { return "arcfleet-probe@invalid" }
func (probeKey) Marshal() []byte                      { return []byte("arcfleet-probe") }
func (probeKey) Verify([]byte, *xssh.Signature) error { return errors.New("probe key") }

func diffKHErr(w, g error) string {
	var wk, gk *knownhosts.KeyError
	var wr, gr *knownhosts.RevokedError
	switch {
	case w == nil || g == nil:
		if w != g {
			return fmt.Sprintf("knownhosts %v, khDB %v", w, g)
		}
	case errors.As(w, &wk):
		if !errors.As(g, &gk) {
			return fmt.Sprintf("knownhosts %v, khDB %v", w, g)
		}
		if len(wk.Want) != len(gk.Want) {
			return fmt.Sprintf("want lists %v, khDB %v", wk.Want, gk.Want)
		}
		for i := range wk.Want {
			a, b := wk.Want[i], gk.Want[i]
			if a.Filename != b.Filename || a.Line != b.Line || !bytes.Equal(a.Key.Marshal(), b.Key.Marshal()) {
				return fmt.Sprintf("want lists %v, khDB %v", wk.Want, gk.Want)
			}
		}
	case errors.As(w, &wr):
		if !errors.As(g, &gr) || wr.Revoked.Line != gr.Revoked.Line {
			return fmt.Sprintf("knownhosts %v, khDB %v", w, g)
		}
	default:
		if w.Error() != g.Error() {
			return fmt.Sprintf("knownhosts %q, khDB %q", w, g)
		}
	}
	return ""
}

// TestKHDBMatchesKnownhosts: on each single line of the fixture, then on 300
// random files built from them, khDB gives the verdict knownhosts gives for
// every (host, key): same errors, same lines listed in the same order.
func TestKHDBMatchesKnownhosts(t *testing.T) {
	fx := newKHFixture(t)
	for i, l := range fx.lines {
		t.Run(fmt.Sprintf("line%02d", i), func(t *testing.T) { compareKH(t, fx, []byte(l+"\n")) })
	}
	r := mrand.New(mrand.NewPCG(1, 2))
	for range 300 {
		var b strings.Builder
		for n := 1 + r.IntN(12); n > 0; n-- {
			b.WriteString(fx.lines[r.IntN(len(fx.lines))])
			if n > 1 || r.IntN(2) == 0 {
				b.WriteString("\n")
			}
		}
		compareKH(t, fx, []byte(b.String()))
	}
}

// FuzzKHDB: for any file content, khDB and knownhosts agree.
func FuzzKHDB(f *testing.F) {
	fx := newKHFixture(f)
	for i := 0; i < len(fx.lines); i += 3 {
		f.Add([]byte(strings.Join(fx.lines[i:min(i+3, len(fx.lines))], "\n")))
	}
	f.Add([]byte(strings.Repeat("a", 70000) + " x\n" + fx.lines[0]))
	f.Fuzz(func(t *testing.T, content []byte) {
		if bytes.Count(content, []byte("*")) > 8 {
			t.Skip("wildcard matching is exponential in knownhosts too")
		}
		compareKH(t, fx, content)
	})
}

// cachedDB is the db the file's cache holds, without looking at the file.
func (f *khFile) cachedDB() *khDB {
	db, _ := f.cache.Cached()
	return db
}

func writeKH(t testing.TB, file string, content string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(file, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKnownHostsCacheSeesChanges: a Dialer parses its known_hosts file once,
// and a change to it (a new line, a changed key of the same length, the file
// replaced, removed) is seen by the next lookup, whether the change comes
// within the file system's timestamp granularity (racy) or later.
func TestKnownHostsCacheSeesChanges(t *testing.T) {
	fx := newKHFixture(t)
	k1, k2 := fx.keys[0], fx.keys[1]
	remote := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 22}
	line := func(h string, k xssh.PublicKey) string { return knownhosts.Line([]string{h}, k) + "\n" }
	old := time.Now().Add(-time.Hour)
	for _, tc := range []struct {
		name   string
		mtime1 time.Time // zero: now
		mtime2 time.Time
	}{
		{"fresh writes (same timestamp tick possible)", time.Time{}, time.Time{}},
		{"old file, changed with its mtime kept", old, old},
		{"old file, changed now", old, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "known_hosts")
			c := &knownHostsCache{}
			f := c.file(file)
			if c.file(file) != f {
				t.Fatal("a second lookup of the path made a second cache entry")
			}
			check := func(h string, k xssh.PublicKey) error { return f.check(h, remote, k) }
			unknown := func(err error) bool {
				var ke *knownhosts.KeyError
				return errors.As(err, &ke) && len(ke.Want) == 0
			}
			if err := check("10.0.0.1:22", k1); !unknown(err) {
				t.Fatalf("missing file: %v, want unknown host", err)
			}
			writeKH(t, file, line("10.0.0.1", k1), tc.mtime1)
			if err := check("10.0.0.1:22", k1); err != nil {
				t.Fatalf("file created: %v", err)
			}
			db := f.cachedDB()
			if err := check("10.0.0.1:22", k1); err != nil || tc.mtime1 == old && f.cachedDB() != db {
				t.Fatalf("unchanged file: %v, parsed again: %v", err, f.cachedDB() != db)
			}
			writeKH(t, file, line("10.0.0.1", k1)+line("10.0.0.2", k2), tc.mtime2)
			if err := check("10.0.0.2:22", k2); err != nil {
				t.Fatalf("new line not seen: %v", err)
			}
			writeKH(t, file, line("10.0.0.1", k2)+line("10.0.0.2", k2), tc.mtime2)
			var ke *knownhosts.KeyError
			if err := check("10.0.0.1:22", k1); !errors.As(err, &ke) || len(ke.Want) != 1 {
				t.Fatalf("changed key (same length, same size) not seen: %v", err)
			}
			if err := check("10.0.0.1:22", k2); err != nil {
				t.Fatalf("changed key: %v", err)
			}
			tmp := filepath.Join(dir, "new")
			writeKH(t, tmp, line("10.0.0.1", k1)+line("10.0.0.2", k1), tc.mtime2)
			if err := os.Rename(tmp, file); err != nil {
				t.Fatal(err)
			}
			if err := check("10.0.0.2:22", k1); err != nil {
				t.Fatalf("file replaced (ssh-keygen -R does that): %v", err)
			}
			os.Remove(file)
			if err := check("10.0.0.1:22", k1); !unknown(err) {
				t.Fatalf("file removed: %v, want unknown host", err)
			}
			writeKH(t, file, "garbage\n", tc.mtime2)
			if err := check("10.0.0.1:22", k1); err == nil || !strings.Contains(err.Error(), "no valid entries") {
				t.Fatalf("unreadable file: %v", err)
			}
		})
	}
}

// TestLearnKeepsCache: accept-new appends go into the cache without parsing
// the file again (else a run learning N hosts would cost O(N²)), and the
// appended lines verify with their right line numbers; an append by another
// writer is seen.
func TestLearnKeepsCache(t *testing.T) {
	fx := newKHFixture(t)
	file := filepath.Join(t.TempDir(), "known_hosts")
	old := time.Now().Add(-time.Hour)
	writeKH(t, file, "# learned hosts\n"+knownhosts.Line([]string{"10.0.0.1"}, fx.keys[0]), old) // no final newline
	d := &Dialer{}
	kh := d.kh.file(file)
	remote := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 22}
	if err := kh.check("10.0.0.1:22", remote, fx.keys[0]); err != nil {
		t.Fatal(err)
	}
	db := kh.cachedDB()
	for i := 2; i <= 20; i++ {
		if err := d.learn(kh, fmt.Sprintf("10.0.1.%d:22", i), remote, fx.keys[i%2]); err != nil {
			t.Fatal(err)
		}
	}
	if kh.cachedDB() != db {
		t.Error("learning parsed the file again")
	}
	want, err := knownhosts.New(file)
	if err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 20; i++ {
		h := fmt.Sprintf("10.0.1.%d:22", i)
		for _, k := range fx.keys[:2] {
			if d := diffKHErr(want(h, remote, k), kh.check(h, remote, k)); d != "" {
				t.Fatalf("%s: %s", h, d)
			}
		}
	}
	known, _ := kh.known("10.0.1.20:22")
	if len(known) != 1 || known[0].Line != 21 {
		t.Errorf("learned line listed as %+v, want line 21", known)
	}
	// Someone else appends (OpenSSH does, without a lock).
	fh, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.WriteString(knownhosts.Line([]string{"10.0.2.1"}, fx.keys[2]) + "\n")
	fh.Close()
	if err := kh.check("10.0.2.1:22", remote, fx.keys[2]); err != nil {
		t.Errorf("another writer's line: %v", err)
	}
}

// BenchmarkKnownHostsLookup: what one dial asks of its known_hosts file (the
// algorithms lookup and the verification), against files of 100 to 10,000
// hosts: flat in the file's size once it is cached.
func BenchmarkKnownHostsLookup(b *testing.B) {
	fx := newKHFixture(b)
	remote := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 22}
	sizes := []int{100, 1000, 10000}
	files := map[int]string{}
	old := time.Now().Add(-time.Hour)
	for _, n := range sizes {
		var s strings.Builder
		for i := range n {
			s.WriteString(knownhosts.Line([]string{fmt.Sprintf("10.1.%d.%d", i/256, i%256)}, fx.keys[0]) + "\n")
		}
		files[n] = filepath.Join(b.TempDir(), "known_hosts")
		writeKH(b, files[n], s.String(), old)
	}
	time.Sleep(filecache.RacyWindow + 100*time.Millisecond) // settled: see filecache.RacyWindow
	for _, n := range sizes {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			c := &knownHostsCache{}
			if _, err := c.file(files[n]).known("10.0.0.1:22"); err != nil { // parse it: the first dial's cost
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h := fmt.Sprintf("10.1.%d.%d:22", i%n/256, i%n%256)
				kh := c.file(files[n])
				if _, err := kh.known(h); err != nil {
					b.Fatal(err)
				}
				if err := kh.check(h, remote, fx.keys[0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
