package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

func TestInstallStepRendering(t *testing.T) {
	pkg := filepath.Join(t.TempDir(), "azcmagent.deb")
	if err := os.WriteFile(pkg, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	const sum = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" // sha256("abc")
	h := &inventory.Host{Name: "h", OS: "linux", Agent: inventory.Agent{Package: inventory.AgentPackage{Deb: pkg}, MinVersion: "1.50"}}
	st := InstallStep(h)
	if st.Package == nil || st.Package.SHA256 != sum || st.Package.Size != 3 || st.Package.Format != "deb" {
		t.Fatalf("package %+v", st.Package)
	}
	for _, want := range []string{"head -c 3 >", sum, "dpkg -i", "'1.50'", "package-digest"} {
		if !strings.Contains(st.Script, want) {
			t.Errorf("script lacks %q", want)
		}
	}
	if !strings.Contains(st.Stdin, pkg) || !strings.Contains(st.Stdin, sum) {
		t.Errorf("plan stdin %q lacks the path or digest", st.Stdin)
	}
	// No package: Microsoft's installer script; no secret, no digest.
	repo := InstallStep(&inventory.Host{Name: "r", OS: "linux"})
	if repo.Package != nil || !strings.Contains(repo.Script, LinuxInstallerURL) || strings.Contains(repo.Script, "head -c") {
		t.Errorf("repository route: %+v", repo.Package)
	}
	// A missing package refuses on the host instead of installing anything else.
	gone := InstallStep(&inventory.Host{Name: "g", OS: "linux", Agent: inventory.Agent{Package: inventory.AgentPackage{RPM: pkg + ".missing"}}})
	if gone.Package == nil || gone.Package.Err == "" || !strings.Contains(gone.Script, "package-unreadable") {
		t.Errorf("missing package: %+v", gone.Package)
	}
	// Both scripts parse as POSIX sh.
	for _, s := range []Step{st, repo, gone, UpgradeStep(h)} {
		if out, err := exec.Command("sh", "-n", "-c", s.Script).CombinedOutput(); err != nil {
			t.Errorf("%s: sh -n: %v %s", s.Name, err, out)
		}
	}
	// Windows: the MSI route is rendered; an .msi to upload is refused.
	w := InstallStep(&inventory.Host{Name: "w", OS: "windows"})
	if !strings.Contains(w.Script, WindowsInstallerURL) || !strings.Contains(w.Script, "msiexec-$R") {
		t.Error("windows install script lacks the MSI route")
	}
}

// The version comparison the install body uses (ge), run by sh.
func TestInstallVersionCompare(t *testing.T) {
	body := shInstallBody[strings.Index(shInstallBody, "ge(){"):strings.Index(shInstallBody, "ver(){")]
	for _, c := range []struct {
		a, b string
		ge   bool
	}{
		{"1.50.03036.1885", "1.50", true}, {"1.50", "1.50.0", true}, {"1.49.9", "1.50", false},
		{"1.62", "1.62", true}, {"1.100", "1.62", true}, {"2", "1.99.99", true}, {"1.5", "1.50", false},
	} {
		err := exec.Command("sh", "-c", body+`ge "$1" "$2"`, "sh", c.a, c.b).Run()
		if (err == nil) != c.ge {
			t.Errorf("ge %s %s = %v, want %v", c.a, c.b, err == nil, c.ge)
		}
	}
}

func TestInstallResult(t *testing.T) {
	v, ver, ok := InstallResult("noise\n" + InstallMarker + "upgraded 1.50 1.60.2\n")
	if !ok || v != "upgraded" || ver != "1.60.2" {
		t.Errorf("%q %q %v", v, ver, ok)
	}
	if _, _, ok := InstallResult("nothing"); ok {
		t.Error("found a verdict in nothing")
	}
}

// upgrade --version takes MAJOR.MINOR of agent.min_version.
func TestUpgradeVersionArgument(t *testing.T) {
	body := shInstallBody[strings.Index(shInstallBody, "case $N in *.*)"):]
	body = body[:strings.Index(body, "esac;")+5]
	for in, want := range map[string]string{"1.63": "1.63", "1.63.02944.2010": "1.63", "2": "2.0"} {
		out, err := exec.Command("sh", "-c", "N=$1; "+body+` printf %s "$m"`, "sh", in).Output()
		if err != nil || string(out) != want {
			t.Errorf("%s: %q %v, want %s", in, out, err, want)
		}
	}
}

// The Windows upgrade passes MAJOR.MINOR to `azcmagent upgrade --version`, as
// the Linux step does (the docs take MAJOR.MINOR; found in review: Windows
// passed agent.min_version whole). Rendering only: no PowerShell here.
func TestWindowsUpgradeVersionMajorMinor(t *testing.T) {
	h := &inventory.Host{Name: "w", OS: "windows"}
	h.Agent.MinVersion = "1.63.2"
	s := UpgradeStep(h).Script
	if !strings.Contains(s, "upgrade --version $mm") || !strings.Contains(s, "[0..1] -join '.'") {
		t.Errorf("the Windows upgrade does not cut the version to MAJOR.MINOR:\n%s", s)
	}
}
