// Package planner turns a resolved inventory and an action into a plan (per host:
// the steps and the exact remote commands), saves and loads plans, and executes
// them: bounded fan-out, retry policy, circuit breaker, start-rate limit, journal
// and resume.
package plan

import (
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/shard"
)

// PlanFormatVersion is the version of the saved plan's JSON schema.
const PlanFormatVersion = 1

// Plan is what apply will do. Saved as JSON, it is everything apply needs to
// run it exactly and to refuse it when stale. It never holds a secret value.
type Plan struct {
	FormatVersion   int        `json:"format_version"`
	CreatedAt       time.Time  `json:"created_at"`
	Action          string     `json:"action"`
	Inventory       string     `json:"inventory"`        // path as given
	InventoryDigest string     `json:"inventory_digest"` // inventory.Inventory.Digest at plan time
	Limit           string     `json:"limit,omitempty"`
	Probed          bool       `json:"probed"`
	Hosts           []HostPlan `json:"hosts"`
	// Credentials used by the planned hosts, by reference only.
	Credentials map[string]inventory.Credential `json:"credentials"`
	Retry       inventory.Retry                 `json:"retry"`
	// JumpHosts are the `ssh.via` hosts the planned hosts are reached through
	// that are not themselves planned: dialed, never acted on.
	JumpHosts []inventory.Host `json:"jump_hosts,omitempty"`
	// Shard is set when the plan is one shard of a partitioned fleet
	// (`--shard K/N`): its hosts are that shard's only.
	Shard *shard.Spec `json:"shard,omitempty"`
}

// HostPlan is one host's part of a plan.
type HostPlan struct {
	Host     inventory.Host      `json:"host"`
	Steps    []agent.Step        `json:"steps"`
	Findings []inventory.Finding `json:"findings,omitempty"` // any non-warning finding: blocked, apply skips the host
	// Recovery holds the steps apply may run between attempts (restart-agent-service)
	// or after one (stop: a timed-out or interrupted step ended on the host),
	// so a reviewer sees every command that can reach the host.
	Recovery []agent.Step `json:"recovery,omitempty"`
	// Probe is set by `plan --probe`.
	Probe *Probe `json:"probe,omitempty"`
}

// Blocked reports whether validation findings keep apply from touching the host.
// Warnings (explicit insecure opt-ins) are shown but do not block.
func (h *HostPlan) Blocked() bool {
	for _, f := range h.Findings {
		if !f.Warning {
			return true
		}
	}
	return false
}

// Probe is what `plan --probe` saw on a host, and the fingerprint apply checks.
type Probe struct {
	// Verdict: "connect", "disconnect", "reconnect", "already-connected",
	// "already-disconnected", "drift", "azure-local" (refused: an Azure Local
	// machine), "unreachable", "host-key", "auth", "error".
	Verdict      string    `json:"verdict"`
	Detail       string    `json:"detail,omitempty"`
	HostKey      string    `json:"host_key,omitempty"` // transport.Conn.Fingerprint()
	AgentStatus  string    `json:"agent_status,omitempty"`
	ResourceID   string    `json:"resource_id,omitempty"`
	AgentVersion string    `json:"agent_version,omitempty"`
	ProbedAt     time.Time `json:"probed_at"`
	// Network is what the agent's own network check (`azcmagent check`, the
	// same as `arcfleet check`) found, by cause; the probe's Detail names them.
	Network []agent.CheckFinding `json:"network,omitempty"`
}

// HostLookup returns a lookup by name of the plan's hosts and jump hosts, for TargetFor.
func (p *Plan) HostLookup() func(name string) *inventory.Host {
	idx := make(map[string]*inventory.Host, len(p.Hosts)+len(p.JumpHosts))
	for i := range p.JumpHosts {
		idx[p.JumpHosts[i].Name] = &p.JumpHosts[i]
	}
	for i := range p.Hosts {
		idx[p.Hosts[i].Host.Name] = &p.Hosts[i].Host
	}
	return func(name string) *inventory.Host { return idx[name] }
}
