package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/plan"
)

// plan --probe on real sshd hosts summarises by verdict: with an empty
// known_hosts and the strict policy every probe fails host-key verification, and
// the plan says so (it used to say "5 ready, 0 blocked"); with the keys known,
// fresh hosts are "to connect"; once connected, "No changes.". The detailed exit
// code follows: 1 (only blocked hosts), 2 (changes), 0 (no changes).
func TestPlanProbeSummaryRealHosts(t *testing.T) {
	f := startFleet(t, "ps", 5, 0)
	f.writeScenario("", nil)
	inv := f.writeInventory(invOpts{})
	good, err := os.ReadFile(f.ssh.KnownHostsFile)
	if err != nil {
		t.Fatal(err)
	}

	// No host key known.
	if err := os.WriteFile(f.ssh.KnownHostsFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := f.run("plan", "-i", inv, "--action", "connect", "--probe", "--detailed-exitcode").expect(t, plan.ExitError)
	first := planHeadline(r.stdout)
	if want := "arcfleet plan: connect of 5 hosts: 5 blocked: host key not verified. Nothing apply can change until the blocked hosts are fixed."; first != want {
		t.Errorf("all probes refused by known_hosts:\n got: %s\nwant: %s", first, want)
	}
	if strings.Contains(r.stdout, "ready") {
		t.Errorf("the plan calls hosts whose key is unknown ready:\n%s", r.stdout)
	}

	// Keys known, agents disconnected.
	if err := os.WriteFile(f.ssh.KnownHostsFile, good, 0o600); err != nil {
		t.Fatal(err)
	}
	r = f.run("plan", "-i", inv, "--action", "connect", "--probe", "--detailed-exitcode").expect(t, plan.ExitChanges)
	if first := planHeadline(r.stdout); first != "arcfleet plan: connect of 5 hosts: 5 to connect" {
		t.Errorf("fresh hosts: %s", first)
	}

	// Every agent connected to the inventory's target by apply.
	f.run("apply", "-i", inv, "--action", "connect", "--yes", "--run-dir", filepath.Join(f.Dir, "run")).expect(t, exitOK)
	r = f.run("plan", "-i", inv, "--action", "connect", "--probe", "--detailed-exitcode", "--format", "markdown").expect(t, plan.ExitNoChanges)
	if !strings.Contains(r.stdout, "| Hosts | 5: **5 already connected. No changes.** |") || !strings.Contains(r.stderr, "arcfleet plan: 5 already connected. No changes.") {
		t.Errorf("connected hosts:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
	}
}

// planHeadline is the table plan's first line, unwrapped (it wraps at the width).
func planHeadline(out string) string {
	var parts []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "inventory ") || l == "" {
			break
		}
		parts = append(parts, strings.TrimSpace(l))
	}
	return strings.Join(parts, " ")
}
