package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/executor"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/termtext"

	"github.com/spf13/pflag"
)

const checkUsage = `Usage: arcfleet check -i INVENTORY [--limit EXPR] [--format table|markdown|json]
                      [--concurrency N] [--timeout D] [--min-agent-version V] [--lang en|sv]

Runs the agent's own network pre-flight on every selected host, read-only:
'azcmagent check' with the host's location and cloud, and --enable-pls-check when
the host connects over a Private Link Scope (azure.private_link_scope), after
'azcmagent show' for the agent's version. Nothing on the host changes, no
service-principal secret is read (login secrets are), and the host lock is not
taken: a check may run while a connect is under way.

The report groups hosts by cause, each with its code ('arcfleet codes CODE'),
the endpoints concerned, one line of evidence and the fix: DNS failure, a
proxy that refuses, a configured proxy that cannot be reached, a firewall that
drops the traffic (timeout), TLS inspection, a private endpoint missing (Private
Link meant) or unexpected (none meant), an endpoint blocked for a reason the
output does not tell, an agent older than the host's agent.min_version (or
--min-agent-version), an Azure VM (the agent refuses them), a check that did
not run; then hosts that could not be
checked (unreachable, host key, login, blocked by validation).

Exit status: 0 every host checked and clear; 3 findings, or hosts not checked;
2 invalid input (as validate); 130 interrupted.

Flags:
`

func cmdCheck(e *env, fs *pflag.FlagSet) func(context.Context, []string) int {
	var file, limit, format, lang, minVer string
	var rf runFlags
	fs.StringVarP(&file, "inventory", "i", "", "inventory file (YAML)")
	fs.StringVarP(&limit, "limit", "l", "", "check only these hosts (names, globs, group:NAME, tag:K=V, os:windows, !EXCLUDE, @FILE)")
	fs.StringVar(&format, "format", "table", "output: table, markdown or json")
	fs.StringVar(&lang, "lang", "en", "language of causes and fixes: en or sv")
	fs.StringVar(&minVer, "min-agent-version", "", "report hosts whose agent is older than this version (e.g. 1.50); default: each host's agent.min_version from the inventory")
	fs.IntVar(&rf.concurrency, "concurrency", 50, "hosts checked at once")
	fs.DurationVar(&rf.timeout, "timeout", 2*time.Minute, "time limit per host and command (the agent's check tests every endpoint)")
	return func(ctx context.Context, pos []string) int {
		if len(pos) > 0 {
			fmt.Fprintf(e.stderr, "arcfleet check: unexpected argument %q\n\n", pos[0])
			printUsage(e.stderr, fs, checkUsage)
			return exitInvalid
		}
		if file == "" {
			fmt.Fprintf(e.stderr, "arcfleet check: -i INVENTORY is required\n\n")
			printUsage(e.stderr, fs, checkUsage)
			return exitInvalid
		}
		switch format {
		case "table", "markdown", "json":
		default:
			fmt.Fprintf(e.stderr, "arcfleet check: --format %q: use table, markdown or json\n", format)
			return exitInvalid
		}
		if lang != "en" && lang != "sv" {
			fmt.Fprintf(e.stderr, "arcfleet check: --lang %q: use en or sv\n", lang)
			return exitInvalid
		}
		if minVer != "" && strings.Trim(minVer, "0123456789.") != "" {
			fmt.Fprintf(e.stderr, "arcfleet check: --min-agent-version %q: use a version such as 1.50 or 1.50.03036.1885\n", minVer)
			return exitInvalid
		}
		inv, hosts, code := loadSelection(e, "check", file, agent.ActionConnect, limit)
		if code != exitOK {
			return code
		}
		p := plan.Build(inv, hosts, agent.ActionConnect, limit, time.Now())
		// The version gate: --min-agent-version, else each host's
		// agent.min_version from the inventory (defaults, groups, host).
		mins := map[string]string{}
		for _, hp := range p.Hosts {
			mins[hp.Host.Name] = hp.Host.Agent.MinVersion
			if minVer != "" {
				mins[hp.Host.Name] = minVer
			}
		}
		opts := executor.CheckOptions{MinVersion: func(h string) string { return mins[h] }}
		checks, err := rf.executor(e).Check(ctx, p, opts)
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(e.stderr, "arcfleet check: %v\n", err)
			return exitInvalid
		}
		rep := buildCheckReport(checks, lang)
		var werr error
		switch format {
		case "json":
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			werr = enc.Encode(rep)
		case "markdown":
			werr = rep.markdown(e.stdout)
		default:
			werr = rep.table(e.stdout, outputWidth(e))
		}
		if werr != nil {
			fmt.Fprintf(e.stderr, "arcfleet check: writing the report: %v\n", werr)
			return exitInvalid
		}
		fmt.Fprintf(e.stderr, "arcfleet check: %s\n", rep.Summary)
		if ctx.Err() != nil {
			return exitInterrupted
		}
		if rep.Clear == len(checks) {
			return exitOK
		}
		return exitHostsFailed
	}
}

// checkGroup is one cause and the hosts that show it.
type checkGroup struct {
	Cause     string   `json:"cause"`
	Code      string   `json:"code,omitempty"`
	Title     string   `json:"title"`
	Remedy    string   `json:"remedy,omitempty"`
	Hosts     []string `json:"hosts"`
	Endpoints []string `json:"endpoints,omitempty"`
	Evidence  string   `json:"evidence,omitempty"`
}

type checkReport struct {
	Summary string               `json:"summary"`
	Clear   int                  `json:"clear"`
	Groups  []checkGroup         `json:"groups"`
	Hosts   []executor.HostCheck `json:"hosts"`
}

