package executor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
)

// One service principal used in two tenants: failures in one tenant open that
// tenant's breaker only. The key is the host's tenant, not the credential's.
func TestBreakerKeyedByHostTenant(t *testing.T) {
	f := newExFleet()
	names := []string{"bad1", "bad2", "bad3", "bad4", "good1", "good2"}
	for _, n := range names[:4] {
		f.add(n, &exHost{exits: map[string][]int{agent.StepConnect: {41}}})
	}
	for _, n := range names[4:] {
		f.add(n, &exHost{})
	}
	p := exPlan(agent.ActionConnect, names...)
	for i := range 4 {
		p.Hosts[i].Host.Azure.TenantID = "tenant-9" // credential sp says tenant-1
	}
	x := exExecutor(f)
	x.Concurrency = 1
	dir := t.TempDir()
	rep, err := x.Apply(context.Background(), p, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names[4:] {
		if h := exResult(rep, n); h.Outcome != results.OutcomeOK {
			t.Errorf("%s in tenant-1: %s %s %q, want ok: another tenant's failures stopped it", n, h.Outcome, h.FinalCode, h.Detail)
		}
	}
	h := exResult(rep, "bad4")
	if h.Outcome != results.OutcomeNotStarted || h.FinalCode != "ARCF-BREAKER-OPEN" || !strings.Contains(h.Detail, "sp (tenant tenant-9)") {
		t.Errorf("bad4: %s %s %q, want not-started ARCF-BREAKER-OPEN for sp in tenant-9", h.Outcome, h.FinalCode, h.Detail)
	}
	if want := "fix the credential, then `arcfleet resume " + dir + " --retry-failed`"; !strings.Contains(h.Detail, want) {
		t.Errorf("bad4: detail %q lacks %q", h.Detail, want)
	}
	if len(rep.BreakerOpen) != 1 || rep.BreakerOpen[0] != "sp (tenant tenant-9)" {
		t.Errorf("BreakerOpen %v", rep.BreakerOpen)
	}
}

// resume re-runs hosts that were never started; with RetryFailed also hosts
// that failed or whose secret reference did not resolve, after the user fixed
// the cause. Hosts that ended well are never run again.
func TestResumeRetryFailed(t *testing.T) {
	f := newExFleet()
	names := []string{"login", "cred1", "cred2", "cred3", "cred4", "unset", "fine"} // login before the breaker opens
	creds := names[1:5]
	for _, n := range names {
		f.add(n, &exHost{})
	}
	for _, n := range creds {
		f.hosts[n].exits = map[string][]int{agent.StepConnect: {41}}
	}
	p := exPlan(agent.ActionConnect, names...)
	p.Hosts[0].Host.SSH.Password = inventory.SecretRef{Env: "LOGIN_PW"}
	p.Hosts[5].Host.Credential, p.Hosts[5].Host.Azure.TenantID = "other", "tenant-2"
	var mu sync.Mutex
	env := map[string]string{"ARC_SP_SECRET": execSentinel} // ARC_OTHER_SECRET, LOGIN_PW unset
	lookup := func(k string) (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		v, ok := env[k]
		return v, ok
	}
	x := exExecutor(f)
	x.Concurrency = 1
	x.LookupEnv = lookup
	dir := t.TempDir()
	rep, err := x.Apply(context.Background(), p, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"unset", "login"} {
		h := exResult(rep, n)
		if h.Outcome != results.OutcomeBlocked || h.FinalCode != inventory.CodeSecretUnresolved || !strings.Contains(h.Detail, "--retry-failed") {
			t.Errorf("%s: %s %s %q, want blocked ARCF0001 naming --retry-failed", n, h.Outcome, h.FinalCode, h.Detail)
		}
	}
	if h := exResult(rep, "cred4"); h.FinalCode != "ARCF-BREAKER-OPEN" {
		t.Fatalf("cred4: %s %s, want the breaker to keep it back", h.Outcome, h.FinalCode)
	}

	// The user fixes the credential and exports the variables.
	for _, n := range creds {
		f.hosts[n].exits = nil
	}
	mu.Lock()
	env["ARC_OTHER_SECRET"], env["LOGIN_PW"] = "other-secret", "login-pw"
	mu.Unlock()

	// Plain resume: only the host never started runs.
	rep2, err := x.Resume(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]results.Outcome{"cred1": results.OutcomeFailed, "cred4": results.OutcomeOK, "unset": results.OutcomeBlocked, "login": results.OutcomeBlocked, "fine": results.OutcomeOK}
	for n, o := range want {
		if got := exResult(rep2, n).Outcome; got != o {
			t.Errorf("resume: %s %s, want %s", n, got, o)
		}
	}
	if f.dials["unset"] != 0 || f.runsOf("cred1", agent.StepConnect) != 1 {
		t.Errorf("plain resume re-ran finished hosts: unset dialed %d, cred1 connected %d", f.dials["unset"], f.runsOf("cred1", agent.StepConnect))
	}

	// resume --retry-failed: the failed and the unresolved ones run again.
	x.RetryFailed = true
	rep3, err := x.Resume(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range rep3.Hosts {
		if h.Outcome != results.OutcomeOK {
			t.Errorf("resume --retry-failed: %s %s %s %q, want ok", h.Name, h.Outcome, h.FinalCode, h.Detail)
		}
	}
	if n := f.runsOf("fine", agent.StepConnect); n != 1 {
		t.Errorf("fine connected %d times, want once: a host that ended well is never run again", n)
	}
	if n := f.runsOf("cred4", agent.StepConnect); n != 1 {
		t.Errorf("cred4 connected %d times, want once", n)
	}
	if rep3.ExitCode() != 0 {
		t.Errorf("exit %d", rep3.ExitCode())
	}
}

// The retry cap counts tries across runs: a host interrupted after two failed
// tries of three gets one more on resume, not three.
func TestRetryCapSpansResume(t *testing.T) {
	f := newExFleet()
	f.add("flaky", &exHost{exits: map[string][]int{agent.StepConnect: {26, 26, 26, 26, 26, 26, 26}}})
	p := exPlan(agent.ActionConnect, "flaky")
	x := exExecutor(f)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	x.Events = func(e Event) {
		if e.Kind == EventRetry && e.Attempt == 2 {
			cancel() // during the wait after the second failed try
		}
	}
	dir := t.TempDir()
	rep, err := x.Apply(ctx, p, dir)
	if err != nil {
		t.Fatal(err)
	}
	h := exResult(rep, "flaky")
	if h.Outcome != results.OutcomeInterrupted || h.FinalCode != "ARCF-INTERRUPTED" || f.runsOf("flaky", agent.StepConnect) != 2 {
		t.Fatalf("first run: %s %s after %d connects, want interrupted ARCF-INTERRUPTED after 2", h.Outcome, h.FinalCode, f.runsOf("flaky", agent.StepConnect))
	}
	x.Events = nil
	rep2, err := x.Resume(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	h = exResult(rep2, "flaky")
	if got := f.runsOf("flaky", agent.StepConnect); got != DefaultMaxAttempts {
		t.Errorf("connect ran %d times over both runs, want %d (the retry cap)", got, DefaultMaxAttempts)
	}
	if h.Outcome != results.OutcomeFailed || !strings.Contains(h.Detail, "gave up after 3 attempts") {
		t.Errorf("after resume: %s %q", h.Outcome, h.Detail)
	}
}

// One process at a time per run directory: a second Apply or Resume fails at
// once, naming the directory, while the first holds it; afterwards it works.
func TestRunDirLocked(t *testing.T) {
	f := newExFleet()
	f.add("a", &exHost{})
	x := exExecutor(f)
	dir := t.TempDir()
	holder, _, err := openJournal(filepath.Join(dir, JournalFile)) // as a running arcfleet holds it
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Apply(context.Background(), exPlan(agent.ActionConnect, "a"), dir); err == nil ||
		!strings.Contains(err.Error(), "run directory "+dir+" is in use by another arcfleet process") {
		t.Errorf("Apply on a locked run dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, PlanFile)); err == nil {
		t.Error("Apply wrote plan.json into a run directory it could not lock")
	}
	if f.dials["a"] != 0 {
		t.Error("Apply dialed a host without the lock")
	}
	holder.close()
	if _, err := x.Apply(context.Background(), exPlan(agent.ActionConnect, "a"), dir); err != nil {
		t.Fatalf("Apply after the lock was released: %v", err)
	}
	holder, _, err = openJournal(filepath.Join(dir, JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	defer holder.close()
	if _, err := x.Resume(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "in use by another arcfleet process") {
		t.Errorf("Resume on a locked run dir: %v", err)
	}
}

// A run interrupted during the canary reports the other hosts interrupted, not
// kept back by a canary failure that never happened.
func TestCanaryInterrupted(t *testing.T) {
	f := newExFleet()
	names := []string{"c1", "r1", "r2"}
	for _, n := range names {
		f.add(n, &exHost{})
	}
	f.hosts["c1"].hang = map[string]bool{agent.StepConnect: true}
	x := exExecutor(f)
	x.Canary = 1
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	x.Events = func(e Event) {
		if e.Kind == EventStart && e.Host == "c1" {
			go func() { time.Sleep(50 * time.Millisecond); cancel() }()
		}
	}
	rep, err := x.Apply(ctx, exPlan(agent.ActionConnect, names...), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if h := exResult(rep, "c1"); h.Outcome != results.OutcomeInterrupted || h.FinalCode != "ARCF-INTERRUPTED" {
		t.Errorf("c1: %s %s", h.Outcome, h.FinalCode)
	}
	for _, n := range names[1:] {
		h := exResult(rep, n)
		if h.Outcome != results.OutcomeNotStarted || h.FinalCode != "ARCF-INTERRUPTED" || strings.Contains(h.Detail, "canary") {
			t.Errorf("%s: %s %s %q, want not-started ARCF-INTERRUPTED", n, h.Outcome, h.FinalCode, h.Detail)
		}
	}
}

func TestCanaryFailedCode(t *testing.T) {
	f := newExFleet()
	f.add("c1", &exHost{exits: map[string][]int{agent.StepConnect: {13}}})
	f.add("r1", &exHost{})
	x := exExecutor(f)
	x.Canary = 1
	dir := t.TempDir()
	rep, err := x.Apply(context.Background(), exPlan(agent.ActionConnect, "c1", "r1"), dir)
	if err != nil {
		t.Fatal(err)
	}
	h := exResult(rep, "r1")
	if h.Outcome != results.OutcomeNotStarted || h.FinalCode != "ARCF-CANARY-FAILED" || !strings.Contains(h.Detail, "`arcfleet resume "+dir+" --retry-failed`") {
		t.Errorf("r1: %s %s %q", h.Outcome, h.FinalCode, h.Detail)
	}
}

// (agent.TestAtTarget covers how a partly described registration is placed.)

// End to end: an agent whose show output lacks tenant and location is found
// already connected, not reported as drift.
func TestAlreadyConnectedSparseShow(t *testing.T) {
	f := newExFleet()
	f.add("sparse", &exHost{status: "Connected", resourceID: "/subscriptions/Sub-1/resourceGroups/Rg-1/providers/Microsoft.HybridCompute/machines/sparse"})
	rep, err := exExecutor(f).Apply(context.Background(), exPlan(agent.ActionConnect, "sparse"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if h := exResult(rep, "sparse"); h.Outcome != results.OutcomeUnchanged {
		t.Errorf("%s %s %q, want unchanged", h.Outcome, h.FinalCode, h.Detail)
	}
}

// step never writes into the plan's slices (other goroutines read the plan).
func TestStepLeavesPlanAlone(t *testing.T) {
	p := exPlan(agent.ActionConnect, "h")
	hp := &p.Hosts[0]
	steps := make([]agent.Step, len(hp.Steps), len(hp.Steps)+4) // spare capacity, as a decoded plan may have
	copy(steps, hp.Steps)
	hp.Steps = steps
	hp.Recovery = []agent.Step{agent.RestartServiceStep(&hp.Host)}
	r, err := newRun(exExecutor(newExFleet()), p, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	hr := r.newHostRun(0)
	if got := hr.step(agent.StepRestartService); got.Name != agent.StepRestartService {
		t.Fatalf("step = %q", got.Name)
	}
	_ = hr.step("no-such-step")
	if spare := steps[len(steps):cap(steps)]; spare[0] != (agent.Step{}) {
		t.Errorf("step wrote %q into the plan's backing array", spare[0].Name)
	}
}

// Masking a log line costs no allocation when it holds no secret: the host's
// masker is built once, not per line.
func TestHostMaskerBuiltOnce(t *testing.T) {
	p := exPlan(agent.ActionConnect, "h")
	r, err := newRun(exExecutor(newExFleet()), p, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.resolveCredentials([]int{0})
	hr := r.newHostRun(0)
	hr.setTarget(transport.Target{Name: "h", Password: "login-pw-value"}, r.secrets)
	line := strings.Repeat("INFO connecting the machine to Azure, nothing secret here ", 3)
	if n := testing.AllocsPerRun(50, func() { _ = hr.mask(line) }); n != 0 {
		t.Errorf("masking a clean line allocates %v times, want 0", n)
	}
	if got := hr.mask("a " + execSentinel + " b login-pw-value"); strings.Contains(got, execSentinel) || strings.Contains(got, "login-pw-value") {
		t.Errorf("mask left a secret: %q", got)
	}
}

// A line longer than the hold limit is written in pieces, but never cut through
// a secret: each half would slip past the masker.
func TestLongLineNeverSplitsSecret(t *testing.T) {
	sec := execSentinel
	for _, pad := range []int{maxLineHold - len(sec), maxLineHold - len(sec)/2, maxLineHold - 1, maxLineHold + 1, 2*maxLineHold - 3} {
		for split := 1; split < len(sec); split += 5 {
			path := filepath.Join(t.TempDir(), "attempt.log")
			fh, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			log := &attemptLog{f: fh, masker: results.NewMasker([]string{sec})}
			w := &streamWriter{log: log, prefix: "stdout| "}
			w.Write([]byte(strings.Repeat("x", pad) + sec[:split]))
			w.Write([]byte(sec[split:] + strings.Repeat("y", 100) + "\n"))
			w.flush()
			if err := log.close(); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(path)
			joined := strings.ReplaceAll(strings.ReplaceAll(string(data), "\nstdout| ", ""), "stdout| ", "")
			if strings.Contains(joined, sec[:8]) || strings.Count(joined, results.MaskToken) != 1 {
				t.Fatalf("pad %d split %d: the secret was cut and written unmasked (%d pieces)", pad, split, strings.Count(string(data), "\n"))
			}
		}
	}
}
