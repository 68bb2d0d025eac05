package azure

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
)

// Defaults of Options.
const (
	DefaultRefreshMargin = 10 * time.Minute
	DefaultErrorTTL      = 30 * time.Second
)

// Options configures a TokenSource (and so Preflight and Verify, which use it).
type Options struct {
	// LookupEnv resolves secret references; nil = os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Endpoints, when set, points every cloud at these endpoints (tests, demo).
	Endpoints *Endpoints
	// CloudOf names the cloud of a credential's hosts (AzureCloud when "" or nil).
	CloudOf func(credName string) string
	// TenantOf names the tenant of a credential's hosts, used when the
	// credential itself has no tenant_id (the inventory may set azure.tenant_id
	// for the hosts instead). A caller whose hosts of one credential span
	// several tenants passes the credential with the host's TenantID set.
	TenantOf func(credName string) string
	// RefreshMargin: a cached token with less life left is refreshed (default 10 min;
	// at most half a token's lifetime is used, so short-lived tokens are not refreshed on every call).
	RefreshMargin time.Duration
	// ErrorTTL: a failed token request is answered from memory this long, so a
	// fleet sharing a bad credential asks Entra ID once, not once per host (default 30 s).
	ErrorTTL time.Duration
	// Now replaces the clock.
	Now func() time.Time
}

// TokenSource mints one ARM access token per credential and caches it: many
// goroutines may ask at once, a credential has at most one request in flight,
// and a token is refreshed when less than the refresh margin of its life is left.
// It implements the executor's TokenSource.
type TokenSource struct {
	o    Options
	http *counter

	mu      sync.Mutex
	entries map[tokenKey]*tokenEntry
}

type tokenKey struct{ name, client, tenant, from, cloud, cert, secret string }

type tokenEntry struct {
	token            string
	exp, fetched     time.Time
	err              *Error
	errAt            time.Time
	wait             chan struct{} // closed when the request in flight ends
	requests, served int
}

// NewTokenSource returns a TokenSource.
func NewTokenSource(o Options) *TokenSource {
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.RefreshMargin <= 0 {
		o.RefreshMargin = DefaultRefreshMargin
	}
	if o.ErrorTTL <= 0 {
		o.ErrorTTL = DefaultErrorTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &TokenSource{o: o, http: newCounter(o.Endpoints), entries: map[tokenKey]*tokenEntry{}}
}

// Calls is the number of HTTP requests made to Entra ID and Resource Manager so far.
func (ts *TokenSource) Calls() int64 { return ts.http.calls.Load() }

// Requests is how many token requests were sent for cred (for tests).
func (ts *TokenSource) Requests(cred inventory.Credential) int {
	if cred.TenantID == "" && ts.o.TenantOf != nil {
		cred.TenantID = ts.o.TenantOf(cred.Name)
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if e := ts.entries[ts.key(cred)]; e != nil {
		return e.requests
	}
	return 0
}

func (ts *TokenSource) cloudOf(cred inventory.Credential) string {
	if ts.o.CloudOf == nil {
		return ""
	}
	return ts.o.CloudOf(cred.Name)
}

func (ts *TokenSource) key(cred inventory.Credential) tokenKey {
	return tokenKey{cred.Name, strings.ToLower(cred.ClientID), strings.ToLower(cred.TenantID), cred.TokenMethod(), ts.cloudOf(cred), cred.Certificate.String(), cred.Secret.String()}
}

// fresh reports whether e's token may be handed out at now.
func (ts *TokenSource) fresh(e *tokenEntry, now time.Time) bool {
	if e.token == "" {
		return false
	}
	margin := ts.o.RefreshMargin
	if half := e.exp.Sub(e.fetched) / 2; half < margin {
		margin = half
	}
	return e.exp.Sub(now) > margin
}

// Token returns an ARM access token for cred and when it expires. Errors are
// *Error (Code: an AADSTS code, or ARCF-AZURE-TOKEN).
func (ts *TokenSource) Token(ctx context.Context, cred inventory.Credential) (string, time.Time, error) {
	if cred.TenantID == "" && ts.o.TenantOf != nil {
		cred.TenantID = ts.o.TenantOf(cred.Name)
	}
	k := ts.key(cred)
	for {
		ts.mu.Lock()
		e := ts.entries[k]
		if e == nil {
			e = &tokenEntry{}
			ts.entries[k] = e
		}
		now := ts.o.Now()
		if ts.fresh(e, now) {
			e.served++
			tok, exp := e.token, e.exp
			ts.mu.Unlock()
			return tok, exp, nil
		}
		if e.wait != nil {
			ch := e.wait
			ts.mu.Unlock()
			select {
			case <-ch:
				ts.mu.Lock()
				err, errAt := e.err, e.errAt
				ts.mu.Unlock()
				if err != nil && ts.o.Now().Sub(errAt) < ts.o.ErrorTTL {
					return "", time.Time{}, err
				}
				continue
			case <-ctx.Done():
				return "", time.Time{}, newError(CodeToken, results.M("az_token_interrupted", cred.Name, ctx.Err().Error()))
			}
		}
		if e.err != nil && now.Sub(e.errAt) < ts.o.ErrorTTL {
			err := e.err
			ts.mu.Unlock()
			return "", time.Time{}, err
		}
		ch := make(chan struct{})
		e.wait = ch
		e.requests++
		ts.mu.Unlock()

		tok, exp, err := ts.fetch(ctx, cred)

		ts.mu.Lock()
		e.wait = nil
		if err == nil {
			e.token, e.exp, e.fetched, e.err = tok, exp, ts.o.Now(), nil
			e.served++
		} else if ctx.Err() == nil {
			e.err, e.errAt = err, ts.o.Now()
		}
		old, oldExp := e.token, e.exp
		close(ch)
		ts.mu.Unlock()
		if err != nil {
			// A refresh that failed while the cached token still lives a minute
			// or more: hand that out; the next call tries again.
			if old != "" && oldExp.Sub(ts.o.Now()) > time.Minute {
				return old, oldExp, nil
			}
			return "", time.Time{}, err
		}
		return tok, exp, nil
	}
}

// fetch asks Entra ID (or the CLI, or the managed identity endpoint) for a token.
// Each refresh builds a new credential: azidentity's own cache would otherwise
// hand back the token being refreshed until five minutes before it expires.
func (ts *TokenSource) fetch(ctx context.Context, cred inventory.Credential) (string, time.Time, *Error) {
	cc, err := cloudConfig(ts.cloudOf(cred), ts.o.Endpoints)
	if err != nil {
		return "", time.Time{}, newError(CodeToken, results.M("az_cred_sub", cred.Name).With(errMsg(err)))
	}
	tc, secrets, cerr := ts.credential(cred, cc)
	if cerr != nil {
		return "", time.Time{}, cerr
	}
	at, err := tc.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scopeOf(cc)}})
	if err != nil {
		return "", time.Time{}, tokenError(cred.Name, err, secrets)
	}
	return at.Token, at.ExpiresOn, nil
}

