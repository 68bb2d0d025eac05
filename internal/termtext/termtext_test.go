package termtext

import (
	"strings"
	"testing"
)

func TestElideMiddle(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"a-long-run-id-without-slashes-in-it-at-all", 30, "a-long-run-…ashes-in-it-at-all"},
		{"åäöåäöåäöå", 5, "å…äöå"},
		{"abc", 1, "…"},
	} {
		got := ElideMiddle(tc.in, tc.max)
		if got != tc.want || Len(got) > max(tc.max, 1) {
			t.Errorf("ElideMiddle(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestWrapKeepsEveryWord(t *testing.T) {
	s := "host key for 127.0.0.1:2222 is not in /root/.ssh/known_hosts; fix: ssh-keyscan -p 2222 127.0.0.1 >> /root/.ssh/known_hosts after checking the fingerprint"
	for _, w := range []int{1, 5, 12, 30, 200} {
		lines := Wrap(s, w)
		for _, l := range lines {
			if Len(l) > w {
				t.Errorf("width %d: line %q is longer", w, l)
			}
		}
		if strings.ReplaceAll(strings.Join(lines, ""), " ", "") != strings.ReplaceAll(s, " ", "") {
			t.Errorf("width %d: text lost:\n%q", w, lines)
		}
	}
}

func TestTableFits(t *testing.T) {
	tab := &Table{
		Head:   []string{"HOST", "OS", "LOG", "FIX"},
		Modes:  []Mode{Keep, Keep, Elide, Wrapped},
		Mins:   []int{0, 0, 20, 0},
		Indent: "  ",
		Rows: [][]string{
			{"web01", "linux", "runs/2026-12-04T19-00-00Z-connect/hosts/web01/attempt-2.log", "verify the key out of band and add it to known_hosts (ssh-keyscan), or use accept-new"},
			{"db01", "windows", "runs/x/hosts/db01/attempt-1.log", "none"},
		},
	}
	var b strings.Builder
	if err := tab.Render(&b, 70); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if Len(l) > 70 {
			t.Errorf("line longer than 70: %q", l)
		}
	}
	// The fix is whole (wrapped), the path elided in its middle, the end kept.
	flat := strings.Join(strings.Fields(out), " ")
	for _, w := range strings.Fields("verify the key out of band and add it to known_hosts (ssh-keyscan), or use accept-new") {
		if !strings.Contains(flat, w) {
			t.Errorf("the fix lost %q:\n%s", w, out)
		}
	}
	if !strings.Contains(out, "…") || !strings.Contains(out, "attempt-2.log") {
		t.Errorf("the long path is not elided in the middle:\n%s", out)
	}
	// Wide enough: nothing changes.
	b.Reset()
	tab.Render(&b, 500)
	if strings.Contains(b.String(), "…") || strings.Count(b.String(), "\n") != 3 {
		t.Errorf("a table that fits was changed:\n%s", b.String())
	}
}

func TestElidePath(t *testing.T) {
	p := "runs/2026-12-04T19-00-00Z-connect/hosts/web01/attempt-2.log"
	for _, tc := range []struct {
		max  int
		want string
	}{
		{40, "runs/…/hosts/web01/attempt-2.log"},
		{26, "runs/…/web01/attempt-2.log"},
		{20, "runs/…/attempt-2.log"},
		{16, "…/attempt-2.log"},
		{10, "run…-2.log"},
	} {
		if got := ElideMiddle(p, tc.max); got != tc.want || Len(got) > tc.max {
			t.Errorf("ElideMiddle(path, %d) = %q, want %q", tc.max, got, tc.want)
		}
	}
}
