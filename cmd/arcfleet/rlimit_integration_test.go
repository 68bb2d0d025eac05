package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// With a small open-file limit, apply lowers --concurrency (about 3 descriptors
// per host in flight, 64 kept back) and says so, instead of failing hosts with
// "too many open files" halfway through (bolt#1789).
func TestConcurrencyLoweredByOpenFileLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildArcfleet(t)
	dir := t.TempDir()
	inv := filepath.Join(dir, "inv.yaml")
	var hosts strings.Builder
	for i := range 3 {
		fmt.Fprintf(&hosts, "  - {name: h%d, address: 127.0.0.1, port: %d}\n", i, 1+i) // nothing listens on ports 1-3
	}
	yaml := `version: 1
azure: {tenant_id: 72f988bf-86f1-41af-91ab-2d7cd011db47, subscription_id: 0b1f6471-1bf0-4dda-aec3-cb9272f09590, resource_group: rg, location: westeurope}
credentials:
  sp: {client_id: 3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21, secret: {env: ARC_SP}}
defaults:
  credential: sp
  ssh: {user: u, identity_file: ` + filepath.Join(dir, "id") + `, host_key_policy: insecure-ignore}
retry: {max_attempts: 1}
hosts:
` + hosts.String()
	if err := os.WriteFile(inv, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		nofile int
		want   string
	}{
		{200, "concurrency lowered from 100 to 45: the open-file limit is 200"},
		{4096, ""},
	} {
		cmd := exec.Command("/bin/sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, tc.nofile), bin,
			"apply", "-i", inv, "--action", "connect", "--concurrency", "100", "--yes", "--run-dir", filepath.Join(dir, fmt.Sprint("run", tc.nofile)))
		cmd.Env = append(os.Environ(), "ARC_SP=x")
		out, _ := cmd.CombinedOutput()
		got := strings.Contains(string(out), "concurrency lowered")
		if tc.want != "" && !strings.Contains(string(out), tc.want) || tc.want == "" && got {
			t.Errorf("ulimit -n %d: want %q in the output:\n%s", tc.nofile, tc.want, out)
		}
	}
}
