package agent

import (
	"bytes"
	"strings"
	"time"
)

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
	// Package: the install/upgrade step's operator-supplied package (install.go):
	// the executor streams it after the header; the script checks its digest.
	Package *PackageRef `json:"package,omitempty"`
}

// One round trip per host: the connect step can check, under the host lock,
// that the agent is still in the state the controller decided on, and refuse
// when it is not. The controller then has the agent's state (the step prints
// `show --json`) and decides as after a probe, without a probe session of its
// own. The precondition travels as the sixth field of the stdin header
// ("arcfleet RUN WATCHDOG LEASE SEEN EXPECT"); "-" or none: no check.
const (
	// ExpectUnregistered: the agent shows status Disconnected with an empty
	// resourceId, the one state in which Decide's answer to connect and
	// reconnect (no remedy, nothing acted on yet) is "connect" alone.
	ExpectUnregistered = "unregistered"
	// ShowMarker and ShowEndMarker are the stdout lines around what a step
	// with a precondition printed of `show --json` (as the agent printed it).
	ShowMarker    = "#arcfleet:show-begin"
	ShowEndMarker = "#arcfleet:show-end"
	// StateChangedMarker starts the stderr line of a step that refused because
	// the precondition did not hold; the agent did not run its action.
	StateChangedMarker = "#arcfleet:host-state-changed: "
	// ExitStateChanged is that step's exit code (not an AZCM number in use).
	ExitStateChanged = 120
)

// SupportsPrecondition reports whether the step's script checks an EXPECT
// field: a plan saved by an older arcfleet has a connect step that would
// ignore it, so the controller must probe first for such a plan.
func SupportsPrecondition(st Step) bool {
	return st.Name == StepConnect && strings.Contains(st.Script, StateChangedMarker)
}

// InputExpect is Input with a precondition (ExpectUnregistered) for the step.
// The SEEN field is "?" (not compared): the step reads the agent's state under
// the host lock itself, so no other run can have changed it in between.
func InputExpect(runID string, watchdog, lease time.Duration, expect string, config []byte) []byte {
	in := Input(runID, watchdog, lease, LastStep{Unreadable: true}, config)
	if expect == "" {
		return in
	}
	i := bytes.IndexByte(in, '\n')
	return append(append(append([]byte(nil), in[:i]...), " "+expect...), in[i:]...)
}

// CutStepShow takes what a step with a precondition printed about the host
// off its stdout: the lines from ShowMarker to ShowEndMarker, the LastMarker
// line and the AgentVersionMarker line. rest is the agent's own stdout (what the
// classifier reads); ok is false when the step printed no show line.
func CutStepShow(stdout string) (show AgentShow, rest string, ok bool, err error) {
	if !strings.Contains(stdout, ShowMarker) {
		return AgentShow{}, stdout, false, nil
	}
	var own, other, js strings.Builder
	in := false
	for line := range strings.Lines(stdout) {
		l := strings.TrimRight(line, "\r\n")
		switch {
		case in:
			if l == ShowEndMarker {
				in = false
			} else {
				js.WriteString(l + "\n")
			}
		case l == ShowMarker:
			in = true
		case strings.HasPrefix(l, LastMarker), strings.HasPrefix(l, AgentVersionMarker):
			own.WriteString(l + "\n")
		default:
			other.WriteString(line)
		}
	}
	// ParseProbe reads the markers before the JSON and the version after it.
	var probe strings.Builder
	for line := range strings.Lines(own.String()) {
		if strings.HasPrefix(line, LastMarker) {
			probe.WriteString(line)
		}
	}
	probe.WriteString(js.String())
	for line := range strings.Lines(own.String()) {
		if strings.HasPrefix(line, AgentVersionMarker) {
			probe.WriteString(line)
		}
	}
	show, err = ParseProbe(probe.String())
	return show, other.String(), true, err
}

// StateChanged reads a StateChangedMarker line from a step's stderr: why the
// step refused, and whether it did.
func StateChanged(stderr string) (string, bool) {
	for line := range strings.Lines(stderr) {
		if rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), StateChangedMarker); ok {
			return rest, true
		}
	}
	return "", false
}
