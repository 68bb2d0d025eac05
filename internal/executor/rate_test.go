package executor

import (
	"context"
	"testing"
	"time"
)

func TestTokenBucket(t *testing.T) {
	now := time.Unix(0, 0)
	var slept []time.Duration
	clock := func() time.Time { return now }
	b := newTokenBucket(2, 1, clock, func(ctx context.Context, d time.Duration) error {
		slept = append(slept, d)
		now = now.Add(d)
		return nil
	})
	for range 5 {
		if err := b.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// Rate 2/s, burst 1: the first goes at once, each next after 500ms.
	want := []time.Duration{500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond}
	if len(slept) != len(want) {
		t.Fatalf("slept %v, want %v", slept, want)
	}
	for i := range want {
		if slept[i] != want[i] {
			t.Errorf("sleep %d = %s, want %s", i, slept[i], want[i])
		}
	}
	// Idle time refills up to the burst only.
	now = now.Add(10 * time.Second)
	slept = nil
	b2 := newTokenBucket(3, 2, clock, func(ctx context.Context, d time.Duration) error {
		slept = append(slept, d)
		now = now.Add(d)
		return nil
	})
	for range 3 {
		b2.Wait(context.Background())
	}
	if len(slept) != 1 || slept[0] < 330*time.Millisecond || slept[0] > 340*time.Millisecond {
		t.Errorf("burst 2 at 3/s: slept %v, want one ~333ms wait", slept)
	}
}
