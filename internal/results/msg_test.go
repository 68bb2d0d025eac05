package results

import (
	"bytes"
	"html"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

var msgPlaceholder = regexp.MustCompile(`\{s?[0-9]+\}`)

// Every executor message exists in both languages with the same arguments, and
// the Swedish is not the English unless the template is only data and commands.
func TestMsgTemplatesTranslated(t *testing.T) {
	wording := func(s string) string { // s without data, commands, settings (agent.package) and punctuation
		return regexp.MustCompile("`[^`]*`|[a-z_]+(\\.[a-z_]+)+|[^\\pL]+").ReplaceAllString(msgPlaceholder.ReplaceAllString(s, " "), "")
	}
	for k, m := range msgTemplates {
		if m[0] == "" || m[1] == "" {
			t.Errorf("%s: missing in %q", k, m)
		}
		a, b := msgPlaceholder.FindAllString(m[0], -1), msgPlaceholder.FindAllString(m[1], -1)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Errorf("%s: the languages take different arguments: %q / %q", k, m[0], m[1])
		}
		if m[0] == m[1] && wording(m[0]) != "" && k != "loss_status" {
			t.Errorf("%s: the Swedish %q is the English", k, m[1])
		}
	}
}

func TestMsgText(t *testing.T) {
	m := M("deadline_in_flight", "5m0s").With(Join(M("step_exit_code", "connect", "26", "AZCM0026"), M("gave_up", "3")), M("resume_cmd", "runs/1"))
	if got, want := m.Text("en"), "run deadline (5m0s) reached while this host was in flight (connect exited 26 (AZCM0026); gave up after 3 attempts); `arcfleet resume runs/1` probes it first"; got != want {
		t.Errorf("en %q\nwant %q", got, want)
	}
	if got, want := m.Text("sv"), "körningens tidsgräns (5m0s) nåddes medan den här värden pågick (connect avslutades med 26 (AZCM0026); gav upp efter 3 försök); `arcfleet resume runs/1` undersöker den först"; got != want {
		t.Errorf("sv %q\nwant %q", got, want)
	}
	// A key this arcfleet does not know (a newer one wrote it), a missing
	// argument: no text, so the report shows the English Detail.
	for _, bad := range []Msg{M("from-a-newer-arcfleet", "x"), M("gave_up"), M("canary_failed").With(M("resume_again")), M("breaker_why", "a", "b", "c").With(M("nope"))} {
		if got := bad.Text("sv"); got != "" {
			t.Errorf("%+v: %q, want none", bad, got)
		}
		h := &HostResult{Detail: "the English", DetailMsg: &bad}
		if got := detailText(h, "sv"); got != "the English" {
			t.Errorf("%+v: detail %q, want the English", bad, got)
		}
	}
	h := &HostResult{Detail: "the English"} // a report of an earlier version
	if got := detailText(h, "sv"); got != "the English" {
		t.Errorf("no message: %q", got)
	}
	if got := M(MsgOutcome, string(OutcomeNotStarted)).Text("sv"); got != "ej startad" {
		t.Errorf("outcome in sv: %q", got)
	}
	if got := M(MsgOutcome, string(OutcomeNotStarted)).Text("en"); got != string(OutcomeNotStarted) {
		t.Errorf("outcome in en: %q", got)
	}
}

