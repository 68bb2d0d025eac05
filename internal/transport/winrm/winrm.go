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
// cancelled Run sends Signal ctrl_c (up to 1 s for the script's cleanup), then
// Signal terminate (or, failing that, deletes the shell) before it returns.
package winrm

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	ntlmssp "github.com/Azure/go-ntlmssp"
	mz "github.com/masterzen/winrm"
	"github.com/masterzen/winrm/soap"

	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/internal/transport/filecache"
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

// mutualAuth is the Authorization value by which a WinRM client says it
// authenticates with its TLS client certificate.
const mutualAuth = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"

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
			e.Err = fmt.Errorf("no WinRM answer within %s: %w", c.handshake, err)
			e.Hint = "the host accepted the TCP connection but its WinRM service did not answer; check the service (Get-Service WinRM) and that the port is the WinRM listener"
		}
		return nil, e
	}
	c.shellID = id
	return c, nil
}

type conn struct {
	name        string
	url         string
	auth        string
	user        string
	password    string // secret: only ever passed to SetBasicAuth
	params      *mz.Parameters
	handshake   time.Duration
	opTimeout   time.Duration
	killTimeout time.Duration
	https       bool

	// control carries Create, Command, Receive, Signal and Delete; input carries
	// Send. Each is used by one goroutine at a time over its own connection,
	// so an NTLM handshake (bound to a TCP connection) never interleaves.
	control, input *http.Client
	transports     []*http.Transport

	life context.Context // ends at Close: aborts the requests of a Run in flight
	stop context.CancelFunc

	fpMu sync.Mutex
	fp   string

	mu      sync.Mutex
	shellID string // "" after a kill had to delete the shell: the next Run makes a new one
	closed  bool
}

func (d *Dialer) newConn(t transport.Target) (*conn, error) {
	bad := func(err error, hint string) error {
		return &transport.Error{Kind: transport.Protocol, Host: t.Name, Op: "dial", Err: err, Hint: hint}
	}
	if t.Address == "" {
		return nil, bad(errors.New("no address"), "set the host's address in the inventory")
	}
	auth := strings.ToLower(t.Auth)
	if auth == "" {
		auth = "ntlm"
	}
	switch auth {
	case "basic":
		if !t.HTTPS {
			return nil, bad(errors.New("Basic authentication over plain HTTP would send the password in clear"),
				"use winrm.https: true, or auth: ntlm")
		}
	case "ntlm":
	case "cert":
		if !t.HTTPS {
			return nil, bad(errors.New("certificate authentication needs HTTPS"), "set winrm.https: true")
		}
		if t.CertFile == "" || t.KeyFile == "" {
			return nil, bad(errors.New("auth: cert without cert_file and key_file"), "set winrm.cert_file and winrm.key_file")
		}
	default:
		return nil, bad(fmt.Errorf("unknown WinRM auth %q", t.Auth), "use basic, ntlm or cert")
	}
	port := t.Port
	if port == 0 {
		port = 5985
		if t.HTTPS {
			port = 5986
		}
	}
	scheme := "http"
	if t.HTTPS {
		scheme = "https"
	}
	c := &conn{
		name:        t.Name,
		url:         scheme + "://" + net.JoinHostPort(t.Address, strconv.Itoa(port)) + "/wsman",
		auth:        auth,
		user:        t.User,
		password:    t.Password,
		handshake:   orDefault(t.HandshakeTimeout, transport.DefaultHandshakeTimeout),
		opTimeout:   orDefault(d.OperationTimeout, DefaultOperationTimeout),
		killTimeout: orDefault(d.KillTimeout, DefaultKillTimeout),
		https:       t.HTTPS,
	}
	c.params = mz.NewParameters(isoSeconds(c.opTimeout), "en-US", envelopeSize)

	var tlsConf *tls.Config
	if t.HTTPS {
		var err error
		if tlsConf, err = c.tlsConfig(d, t); err != nil {
			return nil, err
		}
	}
	c.life, c.stop = context.WithCancel(context.Background())
	dialer := &net.Dialer{
		Timeout:   orDefault(t.DialTimeout, transport.DefaultDialTimeout),
		KeepAlive: orDefault(t.KeepaliveInterval, transport.DefaultKeepaliveInterval),
	}
	newClient := func() *http.Client {
		tr := &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				nc, err := dialer.DialContext(ctx, network, addr)
				if err != nil {
					return nil, &dialError{err}
				}
				return nc, nil
			},
			TLSClientConfig:       tlsConf,
			TLSHandshakeTimeout:   c.handshake,
			ResponseHeaderTimeout: c.opTimeout + responseMargin,
			MaxConnsPerHost:       1,
			MaxIdleConnsPerHost:   1,
			IdleConnTimeout:       90 * time.Second,
			DisableCompression:    true,
		}
		c.transports = append(c.transports, tr)
		var rt http.RoundTripper = tr
		if auth == "ntlm" {
			// Negotiator turns the request's Basic credentials into an NTLMv2
			// handshake; it never sends them as Basic (AllowBasicAuth is false).
			rt = ntlmssp.Negotiator{RoundTripper: tr}
		}
		return &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	c.control, c.input = newClient(), newClient()
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// isoSeconds formats d as an xs:duration in whole seconds (at least 1).
func isoSeconds(d time.Duration) string {
	s := int64(d / time.Second)
	if s < 1 {
		s = 1
	}
	return "PT" + strconv.FormatInt(s, 10) + "S"
}

