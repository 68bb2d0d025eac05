package executor

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/transport"
)

// checkFleet is the fake fleet with some dials failing with the given
// errors, and some hosts' probe and check steps printing what is given.
type checkFleet struct {
	*exFleet
	dial   map[string]error
	probe  map[string]string   // the probe step prints this instead of the fake agent's show
	check  map[string]checkOut // the check step prints this
	runErr map[string]error    // the check step's Run ends with this error
}

type checkOut struct {
	stdout, stderr string
	exit           int
}

func (f *checkFleet) Dial(ctx context.Context, t transport.Target) (transport.Conn, error) {
	if err := f.dial[t.Name]; err != nil {
		return nil, err
	}
	c, err := f.exFleet.Dial(ctx, t)
	if err != nil {
		return c, err
	}
	return &checkConn{Conn: c, f: f, name: t.Name}, nil
}

type checkConn struct {
	transport.Conn
	f    *checkFleet
	name string
}

func (c *checkConn) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	switch step := exStepOf(cmd); {
	case step == agent.StepProbe && c.f.probe[c.name] != "":
		io.WriteString(stdout, c.f.probe[c.name])
		return 0, nil
	case step == agent.StepCheck && c.f.runErr[c.name] != nil:
		return -1, c.f.runErr[c.name]
	case step == agent.StepCheck:
		if o, ok := c.f.check[c.name]; ok {
			io.WriteString(stdout, o.stdout)
			io.WriteString(stderr, o.stderr)
			return o.exit, nil
		}
	}
	return c.Conn.Run(ctx, cmd, stdin, stdout, stderr)
}

// checkTable is `azcmagent check`'s table with the given endpoints unreachable.
func checkTable(unreachable ...string) string {
	var b strings.Builder
	b.WriteString("ENDPOINT | REACHABLE | PRIVATE | TLS | PROXY\n")
	for _, ep := range []string{"https://management.azure.com", "https://login.microsoftonline.com", "https://gbl.his.arc.azure.com", "https://westeurope.his.arc.azure.com"} {
		r := "true"
		for _, u := range unreachable {
			if u == ep {
				r = "false"
			}
		}
		b.WriteString(ep + " | " + r + " | false | unknown | not set\n")
	}
	return b.String()
}

