package inventory

import (
	"fmt"
	"os"
	"regexp"
)

// MaxAgentPackageBytes bounds an operator-supplied agent package: it is
// streamed to each host over the step's session (the agent's packages are
// well under 200 MB; a larger file is more likely the wrong one).
const MaxAgentPackageBytes = 1 << 30

// versionRE: dotted numbers, as `azcmagent version` prints them (1.50.03036.1885).
var versionRE = regexp.MustCompile(`^[0-9]{1,6}(\.[0-9]{1,9}){0,3}$`)

// validateAgentInstall checks agent.min_version and agent.package: the
// version's form, that each package is a regular file of a sane size, and that
// a Linux host resolves to one Linux package (the controller must know which
// file to stream before the step starts).
func validateAgentInstall(h *Host, p Pos, add report) {
	a := h.Agent
	if a.MinVersion != "" && !versionRE.MatchString(a.MinVersion) {
		add(p, CodeAgentInstall, fmt.Sprintf("agent.min_version %q is not a version", a.MinVersion),
			"write it as `azcmagent version` prints it, e.g. 1.50 or 1.50.03036.1885")
	}
	if h.OS != "windows" && a.Package.Deb != "" && a.Package.RPM != "" {
		add(p, CodeAgentInstall, "agent.package names both a .deb and an .rpm for this Linux host",
			"set agent.package.deb and agent.package.rpm in different groups (by distribution), so each host gets one")
	}
	for _, f := range []struct{ key, path string }{{"deb", a.Package.Deb}, {"rpm", a.Package.RPM}, {"msi", a.Package.MSI}} {
		if f.path == "" {
			continue
		}
		fi, err := os.Stat(f.path)
		switch {
		case err != nil:
			add(p, CodeAgentInstall, fmt.Sprintf("agent.package.%s: %v", f.key, err), "point it at the agent's package on this machine")
		case !fi.Mode().IsRegular():
			add(p, CodeAgentInstall, fmt.Sprintf("agent.package.%s %s is not a regular file", f.key, f.path), "point it at the package file itself")
		case fi.Size() == 0 || fi.Size() > MaxAgentPackageBytes:
			add(p, CodeAgentInstall, fmt.Sprintf("agent.package.%s %s has %d bytes (1 to %d allowed)", f.key, f.path, fi.Size(), int64(MaxAgentPackageBytes)),
				"point it at the agent's package")
		}
	}
}
