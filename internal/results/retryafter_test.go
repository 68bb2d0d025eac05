package results

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{`Status Code=429 Too Many Requests Retry-After: 17`, 17 * time.Second},
		{`Retry-After: 17 Too Many Requests`, 17 * time.Second},
		{`map[Retry-After:[5] X-Ms-Request-Id:[abc]]`, 5 * time.Second},
		{`{"Retry-After":"17"}`, 17 * time.Second},
		{`{"retryAfter": 3}`, 3 * time.Second},
		{`retry_after=2.5`, 2500 * time.Millisecond},
		{`please retry after 17 seconds`, 17 * time.Second},
		{`retry after 250ms`, 250 * time.Millisecond},
		{`retry after 2 minutes`, 2 * time.Minute},
		{`Retry-After: 1 then Retry-After: 9`, 9 * time.Second}, // the last wins
		{`Retry-After: 86400`, MaxRetryAfter},
		{`Retry-After: 99999999999999999999999999`, MaxRetryAfter},
		{`Retry-After: 0`, 0},
		{`Retry-After: -5`, 0},
		{`Retry-After: soon`, 0},
		{`Retry-After: Wed, 21 Oct 2026 07:28:00 GMT`, 0},
		{`will retry after 3 attempts`, 0},
		{`retrying after 4s`, 0}, // the agent's own schedule, not the server's
		{`no header here: 17`, 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestClassifyRetryAfter(t *testing.T) {
	throttled := `Error="Status Code=429 Too Many Requests Retry-After: 17"`
	tests := []struct {
		name string
		ev   Evidence
		want time.Duration
	}{
		{"stderr", Evidence{ExitCode: 1, Stderr: throttled}, 17 * time.Second},
		{"agent log after marker", Evidence{ExitCode: 1, Stderr: "x\n" + AgentLogMarker + "\n" + throttled}, 17 * time.Second},
		{"escaped inside a JSON string", Evidence{ExitCode: 1, Stdout: `{"error":{"message":"429 Too Many Requests {\"Retry-After\":\"8\"}"}}`}, 8 * time.Second},
		{"no header", Evidence{ExitCode: 1, Stderr: "Status Code=429 Too Many Requests"}, 0},
		{"success ignores it", Evidence{ExitCode: 0, Stdout: "Retry-After: 5\nConnected machine to Azure"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Classify(tt.ev)
			if d.RetryAfter != tt.want {
				t.Errorf("RetryAfter %v, want %v (code %s)", d.RetryAfter, tt.want, d.Code)
			}
			if tt.want > 0 && d.Code != "ARM-THROTTLED" {
				t.Errorf("code %s, want ARM-THROTTLED", d.Code)
			}
		})
	}
}

// The field travels in reports and journals as nanoseconds, omitted when unset.
func TestDiagnosisRetryAfterJSON(t *testing.T) {
	b, err := json.Marshal(Diagnosis{Code: "ARM-THROTTLED", RetryAfter: 17 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"retry_after_ns":17000000000`) {
		t.Errorf("JSON %s lacks retry_after_ns", b)
	}
	b, _ = json.Marshal(Diagnosis{Code: "AZCM0000"})
	if strings.Contains(string(b), "retry_after") {
		t.Errorf("JSON %s carries an unset retry_after_ns", b)
	}
}

// FuzzParseRetryAfter: never panics, never negative, never above the cap.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"Retry-After: 17", `{"Retry-After":"17"}`, "retry after 2.5 minutes", "Retry-After:[1e308]", "retry after 3 attempts", "Retry-After: 9999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := parseRetryAfter(s)
		if d < 0 || d > MaxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %v, outside [0, %v]", s, d, MaxRetryAfter)
		}
	})
}
