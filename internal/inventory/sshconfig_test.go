package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// noUserSSHConfig keeps the tests away from the real ~/.ssh/config.
func noUserSSHConfig(t *testing.T) {
	t.Helper()
	old := DefaultSSHConfig
	DefaultSSHConfig = filepath.Join(t.TempDir(), "absent")
	t.Cleanup(func() { DefaultSSHConfig = old })
}

func writeFile(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSSHConfigFillsWhatTheInventoryLeaves(t *testing.T) {
	noUserSSHConfig(t)
	dir := t.TempDir()
	key := writeFile(t, filepath.Join(dir, "web.key"), "k")
	jkey := writeFile(t, filepath.Join(dir, "jump.key"), "k")
	inc := writeFile(t, filepath.Join(dir, "inc.conf"), "Host inc*\n  User included\n")
	cfg := writeFile(t, filepath.Join(dir, "ssh.conf"), fmt.Sprintf(`# arcfleet test
Include %s
Host web*
    User arcadmin
    Port 2222
    IdentityFile %s
Host db1
    HostName %%h.internal.example
    ProxyJump jumper@bastion.example:2200
Host bastion.example
    IdentityFile %s
    User ignored-hop-user
Match user root exec "true"
    User from-match
Host *
    User fallback
    ProxyCommand nc %%h %%p
    IdentityFile %s/missing.key
`, inc, key, jkey, dir))
	inv := mustParse(t, `version: 1
defaults:
  ssh: {config_file: `+cfg+`, use_agent: true}
hosts:
  - name: web01
  - name: web02
    port: 22
    ssh: {user: ops}
  - name: db1
  - name: inc1
`)
	web01, web02, db1, inc1 := inv.Host("web01"), inv.Host("web02"), inv.Host("db1"), inv.Host("inc1")
	if web01.SSH.User != "arcadmin" || web01.Port != 2222 || web01.SSH.IdentityFile != key || web01.Address != "web01" {
		t.Errorf("web01 = %+v port %d", web01.SSH, web01.Port)
	}
	wantOrigins := map[string]string{"user": cfg + ":4", "port": cfg + ":5", "identity_file": cfg + ":6"}
	if !reflect.DeepEqual(web01.SSH.Origins, wantOrigins) {
		t.Errorf("web01 origins = %v, want %v", web01.SSH.Origins, wantOrigins)
	}
	// The inventory's own values win; nothing said to come from ssh_config.
	if web02.SSH.User != "ops" || web02.Port != 22 || web02.SSH.Origins["user"] != "" || web02.SSH.Origins["port"] != "" {
		t.Errorf("web02 = %+v port %d", web02.SSH, web02.Port)
	}
	if db1.Address != "db1.internal.example" || db1.SSH.User != "fallback" || db1.SSH.Origins["address"] != cfg+":8" {
		t.Errorf("db1 = %s %+v", db1.Address, db1.SSH)
	}
	if inc1.SSH.User != "included" || inc1.SSH.Origins["user"] != cfg+":2 (Include)" {
		t.Errorf("inc1 = %+v", inc1.SSH)
	}
	// ProxyJump: a jump-only host, named as ProxyJump wrote it, never a fleet host.
	const hopName = "jumper@bastion.example:2200"
	if db1.SSH.Via != hopName || db1.SSH.Origins["via"] != cfg+":9" {
		t.Fatalf("db1 via %q (%v)", db1.SSH.Via, db1.SSH.Origins)
	}
	hop := inv.ViaHost(hopName)
	if hop == nil || inv.Host(hopName) != nil || len(inv.Hosts) != 4 {
		t.Fatalf("hop %v, fleet %d hosts", hop, len(inv.Hosts))
	}
	if hop.Address != "bastion.example" || hop.Port != 2200 || hop.SSH.User != "jumper" || hop.SSH.IdentityFile != jkey || !hop.SSH.UseAgent {
		t.Errorf("hop = %+v", hop)
	}
	if sel, _ := inv.Select("*"); len(sel) != 4 {
		t.Errorf("--limit '*' selects %d hosts, want the 4 fleet hosts", len(sel))
	}
	if _, err := inv.Select(hopName); err == nil {
		t.Errorf("--limit naming the hop selected it")
	}
	// Warnings name the file:line: the Match block, ProxyCommand (not for db1,
	// whose ProxyJump comes first), the missing IdentityFile (not for hosts with one).
	var got []string
	for _, f := range Validate(inv, []*Host{web01, db1}, "disconnect") {
		if f.Code == CodeSSHConfig {
			if !f.Warning {
				t.Errorf("not a warning: %v", f)
			}
			got = append(got, fmt.Sprintf("%s %d %s", f.Host, f.Pos.Line, f.Message[:strings.Index(f.Message, ";")]))
		}
	}
	want := []string{
		"web01 13 this Match block is not evaluated by arcfleet (only Match all is): its settings are not used",
		"web01 17 ProxyCommand is not supported by arcfleet: the host is dialed without it",
		"db1 13 this Match block is not evaluated by arcfleet (only Match all is): its settings are not used",
		fmt.Sprintf("db1 18 IdentityFile %s/missing.key: no such file or directory: not used", dir),
		hopName + " 13 this Match block is not evaluated by arcfleet (only Match all is): its settings are not used",
		hopName + " 17 ProxyCommand is not supported by arcfleet: the host is dialed without it",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ssh_config warnings:\n got %q\nwant %q", got, want)
	}
}

func TestSSHConfigOffAndMissing(t *testing.T) {
	noUserSSHConfig(t)
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "config"), "Host *\n  User fromconfig\n")
	base := "version: 1\nhosts:\n  - name: a\n"
	// A missing default file is no error and changes nothing (the digest of
	// inventories written before ssh_config support stays).
	plain := mustParse(t, base)
	if plain.Hosts[0].SSH.User != "" || plain.Hosts[0].SSH.Origins != nil {
		t.Errorf("no ssh_config: %+v", plain.Hosts[0].SSH)
	}
	DefaultSSHConfig = cfg
	if h := mustParse(t, base).Hosts[0]; h.SSH.User != "fromconfig" {
		t.Errorf("default ssh_config not read: %+v", h.SSH)
	}
	if d := mustParse(t, base).Digest; d == plain.Digest {
		t.Errorf("digest did not change with what ssh_config gave")
	}
	off := mustParse(t, "version: 1\ndefaults:\n  ssh: {config_file: none}\nhosts:\n  - name: a\n")
	if off.Hosts[0].SSH.User != "" {
		t.Errorf("config_file: none still read it: %+v", off.Hosts[0].SSH)
	}
	got := errLines(t, "version: 1\nhosts:\n  - name: a\n    ssh: {config_file: "+filepath.Join(dir, "nope")+"}\n")
	if len(got) != 1 || !strings.HasPrefix(got[0], "inv.yaml:4:24: hosts[0].ssh.config_file: host a: cannot read ssh_config ") ||
		!strings.Contains(got[0], "no such file") || !strings.Contains(got[0], "config_file: none") {
		t.Errorf("missing explicit ssh_config: %q", got)
	}
	bad := writeFile(t, filepath.Join(dir, "bad"), "Host a\n  Port twenty\n")
	got = errLines(t, "version: 1\nhosts:\n  - name: a\n    ssh: {config_file: "+bad+"}\n")
	if len(got) != 1 || !strings.HasPrefix(got[0], bad+":2:1: hosts[0].port: host a: ssh_config Port \"twenty\" is not a number") {
		t.Errorf("bad Port: %q", got)
	}
}

