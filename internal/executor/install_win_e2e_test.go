package executor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport/winrm"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
	"github.com/arcfleet/arcfleet/testbed/winrmtest"
	"github.com/arcfleet/arcfleet/testbed/wintwin"
)

// TestE2EInstallWindowsPackage: the install action on a Windows host with
// agent.package.msi, through the executor and the real WinRM client to a
// test server that runs the step's Linux twin (testbed/wintwin: it decodes
// the base64 lines the executor sends and checks size and SHA-256 as the
// PowerShell does; the PowerShell itself is not run here). The .msi (a fake
// package the twin's fake dpkg installs, made 8 MiB) is sent; a copy changed
// on the controller after the plan is refused on the host; a second run skips;
// a package gone from the controller is refused before anything runs.
func TestE2EInstallWindowsPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	const version = "1.55.03100.1"
	wh, pm, h, msi := msiHost(t, "win-inst", version, 8<<20)
	orig, err := os.ReadFile(msi)
	if err != nil {
		t.Fatal(err)
	}
	p := planOf(agent.ActionInstall, h)
	if st := p.Hosts[0].Steps; stepNames(st) != "install" || st[0].Package == nil || st[0].Package.Format != "msi" || st[0].Package.Size != int64(len(orig)) {
		t.Fatalf("plan steps %s %+v", stepNames(st), st[0].Package)
	}
	x := e2eExecutor()
	x.Dialer = &winrm.Dialer{}
	x.LookupEnv = winLookupEnv
	apply := func() results.HostResult {
		t.Helper()
		rep, err := x.Apply(context.Background(), p, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return exResult(rep, h.Name)
	}
	installs := func() int { return countCalls(pm.PackageCalls(), "dpkg -i ") }
	installed := func() string {
		b, _ := os.ReadFile(filepath.Join(wh.root, "installed-version"))
		return strings.TrimSpace(string(b))
	}

	// Other bytes of the same size since the plan: the host's SHA-256 check.
	changed := append([]byte(nil), orig...)
	changed[len(changed)/2] ^= 0xff
	if err := os.WriteFile(msi, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := apply(); r.Outcome != results.OutcomeFailed || r.FinalCode != "HOST-PACKAGE-DIGEST" {
		t.Fatalf("changed package: %s %s %s %v", r.Outcome, r.FinalCode, r.Detail, r.Evidence)
	}
	if n := installs(); n != 0 || installed() != "" {
		t.Fatalf("changed package: installed (%d, %q)", n, installed())
	}

	if err := os.WriteFile(msi, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	r := apply()
	if r.Outcome != results.OutcomeOK || installed() != version || installs() != 1 {
		t.Fatalf("install: %s %s %s; installed %q, %d dpkg -i", r.Outcome, r.FinalCode, r.Detail, installed(), installs())
	}
	if !strings.Contains(r.Detail, version) {
		t.Errorf("install: detail %q does not name %s", r.Detail, version)
	}
	// Idempotent: present and new enough, the package is not installed again.
	if r := apply(); r.Outcome != results.OutcomeUnchanged || installs() != 1 {
		t.Errorf("second run: %s %s %s; %d dpkg -i", r.Outcome, r.FinalCode, r.Detail, installs())
	}
	if ents, _ := os.ReadDir(wh.tmp); len(ents) != 0 {
		t.Errorf("left in the host's TMPDIR: %v", ents)
	}

	// Gone from the controller: refused there, before dialing.
	if err := os.Remove(msi); err != nil {
		t.Fatal(err)
	}
	before := wh.srv.Counts()
	r = apply()
	if after := wh.srv.Counts(); after["Create"] != before["Create"] || after["Command"] != before["Command"] {
		t.Errorf("package gone: the host was contacted (%v, then %v)", before, after)
	}
	if r.Outcome != results.OutcomeFailed || r.FinalCode != "HOST-PACKAGE-UNREADABLE" || !strings.Contains(r.Detail, "on the controller") {
		t.Errorf("package gone: %s %s %s", r.Outcome, r.FinalCode, r.Detail)
	}
	for _, a := range r.Attempts {
		if a.Step == agent.StepInstall {
			t.Errorf("package gone: the install step ran: %+v", a)
		}
	}
}

// TestE2EInstallWindowsTimeoutStopped: the Windows install step outlives its
// attempt (the package manager's lock is held: the twin waits for it as the
// PowerShell waits out msiexec's 1618). The executor cuts it at the attempt
// timeout, stops it on the host by its started marker (the stop step's twin)
// and retries; the retry installs once the lock is free, and nothing is left
// in the host's TMPDIR. The PowerShell's watchdog task and taskkill are not
// run here (testbed/winrmtest/README.md).
func TestE2EInstallWindowsTimeoutStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	const version = "1.56.03200.1"
	wh, pm, h, _ := msiHost(t, "win-slow", version, 0)
	p := planOf(agent.ActionInstall, h)
	x := e2eExecutor()
	x.Dialer = &winrm.Dialer{}
	x.LookupEnv = winLookupEnv
	const attempt = 6 * time.Second
	x.Timeout = attempt
	// Held past the first attempt; the retry finds it free within one poll
	// (3 s) of starting, well inside its own 6 s.
	if err := pm.HoldPackageLock(time.Now().Add(attempt + 2*time.Second).Unix()); err != nil {
		t.Fatal(err)
	}
	runDir := t.TempDir()
	rep, err := x.Apply(context.Background(), p, runDir)
	if err != nil {
		t.Fatal(err)
	}
	r := exResult(rep, h.Name)
	if r.Outcome != results.OutcomeOK || len(r.Attempts) < 2 {
		t.Fatalf("%s %s %s, %d attempts", r.Outcome, r.FinalCode, r.Detail, len(r.Attempts))
	}
	if a := r.Attempts[0]; a.Step != agent.StepInstall || a.Code != "TRANSPORT-TIMEOUT" {
		t.Errorf("first attempt %+v, want the install step cut by the timeout", a)
	}
	// The first attempt was stopped on the host through its started marker.
	if b, err := os.ReadFile(filepath.Join(runDir, r.Attempts[0].LogPath)); err != nil || !strings.Contains(string(b), "stopped on the host") {
		t.Errorf("attempt 1 log (%v) does not say it was stopped on the host:\n%s", err, b)
	}
	if r.Leftover != "" {
		t.Errorf("leftover on the host: %s", r.Leftover)
	}
	if n := countCalls(pm.PackageCalls(), "dpkg -i "); n < 2 {
		t.Errorf("%d dpkg -i calls, want the locked one(s) and the one that installed: %q", n, pm.PackageCalls())
	}
	if b, _ := os.ReadFile(filepath.Join(wh.root, "installed-version")); strings.TrimSpace(string(b)) != version {
		t.Errorf("installed %q, want %s", b, version)
	}
	if ents, _ := os.ReadDir(wh.tmp); len(ents) != 0 {
		t.Errorf("left in the host's TMPDIR: %v", ents)
	}
}

// msiHost starts a Windows test host with the fake package manager and the
// install steps' twins, and an inventory host whose agent.package.msi is a
// fake package of version, padded with pad random bytes (a bulk upload).
func msiHost(t *testing.T, name, version string, pad int) (*winHost, *sshtest.Host, inventory.Host, string) {
	t.Helper()
	w := newWinEnv(t, "default: {}\n", "")
	wh := w.start(t, name, winrmtest.Options{})
	pm := &sshtest.Host{Dir: wh.dir, Root: wh.root}
	if err := pm.InstallFakePackageManager(); err != nil {
		t.Fatal(err)
	}
	msi := filepath.Join(t.TempDir(), "AzureConnectedMachineAgent.msi")
	if err := sshtest.WriteFakePackage(msi, version, w.sim, ""); err != nil {
		t.Fatal(err)
	}
	if err := sshtest.PadFile(msi, pad); err != nil {
		t.Fatal(err)
	}
	h := wh.invHost("ntlm")
	h.Agent.Package.MSI = msi
	if err := wintwin.Register(wh.srv, inventory.Host{Name: h.Name, OS: "windows", Agent: h.Agent},
		inventory.Agent{Log: filepath.Join(wh.root, "log", "azcmagent.log")}); err != nil {
		t.Fatal(err)
	}
	return wh, pm, h, msi
}
