package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/plan"
)

// completions asks cobra's hidden __complete command, as the shell scripts do,
// and returns the words offered (without descriptions and the directive line).
func completions(t *testing.T, args ...string) []string {
	t.Helper()
	code, out, _ := runCmd(t, nil, false, append([]string{"__complete"}, args...)...)
	if code != exitOK {
		t.Fatalf("__complete %q: exit %d", args, code)
	}
	var words []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, ":") || l == "" {
			continue
		}
		w, _, _ := strings.Cut(l, "\t")
		words = append(words, w)
	}
	return words
}

func TestCompletionWords(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"ap"}, []string{"apply"}},
		{[]string{"apply", "--li"}, []string{"--limit", "--list-hosts"}},
		{[]string{"apply", "--lim"}, []string{"--limit"}},
		{[]string{"plan", "--inv"}, []string{"--inventory"}},
		{[]string{"validate", "--lo"}, []string{"--log-format"}},
		{[]string{"apply", "--action", ""}, []string{"connect", "disconnect", "reconnect", "install", "upgrade"}},
		{[]string{"apply", "--action", "dis"}, []string{"disconnect"}},
		{[]string{"report", "--format", "h"}, []string{"html"}},
		{[]string{"report", "m"}, []string{"merge"}},
		{[]string{"completion", "b"}, []string{"bash"}},
		{[]string{"inventory", "im"}, []string{"import"}},
		{[]string{"inventory", "import", "a"}, []string{"ansible"}},
	} {
		if got := completions(t, c.args...); !slices.Equal(got, c.want) {
			t.Errorf("complete %q: %q, want %q", c.args, got, c.want)
		}
	}
	// Positional arguments: a saved plan, a run directory, nothing.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"apply", ""}, ":8"},   // ShellCompDirectiveFilterFileExt (json)
		{[]string{"resume", ""}, ":16"}, // ShellCompDirectiveFilterDirs
		{[]string{"man", ""}, ":16"},
		{[]string{"plan", ""}, ":4"},                           // ShellCompDirectiveNoFileComp
		{[]string{"inventory", "import", "ansible", ""}, ":0"}, // ShellCompDirectiveDefault: files
	} {
		_, out, _ := runCmd(t, nil, false, append([]string{"__complete"}, c.args...)...)
		if !strings.HasSuffix(strings.TrimSpace(out), "\n"+c.want) && strings.TrimSpace(out) != c.want {
			t.Errorf("complete %q: %q, want directive %s", c.args, out, c.want)
		}
	}
	// codes completes the catalog's codes.
	if got := completions(t, "codes", "AZCM004"); !slices.Contains(got, "AZCM0041") || slices.Contains(got, "AZCM0062") {
		t.Errorf("complete codes AZCM004: %q", got)
	}
	// Every command is offered.
	got := completions(t, "")
	for name := range commands() {
		if !slices.Contains(got, name) {
			t.Errorf("complete '': %q lacks %s", got, name)
		}
	}
}

// The completion scripts are printed on stdout; bash accepts its script.
func TestCompletionScripts(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		code, out, errs := runCmd(t, nil, false, "completion", sh)
		if code != exitOK || !strings.Contains(out, "arcfleet") || len(out) < 500 || errs != "" {
			t.Errorf("completion %s: exit %d, %d bytes, stderr %q", sh, code, len(out), errs)
		}
		if sh != "bash" {
			continue
		}
		f := filepath.Join(t.TempDir(), "arcfleet.bash")
		if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, err := exec.Command("bash", "-n", f).CombinedOutput(); err != nil {
			t.Errorf("bash -n rejects the completion script: %v\n%s", err, b)
		}
		// Sourcing it defines the completion for arcfleet.
		b, err := exec.Command("bash", "-c", "source "+f+" && complete -p arcfleet").CombinedOutput()
		if err != nil || !strings.Contains(string(b), "arcfleet") {
			t.Errorf("sourcing the script: %v\n%s", err, b)
		}
	}
}

