package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Tag limits of Azure Resource Manager.
const (
	maxTags        = 50
	maxTagName     = 512
	maxTagValue    = 256
	maxResourceLen = 54 // Microsoft.HybridCompute/machines name limit
)

// tag is one Name=Value pair in input order.
type tag struct{ name, value string }

// parseTags parses the agent's --tags syntax: Name=Value pairs separated by
// commas; a name or value holding spaces or commas is put in single quotes
// ("Name='a b',Other=c"). Errors explain the fix; they quote only tag names.
func parseTags(s string) ([]tag, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var tags []tag
	seen := map[string]bool{}
	i := 0
	// field reads a name or value up to one of the stop bytes, honouring single quotes.
	field := func(stop string) (string, bool, error) {
		if i < len(s) && s[i] == '\'' {
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return "", true, errors.New("a single quote is not closed")
			}
			v := s[i+1 : i+1+end]
			i += end + 2
			if i < len(s) && !strings.ContainsRune(stop, rune(s[i])) {
				return "", true, errors.New("text follows a closing single quote: quote the whole name or value")
			}
			return v, true, nil
		}
		start := i
		for i < len(s) && !strings.ContainsRune(stop, rune(s[i])) {
			switch s[i] {
			case '\'':
				return "", false, errors.New("a single quote may only start a name or value")
			case ' ', '\t', '\n', '\r':
				return "", false, errors.New("a name or value with spaces must be in single quotes: Name='a b'")
			}
			i++
		}
		return s[start:i], false, nil
	}
	for {
		name, _, err := field("=,")
		if err != nil {
			return nil, err
		}
		if i >= len(s) || s[i] != '=' {
			return nil, fmt.Errorf("tag %q has no value: write Name=Value (an empty value is Name=)", name)
		}
		i++ // '='
		value, _, err := field(",=")
		if err != nil {
			return nil, fmt.Errorf("tag %q: %w", name, err)
		}
		if i < len(s) && s[i] == '=' {
			return nil, fmt.Errorf("tag %q: the value holds '=': put it in single quotes", name)
		}
		if err := checkTag(name, value); err != nil {
			return nil, err
		}
		key := strings.ToLower(name)
		if seen[key] {
			return nil, fmt.Errorf("tag %q is given twice (tag names are case-insensitive)", name)
		}
		seen[key] = true
		tags = append(tags, tag{name, value})
		if len(tags) > maxTags {
			return nil, fmt.Errorf("more than %d tags: Azure allows at most %d per resource", maxTags, maxTags)
		}
		if i >= len(s) {
			return tags, nil
		}
		i++ // ','
		if i >= len(s) {
			return nil, errors.New("trailing comma: remove it or add a tag after it")
		}
	}
}

func checkTag(name, value string) error {
	switch {
	case name == "":
		return errors.New("a tag has an empty name: write Name=Value")
	case len(name) > maxTagName:
		return fmt.Errorf("tag name is longer than %d characters", maxTagName)
	case strings.ContainsAny(name, `<>%&\?/`):
		return fmt.Errorf("tag name %q holds one of < > %% & \\ ? /, which Azure refuses", name)
	case len(value) > maxTagValue:
		return fmt.Errorf("tag %q: value is longer than %d characters", name, maxTagValue)
	}
	return nil
}

// formatTags writes tags in the agent's syntax, quoting where needed, sorted by name
// (used for --config mappings, whose order YAML does not keep).
func formatTags(m map[string]string) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, quoteTag(n)+"="+quoteTag(m[n]))
	}
	return strings.Join(parts, ",")
}

func quoteTag(s string) string {
	if strings.ContainsAny(s, " \t\r\n,='") {
		return "'" + s + "'"
	}
	return s
}

// clouds maps lower-case names to the canonical cloud name.
var clouds = map[string]string{
	"azurecloud":        "AzureCloud",
	"azureusgovernment": "AzureUSGovernment",
	"azurechinacloud":   "AzureChinaCloud",
}

func canonicalCloud(s string) (string, bool) {
	if s == "" {
		return "AzureCloud", true
	}
	c, ok := clouds[strings.ToLower(s)]
	return c, ok
}

