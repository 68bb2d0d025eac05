package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/shard"
)

func runCLI(t *testing.T, vars map[string]string, args ...string) (int, string) {
	t.Helper()
	e, so, se := exampleEnv(vars)
	code := run(context.Background(), e, args)
	return code, so.String() + se.String()
}

// A plan made for a shard records it and holds the partition's hosts; apply
// refuses it with another --shard; an unsharded plan is narrowed by --shard.
func TestShardPlanAndApplyFlags(t *testing.T) {
	inv := exampleInventory(t, configMapsOf(loadK8sExamples(t)))
	dir := t.TempDir()
	loaded, err := inventory.Load(inv)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := loaded.Select("")

	p1 := filepath.Join(dir, "shard1.json")
	code, out := runCLI(t, nil, "plan", "-i", inv, "--action", "connect", "--shard", "1/3", "-o", p1, "--format", "json")
	if code != exitOK {
		t.Fatalf("plan --shard 1/3: exit %d\n%s", code, out)
	}
	p, err := plan.LoadPlan(p1)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := shard.Select(all, shard.Spec{Index: 1, Count: 3})
	if p.Shard == nil || !shard.Equal(*p.Shard, shard.Spec{Index: 1, Count: 3}) || len(p.Hosts) != len(want) {
		t.Fatalf("saved plan: shard %+v with %d hosts; want 1/3 with %d", p.Shard, len(p.Hosts), len(want))
	}
	for i, h := range want {
		if p.Hosts[i].Host.Name != h.Name {
			t.Errorf("plan host %d is %s, the partition's %s", i, p.Hosts[i].Host.Name, h.Name)
		}
	}

	code, out = runCLI(t, nil, "apply", p1, "--shard", "2/3", "--yes")
	if code != exitInvalid || !strings.Contains(out, "made for shard 1/3, not --shard 2/3") {
		t.Errorf("apply of a shard-1 plan with --shard 2/3: exit %d\n%s", code, out)
	}
	code, out = runCLI(t, nil, "apply", p1, "--shard", "1/3", "--shard-by", "via", "--yes")
	if code != exitInvalid || !strings.Contains(out, "made for shard 1/3") {
		t.Errorf("apply of a by-name plan with --shard-by via: exit %d\n%s", code, out)
	}
	// Its own shard: accepted; stops at the unset secret, before any host.
	code, out = runCLI(t, nil, "apply", p1, "--shard", "1/3", "--yes")
	if code != exitInvalid || !strings.Contains(out, "do not resolve") {
		t.Errorf("apply of a shard-1 plan with --shard 1/3: exit %d\n%s", code, out)
	}

	whole := filepath.Join(dir, "whole.json")
	if code, out := runCLI(t, nil, "plan", "-i", inv, "--action", "connect", "-o", whole); code != exitOK {
		t.Fatalf("plan: %d\n%s", code, out)
	}
	code, out = runCLI(t, nil, "apply", whole, "--shard", "1/3", "--yes")
	if code != exitInvalid || !strings.Contains(out, "shard 1/3 of plan") || !strings.Contains(out, "do not resolve") {
		t.Errorf("apply of an unsharded plan with --shard 1/3: exit %d\n%s", code, out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--shard", "3/3"}, "K must be 0..2"},
		{[]string{"--shard", "1"}, "want K/N"},
		{[]string{"--shard-by", "via"}, "--shard-by needs --shard"},
		{[]string{"--shard", "0/2", "--shard-by", "tag:Rack"}, `has no tag "Rack"`},
		{[]string{"--shard", "0/2", "--shard-by", "zone"}, "use name (default), via"},
	} {
		for _, cmd := range []string{"plan", "apply"} {
			args := append([]string{cmd, "-i", inv, "--action", "connect", "--yes"}, tc.args...)
			if cmd == "plan" {
				args = append([]string{cmd, "-i", inv, "--action", "connect"}, tc.args...)
			}
			code, out := runCLI(t, nil, args...)
			if code != exitInvalid || !strings.Contains(out, tc.want) {
				t.Errorf("%s %v: exit %d, want 2 with %q\n%s", cmd, tc.args, code, tc.want, out)
			}
		}
	}
	// --shard-by tag:Zone puts the Zone groups in whole shards.
	code, out = runCLI(t, nil, "plan", "-i", inv, "--action", "connect", "--shard", "0/2", "--shard-by", "tag:Zone", "--format", "json")
	if code != exitOK || !strings.Contains(out, `"by": "tag:Zone"`) {
		t.Errorf("plan --shard-by tag:Zone: exit %d\n%s", code, out)
	}
}

// An empty shard (more shards than hosts) is a run of no host: exit 0, an empty
// report and metrics, so the merge finds every shard.
func TestEmptyShardRuns(t *testing.T) {
	inv := exampleInventory(t, configMapsOf(loadK8sExamples(t)))
	loaded, err := inventory.Load(inv)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := loaded.Select("")
	sizes, _ := shard.Sizes(all, "", 64)
	empty := -1
	for k, n := range sizes {
		if n == 0 {
			empty = k
			break
		}
	}
	if empty < 0 {
		t.Fatal("no empty shard among 64 for 10 hosts")
	}
	dir := t.TempDir()
	runDir, prom := filepath.Join(dir, "run"), filepath.Join(dir, "m", "arcfleet.prom")
	kn := strings.TrimSpace(strings.Join([]string{itoa(empty), "64"}, "/"))
	code, out := runCLI(t, nil, "apply", "-i", inv, "--action", "connect", "--shard", kn, "--yes", "--run-dir", runDir, "--metrics-file", prom)
	if code != exitOK {
		t.Fatalf("empty shard %s: exit %d\n%s", kn, code, out)
	}
	r, err := results.ReadReport(runDir)
	if err != nil || len(r.Hosts) != 0 {
		t.Fatalf("empty shard's report: %v, %+v", err, r)
	}
	if data, err := os.ReadFile(prom); err != nil || !strings.Contains(string(data), `arcfleet_run_hosts{action="connect",shard="`+kn+`",outcome="ok"} 0`) {
		t.Errorf("empty shard's metrics: %v\n%s", err, data)
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
