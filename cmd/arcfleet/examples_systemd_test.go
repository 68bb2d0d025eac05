package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdExampleCommands runs every arcfleet command line of the systemd
// examples through the CLI (instance %i = 0 and 1, paths moved into a temporary
// directory, no secret in the environment): each must parse and get as far as
// the unset secret, which stops it before any host is touched.
func TestSystemdExampleCommands(t *testing.T) {
	inv := exampleInventory(t, configMapsOf(loadK8sExamples(t)))
	units, _ := filepath.Glob("../../examples/systemd/*.service")
	gpo, _ := filepath.Glob("../../examples/gpo-reregistration/*.service")
	units = append(units, gpo...)
	if len(units) < 3 {
		t.Fatalf("found units %v", units)
	}
	checked := 0
	for _, u := range units {
		data, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			key, cmdline, ok := strings.Cut(line, "=")
			if !ok || (key != "ExecStart" && key != "ExecStartPre") {
				continue
			}
			for _, inst := range []string{"0", "1"} {
				fields := strings.Fields(strings.ReplaceAll(cmdline, "%i", inst))
				if len(fields) < 2 || filepath.Base(fields[0]) != "arcfleet" {
					t.Errorf("%s: %s does not run arcfleet", u, line)
					continue
				}
				tmp := t.TempDir()
				args := fields[1:]
				for i, a := range args {
					switch {
					case strings.HasSuffix(a, "/inventory.yaml"):
						args[i] = inv
					case strings.HasPrefix(a, "/var/lib/"):
						args[i] = filepath.Join(tmp, a)
					}
				}
				e, so, se := exampleEnv(nil)
				code := run(context.Background(), e, args)
				out := so.String() + se.String()
				if code != exitInvalid || strings.Contains(out, "Usage:") || strings.Contains(out, "unknown flag") ||
					!(strings.Contains(out, "do not resolve") || strings.Contains(out, "does not resolve") || strings.Contains(out, "ARCF0001")) {
					t.Errorf("%s: arcfleet %s: exit %d\n%s\nwant it to parse and stop at the unset secret", filepath.Base(u), strings.Join(args, " "), code, out)
				}
				if inst == "1" && strings.Contains(cmdline, "--shard %i/") && !strings.Contains(out, "shard 1/2") {
					t.Errorf("%s: instance 1 does not run shard 1/2:\n%s", filepath.Base(u), out)
				}
				checked++
			}
		}
	}
	if checked == 0 {
		t.Fatal("no ExecStart line checked")
	}
}
