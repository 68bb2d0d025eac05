package executor

import (
	"context"
	"encoding/json"
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

func TestApplyOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		host     exHost
		outcome  results.Outcome
		code     string
		connects int // connect attempts
		restarts int
		dials    int
		detail   string // substring of Detail
	}{
		{name: "ok", host: exHost{}, outcome: results.OutcomeOK, code: "AZCM0000", connects: 1, dials: 1},
		{name: "already", host: exHost{status: "Connected", sub: "SUB-1", rg: "rg-1", loc: "West Europe", ten: "tenant-1", resourceID: "/x"},
			outcome: results.OutcomeUnchanged, connects: 0, dials: 1, detail: "already connected"},
		{name: "drift", host: exHost{status: "Connected", sub: "sub-9", rg: "rg-9", loc: "eastus", ten: "tenant-1", resourceID: "/y"},
			outcome: results.OutcomeBlocked, code: "ARCF-DRIFT", dials: 1, detail: "subscription sub-9, resource group rg-9, location eastus"},
		{name: "expired", host: exHost{status: "Expired", sub: "sub-1", rg: "rg-1", loc: "westeurope", ten: "tenant-1", resourceID: "/x"},
			outcome: results.OutcomeBlocked, code: "ARCF-EXPIRED", dials: 1, detail: "reconnect"},
		{name: "transient", host: exHost{exits: map[string][]int{agent.StepConnect: {26, 26}}}, outcome: results.OutcomeOK, code: "AZCM0000", connects: 3, dials: 1},
		{name: "transient-exhausted", host: exHost{exits: map[string][]int{agent.StepConnect: {26, 26, 26, 26}}}, outcome: results.OutcomeFailed, code: "AZCM0026", connects: 3, dials: 1, detail: "gave up after 3 attempts"},
		{name: "service", host: exHost{exits: map[string][]int{agent.StepConnect: {64}}}, outcome: results.OutcomeOK, code: "AZCM0000", connects: 2, restarts: 1, dials: 1},
		{name: "cert-0081", host: exHost{exits: map[string][]int{agent.StepConnect: {81}}}, outcome: results.OutcomeOK, code: "AZCM0000", connects: 2, dials: 1},
		{name: "0067-at-target", host: exHost{exits: map[string][]int{agent.StepConnect: {67}}}, outcome: results.OutcomeOK, code: "AZCM0000", connects: 1, dials: 1, detail: "after acting"},
		{name: "input", host: exHost{exits: map[string][]int{agent.StepConnect: {13}}}, outcome: results.OutcomeFailed, code: "AZCM0013", connects: 1, dials: 1, detail: "not retried"},
		{name: "host-prereq", host: exHost{exits: map[string][]int{agent.StepConnect: {18}}}, outcome: results.OutcomeFailed, code: "AZCM0018", connects: 1, dials: 1},
		{name: "override-0044", host: exHost{exits: map[string][]int{agent.StepConnect: {44, 44, 44}}}, outcome: results.OutcomeFailed, code: "AZCM0044", connects: 2, dials: 1},
		{name: "unreachable-then-ok", host: exHost{dialFail: []transport.Kind{transport.Unreachable, transport.Unreachable}}, outcome: results.OutcomeOK, code: "AZCM0000", connects: 1, dials: 3},
		{name: "unreachable", host: exHost{dialFail: []transport.Kind{transport.Unreachable, transport.Unreachable, transport.Unreachable, transport.Unreachable}},
			outcome: results.OutcomeFailed, code: "TRANSPORT-UNREACHABLE", dials: 3},
		{name: "auth", host: exHost{dialFail: []transport.Kind{transport.AuthFailed}}, outcome: results.OutcomeFailed, code: "TRANSPORT-AUTH", dials: 1},
		{name: "host-key", host: exHost{dialFail: []transport.Kind{transport.HostKeyChanged}}, outcome: results.OutcomeFailed, code: "TRANSPORT-HOST-KEY-CHANGED", dials: 1},
	}
	f := newExFleet()
	var names []string
	for _, tc := range tests {
		h := tc.host
		f.add(tc.name, &h)
		names = append(names, tc.name)
	}
	names = append(names, "invalid")
	p := exPlan(agent.ActionConnect, names...)
	p.Retry.Codes = map[string]inventory.CodeRetry{"AZCM0044": {Action: "retry", MaxAttempts: 2}}
	p.Hosts[len(p.Hosts)-1].Findings = []inventory.Finding{{Code: "AZCM0017", Host: "invalid", Message: "resource name ends with -"}}
	x := exExecutor(f)
	dir := t.TempDir()
	rep, err := x.Apply(context.Background(), p, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := exResult(rep, tc.name)
			if h.Outcome != tc.outcome || h.FinalCode != tc.code {
				t.Errorf("outcome %s code %q, want %s %q (detail %q)", h.Outcome, h.FinalCode, tc.outcome, tc.code, h.Detail)
			}
			if got := f.runsOf(tc.name, agent.StepConnect); got != tc.connects {
				t.Errorf("connect ran %d times, want %d", got, tc.connects)
			}
			if got := exCount(h, agent.StepConnect); got != tc.connects {
				t.Errorf("report lists %d connect attempts, want %d", got, tc.connects)
			}
			if got := f.runsOf(tc.name, agent.StepRestartService); got != tc.restarts {
				t.Errorf("restart ran %d times, want %d", got, tc.restarts)
			}
			if got := f.dials[tc.name]; got != tc.dials {
				t.Errorf("dialed %d times, want %d", got, tc.dials)
			}
			if !strings.Contains(h.Detail, tc.detail) {
				t.Errorf("detail %q does not contain %q", h.Detail, tc.detail)
			}
			// Evidence is kept for problems only (memory at 10,000 hosts).
			switch problem := h.Outcome != results.OutcomeOK && h.Outcome != results.OutcomeUnchanged; {
			case !problem && len(h.Evidence) > 0:
				t.Errorf("%s host keeps evidence %q", h.Outcome, h.Evidence)
			case h.Outcome == results.OutcomeFailed && len(h.Evidence) == 0:
				t.Errorf("failed host without evidence")
			}
		})
	}
	inv := exResult(rep, "invalid")
	if inv.Outcome != results.OutcomeBlocked || f.dials["invalid"] != 0 || inv.FinalCode != "AZCM0017" {
		t.Errorf("host with findings: %s %s dials %d; want blocked, never dialed", inv.Outcome, inv.FinalCode, f.dials["invalid"])
	}
	// Nothing registered: the re-registration clears local leftovers with
	// --force-local-only (nothing in Azure to orphan), then connects.
	if d, l := f.runsOf("cert-0081", agent.StepDisconnect), f.runsOf("cert-0081", agent.StepDisconnectLocal); d != 0 || l != 1 {
		t.Errorf("AZCM0081: disconnect ran %d times, disconnect --force-local-only %d; want 0 and 1, then connect again", d, l)
	}
	if got := rep.ExitCode(); got != 3 {
		t.Errorf("ExitCode = %d, want 3", got)
	}
	if f.open != 0 {
		t.Errorf("%d connections left open", f.open)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.json")); err != nil {
		t.Error(err)
	}
}

