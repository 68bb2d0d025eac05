package azure

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/executor"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/testbed/azurefake"
)

// The executor's hook: TokenSource satisfies it (asserted here, not in product
// code, so internal/azure never imports the executor).
var _ executor.TokenSource = (*TokenSource)(nil)

const (
	tenant = "11111111-aaaa-bbbb-cccc-000000000001"
	app    = "22222222-aaaa-bbbb-cccc-000000000002"
	secret = "s3cr3t-value-~xyz"
	sub1   = "33333333-aaaa-bbbb-cccc-000000000003"
	sub2   = "44444444-aaaa-bbbb-cccc-000000000004"
)

type clock struct{ off atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) advance(d time.Duration) { c.off.Add(int64(d)) }

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func newSource(f *azurefake.Fake, o Options) *TokenSource {
	o.Endpoints = &Endpoints{AuthorityHost: f.AuthorityHost(), ARM: f.ARMEndpoint(), CAPool: f.CAPool()}
	if o.LookupEnv == nil {
		o.LookupEnv = env(map[string]string{"SP": secret})
	}
	return NewTokenSource(o)
}

func spCred() inventory.Credential {
	return inventory.Credential{Name: "sp", ClientID: app, TenantID: tenant, Secret: inventory.SecretRef{Env: "SP"}, Auth: inventory.AuthAccessToken}
}

func TestTokenCachedAcrossGoroutines(t *testing.T) {
	f := azurefake.New(t, azurefake.Options{})
	f.AddApp(tenant, azurefake.App{ClientID: app, Secret: secret})
	ts := newSource(f, Options{})
	var wg sync.WaitGroup
	toks := make([]string, 64)
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, exp, err := ts.Token(context.Background(), spCred())
			if err != nil || time.Until(exp) < 50*time.Minute {
				t.Errorf("token: exp %v err %v", exp, err)
			}
			toks[i] = tok
		}()
	}
	wg.Wait()
	if n := f.Count(azurefake.KindToken); n != 1 {
		t.Fatalf("64 goroutines made %d token requests, want 1 (%s)", n, f.CountString())
	}
	for _, tok := range toks {
		if tok != toks[0] || strings.Count(tok, ".") != 2 {
			t.Fatalf("tokens differ or are not JWT-shaped: %q vs %q", tok, toks[0])
		}
	}
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	f := azurefake.New(t, azurefake.Options{TokenLifetime: time.Hour})
	f.AddApp(tenant, azurefake.App{ClientID: app, Secret: secret})
	var c clock
	ts := newSource(f, Options{Now: c.now, RefreshMargin: 10 * time.Minute})
	first, _, err := ts.Token(context.Background(), spCred())
	if err != nil {
		t.Fatal(err)
	}
	c.advance(45 * time.Minute) // 15 min left: still served from the cache
	if tok, _, _ := ts.Token(context.Background(), spCred()); tok != first || f.Count(azurefake.KindToken) != 1 {
		t.Fatalf("refreshed with 15 minutes left (%s)", f.CountString())
	}
	c.advance(6 * time.Minute) // 9 min left: refreshed, once, for all callers
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, _, err := ts.Token(context.Background(), spCred())
			if err != nil || tok == first {
				t.Errorf("after the margin: same token %v, err %v", tok == first, err)
			}
		}()
	}
	wg.Wait()
	if n := f.Count(azurefake.KindToken); n != 2 {
		t.Fatalf("token requests %d, want 2", n)
	}
}

func TestTokenErrorsCarryAADSTSCodes(t *testing.T) {
	f := azurefake.New(t, azurefake.Options{})
	f.AddApp(tenant, azurefake.App{ClientID: app, Secret: secret})
	f.AddApp("tenant-expired", azurefake.App{ClientID: app, Secret: secret, SecretExpired: true})
	wrong := "wrong-secret-value-123"
	ts := newSource(f, Options{LookupEnv: env(map[string]string{"SP": secret, "WRONG": wrong})})
	cases := []struct {
		name string
		cred inventory.Credential
		code string
	}{
		{"invalid secret", inventory.Credential{Name: "a", ClientID: app, TenantID: tenant, Secret: inventory.SecretRef{Env: "WRONG"}}, "AADSTS7000215"},
		{"expired secret", inventory.Credential{Name: "b", ClientID: app, TenantID: "tenant-expired", Secret: inventory.SecretRef{Env: "SP"}}, "AADSTS7000222"},
		{"app not found", inventory.Credential{Name: "c", ClientID: "99999999-0000-0000-0000-000000000000", TenantID: tenant, Secret: inventory.SecretRef{Env: "SP"}}, "AADSTS700016"},
		{"tenant not found", inventory.Credential{Name: "d", ClientID: app, TenantID: "no-such-tenant", Secret: inventory.SecretRef{Env: "SP"}}, "AADSTS90002"},
		{"secret unset", inventory.Credential{Name: "e", ClientID: app, TenantID: tenant, Secret: inventory.SecretRef{Env: "UNSET"}}, CodeToken},
	}
	for _, tc := range cases {
		_, _, err := ts.Token(context.Background(), tc.cred)
		var coded interface{ Code() string }
		if !errors.As(err, &coded) || coded.Code() != tc.code {
			t.Errorf("%s: err %v, want code %s", tc.name, err, tc.code)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), wrong) {
			t.Errorf("%s: error holds the secret: %v", tc.name, err)
		}
		if _, ok := results.Lookup(coded.Code()); !ok {
			t.Errorf("%s: code %s has no catalog entry", tc.name, coded.Code())
		}
	}
}

