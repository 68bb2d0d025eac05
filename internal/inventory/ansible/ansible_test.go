package ansible

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

func TestExpandRange(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"web", []string{"web"}},
		{"web[01:03].corp", []string{"web01.corp", "web02.corp", "web03.corp"}},
		{"web[1:3]", []string{"web1", "web2", "web3"}},
		{"web[8:12]", []string{"web8", "web9", "web10", "web11", "web12"}},
		{"x[0:6:3]", []string{"x0", "x3", "x6"}},
		{"x[:2]", []string{"x0", "x1", "x2"}},
		{"db-[a:c]", []string{"db-a", "db-b", "db-c"}},
		{"r[1:2]-[a:b]", []string{"r1-a", "r1-b", "r2-a", "r2-b"}},
		{"ipv6[x]", []string{"ipv6[x]"}}, // no colon: not a range
		// a step near the int range's end: two hosts, no wrap-around
		{"b[0:9223372036854775000:9000000000000000000]", []string{"b0", "b9000000000000000000"}},
	} {
		got, err := ExpandRange(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ExpandRange(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"w[3:1]", "w[01:100]", "w[1:]", "w[a:3]", "w[1:2:0]", "w[1:2:3:4]", "w[0:999999]", "w[c:a]",
		// near the int range's end: the count must not overflow past the bound (found in review: it looped forever)
		"w[0:9223372036854775807]"} {
		if got, err := ExpandRange(bad); err == nil {
			t.Errorf("ExpandRange(%q) = %d names, want an error", bad, len(got))
		}
	}
}

const iniSample = `# comment
; another
jump01 ansible_host=192.0.2.1 ansible_user=root

[web]
web[01:02].corp.example ansible_user=deploy
web-extra:2222 ansible_python_interpreter="/usr/bin/python3"  # trailing

[db]
db-[a:b] ansible_become=yes ansible_ssh_private_key_file=KEY

[win]
win01 ansible_host=10.0.0.5 ansible_password=S3cretValue!

[win:vars]
ansible_connection = winrm
ansible_user=Administrator
ansible_winrm_transport=ntlm
ansible_port=5986

[linux:children]
web
db

[linux:vars]
ansible_user=ops
ntp_server=ntp.example
`

const yamlSample = `all:
  vars:
    ansible_become_method: sudo
  hosts:
    jump01:
      ansible_host: 192.0.2.1
      ansible_user: root
  children:
    linux:
      vars:
        ansible_user: ops
        ntp_server: ntp.example
      children:
        web:
          hosts:
            web[01:02].corp.example:
              ansible_user: deploy
            web-extra:2222:
              ansible_python_interpreter: /usr/bin/python3
        db:
          hosts:
            db-[a:b]:
              ansible_become: true
              ansible_ssh_private_key_file: KEY
    win:
      vars:
        ansible_connection: winrm
        ansible_user: Administrator
        ansible_winrm_transport: ntlm
        ansible_port: 5986
      hosts:
        win01:
          ansible_host: 10.0.0.5
          ansible_password: !vault |
            $ANSIBLE_VAULT;1.1;AES256
            6162636465
`

// Both formats describe the same fleet and give the same arcfleet inventory,
// which validates once the Azure target is given.
func TestConvertINIAndYAML(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "id_db")
	if err := os.WriteFile(key, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ARCFLEET_WINRM_PASSWORD", "x")
	var outs [][]string
	for _, f := range []struct{ name, src string }{{"inv.ini", iniSample}, {"inv.yml", yamlSample}} {
		t.Run(f.name, func(t *testing.T) {
			src := strings.ReplaceAll(f.src, "KEY", key)
			inv, err := Parse(f.name, []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]string{"inv.ini": "ini", "inv.yml": "yaml"}[f.name]; inv.Format != want {
				t.Errorf("format %s, want %s", inv.Format, want)
			}
			res := Convert(inv, Options{SubscriptionID: "11111111-2222-3333-4444-555555555555", ResourceGroup: "rg-arc",
				Location: "westeurope", TenantID: "66666666-7777-8888-9999-000000000000"})
			if strings.Contains(string(res.YAML), "S3cret") || strings.Contains(Report(res), "S3cret") || strings.Contains(string(res.YAML), "ANSIBLE_VAULT") {
				t.Fatalf("a password reached the output:\n%s", res.YAML)
			}
			path := filepath.Join(dir, f.name+".arcfleet.yaml")
			if err := os.WriteFile(path, res.YAML, 0o600); err != nil {
				t.Fatal(err)
			}
			ai, err := inventory.Load(path)
			if err != nil {
				t.Fatalf("converted inventory does not load: %v\n%s", err, res.YAML)
			}
			all, _ := ai.Select("")
			for _, fd := range inventory.Validate(ai, all, "connect") {
				if !fd.Warning {
					t.Errorf("finding: %v", fd)
				}
			}
			var got []string
			for _, h := range ai.Hosts {
				u := h.SSH.User
				if h.Transport == "winrm" {
					u = h.WinRM.User
				}
				got = append(got, strings.Join([]string{h.Name, h.Address, h.OS, h.Transport, strings.Join(h.Groups, "+"), u,
					filepath.Base(h.SSH.IdentityFile), h.SSH.Become, h.WinRM.Auth, strconv.Itoa(h.Port)}, " "))
			}
			want := []string{
				"jump01 192.0.2.1 linux ssh  root .   22",
				"web01.corp.example web01.corp.example linux ssh linux+web deploy .   22",
				"web02.corp.example web02.corp.example linux ssh linux+web deploy .   22",
				"web-extra web-extra linux ssh linux+web ops .   2222",
				"db-a db-a linux ssh linux+db ops id_db sudo  22",
				"db-b db-b linux ssh linux+db ops id_db sudo  22",
				"win01 10.0.0.5 windows winrm win Administrator .  ntlm 5986",
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("hosts:\n got %q\nwant %q\n%s", got, want, res.YAML)
			}
			rep := Report(res)
			for _, s := range []string{"Converted 7 hosts (1 Windows over WinRM)", "ntp_server: no arcfleet equivalent", "group linux (" + f.name + ":",
				"ansible_python_interpreter: no arcfleet equivalent: not carried over: host web-extra", "ansible_password: "} {
				if !strings.Contains(rep, s) {
					t.Errorf("report lacks %q:\n%s", s, rep)
				}
			}
			if f.name == "inv.yml" && !strings.Contains(rep, "ansible_password: vaulted value") {
				t.Errorf("vaulted value not reported:\n%s", rep)
			}
			outs = append(outs, got)
		})
	}
	if len(outs) == 2 && !reflect.DeepEqual(outs[0], outs[1]) {
		t.Errorf("INI and YAML give different fleets")
	}
}

// Without the Azure options the output still loads, and validate names what
// the user must fill, with the fix.
func TestConvertTODOsValidateWithFixes(t *testing.T) {
	inv, err := Parse("hosts", []byte("web01 ansible_user=ops\n"))
	if err != nil {
		t.Fatal(err)
	}
	res := Convert(inv, Options{})
	ai, err := inventory.Parse("out.yaml", res.YAML)
	if err != nil {
		t.Fatalf("%v\n%s", err, res.YAML)
	}
	var msgs []string
	for _, f := range inventory.Validate(ai, []*inventory.Host{&ai.Hosts[0]}, "connect") {
		msgs = append(msgs, f.Message)
	}
	want := []string{
		"no tenant id (--tenant-id); fix: set azure.tenant_id, or tenant_id in the credential",
		"no azure.subscription_id (--subscription-id); fix: set azure.subscription_id at the top level, in a group or on the host",
		"no azure.resource_group (--resource-group); fix: set azure.resource_group at the top level, in a group or on the host",
		"no azure.location (--location); fix: set azure.location at the top level, in a group or on the host",
	}
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("findings:\n got %q\nwant %q", msgs, want)
	}
	if !strings.Contains(string(res.YAML), "# TODO: subscription_id:") {
		t.Errorf("no TODO placeholder:\n%s", res.YAML)
	}
}

