// Package winrmtest is a WinRM server for tests and the demo, written from
// MS-WSMV 3.1.4 (the Windows Remote Shell operations over WS-Management):
// Create, Command, Receive (long-poll, OperationTimeout fault), Send, Signal and
// Delete, with Basic, NTLMv2 and client-certificate authentication over HTTP or
// HTTPS. It runs commands on this Linux machine: a command line registered
// with Server.Register (a PowerShell command, say) runs the POSIX sh script
// registered for it (arcfleet's Windows host emulation); other PowerShell
// command lines are refused; any other command line runs with /bin/sh -c.
// See README.md for what it does not cover.
package winrmtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/arcfleet/arcfleet/internal/transport"
)

// Options configure a Server. The zero value is a plain-HTTP server on a free
// port of 127.0.0.1 for user "arcfleet" with a random password, accepting
// Basic and NTLM (and client certificates when HTTPS is set).
type Options struct {
	Addr     string // listen address; default "127.0.0.1:0"
	HTTPS    bool
	User     string // default "arcfleet"
	Password string // default: random
	// Auth lists the accepted schemes: "basic", "ntlm", "cert". Default: all.
	Auth []string
	// CA signs the server certificate; nil: a CA of its own. Share one CA
	// across servers so a fleet trusts one CA file.
	CA *CA
	// CertHosts are the server certificate's names; default 127.0.0.1, ::1,
	// localhost and the listen host.
	CertHosts []string
	// Env is the commands' complete environment, the emulated host's
	// (PATH=..., AZCMAGENT_SIM_ROOT=...); nil means this process's environment.
	// Variables a client sets at Create (rsp:Environment) are added to it.
	// Without a TMPDIR in Env, the commands get the server's own (Server.TempDir).
	Env []string
	// Dir is the commands' working directory; default: the server's temp dir.
	Dir string
	// MaxOperationTimeout caps how long a Receive waits for output before the
	// OperationTimeout fault; 0 honours the client's OperationTimeout header.
	MaxOperationTimeout time.Duration

	// Faults.
	AlwaysUnauthorized bool // every request gets 401, whatever the credentials
	Hang               bool // accept TCP connections and never answer (not even TLS)
	DropMidCommand     bool // close the TCP connection on a Receive while the command still runs
	WrongCert          bool // serve a certificate from a CA other than the one in CAFile
}

// Server is a running WinRM test server.
type Server struct {
	Addr        string // host:port
	Host        string
	Port        int
	HTTPS       bool
	URL         string // http(s)://host:port/wsman
	CA          *CA    // the CA a client should trust (CAFile holds its PEM)
	CAFile      string // "" over HTTP
	Fingerprint string // "SHA256:..." of the served certificate; "" over HTTP
	User        string
	Password    string
	Dir         string // the server's files (CA PEM, client certificates)
	// TempDir is the commands' TMPDIR: Options.Env's, or Dir/tmp, so what a
	// script leaves in its temp dir shows up per server and goes with it.
	TempDir string

	opts     Options
	auth     map[string]bool
	ln       net.Listener
	hs       *http.Server
	done     chan struct{}
	closeMu  sync.Once
	ownDir   bool
	hangWG   sync.WaitGroup
	mu       sync.Mutex
	shells   map[string]*shell
	hangConn map[net.Conn]struct{}
	counts   map[string]int
	scripts  map[[sha256.Size]byte]string // Register: command line digest -> sh script
}

