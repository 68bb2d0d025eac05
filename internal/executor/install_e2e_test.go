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
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
)

// End-to-end install: real sshd hosts without an agent, the fake package
// manager (testbed/sshtest/fakepkg.go) in each host's bin directory, a fake
// .deb on the controller streamed over the step's session.

// installFleet starts n agent-less hosts logging in as login, with the fake
// package manager, and a plan of action whose hosts install pkg (a .deb).
func installFleet(t *testing.T, n int, login sshtest.Login, pkg, action string, edit func(h *inventory.Host)) (*sshtest.Fleet, *plan.Plan) {
	t.Helper()
	skipUnlessE2E(t, login)
	f := sshtest.StartFleet(t, n, sshtest.FleetOptions{Login: login})
	p := &plan.Plan{FormatVersion: plan.PlanFormatVersion, Action: action, Inventory: "e2e.yaml", InventoryDigest: "sha256:e2e", CreatedAt: time.Now(),
		Credentials: map[string]inventory.Credential{
			"sp": {Name: "sp", ClientID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", TenantID: e2eTenant, Secret: inventory.SecretRef{Env: "ARC_SP_SECRET"}},
		}}
	for _, sh := range f.Hosts {
		if err := sh.InstallFakePackageManager(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(sh.AgentPath); err == nil {
			t.Fatalf("%s has an agent before the install", sh.Name)
		}
		h := inventory.Host{Name: sh.Name, Address: sh.Address, Port: sh.Port, OS: "linux", Transport: "ssh", Credential: "sp",
			Azure: inventory.Azure{SubscriptionID: e2eSub, ResourceGroup: e2eRG, Location: "westeurope", TenantID: e2eTenant},
			SSH:   inventory.SSH{User: sh.User, IdentityFile: sh.IdentityFile, KnownHosts: sh.KnownHostsFile, HostKeyPolicy: "strict"},
			Agent: inventory.Agent{Path: sh.AgentPath, Log: sh.AgentLog, Package: inventory.AgentPackage{Deb: pkg}}}
		if login == sshtest.LoginSudo {
			h.SSH.Become = "sudo"
		}
		if edit != nil {
			edit(&h)
		}
		p.Hosts = append(p.Hosts, plan.HostPlan{Host: h, Steps: agent.HostSteps(&h, action), Recovery: []agent.Step{agent.RestartServiceStep(&h), agent.StopStep(&h)}})
	}
	return f, p
}

func countCalls(calls []string, prefix string) int {
	n := 0
	for _, c := range calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func applyOnce(t *testing.T, p *plan.Plan) *results.Report {
	t.Helper()
	rep, err := e2eExecutor().Apply(context.Background(), p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// Install then connect in one plan (agent.install), on each login; a second
// run skips the install (the package manager is not called again) and finds
// the host connected.
func TestE2EInstallThenConnect(t *testing.T) {
	sim := sshtest.BuildSim(t)
	for _, tc := range []struct {
		name  string
		login sshtest.Login
	}{{"plain", sshtest.LoginTest}, {"sudo", sshtest.LoginSudo}, {"root", sshtest.LoginRoot}} {
		t.Run(tc.name, func(t *testing.T) {
			pkg := filepath.Join(t.TempDir(), "azcmagent_1.55.0_amd64.deb")
			if err := sshtest.WriteFakePackage(pkg, "1.55.03100.100", sim, ""); err != nil {
				t.Fatal(err)
			}
			f, p := installFleet(t, 2, tc.login, pkg, agent.ActionConnect, func(h *inventory.Host) { h.Agent.Install = true })
			if got := p.Hosts[0].Steps; len(got) != 3 || got[0].Name != agent.StepInstall || got[0].Package == nil {
				t.Fatalf("steps %+v", got)
			}
			rep := applyOnce(t, p)
			for _, sh := range f.Hosts {
				r := exResult(rep, sh.Name)
				if r.Outcome != results.OutcomeOK {
					t.Fatalf("%s: %s %s %s %v", sh.Name, r.Outcome, r.FinalCode, r.Detail, r.Evidence)
				}
				if !strings.Contains(strings.Join(r.Notes, "\n"), "agent 1.55.03100.100 installed") {
					t.Errorf("%s notes %q", sh.Name, r.Notes)
				}
				if n := countCalls(sh.PackageCalls(), "dpkg -i"); n != 1 {
					t.Errorf("%s: dpkg -i ran %d times: %q", sh.Name, n, sh.PackageCalls())
				}
			}
			rep = applyOnce(t, p)
			for _, sh := range f.Hosts {
				r := exResult(rep, sh.Name)
				if r.Outcome != results.OutcomeUnchanged {
					t.Errorf("%s second run: %s %s %s", sh.Name, r.Outcome, r.FinalCode, r.Detail)
				}
				if !strings.Contains(strings.Join(r.Notes, "\n"), "agent 1.55.03100.100 present and new enough: install skipped") {
					t.Errorf("%s second run notes %q", sh.Name, r.Notes)
				}
				if n := countCalls(sh.PackageCalls(), "dpkg -i"); n != 1 {
					t.Errorf("%s: dpkg -i ran %d times after the second run", sh.Name, n)
				}
			}
		})
	}
}

// A package that changed on the controller after the plan (same size, other
// bytes) is refused on the host before any package manager sees it.
func TestE2EInstallDigestMismatch(t *testing.T) {
	sim := sshtest.BuildSim(t)
	pkg := filepath.Join(t.TempDir(), "agent.deb")
	if err := sshtest.WriteFakePackage(pkg, "1.55", sim, ""); err != nil {
		t.Fatal(err)
	}
	f, p := installFleet(t, 1, sshtest.LoginTest, pkg, agent.ActionInstall, nil)
	b, err := os.ReadFile(pkg)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-2] = 'y'
	if err := os.WriteFile(pkg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rep := applyOnce(t, p)
	r := exResult(rep, "host-1")
	if r.Outcome != results.OutcomeFailed || r.FinalCode != "HOST-PACKAGE-DIGEST" {
		t.Fatalf("%s %s %s %v", r.Outcome, r.FinalCode, r.Detail, r.Evidence)
	}
	if c := f.Hosts[0].PackageCalls(); countCalls(c, "dpkg") != 0 {
		t.Errorf("the package manager ran: %q", c)
	}
	if _, err := os.Stat(f.Hosts[0].AgentPath); err == nil {
		t.Error("an agent was installed")
	}
}

// The package manager's lock: held for a few seconds, the install waits and
// succeeds; held beyond the bound, it fails with HOST-PACKAGE-LOCK (retried,
// transient). Broken packages and a full disk map to their codes.
func TestE2EInstallLockAndFailures(t *testing.T) {
	sim := sshtest.BuildSim(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.deb")
	broken := filepath.Join(dir, "broken.deb")
	full := filepath.Join(dir, "full.deb")
	for _, w := range []struct{ path, fail string }{{good, ""}, {broken, "broken"}, {full, "no-space"}} {
		if err := sshtest.WriteFakePackage(w.path, "1.55", sim, w.fail); err != nil {
			t.Fatal(err)
		}
	}
	oldWait, oldPoll := agent.PackageLockWait, agent.SetPackagePoll(time.Second)
	agent.PackageLockWait = 8 * time.Second
	t.Cleanup(func() { agent.PackageLockWait = oldWait; agent.SetPackagePoll(oldPoll) })
	f, p := installFleet(t, 4, sshtest.LoginTest, good, agent.ActionInstall, func(h *inventory.Host) {
		switch h.Name {
		case "host-3":
			h.Agent.Package.Deb = broken
		case "host-4":
			h.Agent.Package.Deb = full
		}
	})
	// host-1: held 3 s (within the 8 s bound); host-2: held for a minute.
	if err := f.Hosts[0].HoldPackageLock(time.Now().Add(3 * time.Second).Unix()); err != nil {
		t.Fatal(err)
	}
	if err := f.Hosts[1].HoldPackageLock(time.Now().Add(time.Minute).Unix()); err != nil {
		t.Fatal(err)
	}
	p.Retry = inventory.Retry{MaxAttempts: 2}
	x := e2eExecutor()
	rep, err := x.Apply(context.Background(), p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		out  results.Outcome
		code string
	}{
		"host-1": {results.OutcomeOK, ""},
		"host-2": {results.OutcomeFailed, "HOST-PACKAGE-LOCK"},
		"host-3": {results.OutcomeFailed, "HOST-PACKAGE-UNREADABLE"},
		"host-4": {results.OutcomeFailed, "HOST-INSTALL-NO-SPACE"},
	}
	for name, w := range want {
		r := exResult(rep, name)
		if r.Outcome != w.out || (w.code != "" && r.FinalCode != w.code) {
			t.Errorf("%s: %s %s (want %s %s) %s %v", name, r.Outcome, r.FinalCode, w.out, w.code, r.Detail, r.Evidence)
		}
	}
	if n := countCalls(f.Hosts[0].PackageCalls(), "dpkg -i"); n < 2 {
		t.Errorf("host-1: dpkg -i ran %d times: the lock was not waited for", n)
	}
	if n := len(exResult(rep, "host-2").Attempts); n < 2 {
		t.Errorf("host-2: %d attempts: the transient lock failure was not retried", n)
	}
	if n := len(exResult(rep, "host-3").Attempts); n != 1 {
		t.Errorf("host-3: %d attempts for a broken package", n)
	}
}

// Upgrade: the operator's newer package over an installed agent, then again:
// skipped.
func TestE2EUpgradePackage(t *testing.T) {
	sim := sshtest.BuildSim(t)
	dir := t.TempDir()
	oldPkg, newPkg := filepath.Join(dir, "old.deb"), filepath.Join(dir, "new.deb")
	if err := sshtest.WriteFakePackage(oldPkg, "1.50.1", sim, ""); err != nil {
		t.Fatal(err)
	}
	if err := sshtest.WriteFakePackage(newPkg, "1.60.2", sim, ""); err != nil {
		t.Fatal(err)
	}
	f, p := installFleet(t, 1, sshtest.LoginSudo, oldPkg, agent.ActionInstall, nil)
	if r := exResult(applyOnce(t, p), "host-1"); r.Outcome != results.OutcomeOK {
		t.Fatalf("install: %s %s %s", r.Outcome, r.FinalCode, r.Detail)
	}
	h := p.Hosts[0].Host
	h.Agent.Package.Deb = newPkg
	up := *p
	up.Action = agent.ActionUpgrade
	up.Hosts = []plan.HostPlan{{Host: h, Steps: agent.HostSteps(&h, agent.ActionUpgrade), Recovery: p.Hosts[0].Recovery}}
	r := exResult(applyOnce(t, &up), "host-1")
	if r.Outcome != results.OutcomeOK || !strings.Contains(r.Detail, "upgraded to 1.60.2") {
		t.Fatalf("upgrade: %s %s %q %v", r.Outcome, r.FinalCode, r.Detail, r.Evidence)
	}
	r = exResult(applyOnce(t, &up), "host-1")
	if r.Outcome != results.OutcomeUnchanged {
		t.Fatalf("second upgrade: %s %s %q", r.Outcome, r.FinalCode, r.Detail)
	}
	if n := countCalls(f.Hosts[0].PackageCalls(), "dpkg -i"); n != 2 {
		t.Errorf("dpkg -i ran %d times, want 2: %q", n, f.Hosts[0].PackageCalls())
	}
}

// An .rpm through the fake rpm, as root, waiting for rpm's transaction lock.
func TestE2EInstallRPMLockWait(t *testing.T) {
	sim := sshtest.BuildSim(t)
	pkg := filepath.Join(t.TempDir(), "azcmagent-1.56.0-1.x86_64.rpm")
	if err := sshtest.WriteFakePackage(pkg, "1.56.0", sim, ""); err != nil {
		t.Fatal(err)
	}
	oldWait, oldPoll := agent.PackageLockWait, agent.SetPackagePoll(time.Second)
	agent.PackageLockWait = 20 * time.Second
	t.Cleanup(func() { agent.PackageLockWait = oldWait; agent.SetPackagePoll(oldPoll) })
	f, p := installFleet(t, 1, sshtest.LoginRoot, "", agent.ActionInstall, func(h *inventory.Host) { h.Agent.Package.RPM = pkg })
	if err := f.Hosts[0].HoldPackageLock(time.Now().Add(3 * time.Second).Unix()); err != nil {
		t.Fatal(err)
	}
	r := exResult(applyOnce(t, p), "host-1")
	if r.Outcome != results.OutcomeOK || !strings.Contains(r.Detail, "agent 1.56.0 installed") {
		t.Fatalf("%s %s %q %v", r.Outcome, r.FinalCode, r.Detail, r.Evidence)
	}
	calls := f.Hosts[0].PackageCalls()
	if n := countCalls(calls, "rpm -U"); n < 2 {
		t.Errorf("rpm -U ran %d times: the lock was not waited for: %q", n, calls)
	}
	if countCalls(calls, "dpkg") != 0 {
		t.Errorf("dpkg ran for an .rpm: %q", calls)
	}
}

// Upgrade without a package on an agent that has `azcmagent upgrade` (1.62+):
// the agent's own command, with --version from agent.min_version; an agent
// already at that version is left alone.
func TestE2EUpgradeCommand(t *testing.T) {
	sim := sshtest.BuildSim(t)
	pkg := filepath.Join(t.TempDir(), "agent.deb")
	if err := sshtest.WriteFakePackage(pkg, "1.62.1", sim, ""); err != nil {
		t.Fatal(err)
	}
	f, p := installFleet(t, 1, sshtest.LoginSudo, pkg, agent.ActionInstall, nil)
	if r := exResult(applyOnce(t, p), "host-1"); r.Outcome != results.OutcomeOK {
		t.Fatalf("install: %s %s %s %v", r.Outcome, r.FinalCode, r.Detail, r.Evidence)
	}
	h := p.Hosts[0].Host
	h.Agent.Package = inventory.AgentPackage{}
	h.Agent.MinVersion = "1.63"
	up := *p
	up.Action = agent.ActionUpgrade
	up.Hosts = []plan.HostPlan{{Host: h, Steps: agent.HostSteps(&h, agent.ActionUpgrade), Recovery: p.Hosts[0].Recovery}}
	if s := up.Hosts[0].Steps[0]; s.Package != nil || !strings.Contains(s.Script, `upgrade --version "$m"`) {
		t.Fatalf("upgrade step: %+v", s.Package)
	}
	r := exResult(applyOnce(t, &up), "host-1")
	if r.Outcome != results.OutcomeOK || !strings.Contains(r.Detail, "upgraded to 1.63.0") {
		t.Fatalf("upgrade: %s %s %q %v", r.Outcome, r.FinalCode, r.Detail, r.Evidence)
	}
	if r := exResult(applyOnce(t, &up), "host-1"); r.Outcome != results.OutcomeUnchanged {
		t.Fatalf("second upgrade: %s %s %q", r.Outcome, r.FinalCode, r.Detail)
	}
	if n := countCalls(f.Hosts[0].PackageCalls(), "dpkg -i"); n != 1 {
		t.Errorf("dpkg -i ran %d times, want 1 (the upgrade is the agent's own): %q", n, f.Hosts[0].PackageCalls())
	}
}
