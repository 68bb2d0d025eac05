// Package ssh is arcfleet's SSH transport: one authenticated connection per
// host (golang.org/x/crypto/ssh) that runs each command in its own session,
// with known_hosts verification, keepalives, and typed errors.
package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/arcfleet/arcfleet/internal/transport"
	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// MaxJumps bounds a chain of jump hosts (and so a Jump cycle). The inventory
// allows no longer chains (inventory.MaxJumpDepth; a test keeps them equal).
const MaxJumps = 4

// DefaultStopWait is how long a canceled Run waits, after asking for SIGTERM,
// for the session to end before it closes the session and returns.
const DefaultStopWait = time.Second

// Dialer opens SSH connections. The zero value is ready to use; use one Dialer
// for a whole run: it reads each known_hosts file and parses (decrypts) each
// identity file once, again only when the file changes, and serialises
// known_hosts appends (accept-new).
// A Dialer must not be copied after first use.
type Dialer struct {
	// AgentSocket is the ssh-agent socket used for Target.UseAgent; "" means $SSH_AUTH_SOCK.
	AgentSocket string
	// StopWait is how long a canceled Run waits, after asking sshd to send
	// SIGTERM to the command's process group, for the session to end before
	// it closes the session and returns (0: DefaultStopWait).
	StopWait time.Duration

	khMu sync.Mutex      // known_hosts appends in this process; flock covers other processes
	kh   knownHostsCache // known_hosts files parsed once per run, not once per dial
	keys keyCache        // identity files parsed (and decrypted) once per run, not once per dial
	bufs sync.Pool       // output copy buffers shared by the Dialer's connections

	// handshakeTimer starts the handshake's time limit, calling f when it
	// expires, and returns its Stop (nil: time.AfterFunc). Tests set it to
	// reach the moment where a handshake ends just as the limit expires.
	handshakeTimer func(d time.Duration, f func()) (stop func() bool)
}