// Start starts a server for a test and closes it when the test ends.
func Start(t TB, opts Options) *Server {
	t.Helper()
	s, err := newServer(opts, t.TempDir(), false)
	if err != nil {
		t.Fatalf("winrmtest.Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// New starts a server outside tests (the demo). Close releases it and its temp dir.
func New(opts Options) (*Server, error) {
	dir, err := os.MkdirTemp("", "winrmtest-")
	if err != nil {
		return nil, err
	}
	s, err := newServer(opts, dir, true)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func newServer(opts Options, dir string, ownDir bool) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.User == "" {
		opts.User = "arcfleet"
	}
	if opts.Password == "" {
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		opts.Password = hex.EncodeToString(b[:])
	}
	if len(opts.Auth) == 0 {
		opts.Auth = []string{"basic", "ntlm", "cert"}
	}
	if opts.Dir == "" {
		opts.Dir = dir
	}
	s := &Server{
		HTTPS: opts.HTTPS, User: opts.User, Password: opts.Password, Dir: dir,
		opts: opts, auth: map[string]bool{}, done: make(chan struct{}), ownDir: ownDir,
		shells: map[string]*shell{}, hangConn: map[net.Conn]struct{}{}, counts: map[string]int{},
	}
	s.TempDir = filepath.Join(dir, "tmp")
	if v, ok := lookupEnv(opts.Env, "TMPDIR"); ok {
		s.TempDir = v
	} else if err := os.MkdirAll(s.TempDir, 0o700); err != nil {
		return nil, fmt.Errorf("winrmtest: %w", err)
	}
	for _, a := range opts.Auth {
		switch a {
		case "basic", "ntlm", "cert":
			s.auth[a] = true
		default:
			return nil, fmt.Errorf("winrmtest: unknown auth %q (want basic, ntlm or cert)", a)
		}
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("winrmtest: listen %s: %w", opts.Addr, err)
	}
	s.Addr = ln.Addr().String()
	host, port, _ := net.SplitHostPort(s.Addr)
	s.Host = host
	s.Port, _ = strconv.Atoi(port)
	scheme := "http"
	var tlsConf *tls.Config
	if opts.HTTPS {
		scheme = "https"
		if tlsConf, err = s.setupTLS(host); err != nil {
			ln.Close()
			return nil, err
		}
	}
	s.URL = fmt.Sprintf("%s://%s/wsman", scheme, s.Addr)

	if opts.Hang {
		s.ln = ln
		go s.hang()
		return s, nil
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	s.ln = ln
	s.hs = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, &connState{})
		},
		ErrorLog: log.New(io.Discard, "", 0), // clients that fail TLS on purpose are expected
	}
	go func() { _ = s.hs.Serve(ln) }()
	return s, nil
}

func (s *Server) setupTLS(host string) (*tls.Config, error) {
	ca := s.opts.CA
	if ca == nil {
		var err error
		if ca, err = NewCA(); err != nil {
			return nil, err
		}
	}
	s.CA = ca
	s.CAFile = filepath.Join(s.Dir, "ca.pem")
	if err := os.WriteFile(s.CAFile, ca.PEM, 0o644); err != nil {
		return nil, err
	}
	signer := ca
	if s.opts.WrongCert {
		other, err := NewCA()
		if err != nil {
			return nil, err
		}
		signer = other
	}
	hosts := s.opts.CertHosts
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1", "::1", "localhost"}
		if host != "127.0.0.1" && host != "::1" {
			hosts = append(hosts, host)
		}
	}
	cert, err := signer.issue(hosts[0], hosts, false)
	if err != nil {
		return nil, fmt.Errorf("winrmtest: server certificate: %w", err)
	}
	s.Fingerprint = Fingerprint(cert.Certificate[0])
	conf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if s.auth["cert"] {
		conf.ClientAuth = tls.VerifyClientCertIfGiven
		conf.ClientCAs = ca.pool()
	}
	return conf, nil
}

// hang accepts connections and never answers, like a host whose WinRM service is wedged.
func (s *Server) hang() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.hangConn[c] = struct{}{}
		s.mu.Unlock()
		s.hangWG.Add(1)
		go func() {
			defer s.hangWG.Done()
			_, _ = io.Copy(io.Discard, c)
		}()
	}
}

// Close stops the server, kills every command it started and removes the
// temp dir New made. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeMu.Do(func() {
		close(s.done)
		if s.hs != nil {
			_ = s.hs.Close()
		} else {
			_ = s.ln.Close()
			s.mu.Lock()
			for c := range s.hangConn {
				_ = c.Close()
			}
			s.mu.Unlock()
			s.hangWG.Wait()
		}
		s.mu.Lock()
		shells := s.shells
		s.shells = map[string]*shell{}
		s.mu.Unlock()
		for _, sh := range shells {
			killAll(sh)
		}
		if s.ownDir {
			_ = os.RemoveAll(s.Dir)
		}
	})
	return nil
}

// Counts returns how many requests of each kind the server answered:
// "Create", "Command", "Receive", "Send", "Signal", "Delete", "Unauthorized",
// "OperationTimeout" (Receive faults) and "Fault" (other faults).
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		m[k] = v
	}
	return m
}

