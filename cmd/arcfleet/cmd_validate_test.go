package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

const validateSentinel = "S3NT1NEL-validate-secret"

// runValidate runs `arcfleet validate args...` in-process with the given environment.
func runValidate(t *testing.T, environ map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return environ[k] }}
	code = run(context.Background(), e, append([]string{"validate"}, args...))
	return code, out.String(), errb.String()
}

func writeInv(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "inv.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	// The files cliInv names, next to it: an identity file and a known_hosts
	// listing hosts a and b.
	writeLoginFiles(t, dir, "a", "b")
	return p
}

// writeLoginFiles writes dir/id (a stand-in identity file: validate only checks
// it can be opened) and dir/known_hosts with a key line for each of hosts (port 22).
func writeLoginFiles(t *testing.T, dir string, hosts ...string) {
	t.Helper()
	pub, err := xssh.NewPublicKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)).Public())
	if err != nil {
		t.Fatal(err)
	}
	var kh strings.Builder
	for _, h := range hosts {
		kh.WriteString(knownhosts.Line([]string{knownhosts.Normalize(h + ":22")}, pub) + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "id"), []byte("not parsed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(kh.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

const cliInv = `version: 1
azure:
  tenant_id: 72f988bf-86f1-41af-91ab-2d7cd011db47
  subscription_id: 0b1f6471-1bf0-4dda-aec3-cb9272f09590
  resource_group: rg
  location: westeurope
credentials:
  sp: {client_id: 3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21, secret: {env: SP}}
defaults:
  credential: sp
  ssh: {user: root, identity_file: id, known_hosts: known_hosts}
hosts:
  - name: a
  - name: b
`

func TestValidateCommand(t *testing.T) {
	linux := filepath.Join("..", "..", "examples", "linux-fleet.yaml")
	ok := writeInv(t, cliInv)
	warnOnly := writeInv(t, cliInv+"    ssh: {host_key_policy: insecure-ignore}\n")
	invalid := writeInv(t, strings.Replace(cliInv, "location: westeurope", "location: westeurop", 1))
	malformed := writeInv(t, "version: 1\nhosts:\n  - name: a\n    port: \"22\"\n    sssh: {}\n")
	syntax := writeInv(t, "version: 1\nhosts:\n  - name: a\n  bad\n")
	literal := writeInv(t, strings.Replace(cliInv, "secret: {env: SP}", "secret: "+validateSentinel, 1))
	withSP := map[string]string{"SP": validateSentinel}
	// The example's files live in ~/.ssh: an empty home lacks them, a home
	// with them (and known_hosts entries for its strict hosts) is valid.
	emptyHome, home := t.TempDir(), t.TempDir()
	if err := os.Mkdir(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeLoginFiles(t, filepath.Join(home, ".ssh"), "web01.corp.example", "web02.corp.example", "10.20.0.13", "db01.corp.example")
	if err := os.Rename(filepath.Join(home, ".ssh", "id"), filepath.Join(home, ".ssh", "arcfleet_ed25519")); err != nil {
		t.Fatal(err)
	}
	noFiles := writeInv(t, strings.Replace(cliInv, "identity_file: id, known_hosts: known_hosts", "identity_file: nokey, known_hosts: none", 1))
	oneUnknown := writeInv(t, cliInv+"  - name: c\n    port: 2200\n")

	tests := []struct {
		name      string
		env       map[string]string
		args      []string
		code      int
		stdout    string // exact
		stderrHas []string
		stdoutHas string
	}{
		{name: "help", args: []string{"--help"}, code: 0, stdoutHas: "Usage: arcfleet validate -i INVENTORY"},
		{name: "no inventory", args: nil, code: 2, stderrHas: []string{"-i INVENTORY is required", "Usage: arcfleet validate"}},
		{name: "unknown flag", args: []string{"-i", ok, "--bogus"}, code: 2, stderrHas: []string{"unknown flag: --bogus"}},
		{name: "stray argument", args: []string{"-i", ok, "extra"}, code: 2, stderrHas: []string{`unexpected argument "extra"`}},
		{name: "bad action", args: []string{"-i", ok, "--action", "uninstall"}, code: 2, stderrHas: []string{`unknown --action "uninstall": use connect, disconnect or reconnect (or install, upgrade)`}},
		{name: "valid", env: withSP, args: []string{"-i", ok}, code: 0, stdout: "",
			stderrHas: []string{ok + ": valid for connect: 2 of 2 hosts checked, 0 errors, 0 warnings"}},
		{name: "long flag and limit", env: withSP, args: []string{"--inventory", ok, "--limit", "b", "--action", "disconnect"}, code: 0,
			stderrHas: []string{ok + ": valid for disconnect: 1 of 2 hosts checked, 0 errors, 0 warnings"}},
		{name: "secret unset", args: []string{"-i", ok}, code: 2,
			stdout:    ok + `:8:65: ARCF0001 -: secret of credential "sp" (env:SP) does not resolve: environment variable SP is not set; used by 2 hosts: a, b; fix: export SP before running arcfleet (from your secret store, never on a command line)` + "\n",
			stderrHas: []string{ok + ": invalid for connect: 2 of 2 hosts checked, 1 error, 0 warnings"}},
		{name: "warnings keep it valid", env: withSP, args: []string{"-i", warnOnly}, code: 0,
			stdout:    warnOnly + ":15:28: ARCF0002 b: warning: host_key_policy insecure-ignore accepts any host key: a machine in the middle gets the login and the service principal secret; fix: use strict with a maintained known_hosts file, accept-new, or fingerprint\n",
			stderrHas: []string{"valid for connect: 2 of 2 hosts checked, 0 errors, 1 warning"}},
		{name: "agent would reject", env: withSP, args: []string{"-i", invalid}, code: 2,
			stdout:    invalid + `:6:13: AZCM0020 a: unknown region "westeurop"; fix: did you mean "westeurope"? (also 1 other host: b)` + "\n",
			stderrHas: []string{"invalid for connect: 2 of 2 hosts checked, 1 error, 0 warnings"}},
		{name: "unknown limit", env: withSP, args: []string{"-i", ok, "--limit", "c"}, code: 2,
			stderrHas: []string{`--limit item "c": no host named "c"`}},
		{name: "wrong type and unknown key", args: []string{"-i", malformed}, code: 2, stdout: "",
			stderrHas: []string{
				malformed + ":4:11: hosts[0].port: host a: expected a whole number, got a string; fix: write a number without quotes",
				malformed + `:5:5: hosts[0].sssh: host a: unknown key "sssh"; fix: did you mean "ssh"?`,
				malformed + ": invalid: 2 errors"}},
		{name: "yaml syntax", args: []string{"-i", syntax}, code: 2,
			stderrHas: []string{syntax + ":4:1: YAML syntax error at or after this line: could not find expected ':'", syntax + ": invalid: 1 error"}},
		{name: "unreadable", args: []string{"-i", filepath.Join(t.TempDir(), "nope.yaml")}, code: 2,
			stderrHas: []string{"nope.yaml:1:1: cannot read inventory: no such file or directory; fix: check the path given with -i"}},
		{name: "literal secret", args: []string{"-i", literal}, code: 2,
			stderrHas: []string{literal + ":8:65: credentials.sp.secret: a literal secret is not allowed here (value not shown)"}},
		{name: "example", env: map[string]string{"ARC_SP_SECRET": validateSentinel, "HOME": home}, args: []string{"-i", linux, "--action", "reconnect"}, code: 0, stdout: "",
			stderrHas: []string{"valid for reconnect: 5 of 5 hosts checked, 0 errors, 0 warnings"}},
		{name: "example without its files", env: map[string]string{"ARC_SP_SECRET": validateSentinel, "HOME": emptyHome}, args: []string{"-i", linux}, code: 2,
			stdout: linux + ":27:20: ARCF0005 -: ssh.identity_file ~/.ssh/arcfleet_ed25519 does not exist; used by 5 hosts: web01.corp.example, web02.corp.example, web03.corp.example, ...; " +
				"fix: point ssh.identity_file at the private key (relative paths are relative to the inventory), readable by this user\n" +
				linux + ":28:18: ARCF0005 -: host_key_policy strict needs known_hosts ~/.ssh/known_hosts, which does not exist; used by 4 hosts: web01.corp.example, web02.corp.example, web03.corp.example, ...; " +
				"fix: add the hosts' keys, checking each fingerprint out of band (ssh-keygen -lf): `ssh-keyscan web01.corp.example web02.corp.example 10.20.0.13 ... (4 addresses) >> ~/.ssh/known_hosts`, " +
				"or set host_key_policy: accept-new to learn each key on first connect\n",
			stderrHas: []string{"invalid for connect: 5 of 5 hosts checked, 2 errors, 0 warnings"}},
		{name: "identity file and known_hosts missing", env: withSP, args: []string{"-i", noFiles}, code: 2,
			stdoutHas: "ssh.identity_file " + filepath.Join(filepath.Dir(noFiles), "nokey") + " does not exist; used by 2 hosts: a, b;",
			stderrHas: []string{"invalid for connect: 2 of 2 hosts checked, 2 errors, 0 warnings"}},
		{name: "a host missing from known_hosts", env: withSP, args: []string{"-i", oneUnknown}, code: 2,
			stdout: oneUnknown + ":11:53: ARCF0005 c: host_key_policy strict and known_hosts " + filepath.Join(filepath.Dir(oneUnknown), "known_hosts") +
				" has no key for host c, so the connection would be refused; fix: add the hosts' keys, checking each fingerprint out of band (ssh-keygen -lf): `ssh-keyscan -p 2200 c >> " +
				filepath.Join(filepath.Dir(oneUnknown), "known_hosts") + "`, or set host_key_policy: accept-new to learn each key on first connect\n",
			stderrHas: []string{"invalid for connect: 3 of 3 hosts checked, 1 error, 0 warnings"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runValidate(t, tt.env, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if tt.stdoutHas == "" && stdout != tt.stdout {
				t.Errorf("stdout:\n got: %q\nwant: %q", stdout, tt.stdout)
			}
			if tt.stdoutHas != "" && !strings.Contains(stdout, tt.stdoutHas) {
				t.Errorf("stdout %q lacks %q", stdout, tt.stdoutHas)
			}
			for _, s := range tt.stderrHas {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if strings.Contains(stdout+stderr, validateSentinel) {
				t.Fatalf("a secret value was printed:\n%s\n%s", stdout, stderr)
			}
		})
	}
}
