package inventory

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mustParse parses src as "inv.yaml" and fails the test on error.
func mustParse(t testing.TB, src string) *Inventory {
	t.Helper()
	inv, err := Parse("inv.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return inv
}

// errLines parses src and returns its errors, one string each.
func errLines(t *testing.T, src string) []string {
	t.Helper()
	inv, err := Parse("inv.yaml", []byte(src))
	if err == nil {
		t.Fatalf("Parse succeeded, want errors (hosts: %d)", len(inv.Hosts))
	}
	if inv != nil {
		t.Errorf("Parse returned an inventory together with errors")
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T, want Errors", err)
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Error()
	}
	return out
}

const (
	hostOnly  = "version: 1\nhosts:\n  - name: a\n"
	indentFix = "fix: indent it like the keys it belongs with (spaces, not tabs), or nest it under a key ending in ':'"
	syntaxFix = "fix: check indentation and quoting from this line on (indent with spaces, not tabs; quote values containing ': ' or ' #')"
)

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // every error, exactly
	}{
		{"empty file", "", []string{
			"inv.yaml:1:1: the inventory is empty; fix: start with `version: 1` and list hosts under `hosts:` (see docs/inventory.md)"}},
		{"only a comment", "# nothing\n", []string{
			"inv.yaml:1:1: the inventory is empty; fix: start with `version: 1` and list hosts under `hosts:` (see docs/inventory.md)"}},
		{"top level is a list", "- a\n- b\n", []string{
			"inv.yaml:1:1: expected a mapping at the top level, got a list; fix: start with `version: 1` (see docs/inventory.md)"}},
		// yaml.v3 reports the line where the enclosing block starts ("hosts:",
		// "defaults:"); the error names the line indented wrongly instead.
		{"syntax error", "version: 1\nhosts:\n  - name: a\n   bad: [\n", []string{
			"inv.yaml:4:4: YAML indentation error: this line is indented 3 spaces, which matches no enclosing block here (4, 2 or 0 spaces would) (yaml: did not find expected '-' indicator); " + indentFix}},
		{"key under-indented in defaults", "version: 1\ndefaults:\n  ssh:\n    user: root\n   identity_file: x\nhosts:\n  - name: a\n", []string{
			"inv.yaml:5:4: YAML indentation error: this line is indented 3 spaces, which matches no enclosing block here (4, 2 or 0 spaces would) (yaml: did not find expected key); " + indentFix}},
		{"key over-indented in defaults", "version: 1\ndefaults:\n  ssh:\n    user: root\n     identity_file: x\nhosts:\n  - name: a\n", []string{
			"inv.yaml:5:6: YAML indentation error: this line is indented 5 spaces, which matches no enclosing block here (4, 2 or 0 spaces would) (yaml: mapping values are not allowed in this context); " + indentFix}},
		{"host key between two others", "version: 1\nhosts:\n  - name: a\n    address: b\n   os: linux\n  - name: c\n", []string{
			"inv.yaml:5:4: YAML indentation error: this line is indented 3 spaces, which matches no enclosing block here (4, 2 or 0 spaces would) (yaml: did not find expected '-' indicator); " + indentFix}},
		{"host key at the items' indentation", "version: 1\nhosts:\n  - name: a\n    ssh:\n      user: u\n  address: b\n", []string{
			"inv.yaml:6:3: YAML indentation error: this line is indented 2 spaces like the list's \"- \" items, but is not one (yaml: did not find expected '-' indicator); " +
				"fix: indent it 4 spaces to belong to the item above, or start a new item with \"- \""}},
		{"block scalar and comments before the culprit", "version: 1\n# c\ndefaults:\n  agent:\n    path: |\n      x\n       y\n    log: z # c: d\n   ssh: {}\nhosts:\n  - name: a\n", []string{
			"inv.yaml:9:4: YAML indentation error: this line is indented 3 spaces, which matches no enclosing block here (4, 2 or 0 spaces would) (yaml: did not find expected key); " + indentFix}},
		{"tab indentation", "version: 1\nhosts:\n\t- name: a\n", []string{
			"inv.yaml:3:1: YAML syntax error at or after this line: found character that cannot start any token; " + syntaxFix}},
		{"mapping value in a plain scalar", "version: 1\nhosts:\n  - name: a: b\n", []string{
			"inv.yaml:3:1: YAML syntax error at or after this line: mapping values are not allowed in this context; " + syntaxFix}},
		{"unknown anchor", "version: 1\nhosts:\n  - name: a\n    ssh: *common\n", []string{
			"inv.yaml:4:10: YAML syntax error at or after this line: unknown anchor 'common' referenced; " + syntaxFix}},
		{"two documents", hostOnly + "---\nversion: 1\n", []string{
			"inv.yaml:4:1: YAML syntax error at or after this line: a second YAML document starts here (after ---); " + syntaxFix}},
		{"missing version", "hosts:\n  - name: a\n", []string{
			"inv.yaml:1:1: version: missing version; fix: add `version: 1` as the first line"}},
		{"version 2", "version: 2\nhosts:\n  - name: a\n  - bogus: 1\n", []string{
			"inv.yaml:1:10: version: unsupported inventory version 2; fix: this arcfleet reads version: 1; upgrade arcfleet or convert the file"}},
		{"version is a string", "version: \"1\"\nhosts:\n  - name: a\n", []string{
			"inv.yaml:1:10: version: expected a whole number, got a string; fix: write a number without quotes"}},
		{"no hosts key", "version: 1\n", []string{
			"inv.yaml:1:1: hosts: no hosts: the fleet is empty; fix: add a `hosts:` list with at least one `- name: ...` entry"}},
		{"empty hosts list", "version: 1\nhosts: []\n", []string{
			"inv.yaml:2:8: hosts: no hosts: the fleet is empty; fix: add at least one `- name: ...` entry"}},
		{"hosts with nothing under it", "version: 1\nhosts:\n# none yet\n", []string{
			"inv.yaml:2:7: hosts: no hosts: the fleet is empty; fix: add at least one `- name: ...` entry"}},
		{"hosts is a mapping", "version: 1\nhosts:\n  a: {}\n", []string{
			"inv.yaml:3:3: hosts: expected a list of hosts, got a mapping; fix: write one `- name: ...` entry per host"}},
		{"unknown top-level key", hostOnly + "defualts: {}\n", []string{
			"inv.yaml:4:1: defualts: unknown key \"defualts\"; fix: did you mean \"defaults\"? (valid keys here: version, azure, credentials, defaults, retry, groups, jump_hosts, hosts)"}},
		{"duplicate key", hostOnly + "hosts: []\n", []string{
			"inv.yaml:4:1: hosts: duplicate key \"hosts\" (first set on line 2); fix: keep one of them"}},
		{"merge key", "version: 1\nhosts:\n  - <<: {name: a}\n", []string{
			"inv.yaml:3:5: hosts[0]: YAML merge keys (<<) are not supported; fix: share settings through defaults: or groups:",
			"inv.yaml:3:5: hosts[0].name: host has no name; fix: add `name: HOSTNAME` (also used as the address unless address: is given)"}},
		{"host without name", "version: 1\nhosts:\n  - address: 10.0.0.1\n", []string{
			"inv.yaml:3:5: hosts[0].name: host has no name; fix: add `name: HOSTNAME` (also used as the address unless address: is given)"}},
		{"host is a string", "version: 1\nhosts:\n  - web01\n", []string{
			"inv.yaml:3:5: hosts[0]: expected a host mapping, got a string; fix: write `- name: web01` followed by its settings"}},
		{"invalid host name", "version: 1\nhosts:\n  - name: \"web 01\"\n", []string{
			"inv.yaml:3:11: hosts[0].name: host web 01: invalid host name; fix: use letters, digits, '.', '_' and '-', starting with a letter or digit (put an IP or FQDN with other characters in address:)"}},
		{"host name with glob character", "version: 1\nhosts:\n  - name: \"web*\"\n", []string{
			"inv.yaml:3:11: hosts[0].name: host web*: invalid host name; fix: use letters, digits, '.', '_' and '-', starting with a letter or digit (put an IP or FQDN with other characters in address:)"}},
		{"duplicate host name", "version: 1\nhosts:\n  - name: a\n  - name: a\n    address: 10.0.0.2\n", []string{
			"inv.yaml:4:11: hosts[1].name: host a: duplicate host name (first at inv.yaml:3:5); fix: give every host a unique name"}},
		{"same address and port", "version: 1\nhosts:\n  - name: a\n    address: 10.0.0.1\n  - name: b\n    address: 10.0.0.1\n", []string{
			"inv.yaml:6:14: hosts[1].address: host b: same address and port (10.0.0.1:22) as host a (inv.yaml:3:5); fix: remove the duplicate entry, or give each a distinct address or port"}},
		{"address equals another host's name", "version: 1\nhosts:\n  - name: a\n  - name: b\n    address: A\n", []string{
			"inv.yaml:5:14: hosts[1].address: host b: same address and port (A:22) as host a (inv.yaml:3:5); fix: remove the duplicate entry, or give each a distinct address or port"}},
		{"address with port", "version: 1\nhosts:\n  - name: a\n    address: \"10.0.0.1 22\"\n", []string{
			"inv.yaml:4:14: hosts[0].address: host a: invalid address \"10.0.0.1 22\"; fix: give a DNS name or IP address without spaces, brackets, scheme or port (use port: for the port)"}},
		{"unknown host key", "version: 1\nhosts:\n  - name: a\n    adress: x\n", []string{
			"inv.yaml:4:5: hosts[0].adress: host a: unknown key \"adress\"; fix: did you mean \"address\"? (valid keys here: name, address, groups, resource_name, os, transport, port, credential, azure, tags, ssh, winrm, agent, agent_config)"}},
		{"port is a string", "version: 1\nhosts:\n  - name: a\n    port: \"22\"\n", []string{
			"inv.yaml:4:11: hosts[0].port: host a: expected a whole number, got a string; fix: write a number without quotes"}},
		{"port out of range", "version: 1\nhosts:\n  - name: a\n    port: 70000\n", []string{
			"inv.yaml:4:11: hosts[0].port: host a: must be a whole number from 1 to 65535; fix: use a number from 1 to 65535"}},
		{"os unknown", "version: 1\nhosts:\n  - name: a\n    os: linxu\n", []string{
			"inv.yaml:4:9: hosts[0].os: host a: \"linxu\" is not a valid value; fix: did you mean \"linux\"? (one of: linux, windows)"}},
		{"null value", "version: 1\nhosts:\n  - name: a\n    address:\n", []string{
			"inv.yaml:4:13: hosts[0].address: host a: has no value; fix: give it a value or remove the key"}},
		{"bool where string expected is fine, list is not", "version: 1\nhosts:\n  - name: a\n    address: [x]\n", []string{
			"inv.yaml:4:14: hosts[0].address: host a: expected a string, got a list; fix: write a single value"}},
		{"use_agent as string", "version: 1\ndefaults:\n  ssh: {use_agent: \"yes\"}\nhosts:\n  - name: a\n", []string{
			"inv.yaml:3:20: defaults.ssh.use_agent: expected true or false, got a string; fix: write true or false without quotes"}},
		{"custom YAML tag", "version: 1\nhosts:\n  - name: a\n    address: !vault xyz\n", []string{
			"inv.yaml:4:14: hosts[0].address: host a: YAML tag !vault is not supported; fix: remove the tag"}},
		{"unknown group", "version: 1\ngroups:\n  web: {}\nhosts:\n  - name: a\n    groups: [wbe]\n", []string{
			"inv.yaml:6:14: hosts[0].groups: host a: unknown group \"wbe\"; fix: did you mean \"web\"? (or define it under groups:)"}},
		{"group listed twice", "version: 1\ngroups:\n  web: {}\nhosts:\n  - name: a\n    groups: [web, web]\n", []string{
			"inv.yaml:6:19: hosts[0].groups: host a: group \"web\" is listed twice; fix: list each group once"}},
		{"unknown credential", "version: 1\ncredentials:\n  sp-prod: {client_id: x, secret: {env: S}}\ndefaults:\n  credential: sp-prd\nhosts:\n  - name: a\n", []string{
			"inv.yaml:5:15: hosts[0].credential: host a: unknown credential \"sp-prd\"; fix: did you mean \"sp-prod\"? (or define it under credentials:)"}},
		{"unknown credential key", "version: 1\ncredentials:\n  sp: {client_id: x, secret: {env: S}, client_secret: {env: S}}\nhosts:\n  - name: a\n", []string{
			"inv.yaml:3:40: credentials.sp.client_secret: unknown key \"client_secret\"; fix: valid keys here: client_id, tenant_id, auth, token_from, secret, certificate"}},
		{"group key only hosts have", "version: 1\ngroups:\n  web: {address: x}\nhosts:\n  - name: a\n", []string{
			"inv.yaml:3:9: groups.web.address: unknown key \"address\"; fix: valid keys here: os, transport, port, credential, azure, tags, ssh, winrm, agent, agent_config"}},
		{"defaults cannot set port", "version: 1\ndefaults:\n  port: 22\nhosts:\n  - name: a\n", []string{
			"inv.yaml:3:3: defaults.port: unknown key \"port\"; fix: valid keys here: linux, windows, credential, ssh, winrm, agent, agent_config"}},
		{"unknown jump host", "version: 1\nhosts:\n  - name: a\n    ssh: {via: bastoin}\n  - name: bastion\n", []string{
			"inv.yaml:4:16: hosts[0].ssh.via: host a: unknown jump host \"bastoin\"; fix: did you mean \"bastion\"? (or add it under jump_hosts:)"}},
		{"jump host is itself", "version: 1\nhosts:\n  - name: a\n    ssh: {via: a}\n", []string{
			"inv.yaml:4:16: hosts[0].ssh.via: host a: a host cannot be its own jump host; fix: remove via: or name another host"}},
		{"jump host loop", "version: 1\nhosts:\n  - name: a\n    ssh: {via: b}\n  - name: b\n    ssh: {via: a}\n", []string{
			"inv.yaml:6:16: hosts[1].ssh.via: host b: jump hosts form a loop: a -> b -> a; fix: break the loop: one of these hosts must be reachable directly"}},
		{"jump chain too long", "version: 1\nhosts:\n  - name: a\n    ssh: {via: b}\n  - name: b\n    ssh: {via: c}\n  - name: c\n    ssh: {via: d}\n  - name: d\n    ssh: {via: e}\n  - name: e\n    ssh: {via: f}\n  - name: f\n", []string{
			"inv.yaml:4:16: hosts[0].ssh.via: host a: reached through 5 jump hosts in a row, more than the 4 arcfleet follows; fix: make one of the hosts on the chain reachable directly (remove its via:)"}},
		{"jump host over winrm", "version: 1\nhosts:\n  - name: a\n    ssh: {via: w}\n  - name: w\n    os: windows\n    winrm: {}\n", []string{
			"inv.yaml:4:16: hosts[0].ssh.via: host a: jump host \"w\" is not an SSH host; fix: name a host reached over SSH"}},
		{"winrm on linux", "version: 1\nhosts:\n  - name: a\n    transport: winrm\n", []string{
			"inv.yaml:4:16: hosts[0].transport: host a: WinRM is for Windows hosts; this host is linux; fix: use transport: ssh, or set os: windows if it is a Windows host"}},
		{"plain http without opt-in", "version: 1\nhosts:\n  - name: w\n    os: windows\n    winrm: {https: false}\n", []string{
			"inv.yaml:5:20: hosts[0].winrm.https: host w: https: false sends WinRM traffic in plain HTTP; fix: keep HTTPS (5986), or opt in explicitly with `allow_http: true` next to `https: false`"}},
		{"bad host key policy", "version: 1\ndefaults:\n  ssh: {host_key_policy: ignore}\nhosts:\n  - name: a\n", []string{
			"inv.yaml:3:26: defaults.ssh.host_key_policy: \"ignore\" is not a valid value; fix: use one of: strict, accept-new, fingerprint, insecure-ignore"}},
		{"template placeholder", "version: 1\nazure: {resource_name_template: \"{host}-arc\"}\nhosts:\n  - name: a\n", []string{
			"inv.yaml:2:33: azure.resource_name_template: unknown placeholder {host}; fix: use {name} (the host name) or {short} (the host name up to its first dot)"}},
		{"tag set twice in one entry", "version: 1\nhosts:\n  - name: a\n    tags: {Env: a}\n    azure: {tags: {Env: b}}\n", []string{
			"inv.yaml:5:20: hosts[0].azure.tags.Env: host a: tag \"Env\" is set twice here (first on line 4); fix: keep one of them"}},
		{"tags is a list", "version: 1\nhosts:\n  - name: a\n    tags: [a, b]\n", []string{
			"inv.yaml:4:11: hosts[0].tags: host a: expected a mapping of tag names to values, got a list; fix: write `Name: value` lines"}},
		{"retry delay without unit", "version: 1\nretry: {base_delay: 10}\nhosts:\n  - name: a\n", []string{
			"inv.yaml:2:21: retry.base_delay: a duration needs a unit; fix: write a duration such as 10s, 2m or 1h30m"}},
		{"retry max below base", "version: 1\nretry: {base_delay: 1m, max_delay: 10s}\nhosts:\n  - name: a\n", []string{
			"inv.yaml:2:36: retry.max_delay: max_delay is shorter than base_delay; fix: make max_delay at least base_delay"}},
		{"retry bad code", "version: 1\nretry:\n  codes: {AZCM64: {action: retry}}\nhosts:\n  - name: a\n", []string{
			"inv.yaml:3:11: retry.codes.AZCM64: \"AZCM64\" is not an AZCM code; fix: write the code as AZCM followed by four digits, e.g. AZCM0064"}},
		{"retry bad action", "version: 1\nretry:\n  codes: {AZCM0064: {action: restart}}\nhosts:\n  - name: a\n", []string{
			"inv.yaml:3:30: retry.codes.AZCM0064.action: \"restart\" is not a valid value; fix: use one of: retry, none, restart-agent-service, reconnect"}},
		{"secret as mapping with both", "version: 1\ncredentials:\n  sp: {secret: {env: A, file: /b}}\nhosts:\n  - name: a\n", []string{
			"inv.yaml:3:16: credentials.sp.secret: a secret reference names either env or file, not both; fix: keep one of env: and file:"}},
		{"secret reference empty", "version: 1\ncredentials:\n  sp: {secret: {}}\nhosts:\n  - name: a\n", []string{
			"inv.yaml:3:16: credentials.sp.secret: empty secret reference; fix: write {env: NAME} or {file: PATH}"}},
		{"secret env name invalid", "version: 1\ncredentials:\n  sp: {secret: {env: \"1 2\"}}\nhosts:\n  - name: a\n", []string{
			"inv.yaml:3:22: credentials.sp.secret.env: not a valid environment variable name (value not shown); fix: use letters, digits and _, not starting with a digit, e.g. ARC_SP_SECRET"}},
		{"credential name invalid", "version: 1\ncredentials:\n  \"sp prod\": {}\nhosts:\n  - name: a\n", []string{
			"inv.yaml:3:3: credentials.sp prod: invalid credential name \"sp prod\"; fix: use letters, digits, '.', '_' and '-'"}},
		{"groups is a list", "version: 1\ngroups: [web]\nhosts:\n  - name: a\n", []string{
			"inv.yaml:2:9: groups: expected a mapping of group names, got a list; fix: write `groups: {web: {tags: {role: web}}}`"}},
		{"ssh is a string", "version: 1\nhosts:\n  - name: a\n    ssh: root\n", []string{
			"inv.yaml:4:10: hosts[0].ssh: host a: expected a mapping, got a string; fix: write it as `key: value` lines indented under ssh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := errLines(t, tt.src)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(tt.want, "\n      "))
			}
		})
	}
}

