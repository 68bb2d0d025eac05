package sshtest

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// ServerConfig configures an in-process SSH server.
type ServerConfig struct {
	// Addr to listen on; "" means 127.0.0.1:0. Ignored when Listener is set.
	Addr     string
	Listener net.Listener
	// HostKey; nil means a new ed25519 key. Many servers may share one key.
	HostKey xssh.Signer
	// AuthorizedKeys may log in (any user name unless User is set).
	AuthorizedKeys []xssh.PublicKey
	// Password, when not empty, is also accepted.
	Password string
	// User, when not empty, is the only user name accepted.
	User string
	// Env of the commands; nil means this process's environment.
	Env []string
	// Dir is the commands' working directory; "" means this process's.
	Dir string
	// AllowForwarding accepts direct-tcpip channels, so the server can be a jump host.
	AllowForwarding bool
}

// Server is an SSH server in this process (x/crypto/ssh server side) that runs
// each exec request with /bin/sh -c in its own process group. It needs no root
// and no sshd, and costs one listener and one goroutine while idle, so a test
// can run thousands. Unlike OpenSSH it also kills a command whose session or
// connection goes away.
type Server struct {
	cfg    ServerConfig
	ssh    *xssh.ServerConfig
	ln     net.Listener
	key    xssh.PublicKey
	authed map[string]bool

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]bool
	pgids  map[int]bool
	wg     sync.WaitGroup
}

// NewServer starts a server; Close stops it and kills its commands.
func NewServer(cfg ServerConfig) (*Server, error) {
	s := &Server{cfg: cfg, authed: map[string]bool{}, conns: map[net.Conn]bool{}, pgids: map[int]bool{}}
	if cfg.HostKey == nil {
		k, _, err := NewSigner()
		if err != nil {
			return nil, err
		}
		cfg.HostKey = k
	}
	s.key = cfg.HostKey.PublicKey()
	for _, k := range cfg.AuthorizedKeys {
		s.authed[string(k.Marshal())] = true
	}
	s.ssh = &xssh.ServerConfig{
		PublicKeyCallback: func(md xssh.ConnMetadata, key xssh.PublicKey) (*xssh.Permissions, error) {
			if s.userOK(md) && s.authed[string(key.Marshal())] {
				return nil, nil
			}
			return nil, errors.New("key not authorized")
		},
		ServerVersion: "SSH-2.0-arcfleet-sshtest",
	}
	if cfg.Password != "" {
		s.ssh.PasswordCallback = func(md xssh.ConnMetadata, pw []byte) (*xssh.Permissions, error) {
			if s.userOK(md) && subtle.ConstantTimeCompare(pw, []byte(cfg.Password)) == 1 {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		}
	}
	s.ssh.AddHostKey(cfg.HostKey)
	s.ln = cfg.Listener
	if s.ln == nil {
		addr := cfg.Addr
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		s.ln = ln
	}
	s.cfg = cfg
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func (s *Server) userOK(md xssh.ConnMetadata) bool {
	return s.cfg.User == "" || md.User() == s.cfg.User
}

// Addr is the listening address, "host:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host and Port split Addr.
func (s *Server) Host() string {
	h, _, _ := net.SplitHostPort(s.Addr())
	return h
}

// Port is the listening port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr())
	n, _ := strconv.Atoi(p)
	return n
}

// HostKey is the server's public host key.
func (s *Server) HostKey() xssh.PublicKey { return s.key }

// Fingerprint is the host key's "SHA256:..." fingerprint.
func (s *Server) Fingerprint() string { return xssh.FingerprintSHA256(s.key) }

// KnownHostsLine is the server's known_hosts line (without newline).
func (s *Server) KnownHostsLine() string {
	return knownhosts.Line([]string{knownhosts.Normalize(s.Addr())}, s.key)
}

// Close stops listening, drops every connection and kills every command.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	for pg := range s.pgids {
		syscall.Kill(-pg, syscall.SIGTERM) // each session goes on to SIGKILL (stopGroup)
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !s.track(nc) {
			nc.Close()
			return
		}
		s.wg.Add(1)
		go s.handleConn(nc)
	}
}

