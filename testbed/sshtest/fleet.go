// Package sshtest provides SSH peers for tests in any arcfleet package: a fleet
// of real OpenSSH sshd hosts (StartFleet), each on its own loopback address and
// port 22 with its own host key and the agent simulator installed, and an
// in-process SSH server (NewServer) for the demo and large benchmarks.
package sshtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/arcfleet/arcfleet/internal/transport"
	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHD is the OpenSSH server the fleet runs (`make deps` installs it).
const SSHD = "/usr/sbin/sshd"

// Login selects the login user of a fleet's hosts.
type Login int

const (
	LoginTest Login = iota // TestUser: not root, simulator runs with AZCMAGENT_SIM_NO_ROOT=1
	LoginSudo              // SudoUser: not root, `sudo -n` allowed (become: sudo)
	LoginRoot              // root (its login shell may run slow start-up files)
)

// FleetOptions configures StartFleet. The zero value gives hosts named
// host-1..host-N, logging in as TestUser by key, without an agent.
type FleetOptions struct {
	// AgentBinary, when set, is installed on each host as `azcmagent` on PATH
	// (Host.AgentPath), with a `systemctl` shim calling `AGENT service ACTION`.
	AgentBinary string
	Login       Login
	// PasswordAuth turns on sshd's PasswordAuthentication; Host.Password is then
	// TestPassword (not available for LoginRoot).
	PasswordAuth bool
	// Env is set in every session on every host (sshd SetEnv), after the
	// simulator's variables, so it can override them.
	Env map[string]string
	// NamePrefix of host names; default "host-".
	NamePrefix string
	// ECDSAHostKey gives each host a second host key (ECDSA P-256) that is not
	// in known_hosts: x/crypto prefers ECDSA, so this exposes golang/go#29286.
	ECDSAHostKey bool
}

// Fleet is a set of running sshd test hosts sharing a client key and a known_hosts file.
type Fleet struct {
	Dir            string // the fleet's temp dir
	Hosts          []*Host
	User           string
	IdentityFile   string      // unencrypted ed25519 client key authorized on every host
	ClientKey      xssh.Signer // the same key
	KnownHostsFile string      // one line per host, as started
	RecordFile     string      // AZCMAGENT_SIM_RECORD of every host

	authorizedKeys string
	opts           FleetOptions
	mu             sync.Mutex // guards authorized_keys appends
}

// Host is one sshd test host.
type Host struct {
	Name     string
	Address  string // 127.x.y.z
	Port     int    // 22
	User     string
	Password string // TestPassword when FleetOptions.PasswordAuth, else ""

	IdentityFile       string
	KnownHostsFile     string
	HostKey            xssh.PublicKey // changes on Restart(true)
	HostKeyFingerprint string         // "SHA256:..."

	Root      string // AZCMAGENT_SIM_ROOT: the simulator's state and log live here
	AgentPath string // the agent on this host ("" without FleetOptions.AgentBinary)
	AgentLog  string // Root/log/azcmagent.log
	Dir       string // config, host key, sshd log
	// TmpDir is the host's TMPDIR (Dir/tmp, mode 1777), set in every session
	// (and kept by sudo): what a script leaves in its temp dir shows up per host
	// and goes with the fleet. FleetOptions.Env may override TMPDIR.
	TmpDir string

	fleet   *Fleet
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	keyFile string
	logFile string
}

// Available reports why real sshd hosts cannot run here ("" when they can).
func Available() string {
	if _, err := os.Stat(SSHD); err != nil {
		return SSHD + " is missing (run `make deps` as root to install openssh-server)"
	}
	if os.Geteuid() != 0 {
		return "sshd test hosts need root (they listen on port 22 and create login users)"
	}
	return ""
}

// HasSudo reports whether `sudo` is installed, for become: sudo tests.
func HasSudo() bool {
	_, err := exec.LookPath("sudo")
	return err == nil
}

// StartFleet starts n sshd hosts and stops them when the test ends. It skips the
// test when sshd is missing or the process is not root.
func StartFleet(t TB, n int, opts FleetOptions) *Fleet {
	t.Helper()
	if why := Available(); why != "" {
		t.Skip(why)
	}
	if opts.Login == LoginSudo && !HasSudo() {
		t.Skip("sudo is missing (run `make deps` as root)")
	}
	f, err := startFleet(t.TempDir(), n, opts)
	if f != nil {
		t.Cleanup(f.Close)
	}
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	return f
}

