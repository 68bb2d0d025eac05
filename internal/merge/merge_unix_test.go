//go:build unix

package merge

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A shard whose run is going on (its journal locked) is unfinished whatever
// its report.json says.
func TestMergeRefusesRunningShard(t *testing.T) {
	root := t.TempDir()
	d0 := writeShard(t, root, 0, 2, nil, nil, nil)
	d1 := writeShard(t, root, 1, 2, nil, nil, nil)
	f, err := os.OpenFile(filepath.Join(d1, "journal.jsonl"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	_, err = Merge(readAll(t, d0, d1), filepath.Join(root, "out"), false)
	if err == nil || !strings.Contains(err.Error(), "shard 1/2") || !strings.Contains(err.Error(), "running in it now") {
		t.Fatalf("merge of a running shard: %v", err)
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if _, err := Merge(readAll(t, d0, d1), filepath.Join(root, "out"), false); err != nil {
		t.Errorf("after the run: %v", err)
	}
}
