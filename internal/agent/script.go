package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
)

// Step names.
const (
	StepProbe           = "probe"
	StepConnect         = "connect"
	StepDisconnect      = "disconnect"
	StepDisconnectLocal = "disconnect-local"
	StepRestartService  = "restart-agent-service"
	// StepStop ends an action step the controller gave up on (timeout, interrupt).
	StepStop = "stop"
)

// OnlyIfPreviousFailed marks a fallback step run only when the step before it failed.
const OnlyIfPreviousFailed = "previous-failed"

// Markers the remote scripts print. The executor and the classifier key on them
// rather than on exit codes, which collide with AZCM numbers.
const (
	// AgentLogMarker is printed on a line of its own to stderr after the agent has
	// run; everything after it is what that run appended to azcmagent.log.
	AgentLogMarker = results.AgentLogMarker // one definition: the classifier splits on it too
	// ErrorMarker starts a stderr line naming, alone, a failure of the script
	// itself (details follow on the next line, if any): "agent-not-found" (exit 127),
	// "sudo-password-required" (exit 126), "mktemp-failed", "config-write-failed"
	// (Linux, exit 125), "setup-failed" (Windows: private directory or config file,
	// exit 125), "restart-failed" (Windows service restart, exit 1).
	ErrorMarker = results.ScriptErrorPrefix + " "
	// AgentVersionMarker starts the probe's stdout line with `azcmagent version`,
	// printed only when show --json carries no agentVersion.
	AgentVersionMarker = "#arcfleet:agent-version: "
)

// Exit codes of the scripts' own failures (the agent's exit code passes through otherwise).
const (
	ExitSetupFailed    = 125
	ExitSudoPassword   = 126
	ExitAgentNotFound  = 127
	configFileName     = "config.json"
	secretPlaceholderF = "<secret %s>"
	// certFileName is certificate mode's PEM, written next to the config file (same
	// private directory, same lifetime).
	certFileName = "sp.pem"
)

// Certificate mode on stdin: the config's service-principal-cert value is
// CertPathPlaceholder, which the step replaces with the path of the file it writes
// (its private directory is made on the host, so the controller cannot name it);
// the PEM follows the config after a CertStart line, up to InputEnd.
const (
	CertPathPlaceholder = "#arcfleet:cert-path"
	CertStart           = "#arcfleet:cert"
)

// Defaults of the agent's locations per OS (used when inventory.Agent leaves them empty).
const (
	LinuxAgentFallback = "/opt/azcmagent/bin/azcmagent"
	LinuxAgentLog      = "/var/opt/azcmagent/log/azcmagent.log"
	WindowsAgent       = `$env:ProgramW6432\AzureConnectedMachineAgent\azcmagent.exe`
	WindowsAgentLog    = `$env:ProgramData\AzureConnectedMachineAgent\Log\azcmagent.log`
)

// stepSpec is the OS-neutral description of one step; both OS renderings come
// from it, so a step's Linux and Windows scripts cannot drift apart.
type stepSpec struct {
	name   string
	args   []string // agent arguments before the common flags; nil: not an agent run
	config bool     // stdin becomes the --config file
	// install: the install or upgrade step (install.go); pkg its package, if any.
	install bool
	pkg     *PackageRef
}

func specFor(name string) stepSpec {
	switch name {
	case StepProbe:
		return stepSpec{name: name, args: []string{"show", "--json"}}
	case StepConnect:
		return stepSpec{name: name, args: []string{"connect"}, config: true}
	case StepDisconnect:
		return stepSpec{name: name, args: []string{"disconnect"}, config: true}
	case StepDisconnectLocal:
		return stepSpec{name: name, args: []string{"disconnect", "--force-local-only"}}
	case StepStop:
		return stepSpec{name: name}
	case StepInstall, StepUpgrade:
		return stepSpec{name: name, install: true}
	case StepConfigure: // configure.go: `config list`, then `config set` per differing key
		return stepSpec{name: name, args: []string{"config", "set"}}
	}
	return stepSpec{name: StepRestartService}
}

