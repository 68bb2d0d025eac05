//go:build unix

package ssh

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive flock, so arcfleet processes sharing a
// known_hosts file append one at a time.
func lockFile(f *os.File) error   { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }
func unlockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
