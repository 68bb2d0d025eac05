package main

import (
	"context"
	"fmt"
	"time"

	"github.com/arcfleet/arcfleet/internal/merge"
	"github.com/arcfleet/arcfleet/internal/results"

	"github.com/spf13/pflag"
)

const reportMergeUsage = `Usage: arcfleet report merge -o OUT_DIR [--partial] [--metrics-file PATH] SHARD_RUN_DIR...

Builds one report from the run directories of the N shards of one run
('arcfleet apply --shard K/N'): every host exactly once, sorted by name. It
writes OUT_DIR/report.json and report.md, and the other formats of 'arcfleet
report' (report.txt, report.junit.xml, report.csv), and shards.json (which
shard came from where); 'arcfleet report OUT_DIR' renders it again.

Refused (exit 2, saying which): a directory that is not a shard's run, shards of
different plans (action, inventory digest, --limit, N or --shard-by differ), a
shard given twice, a missing shard, a host in two shards, and a shard whose run
has not finished (no report, interrupted, hosts in flight) unless --partial,
which merges it with those hosts marked interrupted. Merge again after
'arcfleet resume' of a shard: OUT_DIR is replaced.

Exit status: the merged run's, as 'arcfleet apply' would have exited: 0 every
host as intended, 3 some failed, blocked, not started or unfinished, 4 a circuit
breaker opened, 130 a shard was interrupted; 2 refused.

Flags:
`

func cmdReportMerge(e *env, fs *pflag.FlagSet) func(context.Context, []string) int {
	out := fs.StringP("output", "o", "", "directory to write the merged report into (new, empty, or an earlier merge's)")
	partial := fs.Bool("partial", false, "merge unfinished shards too, their unfinished hosts marked interrupted")
	metricsFile := fs.String("metrics-file", "", metricsHelp+" (labels: shard=\"all\")")
	return func(ctx context.Context, pos []string) int {
		if *out == "" || len(pos) == 0 {
			fmt.Fprintln(e.stderr, "arcfleet report merge: give -o OUT_DIR and the shards' run directories (see --help)")
			return exitInvalid
		}
		var shards []*merge.Shard
		for _, d := range pos {
			s, err := merge.Read(d)
			if err != nil {
				fmt.Fprintf(e.stderr, "arcfleet report merge: %v\n", err)
				return exitInvalid
			}
			shards = append(shards, s)
		}
		r, err := merge.Merge(shards, *out, *partial)
		if err != nil {
			fmt.Fprintf(e.stderr, "arcfleet report merge: %v\n", err)
			return exitInvalid
		}
		for _, s := range shards {
			if s.Unfinished != "" {
				fmt.Fprintf(e.stderr, "arcfleet report merge: --partial: shard %s (%s) unfinished: %s\n", s.Plan.Shard, s.Dir, s.Unfinished)
			}
		}
		if err := merge.Write(*out, r, shards, *partial, time.Now()); err != nil {
			fmt.Fprintf(e.stderr, "arcfleet report merge: %v\n", err)
			return exitInvalid
		}
		if *metricsFile != "" {
			dirs := make([]string, len(shards))
			for i, s := range shards {
				dirs[i] = s.Dir
			}
			if err := writeMetrics(*metricsFile, r, nil, dirs...); err != nil {
				fmt.Fprintf(e.stderr, "arcfleet report merge: %v\n", err)
				return exitInvalid
			}
		}
		if err := results.RenderReport(e.stdout, r, "table", "en", e.stdoutIsTerminal && e.getenv("NO_COLOR") == ""); err != nil {
			fmt.Fprintf(e.stderr, "arcfleet report merge: %v\n", err)
		}
		fmt.Fprintf(e.stderr, "merged %d shard(s), %d host(s) into %s (report.json, report.md, report.txt, report.junit.xml, report.csv, shards.json)\n", len(shards), len(r.Hosts), *out)
		return r.ExitCode()
	}
}