// A literal secret is refused wherever a secret goes, and never echoed back.
func TestLiteralSecretNeverEchoed(t *testing.T) {
	const sentinel = "S3NT1NEL-hunter2"
	places := []struct {
		name, src, path string
		literal         bool // the fix must say how to reference a secret
	}{
		{"credential secret", "version: 1\ncredentials:\n  sp: {client_id: x, secret: S3NT1NEL-hunter2}\nhosts:\n  - name: a\n", "inv.yaml:3:30: credentials.sp.secret: ", true},
		{"ssh password", "version: 1\nhosts:\n  - name: a\n    ssh: {password: S3NT1NEL-hunter2}\n", "inv.yaml:4:21: hosts[0].ssh.password: host a: ", true},
		{"ssh passphrase quoted", "version: 1\ndefaults:\n  ssh:\n    passphrase: \"S3NT1NEL-hunter2\"\nhosts:\n  - name: a\n", "inv.yaml:4:17: defaults.ssh.passphrase: ", true},
		{"winrm password number", "version: 1\ngroups:\n  w:\n    winrm: {password: 12345678}\nhosts:\n  - name: a\n", "inv.yaml:4:23: groups.w.winrm.password: ", true},
		{"secret as a list", "version: 1\ncredentials:\n  sp: {secret: [S3NT1NEL-hunter2]}\nhosts:\n  - name: a\n", "inv.yaml:3:16: credentials.sp.secret: ", true},
		{"secret under an unknown key", "version: 1\ncredentials:\n  sp: {secret: {value: S3NT1NEL-hunter2}}\nhosts:\n  - name: a\n", "inv.yaml:3:17: credentials.sp.secret.value: ", false},
		{"secret pasted as env name", "version: 1\ncredentials:\n  sp: {secret: {env: \"S3NT1NEL-hunter2\"}}\nhosts:\n  - name: a\n", "inv.yaml:3:22: credentials.sp.secret.env: ", false},
	}
	for _, p := range places {
		t.Run(p.name, func(t *testing.T) {
			_, err := Parse("inv.yaml", []byte(p.src))
			if err == nil {
				t.Fatal("Parse accepted a literal secret")
			}
			msg := err.Error()
			if strings.Contains(msg, sentinel) || strings.Contains(msg, "12345678") {
				t.Fatalf("the literal secret appears in the error: %s", msg)
			}
			if !strings.HasPrefix(msg, p.path) {
				t.Errorf("error = %q, want prefix %q", msg, p.path)
			}
			if p.literal && (!strings.Contains(msg, "{env: ") || !strings.Contains(msg, "{file: ")) {
				t.Errorf("error does not say how to reference a secret: %s", msg)
			}
		})
	}
}

func TestErrorsAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nhosts:\n")
	for i := 0; i < 200; i++ {
		b.WriteString("  - name: h\n    bogus: 1\n")
	}
	got := errLines(t, b.String())
	if len(got) != maxErrors+1 {
		t.Fatalf("got %d errors, want %d (cap plus one line)", len(got), maxErrors+1)
	}
	if want := "inv.yaml: more than 50 errors; stopped checking; fix: fix the errors above and run validate again"; got[maxErrors] != want {
		t.Errorf("last line = %q, want %q", got[maxErrors], want)
	}
}

func TestLoadUnreadable(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "missing.yaml"))
	want := filepath.Join(dir, "missing.yaml") + ":1:1: cannot read inventory: no such file or directory; fix: check the path given with -i"
	if err == nil || err.Error() != want {
		t.Fatalf("Load(missing) = %v, want %q", err, want)
	}
	if os.Geteuid() != 0 { // root reads anything
		p := filepath.Join(dir, "secret.yaml")
		if err := os.WriteFile(p, []byte(hostOnly), 0o000); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), "fix: make the file readable by this user") {
			t.Fatalf("Load(unreadable) = %v", err)
		}
	}
}

func TestResolution(t *testing.T) {
	inv := mustParse(t, `version: 1
azure:
  tenant_id: T0
  subscription_id: S0
  resource_group: rg0
  location: westeurope
  resource_name_template: "{short}-arc"
  tags: {Env: prod, Owner: ops}
credentials:
  a: {client_id: CA, tenant_id: TA, secret: {env: A}}
  b: {client_id: CB, secret: {file: secrets/b.txt}}
defaults:
  credential: a
  ssh: {user: root, identity_file: keys/id, become: sudo}
  winrm: {user: admin, password: {env: WP}}
  linux:
    port: 2200
    tags: {Os: linux}
  windows:
    tags: {Os: windows}
groups:
  web:
    credential: b
    tags: {Role: web, Env: staging}
    ssh: {user: web}
  eu:
    azure: {location: northeurope, resource_group: rg-eu}
    ssh: {become: none, user: eu}
  win:
    os: windows
hosts:
  - name: web01.corp
    groups: [web, eu]
    tags: {Env: dev}
  - name: web02
    groups: [eu, web]
    port: 22
    resource_name: custom
  - name: w1
    groups: [win]
    winrm: {https: false, allow_http: true}
  - name: w2
    os: windows
    address: 10.1.1.1
    azure: {tenant_id: T9}
`)
	h := func(name string) *Host {
		x := inv.Host(name)
		if x == nil {
			t.Fatalf("host %s missing", name)
		}
		return x
	}
	web01, web02, w1, w2 := h("web01.corp"), h("web02"), h("w1"), h("w2")
	checks := []struct {
		what      string
		got, want any
	}{
		{"web01 os", web01.OS, "linux"},
		{"web01 transport", web01.Transport, "ssh"},
		{"web01 port from defaults.linux", web01.Port, 2200},
		{"web01 credential from group", web01.Credential, "b"},
		{"web01 tenant from azure (credential b has none)", web01.Azure.TenantID, "T0"},
		{"web01 location from later group", web01.Azure.Location, "northeurope"},
		{"web01 resource group", web01.Azure.ResourceGroup, "rg-eu"},
		{"web01 tags merged, host wins", web01.Azure.Tags, map[string]string{"Env": "dev", "Owner": "ops", "Os": "linux", "Role": "web"}},
		{"web01 resource name from template", web01.ResourceName, "web01-arc"},
		{"web01 ssh user from the later group", web01.SSH.User, "eu"},
		{"web01 become: none from later group", web01.SSH.Become, ""},
		{"web01 identity file relative to the inventory", web01.SSH.IdentityFile, "keys/id"},
		{"web01 known_hosts default", web01.SSH.KnownHosts, "~/.ssh/known_hosts"},
		{"web01 host key policy default", web01.SSH.HostKeyPolicy, "strict"},
		{"web01 address defaults to name", web01.Address, "web01.corp"},
		{"web01 no winrm settings", web01.WinRM, WinRM{}},
		{"web02 group order: web after eu", web02.SSH.User, "web"},
		{"web02 become none from group eu beats defaults", web02.SSH.Become, ""},
		{"web02 tags: group web's Env wins over azure.tags", web02.Azure.Tags["Env"], "staging"},
		{"web02 host port", web02.Port, 22},
		{"web02 resource_name beats template", web02.ResourceName, "custom"},
		{"w1 os from group", w1.OS, "windows"},
		{"w1 transport", w1.Transport, "winrm"},
		{"w1 http port", w1.Port, 5985},
		{"w1 https", w1.WinRM.HTTPS, false},
		{"w1 auth default", w1.WinRM.Auth, "ntlm"},
		{"w1 credential from defaults", w1.Credential, "a"},
		{"w1 tags", w1.Azure.Tags, map[string]string{"Env": "prod", "Owner": "ops", "Os": "windows"}},
		{"w1 no ssh settings", w1.SSH, SSH{}},
		{"w2 https default", w2.WinRM.HTTPS, true},
		{"w2 port", w2.Port, 5986},
		{"w2 tenant from host", w2.Azure.TenantID, "T9"},
		{"w2 winrm password ref", w2.WinRM.Password, SecretRef{Env: "WP"}},
		{"credential b file relative to inventory", inv.Credentials["b"].Secret, SecretRef{File: "secrets/b.txt"}},
		{"host order", []string{inv.Hosts[0].Name, inv.Hosts[3].Name}, []string{"web01.corp", "w2"}},
	}
	for _, c := range checks {
		if !equalJSON(t, c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.what, c.got, c.want)
		}
	}
	if inv.Host("nope") != nil {
		t.Error("Host(nope) != nil")
	}
}

