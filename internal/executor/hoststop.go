package executor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
)

// One operation per host, and stop means stopped: the executor's half of the
// host-side protocol in internal/agent/hostlock.go.
const (
	// watchdogGrace is added to the attempt's time for the host-side watchdog:
	// the controller stops a step at its timeout; the watchdog is the backstop
	// when the controller cannot (killed, partitioned).
	watchdogGrace = 30 * time.Second
	// stopBudget bounds stopping one step on the host, redial included. It does
	// not come from the run's context: an interrupted run must still stop.
	stopBudget = agent.StopGrace + 30*time.Second
	// busyPoll is how long the first wait for a busy host is; each next one
	// doubles, up to busyPollMax (each poll is a probe, with its own log).
	busyPoll    = 3 * time.Second
	busyPollMax = 30 * time.Second
	// maxBusyRounds bounds how often one try re-probes after another operation
	// took the host between its probe and its action.
	maxBusyRounds = 3
)

// hostLockID names this run on the hosts (their lease and last-step records):
// the run directory's name and a digest of its absolute path, so a resume of
// the same directory is the same run and two run directories never are.
func hostLockID(runDir string) string {
	if runDir == "" {
		return "probe"
	}
	abs, err := filepath.Abs(runDir)
	if err != nil {
		abs = runDir
	}
	sum := sha256.Sum256([]byte(abs))
	base := filepath.Base(abs)
	if len(base) > 40 {
		base = base[len(base)-40:]
	}
	return agent.SafeRunID(base + "-" + hex.EncodeToString(sum[:4]))
}

// busyWait is how long a host held by another operation is waited for: the
// longest such an operation can live with this run's settings.
func (x *Executor) busyWait() time.Duration {
	if x.BusyWait > 0 {
		return x.BusyWait
	}
	return x.timeout() + agent.StopGrace + watchdogGrace
}

// stepInput is what a step reads on stdin: the header (run, watchdog), then
// the --config lines for connect and disconnect.
func (hr *hostRun) stepInput(st agent.Step, attempt time.Duration) []byte {
	var lease time.Duration
	if hr.leaseNext {
		lease = agent.Lease
	}
	config := agent.StepInput(st, hr.h, hr.cs.cred, hr.loginValue(st.Name))
	if hr.expect != "" {
		return agent.StepStdin(st, agent.InputExpect(hr.r.lockID, attempt+watchdogGrace, lease, hr.expect, config))
	}
	return agent.StepStdin(st, agent.Input(hr.r.lockID, attempt+watchdogGrace, lease, hr.show.Last, config))
}

// stopRemote ends a step the controller gave up on (timeout, interrupt): the
// stop step, over the host's connection or a new one, with its own time budget.
// clean reports that nothing of the step is left on the host; otherwise left
// names what is.
func (hr *hostRun) stopRemote(s agent.Started, log *attemptLog) (clean bool, left string) {
	ctx, cancel := context.WithTimeout(context.Background(), stopBudget)
	defer cancel()
	st := hr.step(agent.StepStop)
	run := func() (string, error) {
		var out, errb bytes.Buffer
		_, err := hr.conn.Run(ctx, st.Command, bytes.NewReader(agent.StepStdin(st, agent.StopInput(s))), &out, &errb)
		if log != nil {
			for _, l := range strings.Split(strings.TrimRight(out.String()+errb.String(), "\n"), "\n") {
				log.writeLine("stop| ", []byte(l))
			}
		}
		return out.String(), err
	}
	var out string
	err := fmt.Errorf("no connection")
	if hr.conn != nil {
		out, err = run()
	}
	if err != nil {
		// The step's session or connection may be what failed: a new connection.
		hr.closeConn()
		conn, derr := hr.r.x.Dialer.Dial(ctx, hr.tgt)
		if derr != nil {
			return false, fmt.Sprintf("%s (not confirmed: %s)", s.Dir, hr.mask(derr.Error()))
		}
		hr.conn = conn
		if out, err = run(); err != nil {
			return false, fmt.Sprintf("%s (not confirmed: %s)", s.Dir, hr.mask(err.Error()))
		}
	}
	clean, left = agent.StopVerdict(out)
	return clean, stopLeft(clean, left, s.Dir)
}

