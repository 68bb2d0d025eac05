// Package wintwin tells a WinRM test server (testbed/winrmtest) what to run for
// arcfleet's Windows steps. The server runs on Linux and cannot run PowerShell;
// for each step's exact PowerShell command line it is given the same step as
// arcfleet renders it for a Linux host, with the agent and its log where the
// agent simulator keeps them. The command lines sent to the server are the
// product's, byte for byte: they carry nothing for the test.
//
// What this cannot show (PowerShell itself) is listed in testbed/winrmtest/README.md.
package wintwin

import (
	"fmt"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
)

// Registrar is what Register needs of a server: *winrmtest.Server.
type Registrar interface {
	Register(command, sh string)
}

// Twin is one Windows step and the POSIX sh script that stands in for it.
type Twin struct {
	Step    string // step name
	Command string // the Windows command line (powershell.exe -EncodedCommand ...)
	Sh      string // the same step rendered for Linux
}

// Twins renders every step arcfleet can send to the Windows host win (the
// steps of every action, the service restart and the stop), each with its twin: the
// step rendered for a copy of win with OS linux and agent sim. sim.Path ""
// finds azcmagent on PATH; sim.Log should be the simulator's log,
// AZCMAGENT_SIM_ROOT/log/azcmagent.log ("" is the real agent's Linux default).
func Twins(win inventory.Host, sim inventory.Agent) ([]Twin, error) {
	if win.OS != "windows" {
		return nil, fmt.Errorf("wintwin: host %s has os %q, want windows", win.Name, win.OS)
	}
	lin := win
	lin.OS = "linux"
	lin.Agent = sim
	lin.Agent.MinVersion, lin.Agent.Install = win.Agent.MinVersion, win.Agent.Install
	// The .msi stands as a .deb: the twin checks it as the Windows step does
	// (size, SHA-256) and installs it with dpkg (on a test host, the fake one
	// of testbed/sshtest/fakepkg.go).
	lin.Agent.Package = inventory.AgentPackage{Deb: win.Agent.Package.MSI}
	lin.SSH = inventory.SSH{} // no become: the emulated host's commands run as the server's user
	ws, ls := steps(&win), steps(&lin)
	out := make([]Twin, 0, len(ws))
	for i, w := range ws {
		l := ls[i]
		if w.Name != l.Name {
			return nil, fmt.Errorf("wintwin: step %d is %s on Windows and %s on Linux", i, w.Name, l.Name)
		}
		if w.Command == l.Command {
			return nil, fmt.Errorf("wintwin: step %s: the Windows command is the Linux one", w.Name)
		}
		// The Windows command reads its script from stdin first (agent.StepStdin):
		// the twin skips it, as the command's loader consumes it, then runs the step.
		sh := skipScript + l.Script
		if w.Package != nil && w.Package.Err == "" {
			// The Windows step reads its package as base64 lines after the
			// header (agent.PackageStream); the PowerShell decodes each line,
			// the twin decodes them with base64 -d and hands the Linux step
			// the header and the raw bytes it reads.
			sh = skipScript + "IFS= read -r h || exit 125\n{ printf '%s\\n' \"$h\"; base64 -d; } | sh -c " + agent.ShQuote(l.Script) + "\n"
		}
		out = append(out, Twin{Step: w.Name, Command: w.Command, Sh: sh})
	}
	return out, nil
}

// steps lists each distinct step of h once: every action's, the install and
// upgrade steps, then the restart, the stop step (which ends a step the
// controller gave up on) and the check step (arcfleet check).
func steps(h *inventory.Host) []agent.Step {
	var out []agent.Step
	seen := map[string]bool{}
	for _, a := range []string{agent.ActionConnect, agent.ActionDisconnect, agent.ActionReconnect} {
		for _, s := range agent.HostSteps(h, a) {
			if !seen[s.Name] {
				seen[s.Name] = true
				out = append(out, s)
			}
		}
	}
	for _, s := range []agent.Step{agent.InstallStep(h), agent.UpgradeStep(h)} {
		if !seen[s.Name] {
			seen[s.Name] = true
			out = append(out, s)
		}
	}
	return append(out, agent.RestartServiceStep(h), agent.StopStep(h), agent.CheckStep(h))
}

// skipScript reads stdin up to agent.ScriptEnd.
const skipScript = "while IFS= read -r l && [ \"$l\" != '" + agent.ScriptEnd + "' ]; do :; done\n"

// Register registers with r the twin of every Windows step of win (Twins).
func Register(r Registrar, win inventory.Host, sim inventory.Agent) error {
	ts, err := Twins(win, sim)
	if err != nil {
		return err
	}
	for _, t := range ts {
		r.Register(t.Command, t.Sh)
	}
	return nil
}
