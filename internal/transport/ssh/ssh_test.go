package ssh_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/internal/transport/ssh"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// passphraseSentinel must never appear in an error.
const passphraseSentinel = "arcfleet-SENTINEL-passphrase-91f3"

type result struct {
	code        int
	out, errOut string
	err         error
}

func run(ctx context.Context, c transport.Conn, cmd string, stdin io.Reader) result {
	var o, e bytes.Buffer
	code, err := c.Run(ctx, cmd, stdin, &o, &e)
	return result{code, o.String(), e.String(), err}
}

func dial(t *testing.T, d *ssh.Dialer, tg transport.Target) transport.Conn {
	t.Helper()
	c, err := d.Dial(context.Background(), tg)
	if err != nil {
		t.Fatalf("dial %s: %v", tg.Name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// checkErr asserts err is a *transport.Error of kind want without any secret.
func checkErr(t *testing.T, err error, want transport.Kind, secrets ...string) *transport.Error {
	t.Helper()
	var te *transport.Error
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T), want a *transport.Error of kind %q", err, err, want)
	}
	if te.Kind != want {
		t.Fatalf("kind %q, want %q; error: %v", te.Kind, want, err)
	}
	for _, s := range append(secrets, sshtest.TestPassword, passphraseSentinel) {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("error contains a secret: %v", err)
		}
	}
	return te
}

