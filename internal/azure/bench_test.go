package azure

import (
	"context"
	"fmt"
	"testing"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/testbed/azurefake"
)

// BenchmarkPreflight10000 is `validate --azure` for 10,000 hosts spread over 1,
// 10 and 100 resource groups (one subscription, one credential) against the
// local fakes. It reports the Azure calls one pre-flight makes: they grow with
// resource groups (3 each) and not with hosts.
func BenchmarkPreflight10000(b *testing.B) {
	for _, nRG := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("rgs=%d", nRG), func(b *testing.B) {
			f := azurefake.New(b, azurefake.Options{})
			f.AddApp(tenant, azurefake.App{ClientID: app, Secret: secret})
			f.AddSubscription(sub1, tenant)
			for g := range nRG {
				f.AddResourceGroup(sub1, fmt.Sprintf("rg-%03d", g), "westeurope")
				f.PutMachine(sub1, fmt.Sprintf("rg-%03d", g), azurefake.Machine{Name: fmt.Sprintf("other-%03d", g)})
			}
			hosts := make([]*inventory.Host, 10000)
			for i := range hosts {
				hosts[i] = host(fmt.Sprintf("h%05d", i), sub1, fmt.Sprintf("rg-%03d", i%nRG), "westeurope")
			}
			creds := map[string]inventory.Credential{"sp": spCred()}
			var calls int64
			b.ResetTimer()
			for range b.N {
				ts := newSource(f, Options{}) // a fresh token each time, as a new validate would
				r := Preflight(context.Background(), ts, Request{Action: ActionConnect, Hosts: hosts, Credentials: creds})
				if len(r.Findings) != 0 {
					b.Fatalf("findings: %+v", r.Findings)
				}
				calls = r.Calls
			}
			b.ReportMetric(float64(calls), "azure-calls")
			b.ReportMetric(float64(len(hosts)), "hosts")
		})
	}
}
