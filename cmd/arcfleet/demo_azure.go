//go:build demo

package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/azure"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/testbed/azurefake"
	"github.com/arcfleet/arcfleet/testbed/demo"
)

// demoAzure is the demo's Azure: a local fake Entra ID and Resource Manager
// (testbed/azurefake) set up to match the demo fleet, so the demo shows the
// Azure pre-flight and the post-run verification without an Azure account.
type demoAzure struct {
	fake *azurefake.Fake
	ts   *azure.TokenSource
	inv  *inventory.Inventory
}

// demoGoneHost is the host whose machine resource the demo's Azure deletes
// after the run (as a clean-up script might), so the verification has a
// mismatch to report.
const demoGoneHost = "app04"

func startDemoAzure(f *demo.Fleet) (*demoAzure, error) {
	inv, err := inventory.Load(f.Inventory)
	if err != nil {
		return nil, err
	}
	fk, err := azurefake.Start(azurefake.Options{})
	if err != nil {
		return nil, err
	}
	d := &demoAzure{fake: fk, inv: inv}
	// Every demo credential is registered with the secret the simulated agents
	// accept: demo-sp's. lab-sp's own secret is another, so its sign-in fails
	// here with AADSTS7000215, as the lab hosts fail AZCM0041 in the run.
	accepted, _ := f.LookupEnv(demo.EnvSPSecret)
	for _, c := range inv.Credentials {
		tenants := map[string]bool{c.TenantID: true}
		for _, h := range inv.Hosts {
			if h.Credential == c.Name && h.Azure.TenantID != "" {
				tenants[h.Azure.TenantID] = true
			}
		}
		for t := range tenants {
			if t != "" {
				fk.AddApp(t, azurefake.App{ClientID: c.ClientID, Secret: accepted})
			}
		}
	}
	rgs := map[[2]string]bool{}
	for _, h := range inv.Hosts {
		sub, rg := h.Azure.SubscriptionID, h.Azure.ResourceGroup
		tenant := h.Azure.TenantID
		if tenant == "" {
			tenant = inv.Credentials[h.Credential].TenantID
		}
		if !rgs[[2]string{sub, ""}] {
			fk.AddSubscription(sub, tenant)
			rgs[[2]string{sub, ""}] = true
		}
		if !rgs[[2]string{sub, rg}] {
			fk.AddResourceGroup(sub, rg, h.Azure.Location)
			rgs[[2]string{sub, rg}] = true
		}
		switch h.Name {
		case "web05": // the old resource the scenario's name clash is about
			fk.PutMachine(sub, rg, azurefake.Machine{Name: "web05", Status: "Disconnected"})
		case "db01": // already onboarded
			fk.PutMachine(sub, rg, azurefake.Machine{Name: "db01", Status: "Connected"})
		}
	}
	d.ts = azure.NewTokenSource(azure.Options{
		LookupEnv: f.LookupEnv,
		Endpoints: &azure.Endpoints{AuthorityHost: fk.AuthorityHost(), ARM: fk.ARMEndpoint(), CAPool: fk.CAPool()},
	})
	return d, nil
}

func (d *demoAzure) close() { d.fake.Close() }

// preflight shows what `arcfleet validate --azure` finds for the demo fleet.
func (d *demoAzure) preflight(ctx context.Context, w io.Writer, p *plan.Plan, planFormat string) {
	fmt.Fprintf(w, "\n== Azure pre-flight (`arcfleet validate --azure`, `plan --azure`): from the controller, before any host ==\n"+
		"(Azure here is a local fake Entra ID and Resource Manager at %s.)\n", d.fake.URL())
	r := azure.Preflight(ctx, d.ts, azure.Request{Action: p.Action, Hosts: planHosts(p), Credentials: p.Credentials, Agents: probedAgents(p)})
	printPreflightSection(w, r, planFormat == "markdown")
}

// verify stands in for Azure's side of the run, then runs apply's post-run
// verification and adds it to the report (and the run directory's reports).
// The agent simulator does not call Azure, so the fake Resource Manager is
// given the machine each simulated agent reported connecting (what Azure
// records on a real connect); then demoGoneHost's is deleted.
func (d *demoAzure) verify(ctx context.Context, p *plan.Plan, runDir string, rep *results.Report) {
	idx := map[string]*inventory.Host{}
	for i := range p.Hosts {
		idx[p.Hosts[i].Host.Name] = &p.Hosts[i].Host
	}
	var vhs []azure.VerifyHost
	for _, h := range rep.Hosts {
		ih := idx[h.Name]
		if ih == nil {
			continue
		}
		rid := azure.AgentResourceID(runDir, h)
		if h.Outcome == results.OutcomeOK && rid != "" && h.Action != agent.ActionDisconnect {
			name := rid[strings.LastIndex(rid, "/")+1:]
			d.fake.PutMachine(ih.Azure.SubscriptionID, ih.Azure.ResourceGroup, azurefake.Machine{Name: name, Status: "Connected"})
			if h.Name == demoGoneHost {
				d.fake.DeleteMachine(ih.Azure.SubscriptionID, ih.Azure.ResourceGroup, name)
			}
		}
		vhs = append(vhs, azure.VerifyHost{Host: ih, Action: h.Action, Outcome: h.Outcome, ResourceID: rid})
	}
	rep.Azure = azure.Verify(ctx, d.ts, azure.VerifyRequest{Hosts: vhs, Credentials: p.Credentials})
	_ = results.WriteReports(runDir, rep)
}
