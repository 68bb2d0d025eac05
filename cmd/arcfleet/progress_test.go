package main

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/executor"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/termtext"
)

// fakeTerm is a terminal screen: it applies what the live view writes (text,
// \r, \n, erase line ESC[2K, cursor up ESC[1A) and remembers the longest line
// ever shown. Safe for the redraw goroutine and the test at once.
type fakeTerm struct {
	mu      sync.Mutex
	lines   []string
	row     int
	longest int
	// longestFrame is the longest line the live view redrew (cleared with
	// ESC[2K): a line longer than the terminal would wrap and break the redraw.
	longestFrame int
	writes       int
}

func (t *fakeTerm) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.writes++
	if len(t.lines) == 0 {
		t.lines = []string{""}
	}
	s := string(b)
	for len(s) > 0 {
		switch {
		case strings.HasPrefix(s, "\x1b[2K"):
			t.longestFrame = max(t.longestFrame, termtext.Len(t.lines[t.row]))
			t.lines[t.row] = ""
			s = s[4:]
		case strings.HasPrefix(s, "\x1b[1A"):
			if t.row > 0 {
				t.row--
			}
			s = s[4:]
		case strings.HasPrefix(s, "\x1b"):
			panic("unexpected escape sequence " + strings.ReplaceAll(s[:min(len(s), 8)], "\x1b", "ESC"))
		case s[0] == '\r':
			s = s[1:] // the cursor goes to column 0; the next write replaces the line after ESC[2K
		case s[0] == '\n':
			t.row++
			if t.row == len(t.lines) {
				t.lines = append(t.lines, "")
			}
			s = s[1:]
		default:
			i := strings.IndexAny(s, "\r\n\x1b")
			if i < 0 {
				i = len(s)
			}
			t.lines[t.row] += s[:i]
			t.longest = max(t.longest, termtext.Len(t.lines[t.row]))
			s = s[i:]
		}
	}
	return len(b), nil
}

// screen is what the terminal shows, trailing empty lines dropped.
func (t *fakeTerm) screen() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]string(nil), t.lines...)
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

func (t *fakeTerm) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.writes
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// tickAndWait sends two ticks: the redraw loop handles ticks one at a time, so
// when the second is taken the first one's redraw is complete.
func tickAndWait(tick chan time.Time) {
	tick <- time.Time{}
	tick <- time.Time{}
}