func startFleet(dir string, n int, opts FleetOptions) (*Fleet, error) {
	if n < 1 {
		return nil, fmt.Errorf("fleet of %d hosts", n)
	}
	for k, v := range opts.Env {
		if k == "" || strings.ContainsAny(k, "= \t\n\"") || strings.ContainsAny(v, "\"\n\\") {
			return nil, fmt.Errorf("FleetOptions.Env %q: names without '=' or blanks, values without quotes, backslashes or newlines", k)
		}
	}
	if opts.NamePrefix == "" {
		opts.NamePrefix = "host-"
	}
	if opts.PasswordAuth && opts.Login == LoginRoot {
		return nil, errors.New("PasswordAuth with LoginRoot: root's password is never touched; use LoginTest or LoginSudo")
	}
	if err := ensureUsers(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return nil, err
	}
	// The login users are not root: they must reach authorized_keys, the sim
	// roots and the record file inside the test's private temp dir.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			return nil, err
		}
	}
	f := &Fleet{
		Dir:            dir,
		IdentityFile:   filepath.Join(dir, "id_ed25519"),
		KnownHostsFile: filepath.Join(dir, "known_hosts"),
		RecordFile:     filepath.Join(dir, "record.jsonl"),
		authorizedKeys: filepath.Join(dir, "authorized_keys"),
		opts:           opts,
	}
	switch opts.Login {
	case LoginSudo:
		f.User = SudoUser
	case LoginRoot:
		f.User = "root"
	default:
		f.User = TestUser
	}
	var err error
	if f.ClientKey, err = WriteKey(f.IdentityFile, ""); err != nil {
		return nil, err
	}
	if err := f.Authorize(f.ClientKey.PublicKey()); err != nil {
		return nil, err
	}
	if err := writeWorldWritable(f.RecordFile, nil); err != nil {
		return nil, err
	}

	base := randomBase(n)
	width := len(strconv.Itoa(n))
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s%0*d", opts.NamePrefix, width, i+1)
		h := &Host{
			Name:           name,
			Address:        addrAt(base + i),
			Port:           22,
			User:           f.User,
			IdentityFile:   f.IdentityFile,
			KnownHostsFile: f.KnownHostsFile,
			Dir:            filepath.Join(dir, name),
			fleet:          f,
		}
		if opts.PasswordAuth {
			h.Password = TestPassword
		}
		h.Root = filepath.Join(h.Dir, "root")
		h.TmpDir = filepath.Join(h.Dir, "tmp")
		h.AgentLog = filepath.Join(h.Root, "log", "azcmagent.log")
		h.keyFile = filepath.Join(h.Dir, "host_ed25519")
		h.logFile = filepath.Join(h.Dir, "sshd.log")
		if err := h.prepare(); err != nil {
			return f, err
		}
		f.Hosts = append(f.Hosts, h)
	}

	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, h := range f.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = h.start(true)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return f, err
	}
	var kh bytes.Buffer
	for _, h := range f.Hosts {
		kh.WriteString(knownhosts.Line([]string{knownhosts.Normalize(h.HostPort())}, h.HostKey) + "\n")
	}
	return f, os.WriteFile(f.KnownHostsFile, kh.Bytes(), 0o644)
}

// Authorize adds a public key to authorized_keys of every host of the fleet.
func (f *Fleet) Authorize(pub xssh.PublicKey) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fh, err := os.OpenFile(f.authorizedKeys, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = fh.Write(xssh.MarshalAuthorizedKey(pub))
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.authorizedKeys, 0o644) // readable by the non-root login
	}
	return err
}

