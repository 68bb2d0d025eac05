//go:build unix

package executor

import (
	"errors"
	"os"
	"syscall"
)

// errLocked: another process holds the run directory's lock.
var errLocked = errors.New("locked by another process")

// lockFile takes an exclusive, non-blocking flock on f, held until f is closed
// (also when the process is killed).
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errLocked
		}
		return err
	}
}
