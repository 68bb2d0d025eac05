package agent

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
)

// Installing and upgrading the agent.
//
// The install step runs under the host lock like every other action step
// (hostlock.go): never beside another agent operation of arcfleet. It is
// idempotent: on the host it reads `azcmagent version` first and does nothing
// (InstallMarker "skipped VERSION") when the agent is present and at least the
// wanted version: the package's own version when the operator supplied one,
// else agent.min_version, else any version.
//
// Where the agent comes from:
//   - agent.package.deb / .rpm (.msi on Windows): a file on the controller. The
//     executor streams it on the step's stdin after the header line: raw to a
//     Linux host (the SSH session's stdin is a byte stream), as base64 lines to
//     a Windows host (PackageStream: the PowerShell reads stdin as text); the
//     script takes exactly the size the plan recorded (`head -c`; on Windows
//     lines until that many bytes are decoded), and refuses the package
//     (ErrorMarker package-digest) unless its SHA-256 is the plan's, before any
//     package manager or msiexec sees it. Air-gapped fleets need nothing else.
//   - none: Microsoft's installer script (LinuxInstallerURL), which adds
//     packages.microsoft.com and installs from it; on an upgrade, `azcmagent
//     upgrade` where the agent has it (UpgradeCommandVersion and later), else
//     the package manager's upgrade from that repository.
//
// The package manager may be busy (unattended-upgrades holds dpkg's lock for
// minutes): the step retries while its output says the lock is held, up to
// PackageLockWait, then fails with package-lock (transient: retried).
const (
	ActionInstall = "install"
	ActionUpgrade = "upgrade"
	StepInstall   = "install"
	StepUpgrade   = "upgrade"

	// InstallMarker starts the install/upgrade step's stdout verdict:
	// "skipped VERSION", "installed VERSION" or "upgraded FROM TO".
	InstallMarker = "#arcfleet:install: "

	// LinuxInstallerURL is the Linux installer script Microsoft's portal
	// scripts download (saved as install_linux_azcmagent.sh). It needs
	// packages.microsoft.com; its --desiredversion picks a version.
	LinuxInstallerURL = "https://gbl.his.arc.azure.com/azcmagent-linux"
	// WindowsInstallerURL is the Windows agent's MSI download.
	WindowsInstallerURL = "https://aka.ms/AzureConnectedMachineAgent"
	// UpgradeCommandVersion: `azcmagent upgrade` exists from this agent version
	// (azcmagent-upgrade reference page: "only supported for machines that are
	// already running version 1.62 or later").
	UpgradeCommandVersion = "1.62"

	packageFileName = "agent.pkg"
)

// PackageLockWait bounds how long an install waits for the package manager's
// lock (dpkg's lock-frontend, rpm's transaction lock, zypper's lock). A
// variable so tests can shorten it; it is rendered into the script.
var PackageLockWait = 5 * time.Minute

// packagePoll is the pause between tries while the lock is held.
var packagePoll = 3 * time.Second

// PackageRef is an operator-supplied package as the plan recorded it: the
// step streams exactly these bytes and the host checks them.
type PackageRef struct {
	Format string `json:"format"` // "deb", "rpm", "msi"
	Path   string `json:"path"`   // on the controller
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // lower-case hex
	// Err: the file could not be read when the plan was made; the step then
	// refuses on the host (package-unreadable) rather than installing anything else.
	Err string `json:"error,omitempty"`
	// ErrMsg is Err as a message when it is arcfleet's own sentence (not
	// the system's), so a report can say it in its language.
	ErrMsg *results.Msg `json:"error_msg,omitempty"`
}

// MsgError is an error in arcfleet's words as a message (results msg keys;
// its English is Error()), so a report can say it in its language; Err is
// the error it is about.
type MsgError struct {
	M   results.Msg
	Err error
}

func (e *MsgError) Error() string             { return e.M.Text("en") }
func (e *MsgError) Unwrap() error             { return e.Err }
func (e *MsgError) Msg() results.Msg          { return e.M }
func msgErr(key string, args ...string) error { return &MsgError{M: results.M(key, args...)} }