func TestConvertOddNames(t *testing.T) {
	inv, err := Parse("hosts", []byte("[g]\nweird_host!:22 ansible_connection=local\n2001:db8::1\n"))
	if err != nil {
		t.Fatal(err)
	}
	res := Convert(inv, Options{})
	ai, err := inventory.Parse("out.yaml", res.YAML)
	if err != nil {
		t.Fatalf("%v\n%s", err, res.YAML)
	}
	if ai.Hosts[0].Name != "weird_host-" || ai.Hosts[0].Address != "weird_host!" || ai.Hosts[1].Address != "2001:db8::1" {
		t.Errorf("hosts %+v %+v", ai.Hosts[0], ai.Hosts[1])
	}
	inv, err = Parse("hosts", []byte("web01 ansible_user=\"{{ lookup('env', 'U') }}\" ansible_port=22\n"))
	if err != nil {
		t.Fatal(err)
	}
	tr := Convert(inv, Options{})
	if strings.Contains(string(tr.YAML), "lookup") || !strings.Contains(Report(tr), "ansible_user: a Jinja template: arcfleet does not evaluate it") {
		t.Errorf("template carried over:\n%s\n%s", tr.YAML, Report(tr))
	}
	if rep := Report(res); !strings.Contains(rep, `connection "local"`) || !strings.Contains(rep, "not a valid arcfleet host name") {
		t.Errorf("report:\n%s", rep)
	}
}

