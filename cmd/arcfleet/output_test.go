package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/executor"
	"github.com/arcfleet/arcfleet/internal/results"
)

func TestOutputOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		o    outputOptions
		want string // "" valid
	}{
		{outputOptions{}, ""},
		{outputOptions{Format: "text"}, ""},
		{outputOptions{Format: "json", Verbose: true}, ""},
		{outputOptions{Format: "json", Quiet: true}, ""},
		{outputOptions{Format: "yaml"}, `--log-format "yaml" is not a log format; fix: use --log-format text`},
		{outputOptions{Format: "JSON"}, "fix: use --log-format text (the default) or --log-format json"},
		{outputOptions{Verbose: true, Quiet: true}, "fix: give only one of -v and -q"},
	} {
		var stderr bytes.Buffer
		e := &env{stderr: &stderr}
		code := checkOutput(e, c.o)
		switch {
		case c.want == "" && (code != exitOK || stderr.Len() > 0):
			t.Errorf("%+v: exit %d %q, want valid", c.o, code, stderr.String())
		case c.want != "" && (code != exitInvalid || !strings.Contains(stderr.String(), c.want)):
			t.Errorf("%+v: exit %d %q, want exit 2 saying %q", c.o, code, stderr.String(), c.want)
		}
	}
}

// Through the command line: a bad --log-format is a usage error (exit 2).
func TestLogFormatFlagRefused(t *testing.T) {
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	if code := run(context.Background(), e, []string{"codes", "--log-format", "xml"}); code != exitInvalid {
		t.Fatalf("exit %d, want 2\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "xml") {
		t.Errorf("the error does not name the format: %s", stderr.String())
	}
}

// sampleEvents are a run's events over four hosts: one ok after a retry, one
// failed, one not started, a warning.
func sampleEvents(at time.Time) []executor.Event {
	return []executor.Event{
		{Time: at, Kind: executor.EventStart, Host: "web01"},
		{Time: at, Kind: executor.EventStart, Host: "db01"},
		{Time: at.Add(time.Second), Kind: executor.EventAttempt, Host: "web01", Step: "connect", Attempt: 1, Code: "AZCM0026", Class: results.ClassTransient,
			Log: "hosts/web01/connect-1.log", Evidence: "Failed to reach the service"},
		{Time: at.Add(time.Second), Kind: executor.EventRetry, Host: "web01", Step: "", Attempt: 1, Code: "AZCM0026", Class: results.ClassTransient, Delay: 2500 * time.Millisecond, Message: "retry after AZCM0026"},
		{Time: at.Add(2 * time.Second), Kind: executor.EventAttempt, Host: "db01", Step: "connect", Attempt: 1, Code: "AZCM0013", Class: results.ClassInput,
			Log: "hosts/db01/connect-1.log", Evidence: "invalid tags"},
		{Time: at.Add(2 * time.Second), Kind: executor.EventDone, Host: "db01", Outcome: results.OutcomeFailed, Code: "AZCM0013", Class: results.ClassInput, Message: "connect exited 13 (AZCM0013)"},
		{Time: at.Add(3 * time.Second), Kind: executor.EventWarning, Host: "lab01", Code: "AZCM0041", Message: "circuit breaker open for credential sp-lab"},
		{Time: at.Add(3 * time.Second), Kind: executor.EventNotStarted, Host: "lab02", Outcome: results.OutcomeNotStarted, Code: "ARCF-BREAKER-OPEN", Class: results.ClassCredential},
		{Time: at.Add(4 * time.Second), Kind: executor.EventAttempt, Host: "web01", Step: "connect", Attempt: 2, Code: "AZCM0000", Class: results.ClassSuccess, Log: "hosts/web01/connect-2.log"},
		{Time: at.Add(4 * time.Second), Kind: executor.EventDone, Host: "web01", Outcome: results.OutcomeOK, Code: "AZCM0000", Class: results.ClassSuccess},
	}
}

func sampleReport() *results.Report {
	return &results.Report{Action: "connect", Hosts: []results.HostResult{
		{Name: "web01", Outcome: results.OutcomeOK}, {Name: "db01", Outcome: results.OutcomeFailed},
		{Name: "lab01", Outcome: results.OutcomeFailed}, {Name: "lab02", Outcome: results.OutcomeNotStarted},
	}}
}

// jsonLines parses every line of s as one JSON object, failing the test on any other line.
func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d is not a JSON object (%v): %q", i+1, err, line)
		}
		objs = append(objs, m)
	}
	return objs
}

