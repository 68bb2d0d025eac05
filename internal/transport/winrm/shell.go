package winrm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	mz "github.com/masterzen/winrm"
	"github.com/masterzen/winrm/soap"

	"github.com/arcfleet/arcfleet/internal/transport"
)

// createShell creates the WinRS shell that carries the commands (Create).
func (c *conn) createShell(ctx context.Context) (string, error) {
	resp, err := c.post(ctx, c.control, mz.NewOpenShellRequest(c.url, c.params))
	if err != nil {
		return "", err
	}
	id, err := mz.ParseOpenShellResponse(resp)
	if err != nil || id == "" {
		return "", &protocolError{fmt.Sprintf("no ShellId in the Create reply (%v)", err)}
	}
	return id, nil
}

// Run implements transport.Conn.
func (c *conn) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	if err := checkCommand(cmd); err != nil {
		return -1, &transport.Error{Kind: transport.Protocol, Host: c.name, Op: "run", Err: err}
	}
	c.mu.Lock()
	closed, shellID := c.closed, c.shellID
	c.mu.Unlock()
	if closed {
		return -1, &transport.Error{Kind: transport.Lost, Host: c.name, Op: "run", Err: transport.NewPhrase(transport.ErrAlreadyClosed, nil)}
	}
	// Requests end with the caller's ctx or at Close, whichever comes first.
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	defer context.AfterFunc(c.life, cancelRun)()

	if shellID == "" {
		id, err := c.createShell(runCtx)
		if err != nil {
			return -1, c.fail("run", err, ctx, false)
		}
		c.mu.Lock()
		c.shellID, shellID = id, id
		c.mu.Unlock()
	}
	// masterzen wraps the command in CDATA; a "]]>" inside must be split.
	resp, err := c.post(runCtx, c.control, mz.NewExecuteCommandRequest(c.url, shellID,
		strings.ReplaceAll(cmd, "]]>", "]]]]><![CDATA[>"), nil, c.params))
	if err != nil {
		return -1, c.fail("run", err, ctx, false)
	}
	cmdID, err := mz.ParseExecuteCommandResponse(resp)
	if err != nil || cmdID == "" {
		return -1, c.fail("run", &protocolError{fmt.Sprintf("no CommandId in the Command reply (%v)", err)}, ctx, false)
	}

	fed := make(chan error, 1)
	go func() { fed <- c.feed(runCtx, shellID, cmdID, stdin) }()
	code, err := c.receive(runCtx, shellID, cmdID, stdout, stderr)
	if err == nil {
		// All input a finished command will ever read has been read; do not
		// wait long for Sends it will discard.
		select {
		case <-fed:
		case <-time.After(2 * time.Second):
			cancelRun()
			<-fed
		}
		// Release the finished command on the host, as WinRS expects (Signal terminate).
		kctx, cancel := context.WithTimeout(c.life, c.killTimeout)
		_, _ = c.post(kctx, c.control, mz.NewSignalRequest(c.url, shellID, cmdID, c.params))
		cancel()
		return code, nil
	}
	cancelRun()
	<-fed
	e := c.fail("run", err, ctx, true)
	if c.life.Err() != nil {
		e.Kind, e.Err = transport.Lost, transport.NewPhrase(transport.ErrClosedWhileRan, nil)
		e.WithHint("")
		return -1, e
	}
	// The caller gave up (ctx) or the link failed: the command must not live on.
	if kerr := c.kill(shellID, cmdID); kerr != nil {
		if ctx.Err() != nil {
			e.WithHint(transport.HintKillUnconfirmed, kerr.Error())
		}
	} else if e.Kind == transport.Lost {
		e.WithHint(transport.HintWinRMLostKilled)
	}
	return -1, e
}

// receive long-polls the command's output until it is Done. An OperationTimeout
// fault only means nothing was printed in time: poll again.
func (c *conn) receive(ctx context.Context, shellID, cmdID string, stdout, stderr io.Writer) (int, error) {
	for {
		resp, err := c.post(ctx, c.control, mz.NewGetOutputRequest(c.url, shellID, cmdID, "stdout stderr", c.params))
		if err != nil {
			var f *wsmanFault
			if errors.As(err, &f) && f.operationTimeout() {
				continue
			}
			return -1, err
		}
		done, code, err := mz.ParseSlurpOutputErrResponse(resp, stdout, stderr)
		if err != nil {
			return -1, &protocolError{"unreadable Receive reply: " + err.Error()}
		}
		if done {
			return code, nil
		}
	}
}

