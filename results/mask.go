package results

import (
	"bytes"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

// MaskToken replaces every secret Mask finds.
const MaskToken = "***"

// Mask replaces every occurrence of each non-empty secret in s with MaskToken,
// including the forms a secret takes when a tool URL-encodes it, escapes it in
// JSON, or quotes it for sh or PowerShell. Replacing never leaves a secret behind
// (it repeats until none is found), unless the secret is made only of '*'.
func Mask(s string, secrets []string) string {
	forms := maskForms(secrets)
	if len(forms) == 0 {
		return s
	}
	// Each pass removes at least one non-'*' byte (every form has one), so the
	// loop ends; it runs more than once only when replacements form new matches.
	for range len(s) + 1 {
		found := false
		for _, f := range forms {
			if strings.Contains(s, f) {
				s = strings.ReplaceAll(s, f, MaskToken)
				found = true
			}
		}
		if !found {
			break
		}
	}
	return s
}

// maskForms returns every spelling of the secrets to look for, longest first so a
// longer escaped form is replaced before a shorter form can split it.
func maskForms(secrets []string) []string {
	seen := map[string]bool{}
	var forms []string
	add := func(f string) {
		if f == "" || seen[f] || strings.Trim(f, "*") == "" {
			return
		}
		seen[f] = true
		forms = append(forms, f)
	}
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		add(sec)
		add(strings.ToValidUTF8(sec, "\uFFFD"))
		q := url.QueryEscape(sec)
		add(q)
		add(lowerHexEscapes(q))
		p := url.PathEscape(sec)
		add(p)
		add(lowerHexEscapes(p))
		add(jsonEscape(sec, true))
		add(jsonEscape(sec, false))
		add(strings.ReplaceAll(sec, `'`, `'\''`)) // sh single quotes
		add(strings.ReplaceAll(sec, `'`, `''`))   // PowerShell single quotes
	}
	sort.SliceStable(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	return forms
}

// jsonEscape is sec as it appears inside a JSON string, without the quotes.
func jsonEscape(sec string, escapeHTML bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(sec); err != nil {
		return ""
	}
	out := strings.TrimSuffix(b.String(), "\n")
	if len(out) < 2 {
		return ""
	}
	return out[1 : len(out)-1]
}

// lowerHexEscapes turns "%2F" into "%2f": some encoders write lower-case hex.
func lowerHexEscapes(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			for k := i + 1; k <= i+2; k++ {
				if b[k] >= 'A' && b[k] <= 'F' {
					b[k] += 'a' - 'A'
				}
			}
		}
	}
	return string(b)
}

// truncateLine cuts s to at most n bytes on a rune boundary, marking the cut.
func truncateLine(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + " [...]"
}
