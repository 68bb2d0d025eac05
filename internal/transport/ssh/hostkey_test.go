package ssh

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/transport"
	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func mustPub(t testing.TB, k any) xssh.PublicKey {
	t.Helper()
	p, err := xssh.NewPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHostKeyAlgorithmsFromKnown(t *testing.T) {
	ed, _, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	edK, ecK, rsaK := mustPub(t, ed), mustPub(t, &ec.PublicKey), mustPub(t, &rk.PublicKey)
	tests := []struct {
		name string
		keys []xssh.PublicKey
		want []string
	}{
		{"none: x/crypto defaults", nil, nil},
		{"ed25519 only", []xssh.PublicKey{edK}, []string{xssh.KeyAlgoED25519}},
		{"rsa means all its signature algorithms", []xssh.PublicKey{rsaK}, []string{xssh.KeyAlgoRSASHA512, xssh.KeyAlgoRSASHA256, xssh.KeyAlgoRSA}},
		{"file order, no duplicates", []xssh.PublicKey{ecK, edK, ecK}, []string{xssh.KeyAlgoECDSA256, xssh.KeyAlgoED25519}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var known []knownhosts.KnownKey
			for _, k := range tc.keys {
				known = append(known, knownhosts.KnownKey{Key: k})
			}
			if got := hostKeyAlgorithms(known); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReadKnown(t *testing.T) {
	ed, _, _ := ed25519.GenerateKey(rand.Reader)
	k := mustPub(t, ed)
	f := filepath.Join(t.TempDir(), "kh")
	content := "# comment\n" + knownhosts.Line([]string{"10.0.0.1"}, k) + "\n" + knownhosts.Line([]string{"[10.0.0.1]:2222"}, k) + "\n"
	os.WriteFile(f, []byte(content), 0o600)
	for _, tc := range []struct {
		hostport string
		line     int
	}{{"10.0.0.1:22", 2}, {"10.0.0.1:2222", 3}, {"10.0.0.2:22", 0}} {
		known, err := (&knownHostsCache{}).file(f).known(tc.hostport)
		if err != nil {
			t.Fatal(err)
		}
		if tc.line == 0 && len(known) != 0 || tc.line != 0 && (len(known) != 1 || known[0].Line != tc.line) {
			t.Errorf("%s: %+v, want line %d", tc.hostport, known, tc.line)
		}
	}
	if known, err := (&knownHostsCache{}).file(filepath.Join(t.TempDir(), "missing")).known("10.0.0.1:22"); err != nil || len(known) != 0 {
		t.Errorf("missing file: %v %v", known, err)
	}
}

// FuzzLearn: whatever a known_hosts file holds, learning a host either adds a
// line that verifies afterwards, or refuses with a typed error; it never
// panics and never damages existing lines.
func FuzzLearn(f *testing.F) {
	ed, _, _ := ed25519.GenerateKey(rand.Reader)
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	key, otherKey := mustPub(f, ed), mustPub(f, other)
	f.Add([]byte(""))
	f.Add([]byte("# only a comment"))
	f.Add([]byte(knownhosts.Line([]string{"10.9.8.7"}, otherKey))) // no trailing newline
	f.Add([]byte(knownhosts.Line([]string{"10.1.2.3"}, otherKey) + "\n"))
	f.Add([]byte(knownhosts.Line([]string{"10.1.2.3"}, key) + "\n"))
	f.Add([]byte("@revoked * " + strings.TrimPrefix(knownhosts.Line([]string{"x"}, key), "x ") + "\n"))
	f.Add([]byte("garbage line\n\x00\xff"))
	f.Add([]byte("|1|bad|hash ssh-ed25519 AAAA\n"))
	f.Fuzz(func(t *testing.T, existing []byte) {
		file := filepath.Join(t.TempDir(), "known_hosts")
		if err := os.WriteFile(file, existing, 0o600); err != nil {
			t.Fatal(err)
		}
		d := &Dialer{}
		hk := &hostKeyCheck{d: d, t: transport.Target{Name: "h", Address: "10.1.2.3", HostKeyPolicy: PolicyAcceptNew}, file: file, kh: d.kh.file(file)}
		remote := &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 22}
		err := hk.callback("10.1.2.3:22", remote, key)
		after, rerr := os.ReadFile(file)
		if rerr != nil {
			t.Fatal(rerr)
		}
		if !strings.HasPrefix(string(after), string(existing)) {
			t.Fatalf("existing content changed:\n%q\n->\n%q", existing, after)
		}
		if err != nil {
			var te *transport.Error
			if !errors.As(err, &te) {
				t.Fatalf("untyped error %v", err)
			}
			if len(after) != len(existing) {
				t.Fatalf("refused (%v) but the file grew", err)
			}
			return
		}
		cb, err := knownhosts.New(file)
		if err != nil {
			t.Fatalf("file unreadable after learning: %v\n%q", err, after)
		}
		if err := cb("10.1.2.3:22", remote, key); err != nil {
			t.Fatalf("learned key does not verify: %v\n%q", err, after)
		}
	})
}
