package agent

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

// Rendered Windows scripts, read (PowerShell cannot run here): what the
// review of the install, stop and connect steps asked for.

// A path in a variable or string goes to a path cmdlet as -LiteralPath: a
// -Path would take [ and ] as wildcards (a TEMP such as C:\Temp[1] would
// leave the private directory, with the package or the certificate, behind).
func TestWindowsPathsLiteral(t *testing.T) {
	cmdlet := regexp.MustCompile(`(?i)(^|[^$\w-])(Remove-Item|Test-Path|Get-ChildItem|Get-Content|gc|Set-Content|sc|Get-Item|rd|ri|del|Copy-Item|Move-Item|md|mkdir|New-Item)\s+([$"'(])`)
	steps := windowsSteps(t)
	names := make([]string, 0, len(steps))
	for n := range steps {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for line := range strings.Lines(steps[n].Script) {
			if m := cmdlet.FindStringSubmatch(line); m != nil {
				t.Errorf("%s: %s given a path without -LiteralPath:\n%s", n, m[2], line)
			}
		}
	}
}

// Once the owner record is written, the step's finally records exit=$R in
// the last-step record: every exit with a number sets $R to it first, so a
// lost attempt is resolved with the code the step exited with.
func TestWindowsExitRecorded(t *testing.T) {
	exit := regexp.MustCompile(`exit (\d+)`)
	owner := regexp.MustCompile(`sc (-LiteralPath )?\$O "run=\$I step=`)
	checked := map[string]bool{}
	for n, st := range windowsSteps(t) {
		s := st.Script
		loc := owner.FindStringIndex(s)
		if loc == nil {
			continue // no lock: probe, stop, check
		}
		i := loc[0]
		checked[st.Name] = true
		if !strings.Contains(s, "\\last\" \"run=$I step="+st.Name+" exit=$R ") {
			t.Errorf("%s: no last-step record of $R:\n%s", n, s)
		}
		for _, m := range exit.FindAllStringSubmatchIndex(s[i:], -1) {
			code := s[i+m[2] : i+m[3]]
			if !strings.HasSuffix(s[:i+m[0]], "$R="+code+";") {
				line := s[strings.LastIndex(s[:i+m[0]], "\n")+1:]
				line, _, _ = strings.Cut(line, "\n")
				t.Errorf("%s: exit %s without $R=%s (the last-step record would say another code):\n%s", n, code, code, line)
			}
		}
	}
	for _, name := range []string{StepConnect, StepDisconnect, StepDisconnectLocal, StepRestartService, StepInstall, StepUpgrade, StepConfigure} {
		if !checked[name] {
			t.Errorf("%s: no owner record found: nothing checked", name)
		}
	}
}

// The stop step says a Windows Installer still at work before a directory
// left behind (the service may be what holds the .msi in it), and both
// when both are so.
func TestWindowsStopSaysInstallerFirst(t *testing.T) {
	s := StopStep(&inventory.Host{Name: "w", OS: "windows"}).Script
	busy := strings.Index(s, "OpenExisting('Global\\_MSIExecute')")
	say := strings.Index(s, "if($busy){'"+StopMarker+"running Windows Installer")
	left := strings.Index(s, "if($lf){'"+StopMarker+"left '+$D;exit 1}")
	if busy < 0 || say < 0 || left < 0 || !(busy < say && say < left) {
		t.Fatalf("installer check %d, its verdict %d, left %d:\n%s", busy, say, left, s)
	}
	if !strings.Contains(s[say:left], "$(if($lf){'; left '+$D}") {
		t.Errorf("the installer verdict does not say the directory left:\n%s", s)
	}
	if strings.Count(s, "Test-Path -LiteralPath $D") != 1 || strings.Index(s, "$lf=Test-Path -LiteralPath $D") > say {
		t.Errorf("directory tested other than once before the verdicts:\n%s", s)
	}
	// The verdicts read as before (StopVerdict takes the last marker line).
	for out, want := range map[string]string{
		StopMarker + "running Windows Installer: x; left C:\\T\\arcfleet.1.x\r\n": "running Windows Installer: x; left C:\\T\\arcfleet.1.x",
		StopMarker + "left C:\\T\\arcfleet.1.x\r\n":                               "left C:\\T\\arcfleet.1.x",
	} {
		if clean, left := StopVerdict(out); clean || left != want {
			t.Errorf("StopVerdict(%q) = %v %q", out, clean, left)
		}
	}
}

// The upgrade through `azcmagent upgrade --background` waits for the
// version it asked for (or for Windows Installer to be done), within the
// watchdog's time, keeps the installer mark until then, and checks the
// version as the msiexec path does.
func TestWindowsUpgradeCommandWaits(t *testing.T) {
	for _, min := range []string{"1.64", ""} {
		h := &inventory.Host{Name: "w", OS: "windows", Agent: inventory.Agent{MinVersion: min}}
		s := UpgradeStep(h).Script
		start := strings.Index(s, "if(ge $C '"+UpgradeCommandVersion+"'){$mr=1;")
		end := strings.Index(s, "Write-Output \""+InstallMarker+"upgraded $C $v\";$R=0;exit 0}\n[Net.ServicePointManager]")
		if start < 0 || end < 0 {
			t.Fatalf("min %q: upgrade route not found:\n%s", min, s)
		}
		r := s[start:end]
		order := []string{
			"sc -LiteralPath $O \"run=$I step=upgrade pid=$PID since=$N until=$($N+$W) " + InstallerRunning + "\"",
			"upgrade --background 2>&1};$R=$LASTEXITCODE",
			"if($R -ne 0){exit $R}",
			"$ud=$N+[int]$W-15;", // within the watchdog's time
			"while($true){",
			"OpenExisting('Global\\_MSIExecute')",
			"$v=av",
			"if(-not $um -and $v -and (($need -and (ge $v $need)) -or (-not $need -and $v -ne $C))){$mr=$null;break}",
			"if($ua -ge 5 -and ($us -or -not $need)){$mr=$null;break}",
			"-ge $ud){",
			"Start-Sleep -Seconds 1}",
			ErrorMarker + "agent-not-found-after-install",
			"if($need -and -not (ge $v $need)){$E.WriteLine('" + ErrorMarker + "installed-version-low')",
		}
		at := 0
		for _, w := range order {
			i := strings.Index(r[at:], w)
			if i < 0 {
				t.Fatalf("min %q: %q missing, or out of order:\n%s", min, w, r)
			}
			at += i + len(w)
		}
		// The mark is cleared only where the installation is done: not on
		// the deadline's way out, not before the loop.
		if strings.Count(r, "$mr=$null") != 2 {
			t.Errorf("min %q: $mr cleared %d times:\n%s", min, strings.Count(r, "$mr=$null"), r)
		}
		dl := r[strings.Index(r, "-ge $ud){"):]
		dl, _, _ = strings.Cut(dl, "\n")
		if strings.Contains(dl, "$mr") || !strings.Contains(dl, "break") {
			t.Errorf("min %q: deadline branch %q", min, dl)
		}
	}
}
