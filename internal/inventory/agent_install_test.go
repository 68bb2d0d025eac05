package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// agent.install, agent.min_version and agent.package: parsed, inherited, and
// validated (ARCF0020).
func TestAgentInstallSettings(t *testing.T) {
	dir := t.TempDir()
	deb := filepath.Join(dir, "a.deb")
	if err := os.WriteFile(deb, []byte("pkg"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(vbase, "defaults:\n", "defaults:\n  agent: {install: true, min_version: \"1.50\", package: {deb: "+deb+"}}\n", 1) +
		"    os: linux\n  - name: both\n    os: linux\n    agent: {min_version: one, package: {rpm: " + filepath.Join(dir, "missing.rpm") + "}}\n"
	inv := mustParse(t, src)
	h := inv.Hosts[0]
	if !h.Agent.Install || h.Agent.MinVersion != "1.50" || h.Agent.Package.Deb != deb {
		t.Fatalf("agent %+v", h.Agent)
	}
	hosts, err := inv.Select("")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range Validate(inv, hosts, "install") {
		got = append(got, f.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		`ARCF0020 both: agent.min_version "one" is not a version`,
		"ARCF0020 both: agent.package names both a .deb and an .rpm",
		"ARCF0020 both: agent.package.rpm: stat " + filepath.Join(dir, "missing.rpm"),
	} {
		if !strings.Contains(all, want) {
			t.Errorf("findings lack %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, " h: ") {
		t.Errorf("host h has findings:\n%s", all)
	}
}
