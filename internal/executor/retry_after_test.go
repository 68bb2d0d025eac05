package executor

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
)

func TestRetryDecideRetryAfter(t *testing.T) {
	pol := newRetryPolicy(inventory.Retry{BaseDelay: time.Second, MaxDelay: 5 * time.Second,
		Codes: map[string]inventory.CodeRetry{"ARM-THROTTLED": {}, "AZCM0044": {Action: "retry", Delay: 7 * time.Second}}})
	pol.jitter = func(d time.Duration) time.Duration { return d }
	thr := func(ra time.Duration) failure {
		return failure{Code: "ARM-THROTTLED", Class: results.ClassTransient, RetryAfter: ra}
	}
	tests := []struct {
		name  string
		f     failure
		tries int
		want  remedy
		delay time.Duration
	}{
		{"no retry-after: backoff", thr(0), 1, remedyRetry, time.Second},
		{"no retry-after: backoff doubles", thr(0), 2, remedyRetry, 2 * time.Second},
		{"retry-after longer than backoff", thr(17 * time.Second), 1, remedyRetry, 17 * time.Second},
		{"retry-after past the max delay", thr(10 * time.Minute), 1, remedyRetry, 10 * time.Minute},
		{"backoff longer than retry-after", thr(1500 * time.Millisecond), 2, remedyRetry, 2 * time.Second},
		{"attempt cap still holds", thr(17 * time.Second), 3, remedyNone, 0},
		{"not retryable stays so", failure{Code: "AZCM0041", Class: results.ClassCredential, RetryAfter: 17 * time.Second}, 1, remedyNone, 0},
		{"override delay shorter", failure{Code: "AZCM0044", Class: results.ClassAction, RetryAfter: 9 * time.Second}, 1, remedyRetry, 9 * time.Second},
		{"override delay longer", failure{Code: "AZCM0044", Class: results.ClassAction, RetryAfter: 3 * time.Second}, 1, remedyRetry, 7 * time.Second},
		{"service wait longer", failure{Code: "AZCM0064", Class: results.ClassService, RetryAfter: 3 * time.Second}, 1, remedyRestart, DefaultServiceWait},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, d, why := pol.decide(tc.f, tc.tries)
			if r != tc.want || d != tc.delay {
				t.Errorf("decide = %s %s (%s), want %s %s", r, d, why, tc.want, tc.delay)
			}
		})
	}
}

// throttleDialer wraps the fake fleet: a failed connect also prints msg, as
// the agent does when Azure Resource Manager throttles it.
type throttleDialer struct {
	*exFleet
	msg string
}

func (d throttleDialer) Dial(ctx context.Context, t transport.Target) (transport.Conn, error) {
	c, err := d.exFleet.Dial(ctx, t)
	if err != nil {
		return nil, err
	}
	return throttleConn{Conn: c, msg: d.msg}, nil
}

type throttleConn struct {
	transport.Conn
	msg string
}

func (c throttleConn) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	exit, err := c.Conn.Run(ctx, cmd, stdin, stdout, stderr)
	if err == nil && exit != 0 && exStepOf(cmd) == agent.StepConnect {
		fmt.Fprintln(stdout, c.msg)
	}
	return exit, err
}

// applyThrottled runs a connect of one host whose connects fail with exits and
// print msg, and returns the report and the backoff waits the executor asked for.
func applyThrottled(t *testing.T, msg string, exits []int, base, deadline time.Duration) (results.HostResult, []time.Duration, *exFleet) {
	t.Helper()
	f := newExFleet()
	f.add("h", &exHost{exits: map[string][]int{agent.StepConnect: exits}})
	x := exExecutor(f)
	x.Dialer = throttleDialer{exFleet: f, msg: msg}
	x.Deadline = deadline
	var mu sync.Mutex
	var delays []time.Duration
	x.Sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		delays = append(delays, d)
		mu.Unlock()
		return ctx.Err()
	}
	p := exPlan(agent.ActionConnect, "h")
	p.Retry.BaseDelay = base
	rep, err := x.Apply(context.Background(), p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return exResult(rep, "h"), append([]time.Duration(nil), delays...), f
}