func (c *conn) tlsConfig(d *Dialer, t transport.Target) (*tls.Config, error) {
	conf := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.TLSServerName,
		InsecureSkipVerify: t.Insecure, // explicit opt-in only; the fingerprint is still recorded
	}
	if t.CAFile != "" {
		pool, err := d.tls.caPool(t.CAFile)
		var pe *parseError
		switch {
		case errors.As(err, &pe):
			return nil, &transport.Error{Kind: transport.TLSFailed, Host: t.Name, Op: "dial",
				Err: fmt.Errorf("%s holds no PEM certificate", t.CAFile), Hint: "point winrm.ca_file at the PEM of the CA that signed the host's WinRM certificate"}
		case err != nil:
			return nil, &transport.Error{Kind: transport.TLSFailed, Host: t.Name, Op: "dial", Err: err, Hint: "check winrm.ca_file"}
		}
		conf.RootCAs = pool
	}
	if c.auth == "cert" {
		cert, err := d.tls.keyPair(t.CertFile, t.KeyFile)
		if err != nil {
			var pe *parseError
			if errors.As(err, &pe) {
				err = pe.err
			}
			return nil, &transport.Error{Kind: transport.AuthFailed, Host: t.Name, Op: "dial",
				Err: fmt.Errorf("client certificate %s / key %s: %w", t.CertFile, t.KeyFile, err), Hint: "check winrm.cert_file and winrm.key_file (PEM)"}
		}
		conf.Certificates = []tls.Certificate{*cert}
	}
	// Record the server certificate after verification; within one Conn it may
	// not change (a reconnect must reach the same host).
	conf.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("server sent no certificate")
		}
		fp := Fingerprint(cs.PeerCertificates[0].Raw)
		c.fpMu.Lock()
		defer c.fpMu.Unlock()
		if c.fp == "" {
			c.fp = fp
		} else if c.fp != fp {
			return &certChangedError{was: c.fp, now: fp}
		}
		return nil
	}
	return conf, nil
}

// Fingerprint formats a certificate as "SHA256:" and the unpadded base64 of
// the SHA-256 of its DER bytes, the shape of an OpenSSH key fingerprint.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// Fingerprint implements transport.Conn: the server certificate's, "" over HTTP.
func (c *conn) Fingerprint() string {
	c.fpMu.Lock()
	defer c.fpMu.Unlock()
	return c.fp
}

func (c *conn) shutdown() {
	c.stop()
	for _, tr := range c.transports {
		tr.CloseIdleConnections()
	}
}

