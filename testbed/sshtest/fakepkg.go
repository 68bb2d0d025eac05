package sshtest

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// A fake package manager for install tests. The test hosts share this
// machine's root file system, so a real `dpkg -i` would install system-wide:
// instead dpkg, dpkg-deb and rpm stand-ins go into the host's bin directory
// (first on the session's PATH, kept under sudo by the test sudoers drop-in).
// They read a fake package (WriteFakePackage), "install" the agent simulator
// as bin/azcmagent with its systemctl shim, and record the version in the
// simulator's root (AZCMAGENT_SIM_ROOT/installed-version), which `azcmagent
// version` then reports. Nothing outside the host's directory is touched.
//
// Programmable failures:
//   - PkgLockFile (in Host.Dir) holding a Unix time: dpkg and rpm say their lock
//     is held, as the real ones do, until then (HoldPackageLock).
//   - a package written with Fail "broken": not a package (dpkg-deb's error);
//     "no-space": the unpack fails with ENOSPC's message.
//
// Every call is appended to PkgLogFile (in Host.Dir), one line each.

const (
	// FakePackageMagic starts a fake package's first line.
	FakePackageMagic = "arcfleet-fake-package"
	PkgLockFile      = "pkg-lock"
	PkgLogFile       = "pkg.log"
)

