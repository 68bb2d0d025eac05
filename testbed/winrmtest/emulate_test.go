package winrmtest

import (
	"encoding/base64"
	"strings"
	"sync"
	"testing"
)

func TestEmulate(t *testing.T) {
	const sh = "echo hi; cat"
	ps := "# arcfleet connect\r\n$x = 1\r\nWrite-Output $x"
	enc := base64.StdEncoding.EncodeToString(utf16le(ps))
	s := &Server{}
	for _, c := range []string{
		EncodePowerShell(ps),
		"powershell.exe -EncodedCommand " + enc,
		"  pwsh -e " + enc + "\n", // blanks around the line do not count
		"echo registered",         // any command line can be registered
	} {
		s.Register(c, sh)
	}
	for _, tc := range []struct {
		name, cmdline string
		script        string
		refuse        string // substring
	}{
		{"plain-sh", "echo 'a b' | tr a b", "echo 'a b' | tr a b", ""},
		{"registered-sh", "echo registered", sh, ""},
		{"arcfleet-shape", EncodePowerShell(ps), sh, ""},
		{"registered-other-shape", "powershell.exe -EncodedCommand " + enc, sh, ""},
		{"registered-trimmed", "pwsh -e " + enc, sh, ""},
		{"unregistered-abbrev", "PowerShell.EXE -NoProfile -enc " + enc, "", `no sh script is registered for this command line (sha256 `},
		{"names-first-line", "powershell -ec " + enc, "", `script "# arcfleet connect"`},
		{"full-path", `"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -EncodedCommand ` + enc, "", "cannot run PowerShell"},
		{"other-script", EncodePowerShell(ps + " "), "", "cannot run PowerShell"},
		{"command-flag", "powershell.exe -Command Get-Date", "", "cannot run PowerShell"},
		{"missing-value", "powershell.exe -EncodedCommand", "", "without a value"},
		{"not-base64", "powershell.exe -EncodedCommand %%%", "", "not base64"},
		{"odd-utf16", "powershell.exe -EncodedCommand " + base64.StdEncoding.EncodeToString([]byte("abc")), "", "UTF-16LE"},
		{"empty", "   ", "", "empty command line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := emulate(tc.cmdline, s.registered)
			if tc.refuse != "" {
				if !strings.Contains(l.refuse, tc.refuse) {
					t.Fatalf("refuse %q, want it to contain %q (script %q)", l.refuse, tc.refuse, l.script)
				}
				return
			}
			if l.refuse != "" || l.script != tc.script {
				t.Fatalf("got script %q refuse %q, want script %q", l.script, l.refuse, tc.script)
			}
		})
	}
	// A later Register replaces the script.
	s.Register("echo registered", "exit 3")
	if l := emulate("echo registered", s.registered); l.script != "exit 3" {
		t.Errorf("after a second Register: %+v", l)
	}
}

func TestRegisterConcurrent(t *testing.T) {
	s := &Server{}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				c := EncodePowerShell(strings.Repeat("x", j))
				s.Register(c, "exit 0")
				if l := emulate(c, s.registered); l.script != "exit 0" {
					t.Errorf("%+v", l)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func FuzzEmulate(f *testing.F) {
	f.Add("echo hi")
	f.Add(EncodePowerShell("exit 3"))
	f.Add("powershell -e AAAA")
	f.Fuzz(func(t *testing.T, c string) {
		s := &Server{}
		_ = emulate(c, s.registered) // any command line: no panic
		// Whatever the command line, a registered one runs its script.
		s.Register(c, "exit 7")
		if l := emulate(c, s.registered); l.refuse != "" || l.script != "exit 7" {
			t.Fatalf("registered %q: %+v", c, l)
		}
	})
}
