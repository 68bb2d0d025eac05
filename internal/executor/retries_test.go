package executor

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCountRetries(t *testing.T) {
	dir := t.TempDir()
	journal := `{"t":"2026-12-04T10:00:00Z","event":"run-start","detail":"apply"}
{"t":"2026-12-04T10:00:01Z","event":"retry","host":"web01","try":1}
{"t":"2026-12-04T10:00:02Z","event":"done","host":"web02","outcome":"ok"}
{"t":"2026-12-04T10:00:03Z","event":"retry","host":"web01","try":2}
{"t":"2026-12-04T10:00:04Z","event":"run-start","detail":"resume"}
{"t":"2026-12-04T10:00:05Z","event":"retry","host":"web03","try":1}
{"t":"2026-12-04T10:00:06Z","event":"ret`
	if err := os.WriteFile(filepath.Join(dir, JournalFile), []byte(journal), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := CountRetries(dir)
	if err != nil || n != 3 {
		t.Fatalf("CountRetries = %d, %v; want 3 (the torn last line ignored)", n, err)
	}
	if _, err := CountRetries(filepath.Join(dir, "nope")); err == nil {
		t.Fatal("no journal: want an error")
	}
}

func TestInUse(t *testing.T) {
	dir := t.TempDir()
	if busy, err := InUse(dir); busy || err != nil {
		t.Fatalf("no journal: InUse = %v, %v", busy, err)
	}
	j, _, err := openJournal(filepath.Join(dir, JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	if busy, err := InUse(dir); !busy || err != nil {
		t.Errorf("journal open by a run: InUse = %v, %v; want true", busy, err)
	}
	j.close()
	if busy, err := InUse(dir); busy || err != nil {
		t.Errorf("after the run: InUse = %v, %v; want false", busy, err)
	}
	// InUse let go of the lock: a run can take the directory.
	j, _, err = openJournal(filepath.Join(dir, JournalFile))
	if err != nil {
		t.Fatalf("after InUse: %v", err)
	}
	j.close()
}
