package winrm

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/testbed/winrmtest"
)

// sentinel is the password of every test server: no error may contain it.
const sentinel = "SENTINEL-pw-7f3a9c"

func start(t *testing.T, o winrmtest.Options) *winrmtest.Server {
	t.Helper()
	if o.Password == "" {
		o.Password = sentinel
	}
	return winrmtest.Start(t, o)
}

// target is the Target that reaches s with auth.
func target(s *winrmtest.Server, auth string) transport.Target {
	tg := s.Target("win1", auth)
	tg.HandshakeTimeout = 5 * time.Second
	return tg
}

func dial(t *testing.T, d *Dialer, tg transport.Target) transport.Conn {
	t.Helper()
	c, err := d.Dial(context.Background(), tg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// noSecret fails when err's text holds the sentinel password.
func noSecret(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), sentinel) {
		t.Fatalf("error leaks the password: %v", err)
	}
}

func run(t *testing.T, c transport.Conn, cmd string, stdin []byte) (int, string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	var in *bytes.Reader
	if stdin != nil {
		in = bytes.NewReader(stdin)
	}
	var code int
	var err error
	if in != nil {
		code, err = c.Run(context.Background(), cmd, in, &out, &errb)
	} else {
		code, err = c.Run(context.Background(), cmd, nil, &out, &errb)
	}
	noSecret(t, err)
	return code, out.String(), errb.String(), err
}

// TestAuthModes runs the same commands over every supported login: one shell
// carries them all, output streams stay apart, exit codes arrive exactly.
func TestAuthModes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		https bool
		auth  string
	}{
		{"basic-https", true, "basic"},
		{"ntlm-http", false, "ntlm"},
		{"ntlm-https", true, "ntlm"},
		{"cert-https", true, "cert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, winrmtest.Options{HTTPS: tc.https, Auth: []string{tc.auth}})
			tg := target(s, tc.auth)
			if tc.auth == "cert" {
				var err error
				if tg.CertFile, tg.KeyFile, err = s.CA.WriteClientCert(t.TempDir(), s.User); err != nil {
					t.Fatal(err)
				}
				tg.Password = ""
			}
			c := dial(t, &Dialer{}, tg)
			if c.Fingerprint() != s.Fingerprint {
				t.Errorf("Fingerprint %q, want the server's %q", c.Fingerprint(), s.Fingerprint)
			}
			for _, cmd := range []struct {
				line           string
				code           int
				stdout, stderr string
			}{
				{"echo hello", 0, "hello\n", ""},
				{"echo out; echo err >&2; exit 7", 7, "out\n", "err\n"},
				{"printf 'a]]>b <&> \"q\"'", 0, `a]]>b <&> "q"`, ""},
			} {
				code, out, errs, err := run(t, c, cmd.line, nil)
				if err != nil {
					t.Fatalf("%q: %v", cmd.line, err)
				}
				if code != cmd.code || out != cmd.stdout || errs != cmd.stderr {
					t.Errorf("%q: got %d %q %q, want %d %q %q", cmd.line, code, out, errs, cmd.code, cmd.stdout, cmd.stderr)
				}
			}
			if n := s.Counts()["Create"]; n != 1 {
				t.Errorf("%d shells created for 3 commands, want 1", n)
			}
			if err := c.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if n := s.Counts()["Delete"]; n != 1 {
				t.Errorf("Close sent %d Deletes, want 1", n)
			}
		})
	}
}

func TestStdinRoundTrip(t *testing.T) {
	for _, size := range []int{0, 1, 96 << 10, 300 << 10, 700 << 10} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			s := start(t, winrmtest.Options{HTTPS: true})
			c := dial(t, &Dialer{}, target(s, "ntlm"))
			in := make([]byte, size)
			_, _ = rand.Read(in)
			code, out, errs, err := run(t, c, "cat; wc -c >&2", in)
			if err != nil {
				t.Fatal(err)
			}
			if code != 0 || out != string(in) || strings.TrimSpace(errs) != "0" {
				t.Fatalf("code %d, %d bytes back of %d, stderr %q", code, len(out), size, errs)
			}
		})
	}
	t.Run("nil-stdin-reads-eof", func(t *testing.T) {
		s := start(t, winrmtest.Options{})
		c := dial(t, &Dialer{}, target(s, "ntlm"))
		code, out, _, err := run(t, c, "wc -c", nil)
		if err != nil || code != 0 || strings.TrimSpace(out) != "0" {
			t.Fatalf("code %d out %q err %v", code, out, err)
		}
	})
}