// Close deletes the shell (ending any process still in it) and the
// connections. A Run in progress is aborted first and returns Lost.
func (c *conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	id := c.shellID
	c.mu.Unlock()
	c.stop() // frees the control connection a long-poll may hold
	var err error
	if id != "" {
		ctx, cancel := context.WithTimeout(context.Background(), c.killTimeout)
		_, err = c.post(ctx, c.control, mz.NewDeleteShellRequest(c.url, id, c.params))
		cancel()
	}
	c.shutdown()
	if err != nil {
		return c.fail("close", err, context.Background(), false)
	}
	return nil
}

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
		return -1, &transport.Error{Kind: transport.Lost, Host: c.name, Op: "run", Err: errors.New("connection already closed")}
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
		e.Kind, e.Err, e.Hint = transport.Lost, errors.New("connection closed while the command ran"), ""
		return -1, e
	}
	// The caller gave up (ctx) or the link failed: the command must not live on.
	if kerr := c.kill(shellID, cmdID); kerr != nil {
		if ctx.Err() != nil {
			e.Hint = "could not confirm that the remote command was killed: " + kerr.Error()
		}
	} else if e.Kind == transport.Lost {
		e.Hint = "the connection dropped while the command ran; its outcome is unknown (the command was killed on reconnect)"
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
// before it is terminated (as the ssh transport's DefaultKillGrace).
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

// post sends one WS-Man request and returns the SOAP reply, or an authError,
// *wsmanFault, statusError or the net/http error.
func (c *conn) post(ctx context.Context, hc *http.Client, msg *soap.SoapMessage) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, strings.NewReader(msg.String()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	switch c.auth {
	case "basic", "ntlm":
		req.SetBasicAuth(c.user, c.password)
	case "cert":
		req.Header.Set("Authorization", mutualAuth)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return "", err
	}
	soapReply := strings.Contains(resp.Header.Get("Content-Type"), "application/soap+xml")
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return "", &authError{schemes: resp.Header.Values("WWW-Authenticate")}
	case resp.StatusCode == http.StatusOK && soapReply:
		return string(body), nil
	case soapReply:
		if f := parseFault(body); f != nil {
			f.status = resp.StatusCode
			return "", f
		}
	}
	return "", &statusError{code: resp.StatusCode, contentType: resp.Header.Get("Content-Type")}
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

// wsmanFault is a WS-Management fault reply.
type wsmanFault struct {
	status    int
	code      string // SOAP Code/Value
	subcode   string
	reason    string
	wsmanCode string // WSManFault/@Code, e.g. 2150858793
}

func (f *wsmanFault) Error() string {
	r := f.reason
	if len(r) > 300 {
		r = r[:300] + "..."
	}
	return fmt.Sprintf("WS-Management fault %s (HTTP %d, %s): %s", f.wsmanCode, f.status, f.subcode, strings.TrimSpace(r))
}

// operationTimeout: the Receive saw no output within its OperationTimeout.
// Windows sends code 2150858793 and subcode w:TimedOut; older peers only the words.
func (f *wsmanFault) operationTimeout() bool {
	return f.wsmanCode == "2150858793" || strings.HasSuffix(f.subcode, "TimedOut") || strings.Contains(f.reason, "OperationTimeout")
}

func parseFault(body []byte) *wsmanFault {
	var env struct {
		Fault *struct {
			Code struct {
				Value   string `xml:"Value"`
				Subcode struct {
					Value string `xml:"Value"`
				} `xml:"Subcode"`
			} `xml:"Code"`
			Reason struct {
				Text string `xml:"Text"`
			} `xml:"Reason"`
			Detail struct {
				WSManFault struct {
					Code    string `xml:"Code,attr"`
					Message string `xml:"Message"`
				} `xml:"WSManFault"`
			} `xml:"Detail"`
		} `xml:"Body>Fault"`
	}
	if xml.Unmarshal(body, &env) != nil || env.Fault == nil {
		return nil
	}
	f := env.Fault
	reason := f.Reason.Text
	if reason == "" {
		reason = f.Detail.WSManFault.Message
	}
	return &wsmanFault{code: f.Code.Value, subcode: f.Code.Subcode.Value, reason: reason, wsmanCode: f.Detail.WSManFault.Code}
}

type authError struct{ schemes []string }

func (e *authError) Error() string {
	if len(e.schemes) == 0 {
		return "HTTP 401: credentials refused"
	}
	return "HTTP 401: credentials refused (host offers " + strings.Join(e.schemes, ", ") + ")"
}

type statusError struct {
	code        int
	contentType string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("HTTP %d with content type %q, not a WS-Management reply", e.code, e.contentType)
}

type protocolError struct{ msg string }

func (e *protocolError) Error() string { return e.msg }

// dialError marks a failure to open the TCP connection.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

type certChangedError struct{ was, now string }

func (e *certChangedError) Error() string {
	return "server certificate changed within the connection: was " + e.was + ", now " + e.now
}

// parseError is a file that was read but could not be used.
type parseError struct{ err error }

func (e *parseError) Error() string { return e.err.Error() }

// tlsCache holds a Dialer's TLS material by file path, each loaded once and
// again when a file changes (filecache); a failed load is not cached. The
// parsed values are shared read-only by the connections (x509.CertPool and
// tls.Certificate are safe for concurrent use).
type tlsCache struct {
	ca    filecache.Map[string, *filecache.Cache[*x509.CertPool]]
	pairs filecache.Map[[2]string, *filecache.Cache[*tls.Certificate]]
}

// loadCount is the files (CA files and key pairs) parsed (tests count them).
func (c *tlsCache) loadCount() int {
	n := 0
	for _, f := range c.ca.All() {
		n += f.Parses()
	}
	for _, f := range c.pairs.All() {
		n += f.Parses()
	}
	return n
}

// caPool returns the pool of the CA file's certificates. Read errors come
// back as os.Stat and os.ReadFile return them, parse errors as *parseError.
func (c *tlsCache) caPool(path string) (*x509.CertPool, error) {
	return c.ca.Get(path, func() *filecache.Cache[*x509.CertPool] {
		return filecache.New(func(data [][]byte) (*x509.CertPool, error) {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(data[0]) {
				return nil, &parseError{errors.New("no PEM certificate")}
			}
			return pool, nil
		}, path)
	}).Get()
}

// keyPair returns the client certificate and its key, with errors as caPool's.
func (c *tlsCache) keyPair(certFile, keyFile string) (*tls.Certificate, error) {
	return c.pairs.Get([2]string{certFile, keyFile}, func() *filecache.Cache[*tls.Certificate] {
		return filecache.New(func(data [][]byte) (*tls.Certificate, error) {
			cert, err := tls.X509KeyPair(data[0], data[1])
			if err != nil {
				return nil, &parseError{err}
			}
			return &cert, nil
		}, certFile, keyFile)
	}).Get()
}
