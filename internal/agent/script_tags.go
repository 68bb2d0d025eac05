package agent

import (
	"sort"
	"strings"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

// agentTags is the config file's "tags" value. Tags inventory.FormatAgentTags
// refuses (inventory.Validate then blocks the host with AZCM0013) are written
// as given rather than dropped: should such a config ever reach the agent, it
// fails with AZCM0013 instead of connecting without the tags.
func AgentTags(tags map[string]string) string {
	if s, err := inventory.FormatAgentTags(tags); err == nil {
		return s
	}
	return rawAgentTags(tags)
}

// rawAgentTags renders tags in the --tags syntax without judging them.
func rawAgentTags(tags map[string]string) string {
	names := make([]string, 0, len(tags))
	for k := range tags {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, k := range names {
		parts = append(parts, rawQuoteTag(k)+"="+rawQuoteTag(tags[k]))
	}
	return strings.Join(parts, ",")
}

func rawQuoteTag(s string) string {
	if strings.ContainsAny(s, " ,=\t") || s != strings.TrimSpace(s) {
		return "'" + s + "'"
	}
	return s
}
