package sshtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// BuildSim builds ./testbed/azcmagent-sim once per test process and returns the
// binary's path (world-executable, so non-root test logins can run it).
//
// The binary lives in $TMPDIR/arcfleet-sim-PID, guarded by a lock file, rather
// than in a package variable: later calls in the same process find it there, and
// directories left by dead test processes are removed.
func BuildSim(t TB) string {
	t.Helper()
	p, err := buildSim()
	if err != nil {
		t.Fatalf("sshtest.BuildSim: %v", err)
	}
	return p
}

func buildSim() (string, error) {
	tmp := os.TempDir()
	dir := filepath.Join(tmp, "arcfleet-sim-"+strconv.Itoa(os.Getpid()))
	bin := filepath.Join(dir, "azcmagent-sim")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	if fi, err := os.Stat(bin); err == nil && fi.Mode()&0o111 != 0 {
		return bin, nil
	}
	reapStaleSims(tmp)

	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the arcfleet module (go env GOMOD is empty)")
	}
	tmpBin := bin + ".tmp"
	cmd := exec.Command("go", "build", "-o", tmpBin, "./testbed/azcmagent-sim")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./testbed/azcmagent-sim in %s: %v\n%s", cmd.Dir, err, bytes.TrimSpace(out))
	}
	if err := os.Chmod(tmpBin, 0o755); err != nil {
		return "", err
	}
	return bin, os.Rename(tmpBin, bin)
}

// reapStaleSims removes arcfleet-sim-PID dirs whose process is gone.
func reapStaleSims(tmp string) {
	ents, _ := os.ReadDir(tmp)
	for _, e := range ents {
		pid, ok := strings.CutPrefix(e.Name(), "arcfleet-sim-")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(pid)
		if err != nil || n == os.Getpid() {
			continue
		}
		if _, err := os.Stat(filepath.Join("/proc", pid)); os.IsNotExist(err) {
			os.RemoveAll(filepath.Join(tmp, e.Name()))
		}
	}
}