func TestJumpHosts(t *testing.T) {
	noUserSSHConfig(t)
	inv := mustParse(t, `version: 1
defaults:
  ssh: {user: ops, use_agent: true}
jump_hosts:
  bastion:
    address: 192.0.2.10
    port: 2222
    ssh: {user: jump, known_hosts: /etc/arcfleet/known_hosts}
  inner:
    ssh: {via: bastion}
hosts:
  - name: web01
    ssh: {via: inner}
  - name: web02
    ssh: {via: bastion}
`)
	if len(inv.Hosts) != 2 || len(inv.JumpHosts) != 2 {
		t.Fatalf("hosts %d, jump hosts %d", len(inv.Hosts), len(inv.JumpHosts))
	}
	b := inv.ViaHost("bastion")
	if b == nil || inv.Host("bastion") != nil || b.Address != "192.0.2.10" || b.Port != 2222 || b.SSH.User != "jump" ||
		!b.SSH.UseAgent || b.SSH.KnownHosts != "/etc/arcfleet/known_hosts" || b.Transport != "ssh" {
		t.Fatalf("bastion = %+v", b)
	}
	if in := inv.ViaHost("inner"); in == nil || in.Address != "inner" || in.SSH.Via != "bastion" || in.SSH.User != "ops" {
		t.Errorf("inner = %+v", in)
	}
	if sel, err := inv.Select("bastion"); err == nil {
		t.Errorf("--limit bastion selected %d hosts: a jump host is never a target", len(sel))
	}
	// Validation checks the jump hosts the selected hosts go through.
	inv2 := mustParse(t, "version: 1\njump_hosts:\n  bastion: {}\nhosts:\n  - name: a\n    ssh: {user: u, use_agent: true, via: bastion}\n")
	var msgs []string
	for _, f := range Validate(inv2, []*Host{&inv2.Hosts[0]}, "disconnect") {
		if f.Host == "bastion" {
			msgs = append(msgs, f.String())
		}
	}
	if want := []string{
		"inv.yaml:3:3: ARCF0005 bastion: jump host: no ssh.user; fix: set ssh.user in defaults, a group or the host",
		"inv.yaml:3:3: ARCF0005 bastion: jump host: no SSH login method; fix: set ssh.identity_file, ssh.use_agent: true or ssh.password: {env: NAME}",
	}; !reflect.DeepEqual(msgs, want) {
		t.Errorf("jump host findings:\n got %q\nwant %q", msgs, want)
	}
	// The files a run reads for the jump host are checked too.
	inv3 := mustParse(t, "version: 1\njump_hosts:\n  bastion: {ssh: {user: j, identity_file: /nonexistent/jump.key, host_key_policy: accept-new}}\nhosts:\n  - name: a\n    ssh: {user: u, use_agent: true, via: bastion, host_key_policy: accept-new}\n")
	if fs := CheckFiles(inv3, []*Host{&inv3.Hosts[0]}, t.TempDir()); len(fs) != 1 || fs[0].Pos.Line != 3 || !strings.Contains(fs[0].Message, "/nonexistent/jump.key") || !strings.Contains(fs[0].Message, "bastion") {
		t.Errorf("CheckFiles: %v", fs)
	}
	if inv2.Digest == mustParse(t, "version: 1\nhosts:\n  - name: a\n    ssh: {user: u, use_agent: true}\n").Digest {
		t.Errorf("digest ignores the jump host")
	}
}

