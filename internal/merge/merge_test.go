package merge

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/shard"
)

var t0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

// fleetNames is the test fleet; shardOf partitions it as apply --shard would.
var fleetNames = []string{"web01", "web02", "web03", "web04", "sql01", "sql02", "app01", "app02", "app03"}

type shardDir struct {
	dir  string
	plan *plan.Plan
	rep  *results.Report
}

// writeShard writes a run directory of shard k/n over hosts (nil = the
// partition's), with outcome per host (default ok); mutate may change the plan
// or report before they are written; report nil = no report.json.
func writeShard(t *testing.T, root string, k, n int, hosts []string, outcome map[string]results.Outcome, mutate func(*plan.Plan, *results.Report)) string {
	t.Helper()
	spec := shard.Spec{Index: k, Count: n}
	if hosts == nil {
		var all []*inventory.Host
		for _, name := range fleetNames {
			all = append(all, &inventory.Host{Name: name})
		}
		sel, err := shard.Select(all, spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range sel {
			hosts = append(hosts, h.Name)
		}
	}
	p := &plan.Plan{FormatVersion: plan.PlanFormatVersion, CreatedAt: t0, Action: "connect", Inventory: "fleet.yaml",
		InventoryDigest: "sha256:aaaa", Shard: &spec, Credentials: map[string]inventory.Credential{}}
	rep := &results.Report{FormatVersion: results.ReportFormatVersion, Action: "connect", Inventory: "fleet.yaml",
		Started: t0.Add(time.Duration(k) * time.Second), Finished: t0.Add(time.Minute + time.Duration(k)*time.Second)}
	for _, h := range hosts {
		p.Hosts = append(p.Hosts, plan.HostPlan{Host: inventory.Host{Name: h, OS: "linux", Transport: "ssh"},
			Steps: []agent.Step{{Name: "connect", Command: "sh -c 'true'"}}})
		o := outcome[h]
		if o == "" {
			o = results.OutcomeOK
		}
		hr := results.HostResult{Name: h, OS: "linux", Action: "connect", Outcome: o, FinalCode: "AZCM0000",
			Attempts: []results.Attempt{{N: 1, Step: "connect", LogPath: "hosts/" + h + "/attempt-1.log"}}, LogPath: "hosts/" + h + "/attempt-1.log"}
		if o == results.OutcomeFailed {
			hr.FinalCode = "AZCM0041"
		}
		rep.Hosts = append(rep.Hosts, hr)
	}
	if mutate != nil {
		mutate(p, rep)
	}
	dir := filepath.Join(root, "shard-"+string(rune('0'+k)))
	if err := os.MkdirAll(filepath.Join(dir, "hosts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := plan.Save(filepath.Join(dir, "plan.json"), p); err != nil {
		t.Fatal(err)
	}
	if rep.Hosts != nil || rep.Action != "" {
		if err := results.WriteReports(dir, rep); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readAll(t *testing.T, dirs ...string) []*Shard {
	t.Helper()
	var out []*Shard
	for _, d := range dirs {
		s, err := Read(d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func noReport(p *plan.Plan, r *results.Report) { *r = results.Report{} }

func TestMerge(t *testing.T) {
	root := t.TempDir()
	d0 := writeShard(t, root, 0, 3, nil, nil, nil)
	d1 := writeShard(t, root, 1, 3, nil, map[string]results.Outcome{"sql01": results.OutcomeFailed, "web01": results.OutcomeFailed}, func(p *plan.Plan, r *results.Report) {
		r.BreakerOpen = []string{"sp-prod"}
	})
	d2 := writeShard(t, root, 2, 3, nil, nil, func(p *plan.Plan, r *results.Report) {
		r.BreakerOpen = []string{"sp-lab", "sp-prod"}
		r.Azure = &results.AzureVerification{Checked: t0, Calls: 3, Hosts: []results.AzureCheck{{Host: p.Hosts[0].Host.Name, OK: true}}}
	})
	out := filepath.Join(root, "merged")
	shards := readAll(t, d2, d0, d1) // any order
	r, err := Merge(shards, out, false)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range r.Hosts {
		names = append(names, h.Name)
	}
	want := slices.Sorted(slices.Values(fleetNames))
	if !slices.Equal(names, want) {
		t.Fatalf("merged hosts %v, want each of %v once, sorted", names, want)
	}
	if !slices.Equal(r.BreakerOpen, []string{"sp-lab", "sp-prod"}) || r.ExitCode() != results.ExitBreaker {
		t.Errorf("breakers %v exit %d, want the union and exit 4", r.BreakerOpen, r.ExitCode())
	}
	if r.Azure == nil || r.Azure.Calls != 3 || len(r.Azure.Hosts) != 1 {
		t.Errorf("azure verification of shard 2 not carried into the merge: %+v", r.Azure)
	}
	if !r.Started.Equal(t0) || !r.Finished.Equal(t0.Add(time.Minute+2*time.Second)) {
		t.Errorf("started %v finished %v: want the earliest start and the latest finish", r.Started, r.Finished)
	}
	for _, h := range r.Hosts {
		if !strings.HasPrefix(h.LogPath, "../shard-") || !strings.HasSuffix(h.Attempts[0].LogPath, "/hosts/"+h.Name+"/attempt-1.log") {
			t.Errorf("%s: log paths %q, %q: want them relative to the merge directory", h.Name, h.LogPath, h.Attempts[0].LogPath)
		}
	}
	if err := Write(out, r, shards, false, t0); err != nil {
		t.Fatal(err)
	}
	back, err := results.ReadReport(out)
	if err != nil || len(back.Hosts) != len(fleetNames) {
		t.Fatalf("merged report.json read back: %v", err)
	}
	for _, f := range []string{"report.md", "report.txt", "report.junit.xml", "report.csv", ShardsFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// Merging again (after a resume, say) replaces the earlier merge.
	if err := Write(out, r, shards, false, t0); err != nil {
		t.Errorf("merge into an earlier merge's directory: %v", err)
	}
	// Never into a run directory or a non-empty other directory.
	if err := Write(d0, r, shards, false, t0); err == nil {
		t.Error("merge into a shard directory was accepted")
	}
	other := filepath.Join(root, "other")
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("x"), 0o644)
	if err := Write(other, r, shards, false, t0); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("merge into a non-empty directory: %v", err)
	}
}

func TestMergeRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		make  func(t *testing.T, root string) []string
		want  []string // in the error
		after func(t *testing.T, shards []*Shard)
	}{
		{"different action", func(t *testing.T, root string) []string {
			return []string{writeShard(t, root, 0, 2, nil, nil, nil), writeShard(t, root, 1, 2, nil, nil, func(p *plan.Plan, r *results.Report) { p.Action = "reconnect" })}
		}, []string{"different plans", "action connect vs reconnect"}, nil},
		{"different inventory", func(t *testing.T, root string) []string {
			return []string{writeShard(t, root, 0, 2, nil, nil, nil), writeShard(t, root, 1, 2, nil, nil, func(p *plan.Plan, r *results.Report) { p.InventoryDigest = "sha256:bbbb" })}
		}, []string{"different plans", "inventory digest"}, nil},
		{"different limit", func(t *testing.T, root string) []string {
			return []string{writeShard(t, root, 0, 2, nil, nil, nil), writeShard(t, root, 1, 2, nil, nil, func(p *plan.Plan, r *results.Report) { p.Limit = "web*" })}
		}, []string{"different plans", "--limit"}, nil},
		{"different N", func(t *testing.T, root string) []string {
			return []string{writeShard(t, root, 0, 2, nil, nil, nil), writeShard(t, root, 1, 3, nil, nil, nil)}
		}, []string{"different plans", "partition 0/2 vs 1/3"}, nil},
		{"different key", func(t *testing.T, root string) []string {
			return []string{writeShard(t, root, 0, 2, nil, nil, nil), writeShard(t, root, 1, 2, []string{"x"}, nil, func(p *plan.Plan, r *results.Report) { p.Shard.By = "via" })}
		}, []string{"different plans", "by via"}, nil},
		{"twice", func(t *testing.T, root string) []string {
			a := writeShard(t, root, 0, 2, nil, nil, nil)
			other := filepath.Join(root, "again")
			b := writeShard(t, other, 0, 2, nil, nil, nil)
			return []string{a, b, writeShard(t, root, 1, 2, nil, nil, nil)}
		}, []string{"shard 0/2 given twice"}, nil},
		{"missing", func(t *testing.T, root string) []string {
			return []string{writeShard(t, root, 0, 4, nil, nil, nil), writeShard(t, root, 2, 4, nil, nil, nil)}
		}, []string{"shard(s) 1, 3 of 4 missing"}, nil},
		{"overlap", func(t *testing.T, root string) []string {
			return []string{writeShard(t, root, 0, 2, []string{"web01", "web02"}, nil, nil), writeShard(t, root, 1, 2, []string{"web02", "web03"}, nil, nil)}
		}, []string{"host web02 is in shard 0", "and shard 1", "overlap"}, nil},
		{"no report", func(t *testing.T, root string) []string {
			return []string{writeShard(t, root, 0, 2, nil, nil, nil), writeShard(t, root, 1, 2, nil, nil, noReport)}
		}, []string{"unfinished", "shard 1/2", "no report.json", "--partial", "arcfleet resume"}, nil},
		{"interrupted", func(t *testing.T, root string) []string {
			return []string{writeShard(t, root, 0, 2, nil, nil, func(p *plan.Plan, r *results.Report) {
				r.Interrupted = true
				r.Hosts[0].Outcome = results.OutcomeInterrupted
			}), writeShard(t, root, 1, 2, nil, nil, nil)}
		}, []string{"unfinished", "shard 0/2", "interrupted"}, nil},
		{"hosts in flight", func(t *testing.T, root string) []string {
			return []string{writeShard(t, root, 0, 2, []string{"web01", "web02"}, map[string]results.Outcome{"web02": results.OutcomeInterrupted}, nil), writeShard(t, root, 1, 2, []string{"web03"}, nil, nil)}
		}, []string{"unfinished", "in flight"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dirs := tc.make(t, root)
			_, err := Merge(readAll(t, dirs...), filepath.Join(root, "out"), false)
			if err == nil {
				t.Fatal("merged; want a refusal")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// --partial merges unfinished shards, their unfinished hosts marked interrupted
// with the shard named; the merged exit code is not 0.
func TestMergePartial(t *testing.T) {
	root := t.TempDir()
	d0 := writeShard(t, root, 0, 2, nil, nil, nil)
	d1 := writeShard(t, root, 1, 2, nil, nil, noReport)
	shards := readAll(t, d0, d1)
	r, err := Merge(shards, filepath.Join(root, "out"), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Hosts) != len(fleetNames) {
		t.Fatalf("%d hosts, want %d", len(r.Hosts), len(fleetNames))
	}
	marked := 0
	for _, h := range r.Hosts {
		if slices.ContainsFunc(shards[1].Plan.Hosts, func(hp plan.HostPlan) bool { return hp.Host.Name == h.Name }) {
			marked++
			if h.Outcome != results.OutcomeInterrupted || !strings.Contains(h.Detail, "shard 1/2") || !strings.Contains(h.Detail, "arcfleet resume "+d1) {
				t.Errorf("%s of the unfinished shard: %s %q", h.Name, h.Outcome, h.Detail)
			}
		} else if h.Outcome != results.OutcomeOK {
			t.Errorf("%s of the finished shard: %s", h.Name, h.Outcome)
		}
	}
	if marked == 0 || r.ExitCode() != results.ExitHostsFailed {
		t.Errorf("marked %d hosts, exit %d; want some and exit 3", marked, r.ExitCode())
	}
}

// A whole (unsharded) run or a directory without plan is not a shard.
func TestReadRefusesNonShards(t *testing.T) {
	root := t.TempDir()
	d := writeShard(t, root, 0, 1, nil, nil, func(p *plan.Plan, r *results.Report) { p.Shard = nil })
	if _, err := Read(d); err == nil || !strings.Contains(err.Error(), "not of a shard") {
		t.Errorf("unsharded run: %v", err)
	}
	if _, err := Read(filepath.Join(root, "nothing")); err == nil || !strings.Contains(err.Error(), "not a run directory") {
		t.Errorf("no plan: %v", err)
	}
}
