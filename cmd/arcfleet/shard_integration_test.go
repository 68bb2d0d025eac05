package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/shard"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// shardScenario gives a sharded fleet every kind of outcome.
func shardScenario(f *e2eFleet) {
	f.writeScenario("slow: 20ms", map[string]string{
		"sh-02": "connect: {code: AZCM0026, fail_first: 1}", // transient once: one retry, then ok
		"sh-04": "connect: {code: AZCM0013}",                // invalid tags: failed, not retried
		"sh-05": connectedAt(e2eRG),                         // unchanged
		"sh-07": connectedAt("rg-other"),                    // drift: blocked
		"sh-09": "service_down: true",                       // restart the service, then ok
	})
}

// TestShardsEqualUnshardedE2E: three shards run side by side on one machine
// against real sshd hosts give the same per-host outcomes as one unsharded run
// of an identical fleet, and their merge is the unsharded report (JSON, modulo
// timings and paths). Each host is acted on by exactly one shard.
func TestShardsEqualUnshardedE2E(t *testing.T) {
	t.Parallel()
	const n = 3
	whole := newFleet(t, "sh", 10, 0, sshtest.LoginTest, true)
	shardScenario(whole)
	whole.writeInventory(invOpts{})
	split := newFleet(t, "sh", 10, 0, sshtest.LoginTest, true)
	shardScenario(split)
	inv := split.writeInventory(invOpts{})

	wholeDir := filepath.Join(whole.Dir, "runs", "whole")
	wholeMetrics := filepath.Join(whole.Dir, "whole.prom")
	rw := whole.start("apply", "-i", whole.Inv, "--action", "connect", "--yes", "--concurrency", "4", "--timeout", "20s",
		"--run-dir", wholeDir, "--metrics-file", wholeMetrics)

	// The shards, started together. Shard 0 takes the default run directory
	// (its name says the shard); the others get one under runs/.
	var procs []*cliProc
	for k := 0; k < n; k++ {
		args := []string{"apply", "-i", inv, "--action", "connect", "--yes", "--concurrency", "2", "--timeout", "20s",
			"--shard", strconv.Itoa(k) + "/3", "--rate", "30", "--metrics-file", filepath.Join(split.Dir, "shard-"+strconv.Itoa(k)+".prom")}
		if k > 0 {
			args = append(args, "--run-dir", filepath.Join("runs", "job-1", "shard-"+strconv.Itoa(k)))
		}
		procs = append(procs, split.start(args...))
	}
	wholeRes := rw.wait(2 * time.Minute)
	if wholeRes.code != exitHostsFailed {
		t.Fatalf("unsharded run: want exit 3\n%s", wholeRes)
	}
	var dirs []string
	for k, p := range procs {
		r := p.wait(2 * time.Minute)
		if r.code != exitOK && r.code != exitHostsFailed {
			t.Fatalf("shard %d: exit %d\n%s", k, r.code, r)
		}
		if !strings.Contains(r.stderr, "shard "+strconv.Itoa(k)+"/3: ") {
			t.Errorf("shard %d does not say which shard it runs:\n%s", k, r.stderr)
		}
	}
	def, _ := filepath.Glob(filepath.Join(split.Dir, "runs", "*-connect-shard-0-of-3"))
	if len(def) != 1 {
		t.Fatalf("shard 0's default run directory: found %v, want one runs/<time>-connect-shard-0-of-3", def)
	}
	dirs = append(dirs, def[0], filepath.Join(split.Dir, "runs", "job-1", "shard-1"), filepath.Join(split.Dir, "runs", "job-1", "shard-2"))

	// Each shard ran exactly its partition's hosts, recorded its shard and the
	// fleet's rate budget (resume keeps it), and its hosts only were touched by it.
	invLoaded, err := inventory.Load(inv)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := invLoaded.Select("")
	seen := map[string]int{}
	for k, d := range dirs {
		p, err := plan.LoadPlan(filepath.Join(d, "plan.json"))
		if err != nil {
			t.Fatal(err)
		}
		if p.Shard == nil || p.Shard.Index != k || p.Shard.Count != n || p.Shard.FleetRate != 30 {
			t.Fatalf("shard %d's plan.json records shard %+v, want %d/3 with fleet_rate 30", k, p.Shard, k)
		}
		want, _ := shard.Select(all, *p.Shard)
		var got, wantNames []string
		for _, h := range p.Hosts {
			got = append(got, h.Host.Name)
			seen[h.Host.Name]++
		}
		for _, h := range want {
			wantNames = append(wantNames, h.Name)
		}
		if !slices.Equal(got, wantNames) {
			t.Errorf("shard %d planned %v, the partition says %v", k, got, wantNames)
		}
		rep := readReport(t, d)
		if len(rep.Hosts) != len(got) {
			t.Errorf("shard %d's report has %d hosts, its plan %d", k, len(rep.Hosts), len(got))
		}
	}
	for _, h := range split.Hosts {
		if seen[h.Name] != 1 {
			t.Errorf("host %s is in %d shards, want exactly 1", h.Name, seen[h.Name])
		}
	}
	if a, b := successfulConnects(whole.record()), successfulConnects(split.record()); !mapsEqual(a, b) {
		t.Errorf("successful connects per host: unsharded %v, shards %v", a, b)
	}

	// The merge is the unsharded report.
	out := filepath.Join(split.Dir, "merged")
	mergedMetrics := filepath.Join(split.Dir, "merged.prom")
	mr := split.run(append([]string{"report", "merge", "-o", out, "--metrics-file", mergedMetrics}, dirs[2], dirs[0], dirs[1])...)
	if mr.code != exitHostsFailed {
		t.Fatalf("merge: want exit 3 (the run's own: hosts failed)\n%s", mr)
	}
	wantJSON := normalizedReport(t, wholeDir, wholeDir)
	gotJSON := normalizedReport(t, out, dirs...)
	if !bytes.Equal(wantJSON, gotJSON) {
		t.Errorf("merged report differs from the unsharded one:\n--- unsharded:\n%s\n--- merged:\n%s", wantJSON, gotJSON)
	}
	for _, name := range []string{"report.json", "report.md", "report.txt", "report.junit.xml", "report.csv", "shards.json"} {
		if fi, err := os.Stat(filepath.Join(out, name)); err != nil || fi.Size() == 0 {
			t.Errorf("merge output %s: %v", name, err)
		}
	}
	// Log paths in the merged report lead to the shards' logs.
	merged := readReport(t, out)
	for _, h := range merged.Hosts {
		for _, a := range h.Attempts {
			if a.LogPath == "" {
				continue
			}
			if _, err := os.Stat(filepath.Join(out, a.LogPath)); err != nil {
				t.Errorf("%s attempt %d: log %s from the merged report: %v", h.Name, a.N, a.LogPath, err)
			}
		}
	}
	// `arcfleet report OUT` renders the merge like any run.
	split.run("report", out, "--format", "csv").expect(t, exitOK)

	// Metrics: the unsharded run's and the merge's agree; the shards' sum to them.
	wm, mm := parseMetrics(t, wholeMetrics), parseMetrics(t, mergedMetrics)
	for _, o := range []string{"ok", "unchanged", "failed", "blocked"} {
		w := gaugeValue(t, wm, "arcfleet_run_hosts", "outcome", o)
		if m := gaugeValue(t, mm, "arcfleet_run_hosts", "outcome", o); w != m {
			t.Errorf("hosts %s: unsharded %v, merged %v", o, w, m)
		}
		sum := 0.0
		for k := 0; k < n; k++ {
			sum += gaugeValue(t, parseMetrics(t, filepath.Join(split.Dir, "shard-"+strconv.Itoa(k)+".prom")), "arcfleet_run_hosts", "outcome", o)
		}
		if sum != w {
			t.Errorf("hosts %s: the shards' metrics sum to %v, the unsharded run has %v", o, sum, w)
		}
	}
	if w, m := gaugeValue(t, wm, "arcfleet_run_retries", "", ""), gaugeValue(t, mm, "arcfleet_run_retries", "", ""); w != m || w < 2 {
		t.Errorf("retries: unsharded %v, merged %v; want equal and at least 2 (sh-02, sh-09)", w, m)
	}

	// resume of a shard: its own shard is accepted, another refused.
	split.run("resume", dirs[1], "--shard", "2/3", "--yes").expect(t, exitInvalid)
	r := split.run("resume", dirs[1], "--shard", "1/3", "--yes")
	if r.code != exitOK && r.code != exitHostsFailed || !strings.Contains(r.stderr, "shard 1/3") {
		t.Errorf("resume of shard 1 with its own --shard:\n%s", r)
	}
	split.assertNoSecrets()
	whole.assertNoSecrets()
}

