package results

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// classifyCase is one file of testdata/classify: header lines "key: value", then
// sections "=== stdout", "=== stderr", "=== log", "=== transport" holding the raw
// bytes (ANSI codes, \r progress bars and all).
type classifyCase struct {
	name     string
	ev       Evidence
	want     string
	related  []string // Diagnosis.Related must start with these
	created  bool
	evidence []string // each must occur in some evidence line
	// retryAfter is Diagnosis.RetryAfter ("retry-after: 17s"; absent = 0).
	retryAfter time.Duration
	// class and remedy, when given, state what the case expects of the code's
	// catalog entry: the class (the breaker opens only on credential) and what
	// arcfleet does (results.RemedyOf).
	class  Class
	remedy string
	// deleteRefused and resourceGone are Diagnosis.DeleteRefused and ResourceGone.
	deleteRefused, resourceGone bool
}

func loadClassifyCases(t testing.TB) []classifyCase {
	t.Helper()
	files, err := filepath.Glob("testdata/classify/*.case")
	if err != nil || len(files) == 0 {
		t.Fatalf("no classifier corpus: %v", err)
	}
	var cases []classifyCase
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c := classifyCase{name: strings.TrimSuffix(filepath.Base(f), ".case")}
		head, body, _ := strings.Cut(string(data), "=== ")
		for n, line := range strings.Split(head, "\n") {
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			v = strings.TrimSpace(v)
			if !ok {
				t.Fatalf("%s:%d: want key: value", f, n+1)
			}
			switch k {
			case "exit":
				c.ev.ExitCode, err = strconv.Atoi(v)
				if err != nil {
					t.Fatalf("%s:%d: %v", f, n+1, err)
				}
			case "transport":
				c.ev.Transport = v
			case "want":
				c.want = v
			case "related":
				c.related = strings.Fields(v)
			case "created":
				c.created = v == "true"
			case "evidence":
				c.evidence = append(c.evidence, v)
			case "class":
				c.class = Class(v)
				if !ValidClass(c.class) {
					t.Fatalf("%s:%d: unknown class %q", f, n+1, v)
				}
			case "remedy":
				if _, ok := ParseRemedy(v); !ok {
					t.Fatalf("%s:%d: unknown remedy %q", f, n+1, v)
				}
				c.remedy = v
			case "delete-refused":
				c.deleteRefused = v == "true"
			case "resource-gone":
				c.resourceGone = v == "true"
			case "retry-after":
				c.retryAfter, err = time.ParseDuration(v)
				if err != nil {
					t.Fatalf("%s:%d: %v", f, n+1, err)
				}
			default:
				t.Fatalf("%s:%d: unknown key %q", f, n+1, k)
			}
		}
		if body != "" {
			for _, sec := range strings.Split("=== "+body, "\n=== ") {
				sec = strings.TrimPrefix(sec, "=== ")
				name, text, _ := strings.Cut(sec, "\n")
				switch name {
				case "stdout":
					c.ev.Stdout = text
				case "stderr":
					c.ev.Stderr = text
				case "log":
					c.ev.AgentLog = strings.Split(strings.TrimSuffix(text, "\n"), "\n")
				case "transport":
					c.ev.TransportMsg = strings.TrimSuffix(text, "\n")
				default:
					t.Fatalf("%s: unknown section %q", f, name)
				}
			}
		}
		if c.want == "" {
			t.Fatalf("%s: no want:", f)
		}
		cases = append(cases, c)
	}
	return cases
}

