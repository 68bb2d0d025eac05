package agent

import (
	"strconv"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

// MaxWindowsCommand is cmd.exe's command-line limit, which WinRM's cmd shell imposes.
const MaxWindowsCommand = 8191

// CodeCommandTooLong is the finding for a Windows command over MaxWindowsCommand
// (arcfleet's own codes are ARCFnnnn; the planner's start at 0101).
const CodeCommandTooLong = "ARCF0101"

// CommandLengthFindings blocks a Windows host whose command would exceed
// cmd.exe's limit (long agent.path or agent.log overrides make it grow).
func CommandLengthFindings(h *inventory.Host, steps []Step) []inventory.Finding {
	if h.OS != "windows" {
		return nil
	}
	var out []inventory.Finding
	for _, s := range steps {
		if len(s.Command) > MaxWindowsCommand {
			args := []string{s.Name, strconv.Itoa(len(s.Command)), strconv.Itoa(MaxWindowsCommand)}
			out = append(out, inventory.Finding{Pos: h.Pos, Code: CodeCommandTooLong, Host: h.Name,
				Message: inventory.FindingText("command_too_long", args...) + "; fix: " + inventory.FindingText("shorten_agent_paths"),
				Key:     "command_too_long", Args: args, FixKey: "shorten_agent_paths"})
		}
	}
	return out
}
