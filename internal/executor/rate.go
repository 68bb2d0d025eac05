package executor

import (
	"context"
	"sync"
	"time"
)

// tokenBucket paces agent actions (connect/disconnect starts): Azure throttles
// writes per service principal, so the start rate is limited separately from
// concurrency. It holds at most burst tokens and refills at rate per second.
type tokenBucket struct {
	rate  float64 // tokens per second; <= 0 means unlimited
	burst float64
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// newTokenBucket returns a bucket that starts full. burst is clamped to 1..rate
// (a rate below 1 per second still lets one action through at a time).
func newTokenBucket(rate float64, burst int, now func() time.Time, sleep func(context.Context, time.Duration) error) *tokenBucket {
	b := float64(burst)
	if b < 1 {
		b = 1
	}
	if rate >= 1 && b > rate {
		b = rate
	}
	if rate < 1 {
		b = 1
	}
	return &tokenBucket{rate: rate, burst: b, now: now, sleep: sleep, tokens: b, last: now()}
}

// Wait takes one token, sleeping until one is available or ctx ends.
// Each caller reserves its token up front (the balance may go negative), so
// waiters are served in arrival order and never exceed the rate together.
func (b *tokenBucket) Wait(ctx context.Context) error {
	if b == nil || b.rate <= 0 {
		return ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	now := b.now()
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens += el * b.rate
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
	}
	b.last = now
	b.tokens--
	var wait time.Duration
	if b.tokens < 0 {
		wait = time.Duration(-b.tokens / b.rate * float64(time.Second))
	}
	b.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	if err := b.sleep(ctx, wait); err != nil {
		// Give the reserved token back: this caller will not act.
		b.mu.Lock()
		b.tokens++
		b.mu.Unlock()
		return err
	}
	return nil
}
