package inventory

import (
	"strings"
	"testing"
)

// A bare --limit word that names no host but a group, tag or OS says which item
// it may have meant; a near miss of a host name still suggests the host.
func TestSelectKindHint(t *testing.T) {
	inv := mustParse(t, selSrc)
	for _, c := range []struct{ expr, want string }{
		{"web", "(did you mean group:web?)"},
		{"empty", "(did you mean group:empty?)"}, // a defined group without hosts
		{"backup", "(did you mean tag:backup?)"},
		{"daily", "(did you mean tag:backup=daily?)"},
		{"prod", "(did you mean tag:env=prod?)"},
		{"windows", "(did you mean os:windows?)"},
		{"web1", `(did you mean "web01"?)`},
	} {
		_, err := inv.Select(c.expr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Select(%q): %v, want %s", c.expr, err, c.want)
		}
	}
	if _, err := inv.Select("zzz"); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("Select(zzz): %v, want no hint", err)
	}
}
