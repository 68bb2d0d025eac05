package azurefake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Tenant is a fake Entra tenant.
type Tenant struct {
	ID   string
	apps map[string]*App // by lower-case client id
}

// App is an app registration (service principal) of a tenant.
type App struct {
	ClientID string
	// Secret is the client secret's value ("" = none).
	Secret string
	// SecretExpired makes a correct secret fail with AADSTS7000222.
	SecretExpired bool
	// Cert is a certificate whose key may sign client assertions.
	Cert *x509.Certificate
	// FederatedToken is a workload identity's federated token the app trusts.
	FederatedToken string
	// ObjectID is the service principal's object id (the "oid" claim).
	ObjectID string
}

// AddTenant registers a tenant (ids are compared case-insensitively).
func (f *Fake) AddTenant(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tenants[strings.ToLower(id)] == nil {
		f.tenants[strings.ToLower(id)] = &Tenant{ID: id, apps: map[string]*App{}}
	}
}

// AddApp registers an app in tenant (added if missing). It replaces an app with the same client id.
func (f *Fake) AddApp(tenant string, a App) {
	f.AddTenant(tenant)
	f.mu.Lock()
	defer f.mu.Unlock()
	if a.ObjectID == "" {
		a.ObjectID = "oid-" + a.ClientID
	}
	cp := a
	f.tenants[strings.ToLower(tenant)].apps[strings.ToLower(a.ClientID)] = &cp
}

// RemoveApp deletes an app registration: its sign-ins fail AADSTS700016.
func (f *Fake) RemoveApp(tenant, clientID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t := f.tenants[strings.ToLower(tenant)]; t != nil {
		delete(t.apps, strings.ToLower(clientID))
	}
}

// SetSecretExpired marks an app's secret expired (AADSTS7000222) or current.
func (f *Fake) SetSecretExpired(tenant, clientID string, expired bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t := f.tenants[strings.ToLower(tenant)]; t != nil {
		if a := t.apps[strings.ToLower(clientID)]; a != nil {
			a.SecretExpired = expired
		}
	}
}

// SetSecret changes an app's secret.
func (f *Fake) SetSecret(tenant, clientID, secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t := f.tenants[strings.ToLower(tenant)]; t != nil {
		if a := t.apps[strings.ToLower(clientID)]; a != nil {
			a.Secret = secret
		}
	}
}

// aadError writes an Entra error response. The bodies have the shape Entra ID
// answers with (error, error_description with trace and correlation ids and a
// timestamp, error_codes, timestamp, trace_id, correlation_id, error_uri); the
// wording of each description follows what users quoted from real responses:
//   - AADSTS7000215 (invalid_client, 401): github.com/Azure/sap-automation/issues/418
//   - AADSTS7000222 (invalid_client, 401): github.com/vcheckzen/FODI/issues/23,
//     github.com/liprec/vsts-release-aas/issues/119
//   - AADSTS700016 (unauthorized_client, 400): text from github.com/donwa/oneindex/issues/621;
//     error and status per the OAuth error reference (riposte.co/provider-errors/microsoft-unauthorized_client)
//   - AADSTS90002 (invalid_tenant, 400, also from the OpenID configuration
//     endpoint MSAL reads first): github.com/Azure/azure-cli/issues/22145,
//     github.com/microsoftgraph/windowsupdates-webapplication-sample/issues/6
func aadError(w http.ResponseWriter, status int, errName string, code int, desc string) {
	trace, corr := newGUID(), newGUID()
	ts := time.Now().UTC().Format("2006-01-02 15:04:05Z")
	body := map[string]any{
		"error":             errName,
		"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", code, desc, trace, corr, ts),
		"error_codes":       []int{code},
		"timestamp":         ts,
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", code),
	}
	writeJSON(w, status, body)
}

func tenantNotFound(w http.ResponseWriter, tenant string) {
	aadError(w, http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", tenant))
}

func (f *Fake) serveEntra(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) >= 3 && parts[0] == "common" && parts[1] == "discovery" && parts[2] == "instance" {
		f.count(KindDiscovery)
		host := r.Host
		writeJSON(w, 200, map[string]any{
			"tenant_discovery_endpoint": "https://" + host + "/common/v2.0/.well-known/openid-configuration",
			"api-version":               "1.1",
			"metadata":                  []map[string]any{{"preferred_network": host, "preferred_cache": host, "aliases": []string{host}}},
		})
		return
	}
	if len(parts) == 2 && parts[0] == "msi" && parts[1] == "token" {
		f.count(KindToken)
		f.managedIdentity(w, r)
		return
	}
	if len(parts) < 2 {
		f.count(KindOther)
		http.NotFound(w, r)
		return
	}
	tenant := parts[0]
	rest := strings.Join(parts[1:], "/")
	f.mu.Lock()
	t := f.tenants[strings.ToLower(tenant)]
	f.mu.Unlock()
	switch {
	case strings.HasSuffix(rest, ".well-known/openid-configuration"):
		f.count(KindDiscovery)
		if t == nil {
			tenantNotFound(w, tenant)
			return
		}
		base := "https://" + r.Host + "/" + tenant
		writeJSON(w, 200, map[string]any{
			"token_endpoint":                base + "/oauth2/v2.0/token",
			"authorization_endpoint":        base + "/oauth2/v2.0/authorize",
			"device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
			"issuer":                        base + "/v2.0",
			"tenant_region_scope":           "EU",
		})
	case rest == "oauth2/v2.0/token" && r.Method == http.MethodPost:
		f.count(KindToken)
		if t == nil {
			tenantNotFound(w, tenant)
			return
		}
		f.token(w, r, t)
	default:
		f.count(KindOther)
		http.NotFound(w, r)
	}
}

