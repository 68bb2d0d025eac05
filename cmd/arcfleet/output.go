package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/arcfleet/arcfleet/internal/executor"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
)

// outputOptions is how a command reports what happens while it runs: the
// global flags --log-format, -v/--verbose and -q/--quiet.
//
// Streams: stdout always carries the command's product (the report table, the
// plan, plan JSON), whatever the log format; the event stream goes to stderr,
// where the live view is in text mode. With --log-format json every line
// arcfleet writes on stderr is one JSON object (events, run start and end, and
// any other message wrapped as {"msg":"text","text":...}), so CI can follow a
// run with `2>&1 >report.txt | jq` and the machine stream never mixes with
// the human report.
type outputOptions struct {
	Format         string // logFormatText ("" means text) or logFormatJSON
	Verbose, Quiet bool
}

const (
	logFormatText = "text"
	logFormatJSON = "json"
)

// validate says what is wrong with the options, naming the fix.
func (o outputOptions) validate() error {
	switch o.Format {
	case "", logFormatText, logFormatJSON:
	default:
		return fmt.Errorf("--log-format %q is not a log format; fix: use --log-format text (the default) or --log-format json", o.Format)
	}
	if o.Verbose && o.Quiet {
		return errors.New("--verbose and --quiet contradict each other; fix: give only one of -v and -q")
	}
	return nil
}

func (o outputOptions) json() bool { return o.Format == logFormatJSON }

// checkOutput validates o, printing the error and its fix: exitInvalid (2)
// when o is unusable, else exitOK.
func checkOutput(e *env, o outputOptions) int {
	if err := o.validate(); err != nil {
		fmt.Fprintf(e.stderr, "arcfleet: %v\n", err)
		return exitInvalid
	}
	return exitOK
}

// setupOutput validates o and, for --log-format json, wraps e.stderr so that
// every line written to it is one JSON object: call it once, right after the
// global flags are parsed and before anything is printed on stderr. It
// returns exitInvalid (the error printed) or exitOK.
func setupOutput(e *env, o outputOptions) int {
	if code := checkOutput(e, o); code != exitOK {
		return code
	}
	if o.json() {
		if _, wrapped := e.stderr.(*jsonStderr); !wrapped {
			e.stderr = newJSONStderr(e.stderr, time.Now)
		}
	}
	return exitOK
}

// jsonStderr turns whatever is written to it into JSON lines: a line that is
// a JSON object already (an event) passes as it is, any other line becomes
// {"time":...,"level":"INFO","msg":"text","text":LINE}. A write is handled
// line by line at once (a prompt without a newline is not held back).
type jsonStderr struct {
	mu  sync.Mutex
	w   io.Writer
	log *slog.Logger
}

func newJSONStderr(w io.Writer, now func() time.Time) *jsonStderr {
	j := &jsonStderr{w: w}
	j.log = slog.New(newEventHandler(lockedWriter{&j.mu, w}, now))
	return j
}

// lockedWriter serialises the writes of jsonStderr and of the event handlers
// writing past it (each write is one whole line), so lines never interleave.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (j *jsonStderr) Write(p []byte) (int, error) {
	s := strings.TrimSuffix(string(p), "\n")
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if isJSONObjectLine(line) {
			lockedWriter{&j.mu, j.w}.Write([]byte(line + "\n"))
			continue
		}
		j.log.Info("text", "text", strings.TrimSpace(termSafeLine(line, 1<<20)))
	}
	return len(p), nil
}

func isJSONObjectLine(s string) bool {
	return strings.HasPrefix(s, "{\"") && strings.HasSuffix(s, "}")
}

// eventHandler is slog's JSON handler with times in UTC.
func newEventHandler(w io.Writer, now func() time.Time) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				t := a.Value.Time()
				if t.IsZero() {
					t = now()
				}
				return slog.String(slog.TimeKey, t.UTC().Format(time.RFC3339Nano))
			}
			return a
		},
	})
}

