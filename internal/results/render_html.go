package results

import (
	"bufio"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/arcfleet/arcfleet/internal/termtext"
)

// RenderHTML writes r as one self-contained HTML page in lang: a chart of the
// outcomes by code, the run's timeline per host when tl is given (from the
// journal: attempts, waits before retries, when runs began and the circuit
// breaker opened), the remediation groups and each host's evidence. Everything
// is inline (CSS, SVG); it loads nothing and runs no script, and its
// Content-Security-Policy forbids both. Like every report, it holds no secret:
// evidence is masked before it reaches a report, and the journal holds none.
func RenderHTML(w io.Writer, r *Report, lang string, tl *Timeline) error {
	if r == nil {
		return fmt.Errorf("render report: no report")
	}
	if lang != "en" && lang != "sv" {
		return fmt.Errorf("unknown language %q; fix: use en or sv", lang)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := renderHTML(bw, newView(r, lang), tl); err != nil {
		return err
	}
	return bw.Flush()
}

// maxTimelineRows bounds the timeline's rows (hosts needing attention first), so
// a 10,000-host run still gives a page a browser opens at once.
const maxTimelineRows = 300

type htmlFact struct{ K, V string }

type htmlBar struct {
	Label, Title, Kind string
	Shown              string // Label elided to fit the label column
	Count              int
	Y, W, TextY        int
	CountX             int
	Color              string
}

type htmlChart struct {
	Width, Height, LabelW, BarX int
	Bars                        []htmlBar
}

type htmlRect struct {
	X, Y, W, H         int
	Fill, Class, Title string
	Dashed             bool
}

type htmlLine struct {
	X, Y1, Y2  int
	Color      string
	Label      string
	LabelX     int
	Title      string
	TextAnchor string
}

type htmlRow struct {
	Host, Label  string // Label: the name elided to fit the label column
	Y, TextY     int
	LifeX, LifeW int
	Rects        []htmlRect
}

type htmlTick struct {
	X     int
	Label string
}

type htmlTimeline struct {
	Width, Height, LabelW, AxisY int
	Rows                         []htmlRow
	Marks                        []htmlLine
	Ticks                        []htmlTick
	More                         string
}

type htmlGroup struct {
	Code, Title, Cause, Remedy, Class string
	Count                             int
	Hosts                             string
}

type htmlHost struct {
	Name, Outcome, Code, Title, Cause, Remedy, Detail, Log, Attempts string
	Evidence                                                         []string
	Notes                                                            []string
}

type htmlPage struct {
	Lang, Title, Summary string
	Facts                []htmlFact
	Notices              []string
	Chart                htmlChart
	Timeline             *htmlTimeline
	NoTimeline           string
	Groups               []htmlGroup
	Hosts                []htmlHost
	Fine                 []htmlFact
	Noted                []htmlHost
	Azure                *htmlAzure
	W                    map[string]string
}

// htmlAzure is the post-run verification against Azure (apply --verify-azure).
type htmlAzure struct {
	Title, Summary, AllOK string
	Hosts                 []htmlHost // Name, Code, Title, Detail, Remedy
}

// outcomeFill colours a bar or a host's last state by outcome.
var outcomeFill = map[Outcome]string{
	OutcomeOK: "#2e7d32", OutcomeUnchanged: "#81c784", OutcomeFailed: "#c62828",
	OutcomeBlocked: "#ef6c00", OutcomeNotStarted: "#9e9e9e", OutcomeInterrupted: "#6d4c41",
}

func classFill(c Class, o Outcome) string {
	switch c {
	case ClassSuccess:
		return outcomeFill[OutcomeOK]
	case ClassTransient, ClassService, ClassTransport:
		return "#f9a825"
	case ClassCredential:
		return "#ad1457"
	}
	if f, ok := outcomeFill[o]; ok {
		return f
	}
	return "#c62828"
}

func renderHTML(w *bufio.Writer, v *view, tl *Timeline) error {
	r, lang := v.r, v.lang
	pg := &htmlPage{Lang: lang, Title: fmt.Sprintf(word(lang, "title"), r.Action), Summary: v.outcomeSummary(), W: map[string]string{}}
	for _, k := range []string{"run", "chart", "timeline", "by_code", "attention", "as_planned", "no_problem", "cause", "fix",
		"detail", "evidence", "log", "attempts", "notes", "hosts", "legend_ok", "legend_fail", "legend_retry", "wait", "legend_breaker", "outcome", "code"} {
		pg.W[k] = word(lang, k)
	}
	pg.Facts = append(pg.Facts, htmlFact{word(lang, "run"), r.RunID})
	if r.Inventory != "" {
		pg.Facts = append(pg.Facts, htmlFact{word(lang, "inventory"), r.Inventory})
	}
	pg.Facts = append(pg.Facts, htmlFact{word(lang, "started"), fmtTime(r.Started)},
		htmlFact{word(lang, "finished"), fmtTime(r.Finished) + " (" + v.runDuration() + ")"},
		htmlFact{word(lang, "hosts"), fmt.Sprintf("%d: %s", len(r.Hosts), v.outcomeSummary())})
	if r.Interrupted {
		pg.Notices = append(pg.Notices, word(lang, "interrupt"))
	}
	if len(r.BreakerOpen) > 0 {
		pg.Notices = append(pg.Notices, fmt.Sprintf(word(lang, "breaker"), strings.Join(r.BreakerOpen, ", ")))
	}
	pg.Chart = outcomeChart(v)
	if tl != nil && len(tl.Hosts) > 0 {
		pg.Timeline = timelineSVG(v, tl)
	} else {
		pg.NoTimeline = word(lang, "timeline_none")
	}
	for _, g := range v.groups {
		title := g.Title
		code := g.Code
		if code == "" {
			code = title
			title = ""
		}
		pg.Groups = append(pg.Groups, htmlGroup{Code: code, Title: title, Cause: oneLine(g.Cause), Remedy: oneLine(g.Remedy),
			Class: string(g.Class), Count: len(g.Hosts), Hosts: v.names(g.Hosts, func(s string) string { return s })})
	}
	hostOf := func(h *HostResult) htmlHost {
		title, cause, remedy := hostText(h, lang)
		hh := htmlHost{Name: h.Name, Outcome: outcomeLabel(h.Outcome, lang), Code: h.FinalCode, Title: title, Cause: cause, Remedy: remedy,
			Log: h.LogPath, Attempts: attemptsText(h), Notes: noteTexts(h, lang)}
		if d := detailText(h, lang); d != "" && d != cause {
			hh.Detail = d
		}
		for _, l := range h.Evidence {
			hh.Evidence = append(hh.Evidence, termSafe(l))
		}
		return hh
	}
	for _, h := range v.problems {
		pg.Hosts = append(pg.Hosts, hostOf(h))
	}
	for _, o := range []Outcome{OutcomeOK, OutcomeUnchanged} {
		if names := v.fine[o]; len(names) > 0 {
			pg.Fine = append(pg.Fine, htmlFact{fmt.Sprintf("%s (%d)", outcomeLabel(o, lang), len(names)), v.names(names, func(s string) string { return s })})
		}
	}
	for _, h := range v.noted() {
		pg.Noted = append(pg.Noted, hostOf(h))
	}
	if a := r.Azure; a != nil {
		ok, bad, unv := a.counts()
		az := &htmlAzure{Title: azWord(lang, "title"), Summary: fmt.Sprintf(azWord(lang, "summary"), ok, bad, unv, a.Calls)}
		if bad+unv == 0 {
			az.AllOK = azWord(lang, "all_ok")
		}
		for _, c := range a.Hosts {
			if !c.OK {
				title, remedy := checkText(c, lang)
				az.Hosts = append(az.Hosts, htmlHost{Name: c.Host, Code: c.Code, Title: title, Detail: checkDetail(c, lang), Remedy: remedy})
			}
		}
		pg.Azure = az
	}
	return htmlTmpl.Execute(w, pg)
}

// chartBars are the outcome chart's bars: one per problem group (by code) and
// one each for the hosts that ended ok and unchanged, largest first.
func chartBars(v *view) []htmlBar {
	var bars []htmlBar
	for _, g := range v.groups {
		label, title := g.Code, g.Title
		if label == "" {
			label, title = outcomeLabel(g.Outcome, v.lang), ""
		}
		bars = append(bars, htmlBar{Label: label, Title: title, Kind: "code", Count: len(g.Hosts), Color: classFill(g.Class, g.Outcome)})
	}
	for _, o := range []Outcome{OutcomeOK, OutcomeUnchanged} {
		if n := len(v.fine[o]); n > 0 {
			bars = append(bars, htmlBar{Label: outcomeLabel(o, v.lang), Kind: "outcome", Count: n, Color: outcomeFill[o]})
		}
	}
	sort.SliceStable(bars, func(i, j int) bool { return bars[i].Count > bars[j].Count })
	return bars
}

func outcomeChart(v *view) htmlChart {
	const rowH, barH, labelW, barMax = 26, 18, 260, 440
	c := htmlChart{Width: labelW + barMax + 60, LabelW: labelW, BarX: labelW + 8}
	bars := chartBars(v)
	most := 1
	for _, b := range bars {
		most = max(most, b.Count)
	}
	for i, b := range bars {
		b.Y = 8 + i*rowH
		b.TextY = b.Y + barH - 4
		b.W = max(2, b.Count*barMax/most)
		b.CountX = c.BarX + b.W + 6
		b.Shown = termtext.ElideMiddle(b.Label, 38)
		c.Bars = append(c.Bars, b)
	}
	c.Height = 16 + len(bars)*rowH
	return c
}

func timelineSVG(v *view, tl *Timeline) *htmlTimeline {
	const rowH, labelW, plotW = 18, 190, 760
	t := &htmlTimeline{Width: labelW + plotW + 20, LabelW: labelW}
	total := tl.End.Sub(tl.Start)
	if total <= 0 {
		total = time.Second
	}
	x := func(at time.Time) int {
		if at.IsZero() {
			return labelW
		}
		d := at.Sub(tl.Start)
		return labelW + int(int64(plotW)*int64(max(d, 0))/int64(total))
	}
	width := func(a, b time.Time) int { return max(2, x(b)-x(a)) }
	// Hosts needing attention first, then the others, in journal order.
	attention := map[string]bool{}
	for _, h := range v.problems {
		attention[h.Name] = true
	}
	rows := make([]*HostTimeline, 0, len(tl.Hosts))
	for i := range tl.Hosts {
		if attention[tl.Hosts[i].Host] {
			rows = append(rows, &tl.Hosts[i])
		}
	}
	for i := range tl.Hosts {
		if !attention[tl.Hosts[i].Host] {
			rows = append(rows, &tl.Hosts[i])
		}
	}
	if len(rows) > maxTimelineRows {
		t.More = fmt.Sprintf(word(v.lang, "more_rows"), len(rows)-maxTimelineRows)
		rows = rows[:maxTimelineRows]
	}
	top := 28
	for i, h := range rows {
		y := top + i*rowH
		row := htmlRow{Host: h.Host, Label: termtext.ElideMiddle(h.Host, 30), Y: y, TextY: y + rowH - 5}
		if !h.Started.IsZero() {
			end := h.Ended
			if end.IsZero() {
				end = tl.End
			}
			row.LifeX, row.LifeW = x(h.Started), width(h.Started, end)
		}
		for _, s := range h.Spans {
			rc := htmlRect{X: x(s.From), Y: y + 3, W: width(s.From, s.To), H: rowH - 6}
			switch s.Kind {
			case SpanWait:
				rc.Fill, rc.Class, rc.Dashed = "#fff3c4", "wait", true
				rc.Title = fmt.Sprintf("%s: %s %s", h.Host, word(v.lang, "wait"), fmtDuration(s.To.Sub(s.From)))
			default:
				rc.Fill, rc.Class = classFill(s.Class, OutcomeFailed), "attempt"
				if s.Code == string(OutcomeInterrupted) {
					rc.Fill = outcomeFill[OutcomeInterrupted]
				}
				rc.Title = strings.TrimSpace(fmt.Sprintf("%s: %s #%d %s %s", h.Host, s.Step, s.Attempt, s.Code, fmtDuration(s.To.Sub(s.From))))
			}
			row.Rects = append(row.Rects, rc)
		}
		if h.Started.IsZero() && !h.Ended.IsZero() { // never started: a mark where it was given up
			row.Rects = append(row.Rects, htmlRect{X: x(h.Ended), Y: y + 3, W: 3, H: rowH - 6, Fill: outcomeFill[h.Outcome], Class: "skipped",
				Title: fmt.Sprintf("%s: %s %s", h.Host, outcomeLabel(h.Outcome, v.lang), h.Code)})
		}
		t.Rows = append(t.Rows, row)
	}
	bottom := top + len(rows)*rowH
	t.AxisY = bottom + 14
	t.Height = bottom + 24
	for i := 0; i <= 4; i++ {
		at := tl.Start.Add(total * time.Duration(i) / 4)
		t.Ticks = append(t.Ticks, htmlTick{X: x(at), Label: fmtDuration(at.Sub(tl.Start))})
	}
	for _, m := range tl.Marks {
		ln := htmlLine{X: x(m.At), Y1: 14, Y2: bottom, LabelX: x(m.At) + 3, TextAnchor: "start"}
		if ln.X > labelW+plotW*2/3 {
			ln.LabelX, ln.TextAnchor = ln.X-3, "end"
		}
		switch m.Kind {
		case MarkBreaker:
			ln.Color, ln.Label, ln.Title = "#ad1457", word(v.lang, "legend_breaker"), m.Label
		case MarkRunStart:
			if m.At.Equal(tl.Start) {
				continue // the run's own start is the axis's 0
			}
			ln.Color, ln.Label, ln.Title = "#546e7a", m.Label, m.Label
		default:
			continue
		}
		t.Marks = append(t.Marks, ln)
	}
	return t
}

var htmlTmpl = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#212121;background:#fff;max-width:1100px}
h1{font-size:1.5em;margin:0 0 .5em}h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table.facts td{padding:2px 12px 2px 0;vertical-align:top}table.facts td:first-child{color:#616161}
.notice{background:#fff3e0;border-left:4px solid #ef6c00;padding:6px 10px;margin:6px 0}
svg{display:block;max-width:100%;height:auto}svg text{font-size:12px;font-family:inherit}
.group{margin:0 0 12px}.group .code{font-weight:600}.group .hosts{color:#616161}
.cause,.fix{margin:2px 0 2px 16px}.fix{color:#1b5e20}
details{margin:6px 0;border:1px solid #e0e0e0;border-radius:4px;padding:4px 8px}summary{cursor:pointer;font-weight:600}
pre{background:#f5f5f5;padding:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all;font-size:12px}
dl{margin:4px 0}dt{color:#616161;float:left;clear:left;width:8em}dd{margin-left:8.5em}
.legend span{display:inline-block;margin-right:16px;font-size:12px}.legend i{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<table class="facts">{{range .Facts}}<tr><td>{{.K}}</td><td>{{.V}}</td></tr>{{end}}</table>
{{range .Notices}}<p class="notice">{{.}}</p>{{end}}

<h2 id="chart">{{.W.chart}}</h2>
<svg id="outcome-chart" role="img" aria-label="{{.W.chart}}" width="{{.Chart.Width}}" height="{{.Chart.Height}}" viewBox="0 0 {{.Chart.Width}} {{.Chart.Height}}" xmlns="http://www.w3.org/2000/svg">
{{- $c := .Chart}}{{range .Chart.Bars}}
<g class="bar" data-label="{{.Label}}" data-kind="{{.Kind}}" data-count="{{.Count}}">
<title>{{.Label}}{{if .Title}} {{.Title}}{{end}}: {{.Count}}</title>
<text x="{{$c.LabelW}}" y="{{.TextY}}" text-anchor="end">{{.Shown}}</text>
<rect x="{{$c.BarX}}" y="{{.Y}}" width="{{.W}}" height="18" fill="{{.Color}}"></rect>
<text class="count" x="{{.CountX}}" y="{{.TextY}}">{{.Count}}</text>
</g>{{end}}
</svg>

<h2 id="timeline">{{.W.timeline}}</h2>
{{if .Timeline}}{{$t := .Timeline}}
<p class="legend"><span><i style="background:#2e7d32"></i>{{.W.legend_ok}}</span><span><i style="background:#c62828"></i>{{.W.legend_fail}}</span><span><i style="background:#f9a825"></i>{{.W.legend_retry}}</span><span><i style="background:#fff3c4;border:1px dashed #f9a825"></i>{{.W.wait}}</span><span><i style="background:#ad1457"></i>{{.W.legend_breaker}}</span></p>
<svg id="timeline-chart" role="img" aria-label="{{.W.timeline}}" width="{{$t.Width}}" height="{{$t.Height}}" viewBox="0 0 {{$t.Width}} {{$t.Height}}" xmlns="http://www.w3.org/2000/svg">
{{- range $t.Rows}}
<g class="host" data-host="{{.Host}}">
<text x="{{$t.LabelW}}" dx="-6" y="{{.TextY}}" text-anchor="end">{{.Label}}<title>{{.Host}}</title></text>
{{if .LifeW}}<rect class="life" x="{{.LifeX}}" y="{{.Y}}" width="{{.LifeW}}" height="18" fill="#eceff1"></rect>{{end}}
{{- range .Rects}}
<rect class="{{.Class}}" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="{{.Fill}}"{{if .Dashed}} stroke="#f9a825" stroke-dasharray="3 2"{{end}}><title>{{.Title}}</title></rect>
{{- end}}
</g>{{end}}
{{- range $t.Marks}}
<g class="mark" data-label="{{.Label}}"><line x1="{{.X}}" y1="{{.Y1}}" x2="{{.X}}" y2="{{.Y2}}" stroke="{{.Color}}" stroke-width="2" stroke-dasharray="6 3"></line><text x="{{.LabelX}}" y="{{.Y1}}" text-anchor="{{.TextAnchor}}" fill="{{.Color}}">{{.Label}}<title>{{.Title}}</title></text></g>
{{- end}}
{{- range $t.Ticks}}
<text class="tick" x="{{.X}}" y="{{$t.AxisY}}" text-anchor="middle" fill="#616161">{{.Label}}</text>
{{- end}}
</svg>
{{if $t.More}}<p>{{$t.More}}</p>{{end}}
{{else}}<p>{{.NoTimeline}}</p>{{end}}

{{if .Groups}}<h2 id="groups">{{.W.by_code}}</h2>
{{range .Groups}}<div class="group" data-code="{{.Code}}" data-count="{{.Count}}"><div><span class="code">{{.Code}}</span> {{.Title}} <span class="hosts">({{.Count}}: {{.Hosts}})</span></div>
{{if .Cause}}<div class="cause">{{$.W.cause}}: {{.Cause}}</div>{{end}}{{if .Remedy}}<div class="fix">{{$.W.fix}}: {{.Remedy}}</div>{{end}}</div>
{{end}}
<h2 id="hosts">{{.W.attention}}</h2>
{{range .Hosts}}<details class="host-evidence" data-host="{{.Name}}"><summary>{{.Name}}: {{.Outcome}}{{if .Code}}, {{.Code}} {{.Title}}{{end}}</summary>
<dl>{{if .Cause}}<dt>{{$.W.cause}}</dt><dd>{{.Cause}}</dd>{{end}}{{if .Remedy}}<dt>{{$.W.fix}}</dt><dd>{{.Remedy}}</dd>{{end}}{{if .Detail}}<dt>{{$.W.detail}}</dt><dd>{{.Detail}}</dd>{{end}}{{if .Attempts}}<dt>{{$.W.attempts}}</dt><dd>{{.Attempts}}</dd>{{end}}{{if .Log}}<dt>{{$.W.log}}</dt><dd><code>{{.Log}}</code></dd>{{end}}</dl>
{{if .Evidence}}<pre>{{range .Evidence}}{{.}}
{{end}}</pre>{{end}}
</details>
{{end}}{{else}}<p>{{.W.no_problem}}</p>{{end}}

{{if .Fine}}<h2 id="fine">{{.W.as_planned}}</h2>
<table class="facts">{{range .Fine}}<tr><td>{{.K}}</td><td>{{.V}}</td></tr>{{end}}</table>{{end}}

{{with .Azure}}<h2 id="azure">{{.Title}}</h2>
<p>{{.Summary}}</p>{{if .AllOK}}<p>{{.AllOK}}</p>{{end}}
{{range .Hosts}}<div class="group azure-check" data-host="{{.Name}}" data-code="{{.Code}}"><div><span class="code">{{.Name}}</span> {{.Code}} {{.Title}}</div>
{{if .Detail}}<div class="cause">{{$.W.detail}}: {{.Detail}}</div>{{end}}{{if .Remedy}}<div class="fix">{{$.W.fix}}: {{.Remedy}}</div>{{end}}</div>
{{end}}{{end}}

{{if .Noted}}<h2 id="notes">{{.W.notes}}</h2>
{{range .Noted}}<p><b>{{.Name}}</b> ({{.Outcome}})</p><ul>{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}{{end}}
</body>
</html>
`))
