package shard

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

func hostsNamed(names ...string) []*inventory.Host {
	out := make([]*inventory.Host, len(names))
	for i, n := range names {
		out[i] = &inventory.Host{Name: n}
	}
	return out
}

func fleet(n int, prefix string) []*inventory.Host {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%05d.corp.example", prefix, i)
	}
	return hostsNamed(names...)
}

// assignment maps each host name to its shard by running Select for every index.
func assignment(t *testing.T, hosts []*inventory.Host, n int, by string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for k := 0; k < n; k++ {
		sel, err := Select(hosts, Spec{Index: k, Count: n, By: by})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range sel {
			if prev, dup := out[h.Name]; dup {
				t.Fatalf("host %s in shard %d and %d of %d", h.Name, prev, k, n)
			}
			out[h.Name] = k
		}
	}
	return out
}

// Every host is in exactly one shard, whatever N.
func TestPartitionCoversEachHostOnce(t *testing.T) {
	hosts := fleet(2000, "h")
	for _, n := range []int{1, 2, 3, 7, 64} {
		a := assignment(t, hosts, n, "")
		if len(a) != len(hosts) {
			t.Fatalf("N=%d: %d of %d hosts assigned", n, len(a), len(hosts))
		}
	}
}

// A host's shard does not move when other hosts are added, removed or reordered.
func TestPartitionStableUnderFleetChanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := fleet(800, "web")
	for _, n := range []int{2, 3, 5, 16} {
		before := assignment(t, base, n, "")
		for trial := 0; trial < 5; trial++ {
			changed := append([]*inventory.Host(nil), base...)
			// drop some, add some, shuffle
			changed = changed[rng.IntN(100):]
			changed = append(changed, fleet(300+rng.IntN(500), fmt.Sprintf("new%d-", trial))...)
			rng.Shuffle(len(changed), func(i, j int) { changed[i], changed[j] = changed[j], changed[i] })
			after := assignment(t, changed, n, "")
			for name, k := range after {
				if old, ok := before[name]; ok && old != k {
					t.Fatalf("N=%d trial %d: %s moved from shard %d to %d when other hosts changed", n, trial, name, old, k)
				}
			}
		}
	}
}

// Going from N to N+1 shards moves hosts only into the new shard, and about 1/(N+1) of them.
func TestPartitionGrowMovesOnlyToNewShard(t *testing.T) {
	hosts := fleet(4000, "db")
	for n := 1; n <= 6; n++ {
		a, b := assignment(t, hosts, n, ""), assignment(t, hosts, n+1, "")
		moved := 0
		for name, k := range a {
			if b[name] != k {
				if b[name] != n {
					t.Fatalf("N %d->%d: %s moved from %d to %d (not the new shard)", n, n+1, name, k, b[name])
				}
				moved++
			}
		}
		want := len(hosts) / (n + 1)
		if moved < want*8/10 || moved > want*12/10 {
			t.Errorf("N %d->%d: %d hosts moved, want about %d", n, n+1, moved, want)
		}
	}
}

// Shards are about equal in size.
func TestPartitionBalance(t *testing.T) {
	hosts := fleet(9000, "app")
	for _, n := range []int{2, 3, 10} {
		sizes, err := Sizes(hosts, "", n)
		if err != nil {
			t.Fatal(err)
		}
		want := len(hosts) / n
		for k, s := range sizes {
			if s < want*85/100 || s > want*115/100 {
				t.Errorf("N=%d: shard %d has %d hosts, want about %d (%v)", n, k, s, want, sizes)
			}
		}
	}
}

// The hash is pinned: controllers of different arcfleet versions (pods rolled
// mid-run) must agree on the partition.
func TestPartitionPinned(t *testing.T) {
	got := map[string]int{}
	for _, name := range []string{"web01", "web02", "sql01", "sto-fs01.corp.example", ""} {
		got[name] = Of(name, 3)
	}
	want := map[string]int{"web01": 2, "web02": 2, "sql01": 1, "sto-fs01.corp.example": 2, "": 0}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Of(%q, 3) = %d, want %d (the partition changed: hosts would move between shards across versions)", k, got[k], v)
		}
	}
	if Of("anything", 1) != 0 {
		t.Error("N=1 must put every host in shard 0")
	}
}

