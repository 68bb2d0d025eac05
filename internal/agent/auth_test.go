package agent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

const (
	tokenSentinel = "eyJTT0tFTi1TM05UMU5FTCJ9.eyJleHAiOjF9.c2lnLVMzTlQxTkVM"
	pemSentinel   = "-----BEGIN PRIVATE KEY-----\nS3NT1NEL-pem-key-line\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nMIIB-cert-line\n-----END CERTIFICATE-----\n"
)

func tokenCred() inventory.Credential {
	return inventory.Credential{Name: "sp-prod", ClientID: "3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21", TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
		Auth: inventory.AuthAccessToken, Secret: inventory.SecretRef{Env: "ARC_SP_SECRET"}}
}

func certCred() inventory.Credential {
	return inventory.Credential{Name: "sp-cert", ClientID: "3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21", TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
		Auth: inventory.AuthCertificate, Secret: inventory.SecretRef{Env: "ARC_SP_SECRET"}, Certificate: inventory.SecretRef{File: "/etc/arcfleet/sp.pem"}}
}

func decodeConfig(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("config is not JSON: %v\n%s", err, b)
	}
	return m
}

// Access-token mode: the host's config holds the token under the agent's
// access-token key and nothing of the service principal's secret or id.
func TestAccessTokenConfig(t *testing.T) {
	h := &inventory.Host{Name: "m", OS: "linux", Azure: inventory.Azure{SubscriptionID: "s", ResourceGroup: "g", Location: "westeurope"}}
	c := tokenCred()
	for name, b := range map[string][]byte{"connect": AgentConfig(h, c, tokenSentinel), "disconnect": DisconnectConfig(c, tokenSentinel)} {
		m := decodeConfig(t, b)
		if m["access-token"] != tokenSentinel {
			t.Errorf("%s: access-token = %v", name, m["access-token"])
		}
		for _, k := range []string{"service-principal-secret", "service-principal-id", "service-principal-cert"} {
			if _, ok := m[k]; ok {
				t.Errorf("%s: access-token mode sends %s: %s", name, k, b)
			}
		}
	}
	if m := decodeConfig(t, AgentConfig(h, c, tokenSentinel)); m["tenant-id"] != c.TenantID || m["subscription-id"] != "s" {
		t.Errorf("connect config lost its target: %v", m)
	}
	// The plan shows where the token comes from, never a value.
	plan := string(StepInput(ConnectStep(h), h, c, SecretPlaceholder(c)))
	if !strings.Contains(plan, `"access-token": "<access-token: minted on the controller from credential sp-prod>"`) {
		t.Errorf("plan input:\n%s", plan)
	}
	if strings.Contains(plan, "ARC_SP_SECRET") {
		t.Errorf("the plan names the controller's secret as if the host got it:\n%s", plan)
	}
	if d := string(StepInput(DisconnectStep(h), h, c, SecretPlaceholder(c))); !strings.Contains(d, "<access-token: minted on the controller from credential sp-prod>") {
		t.Errorf("disconnect plan input:\n%s", d)
	}
}

func TestCertificateConfig(t *testing.T) {
	h := &inventory.Host{Name: "m", OS: "linux", Azure: inventory.Azure{SubscriptionID: "s", ResourceGroup: "g", Location: "westeurope"}}
	c := certCred()
	in := string(AgentConfig(h, c, pemSentinel))
	cfg, pem, ok := strings.Cut(in, CertStart+"\n")
	if !ok || pem != pemSentinel {
		t.Fatalf("certificate section:\n%s", in)
	}
	m := decodeConfig(t, []byte(cfg))
	if m["service-principal-cert"] != CertPathPlaceholder || m["service-principal-id"] != c.ClientID {
		t.Errorf("config: %v", m)
	}
	if _, ok := m["service-principal-secret"]; ok {
		t.Error("certificate mode sends the secret")
	}
	if p := SecretPlaceholder(c); p != "<certificate file:/etc/arcfleet/sp.pem>" {
		t.Errorf("placeholder %q", p)
	}
	// Secret mode is unchanged.
	s := testCred()
	if m := decodeConfig(t, DisconnectConfig(s, sentinel)); m["service-principal-secret"] != sentinel || m["service-principal-id"] != s.ClientID || len(m) != 2 {
		t.Errorf("secret mode disconnect config: %v", m)
	}
}