// HostSteps returns the steps of action for h in order; nil for an unknown action.
func HostSteps(h *inventory.Host, action string) []Step {
	steps := hostSteps(h, action)
	// The configure step (configure.go), only for a host with agent settings
	// and an action that connects, comes before the first agent action: before
	// reconnect's disconnect too, so a setting the agent refuses fails the host
	// while its registration is still intact (WithConfigure).
	if slices.ContainsFunc(steps, func(s Step) bool { return s.Name == StepConnect }) && h.AgentConfig.HasLocalSettings() {
		i := slices.IndexFunc(steps, func(s Step) bool { return s.Name == StepConnect || s.Name == StepDisconnect })
		steps = slices.Insert(steps, i, ConfigureStep(h))
	}
	return steps
}

func hostSteps(h *inventory.Host, action string) []Step {
	switch action {
	case ActionConnect:
		if h.Agent.Install {
			// agent.install: the install step first (skipped on the host when
			// the agent is present and new enough), then as without it.
			return []Step{InstallStep(h), ProbeStep(h), ConnectStep(h)}
		}
		return []Step{ProbeStep(h), ConnectStep(h)}
	case ActionInstall:
		return []Step{InstallStep(h)}
	case ActionUpgrade:
		return []Step{UpgradeStep(h)}
	case ActionDisconnect:
		return []Step{ProbeStep(h), DisconnectStep(h)}
	case ActionReconnect:
		return []Step{ProbeStep(h), DisconnectStep(h), DisconnectLocalStep(h), ConnectStep(h)}
	}
	return nil
}

// ProbeStep reads the agent's state (`show --json`) and version; read-only, no secret, no sudo.
func ProbeStep(h *inventory.Host) Step { return buildStep(h, specFor(StepProbe)) }

// ConnectStep runs `azcmagent connect` with every parameter in the --config file fed on stdin.
func ConnectStep(h *inventory.Host) Step { return buildStep(h, specFor(StepConnect)) }

// DisconnectStep runs `azcmagent disconnect` (deletes the Azure resource) with the
// service principal in the --config file fed on stdin.
func DisconnectStep(h *inventory.Host) Step { return buildStep(h, specFor(StepDisconnect)) }

// DisconnectLocalStep runs `azcmagent disconnect --force-local-only`, reconnect's
// fallback when the Azure resource is already gone, and the local clean-up before
// re-registering an agent without registration (Decide); never while the resource
// may still exist: that would orphan it. No credential.
func DisconnectLocalStep(h *inventory.Host) Step {
	s := buildStep(h, specFor(StepDisconnectLocal))
	s.OnlyIf = OnlyIfPreviousFailed
	return s
}

// RestartServiceStep restarts the agent service (himdsd / himds), the remedy for
// the service class of errors.
func RestartServiceStep(h *inventory.Host) Step { return buildStep(h, specFor(StepRestartService)) }

// StopStep stops an action step on the host and removes its private directory;
// its stdin (StopInput) names them. Shown in the plan's recovery steps.
func StopStep(h *inventory.Host) Step { return buildStep(h, specFor(StepStop)) }

func buildStep(h *inventory.Host, sp stepSpec) Step {
	st := Step{Name: sp.name}
	// Stdin is the config (the plan shows it with the secret by reference);
	// every step also reads the header line Input puts before it.
	if sp.config {
		st.Stdin = "agent config (JSON), written to a private --config file and removed afterwards"
	}
	if h.OS == "windows" {
		st.Script = psScript(h, sp)
		st.Command = encodePowerShell(psLoader(sp.name, st.Script))
		return st
	}
	st.Script = shStepScript(h, sp)
	st.Command = shCommand(h, sp, st.Script)
	return st
}

// shQuote quotes s as one POSIX shell word.
func ShQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// psQuote quotes s as a PowerShell literal string. PowerShell ends a
// single-quoted string at the typographic single quotes U+2018-U+201B as well
// as at ', and reads any of them doubled as one.
func psQuote(s string) string {
	return "'" + psQuoter.Replace(s) + "'"
}