func firstConnectCode(h results.HostResult) string {
	for _, a := range h.Attempts {
		if a.Step == agent.StepConnect {
			return a.Code
		}
	}
	return ""
}

const throttled429 = `time="2024-05-02T09:14:04Z" level=error msg="PUT machines failed" Error="Status Code=429 Too Many Requests Retry-After: 17"`

func TestExecutorHonoursRetryAfter(t *testing.T) {
	h, delays, f := applyThrottled(t, throttled429, []int{1}, time.Second, 0)
	if h.Outcome != results.OutcomeOK || f.runsOf("h", agent.StepConnect) != 2 {
		t.Fatalf("%s %s %q after %d connects, want ok after 2", h.Outcome, h.FinalCode, h.Detail, f.runsOf("h", agent.StepConnect))
	}
	if c := firstConnectCode(h); c != "ARM-THROTTLED" {
		t.Errorf("first connect %s, want ARM-THROTTLED", c)
	}
	if len(delays) != 1 || delays[0] < 17*time.Second {
		t.Errorf("waits %v, want one of at least the 17s Retry-After", delays)
	}
}

func TestExecutorBackoffWithoutRetryAfter(t *testing.T) {
	msg := `time="2024-05-02T09:14:04Z" level=error msg="PUT machines failed" Error="Status Code=429 Too Many Requests"`
	h, delays, _ := applyThrottled(t, msg, []int{1, 1}, time.Second, 0)
	if h.Outcome != results.OutcomeOK {
		t.Fatalf("%s %s %q, want ok", h.Outcome, h.FinalCode, h.Detail)
	}
	if c := firstConnectCode(h); c != "ARM-THROTTLED" {
		t.Errorf("first connect %s, want ARM-THROTTLED", c)
	}
	// jitter is the identity in exExecutor: base, then doubled.
	if want := []time.Duration{time.Second, 2 * time.Second}; fmt.Sprint(delays) != fmt.Sprint(want) {
		t.Errorf("waits %v, want the plain backoff %v", delays, want)
	}
}

func TestExecutorRetryAfterKeepsAttemptCap(t *testing.T) {
	h, delays, f := applyThrottled(t, throttled429, []int{1, 1, 1, 1, 1}, time.Second, 0)
	if h.Outcome != results.OutcomeFailed || h.FinalCode != "ARM-THROTTLED" || !strings.Contains(h.Detail, "gave up after 3 attempts") {
		t.Errorf("%s %s %q, want failed ARM-THROTTLED after 3 attempts", h.Outcome, h.FinalCode, h.Detail)
	}
	if n := f.runsOf("h", agent.StepConnect); n != DefaultMaxAttempts {
		t.Errorf("%d connects, want %d", n, DefaultMaxAttempts)
	}
	if len(delays) != DefaultMaxAttempts-1 {
		t.Errorf("waits %v, want %d", delays, DefaultMaxAttempts-1)
	}
	for _, d := range delays {
		if d < 17*time.Second {
			t.Errorf("wait %s shorter than the 17s Retry-After", d)
		}
	}
}

// A Retry-After that would end past the run's deadline starts no retry.
func TestExecutorRetryAfterNotPastDeadline(t *testing.T) {
	msg := strings.Replace(throttled429, "Retry-After: 17", "Retry-After: 120", 1)
	h, delays, f := applyThrottled(t, msg, []int{1}, time.Second, time.Minute)
	if h.Outcome != results.OutcomeFailed || !strings.Contains(h.Detail, "deadline") || !strings.Contains(h.Detail, "Retry-After") {
		t.Errorf("%s %s %q, want failed: the Retry-After wait passes the deadline", h.Outcome, h.FinalCode, h.Detail)
	}
	if n := f.runsOf("h", agent.StepConnect); n != 1 || len(delays) != 0 {
		t.Errorf("%d connects, waits %v; want 1 and none", n, delays)
	}
}