// Dial connects and authenticates to t (through t.Jump when set). The returned
// Conn runs each command in a new session on this one connection.
func (d *Dialer) Dial(ctx context.Context, t transport.Target) (transport.Conn, error) {
	c, err := d.dial(ctx, t, 0)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (d *Dialer) dial(ctx context.Context, t transport.Target, depth int) (*conn, error) {
	if t.Name == "" {
		t.Name = t.Address
	}
	cfgErr := func(key string, args ...string) error {
		return &transport.Error{Kind: transport.Config, Host: t.Name, Op: "dial", Err: transport.NewPhrase(key, nil, args...)}
	}
	if t.Address == "" {
		return nil, cfgErr(transport.ErrNoAddress)
	}
	if t.User == "" {
		return nil, cfgErr(transport.ErrNoSSHUser)
	}
	if t.Port < 0 || t.Port > 65535 {
		return nil, cfgErr(transport.ErrPortRange, strconv.Itoa(t.Port))
	}
	hostport := net.JoinHostPort(t.Address, strconv.Itoa(portOr22(t.Port)))
	dialTimeout := orDefault(t.DialTimeout, transport.DefaultDialTimeout)
	hsTimeout := orDefault(t.HandshakeTimeout, transport.DefaultHandshakeTimeout)

	hk, err := d.newHostKeyCheck(t, hostport)
	if err != nil {
		return nil, &transport.Error{Kind: transport.Config, Host: t.Name, Op: "host key", Err: err}
	}
	auth, closeAgent, err := d.authMethods(t)
	if err != nil {
		return nil, err
	}
	defer closeAgent()
	cfg := &xssh.ClientConfig{
		User:              t.User,
		Auth:              auth,
		HostKeyCallback:   hk.callback,
		HostKeyAlgorithms: hk.algos,
		Timeout:           dialTimeout,
	}

	var raw net.Conn
	var jump *conn
	if t.Jump != nil {
		if depth >= MaxJumps {
			return nil, cfgErr(transport.ErrJumpChain, strconv.Itoa(MaxJumps))
		}
		jump, err = d.dial(ctx, *t.Jump, depth+1)
		if err != nil {
			return nil, &transport.Error{Kind: transport.KindOf(err), Host: t.Name, Op: "dial via jump host " + t.Jump.Name, Err: err}
		}
		dctx, cancel := context.WithTimeout(ctx, dialTimeout)
		raw, err = jump.client.DialContext(dctx, "tcp", hostport)
		cancel()
		if err != nil {
			jump.Close()
			var oce *xssh.OpenChannelError
			if errors.As(err, &oce) {
				return nil, (&transport.Error{Kind: transport.Unreachable, Host: t.Name, Op: "dial via jump host " + t.Jump.Name, Err: err}).WithHint(transport.HintJumpForward, t.Jump.Name, hostport)
			}
			return nil, dialError(ctx, t, hostport, dialTimeout, err)
		}
	} else {
		nd := net.Dialer{Timeout: dialTimeout}
		raw, err = nd.DialContext(ctx, "tcp", hostport)
		if err != nil {
			return nil, dialError(ctx, t, hostport, dialTimeout, err)
		}
	}

	// ClientConfig.Timeout covers only the TCP connect: bound the handshake by
	// closing the conn (a deadline alone does not work on a jump channel).
	startTimer := d.handshakeTimer
	if startTimer == nil {
		startTimer = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	stopTimer := startTimer(hsTimeout, func() { raw.Close() })
	stopCtx := context.AfterFunc(ctx, func() { raw.Close() })
	_ = raw.SetDeadline(time.Now().Add(hsTimeout)) // unsupported on jump channels; the timer covers it
	cc, chans, reqs, err := xssh.NewClientConn(raw, hostport, cfg)
	// Stop is false once the timer has fired, even while its raw.Close has yet
	// to run: the handshake, finished or not, ran out of time and raw is (being)
	// closed. That is a Timeout, which is retried, not a protocol error.
	timedOut := !stopTimer()
	ctxOK := stopCtx()
	if err == nil && (timedOut || !ctxOK) {
		cc.Close()
		err = errors.New("handshake interrupted")
	}
	if err != nil {
		raw.Close()
		if jump != nil {
			jump.Close()
		}
		return nil, handshakeError(ctx, t, hk, hsTimeout, timedOut || errors.Is(err, os.ErrDeadlineExceeded), err)
	}
	_ = raw.SetDeadline(time.Time{})

	c := &conn{
		t:        t,
		client:   xssh.NewClient(cc, chans, reqs),
		jump:     jump,
		fp:       xssh.FingerprintSHA256(hk.seen),
		done:     make(chan struct{}),
		stopWait: orDefault(d.StopWait, DefaultStopWait),
		bufs:     &d.bufs,
	}
	go c.watch()
	go c.keepalive(orDefault(t.KeepaliveInterval, transport.DefaultKeepaliveInterval), orDefault(t.KeepaliveMax, transport.DefaultKeepaliveMax))
	return c, nil
}

// authMethods builds the auth methods for t. All keys (file and agent) go in
// one publickey method: x/crypto tries each method name only once, so a second
// publickey method would be skipped.
func (d *Dialer) authMethods(t transport.Target) ([]xssh.AuthMethod, func(), error) {
	noop := func() {}
	authErr := func(kind transport.Kind, err error, hint string) error {
		return (&transport.Error{Kind: kind, Host: t.Name, Op: "auth", Err: err}).WithHint(hint)
	}
	var signers []xssh.Signer
	if t.IdentityFile != "" {
		s, err := d.keys.signer(expandHome(t.IdentityFile), t.Passphrase)
		if err != nil {
			var te *transport.Error
			if errors.As(err, &te) {
				te.Host = t.Name
			}
			return nil, noop, err
		}
		signers = append(signers, s)
	}
	closeAgent := noop
	var agentSigners func() ([]xssh.Signer, error)
	if t.UseAgent {
		sock := d.AgentSocket
		if sock == "" {
			sock = os.Getenv("SSH_AUTH_SOCK")
		}
		if sock == "" {
			return nil, noop, authErr(transport.Config, transport.NewPhrase(transport.ErrAgentNoSocket, nil), transport.HintAgentSocket)
		}
		ac, err := net.Dial("unix", sock)
		if err != nil {
			return nil, noop, authErr(transport.Config, transport.NewPhrase(transport.ErrAgentDial, err, sock, err.Error()), transport.HintAgentRunning)
		}
		closeAgent = func() { ac.Close() }
		agentSigners = agent.NewClient(ac).Signers
	}
	var methods []xssh.AuthMethod
	if len(signers) > 0 || agentSigners != nil {
		methods = append(methods, xssh.PublicKeysCallback(func() ([]xssh.Signer, error) {
			out := slices.Clone(signers)
			if agentSigners != nil {
				as, err := agentSigners()
				if err != nil && len(out) == 0 {
					return nil, fmt.Errorf("ssh-agent: %w", err)
				}
				out = append(out, as...)
			}
			return out, nil
		}))
	}
	if t.Password != "" {
		pw := t.Password
		methods = append(methods, xssh.Password(pw),
			// Servers with PAM often ask for the password this way instead.
			xssh.KeyboardInteractive(func(_, _ string, questions []string, echos []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range questions {
					if !echos[i] {
						answers[i] = pw
					}
				}
				return answers, nil
			}))
	}
	if len(methods) == 0 {
		closeAgent()
		return nil, noop, authErr(transport.Config, transport.NewPhrase(transport.ErrNoAuthMethod, nil), transport.HintNoAuthMethod)
	}
	return methods, closeAgent, nil
}

// dialError classifies a failed TCP connect (direct or via a jump host).
func dialError(ctx context.Context, t transport.Target, hostport string, timeout time.Duration, err error) error {
	if ctx.Err() != nil {
		return ctxError(ctx, t.Name, "dial")
	}
	e := &transport.Error{Kind: transport.Unreachable, Host: t.Name, Op: "dial", Err: err}
	var dnsErr *net.DNSError
	var ne net.Error
	switch {
	case errors.As(err, &dnsErr):
		e.WithHint(transport.HintDNS, strconv.Quote(t.Address))
	case errors.Is(err, syscall.ECONNREFUSED):
		e.WithHint(transport.HintRefused, hostport)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		e.WithHint(transport.HintNoRoute, hostport)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		e.WithHint(transport.HintDialTimeout, hostport, timeout.String())
	}
	return e
}

// handshakeError classifies a failed SSH handshake or authentication.
func handshakeError(ctx context.Context, t transport.Target, hk *hostKeyCheck, timeout time.Duration, timedOut bool, err error) error {
	if hk.refuse != nil {
		return hk.refuse
	}
	if ctx.Err() != nil {
		return ctxError(ctx, t.Name, "handshake")
	}
	msg := err.Error()
	switch {
	// A refusal the host sent is the answer even when the time limit expired
	// right after it.
	case strings.Contains(msg, "unable to authenticate"), strings.Contains(msg, "Too many authentication failures"):
		return (&transport.Error{Kind: transport.AuthFailed, Host: t.Name, Op: "auth", Err: err}).WithHint(transport.HintSSHUser, strconv.Quote(t.User))
	case timedOut:
		return (&transport.Error{Kind: transport.Timeout, Host: t.Name, Op: "handshake",
			Err: transport.NewPhrase(transport.ErrNoHandshake, nil, timeout.String())}).WithHint(transport.HintSSHHandshakeWait, strconv.Itoa(portOr22(t.Port)))
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return (&transport.Error{Kind: transport.Unreachable, Host: t.Name, Op: "handshake", Err: err}).WithHint(transport.HintSSHClosed)
	}
	return (&transport.Error{Kind: transport.Protocol, Host: t.Name, Op: "handshake", Err: err}).WithHint(transport.HintSSHProtocol)
}

// ctxError is the error for an operation stopped by ctx.
func ctxError(ctx context.Context, host, op string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &transport.Error{Kind: transport.Timeout, Host: host, Op: op, Err: ctx.Err()}
	}
	return &transport.Error{Kind: transport.Canceled, Host: host, Op: op, Err: ctx.Err()}
}

func knownHostsPath(p string) (string, error) {
	if p == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no known_hosts file given and no home directory: %w", err)
		}
		return filepath.Join(home, ".ssh", "known_hosts"), nil
	}
	return expandHome(p), nil
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}

// orDefault is v, or def when v is not positive (unset).
func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