// Running returns the number of commands whose process has not exited.
func (s *Server) Running() int {
	s.mu.Lock()
	shells := make([]*shell, 0, len(s.shells))
	for _, sh := range s.shells {
		shells = append(shells, sh)
	}
	s.mu.Unlock()
	n := 0
	for _, sh := range shells {
		sh.mu.Lock()
		for _, c := range sh.commands {
			c.mu.Lock()
			if !c.exited {
				n++
			}
			c.mu.Unlock()
		}
		sh.mu.Unlock()
	}
	return n
}

func (s *Server) count(k string) {
	s.mu.Lock()
	s.counts[k]++
	s.mu.Unlock()
}

type connKey struct{}

// connState is per TCP connection: NTLM authenticates a connection, not a request.
type connState struct {
	mu        sync.Mutex
	ntlmUser  string
	challenge [8]byte
	pending   bool
}

const mutualAuth = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"

// ServeHTTP answers WS-Management requests at /wsman.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/wsman" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return
	}
	user, ok := s.authenticate(w, r)
	if !ok {
		s.count("Unauthorized")
		return
	}
	req, err := parseRequest(body)
	if err != nil {
		s.reply(w, "", http.StatusBadRequest, faultAction(err.Error()))
		return
	}
	if uri := strings.TrimSpace(req.Header.ResourceURI); uri != resourceCmd {
		s.replyFault(w, req, faultInvalid("unsupported ResourceURI "+uri))
		return
	}
	switch req.Header.Action {
	case actionCreate:
		s.create(w, req, user)
	case actionCommand:
		s.command(w, req)
	case actionReceive:
		s.receive(w, r, req)
	case actionSend:
		s.send(w, req)
	case actionSignal:
		s.signal(w, req)
	case actionDelete:
		s.delete(w, req)
	default:
		s.replyFault(w, req, faultAction(req.Header.Action))
	}
}

// authenticate checks the request's credentials. On failure it has written
// the 401 (with an NTLM challenge when the client is mid-handshake).
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	if s.opts.AlwaysUnauthorized {
		s.unauthorized(w)
		return "", false
	}
	cs, _ := r.Context().Value(connKey{}).(*connState)
	if cs == nil {
		cs = &connState{}
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	authz := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(authz, " ")
	switch {
	case cs.ntlmUser != "" && authz == "":
		return cs.ntlmUser, true // this connection completed NTLM earlier
	case authz == mutualAuth && s.auth["cert"]:
		if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && strings.EqualFold(r.TLS.PeerCertificates[0].Subject.CommonName, s.User) {
			return s.User, true
		}
	case strings.EqualFold(scheme, "Basic") && s.auth["basic"]:
		u, p, ok := r.BasicAuth()
		if ok && subtle.ConstantTimeCompare([]byte(u), []byte(s.User)) == 1 &&
			subtle.ConstantTimeCompare([]byte(p), []byte(s.Password)) == 1 {
			return u, true
		}
	case (strings.EqualFold(scheme, "Negotiate") || strings.EqualFold(scheme, "NTLM")) && s.auth["ntlm"]:
		msg, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
		if err != nil {
			break
		}
		typ, err := ntlmMessageType(msg)
		if err != nil {
			break // e.g. a SPNEGO/Kerberos token: not offered here
		}
		switch typ {
		case 1:
			ch, challenge, err := newChallenge(time.Now())
			if err != nil {
				break
			}
			cs.challenge, cs.pending, cs.ntlmUser = challenge, true, ""
			w.Header().Set("WWW-Authenticate", scheme+" "+base64.StdEncoding.EncodeToString(ch))
			w.WriteHeader(http.StatusUnauthorized)
			return "", false
		case 3:
			if !cs.pending {
				break
			}
			cs.pending = false // a challenge is good for one answer
			m, err := parseAuthenticate(msg)
			if err != nil {
				break
			}
			if verifyNTLMv2(m, cs.challenge, s.User, s.Password) == nil {
				cs.ntlmUser = m.User
				return m.User, true
			}
		}
	}
	s.unauthorized(w)
	return "", false
}

func (s *Server) unauthorized(w http.ResponseWriter) {
	if s.auth["ntlm"] {
		w.Header().Add("WWW-Authenticate", "Negotiate")
	}
	if s.auth["basic"] {
		w.Header().Add("WWW-Authenticate", `Basic realm="WSMAN"`)
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusUnauthorized)
}

