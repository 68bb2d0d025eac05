package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
)

// The install action through the CLI on real sshd hosts (sudo) that have
// agent 1.50 (the simulator's default) and the fake package manager: plan
// shows the package and its digest, apply of the saved plan installs 1.60
// over it (the simulator then reports 1.60), and a second apply from the
// inventory leaves every host unchanged.
func TestInstallActionCLI(t *testing.T) {
	f := startLoginFleet(t, "inst", 2, sshtest.LoginSudo)
	for _, h := range f.ssh.Hosts {
		if err := h.InstallFakePackageManager(); err != nil {
			t.Fatal(err)
		}
	}
	pkg := filepath.Join(f.Dir, "azcmagent_1.60_amd64.deb")
	if err := sshtest.WriteFakePackage(pkg, "1.60.00001.1", f.sim, ""); err != nil {
		t.Fatal(err)
	}
	inv := f.writeInventory(invOpts{sudo: true})
	b, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), "defaults:\n  credential: sp\n", "defaults:\n  credential: sp\n  agent: {min_version: \"1.55\", package: {deb: "+pkg+"}}\n", 1)
	if err := os.WriteFile(inv, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	planFile := filepath.Join(f.Dir, "install.json")
	r := f.run("plan", "-i", inv, "--action", "install", "-o", planFile).expect(t, exitOK)
	if !strings.Contains(r.stdout, pkg) || !strings.Contains(r.stdout, "sha256 ") || !strings.Contains(r.stdout, "install on linux") {
		t.Errorf("plan output lacks the package:\n%s", r)
	}
	run1 := filepath.Join(f.Dir, "run1")
	f.run("apply", planFile, "--yes", "--run-dir", run1).expect(t, exitOK)
	rep := readReport(t, run1)
	if len(rep.Hosts) != 2 {
		t.Fatalf("report has %d hosts", len(rep.Hosts))
	}
	for _, h := range rep.Hosts {
		if h.Outcome != results.OutcomeOK || !strings.Contains(h.Detail, "upgraded to 1.60.00001.1") {
			t.Errorf("%s: %s %s %q", h.Name, h.Outcome, h.FinalCode, h.Detail)
		}
	}
	run2 := filepath.Join(f.Dir, "run2")
	f.run("apply", "-i", inv, "--action", "install", "--yes", "--run-dir", run2).expect(t, exitOK)
	for _, h := range readReport(t, run2).Hosts {
		if h.Outcome != results.OutcomeUnchanged {
			t.Errorf("%s second run: %s %s %q", h.Name, h.Outcome, h.FinalCode, h.Detail)
		}
	}
	for _, h := range f.ssh.Hosts {
		n := 0
		for _, c := range h.PackageCalls() {
			if strings.HasPrefix(c, "dpkg -i") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: dpkg -i ran %d times: %q", h.Name, n, h.PackageCalls())
		}
	}
}
