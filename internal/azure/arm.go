package azure

import (
	"context"
	"path"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/hybridcompute/armhybridcompute/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armlocks"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

// armClients are the SDK clients of one credential and subscription.
type armClients struct {
	providers   *armresources.ProvidersClient
	permissions *armauthorization.PermissionsClient
	locks       *armlocks.ManagementLocksClient
	machines    *armhybridcompute.MachinesClient
}

func (ts *TokenSource) clients(cred inventory.Credential, cloudName, sub string) (*armClients, error) {
	cc, err := cloudConfig(cloudName, ts.o.Endpoints)
	if err != nil {
		return nil, err
	}
	o := &arm.ClientOptions{ClientOptions: policy.ClientOptions{Cloud: cc, Transport: ts.http, Retry: policy.RetryOptions{MaxRetries: 2}}}
	tc := armCredential{ts: ts, cred: cred}
	var c armClients
	if c.providers, err = armresources.NewProvidersClient(sub, tc, o); err != nil {
		return nil, err
	}
	if c.permissions, err = armauthorization.NewPermissionsClient(sub, tc, o); err != nil {
		return nil, err
	}
	if c.locks, err = armlocks.NewManagementLocksClient(sub, tc, o); err != nil {
		return nil, err
	}
	if c.machines, err = armhybridcompute.NewMachinesClient(sub, tc, o); err != nil {
		return nil, err
	}
	return &c, nil
}

// provider is what the pre-flight needs of a resource provider.
type provider struct {
	registered bool
	locations  []string // of Microsoft.HybridCompute/machines, normalized
}

func (c *armClients) listProviders(ctx context.Context) (map[string]provider, error) {
	out := map[string]provider{}
	pg := c.providers.NewListPager(nil)
	for pg.More() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range page.Value {
			if p == nil || p.Namespace == nil {
				continue
			}
			pr := provider{registered: strings.EqualFold(str(p.RegistrationState), "Registered")}
			for _, rt := range p.ResourceTypes {
				if rt != nil && strings.EqualFold(str(rt.ResourceType), "machines") {
					for _, l := range rt.Locations {
						pr.locations = append(pr.locations, normLocation(str(l)))
					}
				}
			}
			out[strings.ToLower(*p.Namespace)] = pr
		}
	}
	return out, nil
}

type permission struct{ actions, notActions []string }

func (c *armClients) listPermissions(ctx context.Context, rg string) ([]permission, error) {
	var out []permission
	pg := c.permissions.NewListForResourceGroupPager(rg, nil)
	for pg.More() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range page.Value {
			if p != nil {
				out = append(out, permission{strs(p.Actions), strs(p.NotActions)})
			}
		}
	}
	return out, nil
}

type lock struct {
	name, level string
	machine     string // lower-case machine name when the lock is on one machine; "" = the group or above
}

func (c *armClients) listLocks(ctx context.Context, rg string) ([]lock, error) {
	var out []lock
	pg := c.locks.NewListAtResourceGroupLevelPager(rg, nil)
	for pg.More() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, l := range page.Value {
			if l == nil {
				continue
			}
			lk := lock{name: str(l.Name)}
			if l.Properties != nil && l.Properties.Level != nil {
				lk.level = string(*l.Properties.Level)
			}
			// The scope is what comes before the lock's own provider path: the
			// group (or the subscription above it), or a resource in the group.
			id := strings.ToLower(str(l.ID))
			scope := id
			if i := strings.LastIndex(id, "/providers/microsoft.authorization/locks/"); i >= 0 {
				scope = id[:i]
			}
			const m = "/providers/microsoft.hybridcompute/machines/"
			if i := strings.Index(scope, m); i >= 0 {
				lk.machine = strings.SplitN(scope[i+len(m):], "/", 2)[0]
			} else if strings.Contains(scope, "/providers/") {
				continue // on another resource of the group: no machine of ours
			}
			out = append(out, lk)
		}
	}
	return out, nil
}

// machine is what the checks need of a Microsoft.HybridCompute/machines resource.
type machine struct {
	id, name, status string
}

func (c *armClients) listMachines(ctx context.Context, rg string) (map[string]machine, error) {
	out := map[string]machine{}
	pg := c.machines.NewListByResourceGroupPager(rg, nil)
	for pg.More() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, m := range page.Value {
			if m == nil || m.Name == nil {
				continue
			}
			mm := machine{id: str(m.ID), name: *m.Name}
			if m.Properties != nil && m.Properties.Status != nil {
				mm.status = string(*m.Properties.Status)
			}
			out[strings.ToLower(mm.name)] = mm
		}
	}
	return out, nil
}

// allows reports whether the permissions grant action, as ARM evaluates them:
// some entry's actions match it ('*' wildcards) and none of that entry's notActions do.
// Deny assignments are not part of this API and are not seen.
func allows(ps []permission, action string) bool {
	for _, p := range ps {
		if matchAny(p.actions, action) && !matchAny(p.notActions, action) {
			return true
		}
	}
	return false
}

func matchAny(patterns []string, action string) bool {
	a := strings.ToLower(strings.ReplaceAll(action, "/", "\x00"))
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(strings.ReplaceAll(p, "/", "\x00")), a); ok {
			return true
		}
	}
	return false
}

// normLocation is a location as the agent takes it: "West Europe" -> "westeurope".
func normLocation(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, " ", ""))
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func strs(ps []*string) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		if p != nil {
			out = append(out, *p)
		}
	}
	return out
}