// feed sends all of stdin, then closes it (End="true"), so the command sees EOF.
// A nil stdin is closed at once.
func (c *conn) feed(ctx context.Context, shellID, cmdID string, stdin io.Reader) error {
	send := func(data []byte, end bool) error {
		_, err := c.post(ctx, c.input, mz.NewSendInputRequest(c.url, shellID, cmdID, data, end, c.params))
		return err
	}
	if stdin == nil {
		return send(nil, true)
	}
	buf := make([]byte, stdinChunk)
	for {
		n, rerr := io.ReadFull(stdin, buf)
		end := rerr == io.EOF || rerr == io.ErrUnexpectedEOF
		if rerr != nil && !end {
			_ = send(buf[:n], true)
			return fmt.Errorf("reading stdin: %w", rerr)
		}
		if err := send(buf[:n], end); err != nil {
			return err
		}
		if end {
			return nil
		}
	}
}

// interruptGrace is how long a cancelled command gets to end after Ctrl+C
// before it is terminated.
const interruptGrace = 3 * time.Second

// kill ends a command: Ctrl+C first, so the script's cleanup runs (PowerShell
// runs finally blocks on Ctrl+C; arcfleet's scripts remove their --config file,
// which holds the secret, there; terminate alone would leave it on disk), then
// Signal terminate, and when that fails, Delete the shell, which ends every
// process in it (the next Run creates a new one).
func (c *conn) kill(shellID, cmdID string) error {
	ictx, icancel := context.WithTimeout(c.life, min(interruptGrace, c.killTimeout))
	if _, err := c.post(ictx, c.control, ctrlCRequest(c.url, shellID, cmdID, c.params)); err == nil {
		_, _ = c.receive(ictx, shellID, cmdID, io.Discard, io.Discard) // until it ends or the grace is over
	}
	icancel()
	ctx, cancel := context.WithTimeout(c.life, c.killTimeout)
	defer cancel()
	_, err := c.post(ctx, c.control, mz.NewSignalRequest(c.url, shellID, cmdID, c.params))
	if err == nil {
		return nil
	}
	c.mu.Lock()
	if c.shellID == shellID {
		c.shellID = ""
	}
	c.mu.Unlock()
	if _, derr := c.post(ctx, c.control, mz.NewDeleteShellRequest(c.url, shellID, c.params)); derr != nil {
		return fmt.Errorf("Signal terminate: %v; Delete shell: %v", err, derr)
	}
	return nil
}

// ctrlCRequest is masterzen's NewSignalRequest with the ctrl_c code (MS-WSMV 3.1.4.12).
func ctrlCRequest(url, shellID, cmdID string, p *mz.Parameters) *soap.SoapMessage {
	var id [16]byte
	_, _ = rand.Read(id[:])
	id[6], id[8] = id[6]&0x0f|0x40, id[8]&0x3f|0x80
	m := soap.NewMessage()
	m.Header().To(url).
		ReplyTo("http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous").
		MaxEnvelopeSize(p.EnvelopeSize).
		Id(fmt.Sprintf("uuid:%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:])).
		Locale(p.Locale).
		Timeout(p.Timeout).
		Action("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal").
		ResourceURI("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd").
		ShellId(shellID).
		Build()
	sig := m.CreateBodyElement("Signal", soap.DOM_NS_WIN_SHELL)
	sig.SetAttr("CommandId", cmdID)
	m.CreateElement(sig, "Code", soap.DOM_NS_WIN_SHELL).SetContent("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c")
	return m
}

// checkCommand refuses what cannot travel in XML 1.0.
func checkCommand(cmd string) error {
	if !utf8.ValidString(cmd) {
		return errors.New("command is not valid UTF-8")
	}
	for i, r := range cmd {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF {
			return fmt.Errorf("command has control character %U at byte %d, which XML cannot carry", r, i)
		}
	}
	return nil
}
