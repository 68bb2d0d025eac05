package results

import (
	"strings"
	"testing"
)

// sharedByCredential is every credential-class code and what the hosts using
// one service principal share that it blames. The circuit breaker stops a
// fleet on this class, so a code joins it only with such a cause: a new
// credential-class entry fails this test until it is listed here.
var sharedByCredential = map[string]string{
	"AZCM0012":                              "token",
	"AZCM0041":                              "secret, client id or tenant",
	"AZCM0042":                              "role or provider registration",
	"ARM-AUTHORIZATION-FAILED":              "role",
	"ARM-MISSING-SUBSCRIPTION-REGISTRATION": "provider registration",
	"MSG-MISSING-ROLE":                      "role",
	"MSG-PROVIDER-NOT-REGISTERED":           "provider registration",
	"MSG-INVALID-CLIENT-SECRET":             "secret",
	"MSG-APP-NOT-FOUND":                     "client id or tenant",
	"AADSTS7000215":                         "secret",
	"AADSTS7000222":                         "secret",
	"AADSTS700016":                          "client id or tenant",
	"AADSTS90002":                           "tenant",
	"AADSTS700027":                          "certificate",
	"ARCF-AZURE-TOKEN":                      "the controller's token for the credential",
	"ARCF-BREAKER-OPEN":                     "the breaker's own verdict on the credential",
}

func TestClassRulesCredentialIsShared(t *testing.T) {
	for _, e := range Catalog() {
		if e.Class == ClassCredential && sharedByCredential[e.Code] == "" {
			t.Errorf("%s is class credential but names no cause shared by the credential", e.Code)
		}
	}
	for code := range sharedByCredential {
		if ClassOf(code) != ClassCredential {
			t.Errorf("%s: class %q, listed as shared by the credential", code, ClassOf(code))
		}
	}
	// The host's own network, TLS, proxy and DNS are never the credential's.
	for _, p := range msgPatterns {
		if p.network && ClassOf(p.key) == ClassCredential {
			t.Errorf("network message %s is class credential", p.key)
		}
		if p.weak && ClassOf(p.key) != ClassCredential {
			t.Errorf("%s: weak is meant for credential-class matches", p.key)
		}
	}
	for _, k := range []string{"MSG-TLS-INSPECTION", "MSG-DNS-LOOKUP-FAILED", "MSG-PROXY-UNREACHABLE", "MSG-ENDPOINTS-UNREACHABLE",
		"MSG-ARM-FORBIDDEN", "MSG-SPN-TOKEN-FORBIDDEN", "MSG-DEVICE-CODE-FORBIDDEN", "MSG-DEVICE-CODE-UNREACHABLE"} {
		if c := ClassOf(k); c != ClassHost {
			t.Errorf("%s: class %q, want host", k, c)
		}
	}
	// Input errors are never retried, whatever the evidence says of the resource.
	for _, e := range Catalog() {
		if e.Class == ClassInput && (e.Remedy(false) != RemedyNone || e.Remedy(true) != RemedyNone) {
			t.Errorf("input error %s has remedy %s / %s", e.Code, e.Remedy(false), e.Remedy(true))
		}
	}
}

// Real lines (from the cases in testdata/classify) combined to test the class rules.
const (
	lineX509       = `time="2020-10-20T15:23:24-06:00" level=error msg="x509: certificate signed by unknown authority. Failed to Tls dialing agentserviceapi.guestconfiguration.azure.com"`
	line403        = `time="2020-10-20T15:25:51-06:00" level=error msg="Failed to AzcmagentConnect ARM resource" Error="Get Resource Failed with Status Code: 403"`
	lineNoSuchHost = `FATAL[0000] Failed to acquire authorization token device flow: Error occurred while sending request for Device Authorization Code: Post https://login.windows.net/fb84ce97-b875-4d12-b031-ef5e7edf9c8e/oauth2/devicecode?api-version=1.0:  dial tcp lookup login.windows.net: no such host.`
	lineProxy      = `time="2023-09-21T07:16:10Z" level=error msg="Regional Service Discovery" Error="Get \"https://gbl.his.arc.azure.com/discovery?location=westus3&api-version=2.1\": proxyconnect tcp: dial tcp [::1]:8888: connectex: No connection could be made because the target machine actively refused it."`
	lineAADSTS     = `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID`
	lineAuthzJSON  = `ERROR[0002] Failed to AzcmagentConnect ARM resource Error="Code: AuthorizationFailed httpStatusCode:403 The client '1b2c' with object id '1b2c' does not have authorization to perform action 'Microsoft.HybridCompute/machines/write' over scope '/subscriptions/x/resourcegroups/rg'"`
	linePLS        = `time="2023-05-05T10:25:32+01:00" level=fatal msg="Private Link Scope resource ID must be provided as endpoint gbl.his.arc.azure.com is configured private"`
	lineLocked     = `FATAL   RequestCorrelationId:9da15c96-31b0-4b1d-9d6c-abdf8be29f57 Message: The scope '/subscriptions/368ac09c/resourceGroups/dcoffee-rg/providers/Microsoft.HybridCompute/machines/id-mc660-1' cannot perform delete operation because following scope(s) are locked: '/subscriptions/368ac09c/resourceGroups/dcoffee-rg/providers/Microsoft.HybridCompute/machines/id-mc660-1'. Please remove the lock and try again. Code: ScopeLocked httpStatusCode:409`
	lineNotFound   = `FATAL   RequestCorrelationId:1 Message: The Resource 'Microsoft.HybridCompute/machines/web01' under resource group 'rg' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix Code: ResourceNotFound httpStatusCode:404`
	lineRPDebug    = `time="2022-09-30T10:04:15Z" level=debug msg="Failed to register resource provider 'Microsoft.HybridCompute'. Error: POST https://management.azure.com/subscriptions/4f9e31f7/providers/Microsoft.HybridCompute/register\n--------------------------------------------------------------------------------\nRESPONSE 403: 403 Forbidden\nERROR CODE: AuthorizationFailed"`
	lineReserved   = `level=fatal Message: The resource name 'Exchange' or a part of the name is a trademarked or reserved word. Code: ReservedResourceName httpStatusCode:400 "`
	lineNotRoot    = `You must be root to execute /usr/bin/azcmagent`
)