func TestClassifyCorpus(t *testing.T) {
	for _, c := range loadClassifyCases(t) {
		t.Run(c.name, func(t *testing.T) {
			d := Classify(c.ev)
			if d.Code != c.want {
				t.Fatalf("code %s, want %s\nrelated %v\nevidence:\n  %s", d.Code, c.want, d.Related, strings.Join(d.Evidence, "\n  "))
			}
			if d.Class != ClassOf(c.want) {
				t.Errorf("class %s, want %s", d.Class, ClassOf(c.want))
			}
			if len(d.Related) < len(c.related) {
				t.Errorf("related %v, want prefix %v", d.Related, c.related)
			} else {
				for i, k := range c.related {
					if d.Related[i] != k {
						t.Errorf("related %v, want prefix %v", d.Related, c.related)
						break
					}
				}
			}
			if d.ResourceCreated != c.created {
				t.Errorf("resource created %v, want %v", d.ResourceCreated, c.created)
			}
			if c.class != "" && d.Class != c.class {
				t.Errorf("class %s, want %s", d.Class, c.class)
			}
			if c.remedy != "" {
				if r := RemedyOf(d.Code, d.ResourceCreated); r.String() != c.remedy {
					t.Errorf("remedy %s, want %s", r, c.remedy)
				}
			}
			if d.DeleteRefused != c.deleteRefused || d.ResourceGone != c.resourceGone {
				t.Errorf("delete refused %v, resource gone %v; want %v, %v", d.DeleteRefused, d.ResourceGone, c.deleteRefused, c.resourceGone)
			}
			if d.RetryAfter != c.retryAfter {
				t.Errorf("retry after %v, want %v", d.RetryAfter, c.retryAfter)
			}
			for _, want := range c.evidence {
				found := false
				for _, l := range d.Evidence {
					found = found || strings.Contains(l, want)
				}
				if !found {
					t.Errorf("no evidence line contains %q:\n  %s", want, strings.Join(d.Evidence, "\n  "))
				}
			}
			for _, l := range d.Evidence {
				if strings.ContainsAny(l, "\x1b\r\n") {
					t.Errorf("evidence line keeps escape codes or line breaks: %q", l)
				}
				if strings.Contains(l, "[==") {
					t.Errorf("evidence keeps a progress bar: %q", l)
				}
			}
		})
	}
}

func TestClassifyTransportKinds(t *testing.T) {
	kinds := TransportKinds()
	if !slices.Contains(kinds, "config") {
		t.Errorf("transport kinds %v lack config", kinds)
	}
	for _, kind := range kinds {
		want, ok := TransportCode(kind)
		if !ok || !strings.HasPrefix(want, "TRANSPORT-") || want == transportOther {
			t.Errorf("%s: TransportCode = %s, %v", kind, want, ok)
		}
		d := Classify(Evidence{Transport: kind, TransportMsg: "web01: dial: " + kind, ExitCode: 41})
		if d.Code != want || d.Class != ClassTransport {
			t.Errorf("%s: %s/%s, want %s/transport", kind, d.Code, d.Class, want)
		}
		if len(d.Evidence) != 1 || d.Evidence[0] != "transport: web01: dial: "+kind {
			t.Errorf("%s: evidence %q", kind, d.Evidence)
		}
	}
	if c, ok := TransportCode("martian"); ok || c != transportOther {
		t.Errorf("unknown kind: %s, %v; want %s, false", c, ok, transportOther)
	}
}

func TestClassifyEvidenceLimit(t *testing.T) {
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, "INFO step %d done\n", i)
		if i == 57 {
			b.WriteString("AZCM0044: Resource Name Already Exists\n")
		}
	}
	b.WriteString(strings.Repeat("x", 5000) + "\n")
	d := Classify(Evidence{ExitCode: 44, Stdout: b.String()})
	if len(d.Evidence) != MaxEvidenceLines {
		t.Fatalf("%d evidence lines, want %d", len(d.Evidence), MaxEvidenceLines)
	}
	if !strings.Contains(strings.Join(d.Evidence, "\n"), "AZCM0044: Resource Name Already Exists") {
		t.Errorf("the decisive line was dropped: %q", d.Evidence)
	}
	for _, l := range d.Evidence {
		if len(l) > maxLineBytes+len(" [...]") {
			t.Errorf("line of %d bytes kept", len(l))
		}
	}
	// Original order is kept: the decisive line comes before the later INFO lines.
	if !strings.Contains(d.Evidence[0], "AZCM0044") {
		t.Errorf("evidence out of order: first line %q", d.Evidence[0])
	}
}

