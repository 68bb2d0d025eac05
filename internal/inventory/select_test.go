package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const selSrc = `version: 1
groups:
  web: {}
  db: {}
  empty: {}
  win: {os: windows}
hosts:
  - {name: web01, groups: [web], tags: {env: prod}}
  - {name: web02, groups: [web], tags: {env: dev}}
  - {name: db01, groups: [db], tags: {env: prod, backup: daily}}
  - {name: w01, groups: [win]}
  - {name: w02, groups: [win, web], tags: {env: prod}}
`

func names(hs []*Host) string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Name
	}
	return strings.Join(out, ",")
}

func TestSelect(t *testing.T) {
	inv := mustParse(t, selSrc)
	dir := t.TempDir()
	list := filepath.Join(dir, "retry.txt")
	if err := os.WriteFile(list, []byte("# failed last run\nweb02\n\n  db01   # the database\ngroup:win\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("web01\nweb9\n@other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		expr, want, wantErr string
	}{
		{"", "web01,web02,db01,w01,w02", ""},
		{"  ", "web01,web02,db01,w01,w02", ""},
		{"web01", "web01", ""},
		{"db01,web01", "web01,db01", ""}, // file order, not expression order
		{"web*", "web01,web02", ""},
		{"w0?", "w01,w02", ""},
		{"web0[2-9]", "web02", ""},
		{"group:web", "web01,web02,w02", ""},
		{"group:web,!os:windows", "web01,web02", ""},
		{"!group:web", "db01,w01", ""},
		{"tag:env=prod", "web01,db01,w02", ""},
		{"tag:backup", "db01", ""},
		{"tag:env=prod,!web*", "db01,w02", ""},
		{"os:windows", "w01,w02", ""},
		{"os:linux", "web01,web02,db01", ""},
		{"web01, web02 ,", "web01,web02", ""},
		{"@" + list, "web02,db01,w01,w02", ""},
		{"group:web,!@" + list, "web01", ""},
		{"web9", "", `--limit item "web9": no host named "web9" in inv.yaml (did you mean "web01"?)`},
		{"zzz", "", `--limit item "zzz": no host named "zzz" in inv.yaml`},
		{"group:wbe", "", `--limit item "group:wbe": no group named "wbe" (did you mean "web"?)`},
		{"group:empty", "", `--limit item "group:empty": matches no host`},
		{"app*", "", `--limit item "app*": matches no host`},
		{"web[", "", `--limit item "web[": malformed glob pattern`},
		{"tag:env=test", "", `--limit item "tag:env=test": matches no host`},
		{"os:solaris", "", `--limit item "os:solaris": os must be linux or windows`},
		{"role:web", "", `--limit item "role:web": unknown selector "role:" (use group:, tag: or os:)`},
		{"group:", "", `--limit item "group:": empty group`},
		{"!", "", `--limit item "!": nothing after !`},
		{"web01,!web01", "", `--limit "web01,!web01" selects no host`},
		{"web9,group:nope", "", "--limit item \"web9\": no host named \"web9\" in inv.yaml (did you mean \"web01\"?)\n--limit item \"group:nope\": no group named \"nope\""},
		{"@" + filepath.Join(dir, "missing"), "", `--limit item "@` + filepath.Join(dir, "missing") + `": cannot read ` + filepath.Join(dir, "missing") + `: no such file or directory`},
		{"@" + bad, "", bad + ":3: --limit item \"@other\": a list file cannot include another\n" + bad + `:2: --limit item "web9": no host named "web9" in inv.yaml (did you mean "web01"?)`},
	}
	for _, tt := range tests {
		got, err := inv.Select(tt.expr)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Select(%q) error =\n  %v\nwant\n  %s", tt.expr, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Select(%q): %v", tt.expr, err)
			continue
		}
		if names(got) != tt.want {
			t.Errorf("Select(%q) = %s, want %s", tt.expr, names(got), tt.want)
		}
		for _, h := range got { // pointers into inv.Hosts, not copies
			if inv.Host(h.Name) != h {
				t.Errorf("Select(%q): %s is not a pointer into inv.Hosts", tt.expr, h.Name)
			}
		}
	}
}

// Many unknown names from a list file: errors are capped, suggestions kept cheap.
func TestSelectManyUnknown(t *testing.T) {
	inv := mustParse(t, selSrc)
	p := filepath.Join(t.TempDir(), "list")
	var b strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, "ghost%03d\n", i)
	}
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := inv.Select("@" + p)
	if err == nil {
		t.Fatal("unknown names accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxErrors+1 || lines[maxErrors] != "... and 150 more --limit errors" {
		t.Errorf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
	if !strings.HasPrefix(lines[0], p+`:1: --limit item "ghost000": no host named "ghost000" in inv.yaml`) {
		t.Errorf("first line %q", lines[0])
	}
}

// Select on a hand-built inventory (no parse source) still resolves names and groups.
func TestSelectHandBuilt(t *testing.T) {
	inv := &Inventory{File: "x", Hosts: []Host{{Name: "a", Groups: []string{"g"}}, {Name: "b"}}}
	if got, err := inv.Select("group:g,b"); err != nil || names(got) != "a,b" {
		t.Errorf("got %v, %v", names(got), err)
	}
	if _, err := inv.Select("group:h"); err == nil {
		t.Error("unknown group accepted")
	}
	if inv.Host("b") != &inv.Hosts[1] || inv.Host("c") != nil {
		t.Error("Host lookup")
	}
}
