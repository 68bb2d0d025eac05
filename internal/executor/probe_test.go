package executor

import (
	"context"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/agent"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/transport"
)

func TestProbeAndCheckProbes(t *testing.T) {
	f := newExFleet()
	f.add("new", &exHost{})
	f.add("there", &exHost{status: "Connected", sub: "sub-1", rg: "rg-1", loc: "westeurope", ten: "tenant-1", resourceID: "/r1"})
	f.add("elsewhere", &exHost{status: "Connected", sub: "sub-2", rg: "rg-1", loc: "westeurope", ten: "tenant-1", resourceID: "/r2"})
	f.add("down", &exHost{dialFail: []transport.Kind{transport.Unreachable, transport.Unreachable, transport.Unreachable}})
	f.add("rekeyed", &exHost{dialFail: []transport.Kind{transport.HostKeyChanged}})
	f.add("invalid", &exHost{})
	p := exPlan(agent.ActionConnect, "new", "there", "elsewhere", "down", "rekeyed", "invalid")
	p.Hosts[5].Findings = []inventory.Finding{{Code: "AZCM0017", Message: "bad name"}}
	x := exExecutor(f)
	x.LookupEnv = func(string) (string, bool) { return "", false } // probe reads no SP secret
	if err := x.Probe(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"new": VerdictConnect, "there": VerdictAlreadyConnected, "elsewhere": VerdictDrift,
		"down": VerdictUnreachable, "rekeyed": VerdictHostKey}
	for i := range p.Hosts {
		hp := &p.Hosts[i]
		if hp.Host.Name == "invalid" {
			if hp.Probe != nil || f.dials["invalid"] != 0 {
				t.Error("blocked host probed")
			}
			continue
		}
		if hp.Probe == nil || hp.Probe.Verdict != want[hp.Host.Name] {
			t.Errorf("%s: probe %+v, want %s", hp.Host.Name, hp.Probe, want[hp.Host.Name])
		}
	}
	if pr := p.Hosts[1].Probe; pr.HostKey != "SHA256:fake-there" || pr.AgentStatus != "Connected" || pr.ResourceID != "/r1" || pr.AgentVersion != "1.50.0" {
		t.Errorf("fingerprint %+v", pr)
	}
	for _, h := range f.hosts {
		for _, s := range []string{agent.StepConnect, agent.StepDisconnect, agent.StepDisconnectLocal, agent.StepRestartService} {
			if h.runs[s] != 0 {
				t.Errorf("probe ran %s", s)
			}
		}
	}
	if !p.Probed {
		t.Error("Probed not set")
	}

	// Unchanged fleet: the plan is fresh.
	f.dials = map[string]int{}
	if err := CheckProbes(context.Background(), x, p); err != nil {
		t.Fatalf("unchanged fleet refused: %v", err)
	}
	// Someone connected "new" since the plan was made.
	f.hosts["new"].status, f.hosts["new"].resourceID = "Connected", "/r9"
	err := CheckProbes(context.Background(), x, p)
	if err == nil || !strings.Contains(err.Error(), `host new: agent status was "Disconnected", now "Connected"`) || !strings.Contains(err.Error(), "plan --probe") {
		t.Errorf("changed fleet: %v", err)
	}
}
