package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/spf13/pflag"
	"path/filepath"
	"time"

	"github.com/arcfleet/arcfleet/internal/executor"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/metrics"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/shard"
)

// shardFlags are --shard and --shard-by (plan, apply, resume).
type shardFlags struct {
	kn, by string
}

func (s *shardFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&s.kn, "shard", "", "run only shard K of N of the selected hosts, K in 0..N-1 (0-based, as Kubernetes' JOB_COMPLETION_INDEX: --shard $(JOB_COMPLETION_INDEX)/N); "+
		"a host's shard depends only on its name (or --shard-by key) and N; each shard gets 1/N of --rate and its own run directory; merge with 'arcfleet report merge'")
	fs.StringVar(&s.by, "shard-by", "", "with --shard: what a host is sharded by: name (default), via (its ssh jump host) or tag:KEY (a resolved Azure tag, e.g. tag:Zone); hosts sharing the value share a shard")
}

// spec is the parsed --shard, or nil without it.
func (s *shardFlags) spec() (*shard.Spec, error) {
	if s.kn == "" {
		if s.by != "" {
			return nil, errors.New("--shard-by needs --shard K/N")
		}
		return nil, nil
	}
	sp, err := shard.Parse(s.kn, s.by)
	if err != nil {
		return nil, err
	}
	return &sp, nil
}

// selectShard narrows a selection to the shard (hosts unchanged without one).
// An empty shard is no error: its run writes an empty report, so the merge
// finds every shard.
func selectShard(e *env, cmd string, sp *shard.Spec, hosts []*inventory.Host) ([]*inventory.Host, int) {
	if sp == nil {
		return hosts, exitOK
	}
	out, err := shard.Select(hosts, *sp)
	if err != nil {
		fmt.Fprintf(e.stderr, "arcfleet %s: --shard %s: %v\n", cmd, sp, err)
		return nil, exitInvalid
	}
	fmt.Fprintf(e.stderr, "arcfleet %s: shard %s: %d of %d selected host(s)\n", cmd, sp, len(out), len(hosts))
	return out, exitOK
}

// shardSavedPlan applies --shard to a saved plan: a plan made for a shard must
// be run as that shard (a different --shard is refused); a plan of the whole
// selection is narrowed to the shard, so one reviewed plan can feed N shards.
func shardSavedPlan(e *env, path string, sp *shard.Spec, p *plan.Plan) error {
	switch {
	case sp == nil:
		return nil
	case p.Shard != nil:
		if !shard.Equal(*p.Shard, *sp) {
			return fmt.Errorf("plan %s was made for shard %s, not --shard %s; fix: run it with --shard %d/%d (or without --shard), or make a plan for this shard", path, p.Shard, sp, p.Shard.Index, p.Shard.Count)
		}
		return nil
	}
	hosts := make([]*inventory.Host, len(p.Hosts))
	for i := range p.Hosts {
		hosts[i] = &p.Hosts[i].Host
	}
	sel, err := shard.Select(hosts, *sp)
	if err != nil {
		return fmt.Errorf("--shard %s: %w", sp, err)
	}
	keep := make(map[string]bool, len(sel))
	for _, h := range sel {
		keep[h.Name] = true
	}
	kept := p.Hosts[:0:0]
	for i := range p.Hosts {
		if keep[p.Hosts[i].Host.Name] {
			kept = append(kept, p.Hosts[i])
		}
	}
	fmt.Fprintf(e.stderr, "arcfleet apply: shard %s of plan %s: %d of %d host(s)\n", sp, path, len(kept), len(p.Hosts))
	p.Hosts = kept
	s := *sp
	p.Shard = &s
	return nil
}

// shardRate gives a sharded run its share of the fleet's start-rate budget and
// records the budget in the plan (saved in the run directory) so resume keeps
// it. rateSet: --rate was given on this command line.
func shardRate(p *plan.Plan, rf *runFlags, rateSet bool) {
	if p.Shard == nil {
		return
	}
	if rateSet || p.Shard.FleetRate == 0 {
		p.Shard.FleetRate = rf.rate
	}
	rf.rate = p.Shard.Rate()
}

// flagSet reports whether the flag was given on the command line.
func flagSet(fs *pflag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *pflag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// defaultRunDir is runs/<UTC timestamp>-<action>[-shard-K-of-N].
func defaultRunDir(p *plan.Plan, now time.Time) string {
	name := now.UTC().Format("20060102T150405Z") + "-" + p.Action
	if p.Shard != nil {
		name += "-" + p.Shard.Label()
	}
	return filepath.Join("runs", name)
}

// metricsFlag is --metrics-file (apply, resume, report merge).
const metricsHelp = "write the run's outcome to this file in the Prometheus text format (for node_exporter's textfile collector: a .prom file in its directory), atomically; a failed run keeps the last success time the file held"

// withMetrics wraps a run so its report is also written as metrics to path
// ("" = none). A metrics file that cannot be written is an error of the run:
// the job must not look healthy when its monitoring is blind.
func withMetrics(e *env, path string, p *plan.Plan, runDir string,
	f func(context.Context, *executor.Executor) (*results.Report, error)) func(context.Context, *executor.Executor) (*results.Report, error) {
	if path == "" {
		return f
	}
	return func(ctx context.Context, x *executor.Executor) (*results.Report, error) {
		rep, err := f(ctx, x)
		if rep == nil {
			return rep, err
		}
		if merr := writeMetrics(path, rep, p.Shard, runDir); merr != nil {
			return rep, errors.Join(err, merr)
		}
		return rep, err
	}
}

func writeMetrics(path string, rep *results.Report, sp *shard.Spec, runDirs ...string) error {
	retries := 0
	for _, d := range runDirs {
		n, _ := executor.CountRetries(d) // a run without journal has none
		retries += n
	}
	run := metrics.Run{Report: rep, Retries: retries}
	if sp != nil {
		run.Shard = fmt.Sprintf("%d/%d", sp.Index, sp.Count)
	}
	return metrics.Write(path, run)
}

// checkResumeShard refuses a --shard on resume that is not the run's own (a
// run directory holds one shard; resume never changes which).
func checkResumeShard(e *env, runDir string, sf *shardFlags, p *plan.Plan) int {
	sp, err := sf.spec()
	if err != nil {
		fmt.Fprintf(e.stderr, "arcfleet resume: %v\n", err)
		return exitInvalid
	}
	switch {
	case sp == nil:
	case p.Shard == nil:
		fmt.Fprintf(e.stderr, "arcfleet resume: %s is a run of the whole selection, not of shard %s; fix: resume it without --shard\n", runDir, sp)
		return exitInvalid
	case !shard.Equal(*p.Shard, *sp):
		fmt.Fprintf(e.stderr, "arcfleet resume: %s is the run of shard %s, not %s; fix: resume it with --shard %d/%d or without --shard\n", runDir, p.Shard, sp, p.Shard.Index, p.Shard.Count)
		return exitInvalid
	}
	if p.Shard != nil {
		fmt.Fprintf(e.stderr, "arcfleet resume: shard %s (%d host(s))\n", p.Shard, len(p.Hosts))
	}
	return exitOK
}