func (s *Server) reply(w http.ResponseWriter, relatesTo string, status int, f fault) {
	s.count("Fault")
	s.write(w, status, envelope(actionFault, relatesTo, "uuid:"+newID(), f.body()))
}

func (s *Server) replyFault(w http.ResponseWriter, req *request, f fault) {
	s.reply(w, req.Header.MessageID, http.StatusInternalServerError, f)
}

func (s *Server) replyOK(w http.ResponseWriter, req *request, action, body string) {
	s.write(w, http.StatusOK, envelope(action, req.Header.MessageID, "uuid:"+newID(), body))
}

func (s *Server) write(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *Server) shell(req *request) (*shell, bool) {
	id := req.selector("ShellId")
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, ok := s.shells[id]
	return sh, ok
}

// create implements Create (MS-WSMV 3.1.4.5).
func (s *Server) create(w http.ResponseWriter, req *request, user string) {
	if req.Body.Shell == nil {
		s.replyFault(w, req, faultInvalid("Create without rsp:Shell"))
		return
	}
	sh := &shell{id: newID(), owner: user, dir: s.opts.Dir, commands: map[string]*command{}}
	if d := strings.TrimSpace(req.Body.Shell.WorkingDirectory); d != "" {
		sh.dir = d
	}
	for _, v := range req.Body.Shell.Environment.Variables {
		sh.env = append(sh.env, v.Name+"="+v.Value)
	}
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return
	default:
	}
	s.shells[sh.id] = sh
	s.mu.Unlock()
	s.count("Create")
	s.replyOK(w, req, actionCreate+"Response", createBody(s.URL, sh.id, user, "stdin", "stdout stderr"))
}

// command implements Command (MS-WSMV 3.1.4.11): start the process, reply with its CommandId.
func (s *Server) command(w http.ResponseWriter, req *request) {
	sh, ok := s.shell(req)
	if !ok {
		s.replyFault(w, req, faultNoShell(req.selector("ShellId")))
		return
	}
	cl := req.Body.CommandLine
	if cl == nil {
		s.replyFault(w, req, faultInvalid("Command without rsp:CommandLine"))
		return
	}
	line := strings.TrimSpace(cl.Command)
	for _, a := range cl.Arguments {
		line += " " + a
	}
	id := newID()
	var c *command
	if l := emulate(line, s.registered); l.refuse != "" {
		c = refusedCommand(id, l.refuse)
	} else {
		var err error
		if c, err = startCommand(id, l.script, sh.dir, commandEnv(s.opts.Env, s.TempDir, sh.env)); err != nil {
			s.replyFault(w, req, faultInvalid("cannot start the command: "+err.Error()))
			return
		}
	}
	sh.mu.Lock()
	sh.commands[id] = c
	sh.mu.Unlock()
	s.count("Command")
	s.replyOK(w, req, actionCommand+"Response", commandBody(id))
}

func (s *Server) lookup(w http.ResponseWriter, req *request, commandID string) (*shell, *command, bool) {
	sh, ok := s.shell(req)
	if !ok {
		s.replyFault(w, req, faultNoShell(req.selector("ShellId")))
		return nil, nil, false
	}
	c := sh.command(strings.TrimSpace(commandID))
	if c == nil {
		s.replyFault(w, req, faultNoCommand(commandID))
		return nil, nil, false
	}
	return sh, c, true
}

