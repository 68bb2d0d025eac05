package ssh_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/internal/transport/ssh"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
)

// TestCancelTermThenKill: a canceled Run sends SIGTERM first, so a script's trap
// can clean up (arcfleet's connect script removes its --config file, which holds
// the secret); a command that ignores SIGTERM is killed after the grace anyway.
func TestCancelTermThenKill(t *testing.T) {
	f := sshtest.StartFleet(t, 1, sshtest.FleetOptions{})
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil { // the login user is not root
		t.Fatal(err)
	}
	const grace = 500 * time.Millisecond
	c := dial(t, &ssh.Dialer{KillGrace: grace}, f.Hosts[0].Target())
	for _, tc := range []struct {
		name     string
		trap     string // the script's TERM handling
		wantHint string
		removed  bool
		maxTime  time.Duration
	}{
		{"trap cleans up", `trap 'rm -f "$F"; exit 143' TERM`, "(SIGTERM to its process group)", true, grace},
		{"TERM ignored", `trap '' TERM`, "SIGKILL", false, grace + 1500*time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := fmt.Sprintf("%d", time.Now().UnixNano()%1000000)
			file := filepath.Join(dir, "config-"+tok)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// The sleep runs in the background so the shell's trap runs at once.
			script := fmt.Sprintf(`F=%s; %s; touch "$F"; sleep 1002.%s & wait`, file, tc.trap, tok)
			go func() {
				for range 200 {
					if _, err := os.Stat(file); err == nil {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				cancel()
			}()
			start := time.Now()
			r := run(ctx, c, script, nil)
			d := time.Since(start)
			te := checkErr(t, r.err, transport.Canceled)
			if !strings.Contains(te.Hint, tc.wantHint) || !strings.Contains(te.Hint, "to its process group)") {
				t.Errorf("hint %q, want %q", te.Hint, tc.wantHint)
			}
			_, err := os.Stat(file)
			if removed := os.IsNotExist(err); removed != tc.removed {
				t.Errorf("file removed by the trap: %v, want %v", removed, tc.removed)
			}
			if d > tc.maxTime {
				t.Errorf("Run returned after %v, want <= %v", d, tc.maxTime)
			}
			pgrepGone(t, "sleep 1002\\."+tok)
		})
	}
}
