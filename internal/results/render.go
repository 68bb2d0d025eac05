package results

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arcfleet/arcfleet/internal/markdown"
	"github.com/arcfleet/arcfleet/internal/termtext"
)

// ReportFormats are the formats RenderReport writes.
var ReportFormats = []string{"table", "markdown", "json", "junit", "csv", "html"}

// maxGroupNames is how many host names a group line lists before "and N more".
const maxGroupNames = 10

// RenderReport writes r in format (table|markdown|json|junit|csv) and lang (en|sv).
// ANSI colour is used in the table format only, and only when color is true. Work
// is linear in the number of hosts.
func RenderReport(w io.Writer, r *Report, format, lang string, color bool) error {
	return RenderReportWidth(w, r, format, lang, color, termtext.DefaultWidth)
}

// RenderReportWidth is RenderReport with the table format fitted to width
// columns (the terminal's): causes and fixes wrap, long log paths are elided in
// the middle, nothing else is shortened. Other formats ignore width.
func RenderReportWidth(w io.Writer, r *Report, format, lang string, color bool, width int) error {
	if r == nil {
		return fmt.Errorf("render report: no report")
	}
	if lang != "en" && lang != "sv" {
		return fmt.Errorf("unknown language %q; fix: use en or sv", lang)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	v := newView(r, lang)
	v.width = max(width, termtext.MinWidth)
	var err error
	switch format {
	case "table":
		err = renderTable(bw, v, color)
	case "markdown", "md":
		err = renderMarkdown(bw, v)
	case "json":
		err = renderJSON(bw, v)
	case "junit":
		err = renderJUnit(bw, v)
	case "csv":
		err = renderCSV(bw, v)
	case "html":
		err = renderHTML(bw, v, nil) // RenderHTML draws the timeline too
	default:
		return fmt.Errorf("unknown report format %q; fix: use one of %s", format, strings.Join(ReportFormats, ", "))
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// --- words -----------------------------------------------------------------

var words = map[string][2]string{ // key: {en, sv}
	"title":          {"arcfleet %s report", "arcfleet %s-rapport"},
	"run":            {"Run", "Körning"},
	"inventory":      {"Inventory", "Inventarie"},
	"started":        {"Started", "Startad"},
	"finished":       {"Finished", "Klar"},
	"duration":       {"Duration", "Varaktighet"},
	"hosts":          {"Hosts", "Värdar"},
	"n_hosts":        {"%d hosts", "%d värdar"},
	"one_host":       {"1 host", "1 värd"},
	"and_more":       {"and %d more", "och %d till"},
	"interrupt":      {"The run was interrupted: continue it with 'arcfleet resume RUN_DIR'.", "Körningen avbröts: fortsätt med 'arcfleet resume RUN_DIR'."},
	"breaker":        {"Circuit breaker stopped hosts using credential(s): %s.", "Kretsbrytaren stoppade värdar som använder autentiseringsuppgift(er): %s."},
	"by_code":        {"Problems by code, largest first", "Problem per kod, största först"},
	"attention":      {"Hosts needing attention", "Värdar som behöver åtgärdas"},
	"as_planned":     {"Hosts as intended", "Värdar enligt plan"},
	"no_problem":     {"No host needs attention.", "Ingen värd behöver åtgärdas."},
	"cause":          {"Cause", "Orsak"},
	"fix":            {"Fix", "Lösning"},
	"detail":         {"Detail", "Detalj"},
	"evidence":       {"Evidence", "Bevis"},
	"log":            {"Log", "Logg"},
	"attempts":       {"Attempts", "Försök"},
	"code":           {"Code", "Kod"},
	"class":          {"Class", "Klass"},
	"outcome":        {"Outcome", "Utfall"},
	"host":           {"Host", "Värd"},
	"os":             {"OS", "OS"},
	"action":         {"Action", "Åtgärd"},
	"log_note":       {"Logs: RUN_DIR/hosts/HOST/attempt-N-STEP.log, one per step of each attempt.", "Loggar: KÖRKATALOG/hosts/VÄRD/attempt-N-STEG.log, en per steg i varje försök."},
	"chart":          {"Outcomes by code", "Utfall per kod"},
	"timeline":       {"Timeline", "Tidslinje"},
	"timeline_none":  {"No timeline: it is drawn from the run directory's journal.jsonl (arcfleet report RUN_DIR --format html).", "Ingen tidslinje: den ritas från körkatalogens journal.jsonl (arcfleet report RUN_DIR --format html)."},
	"legend_ok":      {"attempt that succeeded", "lyckat försök"},
	"legend_fail":    {"attempt that failed", "misslyckat försök"},
	"legend_retry":   {"failed, retried (transient, service, network)", "misslyckat, görs om (tillfälligt, tjänst, nätverk)"},
	"wait":           {"waiting to retry", "väntan före nytt försök"},
	"legend_breaker": {"circuit breaker opened", "kretsbrytaren öppnades"},
	"more_rows":      {"%d more hosts are not drawn; every host is in the report below.", "%d värdar till ritas inte; alla värdar finns i rapporten nedan."},
	"more_md":        {"Evidence per host: arcfleet report RUN_DIR --format markdown", "Bevis per värd: arcfleet report RUN_DIR --format markdown"},
	"notes":          {"Notes", "Anteckningar"},
	"notes_line":     {"Notes on %s (e.g. what a disconnect deleted): arcfleet report RUN_DIR --format markdown", "Anteckningar om %s (t.ex. vad en frånkoppling tog bort): arcfleet report RUN_DIR --format markdown"},
}

// noted are the hosts with notes, in report order.
func (v *view) noted() []*HostResult {
	var out []*HostResult
	for i := range v.r.Hosts {
		if len(v.r.Hosts[i].Notes) > 0 {
			out = append(out, &v.r.Hosts[i])
		}
	}
	return out
}

func word(lang, key string) string {
	w := words[key]
	if lang == "sv" {
		return w[1]
	}
	return w[0]
}

var outcomeWords = map[Outcome][2]string{
	OutcomeOK:          {"ok", "ok"},
	OutcomeUnchanged:   {"unchanged", "oförändrad"},
	OutcomeFailed:      {"failed", "misslyckad"},
	OutcomeBlocked:     {"blocked", "blockerad"},
	OutcomeNotStarted:  {"not started", "ej startad"},
	OutcomeInterrupted: {"interrupted", "avbruten"},
}

// OutcomeLabel is the report's word for one host's outcome ("failed", "misslyckad").
func OutcomeLabel(o Outcome, lang string) string { return outcomeLabel(o, lang) }

func outcomeLabel(o Outcome, lang string) string {
	w, ok := outcomeWords[o]
	switch {
	case !ok:
		return string(o)
	case lang == "sv":
		return w[1]
	}
	return w[0]
}

func (v *view) hostsWord(n int) string {
	if n == 1 {
		return word(v.lang, "one_host")
	}
	return fmt.Sprintf(word(v.lang, "n_hosts"), n)
}

// names lists up to maxGroupNames names, then "and N more".
func (v *view) names(names []string, esc func(string) string) string {
	var b strings.Builder
	for i, n := range names {
		if i == maxGroupNames {
			fmt.Fprintf(&b, " "+word(v.lang, "and_more"), len(names)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(esc(n))
	}
	return b.String()
}

// outcomeSummary is "5 ok, 2 unchanged, 3 failed".
func (v *view) outcomeSummary() string { return OutcomeSummary(v.counts, v.lang) }

// Swedish words for a count of hosts with an outcome, where they differ from
// outcomeWords' (the word for one host): "5 misslyckades", "2 oförändrade".
var outcomeCountSv = map[Outcome][2]string{ // {one, many}
	OutcomeOK:          {"ok", "ok"},
	OutcomeUnchanged:   {"oförändrad", "oförändrade"},
	OutcomeFailed:      {"misslyckades", "misslyckades"},
	OutcomeBlocked:     {"blockerad", "blockerade"},
	OutcomeNotStarted:  {"ej startad", "ej startade"},
	OutcomeInterrupted: {"avbruten", "avbrutna"},
}

// OutcomeCount is "5 failed" / "5 misslyckades": n hosts with outcome o.
func OutcomeCount(o Outcome, n int, lang string) string {
	if w, ok := outcomeCountSv[o]; ok && lang == "sv" {
		if n == 1 {
			return "1 " + w[0]
		}
		return fmt.Sprintf("%d %s", n, w[1])
	}
	return fmt.Sprintf("%d %s", n, outcomeLabel(o, lang))
}

// OutcomeSummary is the report's outcome line for counts: "13 ok, 2 unchanged,
// 17 failed, 3 not started", in the report's order and words; outcomes without
// hosts are left out. The live view of a run uses it, so both say the same.
func OutcomeSummary(counts map[Outcome]int, lang string) string {
	order := slices.Clone(outcomeOrder)
	var other []Outcome
	for o := range counts {
		if !slices.Contains(outcomeOrder, o) {
			other = append(other, o)
		}
	}
	slices.Sort(other)
	var parts []string
	for _, o := range append(order, other...) {
		if n := counts[o]; n > 0 {
			parts = append(parts, OutcomeCount(o, n, lang))
		}
	}
	return strings.Join(parts, ", ")
}

// fmtDuration is short and human: 850ms, 2.1s, 3m12s.
func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func (v *view) runDuration() string {
	if v.r.Started.IsZero() || v.r.Finished.IsZero() {
		return "-"
	}
	return fmtDuration(v.r.Finished.Sub(v.r.Started))
}

// attemptsText is "connect AZCM0044 2.1s, connect AZCM0044 1.9s".
func attemptsText(h *HostResult) string {
	var b strings.Builder
	for i, a := range h.Attempts {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.Step)
		if a.Code != "" {
			b.WriteByte(' ')
			b.WriteString(a.Code)
		}
		b.WriteByte(' ')
		b.WriteString(fmtDuration(a.Duration))
	}
	return b.String()
}

// joinNonEmpty joins the non-empty parts with a space.
func joinNonEmpty(parts ...string) string {
	return strings.Join(slices.DeleteFunc(parts, func(p string) bool { return p == "" }), " ")
}

// oneLine flattens text to a single line (table cells, CSV-safe headers).
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n\t") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// --- table (terminal) ----------------------------------------------------------

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
)

func outcomeColor(o Outcome) string {
	switch o {
	case OutcomeOK, OutcomeUnchanged:
		return ansiGreen
	case OutcomeFailed:
		return ansiRed
	}
	return ansiYellow
}

func renderTable(w *bufio.Writer, v *view, color bool) error {
	paint := func(c, s string) string {
		if !color || s == "" {
			return s
		}
		return c + s + ansiReset
	}
	r, lang := v.r, v.lang
	fmt.Fprintf(w, "%s: %s %s, %s, %s\n", fmt.Sprintf(word(lang, "title"), r.Action),
		strings.ToLower(word(lang, "run")), termSafe(r.RunID), v.hostsWord(len(r.Hosts)), v.runDuration())
	fmt.Fprintf(w, "%s: %s\n", word(lang, "outcome"), v.outcomeSummary())
	if r.Interrupted {
		fmt.Fprintln(w, paint(ansiYellow, word(lang, "interrupt")))
	}
	if len(r.BreakerOpen) > 0 {
		fmt.Fprintln(w, paint(ansiRed, fmt.Sprintf(word(lang, "breaker"), termSafe(strings.Join(r.BreakerOpen, ", ")))))
	}
	if noted := v.noted(); len(noted) > 0 {
		names := make([]string, len(noted))
		for i, h := range noted {
			names[i] = h.Name
		}
		fmt.Fprintln(w, fmt.Sprintf(word(lang, "notes_line"), v.hostsWord(len(names))+" ("+v.names(names, termSafe)+")"))
	}
	if len(v.problems) == 0 {
		fmt.Fprintf(w, "\n%s\n", paint(ansiGreen, word(lang, "no_problem")))
		renderAzureTable(w, v)
		return nil
	}
	fmt.Fprintf(w, "\n%s:\n", word(lang, "by_code"))
	for _, g := range v.groups {
		// The code is painted after wrapping (escape codes have no width).
		head := termtext.Paragraph(joinNonEmpty(termSafe(g.Code), termSafe(g.Title))+
			fmt.Sprintf(" (%s: %s)", v.hostsWord(len(g.Hosts)), v.names(g.Hosts, termSafe)), v.width, "  ", "      ")
		if c := termSafe(g.Code); c != "" {
			head = strings.Replace(head, c, paint(ansiBold+ansiRed, c), 1)
		}
		w.WriteString(head)
		if g.Cause != "" {
			w.WriteString(termtext.Paragraph(word(lang, "cause")+": "+termSafe(oneLine(g.Cause)), v.width, "    ", "      "))
		}
		if g.Remedy != "" {
			w.WriteString(termtext.Paragraph(word(lang, "fix")+": "+termSafe(oneLine(g.Remedy)), v.width, "    ", "      "))
		}
	}

	fmt.Fprintf(w, "\n%s:\n", word(lang, "attention"))
	t := &termtext.Table{
		Head: []string{word(lang, "host"), word(lang, "os"), word(lang, "action"), word(lang, "outcome"),
			word(lang, "code"), word(lang, "attempts"), word(lang, "log")},
		Modes:  []termtext.Mode{termtext.Keep, termtext.Keep, termtext.Keep, termtext.Keep, termtext.Keep, termtext.Wrapped, termtext.Elide},
		Mins:   []int{0, 0, 0, 0, 0, 24, 21}, // attempts: a step, a code and a time; log: hosts/…/attempt-N.log
		Indent: "  ",
		Paint: func(row, col int, s string) string {
			switch {
			case row < 0:
				return paint(ansiBold, s)
			case col == 3:
				return paint(outcomeColor(v.problems[row].Outcome), s)
			}
			return s
		},
	}
	for _, h := range v.problems {
		row := []string{h.Name, h.OS, h.Action, outcomeLabel(h.Outcome, lang), h.FinalCode, attemptsText(h), h.LogPath}
		for j := range row {
			row[j] = termSafe(oneLine(row[j]))
		}
		t.Rows = append(t.Rows, row)
	}
	logNote := ""
	if t.LineWidth(v.width) > v.width {
		// Too narrow for the log paths: they follow one pattern, said once below.
		t.Head, t.Modes, t.Mins = t.Head[:6], t.Modes[:6], t.Mins[:6]
		for i := range t.Rows {
			t.Rows[i] = t.Rows[i][:6]
		}
		logNote = word(lang, "log_note")
	}
	if err := t.Render(w, v.width); err != nil {
		return err
	}
	if logNote != "" {
		w.WriteString(termtext.Paragraph(logNote, v.width, "  ", "  "))
	}
	renderAzureTable(w, v)
	fmt.Fprintf(w, "\n%s\n", word(lang, "more_md"))
	return nil
}

// termSafe drops control characters (a hostile string must not drive the terminal).
func termSafe(s string) string {
	clean := true
	for _, c := range s {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			return -1
		}
		return c
	}, s)
}

// --- markdown -------------------------------------------------------------------

func renderMarkdown(w *bufio.Writer, v *view) error {
	r, lang := v.r, v.lang
	fmt.Fprintf(w, "# %s\n\n", fmt.Sprintf(word(lang, "title"), markdown.Escape(r.Action)))
	fmt.Fprintf(w, "| | |\n|---|---|\n")
	fmt.Fprintf(w, "| %s | %s |\n", word(lang, "run"), markdown.Escape(r.RunID))
	if r.Inventory != "" {
		fmt.Fprintf(w, "| %s | %s |\n", word(lang, "inventory"), markdown.Escape(r.Inventory))
	}
	fmt.Fprintf(w, "| %s | %s |\n", word(lang, "started"), fmtTime(r.Started))
	fmt.Fprintf(w, "| %s | %s (%s) |\n", word(lang, "finished"), fmtTime(r.Finished), v.runDuration())
	fmt.Fprintf(w, "| %s | %d: %s |\n\n", word(lang, "hosts"), len(r.Hosts), v.outcomeSummary())
	if r.Interrupted {
		fmt.Fprintf(w, "> %s\n\n", markdown.Escape(word(lang, "interrupt")))
	}
	if len(r.BreakerOpen) > 0 {
		fmt.Fprintf(w, "> %s\n\n", fmt.Sprintf(word(lang, "breaker"), markdown.Escape(strings.Join(r.BreakerOpen, ", "))))
	}

	writeMermaid(w, v)
	if len(v.problems) == 0 {
		fmt.Fprintf(w, "%s\n\n", word(lang, "no_problem"))
	} else {
		fmt.Fprintf(w, "## %s\n\n", word(lang, "by_code"))
		for _, g := range v.groups {
			code := ""
			if g.Code != "" {
				code = "**" + markdown.Escape(g.Code) + "**"
			}
			fmt.Fprintf(w, "- %s (%s: %s)", joinNonEmpty(code, markdown.Cell(g.Title)), v.hostsWord(len(g.Hosts)), v.names(g.Hosts, markdown.Escape))
			if g.Cause != "" {
				fmt.Fprintf(w, ": %s", mdText(g.Cause, g.Code))
			}
			if g.Remedy != "" {
				fmt.Fprintf(w, " **%s:** %s", word(lang, "fix"), markdown.Cell(g.Remedy))
			}
			w.WriteString("\n")
		}

		fmt.Fprintf(w, "\n## %s\n\n", word(lang, "attention"))
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n|---|---|---|---|---|---|---|\n",
			word(lang, "host"), word(lang, "os"), word(lang, "action"), word(lang, "outcome"),
			word(lang, "code"), word(lang, "attempts"), word(lang, "log"))
		for _, h := range v.problems {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", markdown.Escape(h.Name), markdown.Escape(h.OS), markdown.Escape(h.Action),
				outcomeLabel(h.Outcome, lang), markdown.Escape(h.FinalCode), markdown.Escape(attemptsText(h)), markdown.Cell(markdown.Code(h.LogPath)))
		}
		for _, h := range v.problems {
			title, cause, remedy := hostText(h, lang)
			fmt.Fprintf(w, "\n### %s: %s", markdown.Escape(h.Name), outcomeLabel(h.Outcome, lang))
			if h.FinalCode != "" {
				fmt.Fprintf(w, ", %s", joinNonEmpty(markdown.Escape(h.FinalCode), markdown.Cell(title)))
			}
			w.WriteString("\n\n")
			if cause != "" {
				fmt.Fprintf(w, "- %s: %s\n", word(lang, "cause"), mdText(cause, h.FinalCode))
			}
			if remedy != "" {
				fmt.Fprintf(w, "- %s: %s\n", word(lang, "fix"), markdown.Cell(remedy))
			}
			if d := detailText(h, lang); d != "" && d != cause {
				fmt.Fprintf(w, "- %s: %s\n", word(lang, "detail"), markdown.Escape(d))
			}
			if h.LogPath != "" {
				fmt.Fprintf(w, "- %s: %s\n", word(lang, "log"), markdown.Code(h.LogPath))
			}
			if len(h.Evidence) > 0 {
				fence := markdown.Fence(h.Evidence...)
				fmt.Fprintf(w, "\n%stext\n", fence)
				for _, l := range h.Evidence {
					w.WriteString(termSafe(l))
					w.WriteByte('\n')
				}
				fmt.Fprintf(w, "%s\n", fence)
			}
		}
		w.WriteString("\n")
	}

	if n := v.counts[OutcomeOK] + v.counts[OutcomeUnchanged]; n > 0 {
		fmt.Fprintf(w, "## %s\n\n", word(lang, "as_planned"))
		for _, o := range []Outcome{OutcomeOK, OutcomeUnchanged} {
			if names := v.fine[o]; len(names) > 0 {
				fmt.Fprintf(w, "- %s (%d): %s\n", outcomeLabel(o, lang), len(names), v.names(names, markdown.Escape))
			}
		}
	}
	// Notes whatever the outcome: what a re-registration deleted must reach
	// the reader for hosts that ended ok too.
	if noted := v.noted(); len(noted) > 0 {
		fmt.Fprintf(w, "\n## %s\n\n", word(lang, "notes"))
		for _, h := range noted {
			fmt.Fprintf(w, "- %s (%s):\n", markdown.Escape(h.Name), outcomeLabel(h.Outcome, lang))
			for _, n := range noteTexts(h, lang) {
				fmt.Fprintf(w, "  - %s\n", markdown.Escape(n))
			}
		}
	}
	renderAzureMarkdown(w, v)
	return nil
}