// isGUID reports whether s is 8-4-4-4-12 hex digits (braces not allowed).
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// checkResourceName applies the seed's rule for AZCM0017: letters, digits, '-'
// and '_', not ending in '-' or '_', at most 54 characters.
func checkResourceName(n string) error {
	if n == "" {
		return errors.New("the resource name is empty")
	}
	if len(n) > maxResourceLen {
		return fmt.Errorf("resource name %q is longer than %d characters", n, maxResourceLen)
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("resource name %q holds %q: use only letters, digits, '-' and '_'", n, r)
		}
	}
	if last := n[len(n)-1]; last == '-' || last == '_' {
		return fmt.Errorf("resource name %q ends with %q: it must end with a letter or digit", n, last)
	}
	return nil
}

// regionsByCloud lists the regions the simulator knows, by their programmatic names.
var regionsByCloud = map[string][]string{
	"AzureCloud": {
		"eastus", "eastus2", "centralus", "northcentralus", "southcentralus", "westcentralus",
		"westus", "westus2", "westus3", "canadacentral", "canadaeast", "brazilsouth", "mexicocentral",
		"northeurope", "westeurope", "uksouth", "ukwest", "francecentral", "germanywestcentral",
		"italynorth", "norwayeast", "polandcentral", "spaincentral", "swedencentral",
		"switzerlandnorth", "israelcentral", "qatarcentral", "uaenorth", "southafricanorth",
		"australiaeast", "australiasoutheast", "australiacentral", "centralindia", "southindia",
		"westindia", "eastasia", "southeastasia", "japaneast", "japanwest", "koreacentral",
		"koreasouth",
	},
	"AzureUSGovernment": {"usgovvirginia", "usgovarizona", "usgovtexas"},
	"AzureChinaCloud":   {"chinaeast", "chinaeast2", "chinaeast3", "chinanorth", "chinanorth2", "chinanorth3"},
}

// normalizeRegion turns "West Europe" into "westeurope" and reports whether it is
// a region of the cloud.
func normalizeRegion(loc, cloud string) (string, bool) {
	n := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(loc), " ", ""))
	for _, r := range regionsByCloud[cloud] {
		if r == n {
			return n, true
		}
	}
	return n, false
}

// looksLikeJWT is the simulator's AZCM0012 check: three base64url parts.
func looksLikeJWT(tok string) bool {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts[:2] {
		if p == "" {
			return false
		}
	}
	for _, p := range parts {
		for _, c := range p {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '=') {
				return false
			}
		}
	}
	return true
}

// checkToken is the simulator's check of --access-token, the agent's AZCM0012
// (seed: "access token invalid"): a JWT (three base64url parts) whose payload is
// JSON with an exp in the future. For an expired token the detail quotes what
// Azure Resource Manager answers a request with one (ExpiredAuthenticationToken,
// as quoted in github.com/Azure/azure-powershell issue 13504); no public page
// shows azcmagent's own output for an expired or malformed token, so the code
// is the seed's AZCM0012 and the wording the simulator's.
func checkToken(tok string, now time.Time) *simError {
	const fix = "get a new token, e.g. az account get-access-token"
	if !looksLikeJWT(tok) {
		return newErr(12, "the access token is not a JWT (three base64url parts separated by dots): "+fix)
	}
	exp, err := tokenExp(tok)
	if err != nil {
		return newErr(12, "the access token cannot be read ("+err.Error()+"): "+fix)
	}
	if !exp.After(now) {
		return newErr(12, fmt.Sprintf("Failed to get authorization token: ExpiredAuthenticationToken: The access token expiry UTC time '%s' is earlier than current UTC time '%s'. %s",
			armTime(exp), armTime(now), fix))
	}
	return nil
}

// tokenExp reads the exp claim (seconds since 1970) of a JWT's payload.
func tokenExp(tok string) (time.Time, error) {
	parts := strings.Split(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, errors.New("its payload is not base64url")
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return time.Time{}, errors.New("its payload is not JSON")
	}
	if claims.Exp == nil {
		return time.Time{}, errors.New("it has no exp claim")
	}
	sec, err := claims.Exp.Float64()
	if err != nil {
		return time.Time{}, errors.New("its exp claim is not a number")
	}
	return time.Unix(int64(sec), 0), nil
}

// armTime formats t as ARM's messages do: "12/13/2018 7:25:27 AM" (UTC).
func armTime(t time.Time) string { return t.UTC().Format("1/2/2006 3:04:05 PM") }
