package agent

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The host-side protocol that keeps one agent operation per host and lets the
// controller stop what it started. One owner: the scripts (sh.go, ps.go) write
// these markers and files, the executor reads them through the functions here.
//
// Every step reads one header line on stdin, "arcfleet RUN WATCHDOG LEASE SEEN": RUN
// names the run (the host's lease belongs to it), WATCHDOG is how many seconds
// the step may live on the host before it stops itself (the attempt's timeout
// plus a margin), LEASE how many seconds after its end the host stays this
// run's (Lease when another step of the run follows, else 0), SEEN the host's
// last-step record as this run's probe saw it: when another run's step has
// ended since, the action step refuses (BusyMarker) and the executor probes and
// decides again, so two runs that probed at once do not both act. Steps with a --config file then read the file's lines up to a line
// InputEnd. No script reads further, and none takes EOF on stdin for "the
// controller is gone": a dropped connection must not kill a connect that can
// still finish (the watchdog bounds it instead).
//
// Linux: the lock is flock(1) on STATE/lock, where STATE is $ARCFLEET_STATE_DIR
// or DefaultStateDir. The script holds it on fd 9 and the agent inherits it, so
// the lock is held exactly as long as the script or the agent lives, whatever
// kills them. STATE/owner says who holds or last held it ("run=R step=S pid=P
// since=T until=U"): a run other than R treats the host as busy until U: while
// the step runs, and for LEASE seconds after it, the gap between the steps of
// one run (reconnect's disconnect and connect). STATE/last records how the last step ended ("run=R step=S
// exit=N at=T"), so an attempt whose connection was lost can be resolved later.
const (
	// InputEnd ends the --config lines on stdin.
	InputEnd = "#arcfleet:end"
	// StartedMarker starts the stderr line an action step prints once its
	// private directory exists and again once the agent runs:
	// "pid=SCRIPT pg=AGENT_GROUP dir=PRIVATE_DIR" (pg empty before the agent starts).
	StartedMarker = "#arcfleet:started: "
	// BusyMarker starts the line (probe: stdout; action steps: stderr) saying
	// another operation holds the host: the owner record follows.
	BusyMarker = "#arcfleet:busy: "
	// LastMarker starts the probe's stdout line with the host's last-step record.
	LastMarker = "#arcfleet:last: "
	// StopMarker starts the stop step's verdict: "clean", or "running PIDS",
	// or "left PATH" (then the operator must remove PATH).
	StopMarker = "#arcfleet:stop: "

	// DefaultStateDir holds the lock and the owner and last records on Linux
	// (root-owned; the lock file is readable so that the unprivileged probe
	// can test it). ARCFLEET_STATE_DIR on the host overrides it.
	DefaultStateDir = "/var/lib/arcfleet"
	// WindowsStateDir is the same on Windows.
	WindowsStateDir = `$env:ProgramData\arcfleet`

	// StopGrace is how long a stopped agent gets between TERM and KILL.
	StopGrace = 10 * time.Second
	// Lease is how long a finished step keeps the host for its run when the
	// run's next step follows (reconnect's disconnect, then connect).
	Lease = 30 * time.Second
)

// Input is the stdin of a step: the header line, then the --config lines (if
// any) and InputEnd. runID is reduced to characters safe for the scripts.
func Input(runID string, watchdog, lease time.Duration, seen LastStep, config []byte) []byte {
	secs := int(watchdog / time.Second)
	if secs < 1 {
		secs = 1
	}
	b := fmt.Appendf(nil, "arcfleet %s %d %d %s\n", SafeRunID(runID), secs, int(lease/time.Second), seen.key())
	if config != nil {
		b = append(b, config...)
		if len(config) > 0 && config[len(config)-1] != '\n' {
			b = append(b, '\n')
		}
		b = append(b, InputEnd+"\n"...)
	}
	return b
}

