package sshtest_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/internal/transport/ssh"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
)

// fakeAgent stands in for the simulator: it prints its arguments and the
// simulator's variables, so the install (PATH, shim, env) can be checked.
func fakeAgent(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "fake-agent")
	script := "#!/bin/sh\necho \"agent $* host=$AZCMAGENT_SIM_HOST root=$AZCMAGENT_SIM_ROOT noroot=$AZCMAGENT_SIM_NO_ROOT extra=$ARCFLEET_EXTRA uid=$(id -u)\"\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFleet(t *testing.T) {
	agent := fakeAgent(t)
	f := sshtest.StartFleet(t, 3, sshtest.FleetOptions{AgentBinary: agent, Env: map[string]string{"ARCFLEET_EXTRA": "x y"}})
	if len(f.Hosts) != 3 {
		t.Fatalf("%d hosts", len(f.Hosts))
	}
	addrs, fps := map[string]bool{}, map[string]bool{}
	for _, h := range f.Hosts {
		addrs[h.Address], fps[h.HostKeyFingerprint] = true, true
		if ip := net.ParseIP(h.Address); ip == nil || !ip.IsLoopback() || h.Port != 22 {
			t.Errorf("%s: address %s:%d", h.Name, h.Address, h.Port)
		}
		c := dialT(t, h.Target()) // strict against the fleet's known_hosts
		if c.Fingerprint() != h.HostKeyFingerprint {
			t.Errorf("%s: fingerprint", h.Name)
		}
		want := fmt.Sprintf("agent connect --x host=%s root=%s noroot=1 extra=x y uid=", h.Name, h.Root)
		_, out, errOut, err := runCmd(context.Background(), c, "azcmagent connect --x", nil)
		if err != nil || !strings.HasPrefix(out, want) || strings.HasSuffix(out, "uid=0\n") {
			t.Errorf("%s: azcmagent: %q %q %v, want prefix %q and a non-root uid", h.Name, out, errOut, err, want)
		}
		_, out, _, err = runCmd(context.Background(), c, "systemctl restart himdsd && command -v azcmagent", nil)
		if err != nil || !strings.HasPrefix(out, "agent service restart host="+h.Name) || !strings.HasSuffix(out, h.AgentPath+"\n") {
			t.Errorf("%s: systemctl shim: %q %v", h.Name, out, err)
		}
		code, _, errOut, _ := runCmd(context.Background(), c, "systemctl daemon-reload", nil)
		if code == 0 || !strings.Contains(errOut, "unsupported") {
			t.Errorf("%s: shim accepted an unsupported action: %d %q", h.Name, code, errOut)
		}
		// The login user can write the simulator's state, log and record file.
		code, _, errOut, _ = runCmd(context.Background(), c, fmt.Sprintf("touch %s/state.json && echo x >> %s && echo y >> %s", h.Root, h.AgentLog, f.RecordFile), nil)
		if code != 0 {
			t.Errorf("%s: sim paths not writable: %s", h.Name, errOut)
		}
	}
	if len(addrs) != 3 || len(fps) != 3 {
		t.Errorf("hosts share addresses or keys: %v %v", addrs, fps)
	}

	h := f.Hosts[0]
	t.Run("Stop refuses connections, Restart keeps the key", func(t *testing.T) {
		if err := h.Stop(); err != nil {
			t.Fatal(err)
		}
		if _, err := (&ssh.Dialer{}).Dial(context.Background(), h.Target()); transport.KindOf(err) != transport.Unreachable {
			t.Fatalf("stopped host: %v", err)
		}
		if err := h.Restart(false); err != nil {
			t.Fatal(err)
		}
		dialT(t, h.Target()).Close()
	})
	t.Run("Restart with a new key", func(t *testing.T) {
		old := h.HostKeyFingerprint
		if err := h.Restart(true); err != nil {
			t.Fatal(err)
		}
		if h.HostKeyFingerprint == old {
			t.Fatal("same key")
		}
		_, err := (&ssh.Dialer{}).Dial(context.Background(), h.Target())
		if transport.KindOf(err) != transport.HostKeyChanged {
			t.Fatalf("got %v, want host-key-changed", err)
		}
	})
	t.Run("Freeze and Thaw", func(t *testing.T) {
		h := f.Hosts[1]
		h.Freeze()
		tg := h.Target()
		tg.HandshakeTimeout = 300 * time.Millisecond
		if _, err := (&ssh.Dialer{}).Dial(context.Background(), tg); transport.KindOf(err) != transport.Timeout {
			t.Fatalf("frozen host: %v, want timeout", err)
		}
		h.Thaw()
		dialT(t, h.Target()).Close()
	})
}

