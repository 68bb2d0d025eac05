package ssh_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/transport/ssh"
)

// TestSudoGuardTermThenKill runs SudoGuard locally with an outer shell standing
// in for sudo, and SIGKILLs that shell as a cancel does when sudo does not pass
// the signal on: the guard sends SIGTERM, so the script's trap removes its file
// (the secret's config on a real host), then SIGKILL for a script that ignores
// SIGTERM. The guard's own process must not outlive that.
func TestSudoGuardTermThenKill(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		trap    string
		removed bool
	}{
		{"trap runs", `trap 'rm -f "$F"; exit 143' TERM`, true},
		{"TERM ignored", `trap '' TERM`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file, ready := filepath.Join(dir, "config"), filepath.Join(dir, "ready")
			script := ssh.SudoGuard + tc.trap + "\nF=" + file + "; touch \"$F\"; sleep 100 & echo $! >" + ready + "; wait\n"
			// The outer sh stays the script's parent (it does not exec: `; :`).
			sudo := exec.Command("sh", "-c", `sh -c "$1"; :`, "sudo", script)
			// As sshd: a process group of its own, which the guard's `kill 0` targets.
			sudo.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := sudo.Start(); err != nil {
				t.Fatal(err)
			}
			pgid := sudo.Process.Pid
			t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
			deadline := time.Now().Add(5 * time.Second)
			for {
				if b, err := os.ReadFile(ready); err == nil && len(b) > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the script did not start")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err := sudo.Process.Kill(); err != nil { // sudo alone dies
				t.Fatal(err)
			}
			_ = sudo.Wait()
			start := time.Now()
			for syscall.Kill(-pgid, 0) == nil { // until the whole group is gone
				if time.Since(start) > 6*time.Second {
					t.Fatal("the guarded script's process group outlived sudo by 6 s")
				}
				time.Sleep(20 * time.Millisecond)
			}
			_, err := os.Stat(file)
			if removed := os.IsNotExist(err); removed != tc.removed {
				t.Errorf("file removed by the trap: %v, want %v", removed, tc.removed)
			}
		})
	}
}

// TestSudoGuardNormalEnd: a guarded script that ends normally keeps its exit
// status. The guard then waits for sudo and for the process group's leader
// (the login shell above sudo, which exits with sudo's status) before it
// cleans up the group: here the leader lingers 3 s after sudo, longer than the
// guard's 1 s poll, as a loaded host's shell may linger for a moment. A guard
// that signalled the group as soon as sudo was gone killed the leader (the
// session's exit status became 143, SIGTERM). What the script left running in
// the background is still cleaned up once the leader has gone.
func TestSudoGuardNormalEnd(t *testing.T) {
	t.Parallel()
	tok := fmt.Sprintf("%d", time.Now().UnixNano()%1000000)
	script := ssh.SudoGuard + "sleep 1005." + tok + " >/dev/null 2>&1 &\nexit 7\n"
	// leader -> "sudo" -> script, none exec'ing the next, as sshd's login
	// shell runs `sh -c 'exec sudo -n sh -c SCRIPT'`.
	leader := exec.Command("sh", "-c", `sh -c 'sh -c "$1"; exit $?' sudo "$1"; s=$?; sleep 3; exit $s`, "leader", script)
	leader.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // sshd's session: a group led by the login shell
	if err := leader.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := leader.Process.Pid
	t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
	err := leader.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		t.Fatal("exit status 0, want 7")
	case !errors.As(err, &ee):
		t.Fatal(err)
	case ee.ExitCode() != 7:
		t.Fatalf("the leader ended with %v, want exit status 7 (the guard signalled it while it was ending)", ee)
	}
	start := time.Now()
	for syscall.Kill(-pgid, 0) == nil { // the guard, and the script's leftover sleep
		if time.Since(start) > 8*time.Second {
			out, _ := exec.Command("pgrep", "-af", "sleep 1005\\."+tok).Output()
			t.Fatalf("the group outlived its leader by 8 s: the guard did not clean up (%s)", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
