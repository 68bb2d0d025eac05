package executor

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/termtext"
)

// oldCheckReport is the check report (table at width 100000, Markdown) as
// cmd/arcfleet rendered it before it said its words by key (commit e31c2dd,
// cmd/arcfleet/cmd_check.go, copied as it was): the English that the report
// must still say word for word.
func oldCheckReport(checks []HostCheck, lang string) (table, md string) {
	type checkGroup struct {
		Cause, Code, Title, Remedy string
		Hosts, Endpoints           []string
		Evidence                   string
	}
	notCheckedTitle := map[string][2]string{
		VerdictUnreachable: {"Host unreachable: not checked", "Värden går inte att nå: inte kontrollerad"},
		VerdictHostKey:     {"Host key not verified: not checked", "Värdnyckeln verifierades inte: inte kontrollerad"},
		VerdictAuth:        {"Login refused: not checked", "Inloggningen nekades: inte kontrollerad"},
		VerdictError:       {"Error: not checked", "Fel: inte kontrollerad"},
		CheckBlocked:       {"Blocked by validation: not checked", "Stoppad av valideringen: inte kontrollerad"},
	}
	plural := func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	}
	var groups []checkGroup
	clear := 0
	li := 0
	if lang == "sv" {
		li = 1
	}
	idx := map[string]int{}
	group := func(cause, code, title, remedy string) *checkGroup {
		k := cause + "\x00" + code
		if i, ok := idx[k]; ok {
			return &groups[i]
		}
		idx[k] = len(groups)
		groups = append(groups, checkGroup{Cause: cause, Code: code, Title: title, Remedy: remedy})
		return &groups[len(groups)-1]
	}
	for _, hc := range checks {
		switch hc.Verdict {
		case CheckClear:
			clear++
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
				if g.Evidence == "" && f.Evidence != "" {
					g.Evidence = hc.Host + ": " + f.Evidence
				}
			}
		default:
			t := notCheckedTitle[hc.Verdict][li]
			if t == "" {
				t = hc.Verdict
			}
			g := group("not-checked:"+hc.Verdict, "", t, "")
			g.Hosts = append(g.Hosts, hc.Host)
			if g.Evidence == "" && hc.Detail != "" {
				g.Evidence = hc.Host + ": " + hc.Detail
			}
		}
	}
	sort.SliceStable(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		an, bn := strings.HasPrefix(a.Cause, "not-checked:"), strings.HasPrefix(b.Cause, "not-checked:")
		if an != bn {
			return bn
		}
		if len(a.Hosts) != len(b.Hosts) {
			return len(a.Hosts) > len(b.Hosts)
		}
		return a.Cause < b.Cause
	})
	n := len(checks)
	var summary string
	if clear == n {
		summary = fmt.Sprintf("%d %s checked, all clear.", n, plural(n, "host", "hosts"))
	} else {
		summary = fmt.Sprintf("%d of %d %s clear; %d %s: %d %s.", clear, n, plural(n, "host", "hosts"),
			n-clear, plural(n-clear, "needs attention", "need attention"), len(groups), plural(len(groups), "cause", "causes"))
	}

	// table
	width := 100000
	var w bytes.Buffer
	t := termtext.Table{Head: []string{"HOST", "OS", "AGENT", "VERDICT", "CAUSES"},
		Modes: []termtext.Mode{termtext.Elide, termtext.Keep, termtext.Elide, termtext.Keep, termtext.Wrapped}, Mins: []int{8, 0, 8, 0, 12}}
	for _, hc := range checks {
		v := hc.AgentVersion
		if v == "" {
			v = "-"
		}
		t.Rows = append(t.Rows, []string{hc.Host, hc.OS, v, hc.Verdict, hostCauses(hc)})
	}
	if err := t.Render(&w, width); err != nil {
		panic(err)
	}
	for _, g := range groups {
		head := g.Title
		if g.Code != "" {
			head = g.Code + ": " + g.Title
		}
		fmt.Fprintf(&w, "\n%s", termtext.Paragraph(fmt.Sprintf("%s (%d %s: %s)", head, len(g.Hosts), plural(len(g.Hosts), "host", "hosts"), strings.Join(g.Hosts, ", ")), width, "", "  "))
		if len(g.Endpoints) > 0 {
			fmt.Fprint(&w, termtext.Paragraph("endpoints: "+strings.Join(g.Endpoints, ", "), width, "  ", "    "))
		}
		if g.Evidence != "" {
			fmt.Fprint(&w, termtext.Paragraph("evidence: "+g.Evidence, width, "  ", "    "))
		}
		if g.Remedy != "" {
			fmt.Fprint(&w, termtext.Paragraph("fix: "+g.Remedy, width, "  ", "    "))
		}
	}
	fmt.Fprintf(&w, "\n%s\n", summary)

	// markdown
	var m bytes.Buffer
	fmt.Fprintf(&m, "# arcfleet check\n\n%s\n\n", summary)
	if len(groups) > 0 {
		fmt.Fprintf(&m, "| cause | code | hosts | endpoints | evidence | fix |\n|---|---|---|---|---|---|\n")
		for _, g := range groups {
			fmt.Fprintf(&m, "| %s | %s | %s | %s | %s | %s |\n", mdCell(g.Title), mdCell(g.Code), mdCell(strings.Join(g.Hosts, ", ")),
				mdCell(strings.Join(g.Endpoints, ", ")), mdCell(g.Evidence), mdCell(g.Remedy))
		}
		fmt.Fprintln(&m)
	}
	fmt.Fprintf(&m, "| host | os | agent | verdict | causes |\n|---|---|---|---|---|\n")
	for _, hc := range checks {
		fmt.Fprintf(&m, "| %s | %s | %s | %s | %s |\n", mdCell(hc.Host), hc.OS, mdCell(hc.AgentVersion), hc.Verdict, mdCell(hostCauses(hc)))
	}
	return w.String(), m.String()
}