func TestClassifyClassRules(t *testing.T) {
	tests := []struct {
		name  string
		exit  int
		lines []string
		want  string
		class Class
		check func(t *testing.T, d Diagnosis)
	}{
		{"TLS inspection beats a credential exit code", 42, []string{lineX509, line403}, "MSG-TLS-INSPECTION", ClassHost, nil},
		{"TLS inspection beats AZCM0041", 41, []string{lineX509, "AZCM0041: Invalid Credentials"}, "MSG-TLS-INSPECTION", ClassHost, nil},
		{"TLS inspection, old agent", 1, []string{lineX509, line403}, "MSG-TLS-INSPECTION", ClassHost, nil},
		{"DNS beats a credential exit code", 41, []string{lineNoSuchHost}, "MSG-DNS-LOOKUP-FAILED", ClassHost, nil},
		{"proxy beats a credential exit code", 42, []string{lineProxy}, "MSG-PROXY-UNREACHABLE", ClassHost, nil},
		{"a bare 403 alone stays a credential failure", 42, []string{line403}, "AZCM0042", ClassCredential, nil},
		{"a bare 403 alone, old agent", 1, []string{line403}, "ARM-AUTHORIZATION-FAILED", ClassCredential, nil},
		{"Entra ID's own words beat TLS", 41, []string{lineX509, lineAADSTS}, "AZCM0041", ClassCredential, nil},
		{"Entra ID's own words beat TLS, old agent", 1, []string{lineX509, lineAADSTS}, "AADSTS7000215", ClassCredential, nil},
		{"ARM's own AuthorizationFailed beats TLS", 42, []string{lineX509, lineAuthzJSON}, "AZCM0042", ClassCredential, nil},
		{"Private Link Scope missing is input", 26, []string{"INFO    Exit Code:  AZCM0026: Network Error", linePLS}, "MSG-PRIVATE-LINK-SCOPE-REQUIRED", ClassInput,
			func(t *testing.T, d Diagnosis) {
				if RemedyOf(d.Code, d.ResourceCreated) != RemedyNone || !d.Has("AZCM0026") {
					t.Errorf("remedy %s, related %v", RemedyOf(d.Code, d.ResourceCreated), d.Related)
				}
			}},
		{"delete lock", 43, []string{"INFO    Exit Code:  AZCM0043: Failed to Delete Resource", lineLocked}, "ARM-SCOPE-LOCKED", ClassAction,
			func(t *testing.T, d Diagnosis) {
				if !d.DeleteRefused || d.ResourceGone || !d.Has("AZCM0043") {
					t.Errorf("delete refused %v, gone %v, related %v", d.DeleteRefused, d.ResourceGone, d.Related)
				}
			}},
		{"delete denied", 43, []string{lineAuthzJSON}, "ARM-AUTHORIZATION-FAILED", ClassCredential,
			func(t *testing.T, d Diagnosis) {
				if !d.DeleteRefused || !d.Has("AZCM0043") {
					t.Errorf("delete refused %v, related %v", d.DeleteRefused, d.Related)
				}
			}},
		{"resource already gone", 43, []string{"INFO    Exit Code:  AZCM0043: Failed to Delete Resource", lineNotFound}, "AZCM0043", ClassAction,
			func(t *testing.T, d Diagnosis) {
				if d.DeleteRefused || !d.ResourceGone {
					t.Errorf("delete refused %v, gone %v", d.DeleteRefused, d.ResourceGone)
				}
			}},
		{"a connect's 404 says nothing about a delete", 62, []string{lineNotFound}, "AZCM0062", ClassAction,
			func(t *testing.T, d Diagnosis) {
				if d.ResourceGone || d.DeleteRefused {
					t.Errorf("delete refused %v, gone %v", d.DeleteRefused, d.ResourceGone)
				}
			}},
		{"resource-provider registration 403 is benign", 1, []string{lineRPDebug}, "AZCM0001", ClassSupport, nil},
		{"reserved name is input, not credential", 42, []string{"Exit Code: AZCM0042: Failed To Create Resource", lineReserved}, "ARM-RESERVED-RESOURCE-NAME", ClassInput, nil},
		{"not root", 1, []string{lineNotRoot}, "AZCM0018", ClassHost, nil},
		{"no such host with AZCM0081: the profile is gone", 81, []string{lineNoSuchHost, "AZCM0081: Failed To Download Managed Identity Certificate"}, "AZCM0081", ClassAction,
			func(t *testing.T, d Diagnosis) {
				if len(d.Related) == 0 || d.Related[0] != gpoKey {
					t.Errorf("related %v, want %s first", d.Related, gpoKey)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Classify(Evidence{ExitCode: tt.exit, Stdout: strings.Join(tt.lines, "\n") + "\n"})
			if d.Code != tt.want || d.Class != tt.class {
				t.Fatalf("%s (%s), want %s (%s); related %v", d.Code, d.Class, tt.want, tt.class, d.Related)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}