func (s *Server) track(nc net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[nc] = true
	return true
}

func (s *Server) handleConn(nc net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, nc)
		s.mu.Unlock()
		nc.Close()
	}()
	sc, chans, reqs, err := xssh.NewServerConn(nc, s.ssh)
	if err != nil {
		return
	}
	defer sc.Close()
	// keepalive@openssh.com and all other global requests get "false", as from
	// OpenSSH: the reply itself proves the link is alive.
	go xssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nch := range chans {
		switch nch.ChannelType() {
		case "session":
			ch, creqs, err := nch.Accept()
			if err != nil {
				continue
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.session(ch, creqs) }()
		case "direct-tcpip":
			if !s.cfg.AllowForwarding {
				nch.Reject(xssh.Prohibited, "forwarding disabled")
				continue
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.forward(nch) }()
		default:
			nch.Reject(xssh.UnknownChannelType, "unsupported channel type")
		}
	}
}

// session serves one session channel: one exec request, plus signals.
func (s *Server) session(ch xssh.Channel, reqs <-chan *xssh.Request) {
	defer ch.Close()
	var cmd *exec.Cmd
	exited := make(chan *os.ProcessState, 1)
	drained := make(chan struct{}) // the command's stdout and stderr are at EOF
	for {
		select {
		case req, ok := <-reqs:
			if !ok {
				// The client closed the channel (or the connection died).
				if cmd != nil {
					stopGroup(cmd.Process.Pid, exited)
				}
				return
			}
			switch req.Type {
			case "exec":
				var p struct{ Command string }
				if cmd != nil || xssh.Unmarshal(req.Payload, &p) != nil {
					req.Reply(false, nil)
					continue
				}
				c, err := s.start(ch, p.Command, exited, drained)
				if err != nil {
					req.Reply(false, nil)
					fmt.Fprintf(ch.Stderr(), "arcfleet-sshtest: %v\n", err)
					return
				}
				cmd = c
				req.Reply(true, nil)
			case "signal":
				var p struct{ Signal string }
				var sig syscall.Signal
				ok := xssh.Unmarshal(req.Payload, &p) == nil
				if ok {
					sig, ok = signalByName[p.Signal]
				}
				if ok && cmd != nil {
					syscall.Kill(-cmd.Process.Pid, sig) // the whole group, as OpenSSH's killpg
				}
				if req.WantReply {
					req.Reply(ok && cmd != nil, nil)
				}
			default: // env, pty-req, shell, subsystem: not offered
				if req.WantReply {
					req.Reply(false, nil)
				}
			}
		case st := <-exited:
			// As sshd: the exit status goes as soon as the command has exited,
			// the channel closes once its output is at EOF (a background child
			// holding stdout keeps it open, as with sshd).
			sendExit(ch, st)
			for {
				select {
				case <-drained:
					return
				case req, ok := <-reqs:
					if !ok {
						syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // what is left of the group
						return
					}
					if req.WantReply {
						req.Reply(false, nil)
					}
				}
			}
		}
	}
}

// stopGrace is how long a command whose session went away gets to end on
// SIGTERM (running its cleanup traps, e.g. removing a config file that holds a
// secret) before SIGKILL.
const stopGrace = 2 * time.Second

// stopGroup ends the process group pg: SIGTERM, then SIGKILL after stopGrace,
// and waits for the command's exit on exited.
func stopGroup(pg int, exited <-chan *os.ProcessState) {
	syscall.Kill(-pg, syscall.SIGTERM)
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-exited:
		return
	case <-t.C:
	}
	syscall.Kill(-pg, syscall.SIGKILL)
	<-exited
}

