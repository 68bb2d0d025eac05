package agent

// Actions.
const (
	ActionConnect    = "connect"
	ActionDisconnect = "disconnect"
	ActionReconnect  = "reconnect" // disconnect (--force-local-only only if the resource is already gone), then connect
)

// Step is one remote command of a host's plan.
type Step struct {
	Name string `json:"name"` // "probe", "disconnect", "disconnect-local", "connect", "restart-agent-service"
	// Command is the exact command sent to the host (for Windows:
	// powershell.exe -NoProfile -NonInteractive -EncodedCommand ...). It never holds a secret.
	Command string `json:"command"`
	// Script is the readable script Command carries (decoded for Windows), for reviewers.
	Script string `json:"script,omitempty"`
	// Stdin is what apply feeds the command, byte for byte but for the secret,
	// shown as a reference: the agent's --config JSON with "service-principal-secret":
	// "<secret env:ARC_SP_SECRET>". "" = none. Apply feeds StepInput(...) instead.
	Stdin string `json:"stdin,omitempty"`
	// OnlyIf: "" = always; "previous-failed" = fallback run only when the previous step failed
	// (reconnect's disconnect --force-local-only).
	OnlyIf string `json:"only_if,omitempty"`
}