// PadFile appends n random bytes to the file at path: a fake package made as
// large as a real one, for the upload (the fake package manager reads only
// its head).
func PadFile(path string, n int) error {
	bulk := make([]byte, n)
	_, _ = rand.Read(bulk)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(bulk); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteFakePackage writes a fake agent package at path: version is what it
// installs, sim the simulator binary, fail "" or "broken" or "no-space".
func WriteFakePackage(path, version, sim, fail string) error {
	abs, err := filepath.Abs(sim)
	if err != nil {
		return err
	}
	if fail == "broken" {
		return os.WriteFile(path, []byte("this is not a package\n"), 0o644)
	}
	body := fmt.Sprintf("%s 1\nPackage: azcmagent\nVersion: %s\nBinary: %s\nFail: %s\n", FakePackageMagic, version, abs, fail)
	// Some bulk, so streaming is exercised beyond one SSH window (2 MiB in all).
	body += strings.Repeat("#"+strings.Repeat("x", 1023)+"\n", 2048)
	return os.WriteFile(path, []byte(body), 0o644)
}

// InstallFakePackageManager puts dpkg, dpkg-deb and rpm stand-ins into h's bin
// directory. The agent they install goes to bin/azcmagent (Host.AgentPath is
// set to it; the file does not exist before an install).
func (h *Host) InstallFakePackageManager() error {
	bin := filepath.Join(h.Dir, "bin")
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	common := "#!/bin/sh\n# fake package manager on an arcfleet test host (testbed/sshtest/fakepkg.go)\n" +
		"BIN=" + q(bin) + "\nROOT=" + q(h.Root) + "\nLOCK=" + q(filepath.Join(h.Dir, PkgLockFile)) + "\nLOG=" + q(filepath.Join(h.Dir, PkgLogFile)) + "\n" +
		"echo \"$(basename \"$0\") $*\" >>\"$LOG\"\n" +
		// fld FILE KEY: a field of a fake package; fails when FILE is not one.
		"fld(){ IFS= read -r m <\"$1\" 2>/dev/null; case $m in '" + FakePackageMagic + " '*) ;; *) return 1;; esac; sed -n \"s/^$2: //p\" \"$1\" | head -n 1; }\n" +
		"locked(){ [ -r \"$LOCK\" ] && u=$(cat \"$LOCK\") && [ \"$u\" -gt \"$(date +%s)\" ]; }\n" +
		// inst FILE: install the package's simulator and record its version.
		"inst(){ f=$(fld \"$1\" Fail); case $f in no-space) echo \"cannot copy extracted data for './opt/azcmagent/bin/azcmagent' to '/opt/azcmagent/bin/azcmagent.dpkg-new': failed to write (No space left on device)\" >&2; return 1;; esac\n" +
		"v=$(fld \"$1\" Version); b=$(fld \"$1\" Binary); ln -sf \"$b\" \"$BIN/azcmagent\" && printf '%s\\n' \"$v\" >\"$ROOT/installed-version\"; }\n"
	dpkg := common +
		"case $1 in -i|--install) ;; *) echo \"dpkg (fake): unsupported: $*\" >&2; exit 2;; esac\n" +
		"if locked; then echo 'dpkg: error: dpkg frontend lock was locked by another process with pid 4242' >&2; echo 'Note: removing the lock file is always wrong, and can end up damaging the' >&2; exit 2; fi\n" +
		"fld \"$2\" Package >/dev/null || { echo \"dpkg-deb: error: '$2' is not a Debian format archive\" >&2; echo \"dpkg: error processing archive $2 (--install):\" >&2; echo ' dpkg-deb --control subprocess returned error exit status 2' >&2; echo 'Errors were encountered while processing:' >&2; exit 1; }\n" +
		"echo \"Selecting previously unselected package azcmagent.\"; echo \"Unpacking azcmagent ($(fld \"$2\" Version)) ...\"\n" +
		"inst \"$2\" || { echo \"dpkg: error processing archive $2 (--install):\" >&2; exit 1; }\n" +
		"echo \"Setting up azcmagent ($(fld \"$2\" Version)) ...\"\n"
	dpkgDeb := common +
		"[ \"$1\" = -f ] || { echo \"dpkg-deb (fake): unsupported: $*\" >&2; exit 2; }\n" +
		"fld \"$2\" \"$3\" || { echo \"dpkg-deb: error: '$2' is not a Debian format archive\" >&2; exit 2; }\n"
	rpm := common +
		"case $1 in\n" +
		"-qp) v=$(fld \"$4\" Version) || { echo \"error: $4: not an rpm package\" >&2; exit 1; }; printf '%s' \"$v\";;\n" +
		"-U) p=; for a; do p=$a; done\n" +
		"  if locked; then echo 'error: can'\\''t create transaction lock on /var/lib/rpm/.rpm.lock (Resource temporarily unavailable)' >&2; exit 1; fi\n" +
		"  fld \"$p\" Package >/dev/null || { echo \"error: $p: not an rpm package (or package manifest)\" >&2; exit 1; }\n" +
		"  inst \"$p\" || exit 1;;\n" +
		"*) echo \"rpm (fake): unsupported: $*\" >&2; exit 1;;\nesac\n"
	for name, text := range map[string]string{"dpkg": dpkg, "dpkg-deb": dpkgDeb, "rpm": rpm} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(text), 0o755); err != nil {
			return err
		}
	}
	// On a fleet without FleetOptions.AgentBinary the agent appears only once
	// a package installs it; with one, a package replaces it.
	// A plain login (LoginTest) installs too: the bin directory and the log
	// are the host's own, world-writable as its state directories are.
	if err := os.Chmod(bin, 0o777); err != nil {
		return err
	}
	if err := writeWorldWritable(filepath.Join(h.Dir, PkgLogFile), nil); err != nil {
		return err
	}
	h.AgentPath = filepath.Join(bin, "azcmagent")
	return nil
}

// HoldPackageLock makes the fake dpkg and rpm report their lock held until
// the Unix time until (0 releases it).
func (h *Host) HoldPackageLock(until int64) error {
	p := filepath.Join(h.Dir, PkgLockFile)
	if until == 0 {
		err := os.Remove(p)
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	return writeWorldWritable(p, fmt.Appendf(nil, "%d\n", until))
}

// PackageCalls returns the fake package manager's calls on h, one per line.
func (h *Host) PackageCalls() []string {
	b, err := os.ReadFile(filepath.Join(h.Dir, PkgLogFile))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}
