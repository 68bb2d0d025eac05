package executor

import "path/filepath"

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
