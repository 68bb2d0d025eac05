package planner

import (
	"sort"
	"strings"
)

// formatAgentTags renders tags as the agent's --tags value: "Name=Value,Other='a b'",
// names sorted so plans are stable.
// TODO(plan): switch to inventory.FormatAgentTags once the inventory package exports it
// (docs/contracts.md); until then this follows the agent's documented quoting.
func formatAgentTags(tags map[string]string) string {
	names := make([]string, 0, len(tags))
	for k := range tags {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, k := range names {
		parts = append(parts, quoteTag(k)+"="+quoteTag(tags[k]))
	}
	return strings.Join(parts, ",")
}

func quoteTag(s string) string {
	if strings.ContainsAny(s, " ,=\"'\t") {
		return "'" + s + "'"
	}
	return s
}
