package wintwin_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/transport/winrm"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
	"github.com/arcfleet/arcfleet/testbed/winrmtest"
	"github.com/arcfleet/arcfleet/testbed/wintwin"
)

// flipAt passes r on with the byte at offset at replaced by another base64
// character: a package damaged in transit that still decodes.
type flipAt struct {
	r   io.Reader
	off int64
	at  int64
}

func (f *flipAt) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if i := f.at - f.off; i >= 0 && i < int64(n) {
		if p[i] == 'A' {
			p[i] = 'B'
		} else {
			p[i] = 'A'
		}
	}
	f.off += int64(n)
	return n, err
}

// TestTwinInstallPackageOverWinRM sends the Windows install step with an
// operator's .msi of 20 MiB through the real WinRM client to the test server:
// the step's script, header and the package as base64 lines (what the
// executor sends, agent.PackageStream) on stdin. The server runs the step's
// Linux twin, which decodes the lines and checks size and SHA-256 against the
// plan's before the (fake) package manager sees the file. A package damaged
// in transit and one cut short are refused with package-digest and nothing
// installed; the intact one installs. The PowerShell that reads the lines on
// a real host is not run here (testbed/winrmtest/README.md).
func TestTwinInstallPackageOverWinRM(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: 20 MiB through WinRM three times")
	}
	sim := sshtest.BuildSim(t)
	dir := t.TempDir()
	root, bin := filepath.Join(dir, "root"), filepath.Join(dir, "bin")
	if err := os.MkdirAll(filepath.Join(root, "log"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := sshtest.InstallAgent(bin, sim); err != nil {
		t.Fatal(err)
	}
	pm := &sshtest.Host{Dir: dir, Root: root}
	if err := pm.InstallFakePackageManager(); err != nil {
		t.Fatal(err)
	}
	// A fake agent package (what the fake dpkg reads) made 20 MiB with random bytes.
	const version = "1.55.03100.1"
	msi := filepath.Join(dir, "AzureConnectedMachineAgent.msi")
	if err := sshtest.WriteFakePackage(msi, version, sim, ""); err != nil {
		t.Fatal(err)
	}
	if err := sshtest.PadFile(msi, 20<<20); err != nil {
		t.Fatal(err)
	}

	s := winrmtest.Start(t, winrmtest.Options{HTTPS: true, Env: []string{
		"PATH=" + bin + ":/usr/bin:/bin", "AZCMAGENT_SIM_ROOT=" + root, "AZCMAGENT_SIM_HOST=w1", "AZCMAGENT_SIM_NO_ROOT=1"}})
	win := inventory.Host{Name: "w1", OS: "windows", Agent: inventory.Agent{Package: inventory.AgentPackage{MSI: msi}}}
	if err := wintwin.Register(s, win, inventory.Agent{Log: filepath.Join(root, "log", "azcmagent.log")}); err != nil {
		t.Fatal(err)
	}
	st := agent.InstallStep(&win)
	if st.Package == nil || st.Package.Format != "msi" || st.Package.Size <= 20<<20 {
		t.Fatalf("package %+v", st.Package)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := (&winrm.Dialer{}).Dial(ctx, s.Target("w1", "ntlm"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	run := func(name string, wrap func(io.Reader) io.Reader) (int, string, string) {
		t.Helper()
		p, err := agent.OpenPackage(st.Package)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		in := io.MultiReader(bytes.NewReader(agent.StepStdin(st, agent.Input("twin-install", 5*time.Minute, 0, agent.LastStep{Unreadable: true}, nil))),
			wrap(agent.PackageStream(st, p)))
		var out, errb bytes.Buffer
		code, err := c.Run(ctx, st.Command, in, &out, &errb)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return code, out.String(), errb.String()
	}
	installed := func() int {
		n := 0
		for _, l := range pm.PackageCalls() {
			if strings.HasPrefix(l, "dpkg -i ") {
				n++
			}
		}
		return n
	}
	lines := (st.Package.Size + agent.PackageLineBytes - 1) / agent.PackageLineBytes
	line := int64(4 * (agent.PackageLineBytes / 3)) // base64 characters per full line
	for _, bad := range []struct {
		name string
		wrap func(io.Reader) io.Reader
		why  string
	}{
		// One character of a line in the middle, changed in transit.
		{"damaged", func(r io.Reader) io.Reader { return &flipAt{r: r, at: (lines/2)*(line+1) + 1000} }, "SHA-256 "},
		// The connection's stdin ends after half the lines.
		{"cut short", func(r io.Reader) io.Reader { return io.LimitReader(r, (lines/2)*(line+1)) },
			fmt.Sprintf("got %d bytes of %d", (lines/2)*agent.PackageLineBytes, st.Package.Size)},
	} {
		code, out, errs := run(bad.name, bad.wrap)
		if code != 125 || !strings.Contains(errs, agent.ErrorMarker+"package-digest") || !strings.Contains(errs, bad.why) || strings.Contains(out, agent.InstallMarker) {
			t.Errorf("%s: exit %d, want 125 with package-digest (%q)\nstdout %s\nstderr %s", bad.name, code, bad.why, out, errs)
		}
		t.Logf("%s: exit %d: %s", bad.name, code, strings.TrimSpace(errs))
		if n := installed(); n != 0 {
			t.Errorf("%s: the package manager installed it (%d)", bad.name, n)
		}
	}
	code, out, errs := run("intact", func(r io.Reader) io.Reader { return r })
	verdict, v, ok := agent.InstallResult(out)
	if code != 0 || !ok || verdict != "upgraded" || v != version {
		t.Fatalf("intact: exit %d, %s %s (%v)\nstdout %s\nstderr %s", code, verdict, v, ok, out, errs)
	}
	if n := installed(); n != 1 {
		t.Errorf("intact: %d installs, want 1: %q", n, pm.PackageCalls())
	}
	if _, ok := agent.ParseStarted(errs); !ok {
		t.Errorf("no started marker: %s", errs)
	}
	if ents, _ := os.ReadDir(s.TempDir); len(ents) != 0 {
		t.Errorf("left in the host's TMPDIR: %v", ents)
	}
}