var psQuoter = strings.NewReplacer("'", "''", "\u2018", "\u2018\u2018", "\u2019", "\u2019\u2019", "\u201a", "\u201a\u201a", "\u201b", "\u201b\u201b")

// sudoWrapper runs its first argument (the script) as root through `sudo -n`,
// naming a missing NOPASSWD rule instead of hanging on a prompt. The whole script
// runs as root so the config file belongs to root alone.
const sudoWrapper = `E=$(sudo -n true 2>&1) || { case $E in *"password is required"*) echo "` + ErrorMarker + `sudo-password-required" >&2;; *) printf "%s\n" "$E" >&2;; esac; exit 126; }; exec sudo -n sh -c "$1" arcfleet "${ARCFLEET_STATE_DIR:-}"`

// shSweep removes the config directories of runs that can no longer clean up
// after themselves (a SIGKILL cannot be trapped; a host may reboot mid-run):
// one of this user's arcfleet.PID.* directories whose shell PID is gone, or any
// of this user's arcfleet.* directories older than 24 hours (an older naming, or
// a PID reused since). A live PID keeps its directory: a concurrent run on the
// same host, however long its --timeout, is never touched.
const shSweep = `for d in "$T"/arcfleet.*.*; do p=${d#"$T/arcfleet."}; p=${p%%.*}; case $p in ""|*[!0-9]*) continue;; esac; [ -d "$d" ] && [ -O "$d" ] && ! kill -0 "$p" 2>/dev/null && rm -rf "$d"; done
for d in "$T"/arcfleet.*; do [ -e "$d" ] && find "$T" -maxdepth 1 -name 'arcfleet.*' -user "$(id -u)" -mmin +1440 -exec rm -rf {} + 2>/dev/null; break; done
`

// shCommand is the exact command line sent over SSH: the script as one quoted
// word for sh, so the login shell's dialect does not matter beyond quoting.
func shCommand(h *inventory.Host, sp stepSpec, script string) string {
	if h.SSH.Become == "sudo" && sp.name != StepProbe {
		return "sh -c " + ShQuote(sudoWrapper) + " arcfleet " + ShQuote(script)
	}
	return "sh -c " + ShQuote(script)
}

