package agent

import (
	"fmt"
	"strings"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

// The POSIX sh scripts of the Linux steps. Why they look the way they do:
//
//   - OpenSSH refuses session signals for root logins, and closing a session
//     signals nothing, so the controller cannot stop a command by signal. Every
//     action step therefore says where it runs (StartedMarker) and the
//     controller stops it with the stop step over a new session.
//   - The controller may vanish (SIGKILL, power loss, partition): a watchdog in
//     the step stops the agent and removes the private directory (the secret)
//     once the step has lived WATCHDOG seconds. It does not stop the agent when
//     the connection drops: a connect that can finish should finish, and a later
//     probe reads what it did.
//   - The agent runs in its own process group (setsid) so the step can stop it
//     with everything it started, and writes to files in the private directory,
//     not to the session: a session that dies must not kill it with SIGPIPE.
//   - The lock (hostlock.go) is on fd 9, inherited by the agent and closed in the
//     watchdog: held while the script or the agent lives.

// shLockDir finds the state directory and opens the lock on fd 9 (mode 0644:
// the unprivileged probe may test it).
// shStateDir is the state directory. Under become: sudo, sudo's env_reset
// drops ARCFLEET_STATE_DIR, so the wrapper passes the login's value as $1: the
// unprivileged probe and the root steps must agree.
const shStateDir = `S=${ARCFLEET_STATE_DIR:-${1:-` + DefaultStateDir + `}}
`

const shLockDir = shStateDir + `
command -v flock >/dev/null && command -v setsid >/dev/null || { echo '` + ErrorMarker + `util-linux-missing' >&2; echo 'flock and setsid (util-linux) are needed' >&2; exit ` + exitSetup + `; }
umask 022
{ { [ -d "$S" ] || mkdir -p "$S"; } && command exec 9>>"$S/lock"; } 2>/dev/null || { echo '` + ErrorMarker + `state-dir-failed' >&2; echo "$S" >&2; exit ` + exitSetup + `; }
`

// shLeaseCheck prints the owner record and exits when another run holds the
// host's lease (its step ended less than LEASE seconds ago, or it is running
// and its watchdog time has not passed; a step that died without recording its
// end, its pid gone, holds nothing), on file descriptor FD, exiting with EXIT.
const shLeaseCheck = `N=$(date +%s)
O=; { IFS= read -r O <"$S/owner"; } 2>/dev/null
case " $O " in *" run=$I "*) ;; *) U=${O##*until=}; U=${U%% *}; case $U in ''|*[!0-9]*) U=0;; esac
Z=${O#*pid=}; Z=${Z%% *}; case $Z in ''|*[!0-9]*) ;; *) [ -d "/proc/$Z" ] || U=0;; esac
[ "$U" -gt "$N" ] && { echo "` + BusyMarker + `$O" >&FD; exit EXIT; };; esac
`

func leaseCheck(fd, exit string) string {
	return strings.NewReplacer("FD", fd, "EXIT", exit).Replace(shLeaseCheck)
}

const exitSetup = "125"

// shHeader reads the stdin header: I (run), W (watchdog seconds), K (lease
// seconds), V (the last-step record the probe saw), C (the precondition, step.go).
const shHeader = `IFS=' ' read -r _ I W K V C _ || { echo '` + ErrorMarker + `no-input' >&2; exit ` + exitSetup + `; }
case $W in ''|*[!0-9]*) W=900;; esac
case ${K:-} in ''|*[!0-9]*) K=0;; esac
`

func shAgentLines(h *inventory.Host) string {
	if h.Agent.Path != "" {
		return fmt.Sprintf("A=%s\n", ShQuote(h.Agent.Path))
	}
	return fmt.Sprintf("A=$(command -v azcmagent 2>/dev/null) || A=%s\n", LinuxAgentFallback)
}

// shStepScript renders the POSIX sh script of a step.
func shStepScript(h *inventory.Host, sp stepSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# arcfleet %s\nset -u\n", sp.name)
	switch sp.name {
	case StepProbe:
		shProbe(&b, h)
		return b.String()
	case StepStop:
		shStop(&b)
		return b.String()
	case StepCheck:
		shCheck(&b, h)
		return b.String()
	}
	if sp.args != nil {
		b.WriteString(shAgentLines(h))
		fmt.Fprintf(&b, "[ -x \"$A\" ] || { echo '%sagent-not-found' >&2; exit %d; }\n", ErrorMarker, ExitAgentNotFound)
	}
	b.WriteString(shHeader)
	b.WriteString(shLockDir)
	// flock -n polled (busybox's flock has no -w): 5 s for a step about to end.
	fmt.Fprintf(&b, "i=0; until flock -n 9; do [ $i -ge 5 ] && { echo \"%s$(cat \"$S/owner\" 2>/dev/null)\" >&2; exit %s; }; sleep 1; i=$((i + 1)); done\n", BusyMarker, exitSetup)
	b.WriteString(leaseCheck("2", exitSetup))
	// The boot clock's seconds beside N: the end is then stamped N plus the
	// time passed, read with the read builtin instead of a second date(1)
	// (one program fewer per step; date when /proc/uptime cannot be read).
	b.WriteString("u=; { read -r u _ </proc/uptime; } 2>/dev/null; u=${u%.*}\n")
	// Another run's step that ended after this run's probe (V: the last-step
	// record the probe saw, RUN@AT or -) changed the host: decide again.
	fmt.Fprintf(&b, "X=; { IFS= read -r X <\"$S/last\"; } 2>/dev/null\nr=${X#run=}; r=${r%%%% *}; a=${X##*at=}; a=${a%%%% *}\n"+
		"[ -n \"$X\" ] && [ \"$r\" != \"$I\" ] && [ \"${V:--}\" != '?' ] && [ \"$r@$a\" != \"${V:--}\" ] && { echo \"%schanged since the probe: $X\" >&2; exit %s; }\n", BusyMarker, exitSetup)
	if sp.name == StepConnect {
		shPrecondition(&b)
	}
	fmt.Fprintf(&b, "echo \"run=$I step=%s pid=$$ since=$N until=$((N + W))\" >\"$S/owner\"\n", sp.name)
	log := h.Agent.Log
	if log == "" {
		log = LinuxAgentLog
	}
	fmt.Fprintf(&b, "L=%s\n", ShQuote(log))
	// Remember the log's size: after the run, exactly the appended lines are shown.
	// Its first line too (the read builtin: no process): a log rotated or
	// truncated during the run, whose first line then no longer starts with
	// it, is shown whole.
	b.WriteString("B=$(wc -c 2>/dev/null <\"$L\") || B=0\nB=$((B))\nH=; { IFS= read -r H <\"$L\"; } 2>/dev/null\n")
	// P: the agent's process group; D: the private directory.
	// A lost session must not kill the script before it has cleaned up.
	b.WriteString("P=\nD=\ntrap '' PIPE\n")
	// o copies its stdin to its stdout with the read and printf builtins (a last
	// line without a newline stays without one) and hands what is left after
	// 4 KiB to cat: dash reads a byte per system call, so beyond that one cat
	// costs less than the loop, and below it no program runs at all. Not
	// exact for one byte: a NUL in the first 4 KiB is dropped (the shells'
	// read cannot hold it); the agent prints text, and what it printed is
	// classified, not stored as a file.
	b.WriteString("o(){ n=0; while IFS= read -r l; do printf '%s\\n' \"$l\"; n=$((n + ${#l} + 1)); [ \"$n\" -lt 4096 ] || { cat; return; }; done; printf '%s' \"$l\"; }\n")
	// g removes the directory (the secret with it) and relays the agent's
	// output from the files, opened before on fds 5 and 6: one rm, and the
	// config file gone before the output is relayed. `command exec`: a file
	// that cannot be opened must not end the shell (as a special builtin's
	// failed redirection would) before rm has run. On exit, however the
	// script ends, g runs and the end is recorded (the lease then lasts K
	// seconds, for this run's next step).
	b.WriteString("g(){ [ -n \"$D\" ] || return 0; command exec 5</dev/null 6</dev/null; [ -f \"$D/out\" ] && command exec 5<\"$D/out\"; [ -f \"$D/err\" ] && command exec 6<\"$D/err\"; rm -rf \"$D\"; D=; o <&5; o <&6 >&2; exec 5<&- 6<&-; }\n")
	fmt.Fprintf(&b, "trap 'R=$?; g; umask 022; v=; { read -r v _ </proc/uptime; } 2>/dev/null; v=${v%%.*}; case \"$u:$v\" in *[!0-9:]*|:*|*:) M=$(date +%%s);; *) M=$((N + v - u));; esac; echo \"run=$I step=%s exit=$R at=$M\" >\"$S/last\"; echo \"run=$I step=%s pid= since=$M until=$((M + K))\" >\"$S/owner\"' EXIT\n", sp.name, sp.name)
	// On a signal: stop the agent's group and exit (the EXIT trap cleans up).
	// $!: a signal between the agent's start and P=$! still reaches it.
	// P=0 once the agent has ended: $! is then the watchdog, no group to stop.
	b.WriteString("k(){ P=${P:-${!:-}}; [ -n \"$P\" ] && [ \"$P\" != 0 ] && kill -TERM -\"$P\" 2>/dev/null; exit $1; }\n")
	b.WriteString("trap 'k 129' HUP\ntrap 'k 130' INT\ntrap 'k 143' TERM\n")
	b.WriteString("umask 077\nT=${TMPDIR:-/tmp}\n")
	b.WriteString(shSweep)
	fmt.Fprintf(&b, "D=$(mktemp -d \"$T/arcfleet.$$.XXXXXX\") || { echo '%smktemp-failed' >&2; exit %d; }\n", ErrorMarker, ExitSetupFailed)
	fmt.Fprintf(&b, "echo \"%spid=$$ pg= dir=$D\" >&2\n", StartedMarker)
	var run string
	switch {
	case sp.install: // install.go
		run = shInstall(&b, h, sp)
	case sp.args == nil: // restart-agent-service
		run = "systemctl restart himdsd"
	case sp.name == StepConfigure: // configure.go, in the agent's place
		run = "sh -c " + ShQuote(shConfigure(ConfigSettings(h))) + " arcfleet \"$A\""
	case sp.config:
		// The config lines up to InputEnd: read and printf are shell builtins,
		// so the secret is in no process's arguments.
		// Certificate mode: the lines after CertStart are the PEM, written to its
		// own file in the private directory, whose path replaces
		// CertPathPlaceholder in the config (refused if it needs JSON escaping).
		w := fmt.Sprintf("{ echo '%sconfig-write-failed' >&2; exit %d; }", ErrorMarker, ExitSetupFailed)
		fmt.Fprintf(&b, "f=\"$D/%s\"; e='%s'; : >\"$f\" || %s\nwhile IFS= read -r l && [ \"$l\" != '%s' ]; do\n"+
			"if [ \"$l\" = '%s' ]; then f=\"$D/%s\"; : >\"$f\" || %s; continue; fi\n"+
			"case $l in *\"$e\"*) case $D in *[\\\\\\\"]*) %s;; esac; l=\"${l%%%%\"$e\"*}$D/%s${l#*\"$e\"}\";; esac\n"+
			"printf '%%s\\n' \"$l\" >>\"$f\" || %s\ndone\n",
			configFileName, CertPathPlaceholder, w, InputEnd, CertStart, certFileName, w, w, certFileName, w)
		run = fmt.Sprintf("\"$A\" %s --config \"$D/%s\" --json --log-stderr", strings.Join(sp.args, " "), configFileName)
	default:
		run = fmt.Sprintf("\"$A\" %s --json --log-stderr", strings.Join(sp.args, " "))
	}
	fmt.Fprintf(&b, "setsid %s </dev/null >\"$D/out\" 2>\"$D/err\" &\nP=$!\n", run)
	fmt.Fprintf(&b, "echo \"%spid=$$ pg=$P dir=$D\" >&2\n", StartedMarker)
	// The watchdog bounds the agent's life on the host by W seconds, then stops
	// the script and the agent's group.
	// It follows the agent, not the script: a script killed outright (SIGKILL)
	// leaves the agent bounded all the same, and the directory removed.
	fmt.Fprintf(&b, "( trap '' HUP INT TERM; exec 9>&-; i=0; while [ $i -lt \"$W\" ] && kill -0 \"$P\" 2>/dev/null; do sleep 1; i=$((i + 1)); done\n"+
		"if kill -0 \"$P\" 2>/dev/null; then kill -TERM $$ 2>/dev/null; kill -TERM -\"$P\"; j=0; while [ $j -lt %d ] && kill -0 -\"$P\" 2>/dev/null; do sleep 1; j=$((j + 1)); done; kill -KILL -\"$P\" 2>/dev/null; fi\n"+
		"kill -0 $$ 2>/dev/null || rm -rf \"$D\" ) </dev/null >/dev/null 2>&1 &\nQ=$!\n", int(StopGrace.Seconds()))
	// The agent runs in the background so a signal interrupts `wait` at once.
	b.WriteString("wait \"$P\"\nR=$?\nP=0\nkill -KILL \"$Q\" 2>/dev/null\ng\n")
	fmt.Fprintf(&b, "echo '%s' >&2\n", AgentLogMarker)
	// The log's lines are evidence for a failure: a step that succeeded shows
	// none (two programs fewer).
	b.WriteString("if [ \"$R\" != 0 ] && [ -r \"$L\" ]; then\nZ=$(wc -c <\"$L\")\nG=; { IFS= read -r G <\"$L\"; } 2>/dev/null\n[ \"$((Z))\" -lt \"$B\" ] && B=0\ncase $G in \"$H\"*) ;; *) B=0;; esac\ntail -c +$((B + 1)) \"$L\" >&2\nfi\nexit $R\n")
	return b.String()
}

// shProbe: read-only, unprivileged: the lock and lease, the last step, the
// agent's state and version (from show's agentVersion; `azcmagent version`
// only when show --json lacks it).
func shProbe(b *strings.Builder, h *inventory.Host) {
	b.WriteString(shAgentLines(h))
	fmt.Fprintf(b, "[ -x \"$A\" ] || { echo '%sagent-not-found' >&2; exit %d; }\n", ErrorMarker, ExitAgentNotFound)
	b.WriteString("IFS=' ' read -r _ I W _ || I=\n" + shStateDir)
	b.WriteString("if [ -r \"$S/lock\" ] && command -v flock >/dev/null; then\n")
	fmt.Fprintf(b, "if ! flock -n \"$S/lock\" true 2>/dev/null; then echo \"%s$(cat \"$S/owner\" 2>/dev/null)\"; else (\n", BusyMarker)
	b.WriteString(leaseCheck("1", "0"))
	b.WriteString(") fi\nfi\n")
	// "?": the state is there but this login cannot read it.
	fmt.Fprintf(b, "if [ -r \"$S/last\" ]; then echo \"%s$(cat \"$S/last\")\"; elif [ -e \"$S/last\" ] || { [ -e \"$S\" ] && [ ! -r \"$S\" ]; }; then echo '%s?'; fi\n", LastMarker, LastMarker)
	// `version` only for agents whose show --json has no agentVersion.
	b.WriteString("J=$(\"$A\" show --json </dev/null)\nR=$?\nprintf '%s\\n' \"$J\"\n")
	fmt.Fprintf(b, "case $J in *'\"agentVersion\"'*) ;; *) printf '%s%%s\\n' \"$(\"$A\" version 2>/dev/null </dev/null | head -n 1)\";; esac\nexit $R\n", AgentVersionMarker)
}

// shStop ends an action step the controller gave up on (stdin: "PID GROUP DIR",
// from its StartedMarker): TERM to the script (its trap stops the agent and
// removes the directory) and to the agent's group, KILL after StopGrace, then
// the directory is removed and the result confirmed. A free lock means nothing
// of the step is left running, so a PID reused since is never signalled.
func shStop(b *strings.Builder) {
	fmt.Fprintf(b, "read -r Z G D || exit %s\ncase \"$Z\" in ''|*[!0-9]*) exit %s;; esac\ncase \"$G\" in *[!0-9]*) exit %s;; 0|1) G=;; esac\n", exitSetup, exitSetup, exitSetup)
	fmt.Fprintf(b, "case \"$D\" in /*/arcfleet.*) ;; *) echo '%sbad-stop-input' >&2; exit %s;; esac\n", ErrorMarker, exitSetup)
	b.WriteString(shStateDir)
	b.WriteString("a(){ ! flock -n \"$S/lock\" true 2>/dev/null && { kill -0 \"$Z\" || { [ -n \"$G\" ] && kill -0 -\"$G\"; }; } 2>/dev/null; }\n")
	b.WriteString("if a; then kill -TERM \"$Z\" 2>/dev/null; [ -n \"$G\" ] && kill -TERM -\"$G\" 2>/dev/null\n")
	fmt.Fprintf(b, "i=0; while [ $i -lt %d ] && a; do sleep 1; i=$((i + 1)); done\n", int(StopGrace.Seconds()))
	b.WriteString("a && { [ -n \"$G\" ] && kill -KILL -\"$G\"; kill -KILL \"$Z\"; sleep 1; } 2>/dev/null\nfi\n")
	b.WriteString("rm -rf \"$D\" 2>/dev/null\n")
	fmt.Fprintf(b, "if a; then echo \"%srunning pid $Z, process group $G\"; exit 1; fi\n", StopMarker)
	fmt.Fprintf(b, "[ -e \"$D\" ] && { echo \"%sleft $D\"; exit 1; }\necho '%sclean'\n", StopMarker, StopMarker)
}

// shPrecondition: with C=unregistered (step.go) the connect step reads the
// agent's state under the host lock, prints it (ShowMarker, LastMarker, the
// version when show lacks it) and goes on only when show --json says status
// Disconnected with an empty resourceId; otherwise it refuses before it records
// itself as the host's owner. Each key is read at its first occurrence: the
// agent prints status and resourceId before its nested objects (tags,
// services), and a tag value cannot fake a key (its quotes are escaped).
// Anything unexpected (show failed, no JSON, another status, a key missing or
// with another value) refuses, which only costs the controller a second
// session.
func shPrecondition(b *strings.Builder) {
	b.WriteString("if [ \"${C:--}\" = " + ExpectUnregistered + " ]; then\n")
	// timeout(1) bounds show by the watchdog's time: the lock is held and no
	// watchdog runs yet. Without timeout(1): refused (two sessions instead).
	b.WriteString("if command -v timeout >/dev/null; then J=$(timeout \"$W\" \"$A\" show --json </dev/null 2>/dev/null); Y=$?; else J=; Y='missing: timeout(1)'; fi\n")
	fmt.Fprintf(b, "printf '%s\\n%%s\\n%s\\n' \"$J\"\n", ShowMarker, ShowEndMarker)
	fmt.Fprintf(b, "[ -n \"$X\" ] && echo \"%s$X\"\n", LastMarker)
	fmt.Fprintf(b, "case $J in *'\"agentVersion\"'*) ;; *) printf '%s%%s\\n' \"$(\"$A\" version 2>/dev/null </dev/null | head -n 1)\";; esac\n", AgentVersionMarker)
	// v KEY: r is what follows the first "KEY" in the JSON, blanks and the
	// colon skipped (builtins only; "" when the key is missing).
	b.WriteString("v(){ r=${J#*\\\"$1\\\"}; [ \"$r\" != \"$J\" ] || { r=; return; }; while :; do case $r in [[:space:]:]*) r=${r#?};; *) return;; esac; done; }\nF=\n")
	b.WriteString("v status; case $r in '\"Disconnected\"'[[:space:],}]*) ;; *) F=status;; esac\n")
	b.WriteString("v resourceId; case $r in '\"\"'[[:space:],}]*) ;; *) F=\"${F:+$F, }resourceId\";; esac\n")
	fmt.Fprintf(b, "[ \"$Y\" = 0 ] || F=\"show: $Y\"\n[ -z \"$F\" ] || { echo \"%sexpected %s, show --json differs ($F)\" >&2; exit %d; }\nfi\n", StateChangedMarker, ExpectUnregistered, ExitStateChanged)
}