// checkRun runs `arcfleet check` on a fake fleet whose hosts show each thing
// the check report says: a clear host, network causes from the agent's
// output, an agent not installed, a check that printed no table, an agent
// below the minimum, an Azure VM, hosts whose dial fails for each of the
// transport's reasons (real SSH and WinRM errors), a check step whose
// connection is lost or that times out, a jump host not in the plan, a
// secret that does not resolve, and a host blocked by validation.
func checkRun(t *testing.T) []HostCheck {
	t.Helper()
	dialErrs := realDialErrors(t)
	f := newExFleet()
	names := []string{"ok", "dns", "fw", "gone", "noout", "old", "azvm", "refused", "silent", "hostkey", "auth", "tls", "winauth",
		"lost", "hang", "via", "secret", "invalid"}
	for _, n := range names {
		f.add(n, &exHost{})
	}
	f.hosts["noout"].exits = map[string][]int{agent.StepCheck: {3}}
	f.hosts["hang"].hang = map[string]bool{agent.StepCheck: true}
	lost := (&transport.Error{Kind: transport.Lost, Host: "lost", Op: "run",
		Err: transport.NewPhrase(transport.ErrConnLost, io.ErrUnexpectedEOF, io.ErrUnexpectedEOF.Error())}).WithHint(transport.HintOutcomeUnknown)
	all := checkTable()
	cf := &checkFleet{exFleet: f, dial: dialErrs, runErr: map[string]error{"lost": lost},
		probe: map[string]string{"azvm": `{"status":"Disconnected","cloudProvider":"Azure"}` + "\n" + agent.AgentVersionMarker + "azcmagent version 1.50.0\n"},
		check: map[string]checkOut{
			"ok": {stdout: all}, "old": {stdout: all}, "azvm": {stdout: all},
			"dns":  {stdout: `Get "https://management.azure.com/": dial tcp: lookup management.azure.com: no such host` + "\n" + checkTable("https://management.azure.com")},
			"fw":   {stdout: `Get "https://gbl.his.arc.azure.com/": dial tcp 20.50.2.1:443: i/o timeout` + "\n" + checkTable("https://gbl.his.arc.azure.com")},
			"gone": {stderr: "sh: 1: azcmagent: not found\n", exit: agent.ExitAgentNotFound},
		}}
	x := exExecutor(f)
	x.Dialer = cf
	x.Timeout = 2 * time.Second
	p := exPlan(agent.ActionConnect, names...)
	for i := range p.Hosts {
		h := &p.Hosts[i].Host
		switch h.Name {
		case "secret":
			h.SSH.Password = inventory.SecretRef{Env: "ARC_NO_SUCH_PASSWORD"}
		case "via":
			h.SSH.Via = "nowhere"
		case "invalid":
			inv := &inventory.Inventory{File: "x.yaml", Hosts: []inventory.Host{{Name: "invalid", OS: "linux", Transport: "ssh", Pos: inventory.Pos{File: "x.yaml", Line: 3, Col: 5},
				SSH:   inventory.SSH{User: "u", UseAgent: true, HostKeyPolicy: "strict"},
				Azure: inventory.Azure{TenantID: "t", SubscriptionID: "0b1f6471-1bf0-4dda-aec3-cb9272f09590", ResourceGroup: "rg", Location: "eastus2", Cloud: "Moon"}}}}
			p.Hosts[i].Findings = inventory.Validate(inv, []*inventory.Host{&inv.Hosts[0]}, "connect")
			if len(p.Hosts[i].Findings) == 0 {
				t.Fatal("no finding")
			}
		}
	}
	checks, err := x.Check(context.Background(), p, CheckOptions{MinVersion: func(h string) string {
		if h == "old" {
			return "1.60"
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	return checks
}

// renderCheck is the check report of checks in lang: the table (at a width
// that wraps nothing) and the Markdown.
var renderCheck = func(checks []HostCheck, lang string) (table, md string) {
	rep := BuildCheckReport(checks, lang)
	var tb, mb bytes.Buffer
	if err := rep.Table(&tb, 100000); err != nil {
		panic(err)
	}
	if err := rep.Markdown(&mb); err != nil {
		panic(err)
	}
	return tb.String(), mb.String()
}

// `arcfleet check --lang sv` holds none of arcfleet's English: the summary,
// the headings, the verdicts, the labels, the titles of hosts not checked,
// the details of hosts not checked (the transport's, the executor's, the
// inventory's words) and the evidence arcfleet writes; what a host or the
// agent printed stays as it was. Each host's check is rendered alone too
// (a group shows its first host's evidence). The English report is word for
// word the renderer's before it had keys (oldCheckReport).
func TestSwedishCheckReportHasNoEnglish(t *testing.T) {
	checks := checkRun(t)
	byName := map[string]HostCheck{}
	for _, hc := range checks {
		byName[hc.Host] = hc
	}
	// arcfleet's words each host's detail or evidence holds in English.
	words := dialWords(map[string][]string{
		"lost":    {"check: lost: run: lost: ", "connection lost: ", "the command's outcome is unknown: check the host before retrying"},
		"hang":    {"check: hang: run: "},
		"via":     {": no such host in the inventory or plan; fix: add it to the inventory (and to the plan's --limit)"},
		"secret":  {"host secret: ssh.password", "environment variable ARC_NO_SUCH_PASSWORD is not set", "; fix: export", "before running arcfleet"},
		"invalid": {"; fix: "},
		"gone":    {"the agent is not installed (exit 127)"},
		"noout":   {"azcmagent check exited 3"},
		"old":     {"agent 1.50.0, min_agent_version 1.60"},
		"azvm":    {"azcmagent show: cloud provider Azure"},
	})
	verdicts := map[string]string{"ok": CheckClear, "dns": CheckFindings, "fw": CheckFindings, "gone": CheckFindings, "noout": CheckFindings,
		"old": CheckFindings, "azvm": CheckFindings, "refused": VerdictUnreachable, "silent": VerdictUnreachable, "hostkey": VerdictHostKey,
		"auth": VerdictAuth, "tls": VerdictHostKey, "winauth": VerdictAuth, "lost": VerdictUnreachable, "hang": VerdictUnreachable,
		"via": VerdictError, "secret": VerdictError, "invalid": CheckBlocked}
	for name, v := range verdicts {
		if hc := byName[name]; hc.Verdict != v {
			t.Errorf("%s: verdict %q, want %q: %+v", name, hc.Verdict, v, hc)
		}
	}
	said := func(hc HostCheck) string {
		s := hc.Detail
		for _, f := range hc.Findings {
			s += "\n" + f.Evidence
		}
		return s
	}
	var english []string
	for name, ws := range words {
		for _, w := range ws {
			if s := said(byName[name]); !strings.Contains(s, w) {
				t.Errorf("%s: %q lacks %q: the check did not take the path under test", name, s, w)
			}
			english = append(english, w)
		}
	}
	// The report's own words.
	english = append(english, " of 18 hosts clear; ", " need attention: ", " causes.", "1 host checked, all clear.",
		"HOST", "VERDICT", "CAUSES", "endpoints: ", "evidence: ", "fix: ", " hosts: ", " host: ",
		"Host unreachable: not checked", "Host key not verified: not checked", "Login refused: not checked", "Error: not checked",
		"Blocked by validation: not checked", "| cause | code | hosts | endpoints | evidence | fix |", "| host | os | agent | verdict | causes |")
	// Verdicts: a word of their own in the host tables.
	enVerdicts := []string{CheckClear, CheckFindings, CheckBlocked, VerdictUnreachable, VerdictHostKey, VerdictAuth, VerdictError}
	if t.Failed() {
		t.FailNow()
	}

	type out struct{ what, table, md string }
	render := func(lang string) []out {
		tb, md := renderCheck(checks, lang)
		outs := []out{{"the fleet", tb, md}}
		for _, hc := range checks {
			tb, md := renderCheck([]HostCheck{hc}, lang)
			outs = append(outs, out{hc.Host, tb, md})
		}
		return outs
	}
	// verdictCells are the verdicts of the host table of a table report (up
	// to the first blank line) and of a Markdown one (after the last).
	verdictCells := func(o out) []string {
		var vs []string
		tb, _, _ := strings.Cut(o.table, "\n\n")
		for i, l := range strings.Split(tb, "\n") {
			if f := strings.Fields(l); i > 0 && len(f) >= 4 {
				vs = append(vs, f[3])
			}
		}
		for i, l := range strings.Split(strings.TrimSpace(o.md[strings.LastIndex(o.md, "\n\n")+2:]), "\n") {
			if c := strings.Split(l, " | "); i > 1 && len(c) >= 4 {
				vs = append(vs, c[3])
			}
		}
		return vs
	}
	en, sv := render("en"), render("sv")
	t.Logf("the Swedish report:\n%s\n%s", sv[0].table, sv[0].md)
	var enAll string
	for _, o := range en {
		enAll += o.table + o.md
	}
	for _, w := range english {
		if !strings.Contains(enAll, w) {
			t.Errorf("the English reports lack %q: the test does not look for what they say", w)
		}
	}
	if got := verdictCells(en[0]); len(got) != 2*len(checks) {
		t.Errorf("English verdicts %q: want %d", got, 2*len(checks))
	}
	for _, v := range enVerdicts {
		if !slices.Contains(verdictCells(en[0]), v) {
			t.Errorf("the English host tables lack the verdict %q: %q", v, verdictCells(en[0]))
		}
	}
	for _, o := range sv {
		for _, s := range []string{o.table, o.md} {
			for _, w := range english {
				if i := strings.Index(s, w); i >= 0 {
					t.Errorf("%s sv holds the English %q: …%s…", o.what, w, s[max(0, i-120):min(len(s), i+len(w)+120)])
				}
			}
		}
		vs := verdictCells(o)
		if o.what == "the fleet" && len(vs) != 2*len(checks) {
			t.Errorf("Swedish verdicts %q: want %d", vs, 2*len(checks))
		}
		for _, v := range vs {
			if slices.Contains(enVerdicts, v) {
				t.Errorf("%s sv: the verdict %q in English:\n%s%s", o.what, v, o.table, o.md)
			}
		}
	}
	// Run data stays: the agent's lines, host names.
	var svAll string
	for _, o := range sv {
		svAll += o.table + o.md
	}
	for _, s := range []string{"dns: Get \"https://management.azure.com/\": dial tcp: lookup management.azure.com: no such host",
		"gone: agenten är inte installerad (slutstatus 127): sh: 1: azcmagent: not found", "noout: `azcmagent check` avslutades med 3"} {
		if !strings.Contains(svAll, s) {
			t.Errorf("sv lacks %q", s)
		}
	}
	if !strings.Contains(sv[0].table, "1 av 18 värdar utan anmärkning; 17 behöver åtgärdas: ") {
		t.Errorf("sv summary:\n%s", sv[0].table)
	}

	// English word for word as the renderer before keys.
	for i, o := range en {
		cs := checks
		if i > 0 {
			cs = []HostCheck{checks[i-1]}
		}
		tb, md := oldCheckReport(cs, "en")
		if o.table != tb {
			t.Errorf("%s en table differs from before:\n got: %q\nwant: %q", o.what, o.table, tb)
		}
		if o.md != md {
			t.Errorf("%s en markdown differs from before:\n got: %q\nwant: %q", o.what, o.md, md)
		}
	}
}
