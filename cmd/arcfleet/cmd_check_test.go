package main

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/executor"
)

func sampleChecks() []executor.HostCheck {
	fw := agent.CheckFinding{Cause: agent.CauseFirewall, Code: "ARCF-CHECK-FIREWALL", Endpoints: []string{"https://gbl.his.arc.azure.com"},
		Evidence: `Get "https://gbl.his.arc.azure.com": dial tcp 20.50.2.1:443: i/o timeout`}
	dns := agent.CheckFinding{Cause: agent.CauseDNS, Code: "MSG-DNS-LOOKUP-FAILED", Endpoints: []string{"https://management.azure.com"},
		Evidence: "lookup management.azure.com: no such host"}
	return []executor.HostCheck{
		{Host: "web01-with-a-rather-long-name-in-a-big-estate", OS: "linux", Verdict: executor.CheckFindings, AgentVersion: "1.50.03036.1885", Findings: []agent.CheckFinding{dns}},
		{Host: "web02", OS: "linux", Verdict: executor.CheckFindings, AgentVersion: "1.50.03036.1885", Findings: []agent.CheckFinding{dns, fw}},
		{Host: "web03", OS: "windows", Verdict: executor.CheckClear, AgentVersion: "1.50.03036.1885"},
		{Host: "old01", OS: "linux", Verdict: executor.VerdictUnreachable, Detail: "dial: connection refused"},
		{Host: "bad01", OS: "linux", Verdict: executor.CheckBlocked, Detail: "AZCM0017: resource name invalid"},
	}
}

// Grouped by cause, most hosts first, hosts not checked last; each host once
// per cause; the summary counts hosts, not findings.
func TestCheckReportGroups(t *testing.T) {
	rep := buildCheckReport(sampleChecks(), "en")
	var order []string
	for _, g := range rep.Groups {
		order = append(order, g.Cause+":"+strings.Join(g.Hosts, ","))
	}
	want := "dns:web01-with-a-rather-long-name-in-a-big-estate,web02 firewall-timeout:web02 not-checked:blocked:bad01 not-checked:unreachable:old01"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("groups\n got: %s\nwant: %s", got, want)
	}
	if rep.Clear != 1 || rep.Summary != "1 of 5 hosts clear; 4 need attention: 4 causes." {
		t.Errorf("clear %d, summary %q", rep.Clear, rep.Summary)
	}
	if g := rep.Groups[0]; g.Title != "Name resolution failed" || !strings.Contains(g.Remedy, "nslookup") || g.Code != "MSG-DNS-LOOKUP-FAILED" {
		t.Errorf("catalog text: %+v", g)
	}
	sv := buildCheckReport(sampleChecks(), "sv")
	if sv.Groups[0].Title != "Namnuppslagningen misslyckades" || !strings.HasPrefix(sv.Groups[3].Title, "Värden går inte att nå") {
		t.Errorf("sv titles: %q, %q", sv.Groups[0].Title, sv.Groups[3].Title)
	}
	if all := buildCheckReport(sampleChecks()[2:3], "en"); all.Summary != "1 host checked, all clear." || len(all.Groups) != 0 {
		t.Errorf("all clear: %+v", all)
	}
}

// The table fits the terminal's width; Markdown cells escape pipes.
func TestCheckReportRender(t *testing.T) {
	rep := buildCheckReport(sampleChecks(), "en")
	for _, width := range []int{66, 80, 132} { // a 22-character code is never broken: narrower spills
		var b bytes.Buffer
		if err := rep.Table(&b, width); err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(b.String(), "\n") {
			if n := utf8.RuneCountInString(l); n > width {
				t.Errorf("width %d: line of %d: %q", width, n, l)
			}
		}
		for _, s := range []string{"MSG-DNS-LOOKUP-FAILED: Name resolution failed (2 hosts:", "fix: ", "evidence: "} {
			if !strings.Contains(b.String(), s) {
				t.Errorf("width %d: no %q in\n%s", width, s, b.String())
			}
		}
	}
	rep.Groups[0].Evidence = "a | b"
	var m bytes.Buffer
	if err := rep.Markdown(&m); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.String(), `a \| b`) || !strings.Contains(m.String(), "| web02 | linux | 1.50.03036.1885 | findings | MSG-DNS-LOOKUP-FAILED, ARCF-CHECK-FIREWALL |") {
		t.Errorf("markdown:\n%s", m.String())
	}
}
