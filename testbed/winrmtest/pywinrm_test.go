package winrmtest

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// pywinrmScript runs one command with pywinrm (Debian's python3-winrm 0.3.0),
// a second WinRM client written independently of masterzen/winrm. The password
// comes from the environment, never from argv.
const pywinrmScript = `
import json, os, sys, winrm
kw = dict(auth=(os.environ['WT_USER'], os.environ['WT_PASSWORD']), transport=os.environ['WT_TRANSPORT'],
          operation_timeout_sec=1, read_timeout_sec=10)
if os.environ.get('WT_CA'):
    kw['ca_trust_path'] = os.environ['WT_CA']
try:
    s = winrm.Session(os.environ['WT_URL'], **kw)
    r = s.run_cmd(os.environ['WT_CMD'], [os.environ['WT_ARG']])
    print(json.dumps({'stdout': r.std_out.decode(), 'stderr': r.std_err.decode(), 'code': r.status_code}))
except Exception as e:
    print(json.dumps({'error': type(e).__name__ + ': ' + str(e)}))
`

type pyResult struct {
	Stdout, Stderr, Error string
	Code                  int
}

func runPywinrm(t *testing.T, s *Server, transport, password, cmd, arg string) pyResult {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import winrm").Run(); err != nil {
		t.Skip("skipped: /usr/bin/python3 cannot import winrm (install python3-winrm; `make deps` does)")
	}
	py := exec.Command("/usr/bin/python3", "-c", pywinrmScript)
	py.Env = append(os.Environ(), "WT_URL="+s.URL, "WT_USER="+s.User, "WT_PASSWORD="+password,
		"WT_TRANSPORT="+transport, "WT_CMD="+cmd, "WT_ARG="+arg, "WT_CA="+s.CAFile)
	out, err := py.CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	var r pyResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("pywinrm output %q: %v", out, err)
	}
	return r
}

func TestPywinrmFidelity(t *testing.T) {
	for _, tc := range []struct {
		name      string
		https     bool
		transport string
	}{
		{"plaintext-basic", false, "plaintext"},
		{"ssl-basic-verified", true, "ssl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Start(t, Options{HTTPS: tc.https})
			// Arguments travel in rsp:Arguments; the sleep outlasts pywinrm's 1 s
			// OperationTimeout so it must handle the fault code 2150858793.
			r := runPywinrm(t, s, tc.transport, s.Password, "echo out; sleep 1.5; echo err >&2;", "exit 7")
			if r.Error != "" || r.Code != 7 || r.Stdout != "out\n" || r.Stderr != "err\n" {
				t.Fatalf("pywinrm got %+v", r)
			}
			c := s.Counts()
			if c["OperationTimeout"] < 1 || c["Signal"] != 1 || c["Delete"] != 1 {
				t.Errorf("counts %v: want an OperationTimeout fault, one Signal (cleanup) and one Delete", c)
			}
		})
	}
	t.Run("wrong-password", func(t *testing.T) {
		s := Start(t, Options{})
		r := runPywinrm(t, s, "plaintext", "not-"+s.Password, "true", "")
		if !strings.Contains(r.Error, "InvalidCredentialsError") {
			t.Fatalf("want InvalidCredentialsError, got %+v", r)
		}
	})
}