// writeMermaid draws the outcomes by code as a Mermaid pie chart, which GitHub
// and Azure DevOps render in Markdown (the same bars as the HTML report's chart).
func writeMermaid(w *bufio.Writer, v *view) {
	bars := chartBars(v)
	if len(bars) == 0 {
		return
	}
	fmt.Fprintf(w, "```mermaid\npie showData\n    title %s\n", mermaidLabel(word(v.lang, "chart")))
	for _, b := range bars {
		fmt.Fprintf(w, "    \"%s\" : %d\n", mermaidLabel(b.Label), b.Count)
	}
	w.WriteString("```\n\n")
}

// mermaidLabel keeps a label inside Mermaid's quotes and the code fence.
func mermaidLabel(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '"' || r == '`' || r == '#' || r == ';' || r < 0x20 || r == 0x7f:
			return -1
		}
		return r
	}, s)
}

// mdText is a cause or remedy: the catalog's own words when code has an entry
// (they may use `code`), else text from elsewhere (a host's detail), escaped.
func mdText(s, code string) string {
	if _, ok := Lookup(code); ok {
		return markdown.Cell(s)
	}
	return markdown.Escape(s)
}

// --- json ------------------------------------------------------------------------

// jsonHost is a HostResult with the catalog's wording; it decodes as a HostResult.
type jsonHost struct {
	HostResult
	Title      string `json:"title,omitempty"`
	Cause      string `json:"cause,omitempty"`
	Remedy     string `json:"remedy,omitempty"`
	DurationNS int64  `json:"duration_ns"`
}