func TestJumpHostsRejects(t *testing.T) {
	noUserSSHConfig(t)
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"name of a fleet host", "version: 1\njump_hosts:\n  a: {}\nhosts:\n  - name: a\n", []string{
			`inv.yaml:3:3: jump_hosts.a: host a: jump host "a" has the name of a host under hosts:; fix: rename it, or remove it from jump_hosts: and name the fleet host in via:`}},
		{"loop", "version: 1\njump_hosts:\n  j1: {ssh: {via: j2}}\n  j2: {ssh: {via: j1}}\nhosts:\n  - name: a\n    ssh: {via: j1}\n", []string{
			`inv.yaml:4:19: jump_hosts.j2.ssh.via: host j2: jump hosts form a loop: j1 -> j2 -> j1; fix: break the loop: one of these hosts must be reachable directly`}},
		{"unknown key", "version: 1\njump_hosts:\n  j1: {os: linux}\nhosts:\n  - name: a\n", []string{
			`inv.yaml:3:8: jump_hosts.j1.os: host j1: unknown key "os"; fix: did you mean "ssh"? (valid keys here: address, port, ssh)`}},
		{"too deep", "version: 1\njump_hosts:\n  j1: {ssh: {via: j2}}\n  j2: {ssh: {via: j3}}\n  j3: {ssh: {via: j4}}\n  j4: {ssh: {via: j5}}\n  j5: {}\nhosts:\n  - name: a\n    ssh: {via: j1}\n", []string{
			`inv.yaml:10:16: hosts[0].ssh.via: host a: reached through 5 jump hosts in a row, more than the 4 arcfleet follows; fix: make one of the hosts on the chain reachable directly (remove its via:)`}},
		{"ansible INI file", "# inventory\n[web]\nweb01 ansible_host=10.0.0.1\n", []string{
			`inv.yaml:2:1: this looks like an Ansible INI inventory ([group] sections), not an arcfleet one; fix: convert it with: arcfleet inventory import ansible inv.yaml -o inventory.yaml (docs/inventory.md)`}},
		{"ansible file", "all:\n  hosts:\n    web01:\n", []string{
			`inv.yaml:1:1: all: unknown key "all": this looks like an Ansible inventory, not an arcfleet one; fix: convert it with: arcfleet inventory import ansible inv.yaml -o inventory.yaml (docs/inventory.md)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errLines(t, tc.src); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestParseProxyJump(t *testing.T) {
	hs, err := parseProxyJump("a, ops@b:2200,ssh://c,[2001:db8::1]:22")
	if err != nil {
		t.Fatal(err)
	}
	want := []hop{{spec: "a", host: "a"}, {spec: "ops@b:2200", user: "ops", host: "b", port: 2200}, {spec: "ssh://c", host: "c"}, {spec: "[2001:db8::1]:22", host: "2001:db8::1", port: 22}}
	if !reflect.DeepEqual(hs, want) {
		t.Errorf("got %+v", hs)
	}
	for _, bad := range []string{"a:99999", "u@", ""} {
		if _, err := parseProxyJump(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestExpandTokens(t *testing.T) {
	got, err := expandTokens("/k/%h-%p-%r-100%%", map[byte]string{'h': "web", 'p': "22", 'r': "ops"})
	if err != nil || got != "/k/web-22-ops-100%" {
		t.Errorf("got %q, %v", got, err)
	}
	if _, err := expandTokens("%C", nil); err == nil {
		t.Errorf("%%C accepted")
	}
}

// Whatever ssh_config holds, loading an inventory that reads it returns an
// inventory or errors, never panics; values it gives pass the inventory's checks.
func FuzzSSHConfig(f *testing.F) {
	f.Add("Host web*\n  User ops\n  Port 2222\n  HostName %h.corp\n  ProxyJump a,ops@b:22\nMatch exec true\n  User x\n")
	f.Add("Host *\n ProxyCommand nc %h %p\n IdentityFile ~/.ssh/id_%r\n")
	f.Add("Host = a b\n User=\"q u\"\nInclude /nonexistent/*\n")
	f.Fuzz(func(t *testing.T, cfg string) {
		dir := t.TempDir()
		path := filepath.Join(dir, "c")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		inv, err := Parse("inv.yaml", []byte("version: 1\ndefaults:\n  ssh: {config_file: "+path+"}\nhosts:\n  - name: web01\n  - name: db\n"))
		if err != nil {
			return
		}
		for _, h := range append(append([]Host(nil), inv.Hosts...), inv.JumpHosts...) {
			if h.Port < 1 || h.Port > 65535 || h.Address == "" {
				t.Fatalf("host %+v", h)
			}
		}
	})
}