// TestLongPoll: a command silent for longer than the OperationTimeout
// completes with all its output; the host's timeout faults are absorbed.
func TestLongPoll(t *testing.T) {
	s := start(t, winrmtest.Options{})
	c := dial(t, &Dialer{OperationTimeout: time.Second}, target(s, "ntlm"))
	code, out, _, err := run(t, c, "echo start; sleep 2.5; echo end; exit 3", nil)
	if err != nil || code != 3 || out != "start\nend\n" {
		t.Fatalf("code %d out %q err %v", code, out, err)
	}
	n := s.Counts()
	if n["OperationTimeout"] < 1 || n["Receive"] > 8 {
		t.Fatalf("want long-polls ending in OperationTimeout faults, not a busy loop: %v", n)
	}
}

func TestEmulation(t *testing.T) {
	t.Setenv("WINRMTEST_OUTER", "leaked") // Options.Env is the host's whole environment
	s := start(t, winrmtest.Options{Env: []string{"PATH=/usr/bin:/bin", "AZCMAGENT_SIM_ROOT=/sim/win1"}})
	c := dial(t, &Dialer{}, target(s, "ntlm"))
	ps := winrmtest.EncodePowerShell("$ErrorActionPreference = 'Stop'\r\nWrite-Output 'real PowerShell path'\r\n")
	s.Register(ps, `echo "root=$AZCMAGENT_SIM_ROOT ${WINRMTEST_OUTER-unset}"; cat; exit 5`)
	code, out, _, err := run(t, c, ps, []byte("from stdin\n"))
	if err != nil || code != 5 || out != "root=/sim/win1 unset\nfrom stdin\n" {
		t.Fatalf("code %d out %q err %v", code, out, err)
	}
	code, _, errs, err := run(t, c, winrmtest.EncodePowerShell("Write-Output 'hi'"), nil)
	if err != nil || code != 1 || !strings.Contains(errs, "cannot run PowerShell") {
		t.Fatalf("PowerShell with no sh script registered: code %d stderr %q err %v", code, errs, err)
	}
}

