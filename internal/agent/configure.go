package agent

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

// The configure step: the host's agent_config settings applied with
// `azcmagent config set KEY VALUE` before connect, under the host lock like
// every agent action (it runs through the same script as connect: lock,
// lease, owner record, private directory, watchdog, stop). It reads
// `azcmagent config list` once and sets only the keys whose value differs, so
// a second run changes nothing. Keys, values and the list's shape:
// learn.microsoft.com/azure/azure-arc/servers/azcmagent-config,
// manage-agent-proxy-settings, security-extensions (inventory/agentconfig.go
// names each source). `config list` prints "Local Configuration Settings" and
// then one "  KEY[ (preview)]   : VALUE" line per key, lists as [a b].
// No value is a secret: validation refuses a proxy URL with credentials.

// StepConfigure names the configure step.
const StepConfigure = "configure"

// ConfigMarker starts the stdout line the configure step prints per key:
// "KEY set" or "KEY unchanged".
const ConfigMarker = "#arcfleet:config: "

// ConfigSetting is one `azcmagent config set KEY VALUE`.
type ConfigSetting struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// List: the agent keeps a list; Value is its items sorted and joined by
	// commas (`config set` takes them so; the order does not matter to the agent).
	List bool `json:"list,omitempty"`
}

// ConfigSettings are the settings of h's agent_config the configure step
// applies, in order: config.mode first (monitor mode forbids changing the
// extension lists, so a switch back to full must come before them).
func ConfigSettings(h *inventory.Host) []ConfigSetting {
	c := h.AgentConfig
	var out []ConfigSetting
	list := func(k string, v []string) {
		if v != nil {
			s := slices.Clone(v)
			slices.Sort(s) // byte order, as `LC_ALL=C sort` on the host
			out = append(out, ConfigSetting{Key: k, Value: strings.Join(s, ","), List: true})
		}
	}
	flag := func(k string, b *bool) {
		if b != nil {
			out = append(out, ConfigSetting{Key: k, Value: strconv.FormatBool(*b)})
		}
	}
	if c.MonitorMode != nil {
		mode := "full"
		if *c.MonitorMode {
			mode = "monitor"
		}
		out = append(out, ConfigSetting{Key: "config.mode", Value: mode})
	}
	if c.ProxyURL != "" {
		out = append(out, ConfigSetting{Key: "proxy.url", Value: c.ProxyURL})
	}
	list("proxy.bypass", c.ProxyBypass)
	list("extensions.allowlist", c.ExtensionsAllowlist)
	list("extensions.blocklist", c.ExtensionsBlocklist)
	flag("extensions.enabled", c.ExtensionsEnabled)
	flag("guestconfiguration.enabled", c.GuestConfigurationEnabled)
	if c.IncomingConnectionsPorts != nil {
		ps := make([]string, len(c.IncomingConnectionsPorts))
		for i, p := range c.IncomingConnectionsPorts {
			ps[i] = strconv.Itoa(p)
		}
		list("incomingconnections.ports", ps)
	}
	return out
}

// ConfigureStep applies h's agent settings (ConfigSettings); only planned
// when there are some (HostSteps).
func ConfigureStep(h *inventory.Host) Step { return buildStep(h, specFor(StepConfigure)) }

// DescribeSettings is the plan's line for the configure step: "proxy.url=URL, ...".
func DescribeSettings(s []ConfigSetting) string {
	parts := make([]string, len(s))
	for i, c := range s {
		parts[i] = c.Key + "=" + c.Value
	}
	return strings.Join(parts, ", ")
}

// ParseConfigured reads the configure step's stdout: the keys it set and
// those it found as wanted.
func ParseConfigured(stdout string) (set, unchanged []string) {
	for line := range strings.Lines(stdout) {
		rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), ConfigMarker)
		if !ok {
			continue
		}
		k, what, _ := strings.Cut(rest, " ")
		switch what {
		case "set":
			set = append(set, k)
		case "unchanged":
			unchanged = append(unchanged, k)
		}
	}
	return set, unchanged
}

// shConfigure is the program the configure step runs in the agent's place
// (setsid sh -c PROGRAM arcfleet AGENT): `config list` once, then for each
// setting c KEY KEY-REGEX VALUE KIND. A key `config list` does not show is one
// this agent does not know (too old): config-unsupported, before anything is
// set. A failing `config set` ends the step with the agent's exit code.
func shConfigure(settings []ConfigSetting) string {
	var b strings.Builder
	b.WriteString("A=$1\nL=$(\"$A\" config list </dev/null) || { R=$?; printf '%s\\n' \"$L\"; exit $R; }\n")
	// n: a list as config list prints it ([a b]) or as set (a,b), sorted, comma-joined.
	b.WriteString("n(){ printf '%s\\n' \"$1\" | tr -d '[]' | tr ' ,' '\\n\\n' | sed '/^$/d' | LC_ALL=C sort | paste -sd, -; }\n")
	b.WriteString("g(){ printf '%s\\n' \"$L\" | sed -n \"s/^[[:space:]]*$1\\( (preview)\\)\\{0,1\\}[[:space:]]*:[[:space:]]\\{0,1\\}//p\" | head -n 1; }\n")
	b.WriteString("h(){ printf '%s\\n' \"$L\" | grep -q \"^[[:space:]]*$1\\( (preview)\\)\\{0,1\\}[[:space:]]*:\"; }\n")
	fmt.Fprintf(&b, "u(){ h \"$2\" || { echo '%sconfig-unsupported' >&2; echo \"this agent has no setting $1: upgrade it\" >&2; exit %d; }; }\n", ErrorMarker, ExitSetupFailed)
	for _, s := range settings {
		fmt.Fprintf(&b, "u %s %s\n", s.Key, ShQuote(keyRegexp(s.Key)))
	}
	b.WriteString("c(){ v=$(g \"$2\"); v=${v%\"${v##*[![:space:]]}\"}; [ \"$4\" = l ] && v=$(n \"$v\")\n")
	fmt.Fprintf(&b, "if [ \"$v\" = \"$3\" ]; then echo \"%s$1 unchanged\"; else \"$A\" config set \"$1\" \"$3\" </dev/null || exit $?; echo \"%s$1 set\"; fi; }\n", ConfigMarker, ConfigMarker)
	for _, s := range settings {
		kind := "s"
		if s.List {
			kind = "l"
		}
		fmt.Fprintf(&b, "c %s %s %s %s\n", s.Key, ShQuote(keyRegexp(s.Key)), ShQuote(s.Value), kind)
	}
	return b.String()
}