// Host returns the host named name, or nil.
func (f *Fleet) Host(name string) *Host {
	for _, h := range f.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// Close kills every host. It is registered with t.Cleanup by StartFleet.
func (f *Fleet) Close() {
	for _, h := range f.Hosts {
		h.Kill() //nolint:errcheck // best effort at cleanup
	}
}

// HostPort is "Address:Port".
func (h *Host) HostPort() string { return h.Address + ":" + strconv.Itoa(h.Port) }

// Target is a transport.Target logging in to h with the fleet's key and strict
// host-key checking against the fleet's known_hosts.
func (h *Host) Target() transport.Target {
	return transport.Target{
		Name:           h.Name,
		Address:        h.Address,
		Port:           h.Port,
		Protocol:       "ssh",
		User:           h.User,
		IdentityFile:   h.IdentityFile,
		KnownHostsFile: h.KnownHostsFile,
		HostKeyPolicy:  "strict",
	}
}

// prepare writes what does not depend on the address: dirs, host key, agent install.
func (h *Host) prepare() error {
	bin := filepath.Join(h.Dir, "bin")
	for _, d := range []string{h.Dir, bin, h.Root, filepath.Dir(h.AgentLog), h.TmpDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(h.TmpDir, 0o777|os.ModeSticky); err != nil { // as /tmp
		return err
	}
	// The simulator writes state and logs here as the (non-root) login user.
	// So does arcfleet's host lock (on a real host, root-owned /var/lib/arcfleet).
	state := filepath.Join(h.Dir, "arcfleet-state")
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}
	for _, d := range []string{h.Root, filepath.Dir(h.AgentLog), state} {
		if err := os.Chmod(d, 0o777); err != nil {
			return err
		}
	}
	if err := h.newHostKey(); err != nil {
		return err
	}
	if h.fleet.opts.ECDSAHostKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		blk, err := xssh.MarshalPrivateKey(k, "")
		if err != nil {
			return err
		}
		if err := os.WriteFile(h.keyFile+"_ecdsa", pem.EncodeToMemory(blk), 0o600); err != nil {
			return err
		}
	}
	if h.fleet.opts.Login == LoginSudo {
		if err := writeSudoShim(filepath.Join(bin, "sudo")); err != nil {
			return err
		}
	}
	if sim := h.fleet.opts.AgentBinary; sim != "" {
		path, err := InstallAgent(bin, sim)
		if err != nil {
			return err
		}
		h.AgentPath = path
	}
	return nil
}

// InstallAgent puts the simulator sim into bin as `azcmagent`, with a
// `systemctl` shim beside it so a service restart (`systemctl restart himdsd`,
// also run by the Windows scripts' sh twin) reaches `azcmagent-sim service`.
// It returns the agent's path. Test hosts, WinRM test hosts and the demo use it.
func InstallAgent(bin, sim string) (string, error) {
	abs, err := filepath.Abs(sim)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", err
	}
	agent := filepath.Join(bin, "azcmagent")
	if err := os.Symlink(abs, agent); err != nil {
		return "", err
	}
	q := "'" + strings.ReplaceAll(abs, "'", `'\''`) + "'"
	shim := "#!/bin/sh\n" +
		"# systemctl stand-in on an arcfleet test host: `systemctl ACTION himdsd` -> `azcmagent-sim service ACTION`.\n" +
		"case \"$1\" in\n" +
		"start) exec " + q + " service restart ;;\n" +
		"restart|status|stop) exec " + q + " service \"$1\" ;;\n" +
		"esac\n" +
		"echo \"systemctl (arcfleet test shim): unsupported: $*\" >&2\nexit 1\n"
	return agent, os.WriteFile(filepath.Join(bin, "systemctl"), []byte(shim), 0o755)
}

// writeSudoShim puts a `sudo` ahead of the real one on the host's PATH. glibc
// drops TMPDIR from a setuid program's environment, so root scripts would use
// the machine's /tmp (as on a real host): the shim passes TMPDIR as sudo's
// VAR=value argument (sudoers keeps it), so what root leaves behind also shows
// up in the host's own TmpDir.
func writeSudoShim(path string) error {
	real, err := exec.LookPath("sudo")
	if err != nil {
		return nil // no sudo: LoginSudo fleets skip (HasSudo)
	}
	shim := "#!/bin/sh\n" +
		"# sudo stand-in on an arcfleet test host: passes TMPDIR, which glibc drops for setuid programs.\n" +
		"o=\n" +
		"while [ $# -gt 0 ]; do case $1 in -u|-g|-C|-h|-p|-U|-T|-D|-r|-t) o=\"$o $1 $2\"; shift 2;; --) shift; break;; -*) o=\"$o $1\"; shift;; *) break;; esac; done\n" +
		"[ $# -gt 0 ] && [ -n \"${TMPDIR:-}\" ] && set -- \"TMPDIR=$TMPDIR\" \"$@\"\n" +
		"exec '" + real + "' $o \"$@\"\n"
	return os.WriteFile(path, []byte(shim), 0o755)
}

func (h *Host) newHostKey() error {
	s, err := WriteKey(h.keyFile, "")
	if err != nil {
		return err
	}
	h.HostKey = s.PublicKey()
	h.HostKeyFingerprint = xssh.FingerprintSHA256(h.HostKey)
	return nil
}

