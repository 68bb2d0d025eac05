package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
)

// A plan of install (and connect with agent.install) shows the install step,
// where the agent comes from (path, size, SHA-256), and survives save/load.
func TestPlanInstallRendering(t *testing.T) {
	inv, err := inventory.Load(filepath.Join("testdata", "fleet.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(t.TempDir(), "azcmagent_1.55_amd64.deb")
	body := []byte("not really a deb")
	if err := os.WriteFile(pkg, body, 0o644); err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(body)
	sum := hex.EncodeToString(d[:])
	var linux []*inventory.Host
	for i := range inv.Hosts {
		if inv.Hosts[i].OS == "linux" {
			inv.Hosts[i].Agent.Package.Deb = pkg
			inv.Hosts[i].Agent.Install = true
			linux = append(linux, &inv.Hosts[i])
		}
	}
	if len(linux) == 0 {
		t.Skip("no Linux host in testdata/fleet.yaml")
	}
	for _, action := range []string{agent.ActionInstall, agent.ActionConnect} {
		p := Build(inv, linux, action, "", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		if got := p.Hosts[0].Steps[0]; got.Name != agent.StepInstall || got.Package == nil || got.Package.SHA256 != sum {
			t.Fatalf("%s: first step %s %+v", action, got.Name, got.Package)
		}
		var out bytes.Buffer
		if err := Render(&out, p, FormatTable); err != nil {
			t.Fatal(err)
		}
		text := out.String()
		for _, want := range []string{"install on linux", pkg, sum, "16 bytes", "the host checks size and SHA-256"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: plan lacks %q", action, want)
			}
		}
		path := filepath.Join(t.TempDir(), "plan.json")
		if err := Save(path, p); err != nil {
			t.Fatal(err)
		}
		q, err := LoadPlan(path)
		if err != nil {
			t.Fatal(err)
		}
		if q.Hosts[0].Steps[0].Package == nil || *q.Hosts[0].Steps[0].Package != *p.Hosts[0].Steps[0].Package {
			t.Errorf("%s: the package did not survive save/load", action)
		}
	}
	// Hosts alike but for their package get their own install steps.
	if len(linux) < 2 {
		t.Fatalf("testdata/fleet.yaml has %d Linux hosts, the test needs 2", len(linux))
	}
	other := filepath.Join(t.TempDir(), "other.deb")
	if err := os.WriteFile(other, []byte("another package"), 0o644); err != nil {
		t.Fatal(err)
	}
	linux[1].Agent.Package.Deb = other
	p := Build(inv, linux, agent.ActionInstall, "", time.Now())
	if a, b := p.Hosts[0].Steps[0].Package, p.Hosts[1].Steps[0].Package; a.Path == b.Path || p.Hosts[0].Steps[0].Command == p.Hosts[1].Steps[0].Command {
		t.Errorf("two packages share one install step: %s %s", a.Path, b.Path)
	}
}
