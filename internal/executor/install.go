package executor

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/results"
)

// The install and upgrade steps (internal/agent/install.go). Actions install
// and upgrade run the step alone; connect with agent.install runs it first in
// every try, then probes and connects as without it. The step is idempotent
// on the host (it skips a present, new-enough agent), so a retry or a resumed
// run simply runs it again.

// installStepOf returns the plan's install or upgrade step of the host.
func (hr *hostRun) installStepOf() (agent.Step, bool) {
	for _, s := range hr.hp.Steps {
		if s.Name == agent.StepInstall || s.Name == agent.StepUpgrade {
			return s, true
		}
	}
	return agent.Step{}, false
}

// packageRefusal is the try's outcome for a package the controller cannot
// send (agent.OpenPackage's error): final, nothing ran on the host.
func (hr *hostRun) packageRefusal(err error) tryOutcome {
	code := "HOST-PACKAGE-UNREADABLE"
	if errors.Is(err, agent.ErrPackageChanged) {
		code = "HOST-PACKAGE-DIGEST"
	}
	return said(tryOutcome{final: true, outcome: results.OutcomeFailed, diag: results.Diagnosis{Code: code, Class: results.ClassOf(code)}},
		results.M("package_refused").With(maskedErrMsg(err, hr.mask)))
}

// install runs the host's install/upgrade step when its plan has one. next
// is true when the try goes on (connect after an install); otherwise t is
// the try's outcome.
func (hr *hostRun) install(ctx context.Context) (t tryOutcome, next bool) {
	st, ok := hr.installStepOf()
	if !ok {
		return tryOutcome{}, true
	}
	if st.Package != nil {
		// A package missing, unreadable or of another size on the controller
		// is refused here, before anything runs on the host; other bytes of
		// the same size, by the host's SHA-256 check.
		f, err := agent.OpenPackage(st.Package)
		if err != nil {
			return hr.packageRefusal(err), false
		}
		f.Close()
	}
	prev := hr.lastAct
	a := hr.r.p.Action
	// Connect follows: the host stays this run's between the two (Lease).
	hr.leaseNext = a != agent.ActionInstall && a != agent.ActionUpgrade
	o := hr.runStep(ctx, st, true)
	// Installing does not register anything: what Decide and the one-session
	// path read of "acted on" stays as it was.
	hr.lastAct = prev
	if o.busy != "" {
		return said(tryOutcome{diag: results.Diagnosis{Code: codeHostBusy, Class: results.ClassOf(codeHostBusy)}},
			results.M("busy_holds_m").With(ownerMsg(o.busy))), false
	}
	if !o.ok() {
		return stepFailure(o, st.Name), false
	}
	verdict, version, found := agent.InstallResult(o.stdout)
	if !found {
		return said(tryOutcome{final: true, outcome: results.OutcomeFailed, diag: results.Diagnosis{Code: codeProbeOutput, Class: results.ClassOf(codeProbeOutput)}},
			results.M("install_no_verdict", st.Name)), false
	}
	var whatMsg results.Msg
	switch verdict {
	case "skipped":
		whatMsg = results.M("install_skipped", version, st.Name)
	case "upgraded":
		whatMsg = results.M("install_upgraded", version)
	default:
		whatMsg = results.M("install_installed", version)
	}
	hr.noteMsg(whatMsg)
	if a != agent.ActionInstall && a != agent.ActionUpgrade {
		return tryOutcome{}, true
	}
	out := results.OutcomeOK
	if verdict == "skipped" {
		out = results.OutcomeUnchanged
	}
	return said(tryOutcome{final: true, outcome: out, diag: o.diag}, whatMsg), false
}

// stepReader is a step's stdin: stepInput, then for a step with a package
// the package's bytes (.deb, .rpm or .msi), read from the file as they are
// sent (a package is never held in memory whole, whatever the concurrency).
// close ends it.
func (hr *hostRun) stepReader(st agent.Step, attempt time.Duration) (r io.Reader, closeFn func()) {
	if st.Name != agent.StepInstall && st.Name != agent.StepUpgrade {
		return bytes.NewReader(hr.stepInput(st, attempt)), func() {}
	}
	// No probe decided this step: it reads the agent's version itself under
	// the host lock, so the last-step record is not compared (SEEN "?").
	var lease time.Duration
	if hr.leaseNext {
		lease = agent.Lease
	}
	in := bytes.NewReader(agent.StepStdin(st, agent.Input(hr.r.lockID, attempt+watchdogGrace, lease, agent.LastStep{Unreadable: true}, nil)))
	if st.Package == nil {
		return in, func() {}
	}
	f, err := agent.OpenPackage(st.Package)
	if err != nil {
		// The script reads fewer bytes than it needs and refuses (package-digest);
		// the controller's reason goes to the report as a note.
		hr.noteMsg(errMsg(err))
		return in, func() {}
	}
	// Raw to a Linux host, base64 lines to a Windows host (agent.PackageStream).
	return io.MultiReader(in, agent.PackageStream(st, f)), func() { f.Close() }
}