// credential builds the azidentity credential of cred; secrets are the values
// to mask in any error text.
func (ts *TokenSource) credential(cred inventory.Credential, cc cloud.Configuration) (azcore.TokenCredential, []string, *Error) {
	co := azcore.ClientOptions{Cloud: cc, Transport: ts.http}
	disco := ts.o.Endpoints != nil // a local authority is not in Entra's instance list
	switch m := cred.TokenMethod(); m {
	case inventory.TokenFromClientSecret:
		if cred.Secret.IsZero() {
			return nil, nil, newError(CodeToken, results.M("az_secret_needs", cred.Name))
		}
		secret, err := cred.Secret.Resolve(ts.o.LookupEnv)
		if err != nil {
			return nil, nil, newError(CodeToken, results.M("az_secret_err", cred.Name, cred.Secret.String()).With(resolveMsg(err)))
		}
		c, err := azidentity.NewClientSecretCredential(cred.TenantID, cred.ClientID, secret, &azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: disco})
		if err != nil {
			return nil, nil, newError(CodeToken, results.M("az_cred_said", cred.Name, firstLine(err, secret)))
		}
		return c, []string{secret}, nil
	case inventory.TokenFromClientCertificate:
		if cred.Certificate.IsZero() {
			return nil, nil, newError(CodeToken, results.M("az_cert_needs", cred.Name))
		}
		pemData, err := cred.Certificate.Resolve(ts.o.LookupEnv)
		if err != nil {
			return nil, nil, newError(CodeToken, results.M("az_cert_err", cred.Name, cred.Certificate.String()).With(resolveMsg(err)))
		}
		certs, key, err := azidentity.ParseCertificates([]byte(pemData), nil)
		if err != nil {
			return nil, nil, newError(CodeToken, results.M("az_cert_parse", cred.Name, cred.Certificate.String(), err.Error()))
		}
		c, err := azidentity.NewClientCertificateCredential(cred.TenantID, cred.ClientID, certs, key, &azidentity.ClientCertificateCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: disco})
		if err != nil {
			return nil, nil, newError(CodeToken, results.M("az_cred_said", cred.Name, firstLine(err)))
		}
		return c, nil, nil
	case inventory.TokenFromWorkloadIdentity:
		c, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{ClientOptions: co, ClientID: cred.ClientID, TenantID: cred.TenantID, DisableInstanceDiscovery: disco})
		if err != nil {
			return nil, nil, newError(CodeToken, results.M("az_workload", cred.Name, firstLine(err)))
		}
		return c, nil, nil
	case inventory.TokenFromManagedIdentity:
		o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: co}
		if cred.ClientID != "" {
			o.ID = azidentity.ClientID(cred.ClientID)
		}
		c, err := azidentity.NewManagedIdentityCredential(o)
		if err != nil {
			return nil, nil, newError(CodeToken, results.M("az_managed", cred.Name, firstLine(err)))
		}
		return c, nil, nil
	case inventory.TokenFromAzureCLI:
		c, err := azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: cred.TenantID})
		if err != nil {
			return nil, nil, newError(CodeToken, results.M("az_cli", cred.Name, firstLine(err)))
		}
		return c, nil, nil
	default:
		return nil, nil, newError(CodeToken, results.M("az_token_from", cred.Name, strconv.Quote(m), strings.Join(inventory.TokenFroms, ", ")))
	}
}

func firstLine(err error, secrets ...string) string {
	s := strings.TrimSpace(strings.SplitN(err.Error(), "\n", 2)[0])
	for _, v := range secrets {
		if v != "" {
			s = strings.ReplaceAll(s, v, "***")
		}
	}
	return s
}

// armCredential lets the SDK's ARM clients use the TokenSource's cached token.
type armCredential struct {
	ts   *TokenSource
	cred inventory.Credential
}

func (a armCredential) GetToken(ctx context.Context, _ policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, exp, err := a.ts.Token(ctx, a.cred)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	return azcore.AccessToken{Token: tok, ExpiresOn: exp}, nil
}
