// Package metrics writes a run's outcome in the Prometheus text exposition
// format, for node_exporter's textfile collector (or any scraper of a file), so
// scheduled jobs (cron, systemd timers, Kubernetes CronJobs) can be alerted on.
//
// The file is rewritten whole at the end of every run, atomically (a temporary
// file in the same directory, then rename), so the collector never reads half
// of one. Every series carries the labels action and shard, so the files of
// several jobs or shards can sit in one textfile directory without clashing.
//
// arcfleet_last_success_timestamp_seconds is the time of the last run that
// ended as intended (exit 0). A run that fails keeps the value it finds in the
// file it replaces, so one alert covers every way a schedule can break:
// `time() - arcfleet_last_success_timestamp_seconds > 8*86400` for a weekly job
// fires when runs fail, and when they stop running at all (the file then goes
// stale, and the value with it). Until a first success the series is absent:
// alert on `absent(...)` too, or seed it.
//
// It imports only internal/results.
package metrics

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arcfleet/arcfleet/internal/atomicfile"
	"github.com/arcfleet/arcfleet/internal/results"
)

// LastSuccess is the name of the series a failed run carries over.
const LastSuccess = "arcfleet_last_success_timestamp_seconds"

// Outcomes are the values of the outcome label, always all written (0 too),
// so a query need not guess which exist.
var Outcomes = []results.Outcome{results.OutcomeOK, results.OutcomeUnchanged, results.OutcomeFailed,
	results.OutcomeBlocked, results.OutcomeNotStarted, results.OutcomeInterrupted}

// Run is what one file describes.
type Run struct {
	Report *results.Report
	Action string // defaults to Report.Action
	Shard  string // "K/N", or "" for an unsharded run (written as shard="all")
	// Retries is the number of retries the run directory's journal records
	// (a resume adds to its run's count).
	Retries int
}

func (r Run) labels() string {
	action := r.Action
	if action == "" && r.Report != nil {
		action = r.Report.Action
	}
	shard := r.Shard
	if shard == "" {
		shard = "all"
	}
	return `action="` + escape(action) + `",shard="` + escape(shard) + `"`
}

// Render writes the metrics of run. prevSuccess is the last success time the
// previous file held (0 = none); it is written unless this run succeeded.
func Render(w io.Writer, run Run, prevSuccess float64) error {
	rep := run.Report
	if rep == nil {
		return fmt.Errorf("metrics: no report")
	}
	bw := bufio.NewWriter(w)
	lb := run.labels()
	family := func(name, help string) {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	}
	sample := func(name, extra string, v float64) {
		l := lb
		if extra != "" {
			l += "," + extra
		}
		fmt.Fprintf(bw, "%s{%s} %s\n", name, l, strconv.FormatFloat(v, 'f', -1, 64))
	}

	family("arcfleet_run_info", "The last arcfleet run written to this file (value 1); labels say which.")
	sample("arcfleet_run_info", `run_id="`+escape(rep.RunID)+`"`, 1)

	counts := map[results.Outcome]int{}
	codes := map[string]int{}
	for i := range rep.Hosts {
		h := &rep.Hosts[i]
		counts[h.Outcome]++
		c := h.FinalCode
		if c == "" {
			c = "none"
		}
		codes[c]++
	}
	family("arcfleet_run_hosts", "Hosts of the last run by outcome.")
	outs := slices.Clone(Outcomes)
	for o := range counts {
		if !slices.Contains(outs, o) {
			outs = append(outs, o)
		}
	}
	slices.Sort(outs[len(Outcomes):])
	for _, o := range outs {
		sample("arcfleet_run_hosts", `outcome="`+escape(string(o))+`"`, float64(counts[o]))
	}

	if len(codes) > 0 {
		family("arcfleet_run_hosts_by_code", `Hosts of the last run by final code (AZCM code or arcfleet cause; "none" when a host has none).`)
	}
	keys := make([]string, 0, len(codes))
	for c := range codes {
		keys = append(keys, c)
	}
	slices.Sort(keys)
	for _, c := range keys {
		sample("arcfleet_run_hosts_by_code", `code="`+escape(c)+`"`, float64(codes[c]))
	}

	family("arcfleet_run_duration_seconds", "Wall time of the last run.")
	dur := 0.0
	if !rep.Started.IsZero() && rep.Finished.After(rep.Started) {
		dur = rep.Finished.Sub(rep.Started).Seconds()
	}
	sample("arcfleet_run_duration_seconds", "", math.Round(dur*1000)/1000)

	family("arcfleet_run_retries", "Retries the run directory's journal records (retries of every host; a resume adds to its run's).")
	sample("arcfleet_run_retries", "", float64(run.Retries))

	if len(rep.BreakerOpen) > 0 {
		family("arcfleet_run_breaker_opened", "Credentials (service principal in its tenant; never a secret) whose circuit breaker opened in the last run: 1 each.")
	}
	for _, k := range rep.BreakerOpen {
		sample("arcfleet_run_breaker_opened", `credential="`+escape(k)+`"`, 1)
	}
	family("arcfleet_run_breakers_open", "How many circuit breakers opened in the last run.")
	sample("arcfleet_run_breakers_open", "", float64(len(rep.BreakerOpen)))

	family("arcfleet_run_exit_code", "Exit code of the last run: 0 all as intended, 3 hosts failed, 4 circuit breaker, 130 interrupted.")
	code := rep.ExitCode()
	sample("arcfleet_run_exit_code", "", float64(code))

	finished := rep.Finished
	family("arcfleet_run_finished_timestamp_seconds", "When the last run ended (Unix time).")
	sample("arcfleet_run_finished_timestamp_seconds", "", unix(finished))

	success := prevSuccess
	if code == results.ExitOK && !finished.IsZero() {
		success = unix(finished)
	}
	if success > 0 {
		family(LastSuccess, "When a run last ended with every host as intended (Unix time); a failed run keeps the previous value.")
		sample(LastSuccess, "", success)
	}
	return bw.Flush()
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMilli()) / 1000
}

// escape escapes a label value: backslash, double quote and newline.
func escape(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// Write renders run into path atomically, carrying over the last success time
// of the file it replaces when this run did not succeed.
func Write(path string, run Run) error {
	prev := 0.0
	if old, err := os.ReadFile(path); err == nil {
		prev = previousSuccess(old, run.labels())
	}
	var buf bytes.Buffer
	if err := Render(&buf, run, prev); err != nil {
		return err
	}
	return writeAtomic(path, buf.Bytes())
}

// previousSuccess finds LastSuccess with exactly these labels in an old file.
func previousSuccess(old []byte, labels string) float64 {
	prefix := LastSuccess + "{" + labels + "} "
	for _, line := range strings.Split(string(old), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, err := strconv.ParseFloat(strings.Fields(v + " ")[0], 64)
			if err == nil && f > 0 && !math.IsInf(f, 0) {
				return f
			}
		}
	}
	return 0
}

// writeAtomic writes the metrics file (internal/atomicfile): the textfile
// collector reads only *.prom, so the temporary file is never read, and
// node_exporter usually runs as another user (0644).
func writeAtomic(path string, data []byte) error {
	// The first run creates the directory (a fresh volume in Kubernetes); the
	// collector reads it whether or not it existed before.
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("metrics file %s: %w; fix: choose a writable --metrics-file", path, err)
	}
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return fmt.Errorf("metrics file %s: %w; fix: choose a writable --metrics-file", path, err)
	}
	return nil
}
