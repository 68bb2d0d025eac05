package agent

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

// PowerShell variable names ignore case: $k and $K are one variable. A step
// script that spells one name two ways almost always means two meanings of
// one variable, the later assignment overwriting the earlier (the connect
// step once kept its PEM in $k, the header's lease seconds $K, so the lease
// written in finally was $M plus a StringBuilder). These tests render every
// Windows step and refuse such pairs.

// psVarRE matches a variable reference: $name, not $env:NAME or another
// scope/drive-qualified name, not $( (subexpression) nor $_.
var psVarRE = regexp.MustCompile(`\$([A-Za-z][A-Za-z0-9_]*)(:?)`)

// psVarSpellings returns, per case-folded name, the spellings used in script.
func psVarSpellings(script string) map[string][]string {
	out := map[string][]string{}
	for _, m := range psVarRE.FindAllStringSubmatch(script, -1) {
		if m[2] == ":" { // $env:X, $script:X: another namespace
			continue
		}
		k := strings.ToLower(m[1])
		if !slices.Contains(out[k], m[1]) {
			out[k] = append(out[k], m[1])
		}
	}
	return out
}

// psCaseAllowed lists the pairs known to be harmless, each with why. Keys
// are the spellings sorted and joined by "/". Empty: every pair found so far
// was renamed instead.
var psCaseAllowed = map[string]string{}

// windowsSteps renders every step arcfleet sends a Windows host: each
// action's steps (connect with agent.install and agent settings, disconnect,
// reconnect, install, upgrade), the service restart, the stop and check
// steps, for hosts with the default and a custom agent path, and install
// and upgrade with an .msi, a download and an unreadable package. The
// scripts do not depend on the credential (certificate mode changes only
// stdin, StepInput), so one rendering covers every login mode.
func windowsSteps(t *testing.T) map[string]Step {
	t.Helper()
	hosts := map[string]*inventory.Host{
		"default": {Name: "w1", OS: "windows"},
		"custom":  {Name: "w2", OS: "windows", Agent: inventory.Agent{Path: `D:\Arc's agent\azcmagent.exe`, Log: `D:\Arc's agent\log\azcmagent.log`}},
		"install-msi": {Name: "w3", OS: "windows", Agent: inventory.Agent{Install: true, MinVersion: "1.50",
			Package: inventory.AgentPackage{MSI: "testdata/agent-test.msi"}}, AgentConfig: configHost("windows").AgentConfig},
		"install-download": {Name: "w4", OS: "windows", Agent: inventory.Agent{Install: true, MinVersion: "1.60"}},
		"install-unreadable": {Name: "w5", OS: "windows", Agent: inventory.Agent{Install: true,
			Package: inventory.AgentPackage{MSI: "testdata/no-such.msi"}}},
		"configure": configHost("windows"),
	}
	out := map[string]Step{}
	for hn, h := range hosts {
		var steps []Step
		for _, a := range []string{ActionConnect, ActionDisconnect, ActionReconnect, ActionInstall, ActionUpgrade} {
			steps = append(steps, HostSteps(h, a)...)
		}
		steps = append(steps, InstallStep(h), UpgradeStep(h), ConfigureStep(h), ProbeStep(h), RestartServiceStep(h), StopStep(h), CheckStep(h))
		for _, st := range steps {
			if !strings.HasPrefix(st.Command, psCommandPrefix) {
				t.Fatalf("%s %s: not a PowerShell command", hn, st.Name)
			}
			out[hn+" "+st.Name] = st
		}
	}
	for _, want := range []string{StepProbe, StepConnect, StepDisconnect, StepDisconnectLocal, StepRestartService, StepStop, StepInstall, StepUpgrade, StepConfigure, StepCheck} {
		if _, ok := out["default "+want]; !ok {
			t.Fatalf("no %s step rendered", want)
		}
	}
	return out
}