// With a key, hosts sharing its value share a shard; a host without it is an error.
func TestPartitionByKey(t *testing.T) {
	var hosts []*inventory.Host
	zones := []string{"north", "south", "east", "west", "dmz"}
	for i := 0; i < 200; i++ {
		hosts = append(hosts, &inventory.Host{Name: fmt.Sprintf("h%d", i), Azure: inventory.Azure{Tags: map[string]string{"Zone": zones[i%len(zones)]}},
			SSH: inventory.SSH{Via: "bastion-" + zones[i%len(zones)]}})
	}
	for _, by := range []string{"tag:Zone", "via"} {
		a := assignment(t, hosts, 3, by)
		if len(a) != len(hosts) {
			t.Fatalf("%s: %d of %d hosts assigned", by, len(a), len(hosts))
		}
		zoneShard := map[string]int{}
		for i, h := range hosts {
			z := zones[i%len(zones)]
			if k, ok := zoneShard[z]; ok && k != a[h.Name] {
				t.Fatalf("%s: zone %s split across shards %d and %d", by, z, k, a[h.Name])
			}
			zoneShard[z] = a[h.Name]
		}
	}
	hosts = append(hosts, &inventory.Host{Name: "untagged01"})
	_, err := Select(hosts, Spec{Index: 0, Count: 3, By: "tag:Zone"})
	if err == nil || !strings.Contains(err.Error(), "untagged01") || !strings.Contains(err.Error(), `"Zone"`) {
		t.Fatalf("missing tag: got %v, want an error naming the host and the tag", err)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		kn, by string
		want   Spec
		err    string
	}{
		{"0/3", "", Spec{Index: 0, Count: 3}, ""},
		{"2/3", "name", Spec{Index: 2, Count: 3}, ""},
		{" 1/2 ", "tag:Zone", Spec{Index: 1, Count: 2, By: "tag:Zone"}, ""},
		{"0/1", "via", Spec{Index: 0, Count: 1, By: "via"}, ""},
		{"3/3", "", Spec{}, "K must be 0..2"},
		{"-1/3", "", Spec{}, "K must be"},
		{"1/0", "", Spec{}, "N must be"},
		{"1", "", Spec{}, "want K/N"},
		{"a/b", "", Spec{}, "whole numbers"},
		{"$(JOB_COMPLETION_INDEX)/3", "", Spec{}, "whole numbers"},
		{"0/3", "zone", Spec{}, "--shard-by"},
		{"0/3", "tag:", Spec{}, "--shard-by"},
	} {
		got, err := Parse(tc.kn, tc.by)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q, %q) = %v, %v; want error containing %q", tc.kn, tc.by, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q, %q) = %+v, %v; want %+v", tc.kn, tc.by, got, err, tc.want)
		}
	}
}

func TestSpecHelpers(t *testing.T) {
	s := Spec{Index: 1, Count: 4, FleetRate: 10}
	if s.Rate() != 2.5 || s.Label() != "shard-1-of-4" || s.String() != "1/4" {
		t.Errorf("got rate %v label %q string %q", s.Rate(), s.Label(), s.String())
	}
	if (Spec{Index: 0, Count: 2, By: "via"}).String() != "0/2 by via" {
		t.Error("String with key")
	}
	if !SamePartition(Spec{Index: 0, Count: 3}, Spec{Index: 2, Count: 3, By: "name"}) || SamePartition(Spec{Count: 3}, Spec{Count: 3, By: "via"}) {
		t.Error("SamePartition")
	}
	if got := Missing([]int{0, 2, 2}, 4); fmt.Sprint(got) != "[1 3]" {
		t.Errorf("Missing = %v", got)
	}
}
