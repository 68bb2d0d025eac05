package metrics

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/results"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var t0 = time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)

func report(outcomes map[string]results.Outcome, breakers ...string) *results.Report {
	r := &results.Report{FormatVersion: 1, RunID: "20261204T030000Z-reconnect", Action: "reconnect",
		Started: t0, Finished: t0.Add(90*time.Second + 250*time.Millisecond), BreakerOpen: breakers}
	for name, o := range outcomes {
		h := results.HostResult{Name: name, Outcome: o, FinalCode: "AZCM0000"}
		switch o {
		case results.OutcomeFailed:
			h.FinalCode = "AZCM0041"
		case results.OutcomeUnchanged:
			h.FinalCode = ""
		case results.OutcomeNotStarted:
			h.FinalCode = "ARCF-BREAKER"
		}
		r.Hosts = append(r.Hosts, h)
	}
	return r
}

// parse checks data is the Prometheus text format with Prometheus' own parser.
func parse(t *testing.T, data []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not the Prometheus text format: %v\n%s", err, data)
	}
	for name, f := range fams {
		if f.GetType() != dto.MetricType_GAUGE {
			t.Errorf("%s: type %s, want gauge", name, f.GetType())
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["action"] == "" || labels["shard"] == "" {
				t.Errorf("%s: sample without action and shard labels: %v", name, labels)
			}
		}
	}
	return fams
}

// value is the sample of name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	t.Helper()
	for _, m := range fams[name].GetMetric() {
		ok := true
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			ok = ok && found
		}
		if ok {
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func mustValue(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	v, ok := value(t, fams, name, want)
	if !ok {
		t.Fatalf("no sample %s%v", name, want)
	}
	return v
}

func TestRender(t *testing.T) {
	r := report(map[string]results.Outcome{"a": results.OutcomeOK, "b": results.OutcomeOK, "c": results.OutcomeFailed,
		"d": results.OutcomeUnchanged, "e": results.OutcomeNotStarted}, `sp-prod (tenant 72f9)`, "odd \"name\"\\with\nnewline")
	var buf bytes.Buffer
	if err := Render(&buf, Run{Report: r, Shard: "1/3", Retries: 7}, 0); err != nil {
		t.Fatal(err)
	}
	fams := parse(t, buf.Bytes())
	for o, want := range map[string]float64{"ok": 2, "failed": 1, "unchanged": 1, "not-started": 1, "blocked": 0, "interrupted": 0} {
		if got := mustValue(t, fams, "arcfleet_run_hosts", map[string]string{"outcome": o, "shard": "1/3", "action": "reconnect"}); got != want {
			t.Errorf("hosts %s = %v, want %v", o, got, want)
		}
	}
	for c, want := range map[string]float64{"AZCM0000": 2, "AZCM0041": 1, "none": 1, "ARCF-BREAKER": 1} {
		if got := mustValue(t, fams, "arcfleet_run_hosts_by_code", map[string]string{"code": c}); got != want {
			t.Errorf("hosts by code %s = %v, want %v", c, got, want)
		}
	}
	if got := mustValue(t, fams, "arcfleet_run_duration_seconds", nil); got != 90.25 {
		t.Errorf("duration %v", got)
	}
	if got := mustValue(t, fams, "arcfleet_run_retries", nil); got != 7 {
		t.Errorf("retries %v", got)
	}
	if got := mustValue(t, fams, "arcfleet_run_breaker_opened", map[string]string{"credential": "odd \"name\"\\with\nnewline"}); got != 1 {
		t.Errorf("breaker with an odd name: %v", got)
	}
	if got := mustValue(t, fams, "arcfleet_run_breakers_open", nil); got != 2 {
		t.Errorf("breakers open %v", got)
	}
	if got := mustValue(t, fams, "arcfleet_run_exit_code", nil); got != 4 {
		t.Errorf("exit code %v, want 4 (breaker)", got)
	}
	if got := mustValue(t, fams, "arcfleet_run_info", map[string]string{"run_id": r.RunID}); got != 1 {
		t.Errorf("info %v", got)
	}
	if _, ok := fams[LastSuccess]; ok {
		t.Error("a failed run with no earlier success has a last success time")
	}
}

// A failed run keeps the last success time of the file it replaces; a
// successful one sets it; an unsharded run is shard="all".
func TestWriteCarriesLastSuccess(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "arcfleet.prom")
	ok := report(map[string]results.Outcome{"a": results.OutcomeOK, "b": results.OutcomeUnchanged})
	if err := Write(path, Run{Report: ok}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	fams := parse(t, data)
	first := mustValue(t, fams, LastSuccess, map[string]string{"shard": "all", "action": "reconnect"})
	if first != float64(ok.Finished.UnixMilli())/1000 {
		t.Fatalf("last success %v, want the run's end %v", first, ok.Finished.Unix())
	}

	bad := report(map[string]results.Outcome{"a": results.OutcomeFailed})
	bad.Finished = t0.Add(7 * 24 * time.Hour)
	if err := Write(path, Run{Report: bad}); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(path)
	fams = parse(t, data)
	if got := mustValue(t, fams, LastSuccess, nil); got != first {
		t.Errorf("after a failed run: last success %v, want the earlier %v kept", got, first)
	}
	if got := mustValue(t, fams, "arcfleet_run_finished_timestamp_seconds", nil); got != float64(bad.Finished.Unix()) {
		t.Errorf("finished %v", got)
	}
	if got := mustValue(t, fams, "arcfleet_run_exit_code", nil); got != 3 {
		t.Errorf("exit code %v", got)
	}

	// Another shard's file in the same place does not donate its time.
	if err := Write(path, Run{Report: bad, Shard: "0/2"}); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(path)
	if strings.Contains(string(data), LastSuccess) {
		t.Errorf("shard 0/2 took the last success of shard=all:\n%s", data)
	}

	good := report(map[string]results.Outcome{"a": results.OutcomeOK})
	good.Finished = t0.Add(14 * 24 * time.Hour)
	if err := Write(path, Run{Report: good, Shard: "0/2"}); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(path)
	if got := mustValue(t, parse(t, data), LastSuccess, map[string]string{"shard": "0/2"}); got != float64(good.Finished.Unix()) {
		t.Errorf("after a success: %v", got)
	}

	// Atomic: nothing but the file is left in the directory, readable by the collector's user.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the metrics file", len(ents))
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	if err := Write(filepath.Join(dir, "new", "dir", "x.prom"), Run{Report: good}); err != nil {
		t.Errorf("a path in a directory not yet there: %v", err)
	}
	if err := Write(filepath.Join(path, "x.prom"), Run{Report: good}); err == nil || !strings.Contains(err.Error(), "fix:") {
		t.Errorf("unwritable path (under a file): %v", err)
	}
}

// An empty run (an empty shard) is valid too.
func TestRenderEmpty(t *testing.T) {
	var buf bytes.Buffer
	r := &results.Report{FormatVersion: 1, Action: "connect", Started: t0, Finished: t0.Add(time.Second)}
	if err := Render(&buf, Run{Report: r, Shard: "2/3"}, 0); err != nil {
		t.Fatal(err)
	}
	fams := parse(t, buf.Bytes())
	if got := mustValue(t, fams, "arcfleet_run_hosts", map[string]string{"outcome": "ok"}); got != 0 {
		t.Errorf("ok %v", got)
	}
	if _, ok := fams[LastSuccess]; !ok {
		t.Error("an empty shard succeeded: it must set the last success time")
	}
}
