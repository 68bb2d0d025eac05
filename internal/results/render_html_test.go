package results

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The HTML page: self-contained (nothing loaded, no script), the chart's bars
// carry the report's counts, the timeline draws attempts, the wait before a
// retry and the breaker's line, and no secret reaches it in any encoding.
func TestRenderHTML(t *testing.T) {
	r := fixtureReport()
	r.Hosts = append(r.Hosts, HostResult{Name: "leaky", Outcome: OutcomeFailed, Detail: "token " + sentinel, Evidence: []string{"x " + sentinel}})
	r.MaskSecrets([]string{sentinel})
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	tl := &Timeline{Start: at(0), End: at(100), Hosts: []HostTimeline{
		{Host: "app01", Started: at(0), Ended: at(42), Outcome: OutcomeOK, Spans: []TimelineSpan{
			{Kind: SpanAttempt, Step: "connect", Attempt: 1, Code: "AZCM0026", Class: ClassTransient, From: at(0), To: at(10)},
			{Kind: SpanWait, From: at(10), To: at(20)},
			{Kind: SpanAttempt, Step: "connect", Attempt: 2, Code: "AZCM0000", Class: ClassSuccess, From: at(20), To: at(42)},
		}},
		{Host: "db03", Ended: at(60), Outcome: OutcomeNotStarted, Code: "ARCF-BREAKER-OPEN"},
	}, Marks: []TimelineMark{{Kind: MarkRunStart, At: at(0), Label: "apply"}, {Kind: MarkBreaker, At: at(60), Label: "circuit breaker open for credential sp-prod"}}}
	for _, lang := range Languages {
		var b bytes.Buffer
		if err := RenderHTML(&b, r, lang, tl); err != nil {
			t.Fatal(err)
		}
		page := b.String()
		for _, s := range []string{sentinel, base64.StdEncoding.EncodeToString([]byte(sentinel)), "S3cret.Value"} {
			if strings.Contains(page, s) {
				t.Fatalf("%s: the page holds the secret (%q)", lang, s)
			}
		}
		for _, bad := range []string{"<script", "<link", "<img", " src=", " href=", "url("} {
			if strings.Contains(page, bad) {
				t.Errorf("%s: not self-contained: %q", lang, bad)
			}
		}
		bars := map[string]string{}
		for _, m := range regexp.MustCompile(`<g class="bar" data-label="([^"]+)" data-kind="[a-z]+" data-count="(\d+)"`).FindAllStringSubmatch(page, -1) {
			bars[m[1]] = m[2]
		}
		ok := outcomeLabel(OutcomeOK, lang)
		if bars["AZCM0044"] != "12" || bars[ok] != "13" || bars["ARCF-BREAKER-OPEN"] != "3" {
			t.Errorf("%s: bars %v", lang, bars)
		}
		row := regexp.MustCompile(`(?s)<g class="host" data-host="app01">(.*?)</g>`).FindStringSubmatch(page)
		if row == nil || strings.Count(row[1], `class="attempt"`) != 2 || strings.Count(row[1], `class="wait"`) != 1 {
			t.Errorf("%s: app01's row: %v", lang, row)
		}
		if !strings.Contains(page, `<g class="mark" data-label="`+word(lang, "legend_breaker")+`">`) {
			t.Errorf("%s: no breaker line", lang)
		}
		if strings.Contains(page, `data-label="apply"`) {
			t.Errorf("%s: the run's own start drawn as a mark", lang)
		}
	}
	// Without a journal the page says where the timeline comes from.
	var b bytes.Buffer
	if err := RenderHTML(&b, r, "en", nil); err != nil || !strings.Contains(b.String(), "journal.jsonl") || strings.Contains(b.String(), `id="timeline-chart"`) {
		t.Errorf("no timeline: %v", err)
	}
}

// A fleet of 10,000 hosts: the timeline draws a bounded number of rows and says so.
func TestRenderHTMLLargeTimeline(t *testing.T) {
	r := &Report{RunID: "big", Action: "connect"}
	tl := &Timeline{Start: t0, End: t0.Add(time.Hour)}
	for i := 0; i < 10000; i++ {
		n := fmt.Sprintf("h%05d", i)
		r.Hosts = append(r.Hosts, HostResult{Name: n, Outcome: OutcomeOK})
		tl.Hosts = append(tl.Hosts, HostTimeline{Host: n, Started: t0, Ended: t0.Add(time.Minute), Outcome: OutcomeOK})
	}
	var b bytes.Buffer
	if err := RenderHTML(&b, r, "en", tl); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), `<g class="host"`); n != maxTimelineRows {
		t.Errorf("%d rows drawn", n)
	}
	if !strings.Contains(b.String(), "9700 more hosts are not drawn") {
		t.Error("the page does not say hosts were left out of the timeline")
	}
}