func TestApplyDisconnect(t *testing.T) {
	f := newExFleet()
	f.add("on", &exHost{status: "Connected", sub: "sub-1", rg: "rg-1", loc: "westeurope", ten: "tenant-1", resourceID: "/r"})
	f.add("off", &exHost{})
	f.add("elsewhere", &exHost{status: "Connected", sub: "sub-2", rg: "rg-1", loc: "westeurope", ten: "tenant-1", resourceID: "/r2"})
	rep, err := exExecutor(f).Apply(context.Background(), exPlan(agent.ActionDisconnect, "on", "off", "elsewhere"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]results.Outcome{"on": results.OutcomeOK, "off": results.OutcomeUnchanged, "elsewhere": results.OutcomeBlocked}
	for n, o := range want {
		if got := exResult(rep, n).Outcome; got != o {
			t.Errorf("%s: %s, want %s", n, got, o)
		}
	}
	if f.runsOf("off", agent.StepDisconnect) != 0 || f.runsOf("elsewhere", agent.StepDisconnect) != 0 {
		t.Error("disconnect ran on a host that is not connected to the intended target")
	}
}

func TestApplyReconnect(t *testing.T) {
	f := newExFleet()
	at := exHost{status: "Connected", sub: "sub-1", rg: "rg-1", loc: "westeurope", ten: "tenant-1", resourceID: "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.HybridCompute/machines/m"}
	failing := func(exit int, out string) *exHost {
		h := at
		h.exits = map[string][]int{agent.StepDisconnect: {exit}}
		h.failOut = map[string]string{agent.StepDisconnect: out}
		return &h
	}
	// Real agents' delete failures (the simulator's real-agent scenarios quote their sources).
	f.add("gone", failing(43, "FATAL   RequestCorrelationId:c Message: The Resource 'Microsoft.HybridCompute/machines/m' under resource group 'rg-1' was not found. Code: ResourceNotFound httpStatusCode:404"))
	f.add("locked", failing(43, "FATAL   RequestCorrelationId:c Message: The scope '/s' cannot perform delete operation because following scope(s) are locked: '/s'. Please remove the lock and try again. Code: ScopeLocked httpStatusCode:409"))
	f.add("denied", failing(43, `time="t" level=debug msg="Delete ARM Resource Response" Body="{\"error\":{\"code\":\"AuthorizationFailed\",\"message\":\"The client 'x' with object id 'x' does not have authorization to perform action 'Microsoft.HybridCompute/machines/delete'\"}}"`))
	f.add("unknown", failing(63, "")) // nothing says the resource is gone
	plain := at
	f.add("plain", &plain)
	f.add("fresh", &exHost{})
	f.add("bad", failing(41, ""))
	rep, err := exExecutor(f).Apply(context.Background(), exPlan(agent.ActionReconnect, "gone", "locked", "denied", "unknown", "plain", "fresh", "bad"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host                 string
		outcome              results.Outcome
		disc, local, connect int
		detail               string
	}{
		{"gone", results.OutcomeOK, 1, 1, 1, ""},
		{"locked", results.OutcomeFailed, 1, 0, 0, "fix: remove the lock"},
		{"denied", results.OutcomeFailed, 1, 0, 0, "Azure Connected Machine Resource Administrator"},
		{"unknown", results.OutcomeFailed, 1, 0, 0, "did not fall back to `disconnect --force-local-only`"},
		{"plain", results.OutcomeOK, 1, 0, 1, ""},
		{"fresh", results.OutcomeOK, 0, 0, 1, ""},
		{"bad", results.OutcomeFailed, 1, 0, 0, ""}, // no force-local reset on a credential failure: it would orphan the resource
	}
	for _, tc := range tests {
		h := exResult(rep, tc.host)
		if h.Outcome != tc.outcome || !strings.Contains(h.Detail, tc.detail) {
			t.Errorf("%s: %s (%s), want %s with %q", tc.host, h.Outcome, h.Detail, tc.outcome, tc.detail)
		}
		got := [3]int{f.runsOf(tc.host, agent.StepDisconnect), f.runsOf(tc.host, agent.StepDisconnectLocal), f.runsOf(tc.host, agent.StepConnect)}
		if got != [3]int{tc.disc, tc.local, tc.connect} {
			t.Errorf("%s: disconnect/local/connect ran %v, want %v", tc.host, got, [3]int{tc.disc, tc.local, tc.connect})
		}
		if tc.outcome == results.OutcomeOK && f.hosts[tc.host].status != "Connected" {
			t.Errorf("%s: ends %s", tc.host, f.hosts[tc.host].status)
		}
		if tc.outcome == results.OutcomeFailed && tc.disc == 1 && f.hosts[tc.host].status != "Connected" {
			t.Errorf("%s: a failed disconnect must leave the host as it was, it is %s", tc.host, f.hosts[tc.host].status)
		}
		// Before any disconnect, the report says what it deletes.
		if tc.disc > 0 && (len(h.Notes) == 0 || !strings.Contains(h.Notes[0], "before disconnect") || !strings.Contains(h.Notes[0], at.resourceID) ||
			!strings.Contains(h.Notes[0], "extensions, licence settings") || !strings.Contains(h.Notes[0], "--machine-name m")) {
			t.Errorf("%s: notes %q, want what the disconnect deletes", tc.host, h.Notes)
		}
	}
	if n := exResult(rep, "gone").Notes; len(n) != 2 || !strings.Contains(n[1], "already gone (ResourceNotFound)") {
		t.Errorf("gone: notes %q, want the force-local fallback said", n)
	}
	if n := exResult(rep, "fresh").Notes; len(n) != 0 {
		t.Errorf("fresh: notes %q, want none (nothing deleted)", n)
	}
}

func TestBreakerStopsCredential(t *testing.T) {
	f := newExFleet()
	var names []string
	for i := range 10 {
		n := "bad" + string(rune('a'+i))
		f.add(n, &exHost{exits: map[string][]int{agent.StepConnect: {41}}})
		names = append(names, n)
	}
	for _, n := range []string{"good1", "good2"} {
		f.add(n, &exHost{})
		names = append(names, n)
	}
	p := exPlan(agent.ActionConnect, names...)
	p.Hosts[10].Host.Credential, p.Hosts[11].Host.Credential = "other", "other"
	p.Hosts[10].Host.Azure.TenantID, p.Hosts[11].Host.Azure.TenantID = "tenant-2", "tenant-2"
	x := exExecutor(f)
	x.Concurrency = 1
	rep, err := x.Apply(context.Background(), p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	failed, notStarted := 0, 0
	for _, h := range rep.Hosts[:10] {
		switch h.Outcome {
		case results.OutcomeFailed:
			failed++
		case results.OutcomeNotStarted:
			notStarted++
			if !strings.Contains(h.Detail, "circuit breaker open for credential sp (tenant tenant-1)") || !strings.Contains(h.Detail, "AZCM0041") {
				t.Errorf("%s: detail %q lacks the breaker's cause", h.Name, h.Detail)
			}
			if f.runsOf(h.Name, agent.StepConnect) != 0 {
				t.Errorf("%s: acted on after the breaker opened", h.Name)
			}
		}
	}
	if failed != DefaultBreakerThreshold || notStarted != 10-DefaultBreakerThreshold {
		t.Errorf("failed %d, not started %d; want %d and %d", failed, notStarted, DefaultBreakerThreshold, 10-DefaultBreakerThreshold)
	}
	for _, h := range rep.Hosts[10:] {
		if h.Outcome != results.OutcomeOK {
			t.Errorf("%s on another credential: %s, want ok", h.Name, h.Outcome)
		}
	}
	if len(rep.BreakerOpen) != 1 || rep.ExitCode() != 4 {
		t.Errorf("BreakerOpen %v, exit %d; want one credential and 4", rep.BreakerOpen, rep.ExitCode())
	}
}

func TestCanary(t *testing.T) {
	for _, fail := range []bool{false, true} {
		f := newExFleet()
		names := []string{"c1", "c2", "r1", "r2", "r3"}
		for _, n := range names {
			f.add(n, &exHost{})
		}
		if fail {
			f.hosts["c2"].exits = map[string][]int{agent.StepConnect: {13}}
		}
		x := exExecutor(f)
		x.Canary = 2
		var mu sync.Mutex
		var order []string
		x.Events = func(e Event) {
			if e.Kind == EventStart {
				mu.Lock()
				order = append(order, e.Host)
				mu.Unlock()
			}
		}
		// Slow canaries: the rest must still wait for them.
		f.hosts["c1"].delay = 30 * time.Millisecond
		rep, err := x.Apply(context.Background(), exPlan(agent.ActionConnect, names...), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if len(order) < 2 || !(order[0] == "c1" || order[0] == "c2") || !(order[1] == "c1" || order[1] == "c2") {
			t.Errorf("fail=%v: start order %v, want the canaries first", fail, order)
		}
		for _, n := range names[2:] {
			h := exResult(rep, n)
			if fail && (h.Outcome != results.OutcomeNotStarted || !strings.Contains(h.Detail, "canary failed (c2 failed AZCM0013)")) {
				t.Errorf("%s after a failed canary: %s %q", n, h.Outcome, h.Detail)
			}
			if !fail && h.Outcome != results.OutcomeOK {
				t.Errorf("%s after good canaries: %s", n, h.Outcome)
			}
		}
	}
}

func TestConcurrencyAndHungHost(t *testing.T) {
	f := newExFleet()
	var names []string
	for i := range 24 {
		n := "h" + string(rune('a'+i))
		f.add(n, &exHost{delay: 5 * time.Millisecond})
		names = append(names, n)
	}
	f.hosts["ha"].hang = map[string]bool{agent.StepConnect: true}
	p := exPlan(agent.ActionConnect, names...)
	p.Retry.MaxAttempts = 1
	x := exExecutor(f)
	x.Concurrency = 4
	x.Timeout = 1500 * time.Millisecond
	var mu sync.Mutex
	var doneOrder []string
	x.Events = func(e Event) {
		if e.Kind == EventDone {
			mu.Lock()
			doneOrder = append(doneOrder, e.Host)
			mu.Unlock()
		}
	}
	rep, err := x.Apply(context.Background(), p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if f.maxOpen > 4 || f.maxOpen < 2 {
		t.Errorf("max open connections %d, want 2..4 (limit 4)", f.maxOpen)
	}
	hung := exResult(rep, "ha")
	if hung.Outcome != results.OutcomeFailed || hung.FinalCode != "TRANSPORT-TIMEOUT" {
		t.Errorf("hung host: %s %s, want failed TRANSPORT-TIMEOUT", hung.Outcome, hung.FinalCode)
	}
	if doneOrder[len(doneOrder)-1] != "ha" {
		t.Errorf("the hung host held others up: done order %v", doneOrder)
	}
}

func TestDeadline(t *testing.T) {
	f := newExFleet()
	names := []string{"a", "b", "c", "d"}
	for _, n := range names {
		// One session per host (connect with its precondition): 200ms a host,
		// so a and b finish, c is cut at 500ms, d never starts.
		f.add(n, &exHost{delay: 200 * time.Millisecond})
	}
	x := exExecutor(f)
	x.Concurrency = 1
	x.Deadline = 500 * time.Millisecond
	dir := t.TempDir()
	rep, err := x.Apply(context.Background(), exPlan(agent.ActionConnect, names...), dir)
	if err != nil {
		t.Fatal(err)
	}
	if o := exResult(rep, "a").Outcome; o != results.OutcomeOK {
		t.Errorf("first host %s, want ok", o)
	}
	h := exResult(rep, "d")
	if h.Outcome != results.OutcomeNotStarted || h.FinalCode != "ARCF-DEADLINE" || !strings.Contains(h.Detail, "deadline") ||
		!strings.Contains(h.Detail, "arcfleet resume "+dir) {
		t.Errorf("last host %s %s %q, want not-started ARCF-DEADLINE with the resume command", h.Outcome, h.FinalCode, h.Detail)
	}
	if rep.ExitCode() != 3 || rep.Interrupted {
		t.Errorf("exit %d, interrupted %v: a deadline is no interrupt", rep.ExitCode(), rep.Interrupted)
	}
}

// The deadline bounds work already in flight: an attempt is cut when the
// deadline comes, even though its own timeout is far off, and the host ends
// interrupted (its outcome is unknown) with ARCF-DEADLINE, for resume to probe.
func TestDeadlineCutsAttemptInFlight(t *testing.T) {
	f := newExFleet()
	f.add("hung", &exHost{hang: map[string]bool{agent.StepConnect: true}})
	x := exExecutor(f)
	x.Timeout = 30 * time.Second
	x.Deadline = 300 * time.Millisecond
	start := time.Now()
	rep, err := x.Apply(context.Background(), exPlan(agent.ActionConnect, "hung"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("Apply took %s: the attempt ran past the %s deadline", el, x.Deadline)
	}
	h := exResult(rep, "hung")
	if h.Outcome != results.OutcomeInterrupted || h.FinalCode != "ARCF-DEADLINE" || !strings.Contains(h.Detail, "run deadline") {
		t.Errorf("%s %s %q, want interrupted ARCF-DEADLINE", h.Outcome, h.FinalCode, h.Detail)
	}
	if n := f.runsOf("hung", agent.StepConnect); n != 1 {
		t.Errorf("connect ran %d times, want 1 (no retry past the deadline)", n)
	}
}

// The wait for a start-rate token ends at the deadline too.
func TestDeadlineCutsRateWait(t *testing.T) {
	f := newExFleet()
	f.add("first", &exHost{})
	f.add("second", &exHost{})
	x := exExecutor(f)
	x.Concurrency = 2
	x.Rate = 0.05 // one action per 20s: the second host waits
	x.Deadline = 400 * time.Millisecond
	start := time.Now()
	rep, err := x.Apply(context.Background(), exPlan(agent.ActionConnect, "first", "second"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("Apply took %s: the start-rate wait ignored the %s deadline", el, x.Deadline)
	}
	waited := exResult(rep, "first")
	if waited.Outcome == results.OutcomeOK {
		waited = exResult(rep, "second")
	}
	if waited.Outcome != results.OutcomeInterrupted || waited.FinalCode != "ARCF-DEADLINE" {
		t.Errorf("host left waiting: %s %s %q, want interrupted ARCF-DEADLINE", waited.Outcome, waited.FinalCode, waited.Detail)
	}
	if n := f.runsOf(waited.Name, agent.StepConnect); n != 0 {
		t.Errorf("%s acted %d times after the deadline", waited.Name, n)
	}
}

func TestRetryNotPastDeadline(t *testing.T) {
	f := newExFleet()
	f.add("a", &exHost{exits: map[string][]int{agent.StepConnect: {26, 26}}})
	x := exExecutor(f)
	x.Deadline = time.Hour
	p := exPlan(agent.ActionConnect, "a")
	p.Retry.BaseDelay = 2 * time.Hour
	rep, err := x.Apply(context.Background(), p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := exResult(rep, "a")
	if h.Outcome != results.OutcomeFailed || !strings.Contains(h.Detail, "deadline") || f.runsOf("a", agent.StepConnect) != 1 {
		t.Errorf("%s %q after %d connects; want failed, no retry past the deadline", h.Outcome, h.Detail, f.runsOf("a", agent.StepConnect))
	}
}

func TestRateLimitsActionStarts(t *testing.T) {
	f := newExFleet()
	var names []string
	for i := range 8 {
		n := "r" + string(rune('a'+i))
		f.add(n, &exHost{})
		names = append(names, n)
	}
	x := exExecutor(f)
	x.Concurrency = 8
	x.Rate = 20
	if _, err := x.Apply(context.Background(), exPlan(agent.ActionConnect, names...), t.TempDir()); err != nil {
		t.Fatal(err)
	}
	ts := f.actionTimes
	if len(ts) != 8 {
		t.Fatalf("%d actions, want 8", len(ts))
	}
	// Burst 1: any j-i+1 consecutive starts span at least (j-i-1)/rate, less
	// slack: tokens are granted on time, but a start also waits for its journal
	// record's group fsync, which bunches starts by up to ~100ms on a loaded
	// machine. Unlimited, all 8 start within a few ms.
	for i := range ts {
		for j := i + 4; j < len(ts); j++ {
			min := time.Duration(float64(j-i-1)/x.Rate*float64(time.Second)) - 120*time.Millisecond
			if got := ts[j].Sub(ts[i]); got < min {
				t.Errorf("actions %d..%d started within %s, want >= %s", i, j, got, min)
			}
		}
	}
	if span := ts[len(ts)-1].Sub(ts[0]); span < 300*time.Millisecond {
		t.Errorf("8 actions at 20/s took %s, want >= 300ms", span)
	}
}

func TestSecretNeverLeaks(t *testing.T) {
	f := newExFleet()
	f.add("leaky", &exHost{echoStdin: true, exits: map[string][]int{agent.StepConnect: {41}}})
	f.add("fine", &exHost{echoStdin: true})
	x := exExecutor(f)
	var mu sync.Mutex
	var events []string
	x.Events = func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		b, _ := json.Marshal(e)
		events = append(events, string(b))
	}
	dir := t.TempDir()
	rep, err := x.Apply(context.Background(), exPlan(agent.ActionConnect, "leaky", "fine"), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.hosts["fine"].stdins[agent.StepConnect][0], execSentinel) {
		t.Fatal("the secret did not reach the agent's stdin: the test proves nothing")
	}
	for _, a := range f.hosts["fine"].stdins[agent.StepProbe] {
		if !strings.HasPrefix(a, "arcfleet ") || strings.Count(a, "\n") != 1 {
			t.Errorf("probe got stdin %q, want the header line only", a)
		}
	}
	b, _ := json.Marshal(rep)
	if strings.Contains(string(b), execSentinel) {
		t.Error("secret in the report")
	}
	if strings.Contains(strings.Join(events, "\n"), execSentinel) {
		t.Error("secret in an event")
	}
	files := 0
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		data, _ := os.ReadFile(path)
		if strings.Contains(string(data), execSentinel) {
			t.Errorf("secret in %s", path)
		}
		return nil
	})
	if files < 4 {
		t.Errorf("only %d files in the run dir", files)
	}
	// Attempt 1 is the dial and the connect (one session, no probe before it): one log, of the connect.
	logData, err := os.ReadFile(filepath.Join(dir, "hosts", "fine", "attempt-1-connect.log"))
	if err != nil || !strings.Contains(string(logData), "stdout| config:") || !strings.Contains(string(logData), results.MaskToken) {
		t.Errorf("attempt log lacks the masked output (err %v):\n%s", err, logData)
	}
}

func TestLoginSecretUnresolvedBlocks(t *testing.T) {
	f := newExFleet()
	f.add("a", &exHost{})
	p := exPlan(agent.ActionConnect, "a")
	p.Hosts[0].Host.SSH.Password = inventory.SecretRef{Env: "NOPE_UNSET"}
	rep, err := exExecutor(f).Apply(context.Background(), p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := exResult(rep, "a")
	if h.Outcome != results.OutcomeBlocked || !strings.Contains(h.Detail, "export NOPE_UNSET") || f.dials["a"] != 0 {
		t.Errorf("%s %q dials %d", h.Outcome, h.Detail, f.dials["a"])
	}
}

func TestApplyRefusesUsedRunDir(t *testing.T) {
	f := newExFleet()
	f.add("a", &exHost{})
	dir := t.TempDir()
	x := exExecutor(f)
	if _, err := x.Apply(context.Background(), exPlan(agent.ActionConnect, "a"), dir); err != nil {
		t.Fatal(err)
	}
	_, err := x.Apply(context.Background(), exPlan(agent.ActionConnect, "a"), dir)
	if err == nil || !strings.Contains(err.Error(), "arcfleet resume") {
		t.Errorf("second Apply in the same dir: %v", err)
	}
}

// AZCM0062 that left the agent registered: the registration is this host's
// own failed connect's, so arcfleet disconnects (deletes it) and connects
// again; without a registration it only connects again. Also across a resume:
// the failed try's code comes from the journal.
func TestConnect0062CleanUp(t *testing.T) {
	f := newExFleet()
	f.add("left", &exHost{exits: map[string][]int{agent.StepConnect: {62}}, failRegisters: true})
	f.add("nothing", &exHost{exits: map[string][]int{agent.StepConnect: {62}}})
	rep, err := exExecutor(f).Apply(context.Background(), exPlan(agent.ActionConnect, "left", "nothing"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host                 string
		connect, disc, local int
	}{{"left", 2, 1, 0}, {"nothing", 2, 0, 0}} {
		h := exResult(rep, tc.host)
		got := [3]int{f.runsOf(tc.host, agent.StepConnect), f.runsOf(tc.host, agent.StepDisconnect), f.runsOf(tc.host, agent.StepDisconnectLocal)}
		if h.Outcome != results.OutcomeOK || got != [3]int{tc.connect, tc.disc, tc.local} {
			t.Errorf("%s: %s (%s) connect/disconnect/force-local %v, want ok after %v", tc.host, h.Outcome, h.Detail, got, [3]int{tc.connect, tc.disc, tc.local})
		}
	}
	if n := exResult(rep, "left").Notes; len(n) != 2 || !strings.Contains(n[0], "AZCM0062") || !strings.Contains(n[1], "before disconnect") {
		t.Errorf("left: notes %q", n)
	}

	// One attempt per run: the clean-up happens in the resume.
	f = newExFleet()
	f.add("left", &exHost{exits: map[string][]int{agent.StepConnect: {62}}, failRegisters: true})
	p := exPlan(agent.ActionConnect, "left")
	p.Retry.MaxAttempts = 1
	dir := t.TempDir()
	x := exExecutor(f)
	if _, err := x.Apply(context.Background(), p, dir); err != nil {
		t.Fatal(err)
	}
	x = exExecutor(f)
	x.RetryFailed = true
	rep, err = x.Resume(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	h := exResult(rep, "left")
	if h.Outcome != results.OutcomeOK || f.runsOf("left", agent.StepDisconnect) != 1 || f.hosts["left"].status != "Connected" {
		t.Errorf("resume: %s %s (%s), disconnect ran %d times; want ok after removing the failed connect's registration", h.Outcome, h.FinalCode, h.Detail, f.runsOf("left", agent.StepDisconnect))
	}
}
