package executor

import (
	"context"
	"time"

	"golang.org/x/time/rate"
)

// tokenBucket paces agent actions (connect/disconnect starts): Azure throttles
// writes per service principal, so the start rate is limited separately from
// concurrency. The bucket is golang.org/x/time/rate's Limiter; this wrapper
// reads the executor's clock and sleeps with its sleep function, so tests can
// drive it, and gives a reservation back when its caller will not act.
type tokenBucket struct {
	lim   *rate.Limiter // nil: unlimited
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// newTokenBucket returns a bucket of rate tokens per second that starts full.
// burst is clamped to 1..rate (a rate below 1 per second still lets one action
// through at a time); rate <= 0 means unlimited.
func newTokenBucket(r float64, burst int, now func() time.Time, sleep func(context.Context, time.Duration) error) *tokenBucket {
	b := &tokenBucket{now: now, sleep: sleep}
	if r <= 0 {
		return b
	}
	burst = max(burst, 1)
	if r < 1 {
		burst = 1
	} else if float64(burst) > r {
		burst = int(r)
	}
	b.lim = rate.NewLimiter(rate.Limit(r), burst)
	return b
}

// Wait takes one token, sleeping until one is available or ctx ends.
// Each caller reserves its token up front (the balance may go negative), so
// waiters are served in arrival order and never exceed the rate together.
// A caller whose ctx ends while it waits gives its reservation back.
func (b *tokenBucket) Wait(ctx context.Context) error {
	if b == nil || b.lim == nil {
		return ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := b.now()
	res := b.lim.ReserveN(now, 1) // burst >= 1: always OK
	wait := res.DelayFrom(now)
	if wait <= 0 {
		return nil
	}
	if err := b.sleep(ctx, wait); err != nil {
		res.CancelAt(b.now())
		return err
	}
	return nil
}
