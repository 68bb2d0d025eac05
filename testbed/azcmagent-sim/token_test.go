package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// jwt builds a JWT-shaped token with payload claims, holding the sentinel.
func jwt(payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString([]byte("sig-"+sentinel))
}

func tokenExpiring(d time.Duration) string {
	now, _ := time.Parse(time.RFC3339, fixedNow)
	return jwt(fmt.Sprintf(`{"aud":"https://management.azure.com/","exp":%d,"jti":"%s"}`, now.Add(d).Unix(), sentinel))
}

func readRecord(t *testing.T, path string) []recordLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []recordLine
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r recordLine
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("record line %q: %v", l, err)
		}
		if r.Event == "end" {
			out = append(out, r)
		}
	}
	return out
}

func sha(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }

// An access token from --access-token or from --config's access-token key logs
// the agent in; the record names the login and the token's digest and exp.
func TestAccessTokenLogin(t *testing.T) {
	record := filepath.Join(t.TempDir(), "record.jsonl")
	h := newHost(t, "web01", "AZCMAGENT_SIM_RECORD="+record)
	tok := tokenExpiring(time.Hour)
	h.expect(0, "connect", "-s", subID, "-g", "rg", "-l", "westeurope", "-t", tenantID, "--access-token", tok)
	cfg := filepath.Join(t.TempDir(), "config.json")
	tok2 := tokenExpiring(2 * time.Hour)
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `{"access-token": %q}`, tok2), 0o600); err != nil {
		t.Fatal(err)
	}
	h.expect(0, "disconnect", "--config", cfg, "--json")
	recs := readRecord(t, record)
	if len(recs) != 2 {
		t.Fatalf("records %+v", recs)
	}
	now, _ := time.Parse(time.RFC3339, fixedNow)
	if r := recs[0]; r.Auth != "access token" || r.TokenSHA256 != sha(tok) || r.TokenExp != now.Add(time.Hour).Unix() || len(r.ConfigKeys) != 0 {
		t.Errorf("connect record %+v", r)
	}
	if r := recs[1]; r.TokenSHA256 != sha(tok2) || strings.Join(r.ConfigKeys, ",") != "access-token" {
		t.Errorf("disconnect record %+v", r)
	}
	checkNoSentinel(t, h, record)
}

func TestAccessTokenRejected(t *testing.T) {
	for _, tc := range []struct{ name, token, want string }{
		{"expired", tokenExpiring(-time.Minute), "ExpiredAuthenticationToken: The access token expiry UTC time '5/6/2024 7:07:09 AM' is earlier than current UTC time '5/6/2024 7:08:09 AM'"},
		{"expires now", tokenExpiring(0), "ExpiredAuthenticationToken"},
		{"not a JWT", "not-a-token-" + sentinel, "not a JWT"},
		{"payload not base64url", "eyJhbGciOiJSUzI1NiJ9.%%%.c2ln", "not a JWT"},
		{"payload not JSON", jwt("not json " + sentinel), "payload is not JSON"},
		{"no exp", jwt(`{"aud":"https://management.azure.com/"}`), "no exp claim"},
		{"exp not a number", jwt(`{"exp":"soon"}`), "payload is not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, "web01")
			for _, args := range [][]string{
				{"connect", "-s", subID, "-g", "rg", "-l", "westeurope", "-t", tenantID, "--access-token", tc.token},
				{"disconnect", "--access-token", tc.token},
			} {
				r := h.expect(12, args...)
				if !strings.Contains(r.stdout, "AZCM0012: Invalid Access Token") || !strings.Contains(r.stdout, tc.want) {
					t.Errorf("%s:\n%s", args[0], r)
				}
				if strings.Contains(r.stdout+r.stderr, sentinel) {
					t.Errorf("%s: the token is in the output:\n%s", args[0], r)
				}
			}
			checkNoSentinel(t, h, "")
		})
	}
}

// Certificate login: the --service-principal-cert file must exist and be
// readable (AZCM0107 otherwise, the knowledge base's "Failed To Retrieve Certificate").
func TestCertificateLogin(t *testing.T) {
	dir := t.TempDir()
	pem := filepath.Join(dir, "sp.pem")
	if err := os.WriteFile(pem, []byte("-----BEGIN PRIVATE KEY-----\n"+sentinel+"\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(t.TempDir(), "record.jsonl")
	h := newHost(t, "web01", "AZCMAGENT_SIM_RECORD="+record)
	cfg := filepath.Join(dir, "config.json")
	os.WriteFile(cfg, fmt.Appendf(nil, `{"service-principal-id": %q, "service-principal-cert": %q, "tenant-id": %q}`, appID, pem, tenantID), 0o600)
	h.expect(0, "connect", "-s", subID, "-g", "rg", "-l", "westeurope", "--config", cfg)
	if r := readRecord(t, record)[0]; r.Auth != "service principal certificate" || r.TokenSHA256 != "" {
		t.Errorf("record %+v", r)
	}
	r := h.expect(107, "disconnect", "-i", appID, "--service-principal-cert", filepath.Join(dir, "gone.pem"))
	if !strings.Contains(r.stdout, "AZCM0107: Failed To Retrieve Certificate") || !strings.Contains(r.stdout, "gone.pem") {
		t.Errorf("missing file:\n%s", r)
	}
	h.expect(107, "disconnect", "-i", appID, "--service-principal-cert", dir) // a directory cannot be read as a file
	if os.Geteuid() != 0 {
		os.Chmod(pem, 0)
		h.expect(107, "disconnect", "-i", appID, "--service-principal-cert", pem)
	}
	checkNoSentinel(t, h, record)
}

// checkNoSentinel: no file of the host (and the record) holds the sentinel.
func checkNoSentinel(t *testing.T, h *host, record string) {
	t.Helper()
	paths := []string{}
	filepath.WalkDir(h.root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return nil
	})
	if record != "" {
		paths = append(paths, record)
	}
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		for _, form := range []string{sentinel, hex.EncodeToString([]byte(sentinel)), base64.StdEncoding.EncodeToString([]byte(sentinel))} {
			if strings.Contains(string(b), form) {
				t.Errorf("%s holds the sentinel", p)
			}
		}
	}
}