// TestFailures maps each way a login can fail to its transport.Kind.
func TestFailures(t *testing.T) {
	refused := func(t *testing.T) transport.Target {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		return transport.Target{Name: "win1", Address: "127.0.0.1", Port: port, User: "u", Password: sentinel, Auth: "ntlm"}
	}
	for _, tc := range []struct {
		name string
		opts winrmtest.Options
		edit func(t *testing.T, s *winrmtest.Server, tg *transport.Target)
		want transport.Kind
	}{
		{"ntlm-wrong-password", winrmtest.Options{}, func(t *testing.T, s *winrmtest.Server, tg *transport.Target) {
			tg.Password = "wrong-" + sentinel
		}, transport.AuthFailed},
		{"basic-wrong-password", winrmtest.Options{HTTPS: true}, func(t *testing.T, s *winrmtest.Server, tg *transport.Target) {
			tg.Auth, tg.Password = "basic", "wrong-"+sentinel
		}, transport.AuthFailed},
		{"ntlm-wrong-user", winrmtest.Options{}, func(t *testing.T, s *winrmtest.Server, tg *transport.Target) {
			tg.User = `CORP\someone`
		}, transport.AuthFailed},
		{"always-401", winrmtest.Options{HTTPS: true, AlwaysUnauthorized: true}, func(t *testing.T, s *winrmtest.Server, tg *transport.Target) {
			tg.Auth = "basic"
		}, transport.AuthFailed},
		{"ntlm-not-offered", winrmtest.Options{Auth: []string{"basic"}}, nil, transport.AuthFailed},
		{"cert-other-user", winrmtest.Options{HTTPS: true}, func(t *testing.T, s *winrmtest.Server, tg *transport.Target) {
			var err error
			tg.Auth = "cert"
			if tg.CertFile, tg.KeyFile, err = s.CA.WriteClientCert(t.TempDir(), "mallory"); err != nil {
				t.Fatal(err)
			}
		}, transport.AuthFailed},
		{"unknown-ca", winrmtest.Options{HTTPS: true, WrongCert: true}, nil, transport.TLSFailed},
		{"no-ca-file", winrmtest.Options{HTTPS: true}, func(t *testing.T, s *winrmtest.Server, tg *transport.Target) {
			tg.CAFile = "" // system roots do not know the test CA
		}, transport.TLSFailed},
		{"wrong-server-name", winrmtest.Options{HTTPS: true}, func(t *testing.T, s *winrmtest.Server, tg *transport.Target) {
			tg.TLSServerName = "wrong.example"
		}, transport.TLSFailed},
		{"https-to-http-port", winrmtest.Options{}, func(t *testing.T, s *winrmtest.Server, tg *transport.Target) {
			tg.HTTPS, tg.CAFile = true, ""
		}, transport.TLSFailed},
		{"http-to-https-port", winrmtest.Options{HTTPS: true}, func(t *testing.T, s *winrmtest.Server, tg *transport.Target) {
			tg.HTTPS = false
		}, transport.Protocol},
		{"refused", winrmtest.Options{}, func(t *testing.T, s *winrmtest.Server, tg *transport.Target) {
			*tg = refused(t)
		}, transport.Unreachable},
		{"dns", winrmtest.Options{}, func(t *testing.T, s *winrmtest.Server, tg *transport.Target) {
			tg.Address = "no-such-host.invalid"
		}, transport.Unreachable},
		{"hang-http", winrmtest.Options{Hang: true}, func(t *testing.T, s *winrmtest.Server, tg *transport.Target) {
			tg.HandshakeTimeout = 300 * time.Millisecond
		}, transport.Timeout},
		{"hang-https", winrmtest.Options{HTTPS: true, Hang: true}, func(t *testing.T, s *winrmtest.Server, tg *transport.Target) {
			tg.HandshakeTimeout = 300 * time.Millisecond
		}, transport.Timeout},
		{"basic-over-http-refused", winrmtest.Options{}, func(t *testing.T, s *winrmtest.Server, tg *transport.Target) {
			tg.Auth = "basic"
		}, transport.Protocol},
		{"cert-over-http-refused", winrmtest.Options{}, func(t *testing.T, s *winrmtest.Server, tg *transport.Target) {
			tg.Auth, tg.CertFile, tg.KeyFile = "cert", "c.pem", "k.pem"
		}, transport.Protocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.opts)
			tg := target(s, "ntlm")
			if tc.edit != nil {
				tc.edit(t, s, &tg)
			}
			t0 := time.Now()
			c, err := (&Dialer{}).Dial(context.Background(), tg)
			if err == nil {
				c.Close()
				t.Fatalf("Dial succeeded, want %s", tc.want)
			}
			noSecret(t, err)
			if k := transport.KindOf(err); k != tc.want {
				t.Fatalf("kind %q, want %q: %v", k, tc.want, err)
			}
			var te *transport.Error
			if !errors.As(err, &te) || te.Host != "win1" || te.Op != "dial" || (te.Hint == "" && tc.want != transport.Timeout) {
				t.Errorf("error lacks host, op or hint: %#v", te)
			}
			if time.Since(t0) > 4*time.Second {
				t.Errorf("took %s", time.Since(t0))
			}
			t.Log(err)
		})
	}
}

func TestInsecureOptIn(t *testing.T) {
	s := start(t, winrmtest.Options{HTTPS: true, WrongCert: true})
	tg := target(s, "basic")
	tg.CAFile, tg.Insecure = "", true
	c := dial(t, &Dialer{}, tg)
	if c.Fingerprint() != s.Fingerprint || !strings.HasPrefix(c.Fingerprint(), "SHA256:") {
		t.Fatalf("Fingerprint %q, want %q", c.Fingerprint(), s.Fingerprint)
	}
	if code, out, _, err := run(t, c, "echo ok", nil); err != nil || code != 0 || out != "ok\n" {
		t.Fatalf("%d %q %v", code, out, err)
	}
}

func TestHTTPFingerprintEmpty(t *testing.T) {
	s := start(t, winrmtest.Options{})
	if fp := dial(t, &Dialer{}, target(s, "ntlm")).Fingerprint(); fp != "" {
		t.Fatalf("Fingerprint over HTTP = %q, want empty", fp)
	}
}

// gone reports whether no live process of group pgid is left. Zombies count
// as gone: they are dead, and this machine's init may be slow to reap orphans.
func gone(pgid int) bool {
	if errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) {
		return true
	}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces, so cut at the last ')'.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			return false
		}
	}
	return true
}

