package winrm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/arcfleet/arcfleet/internal/transport"
)

// fail turns err into a transport.Error a caller can branch on. ctx is the
// caller's: when it has ended, that is the cause. started says the command was
// created on the host, so a broken link leaves its outcome unknown (Lost).
// No branch adds a secret: errors come from net/http, TLS and the host's
// replies, none of which carries the password.
func (c *conn) fail(op string, err error, ctx context.Context, started bool) *transport.Error {
	e := &transport.Error{Host: c.name, Op: op, Err: err}
	var (
		de    *dialError
		fe    *wsmanFault
		se    *statusError
		pe    *protocolError
		ua    x509.UnknownAuthorityError
		he    x509.HostnameError
		ci    x509.CertificateInvalidError
		cv    *tls.CertificateVerificationError
		rh    tls.RecordHeaderError
		alert tls.AlertError
		dns   *net.DNSError
		ne    net.Error
	)
	_, hostPort, _ := strings.Cut(strings.TrimSuffix(c.url, "/wsman"), "://")
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled):
		e.Kind, e.Err = transport.Canceled, ctx.Err()
	case ctx.Err() != nil:
		e.Kind, e.Err = transport.Timeout, ctx.Err()
	case errors.As(err, &se) && se.code == http.StatusUnauthorized:
		e.Kind, e.Hint = transport.AuthFailed, authHint(c.auth)
	case errors.Is(err, errCertChanged):
		e.Kind, e.Hint = transport.TLSFailed, "another certificate answered on reconnect; check for an interception proxy or a host that changed"
	case errors.As(err, &ua):
		e.Kind, e.Hint = transport.TLSFailed, "set winrm.ca_file to the PEM of the CA that signed the host's WinRM certificate"
	case errors.As(err, &he):
		e.Kind, e.Hint = transport.TLSFailed, "set winrm.tls_server_name to a name in the host's certificate, or reissue the certificate for this address"
	case errors.As(err, &ci):
		e.Kind, e.Hint = transport.TLSFailed, "the host's certificate is expired or not valid for server use; renew the WinRM listener certificate"
	case errors.As(err, &cv):
		e.Kind, e.Hint = transport.TLSFailed, "check winrm.ca_file and the host's WinRM certificate"
	case errors.As(err, &rh), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		e.Kind, e.Hint = transport.TLSFailed, fmt.Sprintf("%s does not speak TLS: is it the HTTP listener? use port 5986 for HTTPS", hostPort)
	case errors.As(err, &alert):
		e.Kind, e.Hint = transport.TLSFailed, "the host refused the TLS handshake; with auth: cert, check winrm.cert_file was issued by a CA the host trusts"
	case errors.As(err, &de):
		if started {
			e.Kind, e.Hint = transport.Lost, "the host stopped accepting connections while the command ran; its outcome is unknown"
			break
		}
		e.Kind = transport.Unreachable
		if errors.As(err, &dns) {
			e.Hint = "check the host's address: the name does not resolve"
		} else {
			e.Hint = fmt.Sprintf("check that %s is the host's WinRM listener (winrm enumerate winrm/config/listener) and that the firewall allows it", hostPort)
		}
	case errors.As(err, &fe):
		e.Kind = transport.Protocol
		if started && strings.HasSuffix(fe.subcode, "InvalidSelectors") {
			// The shell is gone mid-command (WinRM service restarted, shell idle timeout).
			e.Kind, e.Hint = transport.Lost, "the host dropped the shell while the command ran; its outcome is unknown"
		}
	case errors.As(err, &se):
		e.Kind = transport.Protocol
		if se.code == 400 && !c.https {
			e.Hint = fmt.Sprintf("%s may be an HTTPS listener: set winrm.https: true", hostPort)
		} else {
			e.Hint = "is this port a WinRM listener (path /wsman)?"
		}
	case errors.As(err, &pe):
		e.Kind = transport.Protocol
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		if started {
			e.Kind, e.Hint = transport.Lost, "the host stopped answering while the command ran; its outcome is unknown"
		} else {
			e.Kind = transport.Timeout
		}
	case started:
		e.Kind, e.Hint = transport.Lost, "the connection dropped while the command ran; its outcome is unknown"
	default:
		e.Kind, e.Hint = transport.Protocol, fmt.Sprintf("the host closed the connection without a WinRM answer; check that %s is its WinRM listener", hostPort)
	}
	return e
}

func authHint(auth string) string {
	switch auth {
	case "basic":
		return "check winrm.user and the password; Basic must be enabled on the host (winrm set winrm/config/service/auth @{Basic=\"true\"}) and works for local accounts only"
	case "cert":
		return "the host did not map the client certificate to a user; check winrm/config/service/certmapping and winrm.cert_file"
	default:
		return `check winrm.user (user, DOMAIN\user or user@domain) and the password; the host must allow Negotiate (winrm get winrm/config/service/auth)`
	}
}

// statusError is an HTTP reply that is not a WS-Management one: 401 (the
// credentials were refused) or another status without a SOAP body.
type statusError struct {
	code        int
	contentType string
	schemes     []string // WWW-Authenticate of a 401
}

func (e *statusError) Error() string {
	switch {
	case e.code != http.StatusUnauthorized:
		return fmt.Sprintf("HTTP %d with content type %q, not a WS-Management reply", e.code, e.contentType)
	case len(e.schemes) == 0:
		return "HTTP 401: credentials refused"
	}
	return "HTTP 401: credentials refused (host offers " + strings.Join(e.schemes, ", ") + ")"
}

// protocolError is a reply that does not say what WS-Management says it must
// (a Protocol error even while a command runs, where a broken link is Lost).
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return e.msg }

// dialError marks a failure to open the TCP connection.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }

func (e *dialError) Unwrap() error { return e.err }
