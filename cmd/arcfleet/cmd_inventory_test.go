package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

func inventoryEnv(vars map[string]string) (*env, *bytes.Buffer, *bytes.Buffer) {
	var so, se bytes.Buffer
	return &env{stdin: strings.NewReader(""), stdout: &so, stderr: &se,
		getenv: func(k string) string { return vars[k] }}, &so, &se
}

func TestInventoryImportAnsible(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "hosts.ini")
	if err := os.WriteFile(src, []byte(`[web]
web[01:03].corp.example ansible_user=deploy ansible_password=HUNTER2-never-print
[win]
win01 ansible_host=10.0.0.5 ansible_connection=winrm ansible_user=Administrator
[web:vars]
ansible_become=true
ntp_server=ntp.example
`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "arcfleet.yaml")
	e, so, se := inventoryEnv(nil)
	args := []string{"inventory", "import", "ansible", src, "-o", out, "--azure-subscription", "11111111-2222-3333-4444-555555555555",
		"--azure-resource-group", "rg-arc", "--azure-location", "westeurope", "--azure-tenant", "66666666-7777-8888-9999-000000000000"}
	if code := run(context.Background(), e, args); code != exitOK {
		t.Fatalf("exit %d\n%s", code, se)
	}
	for _, s := range []string{"Converted 4 hosts (1 Windows over WinRM)", "ntp_server: no arcfleet equivalent: not carried over: group web (" + src + ":7)",
		"ansible_password: a password", "Next: review it, then arcfleet validate -i " + out} {
		if !strings.Contains(se.String(), s) {
			t.Errorf("stderr lacks %q:\n%s", s, se)
		}
	}
	data, _ := os.ReadFile(out)
	if so.Len() != 0 || strings.Contains(se.String()+string(data), "HUNTER2") {
		t.Fatalf("stdout %q; a password in the output", so)
	}
	// The converted file validates once the hosts' keys are in known_hosts (the
	// Windows password is read from the environment).
	home := t.TempDir()
	t.Setenv("HOME", home)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := ssh.NewPublicKey(pub)
	var kh strings.Builder
	for _, h := range []string{"web01.corp.example", "web02.corp.example", "web03.corp.example"} {
		kh.WriteString(knownhosts.Line([]string{h}, sk) + "\n")
	}
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), []byte(kh.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	e, so, se = inventoryEnv(map[string]string{"ARCFLEET_WINRM_PASSWORD": "x"})
	if code := run(context.Background(), e, []string{"validate", "-i", out}); code != exitOK {
		t.Fatalf("validate of the converted inventory: exit %d\n%s%s\n%s", code, so, se, data)
	}
	// Not replaced.
	e, _, se = inventoryEnv(nil)
	if code := run(context.Background(), e, args); code != exitInvalid || !strings.Contains(se.String(), "choose another -o path") {
		t.Errorf("existing -o: exit %d\n%s", code, se)
	}
	// To stdout; the runInventory entry point.
	e, so, _ = inventoryEnv(nil)
	if code := runInventory(context.Background(), e, []string{"import", "ansible", src}); code != exitOK || !strings.HasPrefix(so.String(), "# Converted from the Ansible inventory") {
		t.Errorf("stdout: exit %d\n%s", code, so)
	}
	for _, bad := range [][]string{{"inventory"}, {"inventory", "import", "chef", src}, {"inventory", "import", "ansible"}, {"inventory", "import", "ansible", filepath.Join(dir, "nope")}} {
		e, _, se = inventoryEnv(nil)
		if code := run(context.Background(), e, bad); code != exitInvalid || se.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q", bad, code, se)
		}
	}
	e, so, _ = inventoryEnv(nil)
	if code := run(context.Background(), e, []string{"inventory", "import", "ansible", "--help"}); code != exitOK || !strings.Contains(so.String()+se.String(), "--azure-subscription") {
		t.Errorf("help: exit %d\n%s", code, so)
	}
}

// An Ansible inventory given to arcfleet says how to convert it.
func TestInventoryAnsibleGivenToValidate(t *testing.T) {
	src := filepath.Join(t.TempDir(), "inventory.yml")
	if err := os.WriteFile(src, []byte("all:\n  hosts:\n    web01:\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e, _, se := inventoryEnv(nil)
	if code := run(context.Background(), e, []string{"validate", "-i", src}); code != exitInvalid ||
		!strings.Contains(se.String(), "this looks like an Ansible inventory") || !strings.Contains(se.String(), "arcfleet inventory import ansible "+src) {
		t.Errorf("exit %d\n%s", code, se)
	}
}

// A jump host that is not a fleet member is carried by the plan for dialing
// only; values from ssh_config are shown with their line.
func TestInventoryJumpHostAndSSHConfigInPlan(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "id")
	if err := os.WriteFile(key, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "ssh_config")
	if err := os.WriteFile(cfg, []byte("# fleet\nHost web01\n    User arcadmin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	inv := filepath.Join(dir, "inv.yaml")
	if err := os.WriteFile(inv, []byte(`version: 1
azure: {subscription_id: 11111111-2222-3333-4444-555555555555, resource_group: rg, location: westeurope}
credentials:
  sp: {client_id: 11111111-2222-3333-4444-555555555555, tenant_id: 66666666-7777-8888-9999-000000000000, secret: {env: SP_SECRET}}
defaults:
  credential: sp
  ssh: {identity_file: `+key+`, config_file: `+cfg+`, host_key_policy: accept-new}
jump_hosts:
  bastion: {address: 192.0.2.10, ssh: {user: jump}}
hosts:
  - name: web01
    ssh: {via: bastion}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	e, so, se := inventoryEnv(map[string]string{"SP_SECRET": "s", "COLUMNS": "200"})
	planFile := filepath.Join(dir, "plan.json")
	if code := run(context.Background(), e, []string{"plan", "-i", inv, "--action", "connect", "-o", planFile}); code != exitOK {
		t.Fatalf("plan: exit %d\n%s%s", code, so, se)
	}
	if s := so.String(); !strings.Contains(s, "via bastion") || !strings.Contains(s, "user arcadmin ("+cfg+":3)") {
		t.Errorf("plan output lacks the via or the ssh_config origin:\n%s", s)
	}
	data, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Hosts []struct {
			Host inventory.Host `json:"host"`
		} `json:"hosts"`
		JumpHosts []inventory.Host `json:"jump_hosts"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Hosts) != 1 || p.Hosts[0].Host.Name != "web01" || len(p.JumpHosts) != 1 || p.JumpHosts[0].Name != "bastion" || p.JumpHosts[0].Address != "192.0.2.10" {
		t.Errorf("plan hosts %+v, jump hosts %+v", p.Hosts, p.JumpHosts)
	}
	e, _, se = inventoryEnv(nil)
	if code := run(context.Background(), e, []string{"plan", "-i", inv, "--action", "connect", "--limit", "bastion"}); code == exitOK {
		t.Errorf("--limit bastion planned the jump host\n%s", se)
	}
}
