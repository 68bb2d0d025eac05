package winrm

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io/fs"

	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/internal/transport/filecache"
)

// tlsConfig is the TLS configuration of an HTTPS connection to t: the
// Dialer's cached CA pool and client key pair, and a check that records the
// server certificate's fingerprint and refuses another one later.
func (c *conn) tlsConfig(d *Dialer, t transport.Target) (*tls.Config, error) {
	conf := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.TLSServerName,
		InsecureSkipVerify: t.Insecure, // explicit opt-in only; the fingerprint is still recorded
	}
	if t.CAFile != "" {
		pool, err := d.tls.caPool(t.CAFile)
		switch {
		case err == nil:
		case errors.As(err, new(*fs.PathError)):
			return nil, (&transport.Error{Kind: transport.TLSFailed, Host: t.Name, Op: "dial", Err: err}).WithHint(transport.HintCAFileCheck)
		default:
			return nil, (&transport.Error{Kind: transport.TLSFailed, Host: t.Name, Op: "dial",
				Err: transport.NewPhrase(transport.ErrNoPEM, nil, t.CAFile)}).WithHint(transport.HintCAFilePEM)
		}
		conf.RootCAs = pool
	}
	if c.auth == "cert" {
		cert, err := d.tls.keyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, (&transport.Error{Kind: transport.AuthFailed, Host: t.Name, Op: "dial",
				Err: transport.NewPhrase(transport.ErrClientCert, err, t.CertFile, t.KeyFile, err.Error())}).WithHint(transport.HintClientCertFiles)
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
			return transport.NewPhrase(transport.ErrCertChanged, errCertChanged, c.fp, fp)
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

// errCertChanged: another certificate answered on a reconnect within one Conn
// (wrapped in a transport.ErrCertChanged phrase that names both).
var errCertChanged = errors.New("server certificate changed within the connection")

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
// back as *fs.PathError (filecache.Cache.Get), any other error is the content's.
func (c *tlsCache) caPool(path string) (*x509.CertPool, error) {
	return c.ca.Get(path, func() *filecache.Cache[*x509.CertPool] {
		return filecache.New(func(data [][]byte) (*x509.CertPool, error) {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(data[0]) {
				return nil, errors.New("no PEM certificate")
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
				return nil, err
			}
			return &cert, nil
		}, certFile, keyFile)
	}).Get()
}