func TestTenantFromCredential(t *testing.T) {
	inv := mustParse(t, "version: 1\ncredentials:\n  a: {tenant_id: TA}\nhosts:\n  - name: h\n    credential: a\n")
	if got := inv.Hosts[0].Azure.TenantID; got != "TA" {
		t.Errorf("tenant = %q, want TA (from the credential)", got)
	}
}

func TestRelativePathsFollowTheInventory(t *testing.T) {
	inv, err := Parse("conf/fleet.yaml", []byte("version: 1\ncredentials:\n  a: {secret: {file: sp.txt}}\ndefaults:\n  ssh: {identity_file: keys/id, known_hosts: /etc/kh}\n  winrm: {ca_file: ca.pem}\nhosts:\n  - name: h\n  - name: w\n    os: windows\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := inv.Credentials["a"].Secret.File; got != filepath.Join("conf", "sp.txt") {
		t.Errorf("secret file = %q", got)
	}
	if got := inv.Hosts[0].SSH.IdentityFile; got != filepath.Join("conf", "keys/id") {
		t.Errorf("identity file = %q", got)
	}
	if got := inv.Hosts[0].SSH.KnownHosts; got != "/etc/kh" {
		t.Errorf("absolute known_hosts changed: %q", got)
	}
	if got := inv.Hosts[1].WinRM.CAFile; got != filepath.Join("conf", "ca.pem") {
		t.Errorf("ca file = %q", got)
	}
}

// A section with only comments under it is empty, not an error.
func TestEmptySection(t *testing.T) {
	inv := mustParse(t, "version: 1\ndefaults:\n  agent:\n    # path: /x\nhosts:\n  - name: a\n    ssh:\n")
	if inv.Hosts[0].Agent != (Agent{}) || inv.Hosts[0].SSH.User != "" {
		t.Errorf("host = %+v", inv.Hosts[0])
	}
}

// Top-level x- keys hold YAML anchors; aliases to them are read like the original.
func TestAliasesAreFollowed(t *testing.T) {
	inv := mustParse(t, "version: 1\nx-common: &c {user: deploy, become: sudo}\nhosts:\n  - name: a\n    ssh: *c\n  - name: b\n    ssh: *c\n")
	for _, h := range inv.Hosts {
		if h.SSH.User != "deploy" || h.SSH.Become != "sudo" {
			t.Errorf("%s: ssh = %+v, want the aliased settings", h.Name, h.SSH)
		}
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatalf("marshal: %v %v", err1, err2)
	}
	return string(ja) == string(jb)
}
