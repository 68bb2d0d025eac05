package plan

import (
	"bytes"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
)

// TestPlanShowsConfigure: a host with agent_config gets the configure step
// before connect, and every format names what it sets and the connect options.
func TestPlanShowsConfigure(t *testing.T) {
	src := `version: 1
azure: {tenant_id: 72f988bf-86f1-41af-91ab-2d7cd011db47, subscription_id: 0b1f6471-1bf0-4dda-aec3-cb9272f09590, resource_group: rg, location: westeurope}
credentials:
  sp: {client_id: 3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21, secret: {env: ARC_SP_SECRET}}
defaults:
  credential: sp
  ssh: {user: arc, identity_file: /k}
hosts:
  - name: dc01
    agent_config:
      proxy: {url: "http://proxy.corp.example:3128", bypass: [Arc]}
      guest_configuration: {enabled: false}
      gateway_id: /subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/gateways/gw-west
      automatic_upgrade: true
  - name: web01
`
	inv, err := inventory.Parse("inv.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	hosts, _ := inv.Select("")
	p := Build(inv, hosts, agent.ActionConnect, "", planTime)
	names := func(hp HostPlan) (n []string) {
		for _, s := range hp.Steps {
			n = append(n, s.Name)
		}
		return n
	}
	if got := strings.Join(names(p.Hosts[0]), ","); got != "probe,configure,connect" {
		t.Errorf("dc01 steps %s", got)
	}
	if got := strings.Join(names(p.Hosts[1]), ","); got != "probe,connect" {
		t.Errorf("web01 steps %s", got)
	}
	for _, format := range []string{FormatTable, FormatMarkdown, FormatJSON} {
		var b bytes.Buffer
		if err := RenderWidth(&b, p, format, 400); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, want := range []string{"proxy.url", "http://proxy.corp.example:3128", "guestconfiguration.enabled"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s output lacks %q", format, want)
			}
		}
		if format != FormatJSON {
			for _, want := range []string{"configure proxy.url=http://proxy.corp.example:3128, proxy.bypass=Arc, guestconfiguration.enabled=false", "gateway gw-west", "automatic upgrade"} {
				if !strings.Contains(out, want) {
					t.Errorf("%s output lacks %q:\n%s", format, want, out)
				}
			}
		}
	}
}
