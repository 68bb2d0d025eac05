package winrmtest

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEmulate(t *testing.T) {
	sh := "echo hi; cat"
	line := EmulationLine(sh)
	enc := base64.StdEncoding.EncodeToString(utf16le("$x = 1\r\n" + line + "\r\nWrite-Output $x"))
	for _, tc := range []struct {
		name, cmdline string
		script        string
		refuse        string // substring
	}{
		{"plain-sh", "echo 'a b' | tr a b", "echo 'a b' | tr a b", ""},
		{"arcfleet-shape", EncodePowerShell("$x = 1\n" + line), sh, ""},
		{"crlf-script", "powershell.exe -EncodedCommand " + enc, sh, ""},
		{"abbrev-enc", "PowerShell.EXE -NoProfile -enc " + enc, sh, ""},
		{"abbrev-e", "pwsh -e " + enc, sh, ""},
		{"abbrev-ec", "powershell -ec " + enc, sh, ""},
		{"full-path", `"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -EncodedCommand ` + enc, sh, ""},
		{"masterzen-shape", "powershell.exe -EncodedCommand " + base64.StdEncoding.EncodeToString(utf16le("$ProgressPreference = 'SilentlyContinue';"+"\n"+line)), sh, ""},
		{"no-marker", EncodePowerShell("Write-Output 1"), "", "cannot run PowerShell"},
		{"command-flag", "powershell.exe -Command Get-Date", "", "cannot run PowerShell"},
		{"missing-value", "powershell.exe -EncodedCommand", "", "without a value"},
		{"not-base64", "powershell.exe -EncodedCommand %%%", "", "not base64"},
		{"odd-utf16", "powershell.exe -EncodedCommand " + base64.StdEncoding.EncodeToString([]byte("abc")), "", "UTF-16LE"},
		{"bad-payload", EncodePowerShell(EmulateMarker + " %%%"), "", "payload is not base64"},
		{"empty", "   ", "", "empty command line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := emulate(tc.cmdline)
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
}

func FuzzEmulate(f *testing.F) {
	f.Add("echo hi")
	f.Add(EncodePowerShell(EmulationLine("exit 3")))
	f.Add("powershell -e AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		_ = emulate(s) // any command line: no panic
		// Round trip: a script wrapped the way arcfleet wraps it comes back intact.
		if utf8.ValidString(s) {
			if l := emulate(EncodePowerShell("# x\n" + EmulationLine(s) + "\n")); l.refuse != "" || l.script != s {
				t.Fatalf("round trip of %q: %+v", s, l)
			}
		}
	})
}