// HostPackage is the package h installs from: its agent.package entry for
// its OS (.msi on Windows; .deb or .rpm on Linux: validation allows one),
// nil for Microsoft's repository / installer.
func HostPackage(h *inventory.Host) *PackageRef {
	p := h.Agent.Package
	var f, path string
	switch {
	case h.OS == "windows" && p.MSI != "":
		f, path = "msi", p.MSI
	case h.OS != "windows" && p.Deb != "":
		f, path = "deb", p.Deb
	case h.OS != "windows" && p.RPM != "":
		f, path = "rpm", p.RPM
	default:
		return nil
	}
	ref := &PackageRef{Format: f, Path: path}
	size, sum, err := digestFile(path)
	if err != nil {
		ref.Err = err.Error()
		if me, ok := err.(*MsgError); ok {
			ref.ErrMsg = &me.M
		}
		return ref
	}
	ref.Size, ref.SHA256 = size, sum
	return ref
}

// digests caches file digests by path, size and modification time: a plan
// of a thousand hosts reads a shared package once.
var digests sync.Map // string -> [2]string{size, sum}

func digestFile(path string) (int64, string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, "", err
	}
	if !fi.Mode().IsRegular() {
		return 0, "", msgErr("pkg_not_regular", path)
	}
	if fi.Size() > inventory.MaxAgentPackageBytes {
		return 0, "", msgErr("pkg_too_large", path, strconv.FormatInt(fi.Size(), 10), strconv.FormatInt(inventory.MaxAgentPackageBytes, 10))
	}
	key := fmt.Sprintf("%s\x00%d\x00%d", path, fi.Size(), fi.ModTime().UnixNano())
	if v, ok := digests.Load(key); ok {
		return fi.Size(), v.(string), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	if n != fi.Size() {
		return 0, "", msgErr("pkg_changed_reading", path)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	digests.Store(key, sum)
	return n, sum, nil
}

// ErrPackageChanged: the package on the controller is not the size the plan
// recorded (other bytes of the same size are found by the host's SHA-256 check).
var ErrPackageChanged = errors.New("it changed since the plan; plan again")

// OpenPackage opens the plan's package for streaming and checks that it is
// still the file the plan recorded (size; the host checks the SHA-256).
func OpenPackage(p *PackageRef) (*os.File, error) {
	if p.Err != "" {
		why := results.M(results.MsgText, p.Err)
		if p.ErrMsg != nil && p.ErrMsg.Text("en") == p.Err {
			why = *p.ErrMsg
		}
		return nil, &MsgError{M: results.M("pkg_unreadable", p.Path).With(why)}
	}
	f, err := os.Open(p.Path)
	if err != nil {
		return nil, &MsgError{M: results.M("pkg_open", err.Error()), Err: err}
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() != p.Size {
		err = &MsgError{M: results.M("pkg_size_changed", p.Path, strconv.FormatInt(fi.Size(), 10), strconv.FormatInt(p.Size, 10)), Err: ErrPackageChanged}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// InstallStep installs the agent when it is missing or older than wanted.
func InstallStep(h *inventory.Host) Step { return installStep(h, StepInstall) }

// UpgradeStep upgrades an installed agent.
func UpgradeStep(h *inventory.Host) Step { return installStep(h, StepUpgrade) }

func installStep(h *inventory.Host, name string) Step {
	sp := stepSpec{name: name, install: true, pkg: HostPackage(h)}
	st := buildStep(h, sp)
	st.Package = sp.pkg
	st.Stdin = installSource(h, sp.pkg)
	return st
}

// installSource says in the plan where the agent comes from.
func installSource(h *inventory.Host, p *PackageRef) string {
	switch {
	case p != nil && p.Err != "":
		return fmt.Sprintf("agent package %s: UNREADABLE (%s): the step will refuse", p.Path, p.Err)
	case p != nil && h.OS == "windows":
		return fmt.Sprintf("agent package %s (%s, %d bytes, sha256 %s), streamed after the header as base64 lines; the host checks size and SHA-256 before installing", p.Path, p.Format, p.Size, p.SHA256)
	case p != nil:
		return fmt.Sprintf("agent package %s (%s, %d bytes, sha256 %s), streamed after the header; the host checks size and SHA-256 before installing", p.Path, p.Format, p.Size, p.SHA256)
	case h.OS == "windows":
		return "no package: the host downloads " + WindowsInstallerURL
	}
	return "no package: the host downloads Microsoft's installer script " + LinuxInstallerURL + " (packages.microsoft.com)"
}

// InstallResult reads the step's InstallMarker line: "skipped", "installed"
// or "upgraded", and the version now installed.
func InstallResult(stdout string) (verdict, version string, ok bool) {
	for line := range strings.Lines(stdout) {
		rest, found := strings.CutPrefix(strings.TrimRight(line, "\r\n"), InstallMarker)
		if !found {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		verdict, version, ok = f[0], f[len(f)-1], true
	}
	return verdict, version, ok
}

// shInstallBody is the install itself, run by the step's frame (sh.go) in
// its own process group under the watchdog. Arguments: D (private directory,
// holding the package when one was sent), A (agent path), M (install or
// upgrade), F (deb, rpm or repo), N (agent.min_version or ""; `azcmagent
// upgrade --version` takes its MAJOR.MINOR), LW (seconds to
// wait for the package manager's lock), LP (seconds between tries).
const shInstallBody = `D=$1 A=$2 M=$3 F=$4 N=$5 LW=$6 LP=$7
e(){ echo "` + ErrorMarker + `$1" >&2; [ -n "${2:-}" ] && printf '%s\n' "$2" >&2; exit ` + exitSetup + `; }
ge(){ a=$1 b=$2; while [ -n "$a$b" ]; do x=${a%%.*} y=${b%%.*}; case $x in ''|*[!0-9]*) x=0;; esac; case $y in ''|*[!0-9]*) y=0;; esac
[ "$x" -gt "$y" ] && return 0; [ "$x" -lt "$y" ] && return 1
case $a in *.*) a=${a#*.};; *) a=;; esac; case $b in *.*) b=${b#*.};; *) b=;; esac; done; return 0; }
ver(){ v=; [ -x "$A" ] || return 1; v=$("$A" version 2>/dev/null </dev/null | head -n 1); v=${v##* }; [ -n "$v" ]; }
C=; ver && C=$v
P=
case $F in
deb) command -v dpkg >/dev/null && command -v dpkg-deb >/dev/null || e no-package-manager 'dpkg not found: a .deb package needs a Debian-family host'
  P=$(dpkg-deb -f "$D/pkg" Version 2>/dev/null);;
rpm) command -v rpm >/dev/null || e no-package-manager 'rpm not found: an .rpm package needs a Red Hat or SUSE-family host'
  P=$(rpm -qp --qf '%{VERSION}' "$D/pkg" 2>/dev/null);;
esac
P=${P#*:}; P=${P%%-*}; P=${P%%~*}
case $F in deb|rpm) [ -n "$P" ] || e package-unreadable 'the package manager cannot read the package: not an agent package, or damaged';; esac
W=$N
if [ -n "$P" ]; then [ -z "$N" ] || ge "$P" "$N" || e package-too-old "the package has agent $P, older than agent.min_version $N"; W=$P; fi
if [ "$M" = upgrade ]; then
  [ -n "$C" ] || { echo '` + ErrorMarker + `agent-not-found' >&2; echo 'upgrade needs an installed agent: use the install action' >&2; exit 127; }
  [ -n "$W" ] && ge "$C" "$W" && { echo "` + InstallMarker + `skipped $C"; exit 0; }
else
  [ -n "$C" ] && { [ -z "$W" ] || ge "$C" "$W"; } && { echo "` + InstallMarker + `skipped $C"; exit 0; }
fi
r(){ "$@" >"$D/pm" 2>&1; R=$?; cat "$D/pm" >&2; return $R; }
t=0
while :; do
  case $M.$F in
  *.deb) r dpkg -i "$D/pkg";;
  *.rpm) r rpm -U --replacepkgs "$D/pkg";;
  upgrade.repo)
    if ge "$C" ` + UpgradeCommandVersion + `; then if [ -n "$N" ]; then case $N in *.*) m=${N#*.}; m=${N%%.*}.${m%%.*};; *) m=$N.0;; esac; r "$A" upgrade --version "$m"; else r "$A" upgrade; fi
    elif command -v apt-get >/dev/null; then r apt-get install -y --only-upgrade azcmagent
    elif command -v dnf >/dev/null; then r dnf upgrade -y azcmagent
    elif command -v yum >/dev/null; then r yum upgrade -y azcmagent
    elif command -v zypper >/dev/null; then r zypper --non-interactive update azcmagent
    else e no-package-manager 'none of apt-get, dnf, yum, zypper found'; fi;;
  *)
    if command -v curl >/dev/null; then r curl -fsSL -o "$D/install_linux_azcmagent.sh" ` + LinuxInstallerURL + `
    elif command -v wget >/dev/null; then r wget -q -O "$D/install_linux_azcmagent.sh" ` + LinuxInstallerURL + `
    else e no-downloader 'neither curl nor wget found'; fi || e installer-download-failed "could not download ` + LinuxInstallerURL + `"
    if [ -n "$N" ]; then r bash "$D/install_linux_azcmagent.sh" --desiredversion "$N"; else r bash "$D/install_linux_azcmagent.sh"; fi;;
  esac && break
  if grep -Eqi 'frontend lock|status database is locked|could not get lock|unable to acquire the dpkg|transaction lock|system management is locked|waiting for process with pid' "$D/pm"; then
    [ "$t" -ge "$LW" ] && e package-lock "the package manager's lock was still held after ${LW}s"
    sleep "$LP"; t=$((t + LP)); continue
  fi
  grep -qi 'no space left on device' "$D/pm" && e no-space 'the disk is full'
  e package-failed "the package manager exited $R"
done
ver || e agent-not-found-after-install "the package installed, but $A does not run"
[ -z "$W" ] || ge "$v" "$W" || e installed-version-low "agent $v installed, $W wanted"
if [ -n "$C" ]; then echo "` + InstallMarker + `upgraded $C $v"; else echo "` + InstallMarker + `installed $v"; fi
`

// shInstall writes the install step's part of the frame after the private
// directory exists: the package read from stdin and checked, and returns the
// command the frame runs in the background.
func shInstall(b *strings.Builder, h *inventory.Host, sp stepSpec) string {
	b.WriteString(shAgentLines(h))
	f := "repo"
	if p := sp.pkg; p != nil {
		if p.Err != "" {
			fmt.Fprintf(b, "echo '%spackage-unreadable' >&2; echo %s >&2; exit %s\n", ErrorMarker, ShQuote("on the controller: "+p.Err), exitSetup)
			return "false"
		}
		f = p.Format
		// Exactly the plan's bytes: head -c reads no further, whatever follows.
		fmt.Fprintf(b, "head -c %d >\"$D/pkg\" || { echo '%spackage-write-failed' >&2; exit %s; }\n", p.Size, ErrorMarker, exitSetup)
		fmt.Fprintf(b, "z=$(wc -c <\"$D/pkg\"); [ \"$((z))\" = %d ] || { echo '%spackage-digest' >&2; echo \"got $((z)) bytes of %d\" >&2; exit %s; }\n", p.Size, ErrorMarker, p.Size, exitSetup)
		fmt.Fprintf(b, "y=$(sha256sum \"$D/pkg\") || { echo '%spackage-digest' >&2; echo 'sha256sum failed' >&2; exit %s; }\n", ErrorMarker, exitSetup)
		fmt.Fprintf(b, "[ \"${y%%%% *}\" = %s ] || { echo '%spackage-digest' >&2; echo \"SHA-256 ${y%%%% *}, the plan recorded %s\" >&2; exit %s; }\n", p.SHA256, ErrorMarker, p.SHA256, exitSetup)
	}
	mode := "install"
	if sp.name == StepUpgrade {
		mode = "upgrade"
	}
	return fmt.Sprintf("sh -c %s arcfleet \"$D\" \"$A\" %s %s %s %d %d", ShQuote(shInstallBody), mode, f,
		ShQuote(h.Agent.MinVersion), int(PackageLockWait/time.Second), max(int(packagePoll/time.Second), 1))
}

// Windows: the package on stdin. The loader (psLoader) and the header read
// stdin through [Console]::In, a StreamReader that reads ahead of the line it
// returns; raw bytes after the header would be partly swallowed by that
// buffer (and decoded as text). So the controller sends a Windows step's
// package as base64 lines (PackageStream), which the script reads with the
// same reader, one line (PackageLineBytes decoded) at a time, into the file:
// never the whole package in memory. The size and SHA-256 checks are the
// Linux step's, on the decoded bytes.

// PackageLineBytes is how many package bytes one base64 line carries (64 KiB
// of text per line).
const PackageLineBytes = 48 << 10

// PackageStream is what follows a step's input on its stdin for its package
// f: the bytes as they are for a Linux step (the SSH session carries bytes),
// base64 lines for a Windows step.
func PackageStream(st Step, f io.Reader) io.Reader {
	if !strings.HasPrefix(st.Command, psCommandPrefix) {
		return f
	}
	return &base64Lines{r: f, raw: make([]byte, PackageLineBytes)}
}

// base64Lines encodes r as lines of base64, PackageLineBytes each (the last
// shorter), each ended by "\n".
type base64Lines struct {
	r    io.Reader
	raw  []byte
	line []byte // encoded, not yet read
	err  error  // the reader's end (io.EOF) or failure, returned once line is read
}

func (b *base64Lines) Read(p []byte) (int, error) {
	for len(b.line) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		n, err := io.ReadFull(b.r, b.raw)
		if n > 0 {
			b.line = base64.StdEncoding.AppendEncode(b.line[:0], b.raw[:n])
			b.line = append(b.line, '\n')
		}
		switch err {
		case nil:
		case io.ErrUnexpectedEOF:
			b.err = io.EOF
		default:
			b.err = err
		}
	}
	n := copy(p, b.line)
	b.line = b.line[n:]
	return n, nil
}

// InstallerRunning is the mark the Windows install step adds to the host's
// owner record (hostlock.go) while msiexec (or `azcmagent upgrade`, which runs
// it) works. The Windows Installer service carries out the installation in
// its own process: a step stopped by its watchdog or the stop step leaves it
// running, after the host lock is released. A later step that finds the mark
// treats the host as busy while Windows Installer's _MSIExecute mutex exists
// (set while an installation's execute sequence runs: learn.microsoft.com,
// windows/win32/msi/-msiexecute-mutex); a step that ends normally rewrites the
// record without it.
const InstallerRunning = "installer=msiexec"

// psInstallerBusy sets $busy when the owner record $own carries
// InstallerRunning and an installation is in progress (the mutex exists; a
// mutex this account may not open exists too).
const psInstallerBusy = "if(!$busy -and $own -match ' " + InstallerRunning + "'){try{[Threading.Mutex]::OpenExisting('Global\\_MSIExecute').Close();$busy=1}catch [Threading.WaitHandleCannotBeOpenedException]{}catch{$busy=1}}\n"

// psInstall renders the Windows install/upgrade step after the host lock
// (psScript): the private directory, the StartedMarker and the watchdog as in
// the connect step; the operator's .msi read from stdin and checked (size,
// SHA-256, its ProductVersion) or the MSI downloaded; msiexec, its exit codes
// named for the knowledge base. Rendered and reviewed, not run against a real
// Windows host here (the WinRM test server runs the Linux twin).
func psInstall(b *strings.Builder, h *inventory.Host, sp stepSpec) {
	// Every refusal sets $R to the code it exits with: the finally records
	// $R in the last-step record (psEnd).
	fail := psExit(ExitSetupFailed)
	if h.Agent.Path != "" {
		fmt.Fprintf(b, "$A=%s\n", psQuote(h.Agent.Path))
	} else {
		fmt.Fprintf(b, "$A=\"%s\"\n", WindowsAgent)
	}
	p := sp.pkg
	if p != nil && p.Err != "" {
		fmt.Fprintf(b, "$E.WriteLine('%spackage-unreadable');$E.WriteLine(%s);%s\n", ErrorMarker, psQuote("on the controller: "+p.Err), fail)
		return
	}
	fmt.Fprintf(b, "$need=%s\n", psQuote(h.Agent.MinVersion))
	b.WriteString("function ge($va,$vb){$xs=$va.Split('.');$ys=$vb.Split('.');for($ix=0;$ix -lt [Math]::Max($xs.Count,$ys.Count);$ix++){$na=0;$nb=0;if($ix -lt $xs.Count){[void][int64]::TryParse($xs[$ix],[ref]$na)};if($ix -lt $ys.Count){[void][int64]::TryParse($ys[$ix],[ref]$nb)};if($na -gt $nb){return $true};if($na -lt $nb){return $false}};$true}\n")
	// av: the installed agent's version, "" without one. ge's locals and
	// $need are spelled unlike every script variable (ps.go: names ignore case).
	b.WriteString("function av{if(Test-Path -LiteralPath $A -PathType Leaf){((& $A version 2>$null|Select-Object -First 1) -split ' ')[-1]}else{''}}\n")
	// The private directory (SYSTEM and Administrators only), reported for
	// the stop step, and the watchdog, as in the connect step (script.go).
	b.WriteString("$D=Join-Path $T ('arcfleet.'+$PID+'.'+[guid]::NewGuid().ToString('N'))\n$M=Join-Path $D 'AzureConnectedMachineAgent.msi'\n")
	b.WriteString("try{\n$Y=New-Object Security.AccessControl.DirectorySecurity\n$Y.SetAccessRuleProtection($true,$false)\n")
	b.WriteString("foreach($sid in 'S-1-5-18','S-1-5-32-544'){$Y.AddAccessRule((New-Object Security.AccessControl.FileSystemAccessRule((New-Object Security.Principal.SecurityIdentifier $sid),'FullControl','ContainerInherit,ObjectInherit','None','Allow')))}\n")
	fmt.Fprintf(b, "[void][IO.Directory]::CreateDirectory($D,$Y)\n$E.WriteLine(\"%spid=$PID pg= dir=$D\")\n", StartedMarker)
	fmt.Fprintf(b, "}catch{$E.WriteLine('%ssetup-failed');$E.WriteLine($_.Exception.GetType().Name);%s}\n", ErrorMarker, fail)
	psWatchdog(b)
	b.WriteString("$C=av\n")
	if p != nil {
		// Exactly the plan's bytes: lines until Size bytes are decoded, no more.
		fmt.Fprintf(b, "$pn=[long]0\ntry{$pf=[IO.File]::Open($M,'CreateNew','Write','None');try{while($pn -lt %d -and ($pl=[Console]::In.ReadLine()) -ne $null){$pb=[Convert]::FromBase64String($pl);$pf.Write($pb,0,$pb.Length);$pn+=$pb.Length}}finally{$pf.Close()}}", p.Size)
		fmt.Fprintf(b, "catch [FormatException]{$E.WriteLine('%spackage-digest');$E.WriteLine('the package on stdin is not base64 lines');%s}catch{$E.WriteLine('%spackage-write-failed');$E.WriteLine($_.Exception.Message);%s}\n", ErrorMarker, fail, ErrorMarker, fail)
		fmt.Fprintf(b, "if($pn -ne %d){$E.WriteLine('%spackage-digest');$E.WriteLine(\"got $pn bytes of %d\");%s}\n", p.Size, ErrorMarker, p.Size, fail)
		fmt.Fprintf(b, "$pf=[IO.File]::OpenRead($M);try{$ph=[BitConverter]::ToString([Security.Cryptography.SHA256]::Create().ComputeHash($pf)) -replace '-'}finally{$pf.Close()}\n")
		sum := strings.ToUpper(p.SHA256)
		fmt.Fprintf(b, "if($ph -cne '%s'){$E.WriteLine('%spackage-digest');$E.WriteLine(\"SHA-256 $ph, the plan recorded %s\");%s}\n", sum, ErrorMarker, sum, fail)
		// The package's ProductVersion (Windows Installer's COM automation
		// interface), released before msiexec opens the file.
		b.WriteString("$PV='';$wi=$vw=$rc=$db=$null\ntry{$wi=New-Object -ComObject WindowsInstaller.Installer;$db=$wi.GetType().InvokeMember('OpenDatabase','InvokeMethod',$null,$wi,@($M,0))\n")
		b.WriteString("$vw=$db.GetType().InvokeMember('OpenView','InvokeMethod',$null,$db,@(\"SELECT Value FROM Property WHERE Property='ProductVersion'\"));[void]$vw.GetType().InvokeMember('Execute','InvokeMethod',$null,$vw,$null)\n")
		b.WriteString("$rc=$vw.GetType().InvokeMember('Fetch','InvokeMethod',$null,$vw,$null);if($rc){$PV=$rc.GetType().InvokeMember('StringData','GetProperty',$null,$rc,@(1))};[void]$vw.GetType().InvokeMember('Close','InvokeMethod',$null,$vw,$null)}catch{}")
		b.WriteString("finally{foreach($co in $rc,$vw,$db,$wi){if($co){[void][Runtime.InteropServices.Marshal]::ReleaseComObject($co)}}}\n")
		fmt.Fprintf(b, "if(-not $PV){$E.WriteLine('%spackage-unreadable');$E.WriteLine('Windows Installer cannot read the package: not an agent MSI, or damaged');%s}\n", ErrorMarker, fail)
		fmt.Fprintf(b, "if($need -and -not (ge $PV $need)){$E.WriteLine('%spackage-too-old');$E.WriteLine(\"the package has agent $PV, older than agent.min_version $need\");%s}\n$need=$PV\n", ErrorMarker, fail)
	}
	// While msiexec works, the owner record says so (InstallerRunning).
	mark := fmt.Sprintf("sc -LiteralPath $O \"run=$I step=%s pid=$PID since=$N until=$($N+$W) %s\"", sp.name, InstallerRunning)
	if sp.name == StepUpgrade {
		fmt.Fprintf(b, "if(-not $C){$E.WriteLine('%sagent-not-found');$E.WriteLine('upgrade needs an installed agent: use the install action');%s}\n", ErrorMarker, psExit(ExitAgentNotFound))
		fmt.Fprintf(b, "if($need -and (ge $C $need)){Write-Output \"%sskipped $C\";$R=0;exit 0}\n", InstallMarker)
		if p == nil {
			// Whether `azcmagent upgrade` waits for the installation it starts
			// is not documented (--background only suppresses its popups,
			// azcmagent-upgrade reference page), and one still downloading has
			// no _MSIExecute mutex yet. So once it has returned, the step polls
			// the agent's version (av) and the mutex once a second: done when
			// the wanted version runs and no installation is under way
			// (without a wanted version: another version than $C), or when
			// the mutex has been absent 5 s after it was seen (or, without a
			// wanted version, 5 s at all); else it gives up 15 s before the
			// watchdog's time. Only when done is the mark ($mr) cleared. Then
			// the msiexec path's checks of the version that runs.
			fmt.Fprintf(b, "if(ge $C '%s'){$mr=1;%s\n", UpgradeCommandVersion, mark)
			b.WriteString("$uo=if($need){$mm=($need -split '\\.')[0..1] -join '.';if($mm -notmatch '\\.'){$mm+='.0'};& $A upgrade --version $mm --background 2>&1}else{& $A upgrade --background 2>&1};$R=$LASTEXITCODE;$uo|%{$E.WriteLine($_)};if($R -ne 0){exit $R}\n")
			b.WriteString("$ud=$N+[int]$W-15;$us=$false;$ua=0\n")
			b.WriteString("while($true){$um=$false;try{[Threading.Mutex]::OpenExisting('Global\\_MSIExecute').Close();$um=$true}catch [Threading.WaitHandleCannotBeOpenedException]{}catch{$um=$true}\n")
			b.WriteString("if($um){$us=$true;$ua=0}else{$ua++};$v=av\n")
			b.WriteString("if(-not $um -and $v -and (($need -and (ge $v $need)) -or (-not $need -and $v -ne $C))){$mr=$null;break}\n")
			b.WriteString("if($ua -ge 5 -and ($us -or -not $need)){$mr=$null;break}\n")
			b.WriteString("if([DateTimeOffset]::Now.ToUnixTimeSeconds() -ge $ud){$E.WriteLine(\"azcmagent upgrade returned, but its installation had not ended (agent $v) when the step's time ran out\");break}\n")
			b.WriteString("Start-Sleep -Seconds 1}\n")
			fmt.Fprintf(b, "if(-not $v){$E.WriteLine('%sagent-not-found-after-install');$E.WriteLine(\"azcmagent upgrade succeeded, but $A does not run\");%s}\n", ErrorMarker, fail)
			fmt.Fprintf(b, "if($need -and -not (ge $v $need)){$E.WriteLine('%sinstalled-version-low');$E.WriteLine(\"agent $v installed, $need wanted\");%s}\n", ErrorMarker, fail)
			fmt.Fprintf(b, "Write-Output \"%supgraded $C $v\";$R=0;exit 0}\n", InstallMarker)
		}
	} else {
		fmt.Fprintf(b, "if($C -and (-not $need -or (ge $C $need))){Write-Output \"%sskipped $C\";$R=0;exit 0}\n", InstallMarker)
	}
	if p == nil {
		fmt.Fprintf(b, "[Net.ServicePointManager]::SecurityProtocol=[Net.SecurityProtocolType]::Tls12\ntry{(New-Object Net.WebClient).DownloadFile('%s',$M)}catch{$E.WriteLine('%sinstaller-download-failed');$E.WriteLine($_);%s}\n", WindowsInstallerURL, ErrorMarker, fail)
	}
	// /norestart: a needed restart is reported (3010), never started on a
	// server mid-run. 1618 (another installation in progress) is waited out
	// like the package manager's lock on Linux.
	b.WriteString(mark + "\n")
	b.WriteString("$lt=0\nwhile($true){$mr=1;$mp=Start-Process msiexec.exe -ArgumentList @('/i',\"`\"$M`\"\",'/qn','/norestart','/l*v',\"`\"$D\\install.log`\"\") -Wait -PassThru;$R=$mp.ExitCode\n")
	fmt.Fprintf(b, "$mr=$null\nif($R -eq 1618 -and $lt -lt %d){Start-Sleep -Seconds %d;$lt+=%d;continue};break}\n", int(PackageLockWait/time.Second), max(int(packagePoll/time.Second), 1), max(int(packagePoll/time.Second), 1))
	fmt.Fprintf(b, "if($R -ne 0 -and $R -ne 3010 -and $R -ne 1641){$E.WriteLine(\"%smsiexec-$R\");$il=Join-Path $D 'install.log';if(Test-Path -LiteralPath $il){Get-Content -LiteralPath $il -Tail 40|%%{$E.WriteLine($_)}};%s}\n", ErrorMarker, fail)
	b.WriteString("if($R -ne 0){$E.WriteLine(\"msiexec exit $($R): installed; Windows needs a restart to complete it\")}\n")
	fmt.Fprintf(b, "$v=av;if(-not $v){$E.WriteLine('%sagent-not-found-after-install');$E.WriteLine(\"msiexec succeeded, but $A does not run\");%s}\n", ErrorMarker, fail)
	fmt.Fprintf(b, "if($need -and -not (ge $v $need)){$E.WriteLine('%sinstalled-version-low');$E.WriteLine(\"agent $v installed, $need wanted\");%s}\n", ErrorMarker, fail)
	fmt.Fprintf(b, "if($C){Write-Output \"%supgraded $C $v\"}else{Write-Output \"%sinstalled $v\"}\n$R=0;exit 0\n", InstallMarker, InstallMarker)
}

// SetPackagePoll sets the pause between tries while the package manager's
// lock is held and returns the previous one (tests).
func SetPackagePoll(d time.Duration) time.Duration {
	old := packagePoll
	packagePoll = d
	return old
}
