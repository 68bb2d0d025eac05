package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/arcfleet/arcfleet/internal/executor"
	"github.com/arcfleet/arcfleet/internal/results"

	"github.com/spf13/pflag"
)

const reportUsage = `Usage: arcfleet report RUN_DIR [--format table|markdown|json|junit|csv|html] [--lang en|sv]
       arcfleet report merge -o OUT_DIR SHARD_RUN_DIR... (see arcfleet report merge --help)

Renders the remediation report of a run from RUN_DIR/report.json: per host the
outcome, attempts, final code, cause, fix, evidence and log; problems grouped by
code, largest group first. table is for the terminal (coloured when stdout is a
terminal and NO_COLOR is unset), markdown for change tickets, json for tools
(versioned: format_version), junit for CI dashboards (one testcase per host),
csv for spreadsheets, html for a browser: one self-contained page (no network,
no script) with a chart of the outcomes by code, the run's timeline per host
from RUN_DIR/journal.jsonl (attempts, waits before retries, when the circuit
breaker opened), the remediation groups and each host's evidence:
  arcfleet report RUN_DIR --format html > report.html

Flags:
`

func cmdReport(e *env, fs *pflag.FlagSet) func(context.Context, []string) int {
	// 'report merge' is a subcommand (flags.go); a run directory named merge: ./merge
	format := fs.String("format", "table", "output format: "+strings.Join(results.ReportFormats, ", "))
	lang := fs.String("lang", "", "language of the text: en or sv (default from ARCFLEET_LANG or LANG, else en)")
	return func(ctx context.Context, pos []string) int {
		if len(pos) != 1 {
			fmt.Fprintln(e.stderr, "arcfleet report: give exactly one RUN_DIR (see --help)")
			return exitInvalid
		}
		if !slices.Contains(results.ReportFormats, *format) {
			fmt.Fprintf(e.stderr, "arcfleet report: unknown format %q; use one of %s\n", *format, strings.Join(results.ReportFormats, ", "))
			return exitInvalid
		}
		l, ok := pickLang(e, *lang)
		if !ok {
			fmt.Fprintf(e.stderr, "arcfleet report: unknown language %q; use --lang en or --lang sv\n", *lang)
			return exitInvalid
		}
		r, err := results.ReadReport(pos[0])
		if err != nil {
			fmt.Fprintf(e.stderr, "arcfleet report: %v\n", err)
			return exitInvalid
		}
		if *format == "html" {
			tl, err := executor.ReadTimeline(pos[0])
			if err != nil {
				// The report is still worth having; the timeline needs the journal.
				fmt.Fprintf(e.stderr, "arcfleet report: no timeline: %v\n", err)
				tl = nil
			}
			if err := results.RenderHTML(e.stdout, r, l, tl); err != nil {
				fmt.Fprintf(e.stderr, "arcfleet report: %v\n", err)
				return exitInvalid
			}
			return exitOK
		}
		color := *format == "table" && e.stdoutIsTerminal && e.getenv("NO_COLOR") == ""
		if err := results.RenderReportWidth(e.stdout, r, *format, l, color, outputWidth(e)); err != nil {
			fmt.Fprintf(e.stderr, "arcfleet report: %v\n", err)
			return exitInvalid
		}
		return exitOK
	}
}
