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

func TestTokenBucketBurstClamp(t *testing.T) {
	clock := func() time.Time { return time.Unix(0, 0) }
	for _, tc := range []struct {
		rate  float64
		burst int
		want  int
	}{{0.05, 5, 1}, {0.5, 0, 1}, {2, 5, 2}, {2.5, 5, 2}, {10, 0, 1}, {10, 3, 3}} {
		if got := newTokenBucket(tc.rate, tc.burst, clock, realSleep).lim.Burst(); got != tc.want {
			t.Errorf("rate %v burst %d: burst %d, want %d", tc.rate, tc.burst, got, tc.want)
		}
	}
	if b := newTokenBucket(0, 5, clock, realSleep); b.lim != nil {
		t.Error("rate 0 is not unlimited")
	}
}

// A caller whose context ends while it waits gives its token back: the next
// caller waits as if the canceled one had never come.
func TestTokenBucketCancelGivesTokenBack(t *testing.T) {
	now := time.Unix(0, 0)
	var slept []time.Duration
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	b := newTokenBucket(1, 1, func() time.Time { return now }, func(ctx context.Context, d time.Duration) error {
		if ctx.Err() != nil {
			return ctx.Err() // no time passes
		}
		slept = append(slept, d)
		now = now.Add(d)
		return nil
	})
	if err := b.Wait(context.Background()); err != nil || len(slept) != 0 {
		t.Fatalf("first wait: %v, slept %v", err, slept)
	}
	// Already canceled: no token taken.
	if err := b.Wait(canceled); err != context.Canceled {
		t.Fatalf("canceled before: %v", err)
	}
	// Canceled while waiting (the sleep sees the end of ctx): the token goes back.
	ctx, cancel2 := context.WithCancel(context.Background())
	b.sleep = func(c context.Context, d time.Duration) error {
		if c == ctx {
			cancel2()
			return c.Err()
		}
		slept = append(slept, d)
		now = now.Add(d)
		return nil
	}
	if err := b.Wait(ctx); err != context.Canceled {
		t.Fatalf("canceled while waiting: %v", err)
	}
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(slept) != 1 || slept[0] != time.Second {
		t.Errorf("after a canceled wait the next caller slept %v, want [1s] (not 2s: the canceled token was given back)", slept)
	}
}

// With the real timer, a wait ends at the context's deadline, not when the
// token would come (20 s here).
func TestTokenBucketDeadline(t *testing.T) {
	b := newTokenBucket(0.05, 1, time.Now, realSleep)
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := b.Wait(ctx)
	if el := time.Since(start); err != context.DeadlineExceeded || el < 90*time.Millisecond || el > 10*time.Second {
		t.Errorf("Wait = %v after %s, want DeadlineExceeded at the 100ms deadline", err, el)
	}
	// Unlimited: no wait, but a canceled context still says so.
	u := newTokenBucket(0, 1, time.Now, realSleep)
	if err := u.Wait(context.Background()); err != nil {
		t.Error(err)
	}
	if err := u.Wait(ctx); err != context.DeadlineExceeded {
		t.Errorf("unlimited with an ended context: %v", err)
	}
	var nb *tokenBucket
	if err := nb.Wait(context.Background()); err != nil {
		t.Error(err)
	}
}