// Titles of the verdicts of hosts that were not checked.
var notCheckedTitle = map[string][2]string{
	executor.VerdictUnreachable: {"Host unreachable: not checked", "Värden går inte att nå: inte kontrollerad"},
	executor.VerdictHostKey:     {"Host key not verified: not checked", "Värdnyckeln verifierades inte: inte kontrollerad"},
	executor.VerdictAuth:        {"Login refused: not checked", "Inloggningen nekades: inte kontrollerad"},
	executor.VerdictError:       {"Error: not checked", "Fel: inte kontrollerad"},
	executor.CheckBlocked:       {"Blocked by validation: not checked", "Stoppad av valideringen: inte kontrollerad"},
}

func buildCheckReport(checks []executor.HostCheck, lang string) checkReport {
	rep := checkReport{Hosts: checks}
	if rep.Hosts == nil {
		rep.Hosts = []executor.HostCheck{}
	}
	li := 0
	if lang == "sv" {
		li = 1
	}
	idx := map[string]int{}
	group := func(cause, code, title, remedy string) *checkGroup {
		k := cause + "\x00" + code
		if i, ok := idx[k]; ok {
			return &rep.Groups[i]
		}
		idx[k] = len(rep.Groups)
		rep.Groups = append(rep.Groups, checkGroup{Cause: cause, Code: code, Title: title, Remedy: remedy})
		return &rep.Groups[len(rep.Groups)-1]
	}
	for _, hc := range checks {
		switch hc.Verdict {
		case executor.CheckClear:
			rep.Clear++
			continue
		case executor.CheckFindings:
			for _, f := range hc.Findings {
				title, remedy := f.Cause, ""
				if en, ok := results.Lookup(f.Code); ok {
					title, _, remedy = en.Text(lang)
				}
				g := group(f.Cause, f.Code, title, remedy)
				g.Hosts = append(g.Hosts, hc.Host)
				for _, ep := range f.Endpoints {
					if !containsStr(g.Endpoints, ep) {
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
		rep.Groups = []checkGroup{}
	}
	n := len(checks)
	if rep.Clear == n {
		rep.Summary = fmt.Sprintf("%d %s checked, all clear.", n, plural(n, "host", "hosts"))
	} else {
		rep.Summary = fmt.Sprintf("%d of %d %s clear; %d %s: %d %s.", rep.Clear, n, plural(n, "host", "hosts"),
			n-rep.Clear, plural(n-rep.Clear, "needs attention", "need attention"), len(rep.Groups), plural(len(rep.Groups), "cause", "causes"))
	}
	return rep
}

func containsStr(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func hostCauses(hc executor.HostCheck) string {
	if hc.Verdict != executor.CheckFindings {
		return "-"
	}
	var c []string
	for _, f := range hc.Findings {
		c = append(c, f.Code)
	}
	return strings.Join(c, ", ")
}

// table: one line per host, then one block per cause, fitted to width.
func (r checkReport) table(w io.Writer, width int) error {
	t := termtext.Table{Head: []string{"HOST", "OS", "AGENT", "VERDICT", "CAUSES"},
		Modes: []termtext.Mode{termtext.Elide, termtext.Keep, termtext.Elide, termtext.Keep, termtext.Wrapped}, Mins: []int{8, 0, 8, 0, 12}}
	for _, hc := range r.Hosts {
		v := hc.AgentVersion
		if v == "" {
			v = "-"
		}
		t.Rows = append(t.Rows, []string{hc.Host, hc.OS, v, hc.Verdict, hostCauses(hc)})
	}
	if err := t.Render(w, width); err != nil {
		return err
	}
	r.groups(w, width)
	_, err := fmt.Fprintf(w, "\n%s\n", r.Summary)
	return err
}

// groups writes one block per cause: code and title, hosts, endpoints, one
// line of evidence, the fix.
func (r checkReport) groups(w io.Writer, width int) {
	for _, g := range r.Groups {
		head := g.Title
		if g.Code != "" {
			head = g.Code + ": " + g.Title
		}
		fmt.Fprintf(w, "\n%s", termtext.Paragraph(fmt.Sprintf("%s (%d %s: %s)", head, len(g.Hosts), plural(len(g.Hosts), "host", "hosts"), strings.Join(g.Hosts, ", ")), width, "", "  "))
		if len(g.Endpoints) > 0 {
			fmt.Fprint(w, termtext.Paragraph("endpoints: "+strings.Join(g.Endpoints, ", "), width, "  ", "    "))
		}
		if g.Evidence != "" {
			fmt.Fprint(w, termtext.Paragraph("evidence: "+g.Evidence, width, "  ", "    "))
		}
		if g.Remedy != "" {
			fmt.Fprint(w, termtext.Paragraph("fix: "+g.Remedy, width, "  ", "    "))
		}
	}
}

func mdCell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

func (r checkReport) markdown(w io.Writer) error {
	fmt.Fprintf(w, "# arcfleet check\n\n%s\n\n", r.Summary)
	if len(r.Groups) > 0 {
		fmt.Fprintf(w, "| cause | code | hosts | endpoints | evidence | fix |\n|---|---|---|---|---|---|\n")
		for _, g := range r.Groups {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", mdCell(g.Title), mdCell(g.Code), mdCell(strings.Join(g.Hosts, ", ")),
				mdCell(strings.Join(g.Endpoints, ", ")), mdCell(g.Evidence), mdCell(g.Remedy))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "| host | os | agent | verdict | causes |\n|---|---|---|---|---|\n")
	for _, hc := range r.Hosts {
		_, err := fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", mdCell(hc.Host), hc.OS, mdCell(hc.AgentVersion), hc.Verdict, mdCell(hostCauses(hc)))
		if err != nil {
			return err
		}
	}
	return nil
}
