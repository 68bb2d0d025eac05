package inventory

import (
	"os"
	"regexp"
)

// MaxAgentPackageBytes bounds an operator-supplied agent package: it is
// streamed to each host over the step's session (the agent's packages are
// well under 200 MB; a larger file is more likely the wrong one).
const MaxAgentPackageBytes = 1 << 30

// versionRE: dotted numbers, as `azcmagent version` prints them (1.50.03036.1885).
var versionRE = regexp.MustCompile(`^[0-9]{1,6}(\.[0-9]{1,9}){0,3}$`)

// ValidVersion says whether v is an agent version as the inventory takes it.
func ValidVersion(v string) bool { return versionRE.MatchString(v) }

// statOnce is os.Stat remembered per path for one validation: a package set
// in defaults is one file for every host (10,000 hosts, one stat).
func statOnce() func(string) (os.FileInfo, error) {
	type res struct {
		fi  os.FileInfo
		err error
	}
	seen := map[string]res{}
	return func(p string) (os.FileInfo, error) {
		r, ok := seen[p]
		if !ok {
			r.fi, r.err = os.Stat(p)
			seen[p] = r
		}
		return r.fi, r.err
	}
}

// validateAgentInstall checks agent.min_version and agent.package: the
// version's form, that each package is a regular file of a sane size, and that
// a Linux host resolves to one Linux package (the controller must know which
// file to stream before the step starts).
func validateAgentInstall(h *Host, p Pos, add report, stat func(string) (os.FileInfo, error)) {
	a := h.Agent
	if a.MinVersion != "" && !versionRE.MatchString(a.MinVersion) {
		add(p, CodeAgentInstall, say("min_version_bad", q(a.MinVersion)), say("min_version_fix"))
	}
	if h.OS != "windows" && a.Package.Deb != "" && a.Package.RPM != "" {
		add(p, CodeAgentInstall, say("deb_and_rpm"), say("deb_and_rpm_fix"))
	}
	for _, f := range []struct{ key, path string }{{"deb", a.Package.Deb}, {"rpm", a.Package.RPM}, {"msi", a.Package.MSI}} {
		if f.path == "" {
			continue
		}
		fi, err := stat(f.path)
		switch {
		case err != nil:
			add(p, CodeAgentInstall, say("package_err", f.key, err.Error()), say("package_point"))
		case !fi.Mode().IsRegular():
			add(p, CodeAgentInstall, say("package_not_file", f.key, f.path), say("package_point_file"))
		case fi.Size() == 0 || fi.Size() > MaxAgentPackageBytes:
			add(p, CodeAgentInstall, say("package_size", f.key, f.path, itoa(fi.Size()), itoa(int64(MaxAgentPackageBytes))), say("package_point_pkg"))
		}
	}
}