func TestTokenFailureAskedOncePerFleet(t *testing.T) {
	f := azurefake.New(t, azurefake.Options{})
	f.AddApp(tenant, azurefake.App{ClientID: app, Secret: "another"})
	ts := newSource(f, Options{ErrorTTL: time.Minute})
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := ts.Token(context.Background(), spCred()); err == nil {
				t.Error("no error")
			}
		}()
	}
	wg.Wait()
	if n := f.Count(azurefake.KindToken); n != 1 {
		t.Fatalf("32 hosts sharing a bad secret made %d token requests, want 1", n)
	}
}

func TestTokenFromClientCertificate(t *testing.T) {
	f := azurefake.New(t, azurefake.Options{})
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "sp"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert, _ := x509.ParseCertificate(der)
	f.AddApp(tenant, azurefake.App{ClientID: app, Cert: cert})
	p := filepath.Join(t.TempDir(), "sp.pem")
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})...)
	if err := os.WriteFile(p, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	ts := newSource(f, Options{})
	cred := inventory.Credential{Name: "cert", ClientID: app, TenantID: tenant, TokenFrom: inventory.TokenFromClientCertificate, Certificate: inventory.SecretRef{File: p}}
	if _, _, err := ts.Token(context.Background(), cred); err != nil {
		t.Fatalf("certificate credential: %v", err)
	}
	// Another certificate is refused: AADSTS700027.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	der2, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &other.PublicKey, other)
	p2 := filepath.Join(t.TempDir(), "other.pem")
	os.WriteFile(p2, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der2}), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)})...), 0o600)
	cred.Name, cred.Certificate = "cert2", inventory.SecretRef{File: p2}
	_, _, err := ts.Token(context.Background(), cred)
	var coded interface{ Code() string }
	if !errors.As(err, &coded) || coded.Code() != "AADSTS700027" {
		t.Fatalf("unregistered certificate: %v", err)
	}
}

func TestTokenFromWorkloadIdentity(t *testing.T) {
	f := azurefake.New(t, azurefake.Options{})
	f.AddApp(tenant, azurefake.App{ClientID: app, FederatedToken: "federated.jwt.value"})
	p := filepath.Join(t.TempDir(), "token")
	os.WriteFile(p, []byte("federated.jwt.value"), 0o600)
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", p)
	ts := newSource(f, Options{})
	cred := inventory.Credential{Name: "wi", ClientID: app, TenantID: tenant, TokenFrom: inventory.TokenFromWorkloadIdentity}
	if _, _, err := ts.Token(context.Background(), cred); err != nil {
		t.Fatalf("workload identity: %v", err)
	}
}

// A refresh that fails while the cached token still lives hands out the cached
// token; once it has expired the failure is the caller's.
func TestTokenRefreshFailureKeepsLiveToken(t *testing.T) {
	f := azurefake.New(t, azurefake.Options{TokenLifetime: time.Hour})
	f.AddApp(tenant, azurefake.App{ClientID: app, Secret: secret})
	var c clock
	ts := newSource(f, Options{Now: c.now, ErrorTTL: time.Second})
	first, _, err := ts.Token(context.Background(), spCred())
	if err != nil {
		t.Fatal(err)
	}
	f.SetSecret(tenant, app, "rotated") // the secret was rotated in Entra ID, not yet here
	c.advance(55 * time.Minute)
	tok, _, err := ts.Token(context.Background(), spCred())
	if err != nil || tok != first {
		t.Fatalf("5 minutes left, refresh refused: got err %v, same token %v; want the cached token", err, tok == first)
	}
	c.advance(6 * time.Minute) // expired
	_, _, err = ts.Token(context.Background(), spCred())
	var coded interface{ Code() string }
	if !errors.As(err, &coded) || coded.Code() != "AADSTS7000215" {
		t.Fatalf("after expiry: %v, want AADSTS7000215", err)
	}
}

