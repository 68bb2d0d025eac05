package results

import (
	"bytes"
	"html"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/markdown"
)

// Every word of the report's own text exists in both languages, and the
// Swedish is not a copy of the English (except words both languages share).
func TestReportWordsTranslated(t *testing.T) {
	same := map[string]bool{"os": true}
	keys := make([]string, 0, len(words))
	for k := range words {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w := words[k]
		if w[0] == "" || w[1] == "" {
			t.Errorf("word %q: missing in %v", k, w)
		}
		if w[0] == w[1] && !same[k] {
			t.Errorf("word %q: the Swedish %q is the English", k, w[1])
		}
		if strings.Count(w[0], "%") != strings.Count(w[1], "%") {
			t.Errorf("word %q: the languages take different arguments: %q / %q", k, w[0], w[1])
		}
	}
	for o, w := range outcomeWords {
		if w[0] == "" || w[1] == "" || (w[0] == w[1] && o != OutcomeOK) {
			t.Errorf("outcome %s: %v", o, w)
		}
		if _, ok := outcomeCountSv[o]; !ok {
			t.Errorf("outcome %s has no Swedish count words", o)
		}
	}
}

// Swedish counts agree with the number: "1 misslyckades", "5 misslyckades"
// (never "5 misslyckad"), "1 oförändrad", "2 oförändrade".
func TestOutcomeCountPlural(t *testing.T) {
	for _, tc := range []struct {
		o    Outcome
		n    int
		lang string
		want string
	}{
		{OutcomeFailed, 5, "sv", "5 misslyckades"},
		{OutcomeFailed, 1, "sv", "1 misslyckades"},
		{OutcomeUnchanged, 1, "sv", "1 oförändrad"},
		{OutcomeUnchanged, 2, "sv", "2 oförändrade"},
		{OutcomeBlocked, 3, "sv", "3 blockerade"},
		{OutcomeNotStarted, 2, "sv", "2 ej startade"},
		{OutcomeInterrupted, 4, "sv", "4 avbrutna"},
		{OutcomeInterrupted, 1, "sv", "1 avbruten"},
		{OutcomeOK, 7, "sv", "7 ok"},
		{OutcomeNotStarted, 2, "en", "2 not started"},
		{OutcomeFailed, 5, "en", "5 failed"},
	} {
		if got := OutcomeCount(tc.o, tc.n, tc.lang); got != tc.want {
			t.Errorf("OutcomeCount(%s, %d, %s) = %q, want %q", tc.o, tc.n, tc.lang, got, tc.want)
		}
	}
	if got := OutcomeSummary(map[Outcome]int{OutcomeFailed: 5, OutcomeOK: 1, OutcomeNotStarted: 2}, "sv"); got != "1 ok, 5 misslyckades, 2 ej startade" {
		t.Errorf("summary %q", got)
	}
}

// Every report string in both languages: the Swedish rendering of a report that
// uses every part of the report (groups, notes, interrupt, breaker, every
// outcome) holds none of the English wording once the run's own data (names,
// details, evidence, notes, paths, step names) is taken out; the English one
// holds none of the Swedish.
func TestReportLanguagesDoNotMix(t *testing.T) {
	r := fixtureReport()
	r.Hosts[0].Notes = []string{"the agent reported a licence"}
	var data []string
	for _, h := range r.Hosts {
		data = append(data, h.Name, h.Detail, h.LogPath, attemptsText(&h), h.FinalCode)
		data = append(data, h.Evidence...)
		data = append(data, h.Notes...)
		for _, e := range h.Evidence {
			data = append(data, termSafe(e))
		}
	}
	for _, d := range slices.Clone(data) { // as the formats write them
		data = append(data, markdown.Escape(d), markdown.Cell(d), markdown.Cell(markdown.Code(d)), oneLine(d))
	}
	sort.Slice(data, func(i, j int) bool { return len(data[i]) > len(data[j]) }) // longest first
	// Command lines, XML tags and quotations (an error message, a Group Policy's
	// name as Windows shows it) are no language of the report.
	commands := regexp.MustCompile(`arcfleet [a-z]+|<[^>]*>|"[^"\n]*"`)
	var pairs []string
	for _, d := range data {
		if d != "" {
			pairs = append(pairs, d, " ")
		}
	}
	dataOut := strings.NewReplacer(pairs...) // longest first: it tries them in order
	strip := func(s string) string { return commands.ReplaceAllString(dataOut.Replace(s), " ") }
	english, swedish := vocabulary(0), vocabulary(1)
	// Hard-coded English the word tables do not know.
	commonEnglish := regexp.MustCompile(`(?i)(^|[^\pL_./\\-])(the|and|of|with|to|is|are|for|host|hosts|failed|started|attempt|attempts|log|cause|fix|detail|evidence|notes|run|report|outcome)($|[^\pL_./\\-])`)
	for _, format := range []string{"table", "markdown", "junit", "html"} {
		for _, lang := range Languages {
			var b bytes.Buffer
			for _, rep := range []*Report{r, allOKReport()} {
				if err := RenderReport(&b, rep, format, lang, false); err != nil {
					t.Fatal(err)
				}
			}
			out := b.String()
			if format == "junit" || format == "html" {
				out = html.UnescapeString(out) // the data is taken out as written, not as XML escapes it
			}
			out = strip(out)
			foreign := english
			if lang == "en" {
				foreign = swedish
			}
			for _, frag := range foreign {
				if !strings.Contains(out, frag) { // cheap first; then whole words only
					continue
				}
				if m := regexp.MustCompile(`(^|[^\pL_./\\-])` + regexp.QuoteMeta(frag) + `($|[^\pL_./\\-])`).FindString(out); m != "" {
					t.Errorf("%s %s: %q is in the other language:\n%s", format, lang, m, out)
				}
			}
			if lang == "sv" {
				if m := commonEnglish.FindString(out); m != "" {
					t.Errorf("%s sv: %q is English:\n%s", format, m, out)
				}
			}
		}
	}
}

// vocabulary is the report's own wording in one language (0 English, 1
// Swedish): each fixed fragment of 5 letters or more of the words and outcomes,
// and of the catalog titles, causes and remedies of every entry.
func vocabulary(i int) []string {
	other := 1 - i
	seen := map[string]bool{}
	var frags []string // fixed fragments of the wording
	add := func(s, otherLang string) {
		// Commands, flags, placeholders and file names are the same in both languages.
		for _, frag := range regexp.MustCompile("%[sd]|\\{s?[0-9]+\\}|`[^`]*`|'[^']*'|arcfleet [a-z]+|--[a-z-]+|[A-Z_]{4,}|KÖRKATALOG|VÄRD|[a-z_]+\\.[a-z]+").Split(s, -1) {
			frag = strings.Trim(frag, " :.,()'")
			if len([]rune(frag)) < 5 || seen[frag] || strings.Contains(otherLang, frag) {
				continue
			}
			seen[frag] = true
			frags = append(frags, frag)
		}
	}
	for _, w := range words {
		add(w[i], w[other])
	}
	for _, w := range outcomeWords {
		add(w[i], w[other])
	}
	for _, e := range catalog {
		t, c, r := e.Text(Languages[i])
		ot, oc, or := e.Text(Languages[other])
		add(t, ot)
		add(c, oc)
		add(r, or)
	}
	for _, m := range msgTemplates { // what the executor says about hosts
		add(m[i], m[other])
	}
	return frags
}
