package plan

import (
	"path"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
)

// agentConfigFlags are a host's agent_config settings as the plan's flags:
// what the configure step sets (every value: none is a secret, validation
// refuses a proxy URL with credentials) and the connect options.
func agentConfigFlags(h *inventory.Host) []string {
	var f []string
	if s := agent.ConfigSettings(h); len(s) > 0 {
		f = append(f, "configure "+agent.DescribeSettings(s))
	}
	if g := h.AgentConfig.GatewayID; g != "" {
		f = append(f, "gateway "+path.Base(g))
	}
	if h.AgentConfig.AutomaticUpgrade {
		f = append(f, "automatic upgrade")
	}
	return f
}
