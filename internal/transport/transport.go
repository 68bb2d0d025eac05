// Package transport runs commands on remote hosts over one connection per host.
// Its ssh/ and winrm/ subpackages implement Conn; this package holds what they
// share: the Target a caller dials, the Conn it gets back, and typed errors a
// caller branches on. It knows nothing of Azure.
package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Conn is one authenticated connection to a host. It carries all of that host's
// commands; it is safe for sequential use by one goroutine.
type Conn interface {
	// Run runs cmd on the host, feeding it stdin (nil for none) and streaming its
	// output to stdout and stderr. It returns the remote exit code. A non-zero exit
	// is not an error: err is non-nil only when the command's outcome is unknown
	// (a *Error of kind Lost, Timeout, ...).
	//
	// Stdin is sent in full and then closed: the command sees EOF after the
	// input (a nil stdin is an empty one). A command does not learn from its
	// stdin that the controller is gone; arcfleet's steps bound themselves by
	// a watchdog instead (internal/agent/hostlock.go), so that a connect whose
	// connection dropped may still finish.
	//
	// When ctx ends before the command does, Run returns a *Error of kind
	// Canceled or Timeout (ctx's) whose Hint says what is known of the command.
	// A command that had ended when ctx did is reported as if ctx had not ended.
	//   - SSH: Run asks sshd to send SIGTERM to the command's process group, best
	//     effort (sshd refuses for root logins; a login user's signal does not
	//     reach root processes under sudo), waits about a second at most for
	//     the session to end, closes it and returns. Unless the hint reports
	//     the session's exit status, the command may still be running: a
	//     caller that must be sure stops it with a separate command; the Conn
	//     stays usable for that.
	//   - WinRM: Run sends Ctrl+C, then Signal terminate (or, failing that,
	//     deletes the shell) before it returns; the hint says when that could
	//     not be confirmed.
	Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (exitCode int, err error)
	// Fingerprint identifies the host's authenticated identity: the SSH host key
	// ("SHA256:..."), or the WinRM server certificate ("SHA256:..."; "" over HTTP).
	Fingerprint() string
	// Close ends the connection.
	Close() error
}

// Target is everything needed to reach and log in to one host. Secret fields
// hold resolved values: they are never printed, logged or put in an error.
type Target struct {
	Name     string // inventory host name, used in errors
	Address  string
	Port     int
	Protocol string // "ssh" or "winrm"
	User     string
	Password string // secret

	// SSH
	IdentityFile   string
	Passphrase     string // secret, of IdentityFile
	UseAgent       bool   // ssh-agent at SSH_AUTH_SOCK
	KnownHostsFile string
	HostKeyPolicy  string  // "strict" (default), "accept-new", "fingerprint", "insecure-ignore"
	Fingerprint    string  // pinned "SHA256:..." when HostKeyPolicy is "fingerprint"
	Jump           *Target // optional jump host

	// WinRM
	HTTPS         bool
	Insecure      bool // skip TLS verification (explicit opt-in)
	CAFile        string
	TLSServerName string
	Auth          string // "basic", "ntlm", "cert"
	CertFile      string
	KeyFile       string

	// Timeouts; zero values take the defaults below.
	DialTimeout       time.Duration // TCP connect
	HandshakeTimeout  time.Duration // SSH handshake + auth / first WinRM exchange
	KeepaliveInterval time.Duration
	KeepaliveMax      int // unanswered keepalives before the host is dropped
}

// String describes t for logs and errors: who is reached how, never a secret
// (Password and Passphrase show only whether they are set).
func (t Target) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s://", t.Name, t.Protocol)
	if t.User != "" {
		b.WriteString(t.User + "@")
	}
	b.WriteString(net.JoinHostPort(t.Address, strconv.Itoa(t.Port)))
	if t.Password != "" {
		b.WriteString(" password=set")
	}
	if t.Passphrase != "" {
		b.WriteString(" passphrase=set")
	}
	if t.Jump != nil {
		b.WriteString(" via (" + t.Jump.String() + ")")
	}
	return b.String()
}

// GoString keeps %#v from printing the secret fields.
func (t Target) GoString() string { return "transport.Target{" + t.String() + "}" }

// Defaults for zero Target timeouts.
const (
	DefaultDialTimeout       = 10 * time.Second
	DefaultHandshakeTimeout  = 20 * time.Second
	DefaultKeepaliveInterval = 15 * time.Second
	DefaultKeepaliveMax      = 4
)

// Kind says what went wrong with a connection, so callers can branch.
type Kind string

const (
	Unreachable    Kind = "unreachable"      // refused, no route, DNS, dial timeout
	AuthFailed     Kind = "auth"             // credentials refused (SSH auth, WinRM 401)
	HostKeyUnknown Kind = "host-key-unknown" // no known_hosts entry (strict policy)
	HostKeyChanged Kind = "host-key-changed" // key differs from known_hosts / pinned fingerprint
	TLSFailed      Kind = "tls"              // certificate verification failed
	Lost           Kind = "lost"             // connection dropped while a command ran
	Timeout        Kind = "timeout"          // handshake or command exceeded its time
	Canceled       Kind = "canceled"         // the caller's context was canceled
	Protocol       Kind = "protocol"         // the peer spoke something unexpected
	Config         Kind = "config"           // the Target is unusable as given (unreadable key file, bad policy, missing user)
)

// Error is a transport failure. It never contains a secret.
type Error struct {
	Kind Kind
	Host string // Target.Name
	Op   string // "dial", "handshake", "run", ...
	Err  error
	Hint string // what the user can do next, when known (e.g. "remove line 12 of ~/.ssh/known_hosts")
	// HintKey and HintArgs say Hint as a key of hints.go and its arguments
	// (WithHint), so a caller can say it in another language; "" when Hint
	// has no key.
	HintKey  string
	HintArgs []string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s: %s", e.Host, e.Op, e.Kind)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of a transport error, or "" when err is not one.
func KindOf(err error) Kind {
	var te *Error
	if errors.As(err, &te) {
		return te.Kind
	}
	return ""
}

// Dialer opens a Conn to a Target.
type Dialer interface {
	Dial(ctx context.Context, t Target) (Conn, error)
}

// Mux dials each Target with the Dialer for its protocol.
type Mux struct {
	SSH   Dialer
	WinRM Dialer
}

// Dial implements Dialer.
func (m Mux) Dial(ctx context.Context, t Target) (Conn, error) {
	var d Dialer
	switch t.Protocol {
	case "ssh":
		d = m.SSH
	case "winrm":
		d = m.WinRM
	}
	if d == nil {
		return nil, &Error{Kind: Protocol, Host: t.Name, Op: "dial", Err: fmt.Errorf("no dialer for protocol %q", t.Protocol)}
	}
	return d.Dial(ctx, t)
}
