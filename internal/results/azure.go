package results

import (
	"bufio"
	"fmt"
	"strings"
	"time"

	"github.com/arcfleet/arcfleet/internal/markdown"
)

// AzureVerification is the read-back of the run's hosts from Azure after apply
// (internal/azure.Verify): one check per host that ended ok or unchanged.
type AzureVerification struct {
	Checked time.Time    `json:"checked"`
	Calls   int64        `json:"calls"` // HTTP requests to Entra ID and Resource Manager
	Hosts   []AzureCheck `json:"hosts"`
}

// AzureCheck is one host's verification.
type AzureCheck struct {
	Host string `json:"host"`
	OK   bool   `json:"ok"`
	// Code is an ARCF-AZURE-* code when not OK.
	Code string `json:"code,omitempty"`
	// ResourceID is Azure's id of the host's machine resource, when it has one.
	ResourceID string `json:"resource_id,omitempty"`
	// Status is the machine's status in Azure (Connected, Disconnected, Expired, Error).
	Status string `json:"status,omitempty"`
	Detail string `json:"detail,omitempty"`
	// DetailMsg is Detail as a message (msg_azure.go), so a report says it
	// in its language; reports of earlier versions have none.
	DetailMsg *Msg `json:"detail_msg,omitempty"`
}

// checkDetail is c's detail in lang: its message when it says Detail, else Detail.
func checkDetail(c AzureCheck, lang string) string {
	if lang != "en" && c.DetailMsg != nil && c.DetailMsg.Text("en") == c.Detail {
		if s, ok := c.DetailMsg.text(lang); ok {
			return s
		}
	}
	return c.Detail
}

// Mismatches are the checks that found Azure disagreeing with the run (not
// those that could not be made: ARCF-AZURE-UNVERIFIED).
func (a *AzureVerification) Mismatches() []AzureCheck {
	if a == nil {
		return nil
	}
	var out []AzureCheck
	for _, c := range a.Hosts {
		if !c.OK && c.Code != "ARCF-AZURE-UNVERIFIED" {
			out = append(out, c)
		}
	}
	return out
}

func (a *AzureVerification) counts() (ok, bad, unverified int) {
	for _, c := range a.Hosts {
		switch {
		case c.OK:
			ok++
		case c.Code == "ARCF-AZURE-UNVERIFIED":
			unverified++
		default:
			bad++
		}
	}
	return
}

var azureWords = map[string][2]string{
	"title":   {"Azure verification", "Kontroll i Azure"},
	"summary": {"%d verified, %d mismatched, %d not verified (Azure calls: %d)", "%d kontrollerade, %d avvikande, %d inte kontrollerade (Azure-anrop: %d)"},
	"all_ok":  {"Azure agrees with every host checked.", "Azure stämmer med alla kontrollerade värdar."},
}

func azWord(lang, key string) string {
	w := azureWords[key]
	if lang == "sv" {
		return w[1]
	}
	return w[0]
}

func checkText(c AzureCheck, lang string) (title, remedy string) {
	if e, ok := Lookup(c.Code); ok {
		t, _, r := e.Text(lang)
		return t, r
	}
	return "", ""
}

func renderAzureTable(w *bufio.Writer, v *view) {
	a := v.r.Azure
	if a == nil {
		return
	}
	ok, bad, unv := a.counts()
	fmt.Fprintf(w, "\n%s: %s\n", azWord(v.lang, "title"), fmt.Sprintf(azWord(v.lang, "summary"), ok, bad, unv, a.Calls))
	if bad+unv == 0 {
		fmt.Fprintf(w, "  %s\n", azWord(v.lang, "all_ok"))
		return
	}
	for _, c := range a.Hosts {
		if c.OK {
			continue
		}
		title, remedy := checkText(c, v.lang)
		fmt.Fprintf(w, "  %s %s: %s\n", termSafe(c.Host), termSafe(joinNonEmpty(c.Code, title)), termSafe(oneLine(checkDetail(c, v.lang))))
		if remedy != "" {
			fmt.Fprintf(w, "    %s: %s\n", word(v.lang, "fix"), termSafe(oneLine(remedy)))
		}
	}
}

func renderAzureMarkdown(w *bufio.Writer, v *view) {
	a := v.r.Azure
	if a == nil {
		return
	}
	ok, bad, unv := a.counts()
	fmt.Fprintf(w, "\n## %s\n\n%s\n\n", azWord(v.lang, "title"), fmt.Sprintf(azWord(v.lang, "summary"), ok, bad, unv, a.Calls))
	if bad+unv == 0 {
		fmt.Fprintf(w, "%s\n", azWord(v.lang, "all_ok"))
		return
	}
	fmt.Fprintf(w, "| %s | %s | %s | %s |\n|---|---|---|---|\n", word(v.lang, "host"), word(v.lang, "code"), word(v.lang, "detail"), word(v.lang, "fix"))
	for _, c := range a.Hosts {
		if c.OK {
			continue
		}
		_, remedy := checkText(c, v.lang)
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", markdown.Cell(markdown.Escape(c.Host)), markdown.Cell(c.Code), markdown.Cell(markdown.Escape(checkDetail(c, v.lang))), markdown.Cell(remedy))
	}
}

// azureJUnitSuite is a second test suite with one case per verified host.
func azureJUnitSuite(v *view) (junitSuite, bool) {
	a := v.r.Azure
	if a == nil {
		return junitSuite{}, false
	}
	s := junitSuite{Name: "arcfleet azure verification " + v.r.RunID, Tests: len(a.Hosts), Time: "0.000"}
	for _, c := range a.Hosts {
		jc := junitCase{Name: c.Host, Classname: "arcfleet.azure", Time: "0.000"}
		if !c.OK {
			title, remedy := checkText(c, v.lang)
			p := &junitProblem{Type: c.Code, Message: joinNonEmpty(c.Code, title), Body: strings.TrimSpace(checkDetail(c, v.lang) + "\n" + word(v.lang, "fix") + ": " + remedy)}
			if c.Code == "ARCF-AZURE-UNVERIFIED" {
				jc.Error = p
				s.Errors++
			} else {
				jc.Failure = p
				s.Failures++
			}
		}
		s.Cases = append(s.Cases, jc)
	}
	return s, true
}

// azureCSVHeader are the extra CSV columns of a verified run: azure_check (ok,
// a code, or empty when the host was not checked) and azure_detail.
var azureCSVHeader = []string{"azure_check", "azure_detail"}

// azureCSV maps host names to their extra CSV cells.
func azureCSV(a *AzureVerification, lang string) map[string][2]string {
	m := make(map[string][2]string, len(a.Hosts))
	for _, c := range a.Hosts {
		if c.OK {
			m[c.Host] = [2]string{"ok", checkDetail(c, lang)}
		} else {
			m[c.Host] = [2]string{c.Code, checkDetail(c, lang)}
		}
	}
	return m
}
