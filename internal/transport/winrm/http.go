package winrm

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/masterzen/winrm/soap"
)

// mutualAuth is the Authorization value by which a WinRM client says it
// authenticates with its TLS client certificate.
const mutualAuth = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"

// post sends one WS-Man request and returns the SOAP reply, or a
// *statusError (401 included), *wsmanFault or the net/http error.
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
		return "", &statusError{code: resp.StatusCode, schemes: resp.Header.Values("WWW-Authenticate")}
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
