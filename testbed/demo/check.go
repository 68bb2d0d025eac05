package demo

import (
	"context"
	"fmt"
	"os"

	"github.com/arcfleet/arcfleet/internal/executor"
	"github.com/arcfleet/arcfleet/internal/plan"

	"go.yaml.in/yaml/v3"
)

// DemoBlockedHost is the demo host whose firewall drops the traffic to the
// Arc service endpoints until the demo "opens" it (cmd_demo.go), and
// DemoBlockedNetwork that network (azcmagent-sim's `network:` scenario).
const DemoBlockedHost = "app03"

var DemoBlockedNetwork = map[string]any{"mode": "firewall", "endpoints": []string{"his.arc.azure.com"}}

// SetNetwork gives host the simulated network net (azcmagent-sim's
// `network:`), or the default network when net is nil, by rewriting the
// fleet's scenario file; the simulator reads it on every command.
func (f *Fleet) SetNetwork(host string, net map[string]any) error {
	b, err := os.ReadFile(f.Scenario)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("demo scenario %s: %w", f.Scenario, err)
	}
	hosts, _ := doc["hosts"].(map[string]any)
	if hosts == nil {
		hosts = map[string]any{}
		doc["hosts"] = hosts
	}
	entry, _ := hosts[host].(map[string]any)
	if entry == nil {
		// A host without an entry takes default:; its own entry starts as a copy.
		entry = map[string]any{}
		if def, ok := doc["default"].(map[string]any); ok {
			for k, v := range def {
				entry[k] = v
			}
		}
	}
	if net == nil {
		delete(entry, "network")
	} else {
		entry["network"] = net
	}
	hosts[host] = entry
	out, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(f.Scenario, out, 0o600)
}

// CheckNetwork runs what `arcfleet check` runs (executor.Check) on p's hosts.
func (f *Fleet) CheckNetwork(ctx context.Context, p *plan.Plan, concurrency int) ([]executor.HostCheck, error) {
	x := &executor.Executor{Dialer: Dialer(), LookupEnv: f.LookupEnv, Concurrency: concurrency}
	return x.Check(ctx, p, executor.CheckOptions{})
}