// normalizedReport is the JSON report of dir with what differs between runs of
// the same hosts removed: times, durations, run ids, paths, log locations.
func normalizedReport(t *testing.T, dir string, runDirs ...string) []byte {
	t.Helper()
	r := readReport(t, dir)
	r.RunID, r.Inventory = "", ""
	r.Started, r.Finished = time.Time{}, time.Time{}
	re := regexp.MustCompile(`runs/[^ ;)'"]*`)
	for i := range r.Hosts {
		h := &r.Hosts[i]
		h.LogPath = ""
		h.Detail = re.ReplaceAllString(h.Detail, "RUN_DIR")
		for _, d := range runDirs {
			h.Detail = strings.ReplaceAll(h.Detail, d, "RUN_DIR")
		}
		for j := range h.Attempts {
			h.Attempts[j].Started, h.Attempts[j].Duration, h.Attempts[j].LogPath = time.Time{}, 0, ""
		}
		h.Evidence = nil // agent output carries times and temporary paths
	}
	slices.SortFunc(r.Hosts, func(a, b results.HostResult) int { return strings.Compare(a.Name, b.Name) })
	var buf bytes.Buffer
	if err := results.RenderReport(&buf, r, "json", "en", false); err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	for _, h := range v["hosts"].([]any) {
		delete(h.(map[string]any), "duration_ns")
	}
	out, _ := json.MarshalIndent(v, "", "  ")
	return out
}