const sentinel = "Sent1nel~S3cret.Value_do-not-leak+/="

// sentinelEvidence puts the sentinel everywhere a careless agent or script could.
func sentinelEvidence() Evidence {
	return Evidence{
		ExitCode: 41,
		Stdout: "AZCM0041: Invalid Credentials\n" +
			`{"error":{"code":"AZCM0041","message":"bad secret ` + jsonEscape(sentinel, true) + `"}}` + "\n" +
			"--service-principal-secret " + sentinel + "\n",
		Stderr: "POST https://login.microsoftonline.com/t/oauth2/token?client_secret=" + url.QueryEscape(sentinel) + " Invalid client secret is provided\n" +
			"Sent1nel\x1b[0m~S3cret.Value_do-not-leak+/= (split by a colour code)\n" +
			"sh -c 'x=" + strings.ReplaceAll(sentinel, "'", `'\''`) + "'\n",
		AgentLog:     []string{`time="2024" level=fatal msg="Invalid client secret is provided" secret="` + sentinel + `"`},
		TransportMsg: "",
		Secrets:      []string{sentinel, "other-secret-123"},
	}
}

func TestClassifyMasksSecrets(t *testing.T) {
	ev := sentinelEvidence()
	d := Classify(ev)
	out, _ := json.Marshal(d)
	for _, form := range []string{sentinel, url.QueryEscape(sentinel), jsonEscape(sentinel, true), "S3cret.Value"} {
		if strings.Contains(string(out), form) {
			t.Errorf("diagnosis leaks %q: %s", form, out)
		}
	}
	if !strings.Contains(string(out), MaskToken) {
		t.Errorf("nothing masked? %s", out)
	}
	// The transport message is masked too.
	d = Classify(Evidence{Transport: "auth", TransportMsg: "password " + sentinel + " refused", Secrets: []string{sentinel}})
	if strings.Contains(strings.Join(d.Evidence, "\n"), sentinel) {
		t.Errorf("transport evidence leaks the secret: %q", d.Evidence)
	}
}

func TestMask(t *testing.T) {
	tests := []struct {
		name, in string
		secrets  []string
		want     string
	}{
		{"plain", "a s3cr3t b", []string{"s3cr3t"}, "a *** b"},
		{"empty secret ignored", "abc", []string{""}, "abc"},
		{"url escaped", "p=a%2Fb%3D", []string{"a/b="}, "p=***"},
		{"url escaped lower hex", "p=a%2fb%3d", []string{"a/b="}, "p=***"},
		{"json escaped", `{"s":"a\"b\u003c"}`, []string{`a"b<`}, `{"s":"***"}`},
		{"sh quoted", `x='it'\''s'`, []string{"it's"}, `x='***'`},
		{"powershell quoted", `$x='it''s'`, []string{"it's"}, `$x='***'`},
		{"twice", "s1 s1", []string{"s1"}, "*** ***"},
		{"overlap forms a new match", "aab", []string{"ab"}, "a***"},
		{"secret with a star", "xa*", []string{"a*"}, "x***"},
		{"only stars cannot be masked", "***", []string{"**"}, "***"},
		{"nested secrets", "key=abcdef", []string{"abc", "abcdef"}, "key=***"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Mask(tt.in, tt.secrets)
			if got != tt.want {
				t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for _, s := range tt.secrets {
				if s != "" && strings.Trim(s, "*") != "" && strings.Contains(got, s) {
					t.Errorf("secret %q survived in %q", s, got)
				}
			}
		})
	}
}

