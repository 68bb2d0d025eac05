package inventory

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func testKeyLine(t *testing.T, hosts ...string) string {
	t.Helper()
	pub, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize)).Public())
	if err != nil {
		t.Fatal(err)
	}
	return knownhosts.Line(hosts, pub) + "\n"
}

func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("id", "key")
	write("ca.pem", "ca")
	write("kh", testKeyLine(t, "a")+testKeyLine(t, knownhosts.HashHostname("[10.0.0.2]:2222"))+"# comment\n")
	write("empty", "")
	write("ca_kh", "@cert-authority *.corp "+strings.TrimSpace(testKeyLine(t, "x"))[2:]+"\n")
	if err := os.Mkdir(filepath.Join(dir, "home"), 0o700); err != nil {
		t.Fatal(err)
	}
	src := `version: 1
defaults:
  ssh: {user: root, identity_file: id, known_hosts: kh}
  winrm: {user: u, password: {env: WP}, ca_file: ca.pem}
hosts:
  - name: a
  - name: b
    address: 10.0.0.2
    port: 2222
  - name: c
  - name: d
    ssh: {identity_file: ~/nokey}
  - name: e
    ssh: {host_key_policy: accept-new, known_hosts: missing}
  - name: f
    ssh: {known_hosts: empty}
  - name: g
    ssh: {known_hosts: ca_kh}
  - name: w1
    os: windows
    winrm: {ca_file: noca.pem}
  - name: w2
    os: windows
    winrm: {auth: cert, cert_file: ca.pem, key_file: nokey.pem}
  - name: w3
    os: windows
`
	inv, err := Parse(filepath.Join(dir, "inv.yaml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range CheckFiles(inv, inv.mustSelect(t, ""), filepath.Join(dir, "home")) {
		got = append(got, strings.ReplaceAll(f.String(), dir+"/", ""))
	}
	want := []string{
		"inv.yaml:12:26: ARCF0005 d: ssh.identity_file ~/nokey does not exist; used by host d; fix: point ssh.identity_file at the private key (relative paths are relative to the inventory), readable by this user",
		"inv.yaml:21:22: ARCF0006 w1: winrm.ca_file noca.pem does not exist; used by host w1; fix: point winrm.ca_file at the PEM of the CA that signed the hosts' WinRM certificates",
		"inv.yaml:24:54: ARCF0006 w2: winrm.key_file nokey.pem does not exist; used by host w2; fix: point winrm.key_file at the PEM private key of winrm.cert_file, readable by this user",
		"inv.yaml:3:53: ARCF0005 -: host_key_policy strict and known_hosts kh has no key for 2 hosts: c, d, so the connection would be refused; fix: add the hosts' keys, checking each fingerprint out of band (ssh-keygen -lf): `ssh-keyscan c d >> kh`, or set host_key_policy: accept-new to learn each key on first connect",
		"inv.yaml:16:24: ARCF0005 f: host_key_policy strict and known_hosts empty (the file is empty) has no key for host f, so the connection would be refused; fix: add the hosts' keys, checking each fingerprint out of band (ssh-keygen -lf): `ssh-keyscan f >> empty`, or set host_key_policy: accept-new to learn each key on first connect",
		"inv.yaml:18:24: ARCF0005 g: warning: host_key_policy strict and known_hosts ca_kh has no key for host g, so the connection would be refused; fix: add the hosts' keys, checking each fingerprint out of band (ssh-keygen -lf): `ssh-keyscan g >> ca_kh`, or set host_key_policy: accept-new to learn each key on first connect (the file has @cert-authority lines: if they cover these hosts, ignore this)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A setting missing on every host (no layer sets it) is one line naming the
// count and a few hosts, not one line per host.
func TestCollapseMissingSetting(t *testing.T) {
	src := strings.Replace(vbase, "  location: westeurope\n", "", 1) + "  - name: h2\n  - name: h3\n  - name: h4\n  - name: h5\n"
	inv := mustParse(t, src)
	var got []string
	for _, f := range CollapseFindings(Validate(inv, inv.mustSelect(t, ""), "connect")) {
		got = append(got, f.String())
	}
	want := []string{"inv.yaml:13:5: AZCM0016 h: no azure.location (--location); fix: set azure.location at the top level, in a group or on the host (also 4 other hosts: h2, h3, h4, ...)"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
