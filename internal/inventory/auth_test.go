package inventory

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// credLine is line 8 of vbase: the credential sp.
const credLine = "  sp: {client_id: 3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21, secret: {env: SP}}\n"

func withCred(line string) string { return strings.Replace(vbase, credLine, line, 1) }

func TestCredentialModesDecode(t *testing.T) {
	inv := mustParse(t, withCred(`  sp:
    client_id: 3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21
    auth: access-token
    token_from: client-certificate
    certificate: {file: certs/sp.pem}
  plain: {client_id: 3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21, secret: {env: SP}}
`))
	c := inv.Credentials["sp"]
	if c.Auth != AuthAccessToken || c.TokenFrom != TokenFromClientCertificate || c.Certificate.File != "certs/sp.pem" {
		t.Fatalf("decoded %+v", c)
	}
	if c.AuthMode() != AuthAccessToken || c.TokenMethod() != TokenFromClientCertificate {
		t.Errorf("effective %s/%s", c.AuthMode(), c.TokenMethod())
	}
	if !c.HostSecret().IsZero() {
		t.Errorf("access-token mode sends a secret to hosts: %v", c.HostSecret())
	}
	if c.ControllerSecret() != c.Certificate {
		t.Errorf("controller secret %v", c.ControllerSecret())
	}
	p := inv.Credentials["plain"]
	if p.Auth != "" || p.TokenFrom != "" || p.AuthMode() != AuthSecret || p.TokenMethod() != TokenFromClientSecret {
		t.Errorf("defaults: %+v", p)
	}
	if p.HostSecret() != p.Secret || p.ControllerSecret() != p.Secret {
		t.Errorf("secret mode refs: %v %v", p.HostSecret(), p.ControllerSecret())
	}
	cert := Credential{Auth: AuthCertificate, Secret: SecretRef{Env: "S"}, Certificate: SecretRef{File: "/c.pem"}}
	if cert.HostSecret() != cert.Certificate {
		t.Errorf("certificate mode host secret %v", cert.HostSecret())
	}
	for _, m := range TokenFroms[2:] {
		if r := (Credential{Auth: AuthAccessToken, TokenFrom: m, Secret: SecretRef{Env: "S"}}).ControllerSecret(); !r.IsZero() {
			t.Errorf("%s reads %v", m, r)
		}
	}
}

