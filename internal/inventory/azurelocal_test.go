package inventory

import (
	"strings"
	"testing"
)

// azure.allow_azure_local_disconnect: a boolean, off unless set, inherited like
// every azure: key and overridable per host.
func TestAllowAzureLocalDisconnect(t *testing.T) {
	src := strings.Replace(vbase, "  location: westeurope\n", "  location: westeurope\n  allow_azure_local_disconnect: true\n", 1) +
		"  - name: h2\n    azure: {allow_azure_local_disconnect: false}\n"
	inv := mustParse(t, src)
	got := map[string]bool{}
	for _, h := range inv.Hosts {
		got[h.Name] = h.Azure.AllowAzureLocalDisconnect
	}
	if !got["h"] || got["h2"] {
		t.Errorf("allow_azure_local_disconnect: %v, want h true (defaults), h2 false (its own)", got)
	}
	if inv := mustParse(t, vbase); inv.Hosts[0].Azure.AllowAzureLocalDisconnect {
		t.Error("allow_azure_local_disconnect must be off unless set")
	}
	for _, bad := range []string{`"true"`, "yes please", "1"} {
		errs := errLines(t, vbase+"    azure: {allow_azure_local_disconnect: "+bad+"}\n")
		if len(errs) != 1 || !strings.Contains(errs[0], "allow_azure_local_disconnect") || !strings.Contains(errs[0], "true or false") {
			t.Errorf("%s: %q, want one error naming the key and true or false", bad, errs)
		}
	}
}
