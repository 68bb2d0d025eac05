package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Jump hosts that are not fleet members, on real sshd hosts: jh-1 is only a
// hop (a jump_hosts: entry for jh-2, a ProxyJump hop from ssh_config for jh-3):
// both are onboarded through it, the hop never runs an agent step, and once its
// sshd is stopped the hosts behind it are unreachable although their own sshd
// still runs.
func TestJumpHostNotAFleetMember(t *testing.T) {
	f := startFleet(t, "jh", 3, 0)
	f.writeScenario("slow: 10ms", nil)
	inv := f.writeInventory(invOpts{})
	hop, h2, h3 := f.Host("jh-1"), f.Host("jh-2"), f.Host("jh-3")
	data, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	entry := fmt.Sprintf("  - name: jh-1\n    address: %s\n    port: %d\n    agent: {path: %s, log: %s}\n", hop.Address, hop.Port, hop.Agent, hop.Log)
	if !strings.Contains(src, entry) {
		t.Fatalf("inventory layout changed:\n%s", src)
	}
	cfg := filepath.Join(f.Dir, "ssh_config")
	// jh-3 is matched by its address and reached through a hop ProxyJump names.
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("Host %s\n    ProxyJump %s@%s:%d\n", h3.Address, f.ssh.User, hop.Address, hop.Port)), 0o600); err != nil {
		t.Fatal(err)
	}
	src = strings.Replace(src, entry, "", 1)
	src = strings.Replace(src, "hosts:\n", fmt.Sprintf("jump_hosts:\n  bastion: {address: %s, port: %d}\nhosts:\n", hop.Address, hop.Port), 1)
	h2entry := fmt.Sprintf("  - name: jh-2\n    address: %s\n", h2.Address)
	src = strings.Replace(src, h2entry, h2entry+"    ssh: {via: bastion}\n", 1)
	src = strings.Replace(src, "defaults:\n  credential: sp\n", "defaults:\n  credential: sp\n  ssh: {config_file: "+cfg+"}\n", 1)
	if err := os.WriteFile(inv, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	hopName := fmt.Sprintf("%s@%s:%d", f.ssh.User, hop.Address, hop.Port)

	f.run("validate", "-i", inv).expect(t, exitOK)
	r := f.run("plan", "-i", inv, "--action", "connect").expect(t, exitOK)
	flat := strings.Join(strings.Fields(r.stdout), " ") // the table wraps long flags
	if !strings.Contains(flat, "via bastion") || !strings.Contains(flat, "via "+hopName+" ("+cfg+":2)") || strings.Contains(flat, "jh-1") {
		t.Errorf("plan:\n%s", r)
	}
	runDir := filepath.Join(f.Dir, "run1")
	f.run("apply", "-i", inv, "--action", "connect", "--yes", "--run-dir", runDir).expect(t, exitOK)
	acted := actionHosts(f.record())
	if !acted["jh-2"] || !acted["jh-3"] || acted["jh-1"] || len(acted) != 2 {
		t.Errorf("agent steps ran on %v, want jh-2 and jh-3 only", acted)
	}
	for _, n := range []string{"jh-2", "jh-3"} {
		if s := f.state(n); s.Status != "Connected" {
			t.Errorf("%s: %+v", n, s)
		}
	}
	if _, err := os.Stat(filepath.Join(hop.Root, "state.json")); err == nil {
		if s := f.state("jh-1"); s.Status == "Connected" || s.SuccessfulConnects != 0 {
			t.Errorf("the jump host was onboarded: %+v", s)
		}
	}

	// Without the hop, the hosts behind it cannot be reached: the runs went through it.
	if err := f.ssh.Host("jh-1").Stop(); err != nil {
		t.Fatal(err)
	}
	r = f.run("apply", "-i", inv, "--action", "connect", "--yes", "--run-dir", filepath.Join(f.Dir, "run2")).expect(t, exitHostsFailed)
	rep := readReport(t, filepath.Join(f.Dir, "run2"))
	if len(rep.Hosts) != 2 {
		t.Fatalf("report hosts: %d\n%s", len(rep.Hosts), r)
	}
	out := r.stdout + r.stderr
	for _, want := range []string{"jump host bastion", "jump host " + hopName} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not name %q:\n%s", want, r)
		}
	}
	f.assertNoSecrets()
}

// The login comes from ssh_config alone: the inventory names no user and no
// key; validate, plan (which says where each came from) and apply use the
// ssh_config's User and IdentityFile on real sshd hosts.
func TestSSHConfigLoginOnRealHosts(t *testing.T) {
	f := startFleet(t, "sc", 2, 0)
	f.writeScenario("slow: 10ms", nil)
	inv := f.writeInventory(invOpts{})
	data, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	login := fmt.Sprintf("user: %s, identity_file: %s, ", f.ssh.User, f.ssh.IdentityFile)
	if !strings.Contains(string(data), login) {
		t.Fatalf("inventory layout changed:\n%s", data)
	}
	cfg := filepath.Join(f.Dir, "ssh_config")
	h1, h2 := f.Host("sc-1"), f.Host("sc-2")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("# test fleet\nHost %s %s\n    User %s\n    IdentityFile %s\nHost *\n    User nobody-else\n",
		h1.Address, h2.Address, f.ssh.User, f.ssh.IdentityFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(data), login, "config_file: "+cfg+", ", 1)
	if err := os.WriteFile(inv, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	f.run("validate", "-i", inv).expect(t, exitOK)
	r := f.run("plan", "-i", inv, "--action", "connect").expect(t, exitOK)
	flat := strings.Join(strings.Fields(r.stdout), " ")
	for _, want := range []string{"user " + f.ssh.User + " (" + cfg + ":3)", "key " + f.ssh.IdentityFile + " (" + cfg + ":4)"} {
		if !strings.Contains(flat, want) {
			t.Errorf("plan lacks %q:\n%s", want, r)
		}
	}
	f.run("apply", "-i", inv, "--action", "connect", "--yes", "--run-dir", filepath.Join(f.Dir, "run")).expect(t, exitOK)
	for _, n := range []string{"sc-1", "sc-2"} {
		if s := f.state(n); s.Status != "Connected" {
			t.Errorf("%s: %+v", n, s)
		}
	}
}
