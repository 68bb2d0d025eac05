package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/arcfleet/arcfleet/internal/executor"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/termtext"
)

// progressTick is how often the live view is redrawn on a terminal: elapsed
// time and ETA move even when no host event arrives.
const progressTick = 250 * time.Millisecond

// progress shows a run's events. On a terminal: a live view of two lines,
// redrawn every progressTick and on each event: a bar with done/total, elapsed
// time and ETA; the outcome buckets in the report's words ("5 ok, 2 failed,
// 1 not started"), the hosts in flight and the longest running. Warnings and
// failed hosts are printed above it as they happen. Off a terminal: one line
// per host event (start, attempt result, retry scheduled, done), fit for cron
// and CI logs.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	width    int // of the terminal; lines are kept shorter so redraws stay in place
	now      func() time.Time
	total    int
	started  time.Time
	done     int
	counts   map[results.Outcome]int
	inFlight map[string]time.Time // host -> when it started
	retrying map[string]bool      // hosts that had a retry scheduled and have not finished
	drawn    int                  // lines of the live view on screen
	// bar draws the bar, percentage and done/total (terminal only, total > 0).
	// It is told only the count: elapsed time and ETA come from now, so they
	// tick with the redraws and tests can drive them.
	bar      *progressbar.ProgressBar
	finished bool
	verbose  bool // -v: every attempt and retry as a line (above the live view on a terminal)
	stop     chan struct{}
	loop     sync.WaitGroup
}

// progressOptions replace the clock, the redraw ticker and the width (tests).
type progressOptions struct {
	now   func() time.Time
	tick  <-chan time.Time // nil: a real ticker of progressTick
	width int
}

func newProgress(w io.Writer, total int, terminal bool) *progress {
	opt := progressOptions{now: time.Now, width: termtext.DefaultWidth}
	if f, ok := w.(*os.File); ok && terminal {
		if tw, _, err := term.GetSize(int(f.Fd())); err == nil && tw > 0 {
			opt.width = tw
		}
	}
	return newProgressWith(w, total, terminal, opt)
}

func newProgressWith(w io.Writer, total int, terminal bool, opt progressOptions) *progress {
	if opt.now == nil {
		opt.now = time.Now
	}
	if opt.width <= 0 {
		opt.width = termtext.DefaultWidth
	}
	p := &progress{w: w, terminal: terminal, width: max(opt.width, termtext.MinWidth), now: opt.now, total: total,
		counts: map[results.Outcome]int{}, inFlight: map[string]time.Time{}, retrying: map[string]bool{}, stop: make(chan struct{})}
	p.started = p.now()
	if !terminal {
		return p
	}
	if total > 0 {
		p.bar = newBar(total)
	}
	tick := opt.tick
	var t *time.Ticker
	if tick == nil {
		t = time.NewTicker(progressTick)
		tick = t.C
	}
	p.loop.Add(1)
	go func() {
		defer p.loop.Done()
		if t != nil {
			defer t.Stop()
		}
		for {
			select {
			case <-p.stop:
				return
			case <-tick:
				p.mu.Lock()
				if !p.finished {
					p.redraw("")
				}
				p.mu.Unlock()
			}
		}
	}()
	p.mu.Lock()
	p.redraw("")
	p.mu.Unlock()
	return p
}

// event is the Executor's Events callback; safe for concurrent use.
func (p *progress) event(ev executor.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev.Kind {
	case executor.EventStart:
		at := ev.Time
		if at.IsZero() {
			at = p.now()
		}
		p.inFlight[ev.Host] = at
	case executor.EventRetry:
		p.retrying[ev.Host] = true
	case executor.EventDone, executor.EventNotStarted, executor.EventProbed:
		p.done++
		delete(p.inFlight, ev.Host)
		delete(p.retrying, ev.Host)
		if ev.Outcome != "" {
			p.counts[ev.Outcome]++
		}
		if p.bar != nil && p.done <= p.total {
			_ = p.bar.Set(p.done) // its error: only past the total, which the guard excludes
		}
	}
	if !p.terminal {
		fmt.Fprintln(p.w, eventLine(ev, p.verbose))
		return
	}
	if p.finished {
		return
	}
	// On a terminal, what needs reading stays above the live view.
	above := ""
	switch {
	case ev.Kind == executor.EventWarning:
		above = eventLine(ev, p.verbose)
	case p.verbose && (ev.Kind == executor.EventAttempt || ev.Kind == executor.EventRetry):
		above = eventLine(ev, true)
	case ev.Kind == executor.EventDone && ev.Outcome != results.OutcomeOK && ev.Outcome != results.OutcomeUnchanged:
		above = strings.TrimSpace(fmt.Sprintf("%s %s %s", ev.Host, results.OutcomeLabel(ev.Outcome, "en"), ev.Code))
	}
	p.redraw(above)
}

// above prints msg above the live view, where a redraw cannot overwrite it
// (e.g. the interrupt's message); off a terminal, or once finished, as a line.
func (p *progress) above(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.terminal || p.finished {
		fmt.Fprintln(p.w, msg)
		return
	}
	p.redraw(msg)
}

// finish draws the last frame and stops the redraws.
func (p *progress) finish() {
	p.mu.Lock()
	if p.terminal && !p.finished {
		p.redraw("")
		fmt.Fprintln(p.w)
		p.drawn = 0
	}
	p.finished = true
	p.mu.Unlock()
	if p.terminal {
		select {
		case <-p.stop:
		default:
			close(p.stop)
		}
		p.loop.Wait()
	}
}

