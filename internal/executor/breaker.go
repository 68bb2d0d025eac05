package executor

import (
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/arcfleet/arcfleet/internal/results"
)

// DefaultBreakerThreshold is how many hosts sharing one credential may fail with
// the shared-credential class before no more hosts using it are started.
const DefaultBreakerThreshold = 3

// breaker is the per-credential circuit breaker: a wrong secret or a missing role
// fails every host alike, so after a few such failures stop, instead of failing
// the whole fleet. Keyed by service principal name and tenant.
type breaker struct {
	threshold int
	nextMsg   results.Msg // what to do once the credential is fixed

	mu    sync.Mutex
	state map[string]*breakerState
}

type breakerState struct {
	failed []string // hosts that failed with ClassCredential, in order
	code   string   // the code of the failure that opened the breaker
	open   bool
	why    results.Msg // set by Trip: the shared cause, seen once (e.g. no access token)
}

// newBreaker returns a breaker; next is the step after fixing the credential
// (the run's resume command: run.resumeMsg).
func newBreaker(threshold int, next results.Msg) *breaker {
	if threshold <= 0 {
		threshold = DefaultBreakerThreshold
	}
	return &breaker{threshold: threshold, nextMsg: next, state: map[string]*breakerState{}}
}

// credentialKey names a credential for the breaker: SP name and the tenant the
// host signs in to (hosts of one SP in different tenants fail independently).
func credentialKey(name, tenant string) string {
	if tenant == "" {
		return name
	}
	return name + " (tenant " + tenant + ")"
}

// credentialMsg is a credentialKey as a message: "NAME (tenant T)".
func credentialMsg(key string) results.Msg {
	if name, tenant, ok := strings.Cut(key, " (tenant "); ok && strings.HasSuffix(tenant, ")") {
		return results.M("cred_tenant", name, strings.TrimSuffix(tenant, ")"))
	}
	return results.M(results.MsgText, key)
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
func (b *breaker) Trip(key, host, code string, why results.Msg) bool {
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
	m, open := b.OpenMsg(key)
	if !open {
		return ""
	}
	return m.Text("en")
}

// OpenMsg is Open as a message for the report, and whether the breaker is open.
func (b *breaker) OpenMsg(key string) (results.Msg, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.state[key]
	if s == nil || !s.open {
		return results.Msg{}, false
	}
	cred := credentialMsg(key)
	if s.why.Key != "" {
		return results.M("breaker_cause", s.code).With(b.nextMsg, cred, s.why), true
	}
	hosts := s.failed
	if len(hosts) > 5 {
		return results.M("breaker_failed_more", strconv.Itoa(len(s.failed)), s.code, strings.Join(hosts[:5], ", "), strconv.Itoa(len(hosts)-5)).With(b.nextMsg, cred), true
	}
	key1 := "breaker_failed"
	if len(hosts) == 1 {
		key1 = "breaker_failed_one"
	}
	return results.M(key1, strconv.Itoa(len(s.failed)), s.code, strings.Join(hosts, ", ")).With(b.nextMsg, cred), true
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