// eventOutput is a command's event stream built from its outputOptions: the
// live view or one line per event (text), or JSON lines (json); -v adds each
// attempt's log file and first line of evidence, -q keeps only failures and
// the final summary. It is the Executor's Events callback.
type eventOutput struct {
	e    *env
	o    outputOptions
	cmd  string
	now  func() time.Time
	prog *progress    // text, not quiet: the live view or event lines
	h    slog.Handler // json
	w    io.Writer    // stderr, unwrapped

	mu     sync.Mutex
	counts map[results.Outcome]int
	total  int
	closed bool
}

// newEventOutput builds cmd's event output for a run over total hosts.
func newEventOutput(e *env, o outputOptions, cmd string, total int) *eventOutput {
	return newEventOutputWith(e, o, cmd, total, progressOptions{})
}

// newEventOutputWith takes the live view's clock, ticker and width (tests).
func newEventOutputWith(e *env, o outputOptions, cmd string, total int, popt progressOptions) *eventOutput {
	out := &eventOutput{e: e, o: o, cmd: cmd, now: popt.now, total: total, counts: map[results.Outcome]int{}}
	if out.now == nil {
		out.now = time.Now
	}
	out.w = e.stderr
	if j, ok := e.stderr.(*jsonStderr); ok {
		out.w = j.w
	}
	switch {
	case o.json():
		var w io.Writer = e.stderr
		if j, ok := e.stderr.(*jsonStderr); ok {
			w = lockedWriter{&j.mu, j.w}
		}
		out.h = newEventHandler(w, out.now)
	case o.Quiet:
		// failures and the summary only: printed by event and end
	case popt.now != nil || popt.tick != nil || popt.width != 0:
		out.prog = newProgressWith(e.stderr, total, e.stderrIsTerminal, popt)
	default:
		out.prog = newProgress(e.stderr, total, e.stderrIsTerminal)
	}
	if out.prog != nil {
		out.prog.verbose = o.Verbose
	}
	e.open.Store(out)
	return out
}

// failure: a host outcome -q still shows.
func failure(o results.Outcome) bool {
	return o == results.OutcomeFailed || o == results.OutcomeBlocked || o == results.OutcomeInterrupted
}

// event is the Executor's Events callback; safe for concurrent use.
func (out *eventOutput) event(ev executor.Event) {
	out.mu.Lock()
	if ev.Kind == executor.EventDone || ev.Kind == executor.EventNotStarted {
		if ev.Outcome != "" {
			out.counts[ev.Outcome]++
		}
	}
	closed := out.closed
	out.mu.Unlock()
	if closed {
		return
	}
	quietShows := ev.Kind == executor.EventWarning || (ev.Kind == executor.EventDone && failure(ev.Outcome)) ||
		(ev.Kind == executor.EventProbed && probeProblem(ev.Verdict))
	switch {
	case out.h != nil:
		if out.o.Quiet && !quietShows {
			return
		}
		out.h.Handle(context.Background(), eventRecord(ev, out.o.Verbose))
	case out.prog != nil:
		out.prog.event(ev)
	case quietShows:
		out.mu.Lock() // events come from every host's goroutine
		fmt.Fprintln(out.e.stderr, eventLine(ev, false))
		out.mu.Unlock()
	}
}

