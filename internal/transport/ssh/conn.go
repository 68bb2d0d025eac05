package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arcfleet/arcfleet/internal/transport"
	xssh "golang.org/x/crypto/ssh"
)

// copyBufSize is the buffer of one output copy: an SSH data packet is at
// most 32 KiB, and a smaller buffer only reads it in several calls.
const copyBufSize = 4 << 10

// conn is one SSH connection; each Run opens a session on it.
type conn struct {
	t        transport.Target
	client   *xssh.Client
	jump     *conn // closed with this connection
	fp       string
	stopWait time.Duration
	bufs     *sync.Pool // the Dialer's output copy buffers (*[]byte of copyBufSize)

	done    chan struct{} // closed when the SSH connection has ended, for any reason
	closing atomic.Bool   // Close was called: the end is not a loss
	mu      sync.Mutex
	endErr  error // why the connection ended, when it was not closed by Close
}

var _ transport.Conn = (*conn)(nil)

// Fingerprint is the host key's SHA256 fingerprint.
func (c *conn) Fingerprint() string { return c.fp }

// Close ends the connection (and the jump host's).
func (c *conn) Close() error {
	if c.closing.Swap(true) {
		return nil
	}
	err := c.client.Close()
	if c.jump != nil {
		c.jump.Close()
	}
	select {
	case <-c.done:
		return nil // already ended: closing again is not an error
	default:
	}
	return err
}

// watch records the end of the connection.
func (c *conn) watch() {
	if err := c.client.Wait(); err != nil {
		c.setEnd(transport.NewPhrase(transport.ErrConnLost, err, err.Error()))
	} else {
		c.setEnd(transport.NewPhrase(transport.ErrClosedByHost, nil))
	}
	close(c.done)
}

func (c *conn) setEnd(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.endErr == nil && !c.closing.Load() {
		c.endErr = err
	}
}

// ended returns why the connection ended, or nil while it is up.
func (c *conn) ended() error {
	if c.closing.Load() {
		return transport.NewPhrase(transport.ErrClosedByClose, nil)
	}
	select {
	case <-c.done:
	default:
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.endErr != nil {
		return c.endErr
	}
	return transport.NewPhrase(transport.ErrClosed, nil)
}

// keepalive sends keepalive@openssh.com every interval and drops the connection
// after max consecutive intervals without a reply. x/crypto has none, and a
// frozen host keeps TCP up, so a command would otherwise wait forever.
// OpenSSH answers with a failure reply, which still proves the link is alive.
func (c *conn) keepalive(interval time.Duration, max int) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	replies := make(chan error, 1)
	pending, missed := false, 0
	for {
		select {
		case <-c.done:
			return
		case err := <-replies:
			pending = false
			if err != nil {
				return // the connection is gone; watch reports it
			}
			missed = 0
		case <-tick.C:
			if pending {
				missed++
				if missed >= max {
					c.setEnd(transport.NewPhrase(transport.ErrKeepalives, nil, strconv.Itoa(max), interval.String()))
					c.client.Close()
					return
				}
				continue
			}
			pending = true
			go func() {
				_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
				replies <- err
			}()
		}
	}
}

// Run runs cmd in a new session. See transport.Conn.
func (c *conn) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if err := c.ended(); err != nil {
		return -1, c.lost(err, transport.HintReconnect)
	}
	if ctx.Err() != nil {
		return -1, ctxError(ctx, c.t.Name, "run")
	}
	sess, err := c.newSession(ctx)
	if err != nil {
		return -1, err
	}
	defer sess.Close()
	// The output copies may outlive an abandoned session: the gates stop them
	// from writing to the caller's writers once Run has returned.
	outGate, errGate := newGate(stdout), newGate(stderr)
	defer outGate.close()
	defer errGate.close()
	// Pipes and our own copies, not Session.Stdout/Stderr: x/crypto copies
	// those with io.Copy's 32 KiB buffers, 64 KiB a command, 32 MB at 500 hosts
	// at once; a pooled 4 KiB buffer is enough for an agent's output.
	outPipe, err := sess.StdoutPipe()
	if err != nil {
		return -1, &transport.Error{Kind: transport.Protocol, Host: c.t.Name, Op: "run", Err: err}
	}
	errPipe, err := sess.StderrPipe()
	if err != nil {
		return -1, &transport.Error{Kind: transport.Protocol, Host: c.t.Name, Op: "run", Err: err}
	}
	var in io.WriteCloser
	if stdin != nil {
		// Our own copy, not Session.Stdin: Wait would block on a stdin reader
		// that never ends even after the command has exited.
		if in, err = sess.StdinPipe(); err != nil {
			return -1, &transport.Error{Kind: transport.Protocol, Host: c.t.Name, Op: "run", Err: err}
		}
	}
	if err := sess.Start(cmd); err != nil {
		if e := c.ended(); e != nil {
			return -1, c.lost(e, "")
		}
		return -1, &transport.Error{Kind: transport.Protocol, Host: c.t.Name, Op: "run", Err: fmt.Errorf("start command: %w", err)}
	}
	if in != nil {
		go func() {
			io.Copy(in, stdin) //nolint:errcheck // the command may exit without reading it all
			in.Close()
		}()
	}
	copied := make(chan struct{}, 2)
	go c.copyOut(outGate, outPipe, copied)
	go c.copyOut(errGate, errPipe, copied)
	// Session.Wait waits for x/crypto's own copies only: ours must reach the
	// end of the output too before Run returns, once the session has ended.
	// A session that ended has EOF on both streams, so this cannot hang.
	drained := func() {
		<-copied
		<-copied
	}
	waitc := make(chan error, 1)
	go func() { waitc <- sess.Wait() }()
	select {
	case err := <-waitc:
		drained()
		return c.result(err)
	case <-c.done:
		err := <-waitc // Wait ends with the connection; an exit status that came first still counts
		drained()
		return c.result(err)
	case <-ctx.Done():
	}
	select {
	case err := <-waitc:
		if err == nil || errors.As(err, new(*xssh.ExitError)) {
			// The command ended as ctx did, before any signal: that is its outcome.
			drained()
			return c.result(err)
		}
		waitc <- err // ended without an exit status: stop reports it
	default:
	}
	return -1, c.stop(ctx, sess, waitc, drained)
}

