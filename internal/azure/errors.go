package azure

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
)

// Codes of arcfleet's own Azure findings (catalog entries in internal/results).
const (
	CodeToken         = "ARCF-AZURE-TOKEN"         // the controller could not get a token (no AADSTS code to name)
	CodeCheckFailed   = "ARCF-AZURE-CHECK-FAILED"  // a pre-flight call failed for another reason
	CodeProvider      = "ARCF-AZURE-PROVIDER"      // an Arc provider other than HybridCompute is not registered
	CodeDeleteLock    = "ARCF-AZURE-DELETE-LOCK"   // a delete lock on the target (affects later disconnect/reconnect)
	CodeMissing       = "ARCF-AZURE-MISSING"       // verify: no machine in Azure after connect
	CodeNotConnected  = "ARCF-AZURE-NOT-CONNECTED" // verify: machine exists but its status is not Connected
	CodeIDMismatch    = "ARCF-AZURE-ID-MISMATCH"   // verify: the agent's resource id differs from Azure's
	CodeStillPresent  = "ARCF-AZURE-STILL-PRESENT" // verify: the machine is still in Azure after disconnect
	CodeUnverified    = "ARCF-AZURE-UNVERIFIED"    // verify: Azure could not be read for this host
	CodeSubNotFound   = "ARM-SUBSCRIPTION-NOT-FOUND"
	CodeRGNotFound    = "ARM-RESOURCE-GROUP-NOT-FOUND"
	CodeAuthzFailed   = "ARM-AUTHORIZATION-FAILED"
	CodeThrottled     = "ARM-THROTTLED"
	CodeScopeLocked   = "ARM-SCOPE-LOCKED"
	CodeProviderUnreg = "MSG-PROVIDER-NOT-REGISTERED"
	CodeNameClash     = "AZCM0044"
	CodeBadLocation   = "AZCM0020"
)

// Error is a failure of a token or Azure call, with the knowledge-base code
// the executor and reports classify it by. Its message holds no token or secret.
type Error struct {
	code string
	m    results.Msg // its text: the English is Error()
}

// Code is the catalog code (AADSTSnnnn, ARM-..., ARCF-AZURE-...).
func (e *Error) Code() string  { return e.code }
func (e *Error) Error() string { return e.m.Text("en") }

// Msg is the error as a message, so a report says it in its language; what
// Entra ID, Resource Manager or a library said stays as it is.
func (e *Error) Msg() results.Msg { return e.m }

// newError is an error that says m (a results message key and its run data).
func newError(code string, m results.Msg) *Error {
	return &Error{code: code, m: m}
}

// errMsg is err as a message: an *Error's own, else its text as it is.
func errMsg(err error) results.Msg {
	if e, ok := err.(*Error); ok {
		return e.m
	}
	return results.M(results.MsgText, err.Error())
}

var aadstsRe = regexp.MustCompile(`AADSTS(\d{5,8})`)

// aadCode finds an AADSTS code in an error's text; "" when none.
func aadCode(s string) string {
	if m := aadstsRe.FindStringSubmatch(s); m != nil {
		return "AADSTS" + m[1]
	}
	return ""
}

// aadDescription is the first line naming the AADSTS code ("AADSTS7000215: Invalid client secret provided. ..."), trimmed.
func aadDescription(s, code string) string {
	i := strings.Index(s, code)
	if i < 0 {
		return ""
	}
	t := s[i:]
	for _, sep := range []string{`\r\n`, "\r\n", "\n", `","`, `"`} {
		if j := strings.Index(t, sep); j > 0 {
			t = t[:j]
		}
	}
	if len(t) > 300 {
		t = t[:300] + "..."
	}
	return t
}

// tokenError classifies a failed token request.
func tokenError(credName string, err error, secrets []string) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return newError(CodeToken, results.M("az_token_interrupted", credName, err.Error()))
	}
	s := err.Error()
	if c := aadCode(s); c != "" {
		desc := results.Mask(aadDescription(s, c), secrets)
		code := c
		if _, ok := results.Lookup(c); !ok {
			code = CodeToken
		}
		return newError(code, results.M("az_token_refused", credName, desc))
	}
	line := strings.TrimSpace(strings.SplitN(s, "\n", 2)[0])
	if len(line) > 300 {
		line = line[:300] + "..."
	}
	return newError(CodeToken, results.M("az_no_token", credName, results.Mask(line, secrets)))
}

// armError classifies a failed Resource Manager call; what names the call
// (an az_what_* message).
func armError(what results.Msg, err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae // the token, not the call, failed
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		code := CodeCheckFailed
		switch {
		case strings.EqualFold(re.ErrorCode, "AuthorizationFailed"):
			code = CodeAuthzFailed
		case strings.EqualFold(re.ErrorCode, "SubscriptionNotFound"), strings.EqualFold(re.ErrorCode, "InvalidAuthenticationTokenTenant"):
			code = CodeSubNotFound
		case strings.EqualFold(re.ErrorCode, "ResourceGroupNotFound"):
			code = CodeRGNotFound
		case re.StatusCode == http.StatusTooManyRequests:
			code = CodeThrottled
		}
		return newError(code, results.M("az_arm_answered", strconv.Itoa(re.StatusCode), re.ErrorCode).With(what))
	}
	line := strings.TrimSpace(strings.SplitN(err.Error(), "\n", 2)[0])
	return newError(CodeCheckFailed, results.M("az_arm_failed", line).With(what))
}

// resolveMsg is why a secret reference does not resolve (an
// inventory.ResolveError), as the report's secret_* message; any other error
// as its text.
func resolveMsg(err error) results.Msg {
	re, ok := err.(*inventory.ResolveError)
	if !ok {
		return results.M(results.MsgText, err.Error())
	}
	args := re.Args
	if re.Err != nil {
		args = append(append([]string(nil), args...), re.Err.Error())
	}
	return said(results.M("secret_"+re.Reason, args...), err.Error())
}

// said is m when its English is text, else text as it is.
func said(m results.Msg, text string) results.Msg {
	if m.Text("en") == text {
		return m
	}
	return results.M(results.MsgText, text)
}