func parseMetrics(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("%s: not the Prometheus text format: %v", path, err)
	}
	return fams
}

// gaugeValue is the value of the gauge name whose label has value ("" = the only sample).
func gaugeValue(t *testing.T, fams map[string]*dto.MetricFamily, name, label, value string) float64 {
	t.Helper()
	fam, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range fam.GetMetric() {
		if label == "" {
			return m.GetGauge().GetValue()
		}
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, value)
	return 0
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestShardKilledMergeE2E: one of two shards is killed (SIGKILL) mid-connect.
// The merge refuses the unfinished shard, --partial merges it with its hosts
// marked, resume of the shard finishes it, and merging again gives every host
// once, each connected exactly once.
func TestShardKilledMergeE2E(t *testing.T) {
	t.Parallel()
	f := startFleet(t, "sk", 6, 0)
	var slow string
	var inShard [2][]string
	for _, n := range f.Names() {
		k := shard.Of(n, 2)
		inShard[k] = append(inShard[k], n)
		if k == 1 && slow == "" {
			slow = n
		}
	}
	if slow == "" || len(inShard[0]) == 0 {
		t.Fatalf("partition of %v: %v; the test needs hosts in both shards", f.Names(), inShard)
	}
	f.writeScenario("slow: 20ms", map[string]string{slow: "connect: {slow: 3s}"})
	inv := f.writeInventory(invOpts{})
	d0, d1 := filepath.Join(f.Dir, "job", "shard-0"), filepath.Join(f.Dir, "job", "shard-1")
	p0 := f.start("apply", "-i", inv, "--action", "connect", "--yes", "--shard", "0/2", "--timeout", "20s", "--run-dir", d0)
	p1 := f.start("apply", "-i", inv, "--action", "connect", "--yes", "--shard", "1/2", "--concurrency", "1", "--timeout", "20s", "--run-dir", d1)
	waitFor(t, 30*time.Second, slow+" in its slow connect", func() bool { return f.agentStarted("connect", slow) })
	if err := p1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if r := p1.wait(10 * time.Second); r.code != 128+int(syscall.SIGKILL) {
		t.Fatalf("shard 1 was not killed\n%s", r)
	}
	p0.wait(time.Minute).expect(t, exitOK)

	out := filepath.Join(f.Dir, "job", "merged")
	r := f.run("report", "merge", "-o", out, d0, d1).expect(t, exitInvalid)
	if !strings.Contains(r.stderr, "unfinished") || !strings.Contains(r.stderr, "shard 1/2 ("+d1+"): no report.json") {
		t.Errorf("merge of a killed shard: want it named as unfinished\n%s", r)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused merge wrote %s (%v)", out, err)
	}
	f.run("report", "merge", "-o", out, "--partial", d0, d1).expect(t, exitHostsFailed)
	partial := readReport(t, out)
	if len(partial.Hosts) != len(f.Hosts) {
		t.Fatalf("--partial merge: %d hosts, want %d", len(partial.Hosts), len(f.Hosts))
	}
	for _, h := range partial.Hosts {
		want := results.OutcomeOK
		if slices.Contains(inShard[1], h.Name) {
			want = results.OutcomeInterrupted
		}
		if h.Outcome != want || (want == results.OutcomeInterrupted && !strings.Contains(h.Detail, "arcfleet resume "+d1)) {
			t.Errorf("--partial: %s %s %q, want %s", h.Name, h.Outcome, h.Detail, want)
		}
	}

	prom := filepath.Join(f.Dir, "metrics", "shard-1.prom")
	f.run("resume", d1, "--shard", "1/2", "--yes", "--timeout", "20s", "--metrics-file", prom).expect(t, exitOK)
	pm := parseMetrics(t, prom)
	if ok := gaugeValue(t, pm, "arcfleet_run_hosts", "outcome", "ok"); int(ok) != len(inShard[1]) {
		t.Errorf("resume's metrics: %v hosts ok, want shard 1's %d", ok, len(inShard[1]))
	}
	if code := gaugeValue(t, pm, "arcfleet_run_exit_code", "", ""); code != 0 {
		t.Errorf("resume's metrics: exit code %v", code)
	}
	if m := pm["arcfleet_last_success_timestamp_seconds"]; m == nil || m.GetMetric()[0].GetLabel()[1].GetValue() != "1/2" {
		t.Errorf("resume's metrics: last success %v, want one with shard=\"1/2\"", m)
	}
	f.run("report", "merge", "-o", out, d0, d1).expect(t, exitOK)
	merged := readReport(t, out)
	if len(merged.Hosts) != len(f.Hosts) {
		t.Fatalf("merge after resume: %d hosts", len(merged.Hosts))
	}
	for _, h := range merged.Hosts {
		if h.Outcome != results.OutcomeOK {
			t.Errorf("after resume: %s %s %s (%s)", h.Name, h.Outcome, h.FinalCode, h.Detail)
		}
	}
	conn := successfulConnects(f.record())
	for _, n := range f.Names() {
		if conn[n] != 1 {
			t.Errorf("%s: %d successful connects, want exactly 1", n, conn[n])
		}
	}
	f.assertNoSecrets()
}