func runSample(t *testing.T, o outputOptions, terminal bool) (stdout, stderr string) {
	t.Helper()
	var so, se bytes.Buffer
	e := &env{stdout: &so, stderr: &se, stderrIsTerminal: terminal, getenv: func(string) string { return "" }}
	if code := setupOutput(e, o); code != exitOK {
		t.Fatalf("setupOutput: %d", code)
	}
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	clk := &fakeClock{t: at}
	out := newEventOutputWith(e, o, "apply", 4, progressOptions{now: clk.now, tick: make(chan time.Time), width: 120})
	out.start("runs/r1")
	fmt.Fprintln(e.stderr, "arcfleet: connect on 4 host(s) (0 blocked by findings) from fleet.yaml")
	for _, ev := range sampleEvents(at) {
		out.event(ev)
	}
	out.finish()
	out.end("runs/r1", sampleReport(), exitHostsFailed)
	return so.String(), se.String()
}

// --log-format json: every stderr line is one JSON object; host events carry
// time, host, step, attempt, code, class, outcome, delay and message; the run
// starts and ends with objects naming the run directory, the exit code and
// the counts; other messages are wrapped; nothing goes to stdout.
func TestJSONEventStream(t *testing.T) {
	stdout, stderr := runSample(t, outputOptions{Format: logFormatJSON}, true)
	if stdout != "" {
		t.Errorf("events on stdout: %q", stdout)
	}
	objs := jsonLines(t, stderr)
	var kinds []string
	for _, m := range objs {
		kinds = append(kinds, m["msg"].(string))
		if _, err := time.Parse(time.RFC3339Nano, m["time"].(string)); err != nil || !strings.HasSuffix(m["time"].(string), "Z") {
			t.Errorf("time %q is not RFC 3339 in UTC", m["time"])
		}
		if _, ok := m["log"]; ok {
			t.Errorf("log path without -v: %v", m)
		}
	}
	want := "run-start text start start attempt retry attempt done warning not-started attempt done run-end"
	if got := strings.Join(kinds, " "); got != want {
		t.Fatalf("objects:\n got %s\nwant %s\n%s", got, want, stderr)
	}
	if objs[0]["run_dir"] != "runs/r1" || objs[0]["hosts"] != 4.0 || objs[0]["command"] != "apply" {
		t.Errorf("run-start: %v", objs[0])
	}
	if objs[1]["text"] != "arcfleet: connect on 4 host(s) (0 blocked by findings) from fleet.yaml" {
		t.Errorf("wrapped text: %v", objs[1])
	}
	att := objs[4]
	if att["host"] != "web01" || att["step"] != "connect" || att["attempt"] != 1.0 || att["code"] != "AZCM0026" || att["class"] != "transient" ||
		att["time"] != "2026-12-04T11:00:01Z" {
		t.Errorf("attempt: %v", att)
	}
	if r := objs[5]; r["delay_ms"] != 2500.0 || r["level"] != "WARN" || r["message"] != "retry after AZCM0026" {
		t.Errorf("retry: %v", r)
	}
	if d := objs[7]; d["outcome"] != "failed" || d["level"] != "ERROR" || d["class"] != "input" || d["code"] != "AZCM0013" {
		t.Errorf("done: %v", d)
	}
	end := objs[len(objs)-1]
	if end["exit_code"] != 3.0 || end["run_dir"] != "runs/r1" || end["ok"] != 1.0 || end["failed"] != 2.0 || end["not_started"] != 1.0 ||
		end["summary"] != "1 ok, 2 failed, 1 not started" {
		t.Errorf("run-end: %v", end)
	}
}

// -v adds each attempt's log file and first line of evidence; -q keeps only
// failures, warnings and the run's end.
func TestJSONVerboseQuiet(t *testing.T) {
	_, stderr := runSample(t, outputOptions{Format: logFormatJSON, Verbose: true}, false)
	objs := jsonLines(t, stderr)
	if a := objs[4]; a["log"] != "hosts/web01/connect-1.log" || a["evidence"] != "Failed to reach the service" {
		t.Errorf("-v attempt: %v", a)
	}
	_, stderr = runSample(t, outputOptions{Format: logFormatJSON, Quiet: true}, false)
	var kinds []string
	for _, m := range jsonLines(t, stderr) {
		kinds = append(kinds, m["msg"].(string))
	}
	if got, want := strings.Join(kinds, " "), "text done warning run-end"; got != want {
		t.Errorf("-q objects: %s, want %s\n%s", got, want, stderr)
	}
}