// psScript renders the PowerShell script of a step.
func psScript(h *inventory.Host, sp stepSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# arcfleet %s\n", sp.name)
	if sp.name == StepStop {
		psStop(&b)
		return b.String()
	}
	if sp.install {
		// As the connect step below: temp sweep, lock, private directory
		// (psInstall), removed however the step ends.
		b.WriteString("$E=[Console]::Error\n$T=[IO.Path]::GetTempPath()\n" + psSweep)
		psLockAction(&b, sp.name)
		b.WriteString("$R=1\n$D=$null;$mr=$null\ntry{\n")
		psInstall(&b, h, sp)
		fmt.Fprintf(&b, "}finally{if($D){Remove-Item -LiteralPath $D -Recurse -Force -EA 0};%s}\n", psEndMark(sp.name, "$(if($mr){' "+InstallerRunning+"'})"))
		return b.String()
	}
	if sp.name == StepConfigure {
		psConfigureStep(&b, h)
		return b.String()
	}
	if sp.args == nil {
		// Under the host lock, as on Linux: not while another run's agent works.
		b.WriteString("$E=[Console]::Error\n")
		psLockAction(&b, sp.name)
		fmt.Fprintf(&b, "$R=1\ntry{try{Restart-Service -Name himds -Force -ErrorAction Stop;$R=0}catch{$E.WriteLine('%srestart-failed');$E.WriteLine($_)}}finally{%s}\nexit $R\n", ErrorMarker, psEnd(sp.name))
		return b.String()
	}
	// No $ErrorActionPreference='Stop': it would turn the agent's stderr into
	// exceptions; the .NET calls that matter throw inside try anyway.
	b.WriteString("$E=[Console]::Error\n")
	if h.Agent.Path != "" {
		fmt.Fprintf(&b, "$A=%s\n", psQuote(h.Agent.Path))
	} else {
		fmt.Fprintf(&b, "$A=\"%s\"\n", WindowsAgent)
	}
	fmt.Fprintf(&b, "if(-not(Test-Path -LiteralPath $A -PathType Leaf)){$E.WriteLine('%sagent-not-found');exit %d}\n", ErrorMarker, ExitAgentNotFound)
	if sp.name == StepCheck {
		psCheck(&b)
		return b.String()
	}
	if sp.name == StepProbe {
		psProbeLock(&b)
		// `version` only for agents whose show --json has no agentVersion.
		b.WriteString("$sj=& $A show --json\n$R=$LASTEXITCODE\n$sj\n")
		fmt.Fprintf(&b, "if(($sj -join ' ') -notmatch '\"agentVersion\"'){$v=& $A version 2>$null|Select-Object -First 1;Write-Output \"%s$v\"}\nexit $R\n", AgentVersionMarker)
		return b.String()
	}
	if h.Agent.Log != "" {
		fmt.Fprintf(&b, "$L=%s\n", psQuote(h.Agent.Log))
	} else {
		fmt.Fprintf(&b, "$L=\"%s\"\n", WindowsAgentLog)
	}
	b.WriteString("$B=0;if(Test-Path -LiteralPath $L){$B=(Get-Item -LiteralPath $L).Length}\n")
	args := strings.Join(sp.args, " ")
	if sp.config {
		b.WriteString("$T=[IO.Path]::GetTempPath()\n")
		// Remove what runs that could not clean up left (a terminated process runs
		// no finally): arcfleet.PID.* whose PID is gone, anything over 24 hours old.
		// A live PID keeps its directory, so a concurrent run is never touched.
		b.WriteString(psSweep)
		psLockAction(&b, sp.name)
		b.WriteString("$D=Join-Path $T ('arcfleet.'+$PID+'.'+[guid]::NewGuid().ToString('N'))\n$R=1\n")
		// One finally covers the directory from its creation: PowerShell runs it on
		// Ctrl+C (the WinRM client sends ctrl_c before terminate) and on exit.
		b.WriteString("try{\ntry{\n")
		// SYSTEM and Administrators only, inheritance from TEMP cut off.
		b.WriteString("$Y=New-Object Security.AccessControl.DirectorySecurity\n$Y.SetAccessRuleProtection($true,$false)\n")
		b.WriteString("foreach($sid in 'S-1-5-18','S-1-5-32-544'){$Y.AddAccessRule((New-Object Security.AccessControl.FileSystemAccessRule((New-Object Security.Principal.SecurityIdentifier $sid),'FullControl','ContainerInherit,ObjectInherit','None','Allow')))}\n")
		fmt.Fprintf(&b, "[void][IO.Directory]::CreateDirectory($D,$Y)\n$E.WriteLine(\"%spid=$PID pg= dir=$D\")\n", StartedMarker)
		psWatchdog(&b)
		// The config lines up to InputEnd; stdin may stay open after them.
		// Certificate mode: the PEM after a CertStart line goes to its own file, and
		// the config names that file (JSON-escaped) in place of CertPathPlaceholder.
		fmt.Fprintf(&b, "$F=Join-Path $D '%s';$P=Join-Path $D '%s';$c=New-Object Text.StringBuilder;$pem=$null\nwhile(($ln=[Console]::In.ReadLine()) -ne $null -and $ln -ne '%s'){if($ln -eq '%s'){$pem=New-Object Text.StringBuilder}elseif($pem){[void]$pem.AppendLine($ln)}else{[void]$c.AppendLine($ln.Replace('%s',$P.Replace('\\','\\\\')))}}\n[IO.File]::WriteAllText($F,$c.ToString());if($pem){[IO.File]::WriteAllText($P,$pem.ToString())}\n",
			configFileName, certFileName, InputEnd, CertStart, CertPathPlaceholder)
		fmt.Fprintf(&b, "}catch{$E.WriteLine('%ssetup-failed');$E.WriteLine($_.Exception.GetType().Name);Remove-Item -LiteralPath $D -Recurse -Force -EA 0;%s}\n", ErrorMarker, psExit(ExitSetupFailed))
		fmt.Fprintf(&b, "& $A %s --config $F --json --log-stderr\n$R=$LASTEXITCODE\n}finally{Remove-Item -LiteralPath $D -Recurse -Force -EA 0;%s}\n", args, psEnd(sp.name))
	} else {
		psLockAction(&b, sp.name)
		fmt.Fprintf(&b, "$R=1\ntry{& $A %s --json --log-stderr\n$R=$LASTEXITCODE\n}finally{%s}\n", args, psEnd(sp.name))
	}
	fmt.Fprintf(&b, "$E.WriteLine('%s')\n", AgentLogMarker)
	// PowerShell variable names ignore case: $g and $q must not be $S/$R.
	b.WriteString("if(Test-Path -LiteralPath $L){$g=[IO.File]::Open($L,'Open','Read','ReadWrite');if($g.Length -lt $B){$B=0};$g.Position=$B;$q=New-Object IO.StreamReader($g);$E.Write($q.ReadToEnd());$q.Close()}\n")
	b.WriteString("exit $R\n")
	return b.String()
}