// env is the host's session environment, in a stable order.
func (h *Host) env() [][2]string {
	o := h.fleet.opts
	env := [][2]string{
		{"PATH", filepath.Join(h.Dir, "bin") + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		{"AZCMAGENT_SIM_ROOT", h.Root},
		{"AZCMAGENT_SIM_HOST", h.Name},
		{"AZCMAGENT_SIM_RECORD", h.fleet.RecordFile},
		{"TMPDIR", h.TmpDir},
		// The hosts share this machine's file system: each gets its own
		// arcfleet state directory (host lock, owner and last-step records).
		{"ARCFLEET_STATE_DIR", filepath.Join(h.Dir, "arcfleet-state")},
	}
	if o.Login == LoginTest {
		env = append(env, [2]string{"AZCMAGENT_SIM_NO_ROOT", "1"})
	}
	keys := make([]string, 0, len(o.Env))
	for k := range o.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, [2]string{k, o.Env[k]})
	}
	return env
}

func (h *Host) config() string {
	pw := "no"
	if h.fleet.opts.PasswordAuth {
		pw = "yes"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ListenAddress %s\n", h.HostPort())
	if h.fleet.opts.ECDSAHostKey {
		fmt.Fprintf(&b, "HostKey %s_ecdsa\n", h.keyFile)
	}
	fmt.Fprintf(&b, "HostKey %s\nPidFile %s\nAuthorizedKeysFile %s\n", h.keyFile, filepath.Join(h.Dir, "sshd.pid"), h.fleet.authorizedKeys)
	b.WriteString("PubkeyAuthentication yes\nPasswordAuthentication " + pw + "\nPermitEmptyPasswords no\n")
	b.WriteString("KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nUseDNS no\n")
	// The default 10:30:100 drops about a third of 50 parallel handshakes.
	b.WriteString("MaxStartups 1000:30:2000\nMaxSessions 64\nLogLevel ERROR\n")
	b.WriteString("PermitRootLogin prohibit-password\nAllowTcpForwarding yes\nPrintMotd no\nPrintLastLog no\nClientAliveInterval 0\n")
	// sshd uses only the first SetEnv line, so all variables go on one.
	b.WriteString("SetEnv")
	for _, kv := range h.env() {
		fmt.Fprintf(&b, " \"%s=%s\"", kv[0], kv[1])
	}
	b.WriteString("\n")
	return b.String()
}

// start launches sshd and waits until it has bound its address (it writes its
// pid file only after binding). With move, a bind failure (another test process
// owns the address) moves the host to a new random address.
func (h *Host) start(move bool) error {
	cfg := filepath.Join(h.Dir, "sshd_config")
	pidFile := filepath.Join(h.Dir, "sshd.pid")
	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		if err := os.WriteFile(cfg, []byte(h.config()), 0o644); err != nil {
			return err
		}
		os.Remove(pidFile)
		logf, err := os.OpenFile(h.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		before, _ := logf.Seek(0, 2)
		cmd := exec.Command(SSHD, "-D", "-e", "-f", cfg)
		cmd.Stderr = logf
		// If the test binary dies, its hosts die with it.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		err = cmd.Start()
		logf.Close()
		if err != nil {
			return fmt.Errorf("%s: start sshd: %w", h.Name, err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }() //nolint:errcheck // exit status is in the log
		h.mu.Lock()
		h.cmd, h.exited = cmd, exited
		h.mu.Unlock()

		ready := false
		deadline := time.Now().Add(15 * time.Second)
	wait:
		for time.Now().Before(deadline) {
			select {
			case <-exited:
				break wait
			case <-time.After(5 * time.Millisecond):
			}
			if b, err := os.ReadFile(pidFile); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(cmd.Process.Pid) {
				ready = true
				break
			}
		}
		if ready {
			return nil
		}
		h.Kill() //nolint:errcheck
		logTail := readFrom(h.logFile, before)
		lastErr = fmt.Errorf("%s: sshd on %s did not start: %s (config %s, log %s)", h.Name, h.HostPort(), strings.TrimSpace(logTail), cfg, h.logFile)
		if !strings.Contains(logTail, "Address already in use") && !strings.Contains(logTail, "Cannot bind") {
			if out, err := exec.Command(SSHD, "-t", "-f", cfg).CombinedOutput(); err != nil {
				lastErr = fmt.Errorf("%w; sshd -t: %s", lastErr, bytes.TrimSpace(out))
			}
			return lastErr
		}
		if move {
			h.Address = addrAt(randomBase(1))
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	return lastErr
}

// Stop terminates the host's sshd and every connection and command under it
// (SIGTERM), and waits until the listener is gone.
func (h *Host) Stop() error { return h.signalTree(syscall.SIGTERM) }

// Kill kills the host's sshd, its connections and their commands at once
// (SIGKILL), as a crash would: clients see the connection drop.
func (h *Host) Kill() error { return h.signalTree(syscall.SIGKILL) }

func (h *Host) signalTree(sig syscall.Signal) error {
	h.mu.Lock()
	cmd, exited := h.cmd, h.exited
	h.cmd = nil
	h.mu.Unlock()
	if cmd == nil {
		return nil
	}
	pids := procTree(cmd.Process.Pid)
	signalAll(pids, sig)
	signalAll(pids, syscall.SIGCONT) // a frozen host must wake to die of SIGTERM
	select {
	case <-exited:
		return nil
	case <-time.After(10 * time.Second):
		signalAll(procTree(cmd.Process.Pid), syscall.SIGKILL)
		<-exited
		return fmt.Errorf("%s: sshd (pid %d) ignored %v for 10s; killed", h.Name, cmd.Process.Pid, sig)
	}
}

// Freeze stops (SIGSTOP) the host's sshd and everything under it: TCP stays up
// but nothing answers, as with a hung host. Thaw resumes it.
func (h *Host) Freeze() { h.signalAllLive(syscall.SIGSTOP) }

// Thaw resumes a frozen host.
func (h *Host) Thaw() { h.signalAllLive(syscall.SIGCONT) }

func (h *Host) signalAllLive(sig syscall.Signal) {
	h.mu.Lock()
	cmd := h.cmd
	h.mu.Unlock()
	if cmd != nil {
		signalAll(procTree(cmd.Process.Pid), sig)
	}
}

// Pid is the sshd listener's pid (0 when stopped).
func (h *Host) Pid() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd == nil {
		return 0
	}
	return h.cmd.Process.Pid
}

// KillSSHD kills only the host's sshd processes (the listener and every
// session's sshd), as a crash or an upgrade of sshd would: clients see their
// connections drop, and the commands those sessions started live on,
// re-parented to init. Start brings sshd back.
func (h *Host) KillSSHD() error {
	h.mu.Lock()
	cmd, exited := h.cmd, h.exited
	h.cmd = nil
	h.mu.Unlock()
	if cmd == nil {
		return nil
	}
	var sshd []int
	for _, p := range procTree(cmd.Process.Pid) {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/comm"); err == nil && strings.TrimSpace(string(b)) == "sshd" {
			sshd = append(sshd, p)
		}
	}
	signalAll(sshd, syscall.SIGKILL)
	select {
	case <-exited:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s: sshd (pid %d) did not die of SIGKILL", h.Name, cmd.Process.Pid)
	}
}

// Start starts a stopped or killed host again at the same address and key.
func (h *Host) Start() error { return h.start(false) }

// Restart kills the host and starts it again at the same address; with
// newHostKey it gets a new host key first (the fleet's known_hosts keeps the old
// one, so a strict client must refuse it as changed).
func (h *Host) Restart(newHostKey bool) error {
	if err := h.Kill(); err != nil {
		return err
	}
	if newHostKey {
		if err := h.newHostKey(); err != nil {
			return err
		}
	}
	return h.start(false)
}

// randomBase picks a run of n free-looking host indexes in 127.10.0.0-127.250.255.255,
// so parallel test processes rarely collide (start retries when they do).
func randomBase(n int) int {
	const lo, hi = 10 * 256 * 254, 251 * 256 * 254
	return lo + mrand.IntN(hi-lo-2*n)
}

// addrAt maps index i to 127.a.b.c, skipping c = 0 and 255.
func addrAt(i int) string {
	block, off := i/254, i%254
	return fmt.Sprintf("127.%d.%d.%d", (block>>8)&0xff, block&0xff, off+1)
}

func readFrom(path string, off int64) string {
	b, err := os.ReadFile(path)
	if err != nil || off > int64(len(b)) {
		return ""
	}
	return string(b[off:])
}

func writeWorldWritable(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o666); err != nil {
		return err
	}
	return os.Chmod(path, 0o666)
}