// stopLeft names the step's private directory in what a stop left, unless the
// verdict names it or is Windows Installer's (whose verdict says "left DIR"
// itself when the directory is there: naming it otherwise would say it was left).
func stopLeft(clean bool, left, dir string) string {
	if clean || strings.Contains(left, dir) || strings.HasPrefix(left, agent.StopInstallerRunning) {
		return left
	}
	return left + "; private directory " + dir
}

// leftover records on the host's result what could not be confirmed removed.
func (hr *hostRun) leftover(left string) {
	if hr.res.Leftover == "" {
		hr.res.Leftover = left
	} else if !strings.Contains(hr.res.Leftover, left) {
		hr.res.Leftover += "; " + left
	}
}

// waitNotBusy probes the host until no other operation holds it, for at most
// busyWait. It returns the last probe, or a final outcome.
func (hr *hostRun) waitNotBusy(ctx context.Context, show agent.AgentShow) (agent.AgentShow, tryOutcome, bool) {
	r := hr.r
	until := r.x.now().Add(r.x.busyWait())
	said, poll := "", busyPoll
	for show.Busy != "" {
		owner := agent.DescribeOwner(show.Busy)
		if !r.x.now().Before(until) {
			return show, tryOutcome{final: true, outcome: results.OutcomeFailed, diag: results.Diagnosis{Code: codeHostBusy, Class: results.ClassOf(codeHostBusy)}}.withMsg(results.M("busy_still_m", r.x.busyWait().String()).With(ownerMsg(show.Busy))), false
		}
		if owner != said { // once per holder, not once per poll
			r.emit(Event{Kind: EventWarning, Host: hr.h.Name, Message: "waiting: another operation holds the host: " + owner})
			said = owner
		}
		if err := r.x.sleep(ctx, min(poll, max(until.Sub(r.x.now()), 0))); err != nil {
			return show, hr.interrupted(tryOutcome{}), false
		}
		poll = min(2*poll, busyPollMax)
		po := hr.runStep(ctx, hr.step(agent.StepProbe), false)
		if !po.ok() {
			return show, stepFailure(po, agent.StepProbe), false
		}
		s, err := agent.ParseProbe(po.stdout)
		if err != nil {
			return show, tryOutcome{final: true, outcome: results.OutcomeFailed, diag: results.Diagnosis{Code: codeProbeOutput, Class: results.ClassOf(codeProbeOutput)}}.withMsg(maskedErrMsg(err, hr.mask)), false
		}
		show = s
	}
	return show, tryOutcome{}, true
}

// resolveUnknown reports, once a probe has seen the host again, how an action
// step whose connection was lost ended there.
func (hr *hostRun) resolveUnknown(show agent.AgentShow) {
	if hr.unknown == "" {
		return
	}
	last := results.M("resolved_none")
	if l := show.Last; l.Run == hr.r.lockID {
		last = results.M("resolved_last", l.Step, strconv.Itoa(l.Exit), l.At.Format(time.RFC3339))
	}
	status := results.M(results.MsgText, show.Status)
	if show.Status == "" {
		status = results.M("resolved_no_status")
	}
	m := results.M("resolved", hr.unknown).With(last, status)
	msg := m.Text("en")
	hr.r.emit(Event{Kind: EventWarning, Host: hr.h.Name, Message: msg})
	hr.resolved, hr.resolvedMsg = msg, m
	hr.unknown = ""
}

// afterLostStep handles an action step whose Run ended without an exit status.
// When the controller gave up on it (timeout, interrupt) it is stopped on the
// host now. When the connection failed under it, it is left to finish: the
// next probe waits for it and reads what it did (resolveUnknown).
func (hr *hostRun) afterLostStep(step string, kind transport.Kind, stderr string, log *attemptLog, o *stepOut) {
	if kind != transport.Timeout && kind != transport.Canceled {
		hr.unknown = step
		return
	}
	s, ok := agent.ParseStarted(stderr)
	if !ok {
		// It had not reported itself: nothing to aim at. Its watchdog bounds it,
		// and the next probe waits while it holds the host.
		hr.unknown = step
		o.stopM = results.M("stop_not_reported")
		o.stopped = o.stopM.Text("en")
		return
	}
	if clean, left := hr.stopRemote(s, log); clean {
		o.stopM, o.clean = results.M("stop_done"), true
		o.stopped = o.stopM.Text("en")
	} else {
		o.stopM = results.M("stop_unconfirmed", left)
		o.stopped = o.stopM.Text("en")
		hr.leftover(left)
	}
}
