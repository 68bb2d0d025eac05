package winrm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"strconv"
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
	defer func() {
		// A status reply as it came: said in the transport's words (a Phrase
		// that wraps it), so a report can say it in another language.
		if se, ok := e.Err.(*statusError); ok {
			e.Err = se.phrase()
		}
	}()
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled):
		e.Kind, e.Err = transport.Canceled, ctx.Err()
	case ctx.Err() != nil:
		e.Kind, e.Err = transport.Timeout, ctx.Err()
	case errors.As(err, &se) && se.code == http.StatusUnauthorized:
		e.Kind = transport.AuthFailed
		e.WithHint(authHint(c.auth))
	case errors.Is(err, errCertChanged):
		e.Kind = transport.TLSFailed
		e.WithHint(transport.HintCertChanged)
	case errors.As(err, &ua):
		e.Kind = transport.TLSFailed
		e.WithHint(transport.HintCAUnknown)
	case errors.As(err, &he):
		e.Kind = transport.TLSFailed
		e.WithHint(transport.HintCertName)
	case errors.As(err, &ci):
		e.Kind = transport.TLSFailed
		e.WithHint(transport.HintCertInvalid)
	case errors.As(err, &cv):
		e.Kind = transport.TLSFailed
		e.WithHint(transport.HintCertVerify)
	case errors.As(err, &rh), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		e.Kind = transport.TLSFailed
		e.WithHint(transport.HintNotTLS, hostPort)
	case errors.As(err, &alert):
		e.Kind = transport.TLSFailed
		e.WithHint(transport.HintTLSRefused)
	case errors.As(err, &de):
		if started {
			e.Kind = transport.Lost
			e.WithHint(transport.HintWinRMStopped)
			break
		}
		e.Kind = transport.Unreachable
		if errors.As(err, &dns) {
			e.WithHint(transport.HintWinRMDNS)
		} else {
			e.WithHint(transport.HintWinRMListener, hostPort)
		}
	case errors.As(err, &fe):
		e.Kind = transport.Protocol
		if started && strings.HasSuffix(fe.subcode, "InvalidSelectors") {
			// The shell is gone mid-command (WinRM service restarted, shell idle timeout).
			e.Kind = transport.Lost
			e.WithHint(transport.HintWinRMShellGone)
		}
	case errors.As(err, &se):
		e.Kind = transport.Protocol
		if se.code == 400 && !c.https {
			e.WithHint(transport.HintWinRMMaybeHTTPS, hostPort)
		} else {
			e.WithHint(transport.HintWinRMPath)
		}
	case errors.As(err, &pe):
		e.Kind = transport.Protocol
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		if started {
			e.Kind = transport.Lost
			e.WithHint(transport.HintWinRMNoAnswer)
		} else {
			e.Kind = transport.Timeout
		}
	case started:
		e.Kind = transport.Lost
		e.WithHint(transport.HintWinRMDropped)
	default:
		e.Kind = transport.Protocol
		e.WithHint(transport.HintWinRMClosed, hostPort)
	}
	return e
}

// authHint is the hint key for credentials refused under auth.
func authHint(auth string) string {
	switch auth {
	case "basic":
		return transport.HintWinRMAuthBasic
	case "cert":
		return transport.HintWinRMAuthCert
	default:
		return transport.HintWinRMAuthNTLM
	}
}

// statusError is an HTTP reply that is not a WS-Management one: 401 (the
// credentials were refused) or another status without a SOAP body.
type statusError struct {
	code        int
	contentType string
	schemes     []string // WWW-Authenticate of a 401
}

func (e *statusError) Error() string { return e.phrase().Error() }

// phrase is e in the transport's words (a key of transport/hints.go).
func (e *statusError) phrase() *transport.Phrase {
	switch {
	case e.code != http.StatusUnauthorized:
		return &transport.Phrase{Key: transport.ErrHTTPStatus, Args: []string{strconv.Itoa(e.code), strconv.Quote(e.contentType)}, Wrapped: e}
	case len(e.schemes) == 0:
		return &transport.Phrase{Key: transport.ErrHTTP401, Wrapped: e}
	}
	return &transport.Phrase{Key: transport.ErrHTTP401Offers, Args: []string{strings.Join(e.schemes, ", ")}, Wrapped: e}
}

// protocolError is a reply that does not say what WS-Management says it must
// (a Protocol error even while a command runs, where a broken link is Lost).
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return e.msg }

// dialError marks a failure to open the TCP connection.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }

func (e *dialError) Unwrap() error { return e.err }