// receive implements Receive (MS-WSMV 3.1.4.14) as a long-poll: it answers as
// soon as there is output or the command ends, and with the OperationTimeout
// fault when neither happens within the request's OperationTimeout.
func (s *Server) receive(w http.ResponseWriter, r *http.Request, req *request) {
	if req.Body.Receive == nil {
		s.replyFault(w, req, faultInvalid("Receive without rsp:Receive"))
		return
	}
	_, c, ok := s.lookup(w, req, req.Body.Receive.DesiredStream.CommandID)
	if !ok {
		return
	}
	s.count("Receive")
	if s.opts.DropMidCommand && s.dropOnce(c) {
		abort(w)
		return
	}
	timeout := 60 * time.Second
	if d, err := parseDuration(req.Header.OperationTimeout); err == nil {
		timeout = d
	}
	if m := s.opts.MaxOperationTimeout; m > 0 && timeout > m {
		timeout = m
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	max := req.maxEnvelope() / 2 // base64 and XML must fit in MaxEnvelopeSize
	coalesced := false
	for {
		c.mu.Lock()
		pending := len(c.stdout) + len(c.stderr)
		if pending > 0 && pending < max && !c.exited && !coalesced {
			// Give the command a moment to write more or exit, so a short
			// command finishes in one Receive.
			c.mu.Unlock()
			coalesced = true
			select {
			case <-time.After(5 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
			continue
		}
		ch := c.takeLocked(max)
		wait := c.changed
		c.mu.Unlock()
		if ch.done || len(ch.stdout)+len(ch.stderr) > 0 {
			s.replyOK(w, req, actionReceive+"Response", receiveBody(c.id, ch))
			return
		}
		select {
		case <-wait:
		case <-timer.C:
			s.count("OperationTimeout")
			s.replyFault(w, req, faultOperationTimeout)
			return
		case <-r.Context().Done():
			return
		case <-s.done:
			abort(w) // a server going down answers nothing, like a dead host
			return
		}
	}
}

// abort closes the request's connection without a reply.
func abort(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
		}
	}
}

func (s *Server) dropOnce(c *command) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropped || c.exited {
		return false
	}
	c.dropped = true
	return true
}

// send implements Send (MS-WSMV 3.1.4.13): base64 stdin, End="true" closes it.
func (s *Server) send(w http.ResponseWriter, req *request) {
	if req.Body.Send == nil {
		s.replyFault(w, req, faultInvalid("Send without rsp:Send"))
		return
	}
	for _, st := range req.Body.Send.Streams {
		if st.Name != "stdin" {
			s.replyFault(w, req, faultInvalid("unknown input stream "+st.Name))
			return
		}
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(st.Data))
		if err != nil {
			s.replyFault(w, req, faultInvalid("stdin is not base64"))
			return
		}
		_, c, ok := s.lookup(w, req, st.CommandID)
		if !ok {
			return
		}
		end, _ := strconv.ParseBool(st.End)
		c.write(data, end)
	}
	s.count("Send")
	s.replyOK(w, req, actionSend+"Response", sendBody())
}

// signal implements Signal (MS-WSMV 3.1.4.12). terminate kills the process
// group, waits for it and forgets the command; ctrl_c and ctrl_break send SIGINT.
func (s *Server) signal(w http.ResponseWriter, req *request) {
	sg := req.Body.Signal
	if sg == nil {
		s.replyFault(w, req, faultInvalid("Signal without rsp:Signal"))
		return
	}
	sh, c, ok := s.lookup(w, req, sg.CommandID)
	if !ok {
		return
	}
	switch strings.TrimSpace(sg.Code) {
	case signalTerminate:
		c.kill()
		sh.mu.Lock()
		delete(sh.commands, c.id)
		sh.mu.Unlock()
	case signalCtrlC, signalCtrlBreak:
		c.signal(syscall.SIGINT)
	default:
		s.replyFault(w, req, faultInvalid("unknown signal code "+sg.Code))
		return
	}
	s.count("Signal")
	s.replyOK(w, req, actionSignal+"Response", signalBody())
}

// delete implements Delete (MS-WSMV 3.1.4.4): the shell and all its processes go.
func (s *Server) delete(w http.ResponseWriter, req *request) {
	id := req.selector("ShellId")
	s.mu.Lock()
	sh, ok := s.shells[id]
	delete(s.shells, id)
	s.mu.Unlock()
	if !ok {
		s.replyFault(w, req, faultNoShell(id))
		return
	}
	killAll(sh)
	s.count("Delete")
	s.replyOK(w, req, actionDelete+"Response", "")
}

func killAll(sh *shell) {
	sh.mu.Lock()
	cmds := make([]*command, 0, len(sh.commands))
	for _, c := range sh.commands {
		cmds = append(cmds, c)
	}
	sh.commands = map[string]*command{}
	sh.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range cmds {
		wg.Add(1)
		go func() { defer wg.Done(); c.kill() }()
	}
	wg.Wait()
}

// Target returns the transport.Target that reaches this server as host name
// with auth "basic", "ntlm" or "cert" (cert also needs CertFile and KeyFile,
// see CA.WriteClientCert).
func (s *Server) Target(name, auth string) transport.Target {
	return transport.Target{
		Name: name, Address: s.Host, Port: s.Port, Protocol: "winrm",
		User: s.User, Password: s.Password, Auth: auth, HTTPS: s.HTTPS, CAFile: s.CAFile,
	}
}