// psSweep removes what runs that could not clean up left in $T (a
// terminated process runs no finally): arcfleet.PID.* whose PID is gone,
// anything over 24 hours old. A live PID keeps its directory, so a concurrent
// run is never touched.
const psSweep = "Get-ChildItem -LiteralPath $T -Filter 'arcfleet.*' -Directory -EA 0|?{$dp=$_.Name.Split('.')[1];($dp -match '^[0-9]+$' -and -not(Get-Process -Id $dp -EA 0)) -or $_.LastWriteTime -lt (Get-Date).AddHours(-24)}|Remove-Item -Recurse -Force -EA 0\n"

// ScriptEnd ends a Windows step's script on its stdin (psLoader).
const ScriptEnd = "#arcfleet:script-end"

// psLoader is the whole of a Windows step's command line: it reads the step's
// script from stdin up to ScriptEnd, refuses it unless its SHA-256 is the one
// the plan recorded, and runs it, which then reads the rest of stdin (header,
// config), all as UTF-8. The script itself would not fit: cmd.exe, which WinRM's shell runs
// the command line with, takes at most MaxWindowsCommand characters, and
// -EncodedCommand's base64 of UTF-16 makes a script 2.7 times longer.
func psLoader(step, script string) string {
	return fmt.Sprintf("# arcfleet %s\n[Console]::InputEncoding=New-Object Text.UTF8Encoding $false\n$scr=New-Object Text.StringBuilder\nwhile(($sl=[Console]::In.ReadLine()) -ne $null -and $sl -ne '%s'){[void]$scr.Append($sl).Append(\"`n\")}\n$scr=\"$scr\"\nif(([BitConverter]::ToString([Security.Cryptography.SHA256]::Create().ComputeHash([Text.Encoding]::UTF8.GetBytes($scr))) -replace '-') -ne '%s'){[Console]::Error.WriteLine('%sscript-digest');exit %d}\n& ([ScriptBlock]::Create($scr))\n",
		step, ScriptEnd, ScriptDigest(script), ErrorMarker, ExitSetupFailed)
}

// LoaderDigest returns the step name and script digest a Windows command's
// loader carries (psLoader), for checks that the command runs exactly st.Script.
func LoaderDigest(cmd string) (step, digest string, err error) {
	text, err := DecodePowerShell(cmd)
	if err != nil {
		return "", "", err
	}
	first, _, _ := strings.Cut(text, "\n")
	step, ok := strings.CutPrefix(first, "# arcfleet ")
	i := strings.Index(text, "-replace '-') -ne '")
	if !ok || i < 0 {
		return "", "", fmt.Errorf("not an arcfleet loader")
	}
	digest, _, _ = strings.Cut(text[i+len("-replace '-') -ne '"):], "'")
	return step, digest, nil
}