func TestTokenWaiterHonoursContext(t *testing.T) {
	f := azurefake.New(t, azurefake.Options{})
	f.AddApp(tenant, azurefake.App{ClientID: app, Secret: secret})
	ts := newSource(f, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := ts.Token(ctx, spCred()); err == nil {
		t.Fatal("a canceled context got a token")
	}
	// The failure caused by the caller's context is not remembered for others.
	if _, _, err := ts.Token(context.Background(), spCred()); err != nil {
		t.Fatalf("after a canceled request: %v", err)
	}
}

func TestAgentResourceID(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join("hosts", "h", name)
		os.MkdirAll(filepath.Join(dir, "hosts", "h"), 0o700)
		os.WriteFile(filepath.Join(dir, p), []byte(body), 0o600)
		return p
	}
	old := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/old"
	nw := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/new"
	probe := write("attempt-1.log", `out: {"status": "Connected", "resourceId": "`+old+`"}`+"\n")
	disc := write("attempt-2.log", `out: {"status":"Succeeded","resourceId":""}`+"\n")
	conn := write("attempt-3.log", "err: verbose\n"+`out: {"status":"Succeeded","resourceId":"`+nw+`"}`+"\n")
	h := results.HostResult{Attempts: []results.Attempt{{LogPath: probe}, {LogPath: disc}}}
	if got := AgentResourceID(dir, h); got != old {
		t.Errorf("after disconnect: %q, want the machine it was connected to", got)
	}
	h.Attempts = append(h.Attempts, results.Attempt{LogPath: conn})
	if got := AgentResourceID(dir, h); got != nw {
		t.Errorf("after reconnect: %q, want the new machine", got)
	}
	if got := AgentResourceID(dir, results.HostResult{Attempts: []results.Attempt{{LogPath: "../../etc/passwd"}}}); got != "" {
		t.Errorf("a log path outside the run directory was read: %q", got)
	}
}

func TestTokenFromManagedIdentity(t *testing.T) {
	f := azurefake.New(t, azurefake.Options{})
	f.SetManagedIdentity(tenant, app)
	t.Setenv("IDENTITY_ENDPOINT", f.URL()+"/msi/token")
	t.Setenv("IDENTITY_HEADER", azurefake.ManagedIdentityHeader)
	ts := newSource(f, Options{})
	cred := inventory.Credential{Name: "mi", ClientID: app, TokenFrom: inventory.TokenFromManagedIdentity}
	tok, exp, err := ts.Token(context.Background(), cred)
	if err != nil || tok == "" || time.Until(exp) < 50*time.Minute {
		t.Fatalf("managed identity: %q %v %v", tok, exp, err)
	}
	cred.Name, cred.ClientID = "mi2", "another-identity"
	if _, _, err := ts.Token(context.Background(), cred); err == nil {
		t.Fatal("an unknown user-assigned identity got a token")
	}
}

// The Azure CLI path runs `az account get-access-token`; a stand-in az on PATH answers as the real one does.
func TestTokenFromAzureCLI(t *testing.T) {
	dir := t.TempDir()
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	script := "#!/bin/sh\ncase \"$*\" in *get-access-token*) printf '%s' '{\"accessToken\":\"h.c.s\",\"expiresOn\":\"" + exp.Local().Format("2006-01-02 15:04:05.000000") +
		"\",\"expires_on\":" + fmt.Sprint(exp.Unix()) + ",\"subscription\":\"" + sub1 + "\",\"tenant\":\"" + tenant + "\",\"tokenType\":\"Bearer\"}';; *) exit 1;; esac\n"
	if err := os.WriteFile(filepath.Join(dir, "az"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	ts := NewTokenSource(Options{})
	tok, got, err := ts.Token(context.Background(), inventory.Credential{Name: "cli", TenantID: tenant, TokenFrom: inventory.TokenFromAzureCLI})
	if err != nil || tok != "h.c.s" || !got.Equal(exp) {
		t.Fatalf("azure-cli: %q %v (want %v) %v", tok, got, exp, err)
	}
	// Not logged in: az fails, the error says so with ARCF-AZURE-TOKEN.
	os.WriteFile(filepath.Join(dir, "az"), []byte("#!/bin/sh\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n"), 0o755)
	_, _, err = NewTokenSource(Options{}).Token(context.Background(), inventory.Credential{Name: "cli", TenantID: tenant, TokenFrom: inventory.TokenFromAzureCLI})
	var coded interface{ Code() string }
	if !errors.As(err, &coded) || coded.Code() != CodeToken || !strings.Contains(err.Error(), "az login") {
		t.Fatalf("not logged in: %v", err)
	}
}

// Every code this package reports has a knowledge-base entry in both languages.
func TestCodesInCatalog(t *testing.T) {
	codes := []string{CodeToken, CodeCheckFailed, CodeProvider, CodeDeleteLock, CodeMissing, CodeNotConnected, CodeIDMismatch,
		CodeStillPresent, CodeUnverified, CodeSubNotFound, CodeRGNotFound, CodeAuthzFailed, CodeThrottled, CodeScopeLocked,
		CodeProviderUnreg, CodeNameClash, CodeBadLocation, "AADSTS7000215", "AADSTS7000222", "AADSTS700016", "AADSTS90002", "AADSTS700027"}
	for _, c := range codes {
		e, ok := results.Lookup(c)
		if !ok {
			t.Errorf("%s: no catalog entry", c)
			continue
		}
		for _, lang := range results.Languages {
			if title, cause, remedy := e.Text(lang); title == "" || cause == "" || remedy == "" {
				t.Errorf("%s: %s text incomplete", c, lang)
			}
		}
	}
}
