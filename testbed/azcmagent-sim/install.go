package main

import (
	"os"
	"path/filepath"
	"strconv"
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

// upgradeSince is the first agent version with `azcmagent upgrade`.
const upgradeSince = "1.62"

// latestVersion is what `upgrade` without --version installs.
const latestVersion = "1.63.02944.2010"

// upgrade: `azcmagent upgrade [--version MAJOR.MINOR]`. Agents before 1.62
// have no such command (cobra's unknown-command error); newer ones "install"
// the version asked for (MAJOR.MINOR.0), or latestVersion, by writing
// InstalledVersionFile. Root only, like the real command.
func (s *sim) upgrade(c *console, in *invocation, h *HostScenario) int {
	cur := agentVersion(h)
	if !versionAtLeast(cur, upgradeSince) {
		return c.fail(cmdUpgrade, newErr(101, `unknown command "upgrade" for "azcmagent"`), false)
	}
	if os.Geteuid() != 0 && s.env("AZCMAGENT_SIM_NO_ROOT") != "1" {
		return c.fail(cmdUpgrade, newErr(18, "azcmagent must run as root"), false)
	}
	to := latestVersion
	if v := in.str("version"); v != "" {
		to = v + ".0"
	}
	if !versionAtLeast(to, cur) {
		return c.fail(cmdUpgrade, newErr(23, "version "+in.str("version")+" is older than the installed "+cur), false)
	}
	if err := os.WriteFile(filepath.Join(s.root, InstalledVersionFile), []byte(to+"\n"), 0o666); err != nil {
		return c.fail(cmdUpgrade, newErr(69, err.Error()), false)
	}
	c.line(s.stdout, "Upgrading the agent from "+cur+" to "+to)
	c.line(s.stdout, "Upgrade succeeded")
	return 0
}

// versionAtLeast compares dotted numeric versions (missing fields are 0).
func versionAtLeast(a, b string) bool {
	x, y := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(x), len(y)); i++ {
		var p, q int
		if i < len(x) {
			p, _ = strconv.Atoi(x[i])
		}
		if i < len(y) {
			q, _ = strconv.Atoi(y[i])
		}
		if p != q {
			return p > q
		}
	}
	return true
}
