package executor

import (
	"context"
	"errors"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
)

// TokenSource mints the ARM access tokens hosts receive in access-token mode
// (inventory.AuthAccessToken): the credential's secret or certificate stays on
// the controller, each host gets only a short-lived token. internal/azure
// implements it with the Azure SDK.
type TokenSource interface {
	// Token returns an ARM access token for cred valid at least until expires.
	// An error may implement interface{ Code() string } (an AADSTS, MSG or ARCF
	// code); its message must not hold a secret.
	Token(ctx context.Context, cred inventory.Credential) (token string, expires time.Time, err error)
}

// Codes of access-token mode (results' catalog explains each).
const (
	codeNoTokenSource = "ARCF-NO-TOKEN-SOURCE" // blocked: access-token mode, but the run has no TokenSource
	// codeToken: the TokenSource failed without a code, or gave an unusable token
	// (the catalog's entry for the controller's token, shared with internal/azure).
	codeToken = "ARCF-AZURE-TOKEN"
)

// needsToken: step name of this host receives an access token minted right
// before it runs (connect and disconnect in access-token mode).
func (hr *hostRun) needsToken(step string) bool {
	return (step == agent.StepConnect || step == agent.StepDisconnect) && hr.cs.cred.AuthMode() == inventory.AuthAccessToken
}

// loginValue is what the host's config carries for its login: a token minted
// for this attempt (access-token mode), else the resolved secret or certificate.
func (hr *hostRun) loginValue(step string) string {
	if hr.needsToken(step) {
		return hr.accessToken
	}
	return hr.cs.secret
}

// mintToken gets a fresh access token for the step about to run (a token lives
// about an hour; a fleet run may take longer, so every connect and disconnect
// attempt asks, and the TokenSource hands out a cached token until it nears its
// end). The token is masked everywhere from here on and never journaled. A
// failure with a credential-class code opens the credential's breaker at once:
// every host of the credential would fail alike.
func (hr *hostRun) mintToken(ctx context.Context, step string) (stepOut, bool) {
	hr.accessToken = ""
	r := hr.r
	if r.x.Tokens == nil { // resolveCredentials blocks such hosts; a guard for other callers
		return hr.tokenFailure(codeNoTokenSource, noTokenSourceMsg(hr.cs.cred)), false
	}
	// The token is for the tenant the host signs in to: a credential without a
	// tenant_id of its own takes each host's azure.tenant_id (the agent gets
	// the same tenant in its config).
	cred := hr.cs.cred
	cred.TenantID = r.tenantOf(hr.i)
	tok, exp, err := r.x.Tokens.Token(ctx, cred)
	if err != nil {
		if ctx.Err() != nil {
			m := results.M("token_interrupted")
			return stepOut{kind: transport.Canceled, exit: -1, errMsg: m.Text("en"), errM: m}, false
		}
		code := codeToken
		var coded interface{ Code() string }
		if errors.As(err, &coded) && coded.Code() != "" {
			code = results.NormalizeCode(coded.Code())
		}
		m := results.M("token_failed", hr.cs.cred.Name, err.Error())
		var said interface{ Msg() results.Msg } // internal/azure's errors say themselves
		if errors.As(err, &said) && said.Msg().Text("en") == err.Error() {
			m = results.M("token_failed_m", hr.cs.cred.Name).With(said.Msg())
		}
		return hr.tokenFailure(code, m), false
	}
	// Masked before anything else can print it (a bad token's own message included).
	r.masker.Add(tok)
	hr.masker.Add(tok)
	hr.secrets = append(hr.secrets, tok)
	switch now := r.x.now(); {
	case tok == "":
		return hr.tokenFailure(codeToken, results.M("token_empty", hr.cs.cred.Name)), false
	case !exp.After(now):
		return hr.tokenFailure(codeToken, results.M("token_expired", hr.cs.cred.Name, exp.UTC().Format(time.RFC3339))), false
	}
	hr.accessToken = tok
	return stepOut{}, true
}

// tokenFailure is a step that did not run for want of a token. A credential
// problem (the class of code, or a code the catalog does not know) trips the
// credential's breaker.
func (hr *hostRun) tokenFailure(code string, m results.Msg) stepOut {
	m = m.Mask(hr.mask)
	msg := hr.mask(m.Text("en"))
	class := results.ClassOf(code)
	if class == "" {
		class = results.ClassCredential
	}
	if class == results.ClassCredential && hr.r.brk.Trip(hr.brkKey, hr.h.Name, code, said2(m, msg)) {
		hr.r.emit(Event{Kind: EventWarning, Host: hr.h.Name, Code: code, Message: hr.r.brk.Open(hr.brkKey)})
	}
	hr.r.record(journalRecord{Event: evAttemptEnd, Host: hr.h.Name, Step: "token", Code: code, Class: class, ExitCode: -1, Detail: msg})
	return stepOut{exit: -1, errMsg: msg, errM: said2(m, msg), diag: results.Diagnosis{Code: code, Class: class, Evidence: []string{msg}}}
}

func noTokenSourceMsg(c inventory.Credential) results.Msg {
	return results.M("token_no_source", c.Name, c.TokenMethod())
}