// ProxyJump and ProxyCommand "ssh -W" in ansible_ssh_common_args become
// jump_hosts: entries (hops, not fleet members) and ssh.via.
func TestConvertJumpArgs(t *testing.T) {
	inv, err := Parse("hosts", []byte(`[dmz]
web01
[dmz:vars]
ansible_ssh_common_args='-o ProxyCommand="ssh -W %h:%p -q -p 2200 ops@bastion.example"'
[inner]
db01 ansible_ssh_common_args="-J jump@b1.example:2222,ops@b2.example -o StrictHostKeyChecking=no"
app01 ansible_ssh_extra_args="-o ProxyJump=web01"
[all:vars]
ansible_user=admin
`))
	if err != nil {
		t.Fatal(err)
	}
	res := Convert(inv, Options{})
	ai, err := inventory.Parse("out.yaml", res.YAML)
	if err != nil {
		t.Fatalf("%v\n%s", err, res.YAML)
	}
	if len(ai.Hosts) != 3 || len(ai.JumpHosts) != 3 {
		t.Fatalf("hosts %d, jump hosts %d\n%s", len(ai.Hosts), len(ai.JumpHosts), res.YAML)
	}
	web, db, app := ai.Host("web01"), ai.Host("db01"), ai.Host("app01")
	b := ai.ViaHost(web.SSH.Via)
	if b == nil || b.Address != "bastion.example" || b.Port != 2200 || b.SSH.User != "ops" {
		t.Errorf("web01 via %q: %+v\n%s", web.SSH.Via, b, res.YAML)
	}
	b2 := ai.ViaHost(db.SSH.Via)
	if b2 == nil || b2.Address != "b2.example" || b2.SSH.User != "ops" || b2.Port != 22 {
		t.Fatalf("db01 via %q: %+v\n%s", db.SSH.Via, b2, res.YAML)
	}
	if b1 := ai.ViaHost(b2.SSH.Via); b1 == nil || b1.Address != "b1.example" || b1.Port != 2222 || b1.SSH.User != "jump" {
		t.Errorf("b2 via %q: %+v", b2.SSH.Via, b1)
	}
	if app.SSH.Via != "web01" {
		t.Errorf("app01 via %q, want the fleet host web01", app.SSH.Via)
	}
	if rep := Report(res); !strings.Contains(rep, "ansible_ssh_common_args: ssh options other than ProxyJump") || !strings.Contains(rep, "host db01") || strings.Contains(rep, "group dmz (hosts:4)") {
		t.Errorf("report:\n%s", rep)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"ini bad section", "[web:hostvars]\n", "f:1: section [web:hostvars]: use [NAME], [NAME:vars] or [NAME:children]"},
		{"ini bad var", "[web]\nweb01 novalue\n", `f:2: "novalue": host variables are written key=value`},
		{"ini loop", "[a:children]\nb\n[b:children]\na\n", `children loop`},
		{"ini quote", "web01 a='x\n", "unterminated quote"},
		{"yaml unknown key", "all:\n  hostz: {}\n", `f:2: group "all": unknown key "hostz"`},
		{"yaml bad range", "all:\n  hosts:\n    w[5:1]:\n", "f:3: host range [5:1]: begin must not be after end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestConvertBigRange(t *testing.T) {
	inv, err := Parse("hosts", []byte("[web]\nweb[00001:20000]\n[linux:children]\nweb\n"))
	if err != nil {
		t.Fatal(err)
	}
	res := Convert(inv, Options{})
	if res.Hosts != 20000 || !strings.Contains(string(res.YAML), "  - name: web20000\n    groups: [linux, web]\n") {
		t.Errorf("hosts %d", res.Hosts)
	}
	if _, err := Parse("hosts", []byte("w[0:99999]\nx[0:1]\n")); err == nil || !strings.Contains(err.Error(), "more than 100000 hosts") {
		t.Errorf("err = %v", err)
	}
}

func FuzzParseINI(f *testing.F) {
	f.Add(iniSample)
	f.Add("[a:children]\nb\n[b]\nx[01:99]-[a:z] k='v w'\n")
	f.Add("h:1 a=\"b\\\"c\"\n[all:vars]\nx = y\n")
	f.Fuzz(func(t *testing.T, src string) {
		inv, err := ParseINI("f", []byte(src))
		if err != nil {
			return
		}
		if len(inv.Order) > MaxHosts {
			t.Fatalf("%d hosts", len(inv.Order))
		}
		if len(inv.Order) > 2000 {
			return // big ranges are checked for their count; converting them is slow under the fuzzer
		}
		res := Convert(inv, Options{})
		// Whatever the input, the output is YAML arcfleet reads: it may be
		// invalid (a bad port, an address with a space) but never unparsable.
		if _, err := inventory.Parse("out.yaml", res.YAML); err != nil {
			if strings.Contains(err.Error(), "YAML syntax") || strings.Contains(err.Error(), "expected") {
				t.Fatalf("output is not arcfleet YAML: %v\n%s", err, res.YAML)
			}
		}
	})
}
