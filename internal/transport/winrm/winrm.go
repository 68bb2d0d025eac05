// Package winrm runs commands on Windows hosts over WinRM (WS-Management,
// MS-WSMV 3.1.4). One WinRS shell per host carries all of that host's commands:
// Dial creates it, each Run is a Command with Send (stdin) and Receive
// (long-poll) calls, Close deletes it.
//
// The SOAP messages and the parsing of replies are masterzen/winrm's
// (NewOpenShellRequest, NewExecuteCommandRequest, ParseSlurpOutputErrResponse,
// ...). Its Command/Client layer is not used, because at the version in go.mod
// it cannot be cancelled (no context; closing a Command during a Receive leaves
// its output pipes open, so readers hang), it hides the transport error (the
// unexported Command.err; the exit code is then 0 or 16001), and its stdin
// writer races NTLM handshakes with the Receive loop on one connection pool.
// This package sends the same messages through its own net/http client instead:
// every request carries the caller's context, stdin is sent in full and closed
// (End="true") while Receive long-polls on a separate connection, and a
// cancelled Run sends Signal ctrl_c (a grace of up to interruptGrace for the
// script's cleanup), then Signal terminate (or, failing that, deletes the
// shell) before it returns.
//
// Files: winrm.go the Dialer; dial.go a connection's settings, HTTP clients
// and Close; shell.go the WinRS shell protocol (Create, Command, Send,
// Receive, Signal); http.go one WS-Man request and its fault reply; tls.go
// TLS settings, the certificate fingerprint and the Dialer's cached TLS
// files; errors.go the mapping of failures to transport.Error kinds.
package winrm

import (
	"context"
	"time"

	"github.com/arcfleet/arcfleet/internal/transport"
)

// Defaults for a zero Dialer.
const (
	// DefaultOperationTimeout is the WS-Man OperationTimeout of each Receive:
	// how long the host holds a long-poll open when the command prints nothing.
	DefaultOperationTimeout = 30 * time.Second
	// DefaultKillTimeout bounds the Signal (and Delete) that ends a cancelled command.
	DefaultKillTimeout = 10 * time.Second
	// responseMargin keeps the HTTP response-header timeout above the
	// OperationTimeout, so a long-poll ends with the host's fault, not ours.
	responseMargin = 30 * time.Second
	// envelopeSize is the MaxEnvelopeSize announced (WinRM's default, 150 KiB).
	envelopeSize = 153600
	// stdinChunk is the most stdin per Send: base64 (4/3) plus the envelope must fit envelopeSize.
	stdinChunk = 96 << 10
)

// Dialer opens WinRM connections. The zero value is ready to use; use one
// Dialer for a whole run: it loads each ca_file and client certificate once,
// again only when a file changes. A Dialer must not be copied after first use.
type Dialer struct {
	// OperationTimeout of each Receive long-poll; 0 means DefaultOperationTimeout.
	OperationTimeout time.Duration
	// KillTimeout bounds killing a cancelled command; 0 means DefaultKillTimeout.
	KillTimeout time.Duration

	tls tlsCache // ca_file pools and client key pairs, loaded once per run, not once per dial
}

// Dial checks t's settings, connects, authenticates and creates the shell
// that will carry all of the host's commands.
func (d *Dialer) Dial(ctx context.Context, t transport.Target) (transport.Conn, error) {
	c, err := d.newConn(t)
	if err != nil {
		return nil, err
	}
	hctx, cancel := context.WithTimeout(ctx, c.handshake)
	defer cancel()
	id, err := c.createShell(hctx)
	if err != nil {
		c.shutdown()
		e := c.fail("dial", err, ctx, false)
		if e.Kind == transport.Timeout && ctx.Err() == nil {
			e.Err = transport.NewPhrase(transport.ErrNoWinRMAnswer, err, c.handshake.String(), err.Error())
			e.WithHint(transport.HintWinRMService)
		}
		return nil, e
	}
	c.shellID = id
	return c, nil
}
