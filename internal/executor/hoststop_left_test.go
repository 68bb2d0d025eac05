package executor

import (
	"testing"

	"github.com/arcfleet/arcfleet/internal/agent"
)

// What a stop left names the step's private directory unless the verdict
// does, or is Windows Installer's: that verdict says "left DIR" itself when
// the directory is there, so adding it would say a removed directory was left.
func TestStopLeft(t *testing.T) {
	const dir = `C:\T\arcfleet.1.x`
	inst := agent.StopInstallerRunning + ": the installation the step started goes on in its service"
	for _, c := range []struct {
		clean      bool
		left, want string
	}{
		{true, "", ""},
		{false, "pid 12 still running", "pid 12 still running; private directory " + dir},
		{false, "left " + dir, "left " + dir},
		{false, inst, inst},
		{false, inst + "; left " + dir, inst + "; left " + dir},
	} {
		if got := stopLeft(c.clean, c.left, dir); got != c.want {
			t.Errorf("stopLeft(%v, %q) = %q, want %q", c.clean, c.left, got, c.want)
		}
	}
}
