// Package golden compares rendered output with files under testdata/, and
// rewrites them when asked (go test ./PKG -update). Like net/http/httptest it
// imports no package testing: T is the part of testing.TB it needs.
package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// T is the subset of testing.TB that Check uses.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
}

// Check compares got with testdata/name, or writes it there when update is set.
func Check(t T, update bool, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("%v", err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("%v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the output (check the change, then run with -update): %s", path, FirstDiff(string(want), string(got)))
	}
}

// FirstDiff names the first line where want and got differ.
func FirstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n want: %.300q\n  got: %.300q", i+1, wl, gl)
		}
	}
	return "(no line differs)"
}