// ScriptDigest is the digest a loader checks for script.
func ScriptDigest(script string) string {
	return fmt.Sprintf("%X", sha256.Sum256([]byte(script)))
}

// StepStdin is what a step is fed: for a Windows step its script and
// ScriptEnd first (psLoader), then in.
func StepStdin(st Step, in []byte) []byte {
	if !strings.HasPrefix(st.Command, psCommandPrefix) {
		return in
	}
	b := make([]byte, 0, len(st.Script)+len(ScriptEnd)+2+len(in))
	b = append(b, st.Script...)
	if !strings.HasSuffix(st.Script, "\n") {
		b = append(b, '\n')
	}
	return append(append(append(b, ScriptEnd...), '\n'), in...)
}

const psCommandPrefix = "powershell.exe -NoProfile -NonInteractive -EncodedCommand "

// encodePowerShell is the command line that runs script with Windows PowerShell:
// -EncodedCommand takes base64 of UTF-16LE, which sidesteps cmd.exe quoting.
func encodePowerShell(script string) string {
	u := utf16.Encode([]rune(script))
	buf := make([]byte, 2*len(u))
	for i, c := range u {
		buf[2*i] = byte(c)
		buf[2*i+1] = byte(c >> 8)
	}
	return psCommandPrefix + base64.StdEncoding.EncodeToString(buf)
}

// DecodePowerShell returns the text of a command made by encodePowerShell: a
// Windows step's loader (psLoader), which names the step and its script's digest.
func DecodePowerShell(cmd string) (string, error) {
	const prefix = psCommandPrefix
	if !strings.HasPrefix(cmd, prefix) {
		return "", fmt.Errorf("not an arcfleet PowerShell command (want prefix %q)", prefix)
	}
	raw, err := base64.StdEncoding.DecodeString(cmd[len(prefix):])
	if err != nil {
		return "", fmt.Errorf("EncodedCommand is not base64: %w", err)
	}
	if len(raw)%2 != 0 {
		return "", fmt.Errorf("EncodedCommand has an odd byte count %d: not UTF-16LE", len(raw))
	}
	u := make([]uint16, len(raw)/2)
	for i := range u {
		u[i] = uint16(raw[2*i]) | uint16(raw[2*i+1])<<8
	}
	return string(utf16.Decode(u)), nil
}

// agentConfig is the --config file: keys are the agent's long flag names, in the
// order of its documentation; empty values are left out so the agent's defaults apply.
type agentConfig struct {
	SubscriptionID string `json:"subscription-id,omitempty"`
	ResourceGroup  string `json:"resource-group,omitempty"`
	Location       string `json:"location,omitempty"`
	TenantID       string `json:"tenant-id,omitempty"`
	SPID           string `json:"service-principal-id,omitempty"`
	SPSecret       string `json:"service-principal-secret,omitempty"`
	// SPCert: certificate mode's PEM file on the host (--service-principal-cert:
	// "path to a PEM or PFX file", learn.microsoft.com/azure/azure-arc/servers/azcmagent-connect).
	SPCert string `json:"service-principal-cert,omitempty"`
	// AccessToken: access-token mode (--access-token). The agent's --config takes
	// "key-value pairs where the key matches an available command line option"
	// (learn.microsoft.com/azure/azure-arc/servers/azcmagent-connect, common flags),
	// and --access-token is one of connect's and disconnect's options; no page shows
	// this key in a config file explicitly.
	AccessToken      string `json:"access-token,omitempty"`
	Cloud            string `json:"cloud,omitempty"`
	Tags             string `json:"tags,omitempty"`
	ResourceName     string `json:"resource-name,omitempty"`
	CorrelationID    string `json:"correlation-id,omitempty"`
	PrivateLinkScope string `json:"private-link-scope,omitempty"`
	// GatewayID: --gateway-id (agent_config.gateway_id), an Arc gateway
	// resource ID (learn.microsoft.com/azure/azure-arc/servers/azcmagent-connect).
	GatewayID string `json:"gateway-id,omitempty"`
	// EnableAutomaticUpgrade: --enable-automatic-upgrade (public preview, same
	// page); a flag, so a JSON boolean in the --config file, as the common
	// flags' {"verbose": true} example shows.
	EnableAutomaticUpgrade bool `json:"enable-automatic-upgrade,omitempty"`
}

