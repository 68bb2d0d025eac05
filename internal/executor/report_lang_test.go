package executor

import (
	"bytes"
	"context"
	"html"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
)

// What the executor says about a host reaches a Swedish report in Swedish:
// runs of the fake fleet that end hosts by the breaker, a failed canary, the
// deadline (before a start, in flight, before a retry), an interrupt (in flight
// and before a start), a busy host, retries given up, a failed dial, and a
// disconnect's note give every such host a message (DetailMsg, NoteMsgs) whose
// English is the Detail or note word for word, and the Swedish renderings
// hold none of those messages' English wording.
func TestSwedishReportHasNoExecutorEnglish(t *testing.T) {
	var hosts []results.HostResult
	apply := func(ctx context.Context, x *Executor, action string, names ...string) *results.Report {
		t.Helper()
		rep, err := x.Apply(ctx, exPlan(action, names...), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, rep.Hosts...)
		return rep
	}
	want := func(rep *results.Report, name string, o results.Outcome, code, detail string) {
		t.Helper()
		if h := exResult(rep, name); h.Outcome != o || h.FinalCode != code || !strings.Contains(h.Detail, detail) {
			t.Errorf("%s: %s %s %q; want %s %s with %q", name, h.Outcome, h.FinalCode, h.Detail, o, code, detail)
		}
	}

	// Retries given up, a failed dial, a busy host, then the breaker.
	f := newExFleet()
	f.add("gaveup", &exHost{exits: map[string][]int{agent.StepConnect: {26, 26, 26, 26}}})
	f.add("input", &exHost{exits: map[string][]int{agent.StepConnect: {13}}})
	f.add("unreach", &exHost{dialFail: []transport.Kind{transport.Unreachable, transport.Unreachable, transport.Unreachable, transport.Unreachable}})
	f.add("held", &exHost{busyProbes: -1})
	for _, n := range []string{"bad1", "bad2", "bad3", "bad4"} {
		f.add(n, &exHost{exits: map[string][]int{agent.StepConnect: {41}}})
	}
	x := exExecutor(f)
	x.Concurrency = 1
	x.BusyWait = 100 * time.Millisecond
	rep := apply(context.Background(), x, agent.ActionConnect, "gaveup", "input", "unreach", "held", "bad1", "bad2", "bad3", "bad4")
	want(rep, "gaveup", results.OutcomeFailed, "AZCM0026", "gave up after 3 attempts")
	want(rep, "input", results.OutcomeFailed, "AZCM0013", "not retried")
	want(rep, "unreach", results.OutcomeFailed, "TRANSPORT-UNREACHABLE", "dial: ")
	want(rep, "held", results.OutcomeFailed, codeHostBusy, "another operation holds the host")
	want(rep, "bad4", results.OutcomeNotStarted, codeBreakerOpen, "circuit breaker open")

	// A failed canary.
	f = newExFleet()
	f.add("c1", &exHost{exits: map[string][]int{agent.StepConnect: {13}}})
	f.add("r1", &exHost{})
	x = exExecutor(f)
	x.Canary = 1
	rep = apply(context.Background(), x, agent.ActionConnect, "c1", "r1")
	want(rep, "r1", results.OutcomeNotStarted, codeCanaryFailed, "canary failed (c1 failed AZCM0013)")

	// The deadline: one host cut in flight, one never started.
	f = newExFleet()
	f.add("cut", &exHost{hang: map[string]bool{agent.StepConnect: true}})
	f.add("late", &exHost{})
	x = exExecutor(f)
	x.Concurrency = 1
	x.Timeout = 30 * time.Second
	x.Deadline = 300 * time.Millisecond
	rep = apply(context.Background(), x, agent.ActionConnect, "cut", "late")
	want(rep, "cut", results.OutcomeInterrupted, codeDeadline, "run deadline")
	want(rep, "late", results.OutcomeNotStarted, codeDeadline, "reached before this host started")

	// No retry past the deadline.
	f = newExFleet()
	f.add("wait", &exHost{exits: map[string][]int{agent.StepConnect: {26, 26}}})
	x = exExecutor(f)
	x.Deadline = time.Hour
	p := exPlan(agent.ActionConnect, "wait")
	p.Retry.BaseDelay = 2 * time.Hour
	rep, err := x.Apply(context.Background(), p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	hosts = append(hosts, rep.Hosts...)
	want(rep, "wait", results.OutcomeFailed, "AZCM0026", "not retried: the run deadline")

	// An interrupt during a retry's wait; the next host never starts.
	f = newExFleet()
	f.add("flaky", &exHost{exits: map[string][]int{agent.StepConnect: {26, 26, 26}}})
	f.add("next", &exHost{})
	x = exExecutor(f)
	x.Concurrency = 1
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	x.Events = func(e Event) {
		if e.Kind == EventRetry {
			cancel()
		}
	}
	rep = apply(ctx, x, agent.ActionConnect, "flaky", "next")
	want(rep, "flaky", results.OutcomeInterrupted, codeInterrupted, "run interrupted while this host was in flight")
	want(rep, "next", results.OutcomeNotStarted, codeInterrupted, "run interrupted before this host started")

	// A disconnect's note on what it deletes.
	f = newExFleet()
	f.add("on", &exHost{status: "Connected", sub: "sub-1", rg: "rg-1", loc: "westeurope", ten: "tenant-1", resourceID: "/r"})
	rep = apply(context.Background(), exExecutor(f), agent.ActionDisconnect, "on")
	if h := exResult(rep, "on"); h.Outcome != results.OutcomeOK || len(h.Notes) == 0 || !strings.Contains(h.Notes[0], "before disconnect") {
		t.Errorf("on: %s notes %q; want ok with what the disconnect deleted", h.Outcome, h.Notes)
	}

	// agent.Decide's reasons: already connected, drift, expired.
	f = newExFleet()
	f.add("same", &exHost{status: "Connected", sub: "sub-1", rg: "rg-1", loc: "westeurope", ten: "tenant-1", resourceID: "/r1"})
	f.add("elsewhere", &exHost{status: "Connected", sub: "sub-9", rg: "rg-9", loc: "northeurope", ten: "tenant-1", resourceID: "/r9"})
	f.add("stale", &exHost{status: "Expired", sub: "sub-1", rg: "rg-1", loc: "westeurope", ten: "tenant-1", resourceID: "/r2"})
	rep = apply(context.Background(), exExecutor(f), agent.ActionConnect, "same", "elsewhere", "stale")
	want(rep, "same", results.OutcomeUnchanged, "", "already connected to subscription")
	want(rep, "elsewhere", results.OutcomeBlocked, codeDrift, "drift: the agent is connected to subscription sub-9")
	want(rep, "stale", results.OutcomeBlocked, codeExpired, "the agent's status is Expired at the intended target")
	for _, n := range []string{"same", "elsewhere", "stale"} {
		if m := exResult(rep, n).DetailMsg; m == nil || m.Key == results.MsgText { // run data would not be translated
			t.Errorf("%s: the reason is not a message with a template: %+v", n, m)
		}
	}

	// Every detail and note of those hosts has a message that says it.
	var msgs []results.Msg
	for _, h := range hosts {
		if h.Detail != "" {
			if h.DetailMsg == nil {
				t.Errorf("%s: detail %q has no message", h.Name, h.Detail)
			} else if en := h.DetailMsg.Text("en"); en != h.Detail {
				t.Errorf("%s: message says %q, detail %q", h.Name, en, h.Detail)
			} else {
				msgs = append(msgs, *h.DetailMsg)
			}
		}
		if len(h.NoteMsgs) != len(h.Notes) {
			t.Errorf("%s: %d notes, %d messages", h.Name, len(h.Notes), len(h.NoteMsgs))
			continue
		}
		for i, m := range h.NoteMsgs {
			if m.Key == "" || m.Key == results.MsgText || m.Text("en") != h.Notes[i] {
				t.Errorf("%s: note %q has message %+v", h.Name, h.Notes[i], m)
			}
			msgs = append(msgs, m)
		}
	}
	if len(msgs) < 12 {
		t.Fatalf("only %d messages: the runs did not take the paths under test", len(msgs))
	}

	// The English wording of those messages: each rendered with its run data
	// (every argument) taken out, cut where the data was.
	// Commands and flags are no language; the run data (the arguments, the
	// host names) is taken out of the output before it is searched.
	var english, data []string
	for _, m := range msgs {
		for _, frag := range strings.Split(commands.ReplaceAllString(dataOut(m).Text("en"), "\x00"), "\x00") {
			frag = strings.Trim(frag, " ;:.,()")
			if len([]rune(frag)) >= 5 {
				english = append(english, frag)
			}
		}
		data = append(data, args(m)...)
	}
	for _, h := range hosts {
		data = append(data, h.Name, h.FinalCode, h.LogPath)
		data = append(data, h.Evidence...)
	}
	sort.Slice(data, func(i, j int) bool { return len(data[i]) > len(data[j]) })
	var pairs []string
	for _, d := range data {
		if d != "" {
			pairs = append(pairs, d, " ")
		}
	}
	dataOut := strings.NewReplacer(pairs...)
	r := &results.Report{FormatVersion: results.ReportFormatVersion, RunID: "run-1", Action: "connect", Hosts: hosts,
		Started: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Finished: time.Date(2024, 1, 2, 3, 5, 5, 0, time.UTC)}
	for _, format := range []string{"table", "markdown", "junit", "html", "csv"} {
		var sv, en bytes.Buffer
		if err := results.RenderReportWidth(&sv, r, format, "sv", false, 100000); err != nil {
			t.Fatal(err)
		}
		if err := results.RenderReportWidth(&en, r, format, "en", false, 100000); err != nil {
			t.Fatal(err)
		}
		out := sv.String()
		if format == "junit" || format == "html" {
			out = html.UnescapeString(out)
		}
		if format == "csv" { // its header row is column names for programs, the same in every language
			_, out, _ = strings.Cut(out, "\n")
		}
		out = dataOut.Replace(out)
		for _, frag := range english {
			if m := regexp.MustCompile(`(^|[^\pL_./\\-])` + regexp.QuoteMeta(frag) + `($|[^\pL_./\\-])`).FindString(out); m != "" {
				t.Errorf("%s sv holds the English %q:\n%s", format, m, out)
			}
		}
		// The English renders as before: the host's Detail as it is.
		if format == "markdown" && !strings.Contains(en.String(), "circuit breaker open for credential") {
			t.Errorf("markdown en lacks the breaker's English detail:\n%s", en.String())
		}
		if format == "markdown" && !strings.Contains(out, "kretsbrytaren är öppen") {
			t.Errorf("markdown sv lacks the breaker's Swedish detail:\n%s", out)
		}
	}
}

// commands are the parts of a message that are no language: commands in
// backquotes and flags.
var commands = regexp.MustCompile("`[^`]*`|--[a-z-]+")

// args are m's arguments, those of its nested messages too.
func args(m results.Msg) []string {
	out := append([]string(nil), m.Args...)
	for _, s := range m.Sub {
		out = append(out, args(s)...)
	}
	return out
}

// dataOut is m with every argument replaced by "\x00": only its wording is left.
func dataOut(m results.Msg) results.Msg {
	out := results.Msg{Key: m.Key}
	for range m.Args {
		out.Args = append(out.Args, "\x00")
	}
	for _, s := range m.Sub {
		out.Sub = append(out.Sub, dataOut(s))
	}
	return out
}
