package executor

import (
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/results"
)

func TestBreaker(t *testing.T) {
	b := newBreaker(0, results.M(results.MsgText, "`arcfleet resume runs/x --retry-failed`"))
	k := credentialKey("sp", "t1")
	for i, h := range []string{"a", "b"} {
		if b.Fail(k, h, "AZCM0041") || b.Open(k) != "" {
			t.Fatalf("open after %d failures", i+1)
		}
	}
	if !b.Fail(k, "c", "AZCM0041") {
		t.Fatal("third failure did not open the breaker")
	}
	if b.Fail(k, "d", "AZCM0041") {
		t.Error("opened twice")
	}
	if why := b.Open(k); !strings.Contains(why, "fix the credential, then `arcfleet resume runs/x --retry-failed`") || b.Open(credentialKey("sp", "t2")) != "" {
		t.Errorf("open %q; other tenant must stay closed", why)
	}
	if got := b.OpenKeys(); len(got) != 1 || got[0] != k {
		t.Errorf("OpenKeys %v", got)
	}
}
