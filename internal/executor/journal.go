package executor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/arcfleet/arcfleet/internal/results"
)

// JournalFile is the name of the journal in a run directory.
const JournalFile = "journal.jsonl"

// Journal record events.
const (
	evRunStart     = "run-start"     // Apply or Resume began (Detail: which)
	evStarted      = "started"       // a host was launched
	evAttemptBegin = "attempt-begin" // a remote step is about to run
	evAttemptEnd   = "attempt-end"   // that step ended (Code, Class, ExitCode, Duration)
	evDone         = "done"          // the host finished: resume never runs it again
	evInterrupted  = "interrupted"   // the run was interrupted while the host was in flight
	evNotStarted   = "not-started"   // the host was never launched (breaker, canary, deadline)
	evRetry        = "retry"         // a failed try will be followed by another (Try: tries so far), so resume keeps the count
)

// attemptNumbering is the journal's attempt numbering (journalRecord.Numbering):
// 2 since an attempt is a try of the host's action. Before (absent), a
// host's dials and steps were numbered in one sequence.
const attemptNumbering = 2

// journalRecord is one line of journal.jsonl: one host state change. Text fields
// are masked before they get here; no record ever holds a secret.
type journalRecord struct {
	T     time.Time `json:"t"`
	Event string    `json:"event"`
	Host  string    `json:"host,omitempty"`
	Step  string    `json:"step,omitempty"`
	// Attempt is the host's try of its action the record belongs to, 1 for
	// the first (what users read as "attempt 2"), counted across resumes.
	// Journals of runs before numbering 2 (see Numbering) hold a per-host
	// sequence of dials and steps instead; priorFromJournal converts them.
	Attempt int `json:"attempt,omitempty"`
	// Numbering is on run-start records: 2 since attempts count tries of the
	// action; 0 (absent) for journals written before.
	Numbering int             `json:"numbering,omitempty"`
	Try       int             `json:"try,omitempty"`    // retry: failed tries of the host so far
	Started   time.Time       `json:"started,omitzero"` // attempt-end: when the attempt began
	ExitCode  int             `json:"exit_code,omitempty"`
	Code      string          `json:"code,omitempty"`
	Class     results.Class   `json:"class,omitempty"`
	Duration  time.Duration   `json:"duration_ns,omitempty"`
	Outcome   results.Outcome `json:"outcome,omitempty"`
	Detail    string          `json:"detail,omitempty"`
	Msg       *results.Msg    `json:"msg,omitempty"` // Detail as a message (results/msg.go), for the report's language
	Evidence  []string        `json:"evidence,omitempty"`
	LogPath   string          `json:"log_path,omitempty"`
	// External: done, blocked by a check outside the plan (Executor.Blocked).
	External bool `json:"external,omitempty"`
}

// journal appends records to journal.jsonl, each durable (fsync'd) before
// append returns. Concurrent appends share one write+fsync (group commit), so
// thousands of hosts do not queue behind one fsync each.
type journal struct {
	f *os.File

	mu      sync.Mutex
	cond    *sync.Cond
	pending []byte
	seq     uint64 // records appended
	synced  uint64 // records written and fsync'd
	syncing bool
	err     error // first write/sync error; later appends fail with it
}

// openJournal opens (creating) path for appending and locks it for the life of
// the journal: two arcfleet processes on one run directory would both act on
// its hosts. It returns the complete records already there. A torn last line
// left by a crash is cut off first, so new records start on a line of their own.
func openJournal(path string) (*journal, []journalRecord, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		dir := filepath.Dir(path)
		if errors.Is(err, errLocked) {
			return nil, nil, fmt.Errorf("run directory %s is in use by another arcfleet process (%s is locked); fix: wait for that run to end, or choose another --run-dir", dir, JournalFile)
		}
		return nil, nil, fmt.Errorf("journal %s: locking: %w", path, err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("journal %s: %w", path, err)
	}
	recs, valid, err := parseJournal(path, data)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if err := f.Truncate(valid); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("journal %s: cutting the torn last line: %w", path, err)
	}
	if _, err := f.Seek(valid, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("journal %s: %w", path, err)
	}
	j := &journal{f: f}
	j.cond = sync.NewCond(&j.mu)
	return j, recs, nil
}

// append writes rec and returns once it is on disk.
func (j *journal) append(rec journalRecord) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	line = append(line, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	j.pending = append(j.pending, line...)
	j.seq++
	mine := j.seq
	for j.synced < mine && j.err == nil {
		if j.syncing {
			j.cond.Wait()
			continue
		}
		// Lead: write everything pending in one write and one fsync.
		j.syncing = true
		buf, upto := j.pending, j.seq
		j.pending = nil
		j.mu.Unlock()
		_, werr := j.f.Write(buf)
		if werr == nil {
			werr = j.f.Sync()
		}
		j.mu.Lock()
		j.syncing = false
		if werr != nil {
			j.err = fmt.Errorf("journal %s: %w", j.f.Name(), werr)
		} else {
			j.synced = upto
		}
		j.cond.Broadcast()
	}
	return j.err
}

// close ends the journal and releases its lock.
func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.f.Close()
}

// readJournal reads every complete record of path. valid is the length of the
// file up to the end of the last record; a torn last line (cut by SIGKILL or a
// power loss) is ignored. A damaged line before the last is an error, naming it.
func readJournal(path string) (recs []journalRecord, valid int64, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	return parseJournal(path, data)
}

func parseJournal(name string, data []byte) (recs []journalRecord, valid int64, err error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	var off int64
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Bytes()
		end := off + int64(len(line))
		complete := end < int64(len(data)) // followed by '\n'
		if complete {
			end++
		}
		if len(bytes.TrimSpace(line)) == 0 {
			off = end
			if complete {
				valid = end
			}
			continue
		}
		var r journalRecord
		if uerr := json.Unmarshal(line, &r); uerr != nil || r.Event == "" {
			if !complete {
				break // torn last line: the crash happened mid-write
			}
			if uerr == nil {
				uerr = errors.New("no event")
			}
			return recs, valid, fmt.Errorf("%s:%d: damaged journal record: %v; fix: move the run directory aside and start a new run, or delete that line", name, lineNo, uerr)
		}
		if !complete {
			// A whole record without its newline: its append never returned, so
			// nothing relied on it; treat it as torn like any partial line.
			break
		}
		recs = append(recs, r)
		off = end
		valid = end
	}
	if serr := sc.Err(); serr != nil {
		return recs, valid, fmt.Errorf("%s:%d: %v", name, lineNo+1, serr)
	}
	return recs, valid, nil
}
