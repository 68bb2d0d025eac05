package ssh_test

import (
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
