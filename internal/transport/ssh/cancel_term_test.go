package ssh_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/internal/transport/ssh"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
)

// TestCancelTerm: a canceled Run asks for SIGTERM to the command's process
// group, so a script's trap can clean up (arcfleet's connect script removes
// its --config file, which holds the secret), and says so with the exit status
// when the session ends within the stop wait. A command that ignores SIGTERM
// is left to the caller: Run returns within the stop wait saying the command
// may still run, and a second command on the same connection stops it.
func TestCancelTerm(t *testing.T) {
	f := sshtest.StartFleet(t, 1, sshtest.FleetOptions{})
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil { // the login user is not root
		t.Fatal(err)
	}
	const wait = 500 * time.Millisecond
	c := dial(t, &ssh.Dialer{StopWait: wait}, f.Hosts[0].Target())
	for _, tc := range []struct {
		name     string
		trap     string // the script's TERM handling
		wantHint string
		removed  bool
	}{
		{"trap cleans up", `trap 'rm -f "$F"; exit 143' TERM`, "the session then ended with exit status 143", true},
		{"TERM ignored", `trap '' TERM`, "did not end within 500ms", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := fmt.Sprintf("%d", time.Now().UnixNano()%1000000)
			file := filepath.Join(dir, "config-"+tok)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// The sleep runs in the background so the shell's trap runs at
			// once. The test cancels once it runs as sleep: a SIGTERM between
			// its fork and its exec would be caught by the shell's trap
			// handler, copied into the child, and lost. $$ is the session's
			// process group, as the caller stops it.
			script := fmt.Sprintf(`F=%s; %s; touch "$F"; sleep 1002.%s & echo $$; wait`, file, tc.trap, tok)
			pgid := make(chan string, 1)
			out := &lineWriter{line: func(l string) {
				select {
				case pgid <- l:
					go func() {
						waitProc(t, "^sleep 1002\\."+tok)
						cancel()
					}()
				default:
				}
			}}
			start := time.Now()
			_, err := c.Run(ctx, script, nil, out, io.Discard)
			d := time.Since(start)
			te := checkErr(t, err, transport.Canceled)
			if !strings.Contains(te.Hint, tc.wantHint) {
				t.Errorf("hint %q, want %q", te.Hint, tc.wantHint)
			}
			if !tc.removed && !strings.Contains(te.Hint, "may still be running on the host; the caller must stop it") {
				t.Errorf("hint %q does not say the command may still run", te.Hint)
			}
			_, serr := os.Stat(file)
			if removed := os.IsNotExist(serr); removed != tc.removed {
				t.Errorf("file removed by the trap: %v, want %v", removed, tc.removed)
			}
			if d > 5*time.Second { // the wait (0.5 s), with a margin for a loaded machine
				t.Errorf("Run returned after %v", d)
			}
			if !tc.removed {
				// The caller's stop: a new session on the same connection.
				r := run(context.Background(), c, "kill -9 -"+<-pgid, nil)
				if r.err != nil || r.code != 0 {
					t.Fatalf("kill the process group: %d %q %v", r.code, r.errOut, r.err)
				}
			}
			pgrepGone(t, "sleep 1002\\."+tok)
		})
	}
}

// TestCancelRootLogin: sshd refuses session signals for root logins, so a
// canceled Run returns at once saying so, and the command runs on until the
// caller stops it with a second command on the same connection, which then
// runs ten more commands (three rounds of it on one connection).
func TestCancelRootLogin(t *testing.T) {
	f := sshtest.StartFleet(t, 1, sshtest.FleetOptions{Login: sshtest.LoginRoot})
	c := dial(t, &ssh.Dialer{}, f.Hosts[0].Target())
	tok := fmt.Sprintf("%d", time.Now().UnixNano()%1000000)
	for i := range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		pids := make(chan int, 1)
		var canceled time.Time // root's login shell may take seconds to start: time from the cancel
		out := &lineWriter{line: func(l string) {
			if pid, err := strconv.Atoi(l); err == nil {
				pids <- pid
				canceled = time.Now()
				cancel()
			}
		}}
		_, err := c.Run(ctx, "echo $$; exec sleep 300."+tok, nil, out, io.Discard)
		d := time.Since(canceled)
		cancel()
		te := checkErr(t, err, transport.Canceled)
		if !strings.Contains(te.Hint, "sshd refused to signal the command") || !strings.Contains(te.Hint, "may still be running on the host; the caller must stop it") {
			t.Fatalf("round %d: hint %q", i, te.Hint)
		}
		pid := <-pids
		if d > 3*time.Second { // at once, as sshd refuses; a margin for a loaded machine
			t.Errorf("round %d: Run returned %v after the cancel", i, d)
		}
		if !alive(pid) {
			t.Fatalf("round %d: the command (pid %d) is gone: the test shows nothing", i, pid)
		}
		r := run(context.Background(), c, fmt.Sprintf("kill -KILL %d", pid), nil)
		if r.err != nil || r.code != 0 {
			t.Fatalf("round %d: kill over the same connection: %d %q %v", i, r.code, r.errOut, r.err)
		}
		pgrepGone(t, "sleep 300\\."+tok)
		for j := range 10 {
			r := run(context.Background(), c, fmt.Sprintf("echo %d", j), nil)
			if r.err != nil || r.code != 0 || r.out != fmt.Sprintf("%d\n", j) {
				t.Fatalf("round %d: command %d after the cancel: %d %q %v", i, j, r.code, r.out, r.err)
			}
		}
	}
}

// waitProc waits (up to 10 s) until a process's command line matches pattern.
func waitProc(t *testing.T, pattern string) {
	for range 500 {
		if exec.Command("pgrep", "-f", pattern).Run() == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("no process matches %q", pattern)
}

// alive reports whether process pid exists and is not a zombie (the test
// hosts run on this machine).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}

// lineWriter calls line with each complete line written to it.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	line func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		l, rest, ok := strings.Cut(string(w.buf), "\n")
		if !ok {
			break
		}
		w.buf = []byte(rest)
		w.line(l)
	}
	return len(p), nil
}
