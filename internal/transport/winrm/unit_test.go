package winrm

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/transport"
)

// A fault as Windows Server 2019 sends it when a Receive times out.
const windowsTimeoutFault = `<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:e="http://schemas.xmlsoap.org/ws/2004/08/eventing" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"><s:Header><a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action><a:MessageID>uuid:1</a:MessageID><a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To><a:RelatesTo>uuid:2</a:RelatesTo></s:Header><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:TimedOut</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  </s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858793" Machine="win1"><f:Message>The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  </f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>`

func TestParseFault(t *testing.T) {
	for _, tc := range []struct {
		name, body    string
		nilWant       bool
		code, subcode string
		timeout       bool
	}{
		{"windows-timeout", windowsTimeoutFault, false, "2150858793", "w:TimedOut", true},
		{"words-only", `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value></s:Code><s:Reason><s:Text>OperationTimeout expired</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>`, false, "", "", true},
		{"shell-gone", strings.NewReplacer("w:TimedOut", "w:InvalidSelectors", "2150858793", "2150858843", "OperationTimeout", "shell").Replace(windowsTimeoutFault), false, "2150858843", "w:InvalidSelectors", false},
		{"not-a-fault", `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>`, true, "", "", false},
		{"not-xml", `oops`, true, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := parseFault([]byte(tc.body))
			if tc.nilWant {
				if f != nil {
					t.Fatalf("got %+v", f)
				}
				return
			}
			if f == nil || f.wsmanCode != tc.code || f.subcode != tc.subcode || f.operationTimeout() != tc.timeout {
				t.Fatalf("got %+v", f)
			}
		})
	}
}

func FuzzParseFault(f *testing.F) {
	f.Add([]byte(windowsTimeoutFault))
	f.Add([]byte("<Envelope><Body><Fault/></Body></Envelope>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if fl := parseFault(b); fl != nil {
			_ = fl.Error()
			_ = fl.operationTimeout()
		}
	})
}

func TestCheckCommand(t *testing.T) {
	for _, tc := range []struct {
		cmd string
		ok  bool
	}{
		{"echo hi", true},
		{"a\tb\r\nc", true},
		{"ünïcødé ✓", true},
		{"a]]>b", true},
		{"nul\x00", false},
		{"bell\x07", false},
		{"bad\xffutf8", false},
		{"\uFFFE", false},
	} {
		if err := checkCommand(tc.cmd); (err == nil) != tc.ok {
			t.Errorf("checkCommand(%q) = %v, want ok=%v", tc.cmd, err, tc.ok)
		}
	}
}

func TestIsoSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{30 * time.Second: "PT30S", 1500 * time.Millisecond: "PT1S", 0: "PT1S", 2 * time.Minute: "PT120S"} {
		if got := isoSeconds(d); got != want {
			t.Errorf("isoSeconds(%v) = %q, want %q", d, got, want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestClassify pins the error -> Kind mapping for errors that the
// integration tests cannot easily provoke.
func TestClassify(t *testing.T) {
	c := &conn{name: "win1", url: "https://h:5986/wsman", auth: "ntlm", https: true}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	bg := context.Background()
	refused := &dialError{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	for _, tc := range []struct {
		name    string
		err     error
		ctx     context.Context
		started bool
		want    transport.Kind
	}{
		{"caller-canceled", io.EOF, canceled, true, transport.Canceled},
		{"caller-deadline", io.EOF, expired, true, transport.Timeout},
		{"401", &statusError{code: 401}, bg, false, transport.AuthFailed},
		{"unknown-authority", x509.UnknownAuthorityError{}, bg, false, transport.TLSFailed},
		{"hostname", x509.HostnameError{Host: "x"}, bg, false, transport.TLSFailed},
		{"expired-cert", x509.CertificateInvalidError{Reason: x509.Expired}, bg, false, transport.TLSFailed},
		{"cert-changed", fmt.Errorf("Post %q: %w", "https://h:5986/wsman", transport.NewPhrase(transport.ErrCertChanged, errCertChanged, "a", "b")), bg, true, transport.TLSFailed},
		{"refused-at-dial", refused, bg, false, transport.Unreachable},
		{"refused-mid-command", refused, bg, true, transport.Lost},
		{"dns", &dialError{&net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}, bg, false, transport.Unreachable},
		{"no-answer-at-dial", timeoutErr{}, bg, false, transport.Timeout},
		{"no-answer-mid-command", timeoutErr{}, bg, true, transport.Lost},
		{"eof-mid-command", io.ErrUnexpectedEOF, bg, true, transport.Lost},
		{"eof-at-dial", io.EOF, bg, false, transport.Protocol},
		{"fault", &wsmanFault{subcode: "w:AccessDenied"}, bg, false, transport.Protocol},
		{"shell-gone-mid-command", &wsmanFault{subcode: "w:InvalidSelectors"}, bg, true, transport.Lost},
		{"http-500-html", &statusError{code: 500, contentType: "text/html"}, bg, false, transport.Protocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := c.fail("run", tc.err, tc.ctx, tc.started)
			if e.Kind != tc.want || e.Host != "win1" || e.Op != "run" || !errors.Is(e, e.Err) {
				t.Fatalf("got %+v, want kind %s", e, tc.want)
			}
		})
	}
}

// TestErrorTexts: the words of the errors a user sees.
func TestErrorTexts(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&statusError{code: 401}, "HTTP 401: credentials refused"},
		{&statusError{code: 401, schemes: []string{"Negotiate", "Kerberos"}}, "HTTP 401: credentials refused (host offers Negotiate, Kerberos)"},
		{&statusError{code: 500, contentType: "text/html"}, `HTTP 500 with content type "text/html", not a WS-Management reply`},
		{transport.NewPhrase(transport.ErrCertChanged, errCertChanged, "SHA256:a", "SHA256:b"), "server certificate changed within the connection: was SHA256:a, now SHA256:b"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