// The live view on a terminal moves with the clock, not only with events:
// elapsed time and ETA tick, the hosts in flight and the longest running are
// shown, and the outcome buckets use the report's words and counts.
func TestProgressLiveView(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	tick := make(chan time.Time)
	term := &fakeTerm{}
	const width = 100
	p := newProgressWith(term, 5, true, progressOptions{now: clk.now, tick: tick, width: width})
	last := func() []string {
		s := term.screen()
		return s[max(len(s)-2, 0):]
	}
	if got := last(); !strings.Contains(got[0], "0% [------------------------] (0/5)  elapsed 0:00  ETA -") || got[1] != "none done yet | in flight 0, 5 waiting" {
		t.Fatalf("first frame:\n%s", strings.Join(got, "\n"))
	}
	ev := func(kind, host string, o results.Outcome, code string) {
		p.event(executor.Event{Time: clk.now(), Kind: kind, Host: host, Outcome: o, Code: code})
	}
	longWarning := "concurrency lowered from 50 to 12: the open-file limit is 256 (about 20 per host); fix: raise it with `ulimit -n` " + strings.Repeat("x", 60)
	p.event(executor.Event{Time: clk.now(), Kind: executor.EventWarning, Message: longWarning})
	ev(executor.EventStart, "web01", "", "")
	clk.add(time.Second)
	ev(executor.EventStart, "web02", "", "")
	ev(executor.EventStart, "db01", "", "")

	// Four seconds without any event: the timer redraws, elapsed moves.
	clk.add(4 * time.Second)
	before := term.count()
	tickAndWait(tick)
	if term.count() == before {
		t.Fatal("no redraw on the timer")
	}
	got := last()
	if !strings.Contains(got[0], "0% [------------------------] (0/5)  elapsed 0:05  ETA -") ||
		got[1] != "none done yet | in flight 3, 2 waiting | longest: web01 0:05, db01 0:04, web02 0:04" {
		t.Fatalf("after 5 s:\n%s", strings.Join(got, "\n"))
	}

	ev(executor.EventDone, "web01", results.OutcomeOK, "")
	ev(executor.EventRetry, "db01", "", "AZCM0064")
	ev(executor.EventDone, "web02", results.OutcomeFailed, "AZCM0044")
	ev(executor.EventNotStarted, "lab04", results.OutcomeNotStarted, "ARCF-BREAKER-OPEN")
	ev(executor.EventNotStarted, "lab05", results.OutcomeNotStarted, "ARCF-BREAKER-OPEN")
	clk.add(3 * time.Second)
	tickAndWait(tick)
	got = last()
	// 4 done in 8 s: the last one in about 2 s.
	if !strings.Contains(got[0], "80% [###################-----] (4/5)  elapsed 0:08  ETA 0:02") ||
		got[1] != "1 ok, 1 failed, 2 not started | in flight 1 (1 retrying) | longest: db01 0:07" {
		t.Fatalf("after 8 s:\n%s", strings.Join(got, "\n"))
	}
	// The failed host stays readable above the live view.
	if scr := strings.Join(term.screen(), "\n"); !strings.Contains(scr, "web02 failed AZCM0044\n") {
		t.Errorf("the failure is not shown above the live view:\n%s", scr)
	}

	ev(executor.EventDone, "db01", results.OutcomeOK, "")
	p.finish()
	got = last()
	if !strings.Contains(got[0], "100% [########################] (5/5)  elapsed 0:08  ETA 0:00") || got[1] != "2 ok, 1 failed, 2 not started | in flight 0" {
		t.Fatalf("last frame:\n%s", strings.Join(got, "\n"))
	}
	// The same words and counts as the report's outcome line.
	if want := results.OutcomeSummary(map[results.Outcome]int{results.OutcomeOK: 2, results.OutcomeFailed: 1, results.OutcomeNotStarted: 2}, "en"); !strings.HasPrefix(got[1], want+" |") {
		t.Errorf("live view %q does not start with the report's %q", got[1], want)
	}
	// A warning above the live view is printed whole (it may wrap: it is never redrawn).
	if scr := strings.Join(term.screen(), "\n"); !strings.Contains(scr, longWarning) {
		t.Errorf("the warning is cut:\n%s", scr)
	}
	// Redraws happened in place: the screen holds the warning, the one failure line and one live view.
	if scr := term.screen(); len(scr) != 4 {
		t.Errorf("the live view was not redrawn in place (%d lines):\n%s", len(scr), strings.Join(scr, "\n"))
	}
	for _, l := range last() { // the final frame is never cleared
		term.longestFrame = max(term.longestFrame, termtext.Len(l))
	}
	if term.longestFrame >= width {
		t.Errorf("a live-view line of %d runes on a %d-column terminal would wrap", term.longestFrame, width)
	}
	// Stopped: no more redraws.
	n := term.count()
	select {
	case tick <- time.Time{}:
		t.Error("the redraw loop still runs after finish")
	case <-time.After(50 * time.Millisecond):
	}
	if term.count() != n {
		t.Error("a redraw after finish")
	}
}

// A narrow terminal: the lines are cut to fit, so the redraw stays in place;
// host names cannot drive the terminal.
func TestProgressNarrowTerminal(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	term := &fakeTerm{}
	p := newProgressWith(term, 3, true, progressOptions{now: clk.now, tick: make(chan time.Time), width: 40})
	p.event(executor.Event{Time: clk.now(), Kind: executor.EventStart, Host: "a-very-long-host-name.with.a.domain\x1b[31m"})
	p.event(executor.Event{Time: clk.now(), Kind: executor.EventStart, Host: "another-long-host-name.example"})
	p.finish()
	if term.longest >= 40 {
		t.Errorf("longest line %d on a 40-column terminal:\n%s", term.longest, strings.Join(term.screen(), "\n"))
	}
	if scr := strings.Join(term.screen(), "\n"); strings.Contains(scr, "[31m") {
		t.Errorf("a host name's escape sequence reached the terminal:\n%s", scr)
	}
}

// Off a terminal: one line per event, no escape codes, no redraws.
func TestProgressLines(t *testing.T) {
	var b strings.Builder
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return b.Write(p) })
	clk := &fakeClock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	p := newProgressWith(w, 2, false, progressOptions{now: clk.now})
	p.event(executor.Event{Time: clk.now(), Kind: executor.EventStart, Host: "web01"})
	p.event(executor.Event{Time: clk.now(), Kind: executor.EventAttempt, Host: "web01", Step: "connect", Attempt: 1, Code: "AZCM0064"})
	p.event(executor.Event{Time: clk.now(), Kind: executor.EventDone, Host: "web01", Outcome: results.OutcomeOK})
	p.finish()
	mu.Lock()
	out := b.String()
	mu.Unlock()
	want := "2026-12-04T12:00:00Z start    web01\n" +
		"2026-12-04T12:00:00Z attempt  web01 step=connect attempt=1 code=AZCM0064\n" +
		"2026-12-04T12:00:00Z done     web01 outcome=ok\n"
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestFmtClock(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0:00", 1500 * time.Millisecond: "0:02", 65 * time.Second: "1:05", 3723 * time.Second: "1:02:03", -time.Second: "0:00"} {
		if got := fmtClock(d); got != want {
			t.Errorf("fmtClock(%v) = %q, want %q", d, got, want)
		}
	}
}