type jsonGroup struct {
	Code    string   `json:"code,omitempty"`    // "" for hosts grouped by outcome
	Outcome Outcome  `json:"outcome,omitempty"` // set when grouped by outcome
	Class   Class    `json:"class,omitempty"`
	Title   string   `json:"title,omitempty"`
	Cause   string   `json:"cause,omitempty"`
	Remedy  string   `json:"remedy,omitempty"`
	Count   int      `json:"count"`
	Hosts   []string `json:"hosts"`
}

type jsonSummary struct {
	Total    int            `json:"total"`
	Outcomes map[string]int `json:"outcomes"`
}

// jsonReport is report.json: the Report's own fields (so it decodes as a Report)
// plus the rendered wording, the summary and the groups.
type jsonReport struct {
	Report
	Lang    string      `json:"lang"`
	Summary jsonSummary `json:"summary"`
	Groups  []jsonGroup `json:"groups"`
	Hosts   []jsonHost  `json:"hosts"`
}

func renderJSON(w *bufio.Writer, v *view) error {
	out := jsonReport{Report: *v.r, Lang: v.lang, Groups: []jsonGroup{}, Hosts: make([]jsonHost, len(v.r.Hosts))}
	out.Report.Hosts = nil // shadowed by out.Hosts
	if out.FormatVersion == 0 {
		out.FormatVersion = ReportFormatVersion
	}
	out.Summary = jsonSummary{Total: len(v.r.Hosts), Outcomes: map[string]int{}}
	for o, n := range v.counts {
		out.Summary.Outcomes[string(o)] = n
	}
	for _, g := range v.groups {
		out.Groups = append(out.Groups, jsonGroup{g.Code, g.Outcome, g.Class, g.Title, g.Cause, g.Remedy, len(g.Hosts), g.Hosts})
	}
	for i := range v.r.Hosts {
		h := &v.r.Hosts[i]
		jh := jsonHost{HostResult: *h, DurationNS: int64(hostDuration(h))}
		jh.Title, jh.Cause, jh.Remedy = hostText(h, v.lang)
		out.Hosts[i] = jh
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// --- junit -----------------------------------------------------------------------

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
	Skipped   *junitProblem `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

// renderJUnit writes one testcase per host: failed and blocked hosts fail,
// interrupted hosts error, hosts never started are skipped.
func renderJUnit(w *bufio.Writer, v *view) error {
	r, lang := v.r, v.lang
	s := junitSuite{Name: "arcfleet " + r.Action + " " + r.RunID, Tests: len(r.Hosts), Cases: make([]junitCase, 0, len(r.Hosts))}
	if !r.Started.IsZero() {
		s.Timestamp = r.Started.UTC().Format(time.RFC3339)
	}
	var total time.Duration
	for i := range r.Hosts {
		h := &r.Hosts[i]
		d := hostDuration(h)
		total += d
		c := junitCase{Name: h.Name, Classname: "arcfleet." + h.Action + "." + h.OS, Time: seconds(d)}
		if !needsNothing(h.Outcome) {
			title, cause, remedy := hostText(h, lang)
			p := &junitProblem{Type: h.FinalCode, Message: outcomeLabel(h.Outcome, lang)}
			if h.FinalCode != "" {
				p.Message += ": " + joinNonEmpty(h.FinalCode, title)
			}
			var b strings.Builder
			for _, kv := range [][2]string{{"cause", cause}, {"fix", remedy}, {"detail", detailText(h, lang)}, {"attempts", attemptsText(h)}, {"log", h.LogPath}} {
				if kv[1] != "" && !(kv[0] == "detail" && kv[1] == cause) {
					fmt.Fprintf(&b, "%s: %s\n", word(lang, kv[0]), kv[1])
				}
			}
			if len(h.Evidence) > 0 {
				fmt.Fprintf(&b, "%s:\n", word(lang, "evidence"))
				for _, l := range h.Evidence {
					b.WriteString("  " + l + "\n")
				}
			}
			p.Body = b.String()
			switch h.Outcome {
			case OutcomeInterrupted:
				c.Error = p
				s.Errors++
			case OutcomeNotStarted:
				c.Skipped = p
				s.Skipped++
			default:
				c.Failure = p
				s.Failures++
			}
		}
		s.Cases = append(s.Cases, c)
	}
	s.Time = seconds(total)
	out := junitSuites{Name: "arcfleet", Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Skipped: s.Skipped, Time: s.Time, Suites: []junitSuite{s}}
	if az, ok := azureJUnitSuite(v); ok {
		out.Suites = append(out.Suites, az)
		out.Tests, out.Failures, out.Errors = out.Tests+az.Tests, out.Failures+az.Failures, out.Errors+az.Errors
	}
	w.WriteString(xml.Header)
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	w.WriteString("\n")
	return nil
}

// --- csv -------------------------------------------------------------------------

var csvHeader = []string{"host", "os", "action", "outcome", "final_code", "class", "title", "cause", "remedy",
	"attempts", "duration_s", "detail", "log_path", "evidence"}

// renderCSV writes one row per host. Cells that a spreadsheet would run as a
// formula (leading = + - @ tab CR) get a leading apostrophe.
func renderCSV(w *bufio.Writer, v *view) error {
	cw := csv.NewWriter(w)
	header := csvHeader
	var az map[string][2]string
	if v.r.Azure != nil {
		header = append(slices.Clip(csvHeader), azureCSVHeader...)
		az = azureCSV(v.r.Azure, v.lang)
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	row := make([]string, len(header))
	for i := range v.r.Hosts {
		h := &v.r.Hosts[i]
		title, cause, remedy := hostText(h, v.lang)
		row = append(row[:0], h.Name, h.OS, h.Action, string(h.Outcome), h.FinalCode, string(h.Class),
			title, cause, remedy, attemptsText(h), seconds(hostDuration(h)), detailText(h, v.lang), h.LogPath,
			strings.Join(h.Evidence, "\n"))
		if az != nil {
			cells := az[h.Name]
			row = append(row, cells[0], cells[1])
		}
		for j := range row {
			row[j] = csvSafe(row[j])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
