package executor

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/termtext"
)

// CheckGroup is one cause of `arcfleet check`'s report and the hosts that
// show it.
type CheckGroup struct {
	Cause     string   `json:"cause"`
	Code      string   `json:"code,omitempty"`
	Title     string   `json:"title"`
	Remedy    string   `json:"remedy,omitempty"`
	Hosts     []string `json:"hosts"`
	Endpoints []string `json:"endpoints,omitempty"`
	Evidence  string   `json:"evidence,omitempty"`
}

// CheckReport is `arcfleet check`'s report in one language: the summary, the
// titles, fixes and evidence in it; the hosts' checks as they are (their
// verdicts, causes and codes are identifiers).
type CheckReport struct {
	Summary string       `json:"summary"`
	Clear   int          `json:"clear"`
	Groups  []CheckGroup `json:"groups"`
	Hosts   []HostCheck  `json:"hosts"`
	lang    string
}

// checkSay is key's message with args in lang.
func checkSay(lang, key string, args ...string) string {
	return results.M(key, args...).Text(lang)
}

// BuildCheckReport groups checks by cause (most hosts first, hosts not
// checked last) in lang (en|sv).
func BuildCheckReport(checks []HostCheck, lang string) CheckReport {
	if lang != "sv" {
		lang = "en"
	}
	rep := CheckReport{Hosts: checks, lang: lang}
	if rep.Hosts == nil {
		rep.Hosts = []HostCheck{}
	}
	idx := map[string]int{}
	group := func(cause, code, title, remedy string) *CheckGroup {
		k := cause + "\x00" + code
		if i, ok := idx[k]; ok {
			return &rep.Groups[i]
		}
		idx[k] = len(rep.Groups)
		rep.Groups = append(rep.Groups, CheckGroup{Cause: cause, Code: code, Title: title, Remedy: remedy})
		return &rep.Groups[len(rep.Groups)-1]
	}
	for _, hc := range checks {
		switch hc.Verdict {
		case CheckClear:
			rep.Clear++
			continue
		case CheckFindings:
			for _, f := range hc.Findings {
				title, remedy := f.Cause, ""
				if en, ok := results.Lookup(f.Code); ok {
					title, _, remedy = en.Text(lang)
				}
				g := group(f.Cause, f.Code, title, remedy)
				g.Hosts = append(g.Hosts, hc.Host)
				for _, ep := range f.Endpoints {
					if !slices.Contains(g.Endpoints, ep) {
						g.Endpoints = append(g.Endpoints, ep)
					}
				}
				ev := f.Evidence
				if f.EvidenceMsg != nil && lang != "en" {
					if s := f.EvidenceMsg.Text(lang); s != "" {
						ev = s
					}
				}
				if g.Evidence == "" && ev != "" {
					g.Evidence = hc.Host + ": " + ev
				}
			}
		default:
			t := checkSay(lang, "chk_nc_"+strings.ReplaceAll(hc.Verdict, "-", "_"))
			if t == "" {
				t = hc.Verdict
			}
			g := group("not-checked:"+hc.Verdict, "", t, "")
			g.Hosts = append(g.Hosts, hc.Host)
			if d := hc.DetailText(lang); g.Evidence == "" && d != "" {
				g.Evidence = hc.Host + ": " + d
			}
		}
	}
	// Most hosts first; causes before hosts not checked.
	sort.SliceStable(rep.Groups, func(i, j int) bool {
		a, b := rep.Groups[i], rep.Groups[j]
		an, bn := strings.HasPrefix(a.Cause, "not-checked:"), strings.HasPrefix(b.Cause, "not-checked:")
		if an != bn {
			return bn
		}
		if len(a.Hosts) != len(b.Hosts) {
			return len(a.Hosts) > len(b.Hosts)
		}
		return a.Cause < b.Cause
	})
	if rep.Groups == nil {
		rep.Groups = []CheckGroup{}
	}
	n := len(checks)
	if rep.Clear == n {
		rep.Summary = checkSay(lang, results.Plural(n, "chk_all_clear").Key, strconv.Itoa(n))
	} else {
		rep.Summary = results.M("chk_summary", strconv.Itoa(rep.Clear), strconv.Itoa(n), strconv.Itoa(n-rep.Clear), strconv.Itoa(len(rep.Groups))).
			With(results.Plural(n, "chk_host"), results.Plural(n-rep.Clear, "chk_needs"), results.Plural(len(rep.Groups), "chk_cause")).Text(lang)
	}
	return rep
}

