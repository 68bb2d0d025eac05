package agent

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

// The Windows install/upgrade step is PowerShell, which this machine cannot
// run (the WinRM test server runs its Linux twin, testbed/wintwin): these
// tests pin what is rendered. The golden holds the whole scripts for review.

func TestGoldenInstallWindows(t *testing.T) {
	msi := "testdata/agent-test.msi"
	hosts := []struct {
		name string
		h    *inventory.Host
	}{
		{"package", &inventory.Host{Name: "w1", OS: "windows", Agent: inventory.Agent{MinVersion: "1.50", Package: inventory.AgentPackage{MSI: msi}}}},
		{"download", &inventory.Host{Name: "w2", OS: "windows", Agent: inventory.Agent{Path: `D:\Arc's agent\azcmagent.exe`}}},
		{"missing package", &inventory.Host{Name: "w3", OS: "windows", Agent: inventory.Agent{Package: inventory.AgentPackage{MSI: "testdata/no-such.msi"}}}},
	}
	var b strings.Builder
	for _, c := range hosts {
		for _, st := range []Step{InstallStep(c.h), UpgradeStep(c.h)} {
			fmt.Fprintf(&b, "===== %s: step %s (stdin %q)\n--- script\n%s", c.name, st.Name, st.Stdin, st.Script)
		}
	}
	st := StopStep(hosts[0].h)
	fmt.Fprintf(&b, "===== step %s\n--- script\n%s", st.Name, st.Script)
	checkGolden(t, "scripts/install-windows.golden", []byte(b.String()))
}

// What the Windows install step with an .msi must do, in the order it must
// do it.
func TestWindowsInstallPackageSteps(t *testing.T) {
	h := &inventory.Host{Name: "w", OS: "windows", Agent: inventory.Agent{Package: inventory.AgentPackage{MSI: "testdata/agent-test.msi"}}}
	st := InstallStep(h)
	if st.Package == nil || st.Package.Format != "msi" || st.Package.Size == 0 {
		t.Fatalf("package %+v", st.Package)
	}
	s := st.Script
	sum := strings.ToUpper(st.Package.SHA256)
	order := []string{
		"$X=[IO.File]::Open(\"$S\\lock\"", // the host lock
		"SetAccessRuleProtection($true,$false)",
		"'S-1-5-18','S-1-5-32-544'", // SYSTEM and Administrators only
		"[IO.Directory]::CreateDirectory($D,$Y)",
		StartedMarker + "pid=$PID pg= dir=$D", // for the stop step
		"Register-ScheduledTask",              // the watchdog
		fmt.Sprintf("while($pn -lt %d -and ($pl=[Console]::In.ReadLine()) -ne $null){$pb=[Convert]::FromBase64String($pl)", st.Package.Size),
		fmt.Sprintf("if($pn -ne %d){", st.Package.Size),
		"[Security.Cryptography.SHA256]::Create().ComputeHash($pf)",
		"if($ph -cne '" + sum + "')",
		"'ProductVersion'",
		"skipped $C",
		"step=install pid=$PID since=$N until=$($N+$W) " + InstallerRunning, // before msiexec
		"Start-Process msiexec.exe",
		"'/norestart'",
		"msiexec-$R",
		"installed $v",
		"}finally{if($D){Remove-Item -LiteralPath $D -Recurse -Force -EA 0}",
		"$(if($mr){' " + InstallerRunning + "'})",
		"$X.Close()",
	}
	at := 0
	for _, w := range order {
		i := strings.Index(s[at:], w)
		if i < 0 {
			t.Fatalf("%q missing, or before %q:\n%s", w, s[:at], s)
		}
		at += i + len(w)
	}
	// The package is read as text lines, never as raw bytes beside the
	// loader's reader, and never whole into one string.
	for _, bad := range []string{"OpenStandardInput", "ReadToEnd", "package-upload-unsupported", "DownloadFile"} {
		if strings.Contains(s, bad) {
			t.Errorf("script has %q", bad)
		}
	}
	// Variables PowerShell folds together (every pair: ps_vars_test.go): the
	// watchdog's command is $wd, not $c beside $C, and nothing may assign $O
	// (the owner record's path) after the lock.
	if i, j := strings.Index(s, "$wd=\"if((Get-Process"), strings.Index(s, "$C=av"); i < 0 || j < i || regexp.MustCompile(`\$c\b`).MatchString(s) {
		t.Errorf("$C and the watchdog's command (%d, %d)", i, j)
	}
	lock := strings.Index(s, "sc -LiteralPath $O ")
	if m := regexp.MustCompile(`(?i)\$o=`).FindAllStringIndex(s, -1); len(m) != 1 || m[0][0] > lock {
		t.Errorf("$O assigned %d times (want once, before the lock)", len(m))
	}
	// The plan says how the package travels.
	if !strings.Contains(st.Stdin, "base64 lines") {
		t.Errorf("stdin %q", st.Stdin)
	}
	// An unreadable package is refused before anything else on the host.
	gone := InstallStep(&inventory.Host{Name: "w", OS: "windows", Agent: inventory.Agent{Package: inventory.AgentPackage{MSI: "testdata/no-such.msi"}}})
	if !strings.Contains(gone.Script, ErrorMarker+"package-unreadable") || strings.Contains(gone.Script, "Start-Process msiexec") {
		t.Errorf("missing package:\n%s", gone.Script)
	}
}