// An inventory written before auth/token_from existed keeps its digest (plans saved
// with it still load): the new fields are left out of the canonical JSON when not written.
func TestCredentialModesDigestUnchanged(t *testing.T) {
	a := mustParse(t, vbase)
	b, err := json.Marshal(a.Credentials["sp"])
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"sp","client_id":"3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21","tenant_id":"","secret":{"env":"SP"}}`; string(b) != want {
		t.Errorf("canonical credential changed:\n got %s\nwant %s", b, want)
	}
	c := mustParse(t, withCred("  sp: {client_id: 3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21, secret: {env: SP}, auth: access-token}\n"))
	if a.Digest == c.Digest {
		t.Error("changing auth does not change the digest")
	}
}

func TestCredentialModesRejectUnknownValues(t *testing.T) {
	tests := []struct{ name, cred, want string }{
		{"auth typo", "  sp: {client_id: x, auth: acces-token}\n",
			`inv.yaml:8:28: credentials.sp.auth: "acces-token" is not a valid value; fix: did you mean "access-token"? (one of: secret, access-token, certificate)`},
		{"token_from typo", "  sp: {client_id: x, token_from: azurecli}\n",
			`inv.yaml:8:34: credentials.sp.token_from: "azurecli" is not a valid value; fix: did you mean "azure-cli"? (one of: client-secret, client-certificate, workload-identity, managed-identity, azure-cli)`},
		{"literal certificate", "  sp: {client_id: x, certificate: \"-----BEGIN PRIVATE KEY-----S3NT1NEL\"}\n",
			"inv.yaml:8:35: credentials.sp.certificate: a literal secret is not allowed here (value not shown); fix: do not write secrets into the inventory: reference one, e.g. `certificate: {env: ARC_SECRET}` (an environment variable) or `certificate: {file: /etc/arcfleet/secret}` (a file holding only the secret)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(errLines(t, withCred(tt.cred)), "\n")
			if got != tt.want {
				t.Errorf("got:  %s\nwant: %s", got, tt.want)
			}
			if strings.Contains(got, "S3NT1NEL") {
				t.Error("a pasted certificate is echoed")
			}
		})
	}
}

func TestValidateCredentialModes(t *testing.T) {
	const id = "3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21"
	tests := []struct {
		name string
		cred string // replaces line 8 (may span lines)
		want []string
	}{
		{"access-token from client secret", "  sp: {client_id: " + id + ", auth: access-token, secret: {env: SP}}\n", nil},
		{"access-token from certificate", "  sp: {client_id: " + id + ", auth: access-token, token_from: client-certificate, certificate: {file: /c.pem}}\n", nil},
		{"access-token from azure cli, no client id or secret", "  sp: {auth: access-token, token_from: azure-cli}\n", nil},
		{"access-token from managed identity", "  sp: {auth: access-token, token_from: managed-identity}\n", nil},
		{"access-token from workload identity with client id", "  sp: {client_id: " + id + ", auth: access-token, token_from: workload-identity}\n", nil},
		{"certificate mode", "  sp: {client_id: " + id + ", auth: certificate, certificate: {file: /c.pem}}\n", nil},
		{"explicit secret mode", "  sp: {client_id: " + id + ", auth: secret, secret: {env: SP}}\n", nil},

		{"access-token without secret", "  sp: {client_id: " + id + ", auth: access-token}\n", []string{
			`inv.yaml:8:63: ARCF0007 h: credential "sp" (auth: access-token, token_from: client-secret) has no secret: the controller needs it to mint the hosts' access tokens; fix: add ` + "`secret: {env: NAME}` or `secret: {file: PATH}`" + ` (it stays on the controller), or set token_from: client-certificate, workload-identity, managed-identity or azure-cli`}},
		{"access-token explicit client-secret without secret", "  sp:\n    client_id: " + id + "\n    auth: access-token\n    token_from: client-secret\n", []string{
			`inv.yaml:11:17: ARCF0007 h: credential "sp" (auth: access-token, token_from: client-secret) has no secret: the controller needs it to mint the hosts' access tokens; fix: add ` + "`secret: {env: NAME}` or `secret: {file: PATH}`" + ` (it stays on the controller), or set token_from: client-certificate, workload-identity, managed-identity or azure-cli`}},
		{"access-token client-certificate without certificate", "  sp: {client_id: " + id + ", auth: access-token, token_from: client-certificate, secret: {env: SP}}\n", []string{
			`inv.yaml:8:89: ARCF0007 h: credential "sp" (auth: access-token, token_from: client-certificate) has no certificate: the controller needs it to mint the hosts' access tokens; fix: add ` + "`certificate: {file: /path/sp.pem}`" + ` (PEM holding the certificate and its private key; it stays on the controller), or set another token_from`}},
		{"access-token client-secret without client id", "  sp: {auth: access-token, token_from: client-secret, secret: {env: SP}}\n", []string{
			`inv.yaml:8:40: ARCF0007 h: credential "sp" (auth: access-token, token_from: client-secret) has no client_id: the controller needs it to mint the hosts' access tokens; fix: add client_id: APPLICATION-ID to it`}},
		{"certificate mode without certificate", "  sp: {client_id: " + id + ", auth: certificate, secret: {env: SP}}\n", []string{
			"inv.yaml:8:63: AZCM0016 h: credential \"sp\" (auth: certificate) has no certificate (--service-principal-cert); fix: add `certificate: {file: /path/sp.pem}` (PEM holding the certificate and its private key, no password), or use `auth: access-token`"}},
		{"certificate mode without client id", "  sp: {auth: certificate, certificate: {file: /c.pem}}\n", []string{
			`inv.yaml:8:3: AZCM0016 h: credential "sp" has no client_id (--service-principal-id); fix: add client_id: APPLICATION-ID to it`}},
		{"secret mode with only a certificate", "  sp: {client_id: " + id + ", certificate: {file: /c.pem}}\n", []string{
			"inv.yaml:8:3: AZCM0016 h: credential \"sp\" has no secret (--service-principal-secret); fix: add `secret: {env: NAME}` or `secret: {file: PATH}` to it, or set `auth: certificate` to send the certificate instead; better: set `auth: access-token` so the hosts get only a short-lived token (docs/security.md)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := withCred(tt.cred)
			if src == vbase {
				t.Fatal("credential line not replaced")
			}
			inv := mustParse(t, src)
			// The host starts two lines later when the credential spans more lines.
			for _, action := range []string{"connect", "disconnect"} {
				var got []string
				for _, f := range Validate(inv, inv.mustSelect(t, ""), action) {
					got = append(got, f.String())
				}
				if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
					t.Errorf("%s findings:\n got: %s\nwant: %s", action, strings.Join(got, "\n      "), strings.Join(tt.want, "\n      "))
				}
			}
		})
	}
}

// CheckSecretRefs checks what each mode reads: in access-token mode the
// controller's secret or certificate; in certificate mode the certificate; never a
// reference the mode does not use.
func TestCheckSecretRefsByMode(t *testing.T) {
	dir := t.TempDir()
	pem := filepath.Join(dir, "sp.pem")
	if err := os.WriteFile(pem, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`version: 1
credentials:
  tok: {client_id: x, auth: access-token, secret: {env: TOK_SECRET}, certificate: {env: UNUSED_1}}
  tokcert: {client_id: x, auth: access-token, token_from: client-certificate, certificate: {file: %s/missing.pem}, secret: {env: UNUSED_2}}
  cli: {auth: access-token, token_from: azure-cli, secret: {env: UNUSED_3}}
  cert: {client_id: x, auth: certificate, certificate: {file: %s}, secret: {env: UNUSED_4}}
  certbad: {client_id: x, auth: certificate, certificate: {env: CERT_PEM}}
hosts:
  - {name: h1, credential: tok}
  - {name: h2, credential: tokcert}
  - {name: h3, credential: cli}
  - {name: h4, credential: cert}
  - {name: h5, credential: certbad}
`, dir, pem)
	inv := mustParse(t, src)
	var got []string
	for _, f := range CheckSecretRefs(inv, inv.mustSelect(t, ""), func(string) (string, bool) { return "", false }) {
		got = append(got, f.String())
	}
	want := []string{
		`inv.yaml:3:51: ARCF0001 h1: secret of credential "tok" (env:TOK_SECRET) does not resolve: environment variable TOK_SECRET is not set; used by host h1; fix: export TOK_SECRET before running arcfleet (from your secret store, never on a command line)`,
		fmt.Sprintf(`inv.yaml:4:92: ARCF0001 h2: certificate of credential "tokcert" (file:%s/missing.pem) does not resolve: secret file %s/missing.pem: no such file or directory; used by host h2; fix: create %s/missing.pem holding only the secret, readable by this user (chmod 600)`, dir, dir, dir),
		`inv.yaml:7:59: ARCF0001 h5: certificate of credential "certbad" (env:CERT_PEM) does not resolve: environment variable CERT_PEM is not set; used by host h5; fix: export CERT_PEM before running arcfleet (from your secret store, never on a command line)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