// Text: one line per event off a terminal (-v adds log and evidence); -q
// prints the failures and one summary line, no live view.
func TestTextVerboseQuiet(t *testing.T) {
	_, stderr := runSample(t, outputOptions{}, false)
	if n := strings.Count(stderr, "\n"); n != 11 || strings.Contains(stderr, "log=") {
		t.Errorf("text: %d lines (want 11: the notice and 10 events), or log= without -v:\n%s", n, stderr)
	}
	_, stderr = runSample(t, outputOptions{Verbose: true}, false)
	if !strings.Contains(stderr, `attempt=1 code=AZCM0026 log=hosts/web01/connect-1.log evidence="Failed to reach the service"`) {
		t.Errorf("-v lines lack log and evidence:\n%s", stderr)
	}
	for _, terminal := range []bool{false, true} {
		_, stderr = runSample(t, outputOptions{Quiet: true}, terminal)
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		if len(lines) != 4 || !strings.Contains(lines[1], "done") || !strings.Contains(lines[1], "db01") ||
			!strings.Contains(lines[2], "circuit breaker") ||
			lines[3] != "arcfleet apply: 1 ok, 2 failed, 1 not started; exit 3; run directory runs/r1" || strings.Contains(stderr, "\x1b") {
			t.Errorf("-q (terminal %v):\n%s", terminal, stderr)
		}
	}
}

// The interrupt's message goes above the live view: the next redraws keep it
// on screen whole.
func TestNoticeAboveLiveView(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	tick := make(chan time.Time)
	term := &fakeTerm{}
	e := &env{stderr: term, stderrIsTerminal: true}
	out := newEventOutputWith(e, outputOptions{}, "apply", 3, progressOptions{now: clk.now, tick: tick, width: 200})
	out.event(executor.Event{Kind: executor.EventStart, Host: "web01", Time: clk.now()})
	msg := "arcfleet: interrupted: starting nothing new, stopping what is in flight, writing what there is (again to exit at once)"
	notify(e, msg)
	clk.add(2 * time.Second)
	tickAndWait(tick)
	out.event(executor.Event{Kind: executor.EventDone, Host: "web01", Outcome: results.OutcomeInterrupted, Code: "ARCF-INTERRUPTED", Time: clk.now()})
	tickAndWait(tick)
	scr := term.screen()
	if len(scr) < 3 || scr[0] != msg {
		t.Fatalf("the message is not whole above the view:\n%s", strings.Join(scr, "\n"))
	}
	if !strings.Contains(scr[len(scr)-2], "elapsed 0:02") {
		t.Errorf("the view is not below the message:\n%s", strings.Join(scr, "\n"))
	}
	out.finish()
	// Once the command's output is closed, notify writes a plain line.
	var buf bytes.Buffer
	e2 := &env{stderr: &buf}
	notify(e2, "x")
	if buf.String() != "x\n" {
		t.Errorf("notify without an event output: %q", buf.String())
	}
}

// Events arrive from every host's goroutine while the command prints other
// messages: in json every line stays one whole JSON object; -q lines stay whole.
func TestEventOutputConcurrent(t *testing.T) {
	for _, o := range []outputOptions{{Format: logFormatJSON}, {Format: logFormatJSON, Verbose: true}, {Quiet: true}} {
		var se lockedBuf
		e := &env{stdout: &bytes.Buffer{}, stderr: &se, getenv: func(string) string { return "" }}
		if code := setupOutput(e, o); code != exitOK {
			t.Fatal(code)
		}
		out := newEventOutput(e, o, "apply", 400)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					host := fmt.Sprintf("h%d-%d", g, i)
					out.event(executor.Event{Time: time.Now(), Kind: executor.EventStart, Host: host})
					out.event(executor.Event{Time: time.Now(), Kind: executor.EventDone, Host: host, Outcome: results.OutcomeFailed, Code: "AZCM0013", Message: strings.Repeat("x", 300)})
					if i%10 == 0 {
						fmt.Fprintf(e.stderr, "arcfleet: message %d from %d\n", i, g)
					}
				}
			}()
		}
		wg.Wait()
		out.finish()
		out.end("runs/x", nil, exitHostsFailed)
		lines := strings.Split(strings.TrimSuffix(se.String(), "\n"), "\n")
		if o.json() {
			objs := jsonLines(t, se.String())
			if want := 2*400 + 40 + 1; len(objs) != want { // start and done per host, the messages, run-end
				t.Errorf("%+v: %d objects, want %d", o, len(objs), want)
			}
			continue
		}
		for _, l := range lines {
			if !strings.Contains(l, "done") && !strings.HasPrefix(l, "arcfleet") {
				t.Errorf("-q: a broken line %q", l)
			}
		}
		if len(lines) != 400+40+1 {
			t.Errorf("-q: %d lines, want 441", len(lines))
		}
	}
}

// lockedBuf is a bytes.Buffer safe for concurrent writes, as a file is.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
