package executor

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
)

// Retry defaults, used where the inventory's `retry:` section leaves a zero value.
const (
	DefaultMaxAttempts = 3
	DefaultBaseDelay   = 2 * time.Second
	DefaultMaxDelay    = time.Minute
	// DefaultServiceWait is the pause after restarting the agent service before
	// trying again (the seed says "wait a minute" for AZCM0064; half is enough for himds).
	DefaultServiceWait = 30 * time.Second
)

// remedy is what the executor does after a failed try.
type remedy int

const (
	remedyNone      remedy = iota // give up: report the failure
	remedyRetry                   // try the same steps again after a delay
	remedyRestart                 // restart the agent service, then try again
	remedyReconnect               // disconnect (falling back to --force-local-only), then connect
)

// remedies maps the knowledge base's remedies (the catalog declares one per
// code; the inventory's retry.codes uses the same names) to the executor's.
var remedies = map[results.Remedy]remedy{
	results.RemedyNone:           remedyNone,
	results.RemedyRetry:          remedyRetry,
	results.RemedyRestartService: remedyRestart,
	results.RemedyReconnect:      remedyReconnect,
}

// String is the remedy's knowledge-base name.
func (r remedy) String() string {
	for k, v := range remedies {
		if v == r {
			return k.String()
		}
	}
	return results.RemedyNone.String()
}

// failure is what the retry policy needs to know about one failed try.
type failure struct {
	Code      string
	Class     results.Class
	Transport transport.Kind // set when the try failed in transport
	// ResourceCreated: a probe after the failure shows an Azure resource id
	// (AZCM0062 then needs the resource removed before connecting again).
	ResourceCreated bool
	// RetryAfter is the wait the service asked for (Retry-After, e.g. ARM's
	// 429); 0 = none. No retry comes sooner than it.
	RetryAfter time.Duration
}

// retryPolicy is the inventory's retry section with defaults filled in.
type retryPolicy struct {
	maxAttempts int
	base, max   time.Duration
	serviceWait time.Duration
	codes       map[string]inventory.CodeRetry
	// jitter maps a delay d to one in [d/2, d]; nil = random (equal jitter,
	// so hosts that failed together do not retry together).
	jitter func(d time.Duration) time.Duration
}

func newRetryPolicy(r inventory.Retry) retryPolicy {
	p := retryPolicy{maxAttempts: r.MaxAttempts, base: r.BaseDelay, max: r.MaxDelay, serviceWait: DefaultServiceWait, codes: r.Codes}
	if p.maxAttempts <= 0 {
		p.maxAttempts = DefaultMaxAttempts
	}
	if p.base <= 0 {
		p.base = DefaultBaseDelay
	}
	if p.max <= 0 {
		p.max = DefaultMaxDelay
	}
	if p.max < p.base {
		p.max = p.base
	}
	return p
}

// backoff is the delay before try number tries+1: base doubling per try, capped, jittered.
func (p retryPolicy) backoff(tries int) time.Duration {
	d := p.base
	for i := 1; i < tries && d < p.max; i++ {
		d *= 2
	}
	if d > p.max {
		d = p.max
	}
	if p.jitter != nil {
		return p.jitter(d)
	}
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + time.Duration(rand.Int64N(int64(d-half)+1))
}

// decide says what to do after the tries-th try failed with f, and how long to
// wait first: the remedy's own delay, or the service's Retry-After when that is
// longer (retrying sooner only earns another 429). When it gives up, why says
// so in words for the report.
func (p retryPolicy) decide(f failure, tries int) (r remedy, delay time.Duration, why string) {
	r, delay, m := p.decideMsg(f, tries)
	if m.Key != "" {
		why = m.Text("en")
	}
	return r, delay, why
}

// decideMsg is decide with why as a message for the report (zero when it retries).
func (p retryPolicy) decideMsg(f failure, tries int) (r remedy, delay time.Duration, why results.Msg) {
	limit := p.maxAttempts
	o, override := p.codes[f.Code]
	if override && o.MaxAttempts > 0 {
		limit = o.MaxAttempts
	}
	r = remedies[results.RemedyOf(causeCode(f), f.ResourceCreated)]
	if override {
		if name, ok := results.ParseRemedy(o.Action); ok {
			r = remedies[name]
		}
	}
	if r == remedyNone {
		if f.Class == "" {
			return remedyNone, 0, results.M("not_retried")
		}
		return remedyNone, 0, results.M("not_retried_class_m").With(results.M(results.MsgClass, string(f.Class)))
	}
	if tries >= limit {
		return remedyNone, 0, results.M("gave_up", strconv.Itoa(tries))
	}
	switch {
	case override && o.Delay > 0:
		delay = o.Delay
	case r == remedyRestart:
		delay = p.serviceWait
	default:
		delay = p.backoff(tries)
	}
	if f.RetryAfter > delay {
		delay = f.RetryAfter
	}
	return r, delay, results.Msg{}
}

// causeCode is the knowledge-base code whose remedy applies to f: the code of
// its transport kind when the try failed in transport (results owns that
// table), else f.Code. The catalog's remedy for it is arcfleet's default.
func causeCode(f failure) string {
	if f.Transport != "" {
		c, _ := results.TransportCode(string(f.Transport))
		return c
	}
	return f.Code
}

// retryAfterNote says, for messages, that a wait is the service's Retry-After.
func retryAfterNote(delay, retryAfter time.Duration) string {
	if retryAfter > 0 && delay == retryAfter {
		return " (the service's Retry-After)"
	}
	return ""
}
