// Package merge builds one report from the run directories of the shards of one
// fleet run (`arcfleet apply --shard K/N`), for `arcfleet report merge`.
//
// It refuses what would make the merged report lie: a directory that is not a
// shard's run, shards of different plans (plan.Plan.Identity: action, inventory
// digest, --limit, partition), a shard given twice, a shard missing, a host in
// two shards, and (unless partial) a shard that has not finished. Every host of
// every shard's plan is in the merged report exactly once.
package merge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/arcfleet/arcfleet/internal/atomicfile"
	"github.com/arcfleet/arcfleet/internal/executor"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/shard"
)

// ShardsFile lists, in a merged report's directory, the shards it was made of.
const ShardsFile = "shards.json"

// Files a merge writes besides report.json and report.md (the other formats of
// `arcfleet report`, rendered in English).
var extraFormats = map[string]string{"table": "report.txt", "junit": "report.junit.xml", "csv": "report.csv"}

// Shard is one shard's run directory as read.
type Shard struct {
	Dir    string
	Plan   *plan.Plan
	Report *results.Report // nil when the run wrote none (killed, still running)
	// Unfinished says why the shard's run is not complete ("" = finished).
	Unfinished string
	Retries    int // from its journal, for metrics
}

// Spec is the shard's place in the partition.
func (s *Shard) Spec() shard.Spec { return *s.Plan.Shard }

// Read reads one shard's run directory: plan.json (required) and report.json.
func Read(dir string) (*Shard, error) {
	p, err := plan.LoadPlan(filepath.Join(dir, executor.PlanFile))
	if err != nil {
		return nil, fmt.Errorf("%s: not a run directory (%v); fix: pass the run directories that `arcfleet apply --shard K/N` wrote", dir, err)
	}
	if p.Shard == nil {
		return nil, fmt.Errorf("%s: a run of the whole selection, not of a shard (its plan has no shard); fix: pass only the directories of `apply --shard K/N` runs; an unsharded run's report needs no merge", dir)
	}
	s := &Shard{Dir: dir, Plan: p}
	if _, err := os.Stat(filepath.Join(dir, results.ReportJSONFile)); err == nil {
		if s.Report, err = results.ReadReport(dir); err != nil {
			return nil, err
		}
	}
	s.Retries, _ = executor.CountRetries(dir) // metrics only: a missing journal counts 0
	s.Unfinished = unfinished(s)
	if busy, _ := executor.InUse(dir); busy {
		// Its report.json, if any, is from before the run now going on.
		s.Unfinished = "an arcfleet apply or resume is running in it now"
	}
	return s, nil
}

// unfinished says why a shard's run is not complete, or "".
func unfinished(s *Shard) string {
	if s.Report == nil {
		return "no report.json: its run was killed, is still running, or never started"
	}
	if s.Report.Interrupted {
		return "its run was interrupted"
	}
	var mid []string
	for i := range s.Report.Hosts {
		if s.Report.Hosts[i].Outcome == results.OutcomeInterrupted {
			mid = append(mid, s.Report.Hosts[i].Name)
		}
	}
	if len(mid) > 0 {
		return fmt.Sprintf("%d host(s) were in flight when it stopped (%s)", len(mid), firstN(mid, 5))
	}
	if len(s.Report.Hosts) != len(s.Plan.Hosts) {
		return fmt.Sprintf("its report has %d hosts, its plan %d", len(s.Report.Hosts), len(s.Plan.Hosts))
	}
	return ""
}

func firstN(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(", ... (%d more)", len(names)-n)
}