// eventRecord is ev as one JSON object: time, level, msg (the event's kind),
// host, step, attempt, code, class, outcome, delay_ms, message; verbose adds
// the attempt's log file and first line of evidence.
func eventRecord(ev executor.Event, verbose bool) slog.Record {
	level := slog.LevelInfo
	switch {
	case ev.Kind == executor.EventWarning, ev.Kind == executor.EventRetry:
		level = slog.LevelWarn
	case ev.Kind == executor.EventDone && failure(ev.Outcome), ev.Kind == executor.EventProbed && probeProblem(ev.Verdict):
		level = slog.LevelError
	}
	rec := slog.NewRecord(ev.Time, level, ev.Kind, 0)
	if ev.Host != "" {
		rec.AddAttrs(slog.String("host", ev.Host))
	}
	if ev.Step != "" {
		rec.AddAttrs(slog.String("step", ev.Step))
	}
	if ev.Attempt > 0 {
		rec.AddAttrs(slog.Int("attempt", ev.Attempt))
	}
	if ev.Code != "" {
		rec.AddAttrs(slog.String("code", ev.Code))
	}
	if ev.Class != "" {
		rec.AddAttrs(slog.String("class", string(ev.Class)))
	}
	if ev.Outcome != "" {
		rec.AddAttrs(slog.String("outcome", string(ev.Outcome)))
	}
	if ev.Delay > 0 {
		rec.AddAttrs(slog.Int64("delay_ms", ev.Delay.Milliseconds()))
	}
	if ev.Verdict != "" {
		rec.AddAttrs(slog.String("verdict", ev.Verdict))
	}
	if ev.Message != "" {
		rec.AddAttrs(slog.String("message", ev.Message))
	}
	if verbose {
		if ev.Log != "" {
			rec.AddAttrs(slog.String("log", ev.Log))
		}
		if ev.Evidence != "" {
			rec.AddAttrs(slog.String("evidence", ev.Evidence))
		}
	}
	return rec
}

// start announces the run: its command, run directory and host count (json only).
func (out *eventOutput) start(runDir string) {
	if out.h == nil || out.o.Quiet {
		return
	}
	rec := slog.NewRecord(out.now(), slog.LevelInfo, "run-start", 0)
	rec.AddAttrs(slog.String("command", out.cmd))
	if runDir != "" {
		rec.AddAttrs(slog.String("run_dir", runDir))
	}
	rec.AddAttrs(slog.Int("hosts", out.total))
	out.h.Handle(context.Background(), rec)
}

// finish stops the live view; the run's end is told by end.
func (out *eventOutput) finish() {
	out.mu.Lock()
	out.closed = true
	out.mu.Unlock()
	if out.prog != nil {
		out.prog.finish()
	}
	out.e.open.CompareAndSwap(out, nil)
}

// end tells how the run ended: in json a run-end object (run directory, exit
// code, counts by outcome), with -q in text one summary line.
func (out *eventOutput) end(runDir string, r *results.Report, code int) {
	counts := map[results.Outcome]int{}
	if r != nil {
		for i := range r.Hosts {
			counts[r.Hosts[i].Outcome]++
		}
	} else {
		out.mu.Lock()
		for o, n := range out.counts {
			counts[o] = n
		}
		out.mu.Unlock()
	}
	switch {
	case out.h != nil:
		level := slog.LevelInfo
		if code != exitOK {
			level = slog.LevelError
		}
		rec := slog.NewRecord(out.now(), level, "run-end", 0)
		attrs := []slog.Attr{slog.String("command", out.cmd), slog.String("run_dir", runDir), slog.Int("exit_code", code), slog.Int("hosts", out.total)}
		for _, o := range []results.Outcome{results.OutcomeOK, results.OutcomeUnchanged, results.OutcomeFailed, results.OutcomeBlocked, results.OutcomeNotStarted, results.OutcomeInterrupted} {
			attrs = append(attrs, slog.Int(strings.ReplaceAll(string(o), "-", "_"), counts[o]))
		}
		if s := results.OutcomeSummary(counts, "en"); s != "" {
			attrs = append(attrs, slog.String("summary", s))
		}
		rec.AddAttrs(attrs...)
		out.h.Handle(context.Background(), rec)
	case out.o.Quiet:
		s := results.OutcomeSummary(counts, "en")
		if s == "" {
			s = "no host"
		}
		fmt.Fprintf(out.e.stderr, "arcfleet %s: %s; exit %d; run directory %s\n", out.cmd, s, code, runDir)
	}
}

// showsReport: the report table goes to stdout unless -q asked for the summary line alone.
func (out *eventOutput) showsReport() bool { return !out.o.Quiet }

