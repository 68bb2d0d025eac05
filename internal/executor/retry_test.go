package executor

import (
	"os"
	"path/filepath"
	"strings"
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

// The catalog owns the remedies: for every code it knows, with and without a
// created resource, the policy's default is the catalog's remedy, under the
// same name `arcfleet codes` shows.
func TestRetryRemedyFromCatalog(t *testing.T) {
	pol := newRetryPolicy(inventory.Retry{MaxAttempts: 5})
	pol.jitter = func(d time.Duration) time.Duration { return d }
	for _, r := range results.Remedies() {
		if _, ok := remedies[r]; !ok {
			t.Errorf("knowledge-base remedy %s has no executor remedy", r)
		}
	}
	cat := results.Catalog()
	if len(cat) < 100 {
		t.Fatalf("catalog has %d entries", len(cat))
	}
	for _, e := range cat {
		for _, created := range []bool{false, true} {
			want := results.RemedyOf(e.Code, created)
			got, _, why := pol.decide(failure{Code: e.Code, Class: e.Class, ResourceCreated: created}, 1)
			if got != remedies[want] || got.String() != want.String() {
				t.Errorf("%s (created %v): policy %s (%s), catalog %s", e.Code, created, got, why, want)
			}
		}
	}
	// A transport failure takes the remedy of its kind's code.
	for _, k := range results.TransportKinds() {
		code, _ := results.TransportCode(k)
		got, _, _ := pol.decide(failure{Code: code, Class: results.ClassTransport, Transport: transport.Kind(k)}, 1)
		if want := results.RemedyOf(code, false); got != remedies[want] {
			t.Errorf("transport %s: policy %s, catalog %s", k, got, want)
		}
	}
}

// The inventory's retry.codes accepts every remedy name the knowledge base has
// (and "none"), and the policy applies it in place of the catalog's.
func TestRetryOverrideNames(t *testing.T) {
	dir := t.TempDir()
	for _, r := range results.Remedies() {
		inv := "version: 1\nretry:\n  codes: {AZCM0044: {action: " + r.String() + "}}\nhosts:\n  - name: a\n"
		path := filepath.Join(dir, "inv-"+r.String()+".yaml")
		if err := os.WriteFile(path, []byte(inv), 0o644); err != nil {
			t.Fatal(err)
		}
		in, err := inventory.Load(path)
		if err != nil && strings.Contains(err.Error(), "action") {
			t.Errorf("inventory refuses remedy %q: %v", r, err)
			continue
		}
		if in == nil {
			t.Fatalf("inventory for %q: %v", r, err)
		}
		pol := newRetryPolicy(in.Retry)
		if got, _, _ := pol.decide(failure{Code: "AZCM0044", Class: results.ClassAction}, 1); got != remedies[r] {
			t.Errorf("override %s: policy %s", r, got)
		}
	}
}