func (f *Fake) token(w http.ResponseWriter, r *http.Request, t *Tenant) {
	if err := r.ParseForm(); err != nil {
		aadError(w, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	clientID := r.PostForm.Get("client_id")
	if r.PostForm.Get("grant_type") != "client_credentials" {
		aadError(w, 400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
		return
	}
	f.mu.Lock()
	a := t.apps[strings.ToLower(clientID)]
	var app App
	if a != nil {
		app = *a
	}
	f.mu.Unlock()
	if a == nil {
		aadError(w, 400, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, t.ID))
		return
	}
	switch {
	case r.PostForm.Has("client_secret"):
		if app.Secret == "" || r.PostForm.Get("client_secret") != app.Secret {
			aadError(w, 401, "invalid_client", 7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", app.ClientID))
			return
		}
		if app.SecretExpired {
			aadError(w, 401, "invalid_client", 7000222, fmt.Sprintf("The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", app.ClientID))
			return
		}
	case r.PostForm.Has("client_assertion"):
		as := r.PostForm.Get("client_assertion")
		ok := (app.FederatedToken != "" && as == app.FederatedToken) || (app.Cert != nil && verifyAssertion(as, app.Cert, app.ClientID))
		if !ok {
			aadError(w, 401, "invalid_client", 700027, "Client assertion failed signature validation.")
			return
		}
	default:
		aadError(w, 400, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	now := f.now()
	exp := now.Add(f.tokenLifetime)
	tok := makeJWT(map[string]any{
		"aud": "https://management.azure.com", "iss": "https://sts.windows.net/" + t.ID + "/",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": exp.Unix(),
		"tid": t.ID, "appid": app.ClientID, "oid": app.ObjectID, "jti": newGUID(),
	})
	f.mu.Lock()
	f.issued[tok] = issued{tenant: strings.ToLower(t.ID), appID: strings.ToLower(app.ClientID), exp: exp}
	f.mu.Unlock()
	secs := int(f.tokenLifetime / time.Second)
	writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok})
}

// ManagedIdentityHeader is the secret header value the fake's managed identity
// endpoint (/msi/token, App Service style: IDENTITY_ENDPOINT and IDENTITY_HEADER) expects.
const ManagedIdentityHeader = "azurefake-identity-header"

// SetManagedIdentity makes /msi/token issue tokens of tenant for clientID (a
// system-assigned identity when the request names none).
func (f *Fake) SetManagedIdentity(tenant, clientID string) {
	f.AddApp(tenant, App{ClientID: clientID})
	f.mu.Lock()
	f.mi = [2]string{tenant, clientID}
	f.mu.Unlock()
}

func (f *Fake) managedIdentity(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	mi := f.mi
	f.mu.Unlock()
	if r.Header.Get("X-IDENTITY-HEADER") != ManagedIdentityHeader || mi[1] == "" {
		writeJSON(w, 400, map[string]any{"statusCode": 400, "message": "No managed identity found for the request, or the identity header is wrong."})
		return
	}
	if id := r.URL.Query().Get("client_id"); id != "" && !strings.EqualFold(id, mi[1]) {
		writeJSON(w, 400, map[string]any{"statusCode": 400, "message": "Identity not found"})
		return
	}
	now := f.now()
	exp := now.Add(f.tokenLifetime)
	tok := makeJWT(map[string]any{"aud": r.URL.Query().Get("resource"), "iat": now.Unix(), "exp": exp.Unix(), "tid": mi[0], "appid": mi[1], "jti": newGUID()})
	f.mu.Lock()
	f.issued[tok] = issued{tenant: strings.ToLower(mi[0]), appID: strings.ToLower(mi[1]), exp: exp}
	f.mu.Unlock()
	writeJSON(w, 200, map[string]any{"access_token": tok, "expires_on": fmt.Sprint(exp.Unix()), "resource": r.URL.Query().Get("resource"), "token_type": "Bearer", "client_id": mi[1]})
}

// makeJWT is a JWT-shaped token (header.claims.signature) with a random signature.
func makeJWT(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	sig := make([]byte, 32)
	rand.Read(sig)
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(c) + "." + enc(sig)
}

// verifyAssertion checks a client assertion JWT: signed (PS256 or RS256) by
// cert's key, issued by and for clientID, not expired.
func verifyAssertion(jwt string, cert *x509.Certificate, clientID string) bool {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return false
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return false
	}
	var hdr struct{ Alg string }
	var cl struct {
		Iss, Sub string
		Exp      int64
	}
	if json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &cl) != nil {
		return false
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return false
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch hdr.Alg {
	case "PS256":
		if rsa.VerifyPSS(pub, crypto.SHA256, sum[:], sig, nil) != nil {
			return false
		}
	case "RS256":
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
			return false
		}
	default:
		return false
	}
	return strings.EqualFold(cl.Iss, clientID) && strings.EqualFold(cl.Sub, clientID) && time.Unix(cl.Exp, 0).After(time.Now())
}

func newGUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	s := hex.EncodeToString(b)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
