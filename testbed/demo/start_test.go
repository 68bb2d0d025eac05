package demo

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartFailureReturnsError: a Start that fails, before or after it has
// started hosts, returns the error (and stops what it started) rather than
// panicking on the nil Fleet its named result holds by then.
func TestStartFailureReturnsError(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"before any host", Options{Sim: "/nonexistent/azcmagent-sim", Dir: notDir, Hosts: []HostSpec{{Name: "l1", OS: "linux"}}}, "not a directory"},
		{"after a WinRM host started", Options{Sim: "/nonexistent/azcmagent-sim", Dir: filepath.Join(dir, "fleet"), InProcessAgent: true, Hosts: []HostSpec{
			{Name: "w1", OS: "windows"},
			{Name: "l1", OS: "linux", Scenario: map[string]any{"slow": "soon"}},
		}}, "slow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Start(context.Background(), tc.o)
			if err == nil || f != nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start = %v, %v; want a nil fleet and an error containing %q", f, err, tc.want)
			}
		})
	}
}