// Check refuses a set of shards that cannot be merged: different plans, a
// shard twice, a shard missing, a host in two shards, and (unless partial)
// unfinished shards. It sorts shards by index.
func Check(shards []*Shard, partial bool) error {
	if len(shards) == 0 {
		return errors.New("no shard run directories given")
	}
	slices.SortStableFunc(shards, func(a, b *Shard) int { return a.Plan.Shard.Index - b.Plan.Shard.Index })
	first := shards[0]
	for _, s := range shards[1:] {
		if why := differs(first.Plan, s.Plan); why != "" {
			return fmt.Errorf("%s and %s are shards of different plans: %s; fix: merge the shards of one run (same inventory, action, --limit, --shard N and --shard-by)", first.Dir, s.Dir, why)
		}
	}
	n := first.Plan.Shard.Count
	byIndex := map[int]*Shard{}
	var have []int
	for _, s := range shards {
		k := s.Plan.Shard.Index
		if o, dup := byIndex[k]; dup {
			return fmt.Errorf("shard %d/%d given twice: %s and %s; fix: pass each shard's run directory once (the later one if you ran it again)", k, n, o.Dir, s.Dir)
		}
		byIndex[k] = s
		have = append(have, k)
	}
	if miss := shard.Missing(have, n); len(miss) > 0 {
		return fmt.Errorf("shard(s) %s of %d missing (got %d of %d); fix: run them (`arcfleet apply --shard K/%d ...`) and pass their run directories", joinInts(miss), n, len(shards), n, n)
	}
	owner := map[string]*Shard{}
	for _, s := range shards {
		for i := range s.Plan.Hosts {
			name := s.Plan.Hosts[i].Host.Name
			if o, dup := owner[name]; dup {
				return fmt.Errorf("host %s is in shard %d (%s) and shard %d (%s): the shards overlap; fix: make every shard from the same inventory and --shard-by", name, o.Plan.Shard.Index, o.Dir, s.Plan.Shard.Index, s.Dir)
			}
			owner[name] = s
		}
		if s.Report != nil {
			for i := range s.Report.Hosts {
				if owner[s.Report.Hosts[i].Name] != s {
					return fmt.Errorf("%s: its report has host %s, which its plan does not; fix: the run directory is damaged: run that shard again", s.Dir, s.Report.Hosts[i].Name)
				}
			}
		}
	}
	if !partial {
		var bad []string
		for _, s := range shards {
			if s.Unfinished != "" {
				bad = append(bad, fmt.Sprintf("shard %d/%d (%s): %s", s.Plan.Shard.Index, n, s.Dir, s.Unfinished))
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("unfinished shard(s):\n  %s\nfix: finish them with `arcfleet resume DIR` (or run them again), or pass --partial to merge anyway with their unfinished hosts marked interrupted", strings.Join(bad, "\n  "))
		}
	}
	return nil
}

// differs says how two shard plans are of different runs, or "".
func differs(a, b *plan.Plan) string {
	switch {
	case a.Action != b.Action:
		return fmt.Sprintf("action %s vs %s", a.Action, b.Action)
	case a.InventoryDigest != b.InventoryDigest:
		return fmt.Sprintf("inventory digest %s vs %s (the inventory changed between them)", a.InventoryDigest, b.InventoryDigest)
	case a.Limit != b.Limit:
		return fmt.Sprintf("--limit %q vs %q", a.Limit, b.Limit)
	case !shard.SamePartition(*a.Shard, *b.Shard):
		return fmt.Sprintf("partition %s vs %s", a.Shard, b.Shard)
	case a.Identity() != b.Identity():
		return fmt.Sprintf("plan identity %s vs %s", a.Identity(), b.Identity())
	}
	return ""
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// Merge checks shards and returns their merged report, hosts sorted by name,
// log paths made relative to outDir. With partial, the hosts an unfinished
// shard did not finish are marked interrupted, the detail naming the shard.
func Merge(shards []*Shard, outDir string, partial bool) (*results.Report, error) {
	if err := Check(shards, partial); err != nil {
		return nil, err
	}
	first := shards[0]
	out := &results.Report{
		FormatVersion: results.ReportFormatVersion,
		RunID:         filepath.Base(filepath.Clean(outDir)),
		Action:        first.Plan.Action,
		Inventory:     first.Plan.Inventory,
		Hosts:         []results.HostResult{},
	}
	breakers := map[string]bool{}
	for _, s := range shards {
		spec := s.Plan.Shard
		got := map[string]bool{}
		if r := s.Report; r != nil {
			if out.Started.IsZero() || (!r.Started.IsZero() && r.Started.Before(out.Started)) {
				out.Started = r.Started
			}
			if r.Finished.After(out.Finished) {
				out.Finished = r.Finished
			}
			out.Interrupted = out.Interrupted || r.Interrupted
			for _, k := range r.BreakerOpen {
				breakers[k] = true
			}
			if a := r.Azure; a != nil { // apply --verify-azure: every shard's checks, one section
				if out.Azure == nil {
					out.Azure = &results.AzureVerification{}
				}
				if a.Checked.After(out.Azure.Checked) {
					out.Azure.Checked = a.Checked
				}
				out.Azure.Calls += a.Calls
				out.Azure.Hosts = append(out.Azure.Hosts, a.Hosts...)
			}
			for i := range r.Hosts {
				h := r.Hosts[i]
				got[h.Name] = true
				h.LogPath = relocate(h.LogPath, s.Dir, outDir)
				h.Attempts = slices.Clone(h.Attempts)
				for j := range h.Attempts {
					h.Attempts[j].LogPath = relocate(h.Attempts[j].LogPath, s.Dir, outDir)
				}
				if h.Outcome == results.OutcomeInterrupted && s.Unfinished != "" {
					h.Detail = joinDetail(h.Detail, fmt.Sprintf("shard %d/%d (%s) did not finish; `arcfleet resume %s`, then merge again", spec.Index, spec.Count, s.Dir, s.Dir))
				}
				out.Hosts = append(out.Hosts, h)
			}
		}
		for i := range s.Plan.Hosts {
			hp := &s.Plan.Hosts[i]
			if got[hp.Host.Name] {
				continue
			}
			out.Hosts = append(out.Hosts, results.HostResult{
				Name: hp.Host.Name, OS: hp.Host.OS, Action: s.Plan.Action, Outcome: results.OutcomeInterrupted,
				Detail: fmt.Sprintf("shard %d/%d (%s) did not finish (%s): what happened on this host is unknown until `arcfleet resume %s`, then merge again", spec.Index, spec.Count, s.Dir, s.Unfinished, s.Dir),
			})
		}
	}
	for k := range breakers {
		out.BreakerOpen = append(out.BreakerOpen, k)
	}
	slices.Sort(out.BreakerOpen)
	slices.SortFunc(out.Hosts, func(a, b results.HostResult) int { return strings.Compare(a.Name, b.Name) })
	if out.Azure != nil {
		slices.SortStableFunc(out.Azure.Hosts, func(a, b results.AzureCheck) int { return strings.Compare(a.Host, b.Host) })
	}
	return out, nil
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// relocate makes a path relative to a shard's run directory relative to outDir
// (absolute when there is no relative path between them).
func relocate(p, shardDir, outDir string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	full := filepath.Join(shardDir, p)
	ao, err1 := filepath.Abs(outDir)
	af, err2 := filepath.Abs(full)
	if err1 == nil && err2 == nil {
		if rel, err := filepath.Rel(ao, af); err == nil {
			return filepath.ToSlash(rel)
		}
		return af
	}
	return full
}

// ShardEntry is one line of shards.json.
type ShardEntry struct {
	Index      int    `json:"index"`
	Count      int    `json:"count"`
	By         string `json:"by,omitempty"`
	Dir        string `json:"dir"`
	Hosts      int    `json:"hosts"`
	Unfinished string `json:"unfinished,omitempty"`
	ExitCode   *int   `json:"exit_code,omitempty"`
}

// Manifest is shards.json.
type Manifest struct {
	Identity        string       `json:"plan_identity"`
	Action          string       `json:"action"`
	InventoryDigest string       `json:"inventory_digest"`
	Limit           string       `json:"limit,omitempty"`
	MergedAt        time.Time    `json:"merged_at"`
	Partial         bool         `json:"partial,omitempty"`
	Shards          []ShardEntry `json:"shards"`
}

// Write writes the merged report into outDir in every format `arcfleet report`
// renders (report.json, report.md, report.txt, report.junit.xml, report.csv)
// and shards.json, each atomically. outDir must be new, empty, or a merge's
// earlier output (merging again after a resume replaces it); never a run
// directory.
func Write(outDir string, r *results.Report, shards []*Shard, partial bool, now time.Time) error {
	if _, err := os.Stat(filepath.Join(outDir, executor.JournalFile)); err == nil {
		return fmt.Errorf("%s is a run directory (it has %s); fix: choose a new -o directory for the merged report", outDir, executor.JournalFile)
	}
	for _, s := range shards {
		if same(s.Dir, outDir) {
			return fmt.Errorf("-o %s is one of the shard directories; fix: choose a new directory", outDir)
		}
	}
	if ents, err := os.ReadDir(outDir); err == nil && len(ents) > 0 {
		if _, err := os.Stat(filepath.Join(outDir, ShardsFile)); err != nil {
			return fmt.Errorf("%s is not empty and holds no earlier merge (%s); fix: choose a new or empty -o directory", outDir, ShardsFile)
		}
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("merge output: %w", err)
	}
	if err := results.WriteReports(outDir, r); err != nil {
		return err
	}
	for format, name := range extraFormats {
		var buf bytes.Buffer
		if err := results.RenderReport(&buf, r, format, "en", false); err != nil {
			return err
		}
		if err := writeAtomic(filepath.Join(outDir, name), buf.Bytes()); err != nil {
			return err
		}
	}
	first := shards[0].Plan
	m := Manifest{Identity: first.Identity(), Action: first.Action, InventoryDigest: first.InventoryDigest, Limit: first.Limit,
		MergedAt: now.UTC(), Partial: partial}
	for _, s := range shards {
		e := ShardEntry{Index: s.Plan.Shard.Index, Count: s.Plan.Shard.Count, By: s.Plan.Shard.By, Dir: s.Dir, Hosts: len(s.Plan.Hosts), Unfinished: s.Unfinished}
		if s.Report != nil {
			c := s.Report.ExitCode()
			e.ExitCode = &c
		}
		m.Shards = append(m.Shards, e)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(outDir, ShardsFile), append(data, '\n'))
}

func same(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

func writeAtomic(path string, data []byte) error {
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