// TestHungCommandKilled: at the ctx deadline Run kills the command (process
// group included) before it returns, and the Conn stays usable.
func TestHungCommandKilled(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want transport.Kind
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 800*time.Millisecond)
		}, transport.Timeout},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(800*time.Millisecond, cancel)
			return ctx, cancel
		}, transport.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, winrmtest.Options{HTTPS: true})
			c := dial(t, &Dialer{}, target(s, "ntlm"))
			ctx, cancel := tc.ctx()
			defer cancel()
			var out bytes.Buffer
			t0 := time.Now()
			// A child in the background and one in the foreground: both must go.
			_, err := c.Run(ctx, "echo $$; sleep 30 & sleep 30", bytes.NewReader(bytes.Repeat([]byte("x"), 200<<10)), &out, nil)
			if k := transport.KindOf(err); k != tc.want {
				t.Fatalf("kind %q, want %q: %v", k, tc.want, err)
			}
			// Well before the command's own 30 s; wide enough for a loaded 2-core
			// CI machine under -race (3.1 s was seen with a 3 s bound).
			if d := time.Since(t0); d > 12*time.Second {
				t.Fatalf("Run returned after %s", d)
			}
			pid, perr := strconv.Atoi(strings.TrimSpace(out.String()))
			if perr != nil {
				t.Fatalf("no pid in %q", out.String())
			}
			if !gone(pid) {
				t.Fatalf("process group %d still alive after Run returned", pid)
			}
			if n := s.Running(); n != 0 {
				t.Fatalf("%d commands still running on the server", n)
			}
			if code, o, _, err := run(t, c, "echo again", nil); err != nil || code != 0 || o != "again\n" {
				t.Fatalf("Conn unusable after a kill: %d %q %v", code, o, err)
			}
		})
	}
}

// TestLost: the link breaks while a command runs; Run says Lost, never an exit code.
func TestLost(t *testing.T) {
	t.Run("connection-dropped", func(t *testing.T) {
		s := start(t, winrmtest.Options{DropMidCommand: true})
		c := dial(t, &Dialer{}, target(s, "ntlm"))
		_, _, _, err := run(t, c, "sleep 2; exit 0", nil)
		if k := transport.KindOf(err); k != transport.Lost {
			t.Fatalf("kind %q, want lost: %v", k, err)
		}
		if n := s.Running(); n != 0 {
			t.Errorf("the lost command still runs on the host (%d)", n)
		}
	})
	t.Run("server-gone", func(t *testing.T) {
		s := start(t, winrmtest.Options{})
		c := dial(t, &Dialer{}, target(s, "ntlm"))
		time.AfterFunc(500*time.Millisecond, func() { s.Close() })
		_, _, _, err := run(t, c, "sleep 5", nil)
		if k := transport.KindOf(err); k != transport.Lost {
			t.Fatalf("kind %q, want lost: %v", k, err)
		}
	})
}

func TestRunAfterClose(t *testing.T) {
	s := start(t, winrmtest.Options{})
	c := dial(t, &Dialer{}, target(s, "ntlm"))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, _, err := run(t, c, "true", nil); transport.KindOf(err) != transport.Lost {
		t.Fatalf("Run after Close: %v", err)
	}
}

// BenchmarkDialRun measures one host's dial (TCP, TLS, auth, Create), one
// command and Close on loopback.
func BenchmarkDialRun(b *testing.B) {
	for _, tc := range []struct {
		name  string
		https bool
		auth  string
	}{{"ntlm-http", false, "ntlm"}, {"ntlm-https", true, "ntlm"}, {"basic-https", true, "basic"}} {
		b.Run(tc.name, func(b *testing.B) {
			s := winrmtest.Start(b, winrmtest.Options{HTTPS: tc.https})
			tg := target(s, tc.auth)
			d := &Dialer{}
			for b.Loop() {
				c, err := d.Dial(context.Background(), tg)
				if err != nil {
					b.Fatal(err)
				}
				if code, err := c.Run(context.Background(), "true", nil, nil, nil); err != nil || code != 0 {
					b.Fatal(code, err)
				}
				c.Close()
			}
		})
	}
}

// TestCloseDuringRun: Close from another goroutine aborts a long-polling Run
// promptly (Lost) and still deletes the shell, killing the command.
func TestCloseDuringRun(t *testing.T) {
	s := start(t, winrmtest.Options{})
	c := dial(t, &Dialer{}, target(s, "ntlm"))
	time.AfterFunc(300*time.Millisecond, func() { c.Close() })
	t0 := time.Now()
	_, _, _, err := run(t, c, "sleep 20", nil)
	if k := transport.KindOf(err); k != transport.Lost {
		t.Fatalf("kind %q, want lost: %v", k, err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Fatalf("Run returned after %s", d)
	}
	deadline := time.Now().Add(3 * time.Second)
	for s.Running() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := s.Running(); n != 0 || s.Counts()["Delete"] != 1 {
		t.Fatalf("running %d, counts %v: want the shell deleted", n, s.Counts())
	}
}