func marshalConfig(c agentConfig) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "<secret env:X>" and tag values readable
	enc.SetIndent("", "  ")
	_ = enc.Encode(c) // strings only: cannot fail
	return buf.Bytes()
}

// AgentConfig is connect's --config file, fed on stdin: every parameter of the
// connection, so the command line carries neither the secret nor Azure ids.
// value is what c's mode sends the host (inventory.Credential.AuthMode): the
// secret, an access token minted on the controller, or the certificate's PEM
// (which follows the config after CertStart); in a plan, SecretPlaceholder(c).
func AgentConfig(h *inventory.Host, c inventory.Credential, value string) []byte {
	tenant := h.Azure.TenantID
	if tenant == "" {
		tenant = c.TenantID
	}
	cfg := agentConfig{
		SubscriptionID:   h.Azure.SubscriptionID,
		ResourceGroup:    h.Azure.ResourceGroup,
		Location:         h.Azure.Location,
		TenantID:         tenant,
		Cloud:            h.Azure.Cloud,
		Tags:             AgentTags(h.Azure.Tags),
		ResourceName:     h.ResourceName,
		CorrelationID:    h.Azure.CorrelationID,
		PrivateLinkScope: h.Azure.PrivateLinkScope,
		GatewayID:        h.AgentConfig.GatewayID,

		EnableAutomaticUpgrade: h.AgentConfig.AutomaticUpgrade,
	}
	return withAuth(cfg, c, value)
}

// DisconnectConfig is disconnect's --config file: the login only (the agent
// knows its resource from its local state).
func DisconnectConfig(c inventory.Credential, value string) []byte {
	return withAuth(agentConfig{}, c, value)
}

// withAuth adds c's login to cfg and renders it. Access-token mode sends no
// service-principal id: the token names its principal.
func withAuth(cfg agentConfig, c inventory.Credential, value string) []byte {
	switch c.AuthMode() {
	case inventory.AuthAccessToken:
		cfg.AccessToken = value
		return marshalConfig(cfg)
	case inventory.AuthCertificate:
		cfg.SPID, cfg.SPCert = c.ClientID, CertPathPlaceholder
		b := marshalConfig(cfg)
		b = append(append(b, CertStart...), '\n')
		b = append(b, value...)
		if !strings.HasSuffix(value, "\n") {
			b = append(b, '\n')
		}
		return b
	}
	cfg.SPID, cfg.SPSecret = c.ClientID, value
	return marshalConfig(cfg)
}

// StepInput is what the executor feeds step s on stdin: the --config file of
// connect and disconnect with what c's mode sends the host (the resolved secret,
// a fresh access token, or the certificate), nil for the other steps.
func StepInput(s Step, h *inventory.Host, c inventory.Credential, value string) []byte {
	switch s.Name {
	case StepConnect:
		return AgentConfig(h, c, value)
	case StepDisconnect:
		return DisconnectConfig(c, value)
	}
	return nil
}

// SecretPlaceholder is how plans show what a host receives, never a value:
// "<secret env:ARC_SP_SECRET>", "<access-token: minted on the controller from
// credential sp-prod>" or "<certificate file:/etc/arcfleet/sp.pem>".
func SecretPlaceholder(c inventory.Credential) string {
	switch c.AuthMode() {
	case inventory.AuthAccessToken:
		return fmt.Sprintf("<access-token: minted on the controller from credential %s>", c.Name)
	case inventory.AuthCertificate:
		return fmt.Sprintf("<certificate %s>", c.Certificate.String())
	}
	return fmt.Sprintf(secretPlaceholderF, c.Secret.String())
}

