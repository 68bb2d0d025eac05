package sshtest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/internal/transport/ssh"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/sync/errgroup"
)

func clientKey(t testing.TB) (string, xssh.Signer) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "id")
	s, err := sshtest.WriteKey(p, "")
	if err != nil {
		t.Fatal(err)
	}
	return p, s
}

func newServer(t testing.TB, cfg sshtest.ServerConfig) *sshtest.Server {
	t.Helper()
	s, err := sshtest.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func target(s *sshtest.Server, key string) transport.Target {
	return transport.Target{Name: "mem-" + s.Addr(), Address: s.Host(), Port: s.Port(), Protocol: "ssh", User: "u",
		IdentityFile: key, HostKeyPolicy: ssh.PolicyFingerprint, Fingerprint: s.Fingerprint()}
}

func runCmd(ctx context.Context, c transport.Conn, cmd string, stdin io.Reader) (int, string, string, error) {
	var o, e bytes.Buffer
	code, err := c.Run(ctx, cmd, stdin, &o, &e)
	return code, o.String(), e.String(), err
}

func dialT(t testing.TB, tg transport.Target) transport.Conn {
	t.Helper()
	c, err := (&ssh.Dialer{}).Dial(context.Background(), tg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestServerRun(t *testing.T) {
	keyFile, key := clientKey(t)
	s := newServer(t, sshtest.ServerConfig{AuthorizedKeys: []xssh.PublicKey{key.PublicKey()}, Env: []string{"PATH=/usr/bin:/bin", "ARCFLEET_X=mem"}})
	c := dialT(t, target(s, keyFile))
	if c.Fingerprint() != s.Fingerprint() {
		t.Errorf("fingerprint %s, want %s", c.Fingerprint(), s.Fingerprint())
	}
	tests := []struct {
		cmd         string
		code        int
		out, errOut string
	}{
		{"echo hi", 0, "hi\n", ""},
		{"echo o; echo e >&2; exit 3", 3, "o\n", "e\n"},
		{"exit 255", 255, "", ""},
		{"kill -TERM $$", 143, "", ""},
		{"kill -KILL $$", 137, "", ""},
		{"echo $ARCFLEET_X", 0, "mem\n", ""},
	}
	for _, tc := range tests {
		code, out, errOut, err := runCmd(context.Background(), c, tc.cmd, nil)
		if err != nil || code != tc.code || out != tc.out || errOut != tc.errOut {
			t.Errorf("%q: got %d %q %q %v, want %d %q %q", tc.cmd, code, out, errOut, err, tc.code, tc.out, tc.errOut)
		}
	}
	in := make([]byte, 1<<20)
	rand.Read(in)
	code, out, _, err := runCmd(context.Background(), c, "cat", bytes.NewReader(in))
	if err != nil || code != 0 || out != string(in) {
		t.Errorf("stdin round trip: code %d err %v, %d bytes back of %d", code, err, len(out), len(in))
	}
}

func TestServerAuth(t *testing.T) {
	keyFile, key := clientKey(t)
	otherFile, _ := clientKey(t)
	s := newServer(t, sshtest.ServerConfig{AuthorizedKeys: []xssh.PublicKey{key.PublicKey()}, Password: sshtest.TestPassword, User: "u"})
	tests := []struct {
		name   string
		change func(*transport.Target)
		want   transport.Kind
	}{
		{"key", func(*transport.Target) {}, ""},
		{"other key", func(tg *transport.Target) { tg.IdentityFile = otherFile }, transport.AuthFailed},
		{"password", func(tg *transport.Target) { tg.IdentityFile, tg.Password = "", sshtest.TestPassword }, ""},
		{"wrong password", func(tg *transport.Target) { tg.IdentityFile, tg.Password = "", "nope" }, transport.AuthFailed},
		{"wrong user", func(tg *transport.Target) { tg.User = "v" }, transport.AuthFailed},
		{"wrong pinned key", func(tg *transport.Target) { tg.Fingerprint = "SHA256:AAAA" }, transport.HostKeyChanged},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := target(s, keyFile)
			tc.change(&tg)
			c, err := (&ssh.Dialer{}).Dial(context.Background(), tg)
			if c != nil {
				c.Close()
			}
			if transport.KindOf(err) != tc.want {
				t.Fatalf("got %v, want kind %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), sshtest.TestPassword) {
				t.Fatalf("error holds the password: %v", err)
			}
		})
	}
}

func pgrepGone(t *testing.T, pattern string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		out, err := exec.Command("pgrep", "-af", pattern).Output()
		if err != nil && len(out) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes left behind:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServerCancelAndClose(t *testing.T) {
	keyFile, key := clientKey(t)
	s := newServer(t, sshtest.ServerConfig{AuthorizedKeys: []xssh.PublicKey{key.PublicKey()}})
	c := dialT(t, target(s, keyFile))
	tok := fmt.Sprint(time.Now().UnixNano() % 1000000)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, _, _, err := runCmd(ctx, c, "sleep 1003."+tok+" & sleep 1004."+tok+"; echo", nil)
	var te *transport.Error
	if !errors.As(err, &te) || te.Kind != transport.Timeout || !strings.Contains(te.Hint, "session then ended") {
		t.Fatalf("got %v, want a confirmed kill at timeout", err)
	}
	pgrepGone(t, "sleep 100[34]\\."+tok)

	// Close drops the connection and kills what runs: the client sees Lost.
	time.AfterFunc(300*time.Millisecond, func() { s.Close() })
	code, _, _, err := runCmd(context.Background(), c, "sleep 1005."+tok, nil)
	if transport.KindOf(err) != transport.Lost || code != -1 {
		t.Fatalf("after Close: code %d err %v, want Lost", code, err)
	}
	pgrepGone(t, "sleep 1005\\."+tok)
}

func TestServerKeepaliveAndJump(t *testing.T) {
	keyFile, key := clientKey(t)
	pub := []xssh.PublicKey{key.PublicKey()}
	jump := newServer(t, sshtest.ServerConfig{AuthorizedKeys: pub, AllowForwarding: true})
	dest := newServer(t, sshtest.ServerConfig{AuthorizedKeys: pub, Env: []string{"WHO=dest"}})
	noFwd := newServer(t, sshtest.ServerConfig{AuthorizedKeys: pub})

	jt := target(jump, keyFile)
	tg := target(dest, keyFile)
	tg.Jump = &jt
	tg.KeepaliveInterval, tg.KeepaliveMax = 50*time.Millisecond, 2
	c := dialT(t, tg)
	time.Sleep(400 * time.Millisecond) // keepalives must be answered or the connection drops
	if _, out, _, err := runCmd(context.Background(), c, "echo $WHO", nil); err != nil || out != "dest\n" {
		t.Fatalf("via jump: %q %v", out, err)
	}

	nt := target(noFwd, keyFile)
	tg.Jump = &nt
	if _, err := (&ssh.Dialer{}).Dial(context.Background(), tg); transport.KindOf(err) != transport.Unreachable {
		t.Fatalf("jump without forwarding: %v, want Unreachable", err)
	}
}

// TestServerMany runs many servers in one process, as the demo and the
// 10,000-host benchmark do, and checks they clean up after themselves.
func TestServerMany(t *testing.T) {
	n := 100 // 300 take 1.8 s without -race, 18 s with it
	if testing.Short() {
		n = 20
	}
	before := runtime.NumGoroutine()
	keyFile, key := clientKey(t)
	hostKey, _, err := sshtest.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	servers := make([]*sshtest.Server, n)
	for i := range servers {
		servers[i], err = sshtest.NewServer(sshtest.ServerConfig{HostKey: hostKey, AuthorizedKeys: []xssh.PublicKey{key.PublicKey()},
			Env: []string{fmt.Sprintf("N=%d", i)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	var g errgroup.Group
	g.SetLimit(32)
	d := &ssh.Dialer{}
	for i, s := range servers {
		g.Go(func() error {
			c, err := d.Dial(context.Background(), target(s, keyFile))
			if err != nil {
				return err
			}
			defer c.Close()
			_, out, _, err := runCmd(context.Background(), c, "echo $N", nil)
			if err == nil && out != fmt.Sprintf("%d\n", i) {
				err = fmt.Errorf("server %d answered %q", i, out)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		s.Close()
	}
	// Client keepalive goroutines end when their connections do.
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before+5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before+5 {
		t.Errorf("%d goroutines left (before: %d)", g, before)
	}
}

func BenchmarkServerDialRun(b *testing.B) {
	keyFile, key := clientKey(b)
	s := newServer(b, sshtest.ServerConfig{AuthorizedKeys: []xssh.PublicKey{key.PublicKey()}})
	tg := target(s, keyFile)
	d := &ssh.Dialer{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := d.Dial(context.Background(), tg)
		if err != nil {
			b.Fatal(err)
		}
		if code, err := c.Run(context.Background(), "true", nil, nil, nil); err != nil || code != 0 {
			b.Fatal(code, err)
		}
		c.Close()
	}
}

// TestServerSessionGoneTermFirst: when the client goes away mid-command, the
// command gets SIGTERM before SIGKILL, so its cleanup trap runs (arcfleet's
// scripts remove the config file holding the secret there).
func TestServerSessionGoneTermFirst(t *testing.T) {
	keyFile, key := clientKey(t)
	s := newServer(t, sshtest.ServerConfig{AuthorizedKeys: []xssh.PublicKey{key.PublicKey()}})
	for _, tc := range []struct {
		name    string
		trap    string
		removed bool
	}{
		{"trap runs", `trap 'rm -f "$F"; exit 143' TERM`, true},
		{"TERM ignored, killed", `trap '' TERM`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialT(t, target(s, keyFile))
			file := filepath.Join(t.TempDir(), "config")
			tok := fmt.Sprint(time.Now().UnixNano() % 1000000)
			go func() {
				for i := 0; i < 500 && !exists(file); i++ {
					time.Sleep(10 * time.Millisecond)
				}
				c.Close()
			}()
			_, _, _, err := runCmd(context.Background(), c, fmt.Sprintf(`%s; F=%s; touch "$F"; sleep 1006.%s & wait`, tc.trap, file, tok), nil)
			if transport.KindOf(err) != transport.Lost {
				t.Fatalf("got %v, want Lost", err)
			}
			pgrepGone(t, "sleep 1006\\."+tok) // within the grace + pgrepGone's wait
			if removed := !exists(file); removed != tc.removed {
				t.Errorf("file removed by the trap: %v, want %v", removed, tc.removed)
			}
		})
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestServerClosesStdinAtExit: as sshd does (checked against a real sshd host
// when one can run here), the server closes a command's stdin once the command
// (the shell) has exited, though the client keeps its side open, and ends the
// session when the output is at EOF. A background child that holds stdout and
// reads stdin to EOF therefore ends, and Run returns. (fd 3: an asynchronous
// list's own stdin is /dev/null.)
func TestServerClosesStdinAtExit(t *testing.T) {
	conns := map[string]func(t *testing.T) transport.Conn{
		"in-process": func(t *testing.T) transport.Conn {
			keyFile, key := clientKey(t)
			s := newServer(t, sshtest.ServerConfig{AuthorizedKeys: []xssh.PublicKey{key.PublicKey()}, Env: []string{"PATH=/usr/bin:/bin"}})
			return dialT(t, target(s, keyFile))
		},
		"sshd": func(t *testing.T) transport.Conn {
			return dialT(t, sshtest.StartFleet(t, 1, sshtest.FleetOptions{}).Hosts[0].Target())
		},
	}
	for name, conn := range conns {
		t.Run(name, func(t *testing.T) {
			c := conn(t)
			pr, pw := io.Pipe() // never closed by the test: the client's stdin stays open
			defer pw.Close()
			go pw.Write([]byte("input\n"))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			code, o, e, err := runCmd(ctx, c, `read -r l; echo "got $l"; exec 3<&0; { cat <&3 >/dev/null; echo "stdin closed"; } & exit 3`, pr)
			if err != nil || code != 3 || o != "got input\nstdin closed\n" {
				t.Fatalf("Run = %d %q %q %v after %s; want exit 3, the input and the background child's line", code, o, e, err, time.Since(start))
			}
		})
	}
}
