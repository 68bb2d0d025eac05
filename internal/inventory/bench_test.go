package inventory

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// fleet is an n-host inventory shaped like a real one: groups, tags, per-host
// overrides, Linux and Windows.
func fleet(n int) []byte {
	var b strings.Builder
	b.WriteString(vbase[:strings.Index(vbase, "hosts:")])
	b.WriteString("groups:\n")
	for g := 0; g < 20; g++ {
		fmt.Fprintf(&b, "  g%02d: {tags: {Team: t%02d, Tier: gold}, azure: {resource_group: rg-%02d}}\n", g, g, g)
	}
	b.WriteString("hosts:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - name: host%05d.corp.example\n    address: 10.%d.%d.%d\n    groups: [g%02d, g%02d]\n    tags: {Rack: r%03d}\n",
			i, i/65536, (i/256)%256, i%256, i%20, (i+7)%20, i%500)
		if i%4 == 0 {
			b.WriteString("    os: windows\n")
		}
	}
	return []byte(b.String())
}

func BenchmarkLoad10k(b *testing.B) {
	data := fleet(10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("fleet.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate10k(b *testing.B) {
	inv, err := Parse("fleet.yaml", fleet(10000))
	if err != nil {
		b.Fatal(err)
	}
	hosts, _ := inv.Select("")
	for b.Loop() {
		if fs := Validate(inv, hosts, "connect"); len(fs) != 0 {
			b.Fatal(fs[0])
		}
	}
}

// TestLoadLargeFleet checks a big fleet resolves correctly; BenchmarkLoad10k
// measures the time (2,000 hosts here keep the test quick under -race).
func TestLoadLargeFleet(t *testing.T) {
	data := fleet(2000)
	start := time.Now()
	inv, err := Parse("fleet.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("parsed %d hosts (%d KiB) in %v", len(inv.Hosts), len(data)>>10, time.Since(start))
	if len(inv.Hosts) != 2000 {
		t.Fatalf("%d hosts", len(inv.Hosts))
	}
	// host01999: groups g19 then g06 (later wins), rack 1999%500, not Windows.
	h := inv.Host("host01999.corp.example")
	if h == nil || h.Azure.ResourceGroup != "rg-06" || h.Azure.Tags["Team"] != "t06" || h.Azure.Tags["Rack"] != "r499" || h.OS != "linux" {
		t.Fatalf("host01999 = %+v", h)
	}
	sel, err := inv.Select("group:g03,!os:windows,host0000*")
	if err != nil || len(sel) == 0 {
		t.Fatalf("select: %d, %v", len(sel), err)
	}
}
