package winrmtest

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/masterzen/winrm"
)

// masterzenClient is masterzen/winrm pointed at s with Basic auth (or the given decorator).
func masterzenClient(t *testing.T, s *Server, opTimeout string, decorator func() winrm.Transporter) *winrm.Client {
	t.Helper()
	ep := &winrm.Endpoint{Host: s.Host, Port: s.Port, HTTPS: s.HTTPS, Timeout: 30 * time.Second}
	if s.HTTPS {
		ep.CACert = s.CA.PEM
	}
	params := winrm.NewParameters(opTimeout, "en-US", 153600)
	params.TransportDecorator = decorator
	c, err := winrm.NewClientWithParameters(ep, s.User, s.Password, params)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMasterzenRunExitCodes(t *testing.T) {
	s := Start(t, Options{})
	c := masterzenClient(t, s, "PT5S", nil)
	for _, tc := range []struct {
		cmd            string
		stdout, stderr string
		code           int
	}{
		{"echo hello", "hello\n", "", 0},
		{"echo out; echo err >&2; exit 7", "out\n", "err\n", 7},
	} {
		var out, errb bytes.Buffer
		code, err := c.Run(tc.cmd, &out, &errb)
		if err != nil {
			t.Fatalf("%q: %v", tc.cmd, err)
		}
		if code != tc.code || out.String() != tc.stdout || errb.String() != tc.stderr {
			t.Errorf("%q: got code %d stdout %q stderr %q; want %d %q %q", tc.cmd, code, out.String(), errb.String(), tc.code, tc.stdout, tc.stderr)
		}
	}
}

func TestMasterzenStdinAndLongPoll(t *testing.T) {
	s := Start(t, Options{HTTPS: true})
	c := masterzenClient(t, s, "PT1S", nil)
	in := bytes.Repeat([]byte("0123456789abcdef"), 300*1024/16)
	var out, errb bytes.Buffer
	// sleep past the 1 s OperationTimeout so at least one Receive times out.
	code, err := c.RunWithInput("sleep 1.5; wc -c; echo done >&2", &out, &errb, bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 || strings.TrimSpace(out.String()) != "307200" || errb.String() != "done\n" {
		t.Fatalf("code %d stdout %q stderr %q", code, out.String(), errb.String())
	}
	if n := s.Counts()["OperationTimeout"]; n < 1 {
		t.Errorf("no Receive hit the OperationTimeout (counts %v)", s.Counts())
	}
}