// FuzzClassify: never panics, every code has an entry, at most 20 evidence lines,
// and no secret given in Secrets survives into the evidence in any form.
func FuzzClassify(f *testing.F) {
	for _, c := range loadClassifyCases(f) {
		f.Add(c.ev.ExitCode, c.ev.Transport, c.ev.Stdout, c.ev.Stderr, strings.Join(c.ev.AgentLog, "\n"), c.ev.TransportMsg, "s3cr3t")
	}
	se := sentinelEvidence()
	f.Add(se.ExitCode, "", se.Stdout, se.Stderr, se.AgentLog[0], "", sentinel)
	f.Add(62, "", "{\"error\":{\"code\":\"AZCM0062\"", "#arcfleet:error: nope", "\x1b]0;t\x07AZCM", "", "a")
	f.Fuzz(func(t *testing.T, exit int, kind, stdout, stderr, log, tmsg, secret string) {
		ev := Evidence{ExitCode: exit, Transport: kind, Stdout: stdout, Stderr: stderr, TransportMsg: tmsg,
			AgentLog: strings.Split(log, "\n"), Secrets: []string{secret}}
		d := Classify(ev)
		if _, ok := Lookup(d.Code); !ok {
			t.Fatalf("code %q has no catalog entry", d.Code)
		}
		if d.Class != ClassOf(d.Code) {
			t.Fatalf("class %q, catalog says %q", d.Class, ClassOf(d.Code))
		}
		for _, k := range d.Related {
			if _, ok := Lookup(k); !ok {
				t.Fatalf("related %q has no catalog entry", k)
			}
		}
		if len(d.Evidence) > MaxEvidenceLines {
			t.Fatalf("%d evidence lines", len(d.Evidence))
		}
		if secret != "" && strings.Trim(secret, "*") != "" {
			for _, l := range d.Evidence {
				if strings.Contains(l, secret) {
					t.Fatalf("secret %q leaked in %q", secret, l)
				}
			}
		}
	})
}

func TestMaskerMatchesMask(t *testing.T) {
	secrets := []string{"p@ss w/rd'\"<x>", "", "second-Secret"}
	m := NewMasker(secrets)
	for _, in := range []string{"", "nothing here", "a p@ss w/rd'\"<x> b", "url p%40ss+w%2frd%27%22%3Cx%3E", `json p@ss w/rd'\"\u003cx\u003e`, "second-Secretsecond-Secret"} {
		if got, want := m.Mask(in), Mask(in, secrets); got != want {
			t.Errorf("Masker.Mask(%q) = %q, Mask = %q", in, got, want)
		}
	}
	var nilM *Masker
	if nilM.Mask("x") != "x" || NewMasker(nil).Mask("y") != "y" {
		t.Error("a nil or empty Masker changed its input")
	}
}

// A Masker works out the secrets' forms once: masking a line that holds no
// secret allocates nothing (Mask, which rebuilds the forms, allocates each call).
func TestMaskerBuildsFormsOnce(t *testing.T) {
	m := NewMasker([]string{"S3NTINEL-s3cret-value-42", "another/secret value"})
	line := strings.Repeat("an ordinary log line without anything secret in it ", 4)
	if n := testing.AllocsPerRun(100, func() { _ = m.Mask(line) }); n != 0 {
		t.Errorf("Masker.Mask allocates %v times per clean line, want 0", n)
	}
}

// Cut never splits a secret: masking the two sides separately hides it, for
// every position of the secret around the cut.
func TestMaskerCut(t *testing.T) {
	sec := "S3NTINEL-s3cret-value-42"
	m := NewMasker([]string{sec})
	if got := NewMasker(nil).Cut("abc"); got != 3 {
		t.Errorf("Cut without secrets = %d, want 3", got)
	}
	for pad := 0; pad < 80; pad++ {
		s := strings.Repeat("x", pad) + sec + strings.Repeat("y", 40)
		for tail := 0; tail <= len(s); tail++ {
			head := s[:tail] // text so far; the rest arrives later
			i := m.Cut(head)
			if i < 0 || i > len(head) {
				t.Fatalf("Cut(%d bytes) = %d", len(head), i)
			}
			if i > len(head)-(len(sec)-1) && i != 0 {
				t.Fatalf("Cut(%q) = %d leaves less than a secret's length behind", head, i)
			}
			out := m.Mask(head[:i]) + m.Mask(s[i:])
			if strings.Contains(out, sec) || strings.Count(out, MaskToken) != 1 {
				t.Fatalf("pad %d tail %d cut %d: the secret is not masked exactly once: %q", pad, tail, i, out)
			}
		}
	}
}
