package agent

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
)

// Sources of the shapes (docs/check.md has the addresses): the column set
// ENDPOINT, REACHABLE, PRIVATE, TLS, PROXY and the values true/false/unknown/set
// are the agent's documented table (learn.microsoft.com azcmagent-check: "a
// table showing connectivity test results for each required endpoint,
// including whether the agent used a private endpoint and/or proxy server");
// no public page quotes the table as text (the ones found show screenshots),
// so the separators are read both ways. The error lines are Go's net/http
// error texts (the agent is a Go program); "x509: certificate signed by
// unknown authority" for a TLS-inspecting proxy is the agent's own line in
// azure-docs issue 64707; "Forbidden" from a proxy is the seed's
// connection-error table's wording. old-layout-color.txt is the layout the
// simulator printed before (TLS INSPECTED, blank-separated) with the ANSI
// colours the agent prints without --no-color.
func TestParseCheckFiles(t *testing.T) {
	tests := []struct {
		file     string
		pls      bool
		rows     int
		errs     int
		findings map[string][]string // cause -> endpoints
	}{
		{"public-ok.txt", false, 9, 0, map[string][]string{}},
		{"dns.txt", false, 3, 1, map[string][]string{CauseDNS: {"https://management.azure.com"}}},
		{"proxy-unreachable.txt", false, 2, 2, map[string][]string{CauseProxyUnreachable: {"https://login.microsoftonline.com", "https://management.azure.com"}}},
		{"proxy-refused.txt", false, 2, 1, map[string][]string{CauseProxyRefused: {"https://gbl.his.arc.azure.com"}}},
		{"firewall.txt", false, 3, 2, map[string][]string{CauseFirewall: {"https://westeurope.his.arc.azure.com", "https://agentserviceapi.guestconfiguration.azure.com"}}},
		{"tls-inspection.txt", false, 2, 1, map[string][]string{CauseTLSInspection: {"https://management.azure.com"}}},
		{"pls-missing.txt", true, 4, 0, map[string][]string{CausePrivateMissing: {"https://gbl.his.arc.azure.com"}}},
		{"pls-missing.txt", false, 4, 0, map[string][]string{CausePrivateUnexpected: {"https://westeurope.his.arc.azure.com", "https://agentserviceapi.guestconfiguration.azure.com"}}},
		{"private-unexpected.txt", false, 2, 0, map[string][]string{CausePrivateUnexpected: {"https://gbl.his.arc.azure.com"}}},
		{"private-unexpected.txt", true, 2, 0, map[string][]string{}},
		{"old-layout-color.txt", false, 2, 1, map[string][]string{CauseDNS: {"https://pas.windows.net"}}},
		{"check.json", false, 2, 1, map[string][]string{CauseProxyRefused: {"https://management.azure.com"}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "check", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			out, err := ParseCheck(string(b), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Endpoints) != tt.rows || len(out.Errors) != tt.errs {
				t.Fatalf("got %d rows, %d error lines (%q), want %d, %d", len(out.Endpoints), len(out.Errors), out.Errors, tt.rows, tt.errs)
			}
			for _, e := range out.Endpoints {
				if !strings.HasPrefix(e.Endpoint, "https://") || e.Reachable != "true" && e.Reachable != "false" {
					t.Errorf("row misread: %+v", e)
				}
			}
			got := map[string][]string{}
			for _, f := range ClassifyCheck(out, tt.pls) {
				got[f.Cause] = f.Endpoints
				if _, ok := results.Lookup(f.Code); f.Code == "" || !ok {
					t.Errorf("cause %s: code %q not in the catalog", f.Cause, f.Code)
				}
			}
			if !reflect.DeepEqual(got, tt.findings) {
				t.Errorf("findings %v, want %v", got, tt.findings)
			}
		})
	}
}

func TestParseCheckNoTable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "check", "no-table.txt"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := ParseCheck(string(b), "")
	if err == nil {
		t.Fatalf("no error for output without a table: %+v", out)
	}
	if len(out.Errors) != 2 {
		t.Errorf("error lines %q, want both lines kept as evidence", out.Errors)
	}
}

// A row's values must be the agent's words: a prose line that happens to
// start with a host name is not a row.
func TestParseCheckRowsStrict(t *testing.T) {
	in := "ENDPOINT |REACHABLE |PRIVATE |TLS |PROXY\nhttps://a.example |true |false |true |false\nsee aka.ms/arcserver-network for details\nhttps://b.example |maybe |false |true |false\n"
	out, err := ParseCheck(in, "stderr line\n#arcfleet:busy: x\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Endpoints) != 1 || out.Endpoints[0].Endpoint != "https://a.example" {
		t.Fatalf("rows %+v", out.Endpoints)
	}
	want := []string{"see aka.ms/arcserver-network for details", "https://b.example |maybe |false |true |false", "stderr line"}
	if !reflect.DeepEqual(out.Errors, want) {
		t.Errorf("errors %q, want %q", out.Errors, want)
	}
}

