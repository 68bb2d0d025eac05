package executor

import (
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
)

func TestRetryDecide(t *testing.T) {
	pol := newRetryPolicy(inventory.Retry{BaseDelay: time.Second, MaxDelay: 5 * time.Second,
		Codes: map[string]inventory.CodeRetry{
			"AZCM0044": {Action: "retry", MaxAttempts: 5, Delay: 7 * time.Second},
			"AZCM0026": {Action: "none"},
			"AZCM0070": {MaxAttempts: 1},
		}})
	pol.jitter = func(d time.Duration) time.Duration { return d }
	tr := func(k transport.Kind) failure {
		return failure{Code: "TRANSPORT-X", Class: results.ClassTransport, Transport: k}
	}
	tests := []struct {
		name  string
		f     failure
		tries int
		want  remedy
		delay time.Duration
	}{
		{"transient", failure{Code: "AZCM0011", Class: results.ClassTransient}, 1, remedyRetry, time.Second},
		{"transient backoff doubles", failure{Code: "AZCM0011", Class: results.ClassTransient}, 2, remedyRetry, 2 * time.Second},
		{"transient at cap", failure{Code: "AZCM0011", Class: results.ClassTransient}, 3, remedyNone, 0},
		{"unreachable", tr(transport.Unreachable), 1, remedyRetry, time.Second},
		{"lost", tr(transport.Lost), 1, remedyRetry, time.Second},
		{"timeout", tr(transport.Timeout), 2, remedyRetry, 2 * time.Second},
		{"auth", tr(transport.AuthFailed), 1, remedyNone, 0},
		{"host key", tr(transport.HostKeyChanged), 1, remedyNone, 0},
		{"service", failure{Code: "AZCM0064", Class: results.ClassService}, 1, remedyRestart, DefaultServiceWait},
		{"0062 created", failure{Code: "AZCM0062", Class: results.ClassAction, ResourceCreated: true}, 1, remedyReconnect, time.Second},
		{"0062 not created", failure{Code: "AZCM0062", Class: results.ClassAction}, 1, remedyRetry, time.Second},
		{"0081", failure{Code: "AZCM0081", Class: results.ClassAction}, 1, remedyReconnect, time.Second},
		{"0067", failure{Code: "AZCM0067", Class: results.ClassAction}, 1, remedyReconnect, time.Second},
		{"gpo message", failure{Code: "MSG-GPO-PROFILE-DELETED", Class: results.ClassAction}, 1, remedyReconnect, time.Second},
		{"0043 no default", failure{Code: "AZCM0043", Class: results.ClassAction}, 1, remedyNone, 0},
		{"credential", failure{Code: "AZCM0041", Class: results.ClassCredential}, 1, remedyNone, 0},
		{"input", failure{Code: "AZCM0013", Class: results.ClassInput}, 1, remedyNone, 0},
		{"host", failure{Code: "AZCM0018", Class: results.ClassHost}, 1, remedyNone, 0},
		{"support", failure{Code: "AZCM0001", Class: results.ClassSupport}, 1, remedyNone, 0},
		{"override action+delay", failure{Code: "AZCM0044", Class: results.ClassAction}, 3, remedyRetry, 7 * time.Second},
		{"override cap", failure{Code: "AZCM0044", Class: results.ClassAction}, 5, remedyNone, 0},
		{"override none", failure{Code: "AZCM0026", Class: results.ClassTransient}, 1, remedyNone, 0},
		{"override lower cap", failure{Code: "AZCM0070", Class: results.ClassService}, 1, remedyNone, 0},
		{"backoff capped", failure{Code: "AZCM0011", Class: results.ClassTransient}, 2, remedyRetry, 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, d, why := pol.decide(tc.f, tc.tries)
			if r != tc.want || d != tc.delay {
				t.Errorf("decide = %s %s (%s), want %s %s", r, d, why, tc.want, tc.delay)
			}
			if r == remedyNone && why == "" {
				t.Error("gave up without saying why")
			}
		})
	}
}

func TestBackoffCapAndJitter(t *testing.T) {
	pol := newRetryPolicy(inventory.Retry{MaxAttempts: 20, BaseDelay: time.Second, MaxDelay: 10 * time.Second})
	for tries := 1; tries <= 12; tries++ {
		want := time.Second << (tries - 1)
		if want > 10*time.Second {
			want = 10 * time.Second
		}
		for range 50 {
			d := pol.backoff(tries)
			if d < want/2 || d > want {
				t.Fatalf("try %d: delay %s outside [%s, %s]", tries, d, want/2, want)
			}
		}
	}
	def := newRetryPolicy(inventory.Retry{})
	if def.maxAttempts != DefaultMaxAttempts || def.base != DefaultBaseDelay || def.max != DefaultMaxDelay {
		t.Errorf("defaults: %+v", def)
	}
}
