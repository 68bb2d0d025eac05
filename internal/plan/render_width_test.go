package plan

import (
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/termtext"
)

// The table fits the terminal's width and never cuts a probe's detail (it
// holds the fix); Markdown shows the detail whole in the table.
func TestRenderFitsWidth(t *testing.T) {
	_, p := buildFleet(t, "reconnect", "")
	p.Probed = true
	detail := "host key for 10.0.1.11:22 is not in /home/operator/.ssh/known_hosts (it presented ssh-ed25519 SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8); " +
		"fix: verify it out of band and add it: ssh-keyscan -p 22 10.0.1.11 >> /home/operator/.ssh/known_hosts, or set host_key_policy: accept-new"
	for i := range p.Hosts {
		p.Hosts[i].Probe = &Probe{Verdict: "host-key", Detail: detail}
	}
	for _, width := range []int{80, 100, 120, 200} {
		var b strings.Builder
		if err := RenderWidth(&b, p, FormatTable, width); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		human := out[:strings.Index(out, "\n== S1:")] // the scripts are code, shown as they are
		for _, l := range strings.Split(human, "\n") {
			if termtext.Len(l) > width {
				t.Errorf("width %d: line of %d: %q", width, termtext.Len(l), l)
			}
		}
		if flat := strings.Join(strings.Fields(human), " "); !strings.Contains(flat, detail) {
			t.Errorf("width %d: the probe detail is cut:\n%s", width, human)
		}
		if strings.Contains(human, "...") {
			t.Errorf("width %d: something is truncated:\n%s", width, human)
		}
	}
	var md strings.Builder
	if err := Render(&md, p, FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| host-key ("+detail+") |") {
		t.Errorf("the Markdown plan does not show the detail whole:\n%s", md.String())
	}
}