// SplitOutput splits a step's stderr into the agent's own stderr and the lines
// the run appended to azcmagent.log (printed after AgentLogMarker). Without the
// marker (the script was killed first) all of stderr is the agent's.
func SplitOutput(stderr string) (agentStderr string, logLines []string) {
	i := strings.LastIndex(stderr, AgentLogMarker+"\n")
	if i < 0 {
		if strings.HasSuffix(stderr, AgentLogMarker) {
			i = len(stderr) - len(AgentLogMarker)
		} else {
			return withoutOwnMarkers(stderr), nil
		}
	}
	// The marker need not start a line: the agent's stderr may lack a final newline.
	agentStderr = withoutOwnMarkers(stderr[:i])
	rest := strings.TrimPrefix(stderr[i+len(AgentLogMarker):], "\n")
	rest = strings.TrimSuffix(rest, "\n")
	if rest == "" {
		return agentStderr, nil
	}
	for _, l := range strings.Split(rest, "\n") {
		logLines = append(logLines, strings.TrimSuffix(l, "\r"))
	}
	return agentStderr, logLines
}

// AgentShow is what the probe read from `azcmagent show --json` and `azcmagent version`.
type AgentShow struct {
	Status         string `json:"status"` // "Connected", "Disconnected", "Expired"
	ResourceID     string `json:"resourceId"`
	ResourceName   string `json:"resourceName"`
	ResourceGroup  string `json:"resourceGroup"`
	SubscriptionID string `json:"subscriptionId"`
	TenantID       string `json:"tenantId"`
	Location       string `json:"location"`
	Cloud          string `json:"cloud"`
	AgentVersion   string `json:"agentVersion"`
	// CloudProvider is `show`'s "Cloud Provider" ("AzSHCI" on Azure Local). The
	// text output's label is documented; the JSON key is the agent's camelCase of
	// it (encoding/json matches keys case-insensitively). See decide.go.
	CloudProvider string `json:"cloudProvider"`

	// Not the agent's: what the probe found of arcfleet's host lock
	// (hostlock.go). Busy is the owner record of another live operation.
	Busy string   `json:"-"`
	Last LastStep `json:"-"`
}

// ParseProbe reads the probe step's stdout: the `show --json` object, then the
// AgentVersionMarker line. The JSON's own agentVersion wins when present.
func ParseProbe(stdout string) (AgentShow, error) {
	var s AgentShow
	start := strings.IndexByte(stdout, '{')
	if start < 0 {
		return s, msgErr("probe_no_json", strconv.Quote(clipText(stdout, 120)))
	}
	dec := json.NewDecoder(strings.NewReader(stdout[start:]))
	if err := dec.Decode(&s); err != nil {
		return AgentShow{}, &MsgError{M: results.M("probe_bad_json", err.Error(), strconv.Quote(clipText(stdout[start:], 120))), Err: err}
	}
	s.Busy = Busy(stdout[:start])
	s.Last, _ = ParseLast(stdout[:start])
	if s.AgentVersion == "" {
		for _, line := range strings.Split(stdout, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), AgentVersionMarker); ok {
				s.AgentVersion = versionOf(v)
			}
		}
	}
	return s, nil
}

// versionOf extracts "1.2.3" from "azcmagent version 1.2.3" (or returns the text as is).
func versionOf(v string) string {
	v = strings.TrimSpace(v)
	if f := strings.Fields(v); len(f) > 0 {
		return f[len(f)-1]
	}
	return v
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// withoutOwnMarkers drops the lines the scripts print about themselves
// (hostlock.go), which are not the agent's output.
func withoutOwnMarkers(s string) string {
	if !strings.Contains(s, StartedMarker) && !strings.Contains(s, BusyMarker) {
		return s
	}
	var b strings.Builder
	for line := range strings.Lines(s) {
		if !strings.HasPrefix(line, StartedMarker) && !strings.HasPrefix(line, BusyMarker) {
			b.WriteString(line)
		}
	}
	return b.String()
}
