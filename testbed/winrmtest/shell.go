package winrmtest

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // UUID v4, as Windows hands out
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%X-%X-%X-%X-%X", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// shell is one WinRS shell (MS-WSMV 3.1.4.5); it holds the commands started in it.
type shell struct {
	id    string
	owner string
	env   []string // from rsp:Environment
	dir   string   // from rsp:WorkingDirectory

	mu       sync.Mutex
	commands map[string]*command
}

func (sh *shell) command(id string) *command {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.commands[id]
}

// maxBuffered bounds output held for a client that does not Receive: the
// process then blocks on write, as on Windows where WinRS stops reading.
const maxBuffered = 4 << 20

// command is one process started by a Command request (MS-WSMV 3.1.4.11).
type command struct {
	id   string
	proc *exec.Cmd // nil for a refused command line
	pid  int

	stdinMu sync.Mutex
	stdin   io.WriteCloser

	mu       sync.Mutex
	cond     *sync.Cond // writers wait here while the buffer is full
	stdout   []byte
	stderr   []byte
	exited   bool
	exitCode int
	discard  bool          // killed: drop output, never block writers
	changed  chan struct{} // closed and replaced on every change, for long-polling readers
	dropped  bool          // DropMidCommand already done
	waitDone chan struct{}
}

func newCommand(id string) *command {
	c := &command{id: id, changed: make(chan struct{}), waitDone: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// refusedCommand is a command that "ran" and failed at once with msg on stderr.
func refusedCommand(id, msg string) *command {
	c := newCommand(id)
	c.stderr = []byte(msg + "\n")
	c.exited, c.exitCode = true, 1
	close(c.waitDone)
	return c
}

func (c *command) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
	c.cond.Broadcast()
}

type streamWriter struct {
	c      *command
	stderr bool
}

func (w streamWriter) Write(p []byte) (int, error) {
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for !c.discard && len(c.stdout)+len(c.stderr) > maxBuffered {
		c.cond.Wait()
	}
	if c.discard {
		return len(p), nil
	}
	if w.stderr {
		c.stderr = append(c.stderr, p...)
	} else {
		c.stdout = append(c.stdout, p...)
	}
	c.notifyLocked()
	return len(p), nil
}

// start runs script with /bin/sh in its own process group, so a kill reaches
// every process it started.
func startCommand(id, script, dir string, env []string) (*command, error) {
	c := newCommand(id)
	p := exec.Command("/bin/sh", "-c", script)
	p.Dir = dir
	p.Env = env
	p.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.Stdout = streamWriter{c, false}
	p.Stderr = streamWriter{c, true}
	// A background child may keep the output pipes open after the shell exits.
	p.WaitDelay = 2 * time.Second
	stdin, err := p.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := p.Start(); err != nil {
		return nil, err
	}
	c.proc, c.stdin, c.pid = p, stdin, p.Process.Pid
	go func() {
		err := p.Wait()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
		} else if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
			code = 1
		}
		c.mu.Lock()
		c.exited, c.exitCode = true, code
		c.notifyLocked()
		c.mu.Unlock()
		close(c.waitDone)
	}()
	return c, nil
}

// take removes up to max bytes of buffered output. The result is done only
// once the process has exited and everything has been taken.
func (c *command) takeLocked(max int) chunk {
	var ch chunk
	n := min(len(c.stdout), max)
	ch.stdout, c.stdout = c.stdout[:n:n], c.stdout[n:]
	m := min(len(c.stderr), max-n)
	ch.stderr, c.stderr = c.stderr[:m:m], c.stderr[m:]
	if n+m > 0 {
		c.cond.Broadcast()
	}
	if c.exited && len(c.stdout) == 0 && len(c.stderr) == 0 {
		ch.done, ch.exitCode = true, c.exitCode
	}
	return ch
}

// write feeds stdin; end closes it. Input for a process that is gone is
// dropped, as WinRS does once a command has ended.
func (c *command) write(data []byte, end bool) {
	if c.stdin == nil {
		return
	}
	c.stdinMu.Lock()
	defer c.stdinMu.Unlock()
	if len(data) > 0 {
		_, _ = c.stdin.Write(data)
	}
	if end {
		_ = c.stdin.Close()
	}
}

// signal sends sig to the command's process group.
func (c *command) signal(sig syscall.Signal) {
	if c.proc == nil {
		return
	}
	c.mu.Lock()
	exited := c.exited
	c.mu.Unlock()
	if !exited {
		_ = syscall.Kill(-c.pid, sig)
	}
}

// kill ends the whole process group and waits (bounded) until it is reaped.
// The group is killed even when the shell itself has exited, since a background
// child may live on in it (Windows ends a terminated command's whole job); but
// then only while no process holds the shell's PID again: a PID in use as a
// group id is never handed out, so a free PID means the group is still ours.
func (c *command) kill() {
	if c.proc != nil {
		c.mu.Lock()
		exited := c.exited
		c.mu.Unlock()
		if _, err := os.Stat("/proc/" + strconv.Itoa(c.pid)); !exited || os.IsNotExist(err) {
			_ = syscall.Kill(-c.pid, syscall.SIGKILL) // ESRCH when the group is gone
		}
	}
	c.mu.Lock()
	c.discard = true
	c.notifyLocked()
	c.mu.Unlock()
	if c.stdin != nil {
		_ = c.stdin.Close()
	}
	select {
	case <-c.waitDone:
	case <-time.After(5 * time.Second):
	}
}

// commandEnv is a command's environment: the host's (Options.Env, or this
// process's when nil), TMPDIR=tmp unless Options.Env sets one, and then the
// variables the client set on the shell. ARCFLEET_STATE_DIR likewise.
func commandEnv(host []string, tmp string, shellEnv []string) []string {
	env := append([]string{}, host...)
	if host == nil {
		env = os.Environ()
	}
	if _, ok := lookupEnv(host, "TMPDIR"); !ok {
		env = append(env, "TMPDIR="+tmp) // a later entry wins in exec
	}
	// Each server is its own host: its own arcfleet state (host lock), beside
	// its TMPDIR, unless Options.Env sets one.
	if _, ok := lookupEnv(host, "ARCFLEET_STATE_DIR"); !ok {
		env = append(env, "ARCFLEET_STATE_DIR="+tmp+"-arcfleet-state")
	}
	return append(env, shellEnv...)
}

// lookupEnv finds name's value in env (the last entry wins, as in exec).
func lookupEnv(env []string, name string) (string, bool) {
	v, ok := "", false
	for _, kv := range env {
		if val, found := strings.CutPrefix(kv, name+"="); found {
			v, ok = val, true
		}
	}
	return v, ok
}
