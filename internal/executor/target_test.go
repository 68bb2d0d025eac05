package executor

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

func TestTargetFor(t *testing.T) {
	dir := t.TempDir()
	passFile := filepath.Join(dir, "pass")
	os.WriteFile(passFile, []byte("file-pass\n"), 0o600)
	hosts := map[string]*inventory.Host{
		"bastion": {Name: "bastion", Address: "10.0.0.1", OS: "linux", Transport: "ssh", SSH: inventory.SSH{User: "jump", IdentityFile: "/k"}},
		"loop1":   {Name: "loop1", Address: "10.0.0.2", OS: "linux", Transport: "ssh", SSH: inventory.SSH{Via: "loop2"}},
		"loop2":   {Name: "loop2", Address: "10.0.0.3", OS: "linux", Transport: "ssh", SSH: inventory.SSH{Via: "loop1"}},
		"win":     {Name: "win", Address: "10.0.0.4", OS: "windows", Transport: "winrm"},
	}
	lookup := func(n string) *inventory.Host { return hosts[n] }
	env := func(n string) (string, bool) {
		if n == "PW" {
			return execSentinel, true
		}
		return "", false
	}
	tests := []struct {
		name    string
		h       inventory.Host
		check   func(t *testing.T, tg string, jump bool, pw, port string)
		wantErr string
	}{
		{name: "ssh via", h: inventory.Host{Name: "web", Address: "10.1.0.1", OS: "linux", Transport: "ssh",
			SSH: inventory.SSH{User: "u", Password: inventory.SecretRef{Env: "PW"}, Via: "bastion", HostKeyPolicy: "accept-new"}},
			check: func(t *testing.T, proto string, jump bool, pw, port string) {
				if proto != "ssh" || !jump || pw != execSentinel || port != "22" {
					t.Errorf("proto %s jump %v port %s", proto, jump, port)
				}
			}},
		{name: "winrm https default port", h: inventory.Host{Name: "w", Address: "10.1.0.2", OS: "windows", Transport: "winrm",
			WinRM: inventory.WinRM{User: "Administrator", HTTPS: true, Password: inventory.SecretRef{File: passFile}, Auth: "ntlm"}},
			check: func(t *testing.T, proto string, jump bool, pw, port string) {
				if proto != "winrm" || pw != "file-pass" || port != "5986" {
					t.Errorf("proto %s pw ok %v port %s", proto, pw == "file-pass", port)
				}
			}},
		{name: "unset env", h: inventory.Host{Name: "x", OS: "linux", Transport: "ssh", SSH: inventory.SSH{Password: inventory.SecretRef{Env: "NOT_SET"}}},
			wantErr: "host x: ssh.password env:NOT_SET"},
		{name: "unknown via", h: inventory.Host{Name: "x", OS: "linux", Transport: "ssh", SSH: inventory.SSH{Via: "nowhere"}},
			wantErr: `ssh.via "nowhere": no such host`},
		{name: "via loop", h: *hosts["loop1"], wantErr: "a loop?"},
		{name: "via winrm", h: inventory.Host{Name: "x", OS: "linux", Transport: "ssh", SSH: inventory.SSH{Via: "win"}}, wantErr: "must use ssh"},
		{name: "bad transport", h: inventory.Host{Name: "x", Transport: "telnet"}, wantErr: `transport "telnet"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg, err := TargetFor(&tc.h, lookup, env)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), execSentinel) {
					t.Fatal("secret in the error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tg.Name != tc.h.Name || tg.Address != tc.h.Address {
				t.Errorf("target %s %s", tg.Name, tg.Address)
			}
			tc.check(t, tg.Protocol, tg.Jump != nil, tg.Password, strconv.Itoa(tg.Port))
		})
	}
}
