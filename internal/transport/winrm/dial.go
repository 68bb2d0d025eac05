package winrm

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"
	mz "github.com/masterzen/winrm"

	"github.com/arcfleet/arcfleet/internal/transport"
)

// conn is one WinRM connection: a shell on the host and the two HTTP clients
// that carry its requests.
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

// newConn checks t's settings and prepares the connection; nothing is sent.
func (d *Dialer) newConn(t transport.Target) (*conn, error) {
	bad := func(err error, hint string) error {
		return (&transport.Error{Kind: transport.Protocol, Host: t.Name, Op: "dial", Err: err}).WithHint(hint)
	}
	if t.Address == "" {
		return nil, bad(transport.NewPhrase(transport.ErrNoAddress, nil), transport.HintAddress)
	}
	auth := strings.ToLower(t.Auth)
	if auth == "" {
		auth = "ntlm"
	}
	switch auth {
	case "basic":
		if !t.HTTPS {
			return nil, bad(transport.NewPhrase(transport.ErrBasicHTTP, nil),
				transport.HintBasicHTTP)
		}
	case "ntlm":
	case "cert":
		if !t.HTTPS {
			return nil, bad(transport.NewPhrase(transport.ErrCertNeedsHTTPS, nil), transport.HintSetHTTPS)
		}
		if t.CertFile == "" || t.KeyFile == "" {
			return nil, bad(transport.NewPhrase(transport.ErrCertNoFiles, nil), transport.HintSetCertFiles)
		}
	default:
		return nil, bad(transport.NewPhrase(transport.ErrUnknownAuth, nil, strconv.Quote(t.Auth)), transport.HintAuthChoice)
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
	s := max(int64(d/time.Second), 1)
	return "PT" + strconv.FormatInt(s, 10) + "S"
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
