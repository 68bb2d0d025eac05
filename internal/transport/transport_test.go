package transport

import (
	"fmt"
	"strings"
	"testing"
)

// No verb of the fmt family prints a Target's secrets, nor those of its jump host.
func TestTargetPrintsNoSecret(t *testing.T) {
	const pw, pp, jpw = "S3NTINEL-pw-1", "S3NTINEL-pp-2", "S3NTINEL-jump-3"
	tg := Target{Name: "web01", Address: "192.0.2.7", Port: 22, Protocol: "ssh", User: "ops", Password: pw, Passphrase: pp,
		Jump: &Target{Name: "bastion", Address: "2001:db8::1", Port: 2222, Protocol: "ssh", User: "j", Password: jpw}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		for _, v := range []any{tg, &tg, []Target{tg}, struct{ T Target }{tg}} {
			out := fmt.Sprintf(verb, v)
			for _, sec := range []string{pw, pp, jpw} {
				if strings.Contains(out, sec) {
					t.Errorf("%s of %T prints a secret: %s", verb, v, out)
				}
			}
		}
	}
	want := "web01 ssh://ops@192.0.2.7:22 password=set passphrase=set via (bastion ssh://j@[2001:db8::1]:2222 password=set)"
	if got := tg.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
