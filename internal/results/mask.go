package results

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf16"
	"unicode/utf8"
)

// MaskToken replaces every secret Mask finds.
const MaskToken = "***"

// Mask replaces every occurrence of each non-empty secret in s with MaskToken,
// including the forms a secret takes when a tool URL-encodes it, escapes it in
// JSON, or quotes it for sh or PowerShell. Replacing never leaves a secret behind
// (it repeats until none is found), unless the secret is made only of '*'.
// It works out every form of every secret on each call: to mask many strings
// with the same secrets, build a Masker once.
func Mask(s string, secrets []string) string {
	return NewMasker(secrets).Mask(s)
}

// Masker masks a set of secrets; the forms of each secret are computed once,
// so masking a line costs a few substring searches. Secrets may be added while
// it is in use (Add: access tokens minted during a run). Safe for concurrent
// use; the zero value and nil mask nothing.
type Masker struct {
	set atomic.Pointer[maskSet] // nil: nothing to mask
	mu  sync.Mutex              // serialises Add
}

// maskSet is one immutable generation of a Masker's secrets.
type maskSet struct {
	secrets map[string]bool
	forms   []string // longest first
	maxLen  int      // length of the longest form
}

// NewMasker returns a Masker for secrets (empty ones are ignored).
func NewMasker(secrets []string) *Masker {
	m := &Masker{}
	m.Add(secrets...)
	return m
}

// Add makes m mask secrets too (empty ones and ones it masks already are
// ignored). Masking that runs at the same time sees the secrets before or after.
func (m *Masker) Add(secrets ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.set.Load()
	var fresh []string
	for _, sec := range secrets {
		if sec != "" && (old == nil || !old.secrets[sec]) && !slices.Contains(fresh, sec) {
			fresh = append(fresh, sec)
		}
	}
	if len(fresh) == 0 {
		return
	}
	next := &maskSet{secrets: map[string]bool{}, forms: maskForms(fresh)}
	if old != nil {
		for sec := range old.secrets {
			next.secrets[sec] = true
		}
		next.forms = mergeForms(old.forms, next.forms)
	}
	for _, sec := range fresh {
		next.secrets[sec] = true
	}
	if len(next.forms) > 0 {
		next.maxLen = len(next.forms[0])
	}
	m.set.Store(next)
}

// mergeForms joins two longest-first form lists into one without duplicates.
func mergeForms(a, b []string) []string {
	seen := make(map[string]bool, len(a)+len(b))
	out := make([]string, 0, len(a)+len(b))
	for _, f := range append(slices.Clone(a), b...) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(x, y string) int { return cmp.Compare(len(y), len(x)) })
	return out
}

func (m *Masker) load() *maskSet {
	if m == nil {
		return nil
	}
	if s := m.set.Load(); s != nil && len(s.forms) > 0 {
		return s
	}
	return nil
}

// Mask is Mask(s, secrets) for the Masker's secrets.
func (m *Masker) Mask(s string) string {
	set := m.load()
	if set == nil {
		return s
	}
	// Each pass removes at least one non-'*' byte (every form has one), so the
	// loop ends; it runs more than once only when replacements form new matches.
	for range len(s) + 1 {
		found := false
		for _, f := range set.forms {
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

// Cut says where a long piece of text that continues beyond s (a line still
// arriving) may be cut, so that masking s[:i] now and s[i:] with what follows
// later hides every secret: i leaves at least the longest form's length minus
// one byte behind (a secret that has only begun), and no occurrence of a secret
// spans it. i is in [0, len(s)]; len(s) when there is nothing to mask.
func (m *Masker) Cut(s string) int {
	set := m.load()
	if set == nil {
		return len(s)
	}
	i := len(s) - (set.maxLen - 1)
	if i <= 0 {
		return 0
	}
	// Every occurrence starting before i ends within s, so it can be seen whole;
	// move i back to the start of any that spans it, until none does.
	for moved := true; moved && i > 0; {
		moved = false
		for _, f := range set.forms {
			lo := max(i-len(f)+1, 0)
			hi := min(i+len(f)-1, len(s))
			if k := strings.Index(s[lo:hi], f); k >= 0 && lo+k < i {
				i, moved = lo+k, true
			}
		}
	}
	return i
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
		add(strings.ToUpper(sec))
		add(strings.ToLower(sec))
		// Encodings a wrapper or a debug dump may print: hex, and base64 of the
		// bytes or of UTF-16LE (PowerShell's -EncodedCommand), wherever the
		// secret sits in the encoded stream.
		for _, f := range encodedForms(sec) {
			add(f)
		}
	}
	slices.SortStableFunc(forms, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return forms
}

// minEncodedForm is the shortest encoded form worth masking: shorter cores of
// short secrets would mask innocent text.
const minEncodedForm = 8

// encodedForms returns sec in hex (both cases) and the parts of its base64
// (standard and URL alphabets, of its bytes and of UTF-16LE) that are the same
// wherever it starts in a longer encoded stream: base64 turns 3 bytes into 4
// characters, so each of the 3 alignments has its own stable core.
func encodedForms(sec string) []string {
	out := []string{hex.EncodeToString([]byte(sec)), strings.ToUpper(hex.EncodeToString([]byte(sec)))}
	u := utf16.Encode([]rune(sec))
	wide := make([]byte, 2*len(u))
	for i, c := range u {
		wide[2*i], wide[2*i+1] = byte(c), byte(c>>8)
	}
	for _, raw := range [][]byte{[]byte(sec), wide} {
		for pad := range 3 {
			in := append(make([]byte, pad), raw...)
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
				s := strings.TrimRight(enc.EncodeToString(in), "=")
				// Characters touching the padding bytes or the unknown next bytes vary.
				start := (pad*8 + 5) / 6
				end := len(in) * 8 / 6
				if end-start >= minEncodedForm {
					out = append(out, s[start:end])
				}
			}
		}
	}
	return out
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