// notice prints msg where it will stay readable: above the live view (a redraw
// cannot overwrite it), as a JSON object in json mode, else as a line.
func (out *eventOutput) notice(msg string) {
	switch {
	case out.h != nil:
		rec := slog.NewRecord(out.now(), slog.LevelWarn, "notice", 0)
		rec.AddAttrs(slog.String("message", msg))
		out.h.Handle(context.Background(), rec)
	case out.prog != nil:
		out.prog.above(msg)
	default:
		fmt.Fprintln(out.e.stderr, msg)
	}
}

// notify prints msg on e's stderr through the command's event output when one
// is open (above the live view), else as a line.
func notify(e *env, msg string) {
	if out := e.open.Load(); out != nil {
		out.notice(msg)
		return
	}
	if e.stderrIsTerminal {
		msg = "\n" + msg // after the ^C the terminal echoed
	}
	fmt.Fprintln(e.stderr, msg)
}

// probeProblem: a probe verdict that keeps the host from the action (plan --probe).
func probeProblem(v string) bool {
	switch v {
	case executor.VerdictUnreachable, executor.VerdictHostKey, executor.VerdictAuth, executor.VerdictError,
		executor.VerdictDrift, executor.VerdictAzureLocal:
		return true
	}
	return false
}

// probeWithOutput runs plan --probe with the command's event output when one
// was asked for (--log-format json, or -v): a start and a "probed" event per
// host (its verdict and detail), the dials and steps as attempts, and a
// "probe-end" object with the count of hosts per verdict. Plain text without
// -v stays as it was: the plan on stdout says it all.
func probeWithOutput(ctx context.Context, e *env, x *executor.Executor, p *plan.Plan) error {
	o := e.out
	if !o.json() && !o.Verbose {
		return x.Probe(ctx, p)
	}
	probed := 0
	for i := range p.Hosts {
		if !p.Hosts[i].Blocked() {
			probed++
		}
	}
	out := newEventOutput(e, o, "plan", probed)
	x.Events = out.event
	out.start("")
	err := x.Probe(ctx, p)
	out.finish()
	if out.h != nil {
		verdicts := map[string]int{}
		for i := range p.Hosts {
			if pr := p.Hosts[i].Probe; pr != nil {
				verdicts[pr.Verdict]++
			}
		}
		rec := slog.NewRecord(out.now(), slog.LevelInfo, "probe-end", 0)
		rec.AddAttrs(slog.String("command", "plan"), slog.Int("hosts", probed), slog.Any("verdicts", verdicts))
		if err != nil {
			rec.Level = slog.LevelError
			rec.AddAttrs(slog.String("error", err.Error()))
		}
		out.h.Handle(context.Background(), rec)
	}
	return err
}

// runWithOutput runs f with the command's event output and prints the report
// (the table on stdout, unless -q). The context is canceled by the first
// SIGINT/SIGTERM (see interruptible): nothing new starts, in-flight commands
// are killed, and the partial report is written.
func runWithOutput(ctx context.Context, e *env, o outputOptions, cmd string, x *executor.Executor, total int, runDir string,
	f func(context.Context, *executor.Executor) (*results.Report, error)) int {
	out := newEventOutput(e, o, cmd, total)
	x.Events = out.event
	out.start(runDir)
	r, err := f(ctx, x)
	out.finish()
	if err != nil {
		// The run's records (journal, reports) could not be written, or it could
		// not start: never exit 0 then, whatever the hosts did.
		fmt.Fprintf(e.stderr, "arcfleet: %v\n", err)
		if r == nil {
			code := interruptedCode(ctx, exitInvalid)
			out.end(runDir, nil, code)
			return code
		}
	}
	if out.showsReport() {
		if rerr := results.RenderReportWidth(e.stdout, r, "table", "en", e.stdoutIsTerminal, outputWidth(e)); rerr != nil {
			fmt.Fprintf(e.stderr, "arcfleet: report: %v\n", rerr)
		}
	}
	code := r.ExitCode()
	if err != nil && code == exitOK {
		code = exitHostsFailed
	}
	if !o.Quiet && !o.json() {
		fmt.Fprintf(e.stderr, "run directory: %s (report.md, report.json, journal.jsonl, hosts/)\n", runDir)
	}
	out.end(runDir, r, code)
	return code
}
