package planner

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// update rewrites golden files: go test ./planner -run Golden -update
var update = flag.Bool("update", false, "rewrite the planner's testdata/*.golden files")

// golden compares got with testdata/NAME (rewriting it under -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./planner -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the output (run with -update after checking the change):\n--- got ---\n%s", path, got)
	}
}