// redraw replaces the live view on screen, printing line above it first. Called with mu held.
func (p *progress) redraw(above string) {
	var b strings.Builder
	if p.drawn > 0 {
		b.WriteString("\r\x1b[2K")
		for i := 1; i < p.drawn; i++ {
			b.WriteString("\x1b[1A\x1b[2K")
		}
	}
	if above != "" {
		// Printed once and never redrawn, so it may wrap: a warning is read whole.
		b.WriteString(termSafeLine(above, 1<<20))
		b.WriteByte('\n')
	}
	lines := p.frame()
	b.WriteString(strings.Join(lines, "\n"))
	p.drawn = len(lines)
	io.WriteString(p.w, b.String())
}

// frame is the live view's lines at this moment, each shorter than the width
// (a wrapped line would break the redraw in place).
func (p *progress) frame() []string {
	now := p.now()
	elapsed := now.Sub(p.started)
	eta := "-"
	if p.done > 0 && p.done < p.total {
		eta = fmtClock(time.Duration(float64(elapsed) / float64(p.done) * float64(p.total-p.done)))
	} else if p.done >= p.total && p.total > 0 {
		eta = "0:00"
	}
	bar := fmt.Sprintf("%d/%d", p.done, p.total)
	if p.bar != nil {
		bar = strings.TrimSpace(p.bar.String()) // "  80% [###################-----] (4/5) " after a \r
	}
	line1 := fmt.Sprintf("%s  elapsed %s  ETA %s", bar, fmtClock(elapsed), eta)

	summary := results.OutcomeSummary(p.counts, "en")
	if summary == "" {
		summary = "none done yet"
	}
	line2 := summary + fmt.Sprintf(" | in flight %d", len(p.inFlight))
	if n := len(p.retrying); n > 0 {
		line2 += fmt.Sprintf(" (%d retrying)", n)
	}
	if waiting := p.total - p.done - len(p.inFlight); waiting > 0 {
		line2 += fmt.Sprintf(", %d waiting", waiting)
	}
	if long := p.longest(now, 3); long != "" {
		line2 += " | longest: " + long
	}
	return []string{termSafeLine(line1, p.width-1), termSafeLine(line2, p.width-1)}
}

// barWidth is the bar's width in characters, between its brackets.
const barWidth = 24

// newBar is the live view's bar: github.com/schollz/progressbar rendering into
// nothing (the view reads String and draws it with its own lines), ASCII,
// with the count and without its own time fields (its clock is the wall
// clock and it would not tick between events).
func newBar(total int) *progressbar.ProgressBar {
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(io.Discard),
		progressbar.OptionSetWidth(barWidth),
		progressbar.OptionSetTheme(progressbar.Theme{Saucer: "#", SaucerPadding: "-", BarStart: "[", BarEnd: "]"}),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetElapsedTime(false),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionThrottle(0),
	)
}

// longest names the n hosts in flight the longest, with how long: "web07 1:12, db01 0:40".
func (p *progress) longest(now time.Time, n int) string {
	type hf struct {
		host string
		at   time.Time
	}
	hs := make([]hf, 0, len(p.inFlight))
	for h, at := range p.inFlight {
		hs = append(hs, hf{h, at})
	}
	sort.Slice(hs, func(i, j int) bool {
		if !hs[i].at.Equal(hs[j].at) {
			return hs[i].at.Before(hs[j].at)
		}
		return hs[i].host < hs[j].host
	})
	var parts []string
	for i := 0; i < len(hs) && i < n; i++ {
		parts = append(parts, hs[i].host+" "+fmtClock(now.Sub(hs[i].at)))
	}
	return strings.Join(parts, ", ")
}

// termSafeLine drops control characters (host names come from the inventory)
// and cuts the line to width runes, marking the cut: a status line, never a fix.
func termSafeLine(s string, width int) string {
	s = strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			return -1
		}
		return c
	}, s)
	if termtext.Len(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:max(width-1, 0)]) + termtext.Ellipsis
}

// fmtClock is m:ss, or h:mm:ss from an hour on.
func fmtClock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// eventLine is one greppable line: time, host, event, details; verbose adds
// the attempt's log file and the first line of its evidence.
func eventLine(ev executor.Event, verbose bool) string {
	s := fmt.Sprintf("%s %-8s %s", ev.Time.UTC().Format(time.RFC3339), ev.Kind, ev.Host)
	if ev.Step != "" {
		s += " step=" + ev.Step
	}
	if ev.Attempt > 0 {
		s += fmt.Sprintf(" attempt=%d", ev.Attempt)
	}
	if ev.Code != "" {
		s += " code=" + ev.Code
	}
	if ev.Outcome != "" {
		s += " outcome=" + string(ev.Outcome)
	}
	if ev.Verdict != "" {
		s += " verdict=" + ev.Verdict
	}
	if ev.Delay > 0 {
		s += " retry_in=" + ev.Delay.Round(time.Millisecond).String()
	}
	if ev.Message != "" {
		s += " msg=" + fmt.Sprintf("%q", ev.Message)
	}
	if verbose && ev.Log != "" {
		s += " log=" + ev.Log
	}
	if verbose && ev.Evidence != "" {
		s += " evidence=" + fmt.Sprintf("%q", ev.Evidence)
	}
	return s
}

// outputWidth is the width tables written to stdout fit: the terminal's when
// stdout is one, else $COLUMNS when set, else termtext.DefaultWidth.
func outputWidth(e *env) int {
	if e.stdoutIsTerminal {
		if f, ok := e.stdout.(*os.File); ok {
			if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
				return max(w, termtext.MinWidth)
			}
		}
	}
	if n, err := strconv.Atoi(e.getenv("COLUMNS")); err == nil && n > 0 {
		return max(n, termtext.MinWidth)
	}
	return termtext.DefaultWidth
}
