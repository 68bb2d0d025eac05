package executor

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// DefaultBreakerThreshold is how many hosts sharing one credential may fail with
// the shared-credential class before no more hosts using it are started.
const DefaultBreakerThreshold = 3

// breaker is the per-credential circuit breaker: a wrong secret or a missing role
// fails every host alike, so after a few such failures stop, instead of failing
// the whole fleet. Keyed by service principal name and tenant.
type breaker struct {
	threshold int
	next      string // what to do once the credential is fixed

	mu    sync.Mutex
	state map[string]*breakerState
}

type breakerState struct {
	failed []string // hosts that failed with ClassCredential, in order
	code   string   // the code of the failure that opened the breaker
	open   bool
	why    string // set by Trip: the shared cause, seen once (e.g. no access token)
}

// newBreaker returns a breaker; next is the step after fixing the credential
// (the resume command of the run directory), "" for "run again".
func newBreaker(threshold int, next string) *breaker {
	if threshold <= 0 {
		threshold = DefaultBreakerThreshold
	}
	if next == "" {
		next = "run again"
	}
	return &breaker{threshold: threshold, next: next, state: map[string]*breakerState{}}
}

// credentialKey names a credential for the breaker: SP name and the tenant the
// host signs in to (hosts of one SP in different tenants fail independently).
func credentialKey(name, tenant string) string {
	if tenant == "" {
		return name
	}
	return name + " (tenant " + tenant + ")"
}

// Fail records that host ended with a shared-credential failure and reports
// whether this failure opened the breaker.
func (b *breaker) Fail(key, host, code string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.state[key]
	if s == nil {
		s = &breakerState{}
		b.state[key] = s
	}
	s.failed = append(s.failed, host)
	if !s.open && len(s.failed) >= b.threshold {
		s.open = true
		s.code = code
		return true
	}
	return false
}

// Trip opens the breaker for key at once: a failure that is the credential's
// own, not a host's (the controller could not get an access token for it), so
// one is enough. why says what failed (no secret in it). It reports whether
// this call opened the breaker.
func (b *breaker) Trip(key, host, code, why string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.state[key]
	if s == nil {
		s = &breakerState{}
		b.state[key] = s
	}
	if s.open {
		return false
	}
	s.open, s.code, s.why = true, code, why
	return true
}

// Open returns the reason the breaker for key is open, or "" when it is closed.
func (b *breaker) Open(key string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.state[key]
	if s == nil || !s.open {
		return ""
	}
	if s.why != "" {
		return fmt.Sprintf("circuit breaker open for credential %s: %s (%s); fix the credential, then %s", key, s.why, s.code, b.next)
	}
	hosts := s.failed
	more := ""
	if len(hosts) > 5 {
		more = fmt.Sprintf(", and %d more", len(hosts)-5)
		hosts = hosts[:5]
	}
	return fmt.Sprintf("circuit breaker open for credential %s: %d hosts failed with %s (%s%s); fix the credential, then %s",
		key, len(s.failed), s.code, strings.Join(hosts, ", "), more, b.next)
}

// OpenKeys lists the credentials whose breaker opened, sorted.
func (b *breaker) OpenKeys() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var keys []string
	for k, s := range b.state {
		if s.open {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}