// A secret in a message's arguments is masked in every language, in the
// report (MaskSecrets) as in Msg.Mask.
func TestMsgMasked(t *testing.T) {
	const sentinel = "S3cr3t-Sentinel-9f2"
	m := M("breaker_why", "sp", "token "+sentinel, "AZCM0041").With(M(MsgText, "x"+sentinel+"y"))
	r := &Report{FormatVersion: ReportFormatVersion, Action: "connect", Hosts: []HostResult{{
		Name: "h", Outcome: OutcomeNotStarted, FinalCode: "ARCF-BREAKER-OPEN", Detail: m.Text("en"), DetailMsg: &m,
		Notes: []string{"note " + sentinel}, NoteMsgs: []Msg{M("step_error", "connect", sentinel)},
	}}}
	r.MaskSecrets([]string{sentinel})
	for _, format := range []string{"table", "markdown", "json", "junit", "csv", "html"} {
		for _, lang := range Languages {
			var b bytes.Buffer
			if err := RenderReport(&b, r, format, lang, false); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), sentinel) || strings.Contains(b.String(), "3cr3t") {
				t.Errorf("%s %s: the secret is in the report", format, lang)
			}
		}
	}
	if got := m.Mask(func(s string) string { return Mask(s, []string{sentinel}) }).Text("sv"); strings.Contains(got, sentinel) {
		t.Errorf("Mask: %q", got)
	}
}

// Every executor message in a Swedish report: hosts whose detail and notes are
// each message of msgTemplates render none of the English wording once the
// arguments (run data) are taken out, in every format; the English report none
// of the Swedish.
func TestMsgReportLanguagesDoNotMix(t *testing.T) {
	keys := make([]string, 0, len(msgTemplates))
	for k := range msgTemplates {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	r := &Report{FormatVersion: ReportFormatVersion, RunID: "run-1", Action: "connect"}
	var data []string
	for i, k := range keys {
		tpl := msgTemplates[k][0]
		m := Msg{Key: k}
		for _, p := range msgPlaceholder.FindAllString(tpl, -1) {
			if strings.HasPrefix(p, "{s") {
				m.Sub = append(m.Sub, M("resume_cmd", "runs/x"))
			} else {
				m.Args = append(m.Args, "ARG"+p[1:len(p)-1]+"X")
			}
		}
		// Arguments as numbered: {1} before {0} in a template still takes its own.
		for len(m.Args) > 0 && !strings.Contains(tpl, "{"+itoa(len(m.Args)-1)+"}") {
			m.Args = m.Args[:len(m.Args)-1]
		}
		if m.Text("en") == "" {
			t.Fatalf("%s: no text with %+v", k, m)
		}
		data = append(data, m.Args...)
		note := M("gave_up", "ARGN")
		r.Hosts = append(r.Hosts, HostResult{Name: "host" + itoa(i), Outcome: OutcomeFailed, FinalCode: "ZZZ-NEW" + itoa(i%3),
			Detail: m.Text("en"), DetailMsg: &m, Notes: []string{note.Text("en")}, NoteMsgs: []Msg{note}})
		data = append(data, "host"+itoa(i), "ZZZ-NEW"+itoa(i%3))
	}
	data = append(data, "runs/x", "ARGN", "run-1")
	sort.Slice(data, func(i, j int) bool { return len(data[i]) > len(data[j]) })
	var pairs []string
	for _, d := range data {
		pairs = append(pairs, d, " ")
	}
	dataOut := strings.NewReplacer(pairs...)
	commands := regexp.MustCompile("arcfleet [a-z]+|<[^>]*>|\"[^\"\n]*\"|`[^`]*`")
	english, swedish := vocabulary(0), vocabulary(1)
	// CSV's outcome and header are values for programs, as TestReportLanguagesDoNotMix has it.
	for _, format := range []string{"table", "markdown", "junit", "html"} {
		for _, lang := range Languages {
			var b bytes.Buffer
			if err := RenderReportWidth(&b, r, format, lang, false, 100000); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if format == "junit" || format == "html" {
				out = html.UnescapeString(out)
			}
			out = commands.ReplaceAllString(dataOut.Replace(out), " ")
			foreign := english
			if lang == "en" {
				foreign = swedish
			}
			for _, frag := range foreign {
				if !strings.Contains(out, frag) {
					continue
				}
				if m := regexp.MustCompile(`(^|[^\pL_./\\-])` + regexp.QuoteMeta(frag) + `($|[^\pL_./\\-])`).FindString(out); m != "" {
					t.Errorf("%s %s: %q is in the other language", format, lang, m)
				}
			}
		}
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
