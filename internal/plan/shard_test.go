package plan

import (
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/shard"
)

// A shard's plan is fresh against its inventory (its host list is the shard's),
// is stale when a host of another shard is slipped in, and shards of one run
// share the plan identity while other runs do not.
func TestShardPlanFreshAndIdentity(t *testing.T) {
	inv := loadFleet(t)
	all, err := inv.Select("")
	if err != nil {
		t.Fatal(err)
	}
	build := func(k, n int, by string) *Plan {
		spec := shard.Spec{Index: k, Count: n, By: by}
		hosts, err := shard.Select(all, spec)
		if err != nil {
			t.Fatal(err)
		}
		p := Build(inv, hosts, agent.ActionConnect, "", planTime)
		p.Shard = &spec
		return p
	}
	p0, p1 := build(0, 2, ""), build(1, 2, "")
	if len(p0.Hosts) == 0 || len(p1.Hosts) == 0 {
		t.Fatalf("shards of %d hosts: %d and %d; the test needs both non-empty", len(all), len(p0.Hosts), len(p1.Hosts))
	}
	for _, p := range []*Plan{p0, p1} {
		if err := p.CheckFresh(inv, planTime, 0); err != nil {
			t.Errorf("shard %s: %v", p.Shard, err)
		}
	}
	bad := build(0, 2, "")
	bad.Hosts = append(bad.Hosts, p1.Hosts[0])
	if err := bad.CheckFresh(inv, planTime, 0); err == nil || !strings.Contains(err.Error(), "host list") {
		t.Errorf("a shard plan with another shard's host: %v", err)
	}

	if p0.Identity() != p1.Identity() {
		t.Error("two shards of one run have different identities")
	}
	other := build(0, 3, "")
	reconnect := build(0, 2, "")
	reconnect.Action = agent.ActionReconnect
	limited := build(0, 2, "")
	limited.Limit = "web*"
	whole := Build(inv, all, agent.ActionConnect, "", planTime)
	for name, p := range map[string]*Plan{"N=3": other, "reconnect": reconnect, "limit": limited, "unsharded": whole} {
		if p.Identity() == p0.Identity() {
			t.Errorf("%s: same identity as shard 0/2 of connect", name)
		}
	}
	if !strings.HasPrefix(p0.Identity(), "sha256:") {
		t.Errorf("identity %q", p0.Identity())
	}
}

// A shard's plan says so in the formats a reviewer reads.
func TestShardPlanRendered(t *testing.T) {
	_, p := buildFleet(t, agent.ActionConnect, "")
	p.Shard = &shard.Spec{Index: 1, Count: 3, By: "via"}
	for format, want := range map[string]string{FormatTable: "shard 1/3 by via", FormatMarkdown: "| Shard | `1/3 by via`", FormatJSON: `"shard": {`} {
		var b strings.Builder
		if err := Render(&b, p, format); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(strings.Fields(b.String()), " "), want) { // the table wraps long lines
			t.Errorf("%s plan of a shard lacks %q", format, want)
		}
	}
}