// verdictWord is a verdict in the report's language (the identifier in English).
func (r CheckReport) verdictWord(v string) string {
	return results.CheckVerdictLabel(v, r.lang)
}

func hostCauses(hc HostCheck) string {
	if hc.Verdict != CheckFindings {
		return "-"
	}
	var c []string
	for _, f := range hc.Findings {
		c = append(c, f.Code)
	}
	return strings.Join(c, ", ")
}

// Table writes one line per host, then one block per cause, then the
// summary, fitted to width.
func (r CheckReport) Table(w io.Writer, width int) error {
	l := r.lang
	t := termtext.Table{Head: []string{checkSay(l, "chk_h_host"), "OS", "AGENT", checkSay(l, "chk_h_verdict"), checkSay(l, "chk_h_causes")},
		Modes: []termtext.Mode{termtext.Elide, termtext.Keep, termtext.Elide, termtext.Keep, termtext.Wrapped}, Mins: []int{8, 0, 8, 0, 12}}
	for _, hc := range r.Hosts {
		v := hc.AgentVersion
		if v == "" {
			v = "-"
		}
		t.Rows = append(t.Rows, []string{hc.Host, hc.OS, v, r.verdictWord(hc.Verdict), hostCauses(hc)})
	}
	if err := t.Render(w, width); err != nil {
		return err
	}
	r.WriteGroups(w, width)
	_, err := fmt.Fprintf(w, "\n%s\n", r.Summary)
	return err
}

// WriteGroups writes one block per cause: code and title, hosts, endpoints,
// one line of evidence, the fix.
func (r CheckReport) WriteGroups(w io.Writer, width int) {
	l := r.lang
	for _, g := range r.Groups {
		head := g.Title
		if g.Code != "" {
			head = g.Code + ": " + g.Title
		}
		line := results.M("chk_group", head, strconv.Itoa(len(g.Hosts)), strings.Join(g.Hosts, ", ")).With(results.Plural(len(g.Hosts), "chk_host")).Text(l)
		fmt.Fprintf(w, "\n%s", termtext.Paragraph(line, width, "", "  "))
		if len(g.Endpoints) > 0 {
			fmt.Fprint(w, termtext.Paragraph(checkSay(l, "chk_endpoints", strings.Join(g.Endpoints, ", ")), width, "  ", "    "))
		}
		if g.Evidence != "" {
			fmt.Fprint(w, termtext.Paragraph(checkSay(l, "chk_evidence", g.Evidence), width, "  ", "    "))
		}
		if g.Remedy != "" {
			fmt.Fprint(w, termtext.Paragraph(checkSay(l, "chk_fix", g.Remedy), width, "  ", "    "))
		}
	}
}

func mdCell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

// Markdown writes the summary, a table of causes and a table of hosts.
func (r CheckReport) Markdown(w io.Writer) error {
	fmt.Fprintf(w, "# arcfleet check\n\n%s\n\n", r.Summary)
	if len(r.Groups) > 0 {
		fmt.Fprintf(w, "%s\n|---|---|---|---|---|---|\n", checkSay(r.lang, "chk_md_groups"))
		for _, g := range r.Groups {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", mdCell(g.Title), mdCell(g.Code), mdCell(strings.Join(g.Hosts, ", ")),
				mdCell(strings.Join(g.Endpoints, ", ")), mdCell(g.Evidence), mdCell(g.Remedy))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%s\n|---|---|---|---|---|\n", checkSay(r.lang, "chk_md_hosts"))
	for _, hc := range r.Hosts {
		_, err := fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", mdCell(hc.Host), hc.OS, mdCell(hc.AgentVersion), r.verdictWord(hc.Verdict), mdCell(hostCauses(hc)))
		if err != nil {
			return err
		}
	}
	return nil
}
