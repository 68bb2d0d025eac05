package results

import "testing"

// The Windows install step's msiexec-N markers (internal/agent/install.go)
// map to the knowledge base; a code without an entry of its own is the
// generic Windows Installer error, and 1618 (another installation in
// progress) is retried.
func TestMsiexecCodes(t *testing.T) {
	for in, want := range map[string]struct {
		code  string
		class Class
	}{
		"msiexec-1603": {"AZCM0156", ClassHost},
		"msiexec-1618": {"AZCM0159", ClassTransient},
		"msiexec-1619": {"MSI-1619", ClassHost},
		"msiexec-1620": {"MSI-1620", ClassHost},
		"msiexec-1625": {"MSI-1625", ClassHost},
		"msiexec-1638": {"MSI-1638", ClassAction},
		"msiexec-112":  {"AZCM0158", ClassHost},
		"msiexec-2755": {"AZCM0149", ClassHost},
	} {
		d := Classify(Evidence{ExitCode: 125, Stderr: ScriptErrorPrefix + " " + in + "\nMSI (s) (A4:B8) [12:00:00:000]: Product: Azure Connected Machine Agent -- Installation failed.\n"})
		if d.Code != want.code || d.Class != want.class {
			t.Errorf("%s: %s %s, want %s %s", in, d.Code, d.Class, want.code, want.class)
		}
		if _, ok := Lookup(d.Code); !ok {
			t.Errorf("%s: %s has no knowledge-base entry", in, d.Code)
		}
	}
	if e, _ := Lookup("AZCM0159"); e.Action != RemedyRetry {
		t.Errorf("1618: action %q, want retry", e.Action)
	}
}
