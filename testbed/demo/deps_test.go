package demo

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/testbed/sshtest"
	"github.com/arcfleet/arcfleet/testbed/winrmtest"
)

// testing.TB satisfies the rigs' TB interfaces, so tests pass t or b directly.
var (
	_ sshtest.TB   = testing.TB(nil)
	_ winrmtest.TB = testing.TB(nil)
)

// TestRigsLinkNoTesting: like net/http/httptest, the test rigs and the demo
// import no package testing, so `arcfleet demo` (-tags demo) does not link it.
func TestRigsLinkNoTesting(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not on PATH")
	}
	for _, args := range [][]string{
		{"list", "-deps", "./testbed/sshtest", "./testbed/winrmtest", "./testbed/demo", "./testbed/golden", "./testbed/azcmagent-sim"},
		{"list", "-tags", "demo", "-deps", "./cmd/arcfleet"},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = "../.."
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		for _, p := range strings.Fields(string(out)) {
			if p == "testing" {
				t.Errorf("go %s lists package testing: a rig imports it (use the package's TB interface instead)", strings.Join(args, " "))
			}
		}
	}
}