// arcfleet man DIR writes one page per command, each a well-formed man(7)
// page that man(1) renders without warnings.
func TestManPages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "man")
	if code, _, errs := runCmd(t, nil, false, "man", dir); code != exitOK {
		t.Fatalf("man: exit %d, %s", code, errs)
	}
	pages := []string{"arcfleet.1"}
	for name := range commands() {
		pages = append(pages, "arcfleet-"+name+".1")
	}
	pages = append(pages, "arcfleet-report-merge.1", "arcfleet-completion.1", "arcfleet-completion-bash.1")
	for _, p := range pages {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		s := string(b)
		name := strings.TrimSuffix(p, ".1")
		for _, want := range []string{`.TH "ARCFLEET" "1"`, ".SH NAME\n" + name + " - ", ".SH SYNOPSIS", ".SH OPTIONS", "--log-format"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s lacks %q", p, want)
			}
		}
		if strings.HasPrefix(s, "\n") || strings.Count(s, ".TH ") != 1 {
			t.Errorf("%s: not one .TH header at the top", p)
		}
	}
	apply, _ := os.ReadFile(filepath.Join(dir, "arcfleet-apply.1"))
	for _, want := range []string{`\fB-i\fP, \fB--inventory\fP`, `\fB-y\fP, \fB--yes\fP`, `\fB-l\fP, \fB--limit\fP`, "arcfleet apply PLAN.json"} {
		if !strings.Contains(string(apply), want) {
			t.Errorf("arcfleet-apply.1 lacks %q", want)
		}
	}
	man, err := exec.LookPath("man")
	if err != nil {
		t.Log("man(1) not installed: structure checked only")
		return
	}
	for _, p := range []string{"arcfleet.1", "arcfleet-apply.1", "arcfleet-plan.1"} {
		cmd := exec.Command(man, "--warnings", "-l", filepath.Join(dir, p))
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Errorf("man -l %s: %v\n%s", p, err, stderr.String())
		}
		if !strings.Contains(string(out), "SYNOPSIS") || !strings.Contains(string(out), "--log-format") {
			t.Errorf("man -l %s renders no synopsis or options:\n%s", p, out)
		}
	}
}

// GNU style: help and usage spell every long flag --name; the single-dash
// spelling of the flag package arcfleet used before still parses.
func TestGNUFlags(t *testing.T) {
	for name := range commands() {
		_, out, _ := runCmd(t, nil, false, name, "--help")
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) > 0 && strings.HasPrefix(f[0], "-") && !strings.HasPrefix(f[0], "--") && len(strings.TrimSuffix(f[0], ",")) > 2 {
				t.Errorf("%s --help: single-dash long flag in %q", name, l)
			}
		}
		if !strings.Contains(out, "--log-format") || !strings.Contains(out, "-v, --verbose") || !strings.Contains(out, "-q, --quiet") {
			t.Errorf("%s --help lacks the global flags:\n%s", name, out)
		}
	}
	inv := writeInv(t, cliInv) // hosts a and b
	env := map[string]string{"SP": validateSentinel}
	for _, args := range [][]string{
		{"validate", "--inventory", inv, "--action", "reconnect"},
		{"validate", "-i", inv, "-action", "reconnect"},
		{"validate", "-inventory=" + inv, "-limit", "a"},
		{"validate", "-l", "b", inv, "-i"}, // -i takes the next word, as GNU getopt: here the path after it is missing
	} {
		code, _, errs := runCmd(t, env, false, args...)
		want := exitOK
		if args[len(args)-1] == "-i" {
			want = exitInvalid
		}
		if code != want {
			t.Errorf("%q: exit %d, want %d; stderr %s", args, code, want, errs)
		}
	}
	if code, _, errs := runCmd(t, env, false, "plan", "--log-format", "xml", "-i", inv, "--action", "connect"); code != exitInvalid || !strings.Contains(errs, "--log-format") {
		t.Errorf("--log-format xml: exit %d, %s", code, errs)
	}
	if code, _, errs := runCmd(t, nil, false, "help", "codes"); code != exitOK || errs != "" {
		t.Errorf("help codes: exit %d, %s", code, errs)
	}
}

