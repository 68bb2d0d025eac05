package results

import (
	"bytes"
	"strings"
	"testing"
)

// Notes reach the reader whatever the outcome (what a re-registration deleted
// is news for an ok host too), in every format, and are masked like details.
func TestNotesRendered(t *testing.T) {
	note := "before disconnect: `azcmagent disconnect` deletes the Azure resource /subscriptions/s/resourceGroups/g/providers/Microsoft.HybridCompute/machines/web01 (secret-7)"
	r := &Report{FormatVersion: ReportFormatVersion, RunID: "r1", Action: "reconnect", Hosts: []HostResult{
		{Name: "web01", OS: "linux", Action: "reconnect", Outcome: OutcomeOK, FinalCode: "AZCM0000", Notes: []string{note}},
		{Name: "web02", OS: "linux", Action: "reconnect", Outcome: OutcomeOK, FinalCode: "AZCM0000"},
	}}
	r.MaskSecrets([]string{"secret-7"})
	if strings.Contains(r.Hosts[0].Notes[0], "secret-7") {
		t.Fatalf("note not masked: %q", r.Hosts[0].Notes[0])
	}
	render := func(format, lang string) string {
		var b bytes.Buffer
		if err := RenderReport(&b, r, format, lang, false); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	md := render("markdown", "en")
	if !strings.Contains(md, "\n## Notes\n\n- web01 (ok):\n  - before disconnect: ") || !strings.Contains(md, "machines/web01") || strings.Contains(md, "web02 (ok):") {
		t.Errorf("markdown:\n%s", md)
	}
	if sv := render("markdown", "sv"); !strings.Contains(sv, "## Anteckningar") {
		t.Errorf("swedish markdown lacks the notes heading:\n%s", sv)
	}
	if tbl := render("table", "en"); !strings.Contains(tbl, "Notes on 1 host (web01)") {
		t.Errorf("table:\n%s", tbl)
	}
	if js := render("json", "en"); !strings.Contains(js, `"notes": [`) {
		t.Errorf("json lacks notes:\n%s", js)
	}
	r.Hosts[0].Notes = nil
	if md := render("markdown", "en"); strings.Contains(md, "## Notes") {
		t.Errorf("a report without notes has a notes section:\n%s", md)
	}
}
