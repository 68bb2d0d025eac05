package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vbase is a valid inventory for every action; its one host h starts at 14:5 and
// cases append the host's settings from line 15 on.
const vbase = `version: 1
azure:
  tenant_id: 72f988bf-86f1-41af-91ab-2d7cd011db47
  subscription_id: 0b1f6471-1bf0-4dda-aec3-cb9272f09590
  resource_group: rg
  location: westeurope
credentials:
  sp: {client_id: 3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21, secret: {env: SP}}
defaults:
  credential: sp
  ssh: {user: root, identity_file: /k}
  winrm: {user: admin, password: {env: WP}}
hosts:
  - name: h
`

func manyTags(n int) string {
	var b strings.Builder
	b.WriteString("    tags:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "      t%02d: v\n", i)
	}
	return b.String()
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		host   string // appended to vbase
		src    string // replaces vbase+host when set
		action string
		want   []string // Finding.String() of every finding, in order
	}{
		// Accepted.
		{name: "base connect", action: "connect"},
		{name: "base disconnect", action: "disconnect"},
		{name: "base reconnect", action: "reconnect"},
		{name: "empty action means connect"},
		{name: "tags needing quotes", host: "    tags: {Env: prod, \"Cost Center\": \"A, B\", Note: \"x=y\", Empty: \"\"}\n"},
		{name: "50 tags", host: manyTags(50)},
		{name: "gov cloud and region", host: "    azure: {cloud: AzureUSGovernment, location: usgovvirginia}\n"},
		{name: "china cloud and region", host: "    azure: {cloud: AzureChinaCloud, location: chinanorth3}\n"},
		{name: "correlation id", host: "    azure: {correlation_id: 3FA85F64-5717-4562-b3fc-2c963f66afa6}\n"},
		{name: "resource name", host: "    resource_name: Web_01-A\n"},
		{name: "resource name 54", host: "    resource_name: " + strings.Repeat("a", 54) + "\n"},
		{name: "private link scope", host: "    azure: {private_link_scope: /subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/privateLinkScopes/pls}\n"},
		{name: "ssh password login", host: "    ssh: {password: {env: PW}, identity_file: \"\"}\n"},
		{name: "ssh agent login", src: strings.Replace(vbase, "identity_file: /k", "use_agent: true", 1)},
		{name: "longest linux agent paths", host: "    agent: {path: /" + strings.Repeat("p", MaxLinuxAgentPath-1) + ", log: /" + strings.Repeat("l", MaxLinuxAgentPath-1) + "}\n"},
		{name: "longest windows agent paths", host: "    os: windows\n    winrm: {https: true}\n    agent: {path: 'C:\\" + strings.Repeat("’", MaxWindowsAgentPath-3) + "', log: 'D:\\" + strings.Repeat("😀", (MaxWindowsAgentPath-3)/2) + "'}\n"},

		// ARCF0010 agent path length.
		{name: "windows agent path too long", host: "    os: windows\n    winrm: {https: true}\n    agent:\n      path: C:\\" + strings.Repeat("x", MaxWindowsAgentPath-2) + "\n", want: []string{
			`inv.yaml:18:13: ARCF0010 h: agent.path is 260 characters, longer than the 259 a windows path can have (MAX_PATH); fix: install the agent (or point agent.path) at a path of at most 259 characters`}},
		{name: "windows agent log too long in UTF-16", host: "    os: windows\n    winrm: {https: true}\n    agent: {log: 'D:\\" + strings.Repeat("😀", (MaxWindowsAgentPath-1)/2) + "'}\n", want: []string{
			`inv.yaml:17:18: ARCF0010 h: agent.log is 261 characters, longer than the 259 a windows path can have (MAX_PATH); fix: install the agent (or point agent.log) at a path of at most 259 characters`}},
		{name: "linux agent log too long, from defaults", src: strings.Replace(vbase, "  credential: sp\n", "  credential: sp\n  agent: {log: /"+strings.Repeat("l", MaxLinuxAgentPath)+"}\n", 1), want: []string{
			`inv.yaml:11:16: ARCF0010 h: agent.log is 4096 bytes, longer than the 4095 a linux path can have (PATH_MAX); fix: install the agent (or point agent.log) at a path of at most 4095 bytes`}},
		{name: "ssh fingerprint", host: "    ssh: {host_key_policy: fingerprint, fingerprint: SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8}\n"},
		{name: "winrm https ntlm", host: "    os: windows\n"},
		{name: "winrm cert", host: "    os: windows\n    winrm: {auth: cert, cert_file: c.pem, key_file: k.pem}\n"},
		{name: "disconnect ignores azure target", action: "disconnect",
			host: "    azure: {location: nowhere, correlation_id: x, cloud: AzureCloud}\n    resource_name: bad.name\n    tags: {\"a/b\": x}\n"},
		{name: "tenant from credential", src: strings.Replace(strings.Replace(vbase, "  tenant_id: 72f988bf-86f1-41af-91ab-2d7cd011db47\n", "", 1),
			"secret: {env: SP}}", "secret: {env: SP}, tenant_id: t}", 1)},

		// Warnings only.
		{name: "location display name", host: "    azure: {location: West Europe}\n", want: []string{
			`inv.yaml:15:23: AZCM0020 h: warning: location "West Europe" is a display name; fix: write the region name "westeurope"`}},
		{name: "subscription name", host: "    azure: {subscription_id: Production}\n", want: []string{
			`inv.yaml:15:30: AZCM0068 h: warning: subscription_id is not a GUID; the agent fails with AZCM0068 when it cannot resolve a subscription name; fix: use the subscription's GUID`}},
		{name: "resource name too long", host: "    resource_name: " + strings.Repeat("a", 55) + "\n", want: []string{
			`inv.yaml:15:20: AZCM0017 h: warning: resource name is 55 characters; Azure's limit for Arc machines is 54; fix: set a shorter resource_name`}},
		{name: "insecure-ignore", host: "    ssh: {host_key_policy: insecure-ignore}\n", want: []string{
			`inv.yaml:15:28: ARCF0002 h: warning: host_key_policy insecure-ignore accepts any host key: a machine in the middle gets the login and the service principal secret; fix: use strict with a maintained known_hosts file, accept-new, or fingerprint`}},
		{name: "winrm insecure", host: "    os: windows\n    winrm: {insecure: true}\n", want: []string{
			`inv.yaml:16:23: ARCF0003 h: warning: winrm.insecure skips TLS certificate verification: a machine in the middle gets the login and the service principal secret; fix: give the issuing CA in winrm.ca_file instead`}},
		{name: "winrm plain http", host: "    os: windows\n    winrm: {https: false, allow_http: true}\n", want: []string{
			`inv.yaml:16:20: ARCF0004 h: warning: WinRM over plain HTTP: commands and output cross the network unencrypted; fix: use HTTPS on 5986 (winrm quickconfig -transport:https)`}},

		// AZCM0013 tags.
		{name: "51 tags", host: manyTags(51), want: []string{
			`inv.yaml:14:5: AZCM0013 h: 51 tags; Azure allows at most 50 per resource; fix: drop tags, or merge some into one`}},
		{name: "tag name forbidden character", host: "    tags: {\"a/b\": x}\n", want: []string{
			`inv.yaml:15:12: AZCM0013 h: tag name "a/b" contains one of < > % & \ ? /; fix: remove those characters from the name`}},
		{name: "tag name with percent", host: "    tags: {\"50%\": x}\n", want: []string{
			`inv.yaml:15:12: AZCM0013 h: tag name "50%" contains one of < > % & \ ? /; fix: remove those characters from the name`}},
		{name: "tag name too long", host: "    tags: {" + strings.Repeat("n", 513) + ": x}\n", want: []string{
			`inv.yaml:15:12: AZCM0013 h: tag name is longer than 512 characters; fix: shorten the name`}},
		{name: "tag value too long", host: "    tags: {k: " + strings.Repeat("v", 257) + "}\n", want: []string{
			`inv.yaml:15:12: AZCM0013 h: value of tag "k" is longer than 256 characters; fix: shorten the value`}},
		{name: "tag value with a quote", host: "    tags: {k: \"it's\"}\n", want: []string{
			`inv.yaml:15:12: AZCM0013 h: value of tag "k" contains a quote or a control character, which the agent's --tags syntax cannot carry; fix: remove the character from the value`}},
		{name: "tag name with =", host: "    tags: {\"a=b\": x}\n", want: []string{
			`inv.yaml:15:12: AZCM0013 h: tag name "a=b" contains a quote, '=' or a control character, which the agent's --tags syntax cannot carry; fix: remove the character from the name`}},
		{name: "tag names differing in case", host: "    tags: {env: a, Env: b}\n", want: []string{
			`inv.yaml:15:12: AZCM0013 h: tag names "Env" and "env" differ only in case; Azure treats tag names case-insensitively; fix: keep one spelling`}},
		{name: "empty tag name", host: "    tags: {\" \": x}\n", want: []string{
			`inv.yaml:15:12: AZCM0013 h: empty tag name; fix: give the tag a name`}},

		// AZCM0014 cloud.
		{name: "cloud unknown", host: "    azure: {cloud: AzurePublic}\n", want: []string{
			`inv.yaml:15:20: AZCM0014 h: unsupported cloud "AzurePublic"; fix: use AzureCloud, AzureUSGovernment or AzureChinaCloud`}},
		{name: "cloud wrong case", host: "    azure: {cloud: azurecloud}\n", want: []string{
			`inv.yaml:15:20: AZCM0014 h: unsupported cloud "azurecloud"; fix: write it as AzureCloud`}},
		{name: "cloud checked on disconnect", action: "disconnect", host: "    azure: {cloud: Azure}\n", want: []string{
			`inv.yaml:15:20: AZCM0014 h: unsupported cloud "Azure"; fix: use AzureCloud, AzureUSGovernment or AzureChinaCloud`}},

		// AZCM0015 correlation id.
		{name: "correlation id", host: "    azure: {correlation_id: run-42}\n", want: []string{
			`inv.yaml:15:29: AZCM0015 h: correlation_id is not a GUID; fix: use a GUID such as 3fa85f64-5717-4562-b3fc-2c963f66afa6, or remove it`}},

		// AZCM0016 required parameters.
		{name: "no subscription", src: strings.Replace(vbase, "  subscription_id: 0b1f6471-1bf0-4dda-aec3-cb9272f09590\n", "", 1), want: []string{
			`inv.yaml:13:5: AZCM0016 h: no azure.subscription_id (--subscription-id); fix: set azure.subscription_id at the top level, in a group or on the host`}},
		{name: "no subscription is fine for disconnect", action: "disconnect", src: strings.Replace(vbase, "  subscription_id: 0b1f6471-1bf0-4dda-aec3-cb9272f09590\n", "", 1)},
		{name: "no resource group and location", src: strings.Replace(vbase, "  resource_group: rg\n  location: westeurope\n", "", 1), want: []string{
			`inv.yaml:12:5: AZCM0016 h: no azure.resource_group (--resource-group); fix: set azure.resource_group at the top level, in a group or on the host`,
			`inv.yaml:12:5: AZCM0016 h: no azure.location (--location); fix: set azure.location at the top level, in a group or on the host`}},
		{name: "no tenant", action: "disconnect", src: strings.Replace(vbase, "  tenant_id: 72f988bf-86f1-41af-91ab-2d7cd011db47\n", "", 1), want: []string{
			`inv.yaml:13:5: AZCM0016 h: no tenant id (--tenant-id); fix: set azure.tenant_id, or tenant_id in the credential`}},
		{name: "no credential", action: "reconnect", src: strings.Replace(vbase, "  credential: sp\n", "", 1), want: []string{
			"inv.yaml:13:5: AZCM0016 h: no credential: the agent needs a service principal to log in; fix: set `credential: NAME` in defaults, a group or the host, and define NAME under credentials:"}},
		{name: "credential without client id and secret", action: "disconnect",
			src: strings.Replace(vbase, "{client_id: 3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21, secret: {env: SP}}", "{tenant_id: 72f988bf-86f1-41af-91ab-2d7cd011db47}", 1), want: []string{
				`inv.yaml:8:3: AZCM0016 h: credential "sp" has no client_id (--service-principal-id); fix: add client_id: APPLICATION-ID to it`,
				"inv.yaml:8:3: AZCM0016 h: credential \"sp\" has no secret (--service-principal-secret); fix: add `secret: {env: NAME}` or `secret: {file: PATH}` to it; better: set `auth: access-token` so the hosts get only a short-lived token (docs/security.md)"}},

		// AZCM0017 resource name.
		{name: "resource name with dot", host: "    resource_name: web.01\n", want: []string{
			`inv.yaml:15:20: AZCM0017 h: resource name "web.01" may hold only letters, digits, '-' and '_'; fix: set resource_name on the host, or a resource_name_template such as "{short}"`}},
		{name: "resource name ends with -", host: "    resource_name: web-\n", want: []string{
			`inv.yaml:15:20: AZCM0017 h: resource name "web-" must not end with '-' or '_'; fix: drop the trailing character`}},
		{name: "resource name ends with _", host: "    resource_name: web_\n", want: []string{
			`inv.yaml:15:20: AZCM0017 h: resource name "web_" must not end with '-' or '_'; fix: drop the trailing character`}},
		{name: "resource name from template", src: strings.Replace(vbase, "  location: westeurope\n", "  location: westeurope\n  resource_name_template: \"{name}-\"\n", 1), want: []string{
			`inv.yaml:7:27: AZCM0017 h: resource name "h-" must not end with '-' or '_'; fix: drop the trailing character`}},

		// AZCM0020 region.
		{name: "unknown region", host: "    azure: {location: westeurop}\n", want: []string{
			`inv.yaml:15:23: AZCM0020 h: unknown region "westeurop"; fix: did you mean "westeurope"?`}},
		{name: "unknown region far from any", host: "    azure: {location: mars}\n", want: []string{
			`inv.yaml:15:23: AZCM0020 h: unknown region "mars"; fix: use a region name such as westeurope, eastus2 or swedencentral (az account list-locations -o table)`}},
		{name: "region of another cloud", host: "    azure: {location: chinanorth}\n", want: []string{
			`inv.yaml:15:23: AZCM0020 h: region "chinanorth" is in AzureChinaCloud, but the cloud is AzureCloud; fix: set azure.cloud: AzureChinaCloud, or choose a region of AzureCloud`}},

		// ARCF0005 SSH login.
		{name: "no ssh user", src: strings.Replace(vbase, "user: root, ", "", 1), want: []string{
			`inv.yaml:14:5: ARCF0005 h: no ssh.user; fix: set ssh.user in defaults, a group or the host`}},
		{name: "no ssh login method", src: strings.Replace(vbase, ", identity_file: /k", "", 1), want: []string{
			`inv.yaml:14:5: ARCF0005 h: no SSH login method; fix: set ssh.identity_file, ssh.use_agent: true or ssh.password: {env: NAME}`}},
		{name: "passphrase without key", host: "    ssh: {identity_file: \"\", use_agent: true, passphrase: {env: P}}\n", want: []string{
			`inv.yaml:15:59: ARCF0005 h: ssh.passphrase is set but there is no ssh.identity_file it would unlock; fix: set identity_file or remove passphrase`}},
		{name: "fingerprint policy without fingerprint", host: "    ssh: {host_key_policy: fingerprint}\n", want: []string{
			`inv.yaml:15:28: ARCF0005 h: host_key_policy is fingerprint but no ssh.fingerprint is given; fix: add fingerprint: SHA256:... (ssh-keygen -lf the host's public key)`}},
		{name: "malformed fingerprint", host: "    ssh: {host_key_policy: fingerprint, fingerprint: \"MD5:aa:bb\"}\n", want: []string{
			`inv.yaml:15:54: ARCF0005 h: ssh.fingerprint is not a SHA256 fingerprint; fix: write it as ssh-keygen -l prints it: SHA256: followed by 43 base64 characters`}},
		{name: "fingerprint ignored by strict", host: "    ssh: {fingerprint: SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8}\n", want: []string{
			`inv.yaml:15:24: ARCF0005 h: ssh.fingerprint is set but host_key_policy is strict, which ignores it; fix: set host_key_policy: fingerprint next to it, or remove the fingerprint`}},

		// ARCF0006 WinRM login.
		{name: "winrm cert without files", host: "    os: windows\n    winrm: {auth: cert}\n", want: []string{
			`inv.yaml:16:19: ARCF0006 h: auth cert needs winrm.cert_file and winrm.key_file; fix: set both, or use auth: ntlm with user and password`}},
		{name: "winrm without password", src: strings.Replace(vbase, ", password: {env: WP}", "", 1) + "    os: windows\n", want: []string{
			`inv.yaml:14:5: ARCF0006 h: no winrm.password; fix: set winrm.password: {env: NAME} or {file: PATH}`}},
		{name: "winrm basic over http", host: "    os: windows\n    winrm: {auth: basic, https: false, allow_http: true}\n", want: []string{
			`inv.yaml:16:19: ARCF0006 h: basic authentication over plain HTTP sends the password readable on the wire; fix: use HTTPS, or auth: ntlm`,
			`inv.yaml:16:33: ARCF0004 h: warning: WinRM over plain HTTP: commands and output cross the network unencrypted; fix: use HTTPS on 5986 (winrm quickconfig -transport:https)`}},

		// ARCF0007 credential, ARCF0008 action, ARCF0009 private link scope.
		{name: "client id not a guid", src: strings.Replace(vbase, "client_id: 3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21", "client_id: my-app", 1), want: []string{
			`inv.yaml:8:19: ARCF0007 h: credential "sp": client_id is not a GUID; fix: use the application (client) ID of the service principal, e.g. 00000000-0000-0000-0000-000000000000`}},
		{name: "tenant mismatch", src: strings.Replace(vbase, "secret: {env: SP}}", "secret: {env: SP}, tenant_id: 00000000-0000-0000-0000-000000000001}", 1), want: []string{
			`inv.yaml:3:14: ARCF0007 h: azure.tenant_id differs from the tenant_id of credential "sp"; the agent takes one --tenant-id; fix: use a credential of the tenant the machines are onboarded to, or make the two tenant ids equal`}},
		{name: "unknown action", action: "uninstall", want: []string{
			`inv.yaml: ARCF0008 -: unknown action "uninstall"; fix: use connect, disconnect or reconnect`}},
		{name: "private link scope not an id", host: "    azure: {private_link_scope: my-pls}\n", want: []string{
			`inv.yaml:15:33: ARCF0009 h: private_link_scope is not a private link scope resource ID; fix: use /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.HybridCompute/privateLinkScopes/NAME`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.src
			if src == "" {
				src = vbase + tt.host
			}
			inv := mustParse(t, src)
			hosts, err := inv.Select("")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range Validate(inv, hosts, tt.action) {
				got = append(got, f.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("findings:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(tt.want, "\n      "))
			}
		})
	}
}

// Findings of the same inherited mistake collapse into one line per position.
func TestCollapseFindings(t *testing.T) {
	inv := mustParse(t, strings.Replace(vbase, "location: westeurope", "location: westeurop", 1)+"  - name: h2\n  - name: h3\n    azure: {location: mars}\n")
	fs := CollapseFindings(Validate(inv, inv.mustSelect(t, ""), "connect"))
	var got []string
	for _, f := range fs {
		got = append(got, f.String())
	}
	want := []string{
		`inv.yaml:6:13: AZCM0020 h: unknown region "westeurop"; fix: did you mean "westeurope"? (also 1 other host: h2)`,
		`inv.yaml:17:23: AZCM0020 h3: unknown region "mars"; fix: use a region name such as westeurope, eastus2 or swedencentral (az account list-locations -o table)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func (inv *Inventory) mustSelect(t *testing.T, expr string) []*Host {
	t.Helper()
	hs, err := inv.Select(expr)
	if err != nil {
		t.Fatal(err)
	}
	return hs
}

// Validate works on an inventory built by hand (no source positions): findings
// then point at the host entry.
func TestValidateHandBuilt(t *testing.T) {
	inv := &Inventory{File: "x.yaml", Hosts: []Host{{Name: "h", OS: "linux", Transport: "ssh", Pos: Pos{File: "x.yaml", Line: 3, Col: 5},
		SSH:   SSH{User: "u", UseAgent: true, HostKeyPolicy: "strict"},
		Azure: Azure{TenantID: "t", SubscriptionID: "0b1f6471-1bf0-4dda-aec3-cb9272f09590", ResourceGroup: "rg", Location: "eastus2", Cloud: "Moon"}}}}
	fs := Validate(inv, []*Host{&inv.Hosts[0]}, "connect")
	var got []string
	for _, f := range fs {
		got = append(got, f.String())
	}
	want := []string{
		"x.yaml:3:5: AZCM0016 h: no credential: the agent needs a service principal to log in; fix: set `credential: NAME` in defaults, a group or the host, and define NAME under credentials:",
		`x.yaml:3:5: AZCM0014 h: unsupported cloud "Moon"; fix: use AzureCloud, AzureUSGovernment or AzureChinaCloud`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestFormatAgentTags(t *testing.T) {
	tests := []struct {
		tags    map[string]string
		want    string
		wantErr string
	}{
		{nil, "", ""},
		{map[string]string{"b": "2", "a": "1"}, "a=1,b=2", ""},
		{map[string]string{"Name": "Value with spaces", "Location": "Redmond"}, "Location=Redmond,Name='Value with spaces'", ""},
		{map[string]string{"Cost Center": "A,B", "x": "k=v"}, "'Cost Center'='A,B',x='k=v'", ""},
		{map[string]string{"e": ""}, "e=", ""},
		{map[string]string{"lead": " x"}, "lead=' x'", ""},
		{map[string]string{"q": "it's"}, "", `AZCM0013: value of tag "q" contains a quote`},
		{map[string]string{"a/b": "x"}, "", `AZCM0013: tag name "a/b" contains one of`},
		{map[string]string{"nl": "a\nb"}, "", `AZCM0013: value of tag "nl" contains a quote or a control character`},
	}
	for _, tt := range tests {
		got, err := FormatAgentTags(tt.tags)
		if tt.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("FormatAgentTags(%v) error = %v, want prefix %q", tt.tags, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("FormatAgentTags(%v) = %q, %v; want %q", tt.tags, got, err, tt.want)
		}
	}
	// Deterministic regardless of map order.
	m := map[string]string{}
	for i := 0; i < 40; i++ {
		m[fmt.Sprintf("k%02d", 39-i)] = "v"
	}
	first, _ := FormatAgentTags(m)
	for i := 0; i < 20; i++ {
		if again, _ := FormatAgentTags(m); again != first {
			t.Fatalf("FormatAgentTags not deterministic: %q vs %q", again, first)
		}
	}
	if !strings.HasPrefix(first, "k00=v,k01=v,") {
		t.Errorf("not sorted: %q", first)
	}
}

func TestCheckSecretRefs(t *testing.T) {
	const sentinel = "S3NT1NEL-value-never-shown"
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	if err := os.WriteFile(good, []byte(sentinel+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`version: 1
credentials:
  a: {client_id: x, secret: {env: SP_A}}
  b: {client_id: x, secret: {file: %s}}
  c: {client_id: x, secret: {file: %s}}
  d: {client_id: x, secret: {file: %s/missing}}
  unused: {client_id: x, secret: {env: NEVER_CHECKED}}
defaults:
  ssh: {user: u, password: {env: SSH_PW}}
  winrm: {user: u, password: {env: WIN_PW}}
hosts:
  - {name: h1, credential: a}
  - {name: h2, credential: a}
  - {name: h3, credential: b}
  - {name: h4, credential: c}
  - {name: h5, credential: d, os: windows}
`, good, empty, dir)
	inv := mustParse(t, src)
	env := map[string]string{"SP_A": "", "SSH_PW": sentinel}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var got []string
	for _, f := range CheckSecretRefs(inv, inv.mustSelect(t, ""), lookup) {
		got = append(got, f.String())
	}
	want := []string{
		`inv.yaml:3:29: ARCF0001 -: secret of credential "a" (env:SP_A) does not resolve: environment variable SP_A is empty; used by 2 hosts: h1, h2; fix: export SP_A before running arcfleet (from your secret store, never on a command line)`,
		fmt.Sprintf(`inv.yaml:5:29: ARCF0001 h4: secret of credential "c" (file:%s) does not resolve: secret file %s is empty; used by host h4; fix: create %s holding only the secret, readable by this user (chmod 600)`, empty, empty, empty),
		fmt.Sprintf(`inv.yaml:6:29: ARCF0001 h5: secret of credential "d" (file:%s/missing) does not resolve: secret file %s/missing: no such file or directory; used by host h5; fix: create %s/missing holding only the secret, readable by this user (chmod 600)`, dir, dir, dir),
		`inv.yaml:10:30: ARCF0001 h5: winrm.password (env:WIN_PW) does not resolve: environment variable WIN_PW is not set; used by host h5; fix: export WIN_PW before running arcfleet (from your secret store, never on a command line)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(strings.Join(got, "\n"), sentinel) {
		t.Fatal("a secret value appears in the findings")
	}
	// --limit narrows what is checked.
	if fs := CheckSecretRefs(inv, inv.mustSelect(t, "h3"), lookup); len(fs) != 0 {
		t.Errorf("h3 only: %v", fs)
	}
}

func TestSecretRefResolve(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "s")
	if err := os.WriteFile(f, []byte("pa ss\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, maxSecretFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) (string, bool) {
		if k == "SET" {
			return "v", true
		}
		return "", false
	}
	tests := []struct {
		ref     SecretRef
		want    string
		wantErr string
	}{
		{SecretRef{Env: "SET"}, "v", ""},
		{SecretRef{Env: "UNSET"}, "", "environment variable UNSET is not set"},
		{SecretRef{File: f}, "pa ss", ""},
		{SecretRef{File: big}, "", "secret file " + big + " is larger than 64 KiB; it should hold only the secret"},
		{SecretRef{File: dir}, "", "secret file " + dir + ": cannot read: is a directory"},
		{SecretRef{}, "", "no secret reference given"},
		{SecretRef{Env: "SET", File: f}, "", "secret reference names both env and file"},
	}
	for _, tt := range tests {
		got, err := tt.ref.Resolve(env)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Resolve(%v) error = %v, want %q", tt.ref, err, tt.wantErr)
			}
			if got != "" {
				t.Errorf("Resolve(%v) returned a value with an error", tt.ref)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Resolve(%v) = %q, %v; want %q", tt.ref, got, err, tt.want)
		}
	}
}

func TestRegions(t *testing.T) {
	for _, r := range []string{"westeurope", "eastus2", "swedencentral", "northeurope"} {
		if !contains(Regions(""), r) {
			t.Errorf("%s missing from AzureCloud", r)
		}
	}
	if !contains(Regions("AzureUSGovernment"), "usgovvirginia") || !contains(Regions("AzureChinaCloud"), "chinanorth2") {
		t.Error("sovereign regions missing")
	}
	seen := map[string]string{}
	for _, c := range Clouds() {
		rs := Regions(c)
		if len(rs) == 0 {
			t.Errorf("no regions for %s", c)
		}
		for _, r := range rs {
			if prev, dup := seen[r]; dup {
				t.Errorf("%s listed in %s and %s", r, prev, c)
			}
			seen[r] = c
			if r != strings.ToLower(r) || strings.ContainsAny(r, " -_") {
				t.Errorf("region %q is not a region name", r)
			}
		}
	}
}