// SafeRunID keeps letters, digits, '.', '_' and '-' (others become '_'), at most 64.
func SafeRunID(id string) string {
	if id == "" {
		id = "-"
	}
	b := []byte(id)
	if len(b) > 64 {
		b = b[len(b)-64:]
	}
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// Started is what an action step said about itself on the host.
type Started struct {
	PID   int    // the step's script (sh or powershell)
	Group int    // the agent's process group (Linux; 0 before the agent starts)
	Dir   string // the private directory holding the --config file
}

// ParseStarted returns the last StartedMarker line of a step's stderr.
func ParseStarted(stderr string) (Started, bool) {
	var s Started
	found := false
	for line := range strings.Lines(stderr) {
		rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), StartedMarker)
		if !ok {
			continue
		}
		// dir= comes last and runs to the end of the line: a temporary
		// directory's path may hold spaces (C:\Users\John Smith\...).
		head, dir, ok := strings.Cut(rest, " dir=")
		f := fields(head)
		pid, err := strconv.Atoi(f["pid"])
		if !ok || err != nil || pid <= 1 || dir == "" {
			continue
		}
		g, _ := strconv.Atoi(f["pg"])
		if g <= 1 {
			g = 0
		}
		s, found = Started{PID: pid, Group: g, Dir: dir}, true
	}
	return s, found
}

// StopInput is the stop step's stdin: which processes and directory to end.
func StopInput(s Started) []byte {
	return fmt.Appendf(nil, "%d %d %s\n", s.PID, s.Group, s.Dir)
}

// StopInstallerRunning starts a Windows stop verdict whose step's Windows
// Installer work goes on in its service (the private directory may be gone).
const StopInstallerRunning = "running Windows Installer"

// StopVerdict reads the stop step's stdout: clean is true when nothing of the
// step is left on the host; otherwise left says what is (processes or path).
func StopVerdict(stdout string) (clean bool, left string) {
	for line := range strings.Lines(stdout) {
		if rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), StopMarker); ok {
			if rest == "clean" {
				return true, ""
			}
			left = rest
		}
	}
	if left == "" {
		left = "no verdict from the stop step"
	}
	return false, left
}

// Busy reads a BusyMarker line from a step's output: the owner record, or "".
func Busy(out string) string {
	for line := range strings.Lines(out) {
		if rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), BusyMarker); ok {
			if rest == "" {
				rest = "an unknown operation"
			}
			return rest
		}
	}
	return ""
}

// LastStep is the host's record of its last finished step.
type LastStep struct {
	Run  string
	Step string
	Exit int // -1 when the record has none
	At   time.Time
	// Unreadable: the record exists but the probe's login cannot read it; an
	// action step then does not compare it (SEEN "?").
	Unreadable bool
}

// key is how an action step recognises the record its run's probe saw:
// "RUN@UNIXTIME", or "-" for none.
func (l LastStep) key() string {
	if l.Unreadable {
		return "?"
	}
	if l.Run == "" {
		return "-"
	}
	return fmt.Sprintf("%s@%d", l.Run, l.At.Unix())
}

// ParseLast reads the probe's LastMarker line.
func ParseLast(stdout string) (LastStep, bool) {
	for line := range strings.Lines(stdout) {
		rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), LastMarker)
		if !ok {
			continue
		}
		if rest == "?" {
			return LastStep{Unreadable: true}, true
		}
		f := fields(rest)
		at, err := strconv.ParseInt(f["at"], 10, 64)
		if err != nil || f["run"] == "" {
			return LastStep{}, false
		}
		exit, err := strconv.Atoi(f["exit"])
		if err != nil { // Windows writes $LASTEXITCODE, which may be empty
			exit = -1
		}
		return LastStep{Run: f["run"], Step: f["step"], Exit: exit, At: time.Unix(at, 0).UTC()}, true
	}
	return LastStep{}, false
}

// DescribeOwner turns an owner record into words for a report.
func DescribeOwner(rec string) string {
	f := fields(rec)
	if f["run"] == "" {
		return rec
	}
	s := fmt.Sprintf("run %s (%s", f["run"], f["step"])
	if t, err := strconv.ParseInt(f["since"], 10, 64); err == nil && t > 0 {
		s += ", since " + time.Unix(t, 0).UTC().Format(time.RFC3339)
	}
	return s + ")"
}

func fields(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Fields(s) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
