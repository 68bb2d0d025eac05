package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/arcfleet/arcfleet/internal/termtext"

	"github.com/arcfleet/arcfleet/internal/executor"

	"github.com/schollz/progressbar/v3"

	"github.com/arcfleet/arcfleet/internal/results"
)

// progress shows a run's events: a progress bar on a terminal, else one line per
// host event (start, attempt result, retry scheduled, done), fit for cron and CI logs.
type progress struct {
	mu               sync.Mutex
	w                io.Writer
	bar              *progressbar.ProgressBar // nil when not a terminal
	total            int
	done, ok, failed int
	retrying         map[string]bool // hosts waiting for or running a retry; bounded by concurrency
}

func newProgress(w io.Writer, total int, terminal bool) *progress {
	p := &progress{w: w, total: total, retrying: map[string]bool{}}
	if terminal {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetDescription("starting"),
		)
	}
	return p
}

// event is the Executor's Events callback; safe for concurrent use.
func (p *progress) event(ev executor.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev.Kind {
	case executor.EventRetry:
		p.retrying[ev.Host] = true
	case executor.EventDone, executor.EventNotStarted:
		p.done++
		delete(p.retrying, ev.Host)
		switch ev.Outcome {
		case results.OutcomeOK, results.OutcomeUnchanged:
			p.ok++
		default:
			p.failed++
		}
	}
	if p.bar == nil {
		fmt.Fprintln(p.w, eventLine(ev))
		return
	}
	if ev.Kind == executor.EventWarning {
		_ = p.bar.Clear()
		fmt.Fprintln(p.w, eventLine(ev))
	}
	p.bar.Describe(fmt.Sprintf("ok %d  failed %d  retrying %d", p.ok, p.failed, len(p.retrying)))
	if ev.Kind == executor.EventDone || ev.Kind == executor.EventNotStarted {
		_ = p.bar.Add(1)
	}
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}

// eventLine is one greppable line: time, host, event, details.
func eventLine(ev executor.Event) string {
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
	if ev.Delay > 0 {
		s += " retry_in=" + ev.Delay.Round(time.Millisecond).String()
	}
	if ev.Message != "" {
		s += " msg=" + fmt.Sprintf("%q", ev.Message)
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