func TestFleetLogins(t *testing.T) {
	agent := fakeAgent(t)
	for _, tc := range []struct {
		name  string
		login sshtest.Login
		cmd   string
		want  string
	}{
		{"sudo", sshtest.LoginSudo, "id -u; sudo -n azcmagent show", "agent show host=host-1 root=%s noroot= extra= uid=0\n"},
		{"root", sshtest.LoginRoot, "azcmagent show", "agent show host=host-1 root=%s noroot= extra= uid=0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := sshtest.StartFleet(t, 1, sshtest.FleetOptions{Login: tc.login, AgentBinary: agent})
			h := f.Hosts[0]
			c := dialT(t, h.Target())
			_, out, errOut, err := runCmd(context.Background(), c, tc.cmd, nil)
			if err != nil || !strings.HasSuffix(out, fmt.Sprintf(tc.want, h.Root)) {
				t.Fatalf("%q: %q %q %v", tc.cmd, out, errOut, err)
			}
			if tc.login == sshtest.LoginSudo && strings.HasPrefix(out, "0\n") {
				t.Fatalf("sudo login user is root: %q", out)
			}
		})
	}
}

// TestFleetAddressesDoNotCollide starts two fleets at once, as parallel test
// packages do.
func TestFleetAddressesDoNotCollide(t *testing.T) {
	t.Parallel()
	a := sshtest.StartFleet(t, 20, sshtest.FleetOptions{NamePrefix: "a-"})
	b := sshtest.StartFleet(t, 20, sshtest.FleetOptions{NamePrefix: "b-"})
	seen := map[string]string{}
	for _, h := range append(a.Hosts, b.Hosts...) {
		if o, dup := seen[h.HostPort()]; dup {
			t.Fatalf("%s and %s share %s", o, h.Name, h.HostPort())
		}
		seen[h.HostPort()] = h.Name
	}
	// Every host answers with its own key.
	for _, h := range append(a.Hosts, b.Hosts...) {
		tg := h.Target()
		tg.HostKeyPolicy, tg.Fingerprint = ssh.PolicyFingerprint, h.HostKeyFingerprint
		dialT(t, tg).Close()
	}
}

func TestFleetSim(t *testing.T) {
	if _, err := os.Stat("../azcmagent-sim"); err != nil {
		t.Skip("testbed/azcmagent-sim not in this checkout yet")
	}
	sim := sshtest.BuildSim(t)
	if again := sshtest.BuildSim(t); again != sim {
		t.Errorf("second BuildSim gave %s, want the same %s", again, sim)
	}
	f := sshtest.StartFleet(t, 1, sshtest.FleetOptions{AgentBinary: sim})
	c := dialT(t, f.Hosts[0].Target())
	code, out, errOut, err := runCmd(context.Background(), c, "azcmagent version", nil)
	if err != nil || code != 0 || out == "" {
		t.Fatalf("azcmagent version on a test host: %d %q %q %v", code, out, errOut, err)
	}
}

// TestFleetTmpDir: each host has its own TMPDIR inside the fleet dir, in plain
// sessions and under sudo, where a non-root login can make a private temp dir.
func TestFleetTmpDir(t *testing.T) {
	for _, tc := range []struct {
		name  string
		login sshtest.Login
		cmd   string
	}{
		{"test user", sshtest.LoginTest, `echo "$TMPDIR"; mktemp -d`},
		{"sudo", sshtest.LoginSudo, `echo "$TMPDIR"; sudo -n sh -c 'mktemp -d'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := sshtest.StartFleet(t, 2, sshtest.FleetOptions{Login: tc.login})
			for _, h := range f.Hosts {
				if filepath.Dir(filepath.Dir(h.TmpDir)) != f.Dir {
					t.Errorf("%s: TmpDir %s is not inside the fleet dir %s", h.Name, h.TmpDir, f.Dir)
				}
				_, out, errOut, err := runCmd(context.Background(), dialT(t, h.Target()), tc.cmd, nil)
				lines := strings.Split(strings.TrimSpace(out), "\n")
				if err != nil || len(lines) != 2 || lines[0] != h.TmpDir || filepath.Dir(lines[1]) != h.TmpDir {
					t.Fatalf("%s: %q %q %v, want TMPDIR %s and a temp dir in it", h.Name, out, errOut, err, h.TmpDir)
				}
			}
		})
	}
}
