package sshtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
)

// Login users of the test hosts. They are created once per machine (idempotent,
// serialised by a lock file across test processes) with /bin/sh as shell, so a
// command costs no login start-up files.
const (
	// TestUser is the default login: not root; the simulator runs with
	// AZCMAGENT_SIM_NO_ROOT=1.
	TestUser = "arcfleet-t"
	// SudoUser is not root but may run anything via `sudo -n` (become: sudo);
	// sudo keeps PATH, TMPDIR and the AZCMAGENT_* and ARCFLEET_* variables.
	SudoUser = "arcfleet-sudo"
	// TestPassword is the login password of TestUser and SudoUser, used when
	// FleetOptions.PasswordAuth is set. It doubles as a sentinel: it must never
	// show up in an error, log or report.
	TestPassword = "arcfleet-SENTINEL-pw-7d1c5e"
)

const sudoersFile = "/etc/sudoers.d/arcfleet-sshtest"

const sudoersText = `# Written by arcfleet's testbed/sshtest for its test hosts (become: sudo).
Defaults:` + SudoUser + ` !secure_path, !requiretty, !lecture, env_keep += "PATH TMPDIR AZCMAGENT_* ARCFLEET_*"
` + SudoUser + ` ALL=(ALL) NOPASSWD: ALL
`

// ensureUsers creates the test login users and the sudoers drop-in when missing.
// Test processes of several packages run at once, and useradd fails when another
// holds /etc/passwd's lock, so the work is serialised with flock.
func ensureUsers() error {
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "arcfleet-sshtest-users.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it too

	for _, name := range []string{TestUser, SudoUser} {
		if _, err := user.Lookup(name); err == nil {
			continue
		}
		if out, err := exec.Command("useradd", "-m", "-s", "/bin/sh", name).CombinedOutput(); err != nil {
			return fmt.Errorf("useradd %s: %v: %s", name, err, bytes.TrimSpace(out))
		}
		// With UsePAM no a locked account ("!") cannot log in even by key; a
		// password also enables the password-auth tests. It goes via stdin, not argv.
		cmd := exec.Command("chpasswd")
		cmd.Stdin = strings.NewReader(name + ":" + TestPassword + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("chpasswd %s: %v: %s", name, err, bytes.TrimSpace(out))
		}
	}
	if _, err := exec.LookPath("visudo"); err != nil {
		return nil // no sudo on this machine: become-sudo tests skip (see HasSudo)
	}
	if cur, err := os.ReadFile(sudoersFile); err != nil || string(cur) != sudoersText {
		tmp := sudoersFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(sudoersText), 0o440); err != nil {
			return err
		}
		if out, err := exec.Command("visudo", "-cf", tmp).CombinedOutput(); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("visudo -cf %s: %v: %s", tmp, err, bytes.TrimSpace(out))
		}
		if err := os.Rename(tmp, sudoersFile); err != nil {
			return err
		}
	}
	return nil
}
