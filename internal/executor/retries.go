package executor

import (
	"errors"
	"os"
	"path/filepath"
)

// CountRetries is the number of retries recorded in runDir's journal (every
// host, every apply and resume of the run), for metrics. A torn last line is
// ignored as resume ignores it.
func CountRetries(runDir string) (int, error) {
	recs, _, err := readJournal(filepath.Join(runDir, JournalFile))
	n := 0
	for _, r := range recs {
		if r.Event == evRetry {
			n++
		}
	}
	return n, err
}

// InUse reports whether an arcfleet process holds runDir's lock now (an apply
// or resume is running in it), for readers such as `report merge` that must not
// take a running shard's old report for its result. It takes the lock for an
// instant to find out, so an apply or resume starting at that very moment on
// the same directory could be refused ("in use"); where flock is missing it
// always reports false.
func InUse(runDir string) (bool, error) {
	f, err := os.Open(filepath.Join(runDir, JournalFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	defer f.Close() // releases the lock if we got it
	err = lockFile(f)
	if errors.Is(err, errLocked) {
		return true, nil
	}
	return false, err
}