// A plan that deletes Azure resources shows its summary and asks for the
// action's name; y is not enough. Other plans ask y/N. Off a terminal --yes is
// required.
func TestConfirmDestructive(t *testing.T) {
	inv, err := inventory.Load(writeInv(t, cliInv))
	if err != nil {
		t.Fatal(err)
	}
	hosts, _ := inv.Select("")
	reconnect := plan.Build(inv, hosts, "reconnect", "", time.Now())
	connect := plan.Build(inv, hosts, "connect", "", time.Now())
	for _, c := range []struct {
		name     string
		p        *plan.Plan
		terminal bool
		yes      bool
		answer   string
		want     bool
		has      []string
		lacks    []string
	}{
		{"reconnect y", reconnect, true, false, "y\n", false,
			[]string{"2 to reconnect", "deletes 2 Azure resources", "Type reconnect to proceed", `not confirmed (the answer was not "reconnect")`}, []string{"[y/N]"}},
		{"reconnect typed", reconnect, true, false, " reconnect \n", true, []string{"Type reconnect to proceed"}, []string{"not confirmed"}},
		{"reconnect other case", reconnect, true, false, "RECONNECT\n", false, []string{"not confirmed"}, nil},
		{"reconnect not a terminal", reconnect, false, false, "reconnect\n", false,
			[]string{"deletes 2 Azure resources", "pass --yes to reconnect"}, []string{"Type reconnect"}},
		{"reconnect --yes", reconnect, false, true, "", true, []string{"deletes 2 Azure resources"}, []string{"Type", "pass --yes"}},
		{"connect y", connect, true, false, "y\n", true, []string{"Proceed? [y/N]"}, []string{"deletes", "Type"}},
		{"connect n", connect, true, false, "\n", false, []string{"not confirmed; nothing was done"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errb strings.Builder
			e := &env{stdin: strings.NewReader(c.answer), stdout: &out, stderr: &errb, stdinIsTerminal: c.terminal, getenv: func(string) string { return "" }}
			if got := confirm(context.Background(), e, c.p, c.yes); got != c.want {
				t.Errorf("confirm = %v, want %v\n%s", got, c.want, errb.String())
			}
			for _, h := range c.has {
				if !strings.Contains(errb.String(), h) {
					t.Errorf("stderr lacks %q:\n%s", h, errb.String())
				}
			}
			for _, h := range c.lacks {
				if strings.Contains(errb.String(), h) {
					t.Errorf("stderr has %q:\n%s", h, errb.String())
				}
			}
			if out.Len() != 0 {
				t.Errorf("stdout: %q", out.String())
			}
		})
	}
	// A probed plan whose hosts are all disconnected already deletes nothing.
	disc := plan.Build(inv, hosts, "disconnect", "", time.Now())
	for i := range disc.Hosts {
		disc.Hosts[i].Probe = &plan.Probe{Verdict: "already-disconnected"}
	}
	if n := deletions(disc); n != 0 {
		t.Errorf("deletions of an already-disconnected fleet: %d", n)
	}
	if n := deletions(plan.Build(inv, hosts, "disconnect", "", time.Now())); n != 2 {
		t.Errorf("deletions of a disconnect plan: %d, want 2", n)
	}
}

// apply of a reconnect off a terminal without --yes: the count of deletions and the fix, exit 2.
func TestApplyReconnectNeedsYes(t *testing.T) {
	inv := writeInv(t, cliInv)
	code, _, errs := runCmd(t, map[string]string{"SP": validateSentinel}, false, "apply", "-i", inv, "--action", "reconnect", "--run-dir", t.TempDir()+"/run")
	if code != exitInvalid || !strings.Contains(errs, "deletes 2 Azure resources") || !strings.Contains(errs, "pass --yes") || strings.Contains(errs, validateSentinel) {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

// --list-hosts prints the selection, one host per line, and does nothing else.
func TestListHosts(t *testing.T) {
	inv := writeInv(t, cliInv)
	dir := t.TempDir()
	saved := filepath.Join(dir, "plan.json")
	if code, _, errs := runCmd(t, nil, false, "plan", "-i", inv, "--action", "connect", "-o", saved); code != exitOK {
		t.Fatalf("plan -o: exit %d, %s", code, errs)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", "-i", inv, "--list-hosts"}, "a\nb\n"},
		{[]string{"plan", "-i", inv, "--action", "connect", "-l", "b", "--list-hosts"}, "b\n"},
		{[]string{"validate", "-i", inv, "--limit", "a", "--list-hosts"}, "a\n"},
		{[]string{"apply", "-i", inv, "--action", "reconnect", "--list-hosts"}, "a\nb\n"}, // no secret needed, nothing asked
		{[]string{"apply", saved, "--list-hosts"}, "a\nb\n"},
		{[]string{"plan", "-i", inv, "--shard", "0/1", "--list-hosts"}, "a\nb\n"},
	} {
		code, out, errs := runCmd(t, nil, false, c.args...)
		if code != exitOK || out != c.want {
			t.Errorf("%q: exit %d, stdout %q, want %q; stderr %s", c.args, code, out, c.want, errs)
		}
		if strings.Contains(errs, "deletes") || strings.Contains(errs, "pass --yes") {
			t.Errorf("%q: went past listing: %s", c.args, errs)
		}
	}
	if code, _, errs := runCmd(t, nil, false, "plan", "--list-hosts"); code != exitInvalid || !strings.Contains(errs, "-i INVENTORY") {
		t.Errorf("plan --list-hosts without -i: exit %d, %s", code, errs)
	}
}

// A --limit word naming a group, not a host, hints at group:NAME.
func TestLimitHint(t *testing.T) {
	inv := writeInv(t, strings.Replace(strings.Replace(cliInv, "  - name: a\n", "  - name: a\n    groups: [web]\n", 1), "hosts:\n", "groups:\n  web: {}\nhosts:\n", 1))
	for _, cmd := range []string{"plan", "apply", "validate"} {
		code, out, errs := runCmd(t, map[string]string{"SP": validateSentinel}, false, cmd, "-i", inv, "--action", "connect", "--limit", "web")
		if code != exitInvalid || !strings.Contains(errs, "did you mean group:web?") || out != "" {
			t.Errorf("%s --limit web: exit %d, stdout %q, stderr %q", cmd, code, out, errs)
		}
	}
}
