package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The bash completion script, sourced by bash with the arcfleet binary on
// PATH, completes what a user types: bash runs the completion function as on
// <TAB> and the words it puts in COMPREPLY are checked.
func TestBashCompletionEndToEnd(t *testing.T) {
	bin := buildArcfleet(t)
	script := filepath.Join(t.TempDir(), "arcfleet.bash")
	out, err := exec.Command(bin, "completion", "bash").Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, out, 0o644); err != nil {
		t.Fatal(err)
	}
	// cobra's script takes the words from bash-completion's _get_comp_words_by_ref
	// (Debian's bash-completion package, which interactive shells load); without
	// the package a stand-in sets the same four variables from COMP_WORDS.
	prelude := "source /usr/share/bash-completion/bash_completion\n"
	if _, err := os.Stat("/usr/share/bash-completion/bash_completion"); err != nil {
		prelude = `_get_comp_words_by_ref() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }` + "\n"
	}
	complete := func(line string) []string {
		t.Helper()
		// COMP_WORDS as bash splits the line; an ending space starts an empty word.
		words := strings.Fields(line)
		if strings.HasSuffix(line, " ") {
			words = append(words, "")
		}
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + w + "'"
		}
		prog := prelude + "source " + script + "\n" +
			"COMP_WORDS=(" + strings.Join(quoted, " ") + ")\n" +
			"COMP_CWORD=" + strconv.Itoa(len(words)-1) + "\n" +
			"COMP_LINE='" + line + "'\nCOMP_POINT=${#COMP_LINE}\nCOMP_TYPE=9\n" +
			"__start_arcfleet 2>/dev/null\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		cmd := exec.Command("bash", "--norc", "--noprofile", "-c", prog)
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("bash completing %q: %v", line, err)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				got = append(got, l)
			}
		}
		return got
	}
	for _, c := range []struct {
		line string
		want []string
	}{
		{"arcfleet ap", []string{"apply"}},
		{"arcfleet apply --li", []string{"--limit", "--list-hosts"}},
		{"arcfleet apply --lim", []string{"--limit"}},
		{"arcfleet apply --action re", []string{"reconnect"}},
		{"arcfleet report --format j", []string{"json", "junit"}},
	} {
		if got := complete(c.line); !slices.Equal(got, c.want) {
			t.Errorf("%s<TAB>: %q, want %q", c.line, got, c.want)
		}
	}
}