// certAgent is the fake agent plus a copy of the certificate file it was given
// (path, mode, content) and of the config.
const certAgent = `#!/bin/sh
O=$FAKE_OUT
cfg=
while [ $# -gt 0 ]; do [ "$1" = --config ] && cfg=$2; shift; done
cp "$cfg" "$O/config.copy"
p=$(sed -n 's/.*"service-principal-cert": "\(.*\)".*/\1/p' "$cfg")
echo "$p" >"$O/certpath"
[ -n "$p" ] && { stat -c %a "$p" >"$O/certmode"; cp "$p" "$O/cert.copy"; }
echo "$(dirname "$cfg")" >"$O/dir"
exit 0
`

// The Linux step writes the PEM to a 0600 file next to the config (in the 0700
// private directory), points the config at it, and removes both afterwards.
func TestCertificateFileOnHost(t *testing.T) {
	f := newFakeHost(t)
	writeExe(t, filepath.Join(f.bin, "azcmagent"), certAgent)
	h := f.host("linux")
	h.Azure = inventory.Azure{SubscriptionID: "s", ResourceGroup: "g", Location: "westeurope"}
	for _, step := range []Step{ConnectStep(h), DisconnectStep(h)} {
		r := f.run(t, step.Command, StepInput(step, h, certCred(), pemSentinel))
		if r.exit != 0 {
			t.Fatalf("%s: exit %d\n%s", step.Name, r.exit, r.stderr)
		}
		read := func(n string) string {
			b, err := os.ReadFile(filepath.Join(f.out, n))
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimSpace(string(b))
		}
		dir := read("dir")
		if got, want := read("certpath"), dir+"/"+certFileName; got != want {
			t.Errorf("%s: config names %q, want %q", step.Name, got, want)
		}
		if m := read("certmode"); m != "600" {
			t.Errorf("%s: certificate file mode %s", step.Name, m)
		}
		if c := read("cert.copy"); c+"\n" != pemSentinel {
			t.Errorf("%s: certificate file holds %q", step.Name, c)
		}
		if strings.Contains(read("config.copy"), "S3NT1NEL") || strings.Contains(read("config.copy"), CertStart) {
			t.Errorf("%s: the PEM leaked into the config file", step.Name)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s: private directory %s left behind (%v)", step.Name, dir, err)
		}
		if strings.Contains(r.stdout+r.stderr, "S3NT1NEL") {
			t.Errorf("%s: the PEM is in the step's output", step.Name)
		}
	}
}

// A step refuses to write a config whose certificate path would need JSON
// escaping (a TMPDIR with a quote or backslash) rather than hand the agent a
// broken file.
func TestCertificatePathNeedsNoEscaping(t *testing.T) {
	f := newFakeHost(t)
	writeExe(t, filepath.Join(f.bin, "azcmagent"), certAgent)
	odd := filepath.Join(f.dir, `tmp"q`)
	if err := os.MkdirAll(odd, 0o755); err != nil {
		t.Fatal(err)
	}
	h := f.host("linux")
	st := ConnectStep(h)
	r := f.run(t, st.Command, StepInput(st, h, certCred(), pemSentinel), "TMPDIR="+odd)
	if r.exit != ExitSetupFailed || !strings.Contains(r.stderr, ErrorMarker+"config-write-failed") {
		t.Fatalf("exit %d\n%s", r.exit, r.stderr)
	}
	// Access-token and secret mode never substitute a path: the same TMPDIR works.
	r = f.run(t, st.Command, StepInput(st, h, tokenCred(), tokenSentinel), "TMPDIR="+odd)
	if r.exit != 0 {
		t.Fatalf("access-token mode: exit %d\n%s", r.exit, r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(f.out, "config.copy")); !strings.Contains(string(b), `"access-token": "`+tokenSentinel+`"`) {
		t.Errorf("config the agent got:\n%s", b)
	}
}