// start runs command with sh -c in a new process group. As sshd does, once the
// command (the shell) has exited its stdin is closed, even while the client
// keeps its side open, and its state is sent on exited; drained is closed when
// its stdout and stderr are at EOF (every process holding them has gone).
func (s *Server) start(ch xssh.Channel, command string, exited chan<- *os.ProcessState, drained chan<- struct{}) (*exec.Cmd, error) {
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Env, cmd.Dir = s.cfg.Env, s.cfg.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// os.Pipe rather than cmd.*Pipe: Wait then returns when the process exits,
	// not when its output ends, and stdin is closed when this server says.
	var parent, child []*os.File
	for range 3 {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(parent, child)
			return nil, err
		}
		if len(parent) == 0 { // stdin: the child reads
			parent, child = append(parent, w), append(child, r)
		} else {
			parent, child = append(parent, r), append(child, w)
		}
	}
	stdin, stdout, stderr := parent[0], parent[1], parent[2]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = child[0], child[1], child[2]
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		closeAll(parent, child)
		return nil, errors.New("server closed")
	}
	err := cmd.Start()
	if err == nil {
		s.pgids[cmd.Process.Pid] = true
	}
	s.mu.Unlock()
	closeAll(nil, child) // the command's ends now belong to it
	if err != nil {
		closeAll(parent, nil)
		return nil, err
	}
	go func() {
		io.Copy(stdin, ch) // until the client's EOF, or the close below
		stdin.Close()
	}()
	go func() {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); io.Copy(ch, stdout); stdout.Close() }()
		go func() { defer wg.Done(); io.Copy(ch.Stderr(), stderr); stderr.Close() }()
		wg.Wait()
		close(drained)
	}()
	go func() {
		cmd.Wait()
		stdin.Close() // a blocked write fails; the copy above ends on its next read
		s.mu.Lock()
		delete(s.pgids, cmd.Process.Pid)
		s.mu.Unlock()
		exited <- cmd.ProcessState
	}()
	return cmd, nil
}

func closeAll(a, b []*os.File) {
	for _, f := range append(a, b...) {
		f.Close()
	}
}

// sendExit reports the command's end as OpenSSH does: exit-status, or
// exit-signal for a death by signal (the client turns it into 128+n).
func sendExit(ch xssh.Channel, st *os.ProcessState) {
	ws, _ := st.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		name := "KILL"
		for n, s := range signalByName {
			if s == ws.Signal() {
				name = n
			}
		}
		ch.SendRequest("exit-signal", false, xssh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Error      string
			Lang       string
		}{name, ws.CoreDump(), "", ""}))
		return
	}
	ch.SendRequest("exit-status", false, xssh.Marshal(struct{ Status uint32 }{uint32(st.ExitCode())}))
}

var signalByName = map[string]syscall.Signal{
	"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "FPE": syscall.SIGFPE, "HUP": syscall.SIGHUP,
	"ILL": syscall.SIGILL, "INT": syscall.SIGINT, "KILL": syscall.SIGKILL, "PIPE": syscall.SIGPIPE,
	"QUIT": syscall.SIGQUIT, "SEGV": syscall.SIGSEGV, "TERM": syscall.SIGTERM, "USR1": syscall.SIGUSR1,
	"USR2": syscall.SIGUSR2,
}

// forward serves a direct-tcpip channel (the server as a jump host).
func (s *Server) forward(nch xssh.NewChannel) {
	var p struct {
		Host     string
		Port     uint32
		OrigHost string
		OrigPort uint32
	}
	if err := xssh.Unmarshal(nch.ExtraData(), &p); err != nil {
		nch.Reject(xssh.ConnectionFailed, "bad direct-tcpip request")
		return
	}
	tc, err := net.Dial("tcp", net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port))))
	if err != nil {
		nch.Reject(xssh.ConnectionFailed, err.Error())
		return
	}
	// Tracked so that Close ends the copies even when the far side idles.
	if !s.track(tc) {
		tc.Close()
		nch.Reject(xssh.ConnectionFailed, "server closed")
		return
	}
	defer func() {
		s.mu.Lock()
		delete(s.conns, tc)
		s.mu.Unlock()
	}()
	ch, reqs, err := nch.Accept()
	if err != nil {
		tc.Close()
		return
	}
	go xssh.DiscardRequests(reqs)
	done := make(chan struct{}, 2)
	go func() { io.Copy(tc, ch); tc.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	go func() { io.Copy(ch, tc); ch.CloseWrite(); done <- struct{}{} }()
	<-done
	<-done
	ch.Close()
	tc.Close()
}
