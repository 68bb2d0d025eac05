package winrmtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTempDir: commands get the server's own TMPDIR unless Options.Env sets one,
// so what a script leaves in its temp dir shows up per emulated host.
func TestTempDir(t *testing.T) {
	own := t.TempDir()
	for _, tc := range []struct {
		name string
		env  []string
		want func(s *Server) string
	}{
		{"default", nil, func(s *Server) string { return filepath.Join(s.Dir, "tmp") }},
		{"host env without TMPDIR", []string{"PATH=/usr/bin:/bin"}, func(s *Server) string { return filepath.Join(s.Dir, "tmp") }},
		{"host env with TMPDIR", []string{"PATH=/usr/bin:/bin", "TMPDIR=" + own}, func(*Server) string { return own }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Start(t, Options{Env: tc.env})
			if want := tc.want(s); s.TempDir != want {
				t.Fatalf("TempDir %q, want %q", s.TempDir, want)
			}
			var out, errb bytes.Buffer
			code, err := masterzenClient(t, s, "PT5S", nil).Run(`echo "$TMPDIR"; mktemp -d`, &out, &errb)
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if err != nil || code != 0 || len(lines) != 2 || lines[0] != s.TempDir || filepath.Dir(lines[1]) != s.TempDir {
				t.Fatalf("got %d %q %q %v, want TMPDIR %s and a temp dir in it", code, out.String(), errb.String(), err, s.TempDir)
			}
			if _, err := os.Stat(lines[1]); err != nil {
				t.Fatal(err)
			}
		})
	}
}