// Every Windows step's lock (and the probe) treats a host whose owner record
// says an installation was left running as busy while Windows Installer's
// mutex exists.
func TestWindowsInstallerMarkChecked(t *testing.T) {
	h := &inventory.Host{Name: "w", OS: "windows"}
	for _, st := range append(HostSteps(h, ActionReconnect), ProbeStep(h), RestartServiceStep(h), InstallStep(h), UpgradeStep(h), StopStep(h)) {
		if !strings.Contains(st.Script, "$own -match ' "+InstallerRunning+"'") || !strings.Contains(st.Script, `OpenExisting('Global\_MSIExecute')`) {
			t.Errorf("%s: no installer check", st.Name)
		}
	}
}

// PackageStream: raw for a Linux step; for a Windows step base64 lines of
// PackageLineBytes that decode to exactly the input, whatever the reads.
func TestPackageStream(t *testing.T) {
	lin := Step{Command: "sh -c 'x'"}
	src := bytes.NewReader([]byte("raw"))
	if PackageStream(lin, src) != io.Reader(src) {
		t.Error("Linux: not the file itself")
	}
	win := InstallStep(&inventory.Host{Name: "w", OS: "windows"})
	for _, n := range []int{0, 1, PackageLineBytes - 1, PackageLineBytes, PackageLineBytes + 1, 3*PackageLineBytes + 17} {
		data := make([]byte, n)
		_, _ = rand.Read(data)
		out, err := io.ReadAll(iotest.OneByteReader(PackageStream(win, iotest.HalfReader(bytes.NewReader(data)))))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(out), "\n")
		if lines[len(lines)-1] != "" {
			t.Errorf("%d bytes: last line not ended", n)
		}
		lines = lines[:len(lines)-1]
		if want := (n + PackageLineBytes - 1) / PackageLineBytes; len(lines) != want {
			t.Errorf("%d bytes: %d lines, want %d", n, len(lines), want)
		}
		var got []byte
		for i, l := range lines {
			d, err := base64.StdEncoding.DecodeString(l)
			if err != nil || (i < len(lines)-1 && len(d) != PackageLineBytes) {
				t.Fatalf("%d bytes: line %d: %d bytes, %v", n, i, len(d), err)
			}
			got = append(got, d...)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("%d bytes: decoded differs", n)
		}
	}
	// A read error is passed on, after what was read.
	bad := PackageStream(win, io.MultiReader(bytes.NewReader([]byte("abc")), iotest.ErrReader(io.ErrClosedPipe)))
	out, err := io.ReadAll(bad)
	if err != io.ErrClosedPipe || string(out) != "YWJj\n" {
		t.Errorf("%q %v", out, err)
	}
}
