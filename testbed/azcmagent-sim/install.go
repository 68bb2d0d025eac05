package main

import (
	"os"
	"path/filepath"
	"strings"
)

// InstalledVersionFile, in AZCMAGENT_SIM_ROOT, holds the agent version a
// package "installed" (written by the test fleet's fake package manager,
// testbed/sshtest/fakepkg.go). `version` and `show` report it, over the
// scenario's and the default version: the simulator reports what was installed.
const InstalledVersionFile = "installed-version"

// applyInstalled sets h's version from InstalledVersionFile when there is one.
func applyInstalled(h *HostScenario, root string) {
	if h == nil || root == "" {
		return
	}
	b, err := os.ReadFile(filepath.Join(root, InstalledVersionFile))
	if err != nil {
		return
	}
	if v := strings.TrimSpace(string(b)); v != "" {
		h.AgentVersion = v
	}
}
