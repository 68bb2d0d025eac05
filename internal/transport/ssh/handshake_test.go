package ssh

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
	xssh "golang.org/x/crypto/ssh"
)

// TestHandshakeTimerRace: the handshake's time limit expiring at the moment
// the handshake ends is a Timeout (retried), never a Protocol error, whether
// the timer's close of the connection has run yet or not; a refusal the host
// sent before the limit stays an auth failure.
func TestHandshakeTimerRace(t *testing.T) {
	dir := t.TempDir()
	key, err := sshtest.WriteKey(filepath.Join(dir, "id"), "")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sshtest.NewServer(sshtest.ServerConfig{AuthorizedKeys: []xssh.PublicKey{key.PublicKey()}, User: "u"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	tgt := transport.Target{Name: "h", Address: srv.Host(), Port: srv.Port(), Protocol: "ssh", User: "u",
		IdentityFile: filepath.Join(dir, "id"), HostKeyPolicy: PolicyInsecureIgnore, HandshakeTimeout: time.Minute}

	// Each timer fakes one moment of time.AfterFunc's life.
	type timerFn = func(time.Duration, func()) func() bool
	firedNotRun := func(time.Duration, func()) func() bool { // expired; its function not scheduled yet
		return func() bool { return false }
	}
	firedAndRun := func(_ time.Duration, f func()) func() bool { // expired and ran after the handshake
		return func() bool { f(); return false }
	}
	firedEarly := func(_ time.Duration, f func()) func() bool { // expired during the handshake
		f()
		return func() bool { return false }
	}
	inTime := func(time.Duration, func()) func() bool { return func() bool { return true } }
	for _, tc := range []struct {
		name  string
		timer timerFn
		user  string
		want  transport.Kind
	}{
		{"handshake done, timer fired, close not run yet", firedNotRun, "u", transport.Timeout},
		{"handshake done, timer fired and closed", firedAndRun, "u", transport.Timeout},
		{"timer fired during the handshake", firedEarly, "u", transport.Timeout},
		{"in time", inTime, "u", ""},
		{"host refused the user, then the timer fired", firedNotRun, "nobody", transport.AuthFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &Dialer{handshakeTimer: tc.timer}
			tg := tgt
			tg.User = tc.user
			c, err := d.Dial(context.Background(), tg)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				if code, err := c.Run(context.Background(), "true", nil, nil, nil); code != 0 || err != nil {
					t.Errorf("run: %d %v", code, err)
				}
				c.Close()
				return
			}
			if err == nil {
				c.Close()
				t.Fatalf("dial succeeded, want %s", tc.want)
			}
			if k := transport.KindOf(err); k != tc.want {
				t.Fatalf("kind %q, want %q: %v", k, tc.want, err)
			}
		})
	}
}