// An unreachable endpoint with no error line naming a cause is blocked; an
// error line naming no endpoint applies to every row.
func TestClassifyCheckFallbacks(t *testing.T) {
	out := CheckOutput{Endpoints: []CheckEndpoint{{Endpoint: "https://a.example", Reachable: "false"}}}
	if f := ClassifyCheck(out, false); len(f) != 1 || f[0].Cause != CauseBlocked || f[0].Code != "MSG-ENDPOINTS-UNREACHABLE" {
		t.Errorf("no evidence: %+v", f)
	}
	out.Errors = []string{"dial tcp 1.2.3.4:443: i/o timeout"}
	if f := ClassifyCheck(out, false); len(f) != 1 || f[0].Cause != CauseFirewall || f[0].Evidence != out.Errors[0] {
		t.Errorf("global line: %+v", f)
	}
	// Refused while a proxy is set: the proxy refuses.
	out = CheckOutput{Endpoints: []CheckEndpoint{{Endpoint: "https://a.example", Reachable: "false", Proxy: "set"}},
		Errors: []string{`Get "https://a.example": read: connection refused`}}
	if f := ClassifyCheck(out, false); len(f) != 1 || f[0].Cause != CauseProxyRefused {
		t.Errorf("refused behind a proxy: %+v", f)
	}
	out.Endpoints[0].Proxy = "false"
	if f := ClassifyCheck(out, false); len(f) != 1 || f[0].Cause != CauseBlocked {
		t.Errorf("refused without a proxy: %+v", f)
	}
}

func TestCheckInput(t *testing.T) {
	h := &inventory.Host{Name: "w", OS: "linux"}
	h.Azure.Location = "West Europe"
	if got := string(CheckInput(h)); got != "arcfleet-check westeurope AzureCloud -\n" {
		t.Errorf("got %q", got)
	}
	h.Azure.Cloud, h.Azure.PrivateLinkScope = "AzureUSGovernment", "/subscriptions/s/x"
	if got := string(CheckInput(h)); got != "arcfleet-check westeurope AzureUSGovernment pls\n" {
		t.Errorf("got %q", got)
	}
	// The command line is the same for every host: the values travel on stdin.
	a, b := CheckStep(&inventory.Host{Name: "a", OS: "linux"}), CheckStep(h)
	if a.Command != b.Command {
		t.Errorf("check commands differ between hosts:\n%s\n%s", a.Command, b.Command)
	}
	for _, os := range []string{"linux", "windows"} {
		st := CheckStep(&inventory.Host{Name: "a", OS: os})
		if !strings.Contains(st.Script, "check --location") || !strings.Contains(st.Script, "--enable-pls-check") {
			t.Errorf("%s script:\n%s", os, st.Script)
		}
	}
}

func FuzzParseCheck(f *testing.F) {
	ents, _ := os.ReadDir(filepath.Join("testdata", "check"))
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join("testdata", "check", e.Name()))
		f.Add(string(b), "")
	}
	f.Add("ENDPOINT|REACHABLE\n|\n||||||\n", "x")
	f.Fuzz(func(t *testing.T, stdout, stderr string) {
		out, err := ParseCheck(stdout, stderr)
		if err == nil && out.Endpoints == nil && !out.JSON && !strings.Contains(strings.ToUpper(stdout), "REACHABLE") {
			t.Fatalf("a table without its header: %q", stdout)
		}
		for _, e := range out.Endpoints {
			if e.Endpoint == "" {
				t.Fatalf("row without endpoint from %q", stdout)
			}
		}
		for _, fd := range ClassifyCheck(out, len(stdout)%2 == 0) {
			if fd.Code == "" {
				t.Fatalf("finding without a code: %+v", fd)
			}
		}
	})
}

func TestMentionsHost(t *testing.T) {
	for _, c := range []struct {
		line, host string
		want       bool
	}{
		{`get "https://management.azure.com": eof`, "management.azure.com", true},
		{`lookup management.azure.com on 10.0.0.2:53: no such host`, "management.azure.com", true},
		{`lookup x.management.azure.com: no such host`, "management.azure.com", false},
		{`lookup management.azure.com.evil: no such host`, "management.azure.com", false},
		{`dial management.azure.com.: timeout`, "management.azure.com", true},
		{`gbl.his.arc.azure.com westeurope.his.arc.azure.com`, "his.arc.azure.com", false},
	} {
		if got := mentionsHost(c.line, c.host); got != c.want {
			t.Errorf("mentionsHost(%q, %q) = %v", c.line, c.host, got)
		}
	}
}
