package transport

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// Every hint and phrase says its arguments where its template has them, and
// WithHint and Phrase keep the key and arguments with the English.
func TestHintTexts(t *testing.T) {
	ph := regexp.MustCompile(`\{[0-9]\}`)
	for _, k := range HintKeys() {
		tpl := hintTexts[k]
		n := len(ph.FindAllString(tpl, -1))
		args := make([]string, 10)
		for i := range args {
			args[i] = "<A" + string(rune('0'+i)) + ">"
		}
		got := HintText(k, args...)
		if ph.MatchString(got) || strings.TrimSpace(got) == "" {
			t.Errorf("%s: %q", k, got)
		}
		for i := range n {
			if !strings.Contains(got, args[i]) && strings.Contains(tpl, "{"+string(rune('0'+i))+"}") {
				t.Errorf("%s: argument %d missing in %q", k, i, got)
			}
		}
	}
	if got := HintText(HintWinRMAuthBasic); !strings.Contains(got, `@{Basic="true"}`) {
		t.Errorf("a brace that is no placeholder: %q", got)
	}
	if HintText("no-such-hint") != "" {
		t.Error("unknown key has text")
	}
	e := (&Error{Kind: Unreachable, Host: "h", Op: "dial", Err: errors.New("connection refused")}).WithHint(HintRefused, "10.0.0.1:22")
	if got, want := e.Error(), "h: dial: unreachable: connection refused (nothing listens on 10.0.0.1:22: is sshd running there, and is the port right?)"; got != want {
		t.Errorf("%q\nwant %q", got, want)
	}
	if e.HintKey != HintRefused || len(e.HintArgs) != 1 {
		t.Errorf("key %q args %q", e.HintKey, e.HintArgs)
	}
	inner := errors.New("EOF")
	p := NewPhrase(ErrConnLost, inner, inner.Error())
	if p.Error() != "connection lost: EOF" || !errors.Is(p, inner) {
		t.Errorf("phrase %q", p)
	}
}
