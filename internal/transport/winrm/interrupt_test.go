package winrm

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/testbed/winrmtest"
)

// TestCancelRunsCleanup: a cancelled command gets Ctrl+C before it is
// terminated, so a script's cleanup runs (arcfleet's scripts remove the
// --config file holding the secret in a finally block / EXIT trap). Terminate
// alone (SIGKILL here, TerminateProcess on Windows) would leave the file.
func TestCancelRunsCleanup(t *testing.T) {
	s := start(t, winrmtest.Options{HTTPS: true})
	c := dial(t, &Dialer{}, target(s, "ntlm"))
	dir := t.TempDir()
	script := `D=$(mktemp -d "` + dir + `/cfg.XXXXXX") || exit 125
trap 'rm -rf "$D"' EXIT
trap 'kill "$P" 2>/dev/null; exit 130' INT
echo secret >"$D/config.json"
echo "$D"
sleep 30 </dev/null &
P=$!
wait "$P"`
	ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	t0 := time.Now()
	_, err := c.Run(ctx, script, nil, &out, nil)
	if k := transport.KindOf(err); k != transport.Timeout {
		t.Fatalf("kind %q, want timeout: %v", k, err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("Run returned after %s", d)
	}
	cfg := strings.TrimSpace(out.String())
	if !strings.HasPrefix(cfg, dir) {
		t.Fatalf("the script did not start: %q", cfg)
	}
	if _, err := os.Stat(filepath.Join(cfg, "config.json")); err == nil {
		t.Error("the cancelled script's config file is still on the host: its cleanup never ran")
	}
	if n := s.Running(); n != 0 {
		t.Errorf("%d commands still running", n)
	}
}

// TestCancelIgnoredCtrlC: a command that ignores Ctrl+C is terminated after
// the grace, so Run still returns promptly and nothing is left running.
func TestCancelIgnoredCtrlC(t *testing.T) {
	s := start(t, winrmtest.Options{HTTPS: true})
	c := dial(t, &Dialer{}, target(s, "ntlm"))
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := c.Run(ctx, `trap '' INT; sleep 30 </dev/null & wait`, nil, nil, nil)
	if k := transport.KindOf(err); k != transport.Timeout {
		t.Fatalf("kind %q, want timeout: %v", k, err)
	}
	if d := time.Since(t0); d < interruptGrace || d > interruptGrace+3*time.Second {
		t.Errorf("Run returned after %s, want the %s grace and a little more", d, interruptGrace)
	}
	if n := s.Running(); n != 0 {
		t.Errorf("%d commands still running", n)
	}
}