// copyOut copies one output stream of a command to w with a pooled buffer.
func (c *conn) copyOut(w io.Writer, r io.Reader, done chan<- struct{}) {
	bp, _ := c.bufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, copyBufSize)
		bp = &b
	}
	io.CopyBuffer(w, r, *bp) //nolint:errcheck // the gate never fails; a read error is the session's end, which Wait reports
	c.bufs.Put(bp)
	done <- struct{}{}
}

// stop ends Run for a canceled command and returns its error, within about
// stopWait of the cancel. It asks sshd to send SIGTERM to the session's
// process group, best effort: arcfleet's scripts trap it, stop the agent and
// remove their --config file, which holds the secret. sshd refuses session
// signals for root logins ("session signalling requires privilege
// separation") and before OpenSSH 7.9, and a signal from the login user does
// not reach processes that run as root under sudo. So stop waits no longer than
// stopWait for the session to end, then closes it (the channel, and its slot
// in sshd's MaxSessions once the processes are gone) and returns. The hint
// says what is known: the exit status when the session ended, else that the
// command may still run. Stopping it for sure is the caller's job, with a
// separate command (a new session on this connection stays usable).
func (c *conn) stop(ctx context.Context, sess *xssh.Session, waitc <-chan error, drained func()) error {
	timer := time.NewTimer(c.stopWait)
	defer timer.Stop()
	replyc := make(chan bool, 1)
	go func() {
		// want_reply: sshd answers whether it delivered the signal.
		ok, err := sess.SendRequest("signal", true, xssh.Marshal(struct{ Signal string }{string(xssh.SIGTERM)}))
		replyc <- ok && err == nil
	}()
	var (
		werr           error
		ended, gone    bool
		reply, refused bool
	)
wait:
	for {
		select {
		case werr = <-waitc:
			ended = true
			break wait
		case <-c.done:
			gone = true
			break wait
		case ok := <-replyc:
			reply, refused = true, !ok
			if refused {
				break wait
			}
			replyc = nil
		case <-timer.C:
			break wait
		}
	}
	sess.Close()
	e := ctxError(ctx, c.t.Name, "run").(*transport.Error)
	var ee *xssh.ExitError
	switch {
	case ended && (werr == nil || errors.As(werr, &ee)):
		drained()
		status, sig := 0, ""
		if ee != nil {
			status, sig = ee.ExitStatus(), ee.Signal()
		}
		if sig != "" {
			e.WithHint(transport.HintStopSignaled, strconv.Itoa(status), sig)
		} else {
			e.WithHint(transport.HintStopExited, strconv.Itoa(status))
		}
	case ended:
		e.WithHint(transport.HintStopNoStatus)
	case gone:
		e.WithHint(transport.HintStopGone)
	case refused:
		e.WithHint(transport.HintStopRefused)
	case reply:
		e.WithHint(transport.HintStopNoEnd, c.stopWait.String())
	default:
		e.WithHint(transport.HintStopNoAnswer, c.stopWait.String())
	}
	return e
}

// newSession opens a session, giving up when ctx ends (a frozen host would
// otherwise hold it until the keepalives drop the connection).
func (c *conn) newSession(ctx context.Context) (*xssh.Session, error) {
	type res struct {
		s   *xssh.Session
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := c.client.NewSession()
		ch <- res{s, err}
	}()
	select {
	case r := <-ch:
		if r.err == nil {
			return r.s, nil
		}
		if e := c.ended(); e != nil {
			return nil, c.lost(e, "")
		}
		return nil, (&transport.Error{Kind: transport.Protocol, Host: c.t.Name, Op: "open session", Err: r.err}).WithHint(transport.HintNoSession)
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.s != nil {
				r.s.Close()
			}
		}()
		return nil, ctxError(ctx, c.t.Name, "open session")
	}
}

// result turns Session.Wait's error into an exit code or a Lost error: a
// session that ends without an exit status is never reported as an exit code.
func (c *conn) result(err error) (int, error) {
	var ee *xssh.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		return ee.ExitStatus(), nil // signal deaths come as 128+n
	}
	// The connection may be a moment behind the session in noticing its end.
	select {
	case <-c.done:
	case <-time.After(200 * time.Millisecond):
	}
	if e := c.ended(); e != nil {
		return -1, c.lost(e, "")
	}
	if errors.As(err, new(*xssh.ExitMissingError)) {
		return -1, c.lost(transport.NewPhrase(transport.ErrNoExitStatus, nil), "")
	}
	return -1, c.lost(err, "")
}

// lost is a Lost error of err with the hint of key hint (HintOutcomeUnknown
// for "").
func (c *conn) lost(err error, hint string) error {
	if hint == "" {
		hint = transport.HintOutcomeUnknown
	}
	return (&transport.Error{Kind: transport.Lost, Host: c.t.Name, Op: "run", Err: err}).WithHint(hint)
}

// gate forwards writes to w until closed, then discards them.
type gate struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func newGate(w io.Writer) *gate {
	if w == nil {
		w = io.Discard
	}
	return &gate{w: w}
}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return len(p), nil
	}
	return g.w.Write(p)
}

func (g *gate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}