func TestWindowsScriptsSpellEachVariableOneWay(t *testing.T) {
	seen := map[string]bool{}
	steps := windowsSteps(t)
	names := make([]string, 0, len(steps))
	for n := range steps {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		st := steps[n]
		loader, err := DecodePowerShell(st.Command)
		if err != nil {
			t.Fatal(err)
		}
		// The loader runs the script in a child scope, where a name the
		// script reads before it sets it is the loader's: one namespace.
		for name, sp := range psVarSpellings(loader + st.Script) {
			if len(sp) < 2 {
				continue
			}
			sort.Strings(sp)
			key := strings.Join(sp, "/")
			if _, ok := psCaseAllowed[key]; ok {
				seen[key] = true
				continue
			}
			var lines []string
			for l := range strings.Lines(loader + st.Script) {
				if strings.Contains(strings.ToLower(l), "$"+name) {
					lines = append(lines, strings.TrimSpace(l))
				}
			}
			t.Errorf("%s: variable spelled %s (PowerShell names ignore case: one variable), in:\n  %s", n, key, strings.Join(lines, "\n  "))
		}
	}
	for k := range psCaseAllowed {
		if !seen[k] {
			t.Errorf("allow-list entry %s matches no script: remove it", k)
		}
	}
}

// The detector itself: it finds the pair that broke the lease, and leaves
// $env:X and one spelling alone.
func TestPSVarSpellings(t *testing.T) {
	got := psVarSpellings("$null,$I,$W,$K=$h.Split(' ')\n$k=New-Object Text.StringBuilder;$env:TEMP;$Env;$K\n")
	if sp := got["k"]; len(sp) != 2 {
		t.Errorf("k: %v", sp)
	}
	if sp := got["env"]; len(sp) != 1 || sp[0] != "Env" {
		t.Errorf("env: %v", sp)
	}
	if len(got["w"]) != 1 || len(got["temp"]) != 0 {
		t.Errorf("%v", got)
	}
}

// Certificate mode: the lease the action steps write in finally is
// $($M+$K), $K the header's seconds (a number). The PEM read after CertStart
// must not land in $K, nor any other assignment: the only assignment to k
// in any spelling is the header's. (The scripts do not depend on the login
// mode; PowerShell cannot run here, so this reads the rendering.)
func TestWindowsLeaseIsTheHeaderNumber(t *testing.T) {
	assign := regexp.MustCompile(`(?i)\$k\s*=[^=]|\$k\s*,|,\s*\$k\b`)
	for n, st := range windowsSteps(t) {
		if !strings.Contains(st.Script, "until=$($M+$K)") {
			continue
		}
		s := st.Script
		hdr := strings.Index(s, psHeader)
		if hdr < 0 {
			t.Errorf("%s: writes a lease without the header", n)
			continue
		}
		// The header's destructuring is the one assignment.
		rest := s[:hdr] + s[hdr+len(psHeader):]
		if m := assign.FindString(rest); m != "" {
			t.Errorf("%s: assigns the lease variable outside the header (%q):\n%s", n, m, s)
		}
		if !strings.Contains(psHeader, ",$K,") {
			t.Fatalf("header %q no longer reads $K", psHeader)
		}
		if n == "default "+StepConnect || n == "default "+StepDisconnect {
			// The certificate reader: its own StringBuilder, not $K.
			if !strings.Contains(s, "if($ln -eq '"+CertStart+"'){$pem=New-Object Text.StringBuilder}") {
				t.Errorf("%s: certificate reader not found:\n%s", n, s)
			}
		}
	}
	if t.Failed() {
		return
	}
	// Every action step that takes the lock writes the lease.
	for _, name := range []string{StepConnect, StepDisconnect, StepDisconnectLocal, StepRestartService, StepInstall, StepUpgrade, StepConfigure} {
		if st := windowsSteps(t)["default "+name]; !strings.Contains(st.Script, "until=$($M+$K)") {
			t.Errorf("%s: no lease written:\n%s", name, st.Script)
		}
	}
}