func TestRun(t *testing.T) {
	f := sshtest.StartFleet(t, 1, sshtest.FleetOptions{})
	h := f.Hosts[0]
	c := dial(t, &ssh.Dialer{}, h.Target())
	if c.Fingerprint() != h.HostKeyFingerprint {
		t.Errorf("Fingerprint() = %q, want %q", c.Fingerprint(), h.HostKeyFingerprint)
	}
	tests := []struct {
		name, cmd   string
		code        int
		out, errOut string
	}{
		{"ok", "echo hello", 0, "hello\n", ""},
		{"exit 3", "echo out; echo err >&2; exit 3", 3, "out\n", "err\n"},
		{"exit 255", "exit 255", 255, "", ""},
		{"killed by TERM", "kill -TERM $$", 128 + 15, "", ""},
		{"killed by KILL", "kill -KILL $$", 128 + 9, "", ""},
		{"not found", "no-such-command-arcfleet", 127, "", "sh: 1: no-such-command-arcfleet: not found\n"},
		{"host env", "echo $AZCMAGENT_SIM_HOST", 0, h.Name + "\n", ""},
		{"stderr only", "printf 'a\\nb' >&2", 0, "", "a\nb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(context.Background(), c, tc.cmd, nil)
			if r.err != nil {
				t.Fatalf("Run: %v", r.err)
			}
			if r.code != tc.code || r.out != tc.out || r.errOut != tc.errOut {
				t.Errorf("got code %d stdout %q stderr %q, want %d %q %q", r.code, r.out, r.errOut, tc.code, tc.out, tc.errOut)
			}
		})
	}

	t.Run("one connection carries all commands", func(t *testing.T) {
		seen := map[string]bool{}
		for i := range 20 {
			r := run(context.Background(), c, "echo ${SSH_CLIENT% *}", nil)
			if r.err != nil || r.code != 0 {
				t.Fatalf("run %d: %d %v", i, r.code, r.err)
			}
			seen[r.out] = true
		}
		if len(seen) != 1 {
			t.Errorf("commands came from %d client ports, want 1: %v", len(seen), seen)
		}
	})

	t.Run("stdin 1 MB round trip", func(t *testing.T) {
		in := make([]byte, 1<<20)
		rand.Read(in)
		r := run(context.Background(), c, "cat", bytes.NewReader(in))
		if r.err != nil || r.code != 0 {
			t.Fatalf("cat: %d %v %s", r.code, r.err, r.errOut)
		}
		if sha256.Sum256([]byte(r.out)) != sha256.Sum256(in) {
			t.Fatalf("stdout (%d bytes) differs from stdin (%d bytes)", len(r.out), len(in))
		}
	})

	t.Run("stdout and stderr of 3 MB each at once", func(t *testing.T) {
		// Both streams share the channel's window: both must be read as they come.
		r := run(context.Background(), c, "(head -c 3000000 /dev/zero | tr '\\0' e >&2) & head -c 3000000 /dev/zero | tr '\\0' o; wait", nil)
		if r.err != nil || r.code != 0 {
			t.Fatalf("got %d %v", r.code, r.err)
		}
		if r.out != strings.Repeat("o", 3000000) || r.errOut != strings.Repeat("e", 3000000) {
			t.Fatalf("stdout %d bytes, stderr %d bytes, want 3000000 each of o and e", len(r.out), len(r.errOut))
		}
	})

	t.Run("stdin closed after the input", func(t *testing.T) {
		// A reader of stdin to its end (cat) sees EOF once the input is sent.
		r := run(context.Background(), c, "cat; echo eof", strings.NewReader("x\n"))
		if r.err != nil || r.code != 0 || r.out != "x\neof\n" {
			t.Fatalf("got %d %v %q %q, want x, then eof", r.code, r.err, r.out, r.errOut)
		}
	})

	t.Run("stdin not read by the command", func(t *testing.T) {
		// The command exits without reading: Run must not wait for stdin.
		pr, pw := io.Pipe()
		defer pw.Close()
		r := run(context.Background(), c, "exit 4", pr)
		if r.err != nil || r.code != 4 {
			t.Fatalf("got %d %v, want 4", r.code, r.err)
		}
	})

	t.Run("context already canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := run(ctx, c, "echo should-not-run", nil)
		checkErr(t, r.err, transport.Canceled)
		if r.out != "" {
			t.Errorf("command ran: %q", r.out)
		}
	})

	t.Run("after Close", func(t *testing.T) {
		c2 := dial(t, &ssh.Dialer{}, h.Target())
		if err := c2.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		r := run(context.Background(), c2, "true", nil)
		checkErr(t, r.err, transport.Lost)
		if err := c2.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

func TestAuth(t *testing.T) {
	f := sshtest.StartFleet(t, 1, sshtest.FleetOptions{PasswordAuth: true})
	h := f.Hosts[0]
	dir := t.TempDir()

	encKey := filepath.Join(dir, "id_enc")
	s, err := sshtest.WriteKey(encKey, passphraseSentinel)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Authorize(s.PublicKey()); err != nil {
		t.Fatal(err)
	}
	strangerKey := filepath.Join(dir, "id_stranger")
	if _, err := sshtest.WriteKey(strangerKey, ""); err != nil {
		t.Fatal(err)
	}
	agentSock := startAgent(t, f.IdentityFile)

	tests := []struct {
		name   string
		change func(*transport.Target)
		agent  string
		want   transport.Kind // "" = success
	}{
		{"key", func(*transport.Target) {}, "", ""},
		{"encrypted key with passphrase", func(tg *transport.Target) { tg.IdentityFile, tg.Passphrase = encKey, passphraseSentinel }, "", ""},
		{"encrypted key, wrong passphrase", func(tg *transport.Target) { tg.IdentityFile, tg.Passphrase = encKey, "wrong" }, "", transport.AuthFailed},
		{"encrypted key, no passphrase", func(tg *transport.Target) { tg.IdentityFile = encKey }, "", transport.Config},
		{"key not authorized", func(tg *transport.Target) { tg.IdentityFile = strangerKey }, "", transport.AuthFailed},
		{"missing key file", func(tg *transport.Target) { tg.IdentityFile = filepath.Join(dir, "nope") }, "", transport.Config},
		{"agent", func(tg *transport.Target) { tg.IdentityFile, tg.UseAgent = "", true }, agentSock, ""},
		{"agent after unauthorized file key", func(tg *transport.Target) { tg.IdentityFile, tg.UseAgent = strangerKey, true }, agentSock, ""},
		{"agent socket missing", func(tg *transport.Target) { tg.IdentityFile, tg.UseAgent = "", true }, filepath.Join(dir, "no.sock"), transport.Config},
		{"password", func(tg *transport.Target) { tg.IdentityFile, tg.Password = "", sshtest.TestPassword }, "", ""},
		{"wrong password", func(tg *transport.Target) { tg.IdentityFile, tg.Password = "", sshtest.TestPassword+"x" }, "", transport.AuthFailed},
		{"wrong user", func(tg *transport.Target) { tg.User = "nobody-arcfleet" }, "", transport.AuthFailed},
		{"no method", func(tg *transport.Target) { tg.IdentityFile = "" }, "", transport.Config},
		{"no user", func(tg *transport.Target) { tg.User = "" }, "", transport.Config},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := h.Target()
			tc.change(&tg)
			d := &ssh.Dialer{AgentSocket: tc.agent}
			c, err := d.Dial(context.Background(), tg)
			if tc.want != "" {
				if c != nil {
					c.Close()
				}
				checkErr(t, err, tc.want, tg.Password)
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close()
			if r := run(context.Background(), c, "id -un", nil); r.err != nil || r.out != h.User+"\n" {
				t.Fatalf("id -un: %q %v", r.out, r.err)
			}
		})
	}
}

// startAgent runs a real ssh-agent holding key and returns its socket.
func startAgent(t *testing.T, key string) string {
	t.Helper()
	if _, err := exec.LookPath("ssh-agent"); err != nil {
		t.Skip("ssh-agent missing: apt-get install openssh-client")
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for range 200 {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	add := exec.Command("ssh-add", key)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v: %s", err, out)
	}
	return sock
}

func TestUnreachable(t *testing.T) {
	// A port on loopback nobody listens on, a name that cannot resolve, and a
	// listener that accepts TCP but never speaks SSH.
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freePort := free.Addr().(*net.TCPAddr).Port

	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	free.Close() // only now: while it was open, mute could not get its port
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()

	key := filepath.Join(t.TempDir(), "id")
	if _, err := sshtest.WriteKey(key, ""); err != nil {
		t.Fatal(err)
	}
	base := transport.Target{Name: "h", User: "u", IdentityFile: key, HostKeyPolicy: "insecure-ignore",
		HandshakeTimeout: 300 * time.Millisecond, DialTimeout: 2 * time.Second}
	tests := []struct {
		name string
		addr string
		port int
		want transport.Kind
		hint string
	}{
		{"refused", "127.0.0.1", freePort, transport.Unreachable, "nothing listens"},
		{"dns", "no-such-host.invalid", 22, transport.Unreachable, "cannot resolve"},
		{"never speaks ssh", "127.0.0.1", mute.Addr().(*net.TCPAddr).Port, transport.Timeout, "did not complete an SSH handshake"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := base
			tg.Address, tg.Port = tc.addr, tc.port
			start := time.Now()
			_, err := (&ssh.Dialer{}).Dial(context.Background(), tg)
			te := checkErr(t, err, tc.want)
			if !strings.Contains(te.Hint, tc.hint) || te.Host != "h" {
				t.Errorf("hint %q host %q, want hint with %q", te.Hint, te.Host, tc.hint)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}

	t.Run("caller's deadline during the handshake", func(t *testing.T) {
		tg := base
		tg.Address, tg.Port, tg.HandshakeTimeout = "127.0.0.1", mute.Addr().(*net.TCPAddr).Port, time.Minute
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := (&ssh.Dialer{}).Dial(ctx, tg)
		checkErr(t, err, transport.Timeout)
	})
}

func TestHostKeys(t *testing.T) {
	f := sshtest.StartFleet(t, 3, sshtest.FleetOptions{})
	dir := t.TempDir()

	t.Run("strict, unknown host", func(t *testing.T) {
		for _, kh := range []string{filepath.Join(dir, "missing"), writeFile(t, filepath.Join(dir, "empty"), "")} {
			tg := f.Hosts[0].Target()
			tg.KnownHostsFile = kh
			_, err := (&ssh.Dialer{}).Dial(context.Background(), tg)
			te := checkErr(t, err, transport.HostKeyUnknown)
			if !strings.Contains(te.Error(), f.Hosts[0].HostKeyFingerprint) || !strings.Contains(te.Hint, kh) {
				t.Errorf("error lacks the presented fingerprint or the file: %v", te)
			}
		}
	})

	t.Run("fingerprint", func(t *testing.T) {
		tg := f.Hosts[1].Target()
		tg.KnownHostsFile, tg.HostKeyPolicy, tg.Fingerprint = "", ssh.PolicyFingerprint, f.Hosts[1].HostKeyFingerprint
		c := dial(t, &ssh.Dialer{}, tg)
		c.Close()
		tg.Fingerprint = f.Hosts[0].HostKeyFingerprint
		_, err := (&ssh.Dialer{}).Dial(context.Background(), tg)
		checkErr(t, err, transport.HostKeyChanged)
		tg.Fingerprint = "md5:00"
		_, err = (&ssh.Dialer{}).Dial(context.Background(), tg)
		checkErr(t, err, transport.Config)
	})

	t.Run("insecure-ignore", func(t *testing.T) {
		tg := f.Hosts[0].Target()
		tg.KnownHostsFile, tg.HostKeyPolicy = filepath.Join(dir, "never-written"), ssh.PolicyInsecureIgnore
		c := dial(t, &ssh.Dialer{}, tg)
		if c.Fingerprint() != f.Hosts[0].HostKeyFingerprint {
			t.Errorf("fingerprint %q", c.Fingerprint())
		}
		if _, err := os.Stat(tg.KnownHostsFile); err == nil {
			t.Error("insecure-ignore wrote a known_hosts file")
		}
	})

	t.Run("unknown policy", func(t *testing.T) {
		tg := f.Hosts[0].Target()
		tg.HostKeyPolicy = "yolo"
		_, err := (&ssh.Dialer{}).Dial(context.Background(), tg)
		checkErr(t, err, transport.Config)
	})

	t.Run("changed key names the old entry", func(t *testing.T) {
		h := f.Hosts[2] // line 3 of the fleet's known_hosts
		old := h.HostKeyFingerprint
		if err := h.Restart(true); err != nil {
			t.Fatal(err)
		}
		for _, policy := range []string{ssh.PolicyStrict, ssh.PolicyAcceptNew} {
			tg := h.Target()
			tg.HostKeyPolicy = policy
			before, _ := os.ReadFile(tg.KnownHostsFile)
			_, err := (&ssh.Dialer{}).Dial(context.Background(), tg)
			te := checkErr(t, err, transport.HostKeyChanged)
			wantLoc := fmt.Sprintf("%s:%d", h.KnownHostsFile, 3)
			if !strings.Contains(te.Error(), wantLoc) || !strings.Contains(te.Hint, "remove line 3 of "+h.KnownHostsFile) {
				t.Errorf("%s: error does not name %s: %v", policy, wantLoc, te)
			}
			if !strings.Contains(te.Error(), old) || !strings.Contains(te.Error(), h.HostKeyFingerprint) {
				t.Errorf("%s: error lacks old or new fingerprint: %v", policy, te)
			}
			after, _ := os.ReadFile(tg.KnownHostsFile)
			if !bytes.Equal(before, after) {
				t.Errorf("%s: known_hosts changed on a refused key", policy)
			}
		}
	})
}

// TestAcceptNewParallel: 50 dials (from this process and from helper
// processes, each dial with its own Dialer so only flock protects the file)
// learn 5 hosts into one known_hosts file: one intact line per host.
func TestAcceptNewParallel(t *testing.T) {
	f := sshtest.StartFleet(t, 5, sshtest.FleetOptions{})
	kh := filepath.Join(t.TempDir(), "sub", "known_hosts") // dir created on demand
	var targets []string
	for _, h := range f.Hosts {
		targets = append(targets, h.HostPort())
	}
	const procs, perProc, inProc = 3, 10, 20

	var wg sync.WaitGroup
	errs := make(chan error, procs+inProc)
	for range procs {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAcceptNew$")
			cmd.Env = append(os.Environ(), "ARCFLEET_SSH_HELPER=1", "ARCFLEET_KH="+kh,
				"ARCFLEET_KEY="+f.IdentityFile, "ARCFLEET_USER="+f.User,
				"ARCFLEET_TARGETS="+strings.Join(targets, ","), fmt.Sprintf("ARCFLEET_N=%d", perProc))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("helper: %v: %s", err, out)
			}
		})
	}
	for i := range inProc {
		wg.Go(func() {
			errs <- acceptNewDial(kh, f.IdentityFile, f.User, targets[i%len(targets)])
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}

	data, err := os.ReadFile(kh)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != len(f.Hosts) {
		t.Fatalf("known_hosts has %d lines, want %d:\n%s", len(lines), len(f.Hosts), data)
	}
	for i, l := range lines {
		_, hosts, key, _, _, err := xssh.ParseKnownHosts([]byte(l))
		if err != nil {
			t.Fatalf("line %d corrupt: %v: %q", i+1, err, l)
		}
		h := f.Host(hostByAddr(f, hosts[0]))
		if h == nil || xssh.FingerprintSHA256(key) != h.HostKeyFingerprint {
			t.Errorf("line %d: %q does not match a host", i+1, l)
		}
	}
	// What was learned now passes strict checking.
	for _, h := range f.Hosts {
		tg := h.Target()
		tg.KnownHostsFile = kh
		dial(t, &ssh.Dialer{}, tg).Close()
	}
}

func hostByAddr(f *sshtest.Fleet, a string) string {
	for _, h := range f.Hosts {
		if knownhosts.Normalize(h.HostPort()) == a {
			return h.Name
		}
	}
	return ""
}

func acceptNewDial(kh, key, user, hostport string) error {
	host, _, _ := net.SplitHostPort(hostport)
	tg := transport.Target{Name: host, Address: host, Port: 22, User: user, IdentityFile: key,
		KnownHostsFile: kh, HostKeyPolicy: ssh.PolicyAcceptNew}
	c, err := (&ssh.Dialer{}).Dial(context.Background(), tg)
	if err != nil {
		return err
	}
	return c.Close()
}

// TestHelperAcceptNew is run as a child process by TestAcceptNewParallel.
func TestHelperAcceptNew(t *testing.T) {
	if os.Getenv("ARCFLEET_SSH_HELPER") != "1" {
		t.Skip("helper process for TestAcceptNewParallel")
	}
	targets := strings.Split(os.Getenv("ARCFLEET_TARGETS"), ",")
	var n int
	fmt.Sscan(os.Getenv("ARCFLEET_N"), &n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Go(func() {
			if err := acceptNewDial(os.Getenv("ARCFLEET_KH"), os.Getenv("ARCFLEET_KEY"), os.Getenv("ARCFLEET_USER"), targets[i%len(targets)]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// TestHostKeyAlgorithms: the host has ECDSA and ed25519 keys, known_hosts only
// the ed25519 one. Plain x/crypto + knownhosts fails (golang/go#29286); the
// Dialer restricts the algorithms to what is on file and succeeds.
func TestHostKeyAlgorithms(t *testing.T) {
	f := sshtest.StartFleet(t, 1, sshtest.FleetOptions{ECDSAHostKey: true})
	h := f.Hosts[0]
	cb, err := knownhosts.New(h.KnownHostsFile)
	if err != nil {
		t.Fatal(err)
	}
	_, err = xssh.Dial("tcp", h.HostPort(), &xssh.ClientConfig{User: h.User, Auth: []xssh.AuthMethod{xssh.PublicKeys(f.ClientKey)}, HostKeyCallback: cb})
	if err == nil || !strings.Contains(err.Error(), "key mismatch") {
		t.Fatalf("control: plain x/crypto should hit golang/go#29286 here, got %v", err)
	}
	c := dial(t, &ssh.Dialer{}, h.Target())
	if c.Fingerprint() != h.HostKeyFingerprint {
		t.Errorf("fingerprint %s, want the ed25519 key %s", c.Fingerprint(), h.HostKeyFingerprint)
	}
}

func writeFile(t *testing.T, path, s string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestJump(t *testing.T) {
	f := sshtest.StartFleet(t, 2, sshtest.FleetOptions{})
	jump := f.Hosts[0].Target()
	tg := f.Hosts[1].Target()
	tg.Jump = &jump
	c := dial(t, &ssh.Dialer{}, tg)
	r := run(context.Background(), c, `echo "$AZCMAGENT_SIM_HOST ${SSH_CLIENT%% *}"`, nil)
	// The target sees the jump host's sshd as its client: the TCP hop starts there.
	if r.err != nil || r.out != f.Hosts[1].Name+" 127.0.0.1\n" {
		t.Fatalf("via jump: %q %v", r.out, r.err)
	}
	if c.Fingerprint() != f.Hosts[1].HostKeyFingerprint {
		t.Errorf("fingerprint is not the target's")
	}

	t.Run("target unreachable from the jump host", func(t *testing.T) {
		bad := f.Hosts[1].Target()
		bad.Port = 1
		bad.Jump = &jump
		_, err := (&ssh.Dialer{}).Dial(context.Background(), bad)
		checkErr(t, err, transport.Unreachable)
	})
	t.Run("jump host auth fails", func(t *testing.T) {
		j := jump
		j.User = "nobody-arcfleet"
		bad := f.Hosts[1].Target()
		bad.Jump = &j
		_, err := (&ssh.Dialer{}).Dial(context.Background(), bad)
		te := checkErr(t, err, transport.AuthFailed)
		if te.Host != f.Hosts[1].Name || !strings.Contains(te.Op, f.Hosts[0].Name) {
			t.Errorf("error should name the target and the jump host: %v", te)
		}
	})
	t.Run("jump cycle", func(t *testing.T) {
		a := f.Hosts[0].Target()
		a.Jump = &a
		_, err := (&ssh.Dialer{}).Dial(context.Background(), a)
		checkErr(t, err, transport.Config)
	})
}

// pgrepGone waits until no process matches pattern.
func pgrepGone(t *testing.T, pattern string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := exec.Command("pgrep", "-af", pattern).Output()
		if err != nil && len(out) == 0 {
			return // pgrep exits 1 when nothing matches
		}
		if time.Now().After(deadline) {
			t.Fatalf("remote processes left behind:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCancelKillsRemote(t *testing.T) {
	f := sshtest.StartFleet(t, 1, sshtest.FleetOptions{})
	c := dial(t, &ssh.Dialer{}, f.Hosts[0].Target())
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want transport.Kind
	}{
		// 1.5 s: both sleeps have started, also on a loaded machine (a SIGTERM
		// between a child's fork and its exec is lost in the shell's handler).
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 1500*time.Millisecond)
		}, transport.Timeout},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(1500*time.Millisecond, cancel)
			return ctx, cancel
		}, transport.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A unique sleep length marks this test's processes; the compound
			// command keeps sh alive with two children, one in the background.
			tok := fmt.Sprintf("%d", time.Now().UnixNano()%1000000)
			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			r := run(ctx, c, fmt.Sprintf("sleep 1001.%s & sleep 1000.%s; echo done", tok, tok), nil)
			te := checkErr(t, r.err, tc.want)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Run returned after %v", d)
			}
			if !strings.Contains(te.Hint, "SIGTERM was sent to the command's process group; the session then ended with exit status 143, signal TERM") {
				t.Errorf("hint: %q", te.Hint)
			}
			pgrepGone(t, "sleep 100[01]\\."+tok)
			// The connection is still good.
			if r := run(context.Background(), c, "echo ok", nil); r.err != nil || r.out != "ok\n" {
				t.Fatalf("after cancel: %q %v", r.out, r.err)
			}
		})
	}
}

func TestLostWhenSSHDKilled(t *testing.T) {
	f := sshtest.StartFleet(t, 1, sshtest.FleetOptions{})
	h := f.Hosts[0]
	c := dial(t, &ssh.Dialer{}, h.Target())
	time.AfterFunc(300*time.Millisecond, func() { h.Kill() })
	r := run(context.Background(), c, "echo started; sleep 30; exit 0", nil)
	te := checkErr(t, r.err, transport.Lost)
	if r.code != -1 || r.out != "started\n" {
		t.Errorf("code %d stdout %q", r.code, r.out)
	}
	if te.Host != h.Name {
		t.Errorf("host %q", te.Host)
	}
	checkErr(t, run(context.Background(), c, "true", nil).err, transport.Lost)
}

func TestKeepaliveDrop(t *testing.T) {
	f := sshtest.StartFleet(t, 1, sshtest.FleetOptions{})
	h := f.Hosts[0]
	tg := h.Target()
	tg.KeepaliveInterval, tg.KeepaliveMax = 100*time.Millisecond, 3
	c := dial(t, &ssh.Dialer{}, tg)
	// Keepalives alone keep an idle, healthy connection up.
	time.Sleep(600 * time.Millisecond)
	if r := run(context.Background(), c, "echo up", nil); r.err != nil {
		t.Fatalf("healthy connection dropped: %v", r.err)
	}
	time.AfterFunc(300*time.Millisecond, h.Freeze)
	defer h.Thaw()
	start := time.Now()
	r := run(context.Background(), c, "sleep 30", nil)
	te := checkErr(t, r.err, transport.Lost)
	if !strings.Contains(te.Error(), "keepalive") {
		t.Errorf("error does not say keepalive: %v", te)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("drop took %v", d)
	}
}

// TestCancelUnderSudo: a command running as root via sudo cannot be killed by
// the login user's signal. Run returns within its stop wait, saying the
// command may still run, and the root processes do run on: the caller must stop
// them (arcfleet's executor runs its stop step, internal/agent/sh.go). A sudo
// script that ends normally is reported with its own exit code, never as killed.
func TestCancelUnderSudo(t *testing.T) {
	f := sshtest.StartFleet(t, 1, sshtest.FleetOptions{Login: sshtest.LoginSudo})
	// As the agent package's become: sudo wrapper runs a script.
	sudo := func(script string) string {
		return `sh -c 'exec sudo -n sh -c "$1" arcfleet' arcfleet '` + strings.ReplaceAll(script, "'", `'\''`) + "'"
	}
	t.Run("cancel leaves the root processes to the caller", func(t *testing.T) {
		c := dial(t, &ssh.Dialer{}, f.Hosts[0].Target())
		tok := fmt.Sprintf("%d", time.Now().UnixNano()%1000000)
		t.Cleanup(func() { exec.Command("pkill", "-f", "sleep 100[89]\\."+tok).Run() })
		// 2 s: time for sudo to start the script on a loaded machine.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		r := run(ctx, c, sudo("sleep 1008."+tok+" & id -u; sleep 1009."+tok+"; echo done"), nil)
		te := checkErr(t, r.err, transport.Timeout)
		if r.out != "0\n" {
			t.Errorf("script did not run as root: %q %q", r.out, r.errOut)
		}
		// The stop wait is 1 s; allow for a loaded machine.
		if d := time.Since(start); d > 2*time.Second+ssh.DefaultStopWait+3*time.Second {
			t.Errorf("Run returned after %v", d)
		}
		if !strings.Contains(te.Hint, "may still be running on the host; the caller must stop it") {
			t.Errorf("hint %q", te.Hint)
		}
		time.Sleep(2 * time.Second)
		if out, _ := exec.Command("pgrep", "-f", "sleep 100[89]\\."+tok).Output(); len(out) == 0 {
			t.Error("the root processes are gone: the test shows nothing")
		}
	})
	t.Run("scripts that succeed are never reported as killed", func(t *testing.T) {
		c := dial(t, &ssh.Dialer{}, f.Hosts[0].Target())
		for i := range 6 {
			r := run(context.Background(), c, sudo("sleep 1; echo hi; exit 7"), nil)
			if r.err != nil || r.code != 7 || r.out != "hi\n" {
				t.Fatalf("run %d: got %d %q %v, want 7", i, r.code, r.out, r.err)
			}
		}
	})
}

func BenchmarkDialRun(b *testing.B) {
	f := sshtest.StartFleet(b, 1, sshtest.FleetOptions{})
	tg := f.Hosts[0].Target()
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

func BenchmarkRun(b *testing.B) {
	f := sshtest.StartFleet(b, 1, sshtest.FleetOptions{})
	c, err := (&ssh.Dialer{}).Dial(context.Background(), f.Hosts[0].Target())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if code, err := c.Run(context.Background(), "true", nil, nil, nil); err != nil || code != 0 {
			b.Fatal(code, err)
		}
	}
}