// keyRegexp is KEY as a sed/grep basic regular expression (keys hold letters and dots).
func keyRegexp(k string) string { return strings.ReplaceAll(k, ".", `\.`) }

// psConfigure is shConfigure for Windows, run under the lock in the step's
// own PowerShell (psScript): the same `config list`, comparison and
// `config set` per differing key. Reviewed, not run here (ps.go).
func psConfigure(b *strings.Builder, settings []ConfigSetting) {
	// PowerShell names ignore case: none of these may be the step's $A, $E,
	// $I, $K, $N, $O, $R, $S, $W, $X (the lock) or $want (the precondition).
	b.WriteString("$cl=@(& $A config list 2>&1|%{\"$_\"});$R=$LASTEXITCODE\nif($R -ne 0){$cl|Write-Output}else{\n")
	b.WriteString("function nl($cs){(@(($cs -replace '[\\[\\]]','') -split '[ ,]+'|?{$_})|Sort-Object -CaseSensitive) -join ','}\n")
	b.WriteString("function gv($ck){foreach($cln in $cl){if($cln -match ('^\\s*'+[regex]::Escape($ck)+'( \\(preview\\))?\\s*:\\s?(.*)$')){return @($true,$Matches[2].TrimEnd())}};return @($false,'')}\n")
	b.WriteString("$cws=@(")
	for i, s := range settings {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(b, "@(%s,%s,%s)", psQuote(s.Key), psQuote(s.Value), psQuote(strconv.FormatBool(s.List)))
	}
	b.WriteString(")\n")
	fmt.Fprintf(b, "foreach($cw in $cws){if(-not (gv $cw[0])[0]){$E.WriteLine('%sconfig-unsupported');$E.WriteLine('this agent has no setting '+$cw[0]+': upgrade it');$R=%d;break}}\n", ErrorMarker, ExitSetupFailed)
	b.WriteString("if($R -eq 0){foreach($cw in $cws){$cv=(gv $cw[0])[1];$cx=$cw[1];if($cw[2] -eq 'true'){$cv=nl $cv;$cx=nl $cx}\n")
	fmt.Fprintf(b, "if($cv -ceq $cx){'%s'+$cw[0]+' unchanged'}else{& $A config set $cw[0] $cw[1];$R=$LASTEXITCODE;if($R -ne 0){break};'%s'+$cw[0]+' set'}}}}\n", ConfigMarker, ConfigMarker)
}

// psConfigureStep is the whole Windows configure script after its first line:
// the agent located, the host lock taken (psLockAction), psConfigure, the end
// recorded (psEnd) however it ends.
func psConfigureStep(b *strings.Builder, h *inventory.Host) {
	b.WriteString("$E=[Console]::Error\n")
	if h.Agent.Path != "" {
		fmt.Fprintf(b, "$A=%s\n", psQuote(h.Agent.Path))
	} else {
		fmt.Fprintf(b, "$A=\"%s\"\n", WindowsAgent)
	}
	fmt.Fprintf(b, "if(-not(Test-Path -LiteralPath $A -PathType Leaf)){$E.WriteLine('%sagent-not-found');exit %d}\n", ErrorMarker, ExitAgentNotFound)
	psLockAction(b, StepConfigure)
	// Where it runs, for the stop step (ps.go's psStop takes the process tree
	// down); there is no private directory: the name only fits psStop's check.
	fmt.Fprintf(b, "$E.WriteLine(\"%spid=$PID pg= dir=$([IO.Path]::GetTempPath())arcfleet.$PID.configure\")\n", StartedMarker)
	b.WriteString("$R=1\ntry{\n")
	psConfigure(b, ConfigSettings(h))
	fmt.Fprintf(b, "}finally{%s}\nexit $R\n", psEnd(StepConfigure))
}

// Configures reports whether a host's planned steps include the configure step.
func Configures(planned []Step) bool {
	return slices.ContainsFunc(planned, func(s Step) bool { return s.Name == StepConfigure })
}

// WithConfigure puts the configure step first in a decided sequence of step
// names that connects (Decide never names it) when the host's plan has one:
// the agent is configured only when it is about to connect, never when it is
// found connected as intended or registered elsewhere (drift); and before a
// reconnect's disconnect, so a setting the agent refuses (too old for a key, a
// value it rejects) fails the host before its Azure resource is deleted. The
// settings are local and survive the disconnect.
func WithConfigure(seq []string, planned []Step) []string {
	if !slices.Contains(seq, StepConnect) || slices.Contains(seq, StepConfigure) || !Configures(planned) {
		return seq
	}
	return slices.Insert(slices.Clone(seq), 0, StepConfigure)
}
