package executor

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
)

// stubTokens mints a new JWT-shaped sentinel token on every call (so every
// attempt gets a fresh one), or fails as told.
type stubTokens struct {
	mu     sync.Mutex
	life   time.Duration
	errs   []error // the first calls fail with these (nil: succeed)
	err    error   // every call after errs fails with this, when set
	minted []string
	calls  int
	creds  []string // name@tenant of each request
}

// SentinelToken builds a JWT-shaped token (header.payload.signature, base64url)
// whose parts hold a sentinel, with exp.
func SentinelToken(n int, exp time.Time) string {
	enc := base64.RawURLEncoding
	h := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT","kid":"S3NT1NEL-kid"}`))
	p := enc.EncodeToString(fmt.Appendf(nil, `{"aud":"https://management.azure.com/","exp":%d,"jti":"S3NT1NEL-TOKEN-%d"}`, exp.Unix(), n))
	s := enc.EncodeToString(fmt.Appendf(nil, "S3NT1NEL-signature-%d", n))
	return h + "." + p + "." + s
}

func (s *stubTokens) Token(ctx context.Context, cred inventory.Credential) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.creds = append(s.creds, cred.Name+"@"+cred.TenantID)
	if k := s.calls - 1; k < len(s.errs) && s.errs[k] != nil {
		return "", time.Time{}, s.errs[k]
	}
	if s.err != nil && s.calls > len(s.errs) {
		return "", time.Time{}, s.err
	}
	life := s.life
	if life == 0 {
		life = time.Hour
	}
	exp := time.Now().Add(life)
	tok := SentinelToken(len(s.minted), exp)
	s.minted = append(s.minted, tok)
	return tok, exp, nil
}

func (s *stubTokens) tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.minted...)
}

type codedErr struct{ code, msg string }

func (e *codedErr) Error() string { return e.msg }
func (e *codedErr) Code() string  { return e.code }

// tokenPlan is exPlan with credential sp in access-token mode.
func tokenPlan(action string, names ...string) *plan.Plan {
	p := exPlan(action, names...)
	c := p.Credentials["sp"]
	c.Auth = inventory.AuthAccessToken
	p.Credentials["sp"] = c
	for i := range p.Hosts {
		h := &p.Hosts[i].Host
		p.Hosts[i].Steps = agent.HostSteps(h, action)
	}
	return p
}

// configOf is the JSON config a fake host's step got on stdin.
func configOf(t *testing.T, stdin string) map[string]string {
	t.Helper()
	_, body, _ := strings.Cut(stdin, "\n")
	body, _, _ = strings.Cut(body, agent.InputEnd)
	var m map[string]string
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("config on stdin: %v\n%s", err, stdin)
	}
	return m
}

// encodings are the forms of s the run's records must not hold.
func encodings(s string) []string {
	return []string{s, hex.EncodeToString([]byte(s)), base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s))}
}

func TestAccessTokenMode(t *testing.T) {
	f := newExFleet()
	f.add("a", &exHost{echoStdin: true})
	f.add("flaky", &exHost{echoStdin: true, exits: map[string][]int{agent.StepConnect: {26}}}) // transient: retried
	f.add("c", &exHost{echoStdin: true})
	x := exExecutor(f)
	tokens := &stubTokens{}
	x.Tokens = tokens
	var mu sync.Mutex
	var events []string
	x.Events = func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		b, _ := json.Marshal(e)
		events = append(events, string(b))
	}
	dir := t.TempDir()
	rep, err := x.Apply(context.Background(), tokenPlan(agent.ActionConnect, "a", "flaky", "c"), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range rep.Hosts {
		if h.Outcome != results.OutcomeOK {
			t.Errorf("%s: %s %s %s", h.Name, h.Outcome, h.FinalCode, h.Detail)
		}
	}
	minted := tokens.tokens()
	connects := 0
	for _, n := range []string{"a", "flaky", "c"} {
		connects += f.runsOf(n, agent.StepConnect)
	}
	if len(minted) != connects || connects != 4 {
		t.Fatalf("%d tokens minted for %d connect attempts; want one per attempt, 4 attempts", len(minted), connects)
	}
	seen := map[string]bool{}
	for _, n := range []string{"a", "flaky", "c"} {
		for i, in := range f.hosts[n].stdins[agent.StepConnect] {
			cfg := configOf(t, in)
			tok := cfg["access-token"]
			if !strings.HasPrefix(tok, "ey") || seen[tok] {
				t.Errorf("%s connect %d: access-token %q (new token per attempt expected)", n, i+1, tok)
			}
			seen[tok] = true
			for _, k := range []string{"service-principal-secret", "service-principal-id"} {
				if _, ok := cfg[k]; ok {
					t.Errorf("%s: the host got %s in access-token mode", n, k)
				}
			}
			if strings.Contains(in, execSentinel) {
				t.Errorf("%s: the SP secret reached the host in access-token mode", n)
			}
		}
	}
	// No token (nor the SP secret) in the run's records, in any encoding.
	var leaks []string
	check := func(where, text string) {
		for _, tok := range append(minted, execSentinel) {
			for _, e := range encodings(tok) {
				if strings.Contains(text, e) {
					leaks = append(leaks, where)
				}
			}
		}
	}
	b, _ := json.Marshal(rep)
	check("report", string(b))
	check("events", strings.Join(events, "\n"))
	logs := 0
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(path)
		if strings.Contains(path, "attempt-") && strings.Contains(string(data), "config:") {
			logs++
		}
		check(path, string(data))
		return nil
	})
	if logs == 0 {
		t.Fatal("no attempt log shows the echoed config: the leak check proves nothing")
	}
	if len(leaks) > 0 {
		t.Errorf("a token or the secret leaked into: %v", leaks)
	}
}

func TestAccessTokenModeDisconnect(t *testing.T) {
	f := newExFleet()
	f.add("m", &exHost{status: "Connected", sub: "sub-1", rg: "rg-1", loc: "westeurope", ten: "tenant-1",
		resourceID: "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.HybridCompute/machines/m"})
	x := exExecutor(f)
	tokens := &stubTokens{}
	x.Tokens = tokens
	rep, err := x.Apply(context.Background(), tokenPlan(agent.ActionDisconnect, "m"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if h := exResult(rep, "m"); h.Outcome != results.OutcomeOK {
		t.Fatalf("%s %s %s", h.Outcome, h.FinalCode, h.Detail)
	}
	ins := f.hosts["m"].stdins[agent.StepDisconnect]
	if len(ins) != 1 || configOf(t, ins[0])["access-token"] != tokens.tokens()[0] {
		t.Errorf("disconnect stdin %q, minted %v", ins, tokens.tokens())
	}
}

func TestAccessTokenNoSourceBlocks(t *testing.T) {
	f := newExFleet()
	f.add("a", &exHost{})
	f.add("b", &exHost{})
	p := tokenPlan(agent.ActionConnect, "a", "b")
	p.Hosts[1].Host.Credential, p.Hosts[1].Host.Azure.TenantID = "other", "tenant-2" // secret mode: runs
	rep, err := exExecutor(f).Apply(context.Background(), p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := exResult(rep, "a")
	if a.Outcome != results.OutcomeBlocked || a.FinalCode != codeNoTokenSource || !strings.Contains(a.Detail, "access-token mode") || !strings.Contains(a.Detail, "fix:") {
		t.Errorf("a: %s %s %q", a.Outcome, a.FinalCode, a.Detail)
	}
	if f.runsOf("a", agent.StepConnect)+f.runsOf("a", agent.StepProbe) != 0 {
		t.Error("a host without a token source was acted on")
	}
	if b := exResult(rep, "b"); b.Outcome != results.OutcomeOK {
		t.Errorf("b (secret mode): %s %s", b.Outcome, b.Detail)
	}
	if results.ClassOf(codeNoTokenSource) == "" {
		t.Errorf("%s is not in the catalog", codeNoTokenSource)
	}
}

// A credential whose token fails opens its breaker at once: one failed host,
// the rest not started, one token request, no connect anywhere.
func TestAccessTokenErrorOpensBreaker(t *testing.T) {
	for _, tc := range []struct {
		name, code string
		err        error
		life       time.Duration
	}{
		{"AADSTS code", "AADSTS7000215", &codedErr{"AADSTS7000215", "AADSTS7000215: Invalid client secret provided."}, 0},
		{"no code", codeToken, errors.New("azure cli: not logged in; fix: az login"), 0},
		{"expired token", codeToken, nil, -time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newExFleet()
			var names []string
			for i := range 6 {
				n := fmt.Sprintf("h%d", i)
				f.add(n, &exHost{})
				names = append(names, n)
			}
			x := exExecutor(f)
			x.Concurrency = 1
			tokens := &stubTokens{err: tc.err, life: tc.life}
			x.Tokens = tokens
			rep, err := x.Apply(context.Background(), tokenPlan(agent.ActionConnect, names...), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			first := rep.Hosts[0]
			if first.Outcome != results.OutcomeFailed || first.FinalCode != tc.code || !strings.Contains(first.Detail, "access token for credential sp") {
				t.Errorf("first host: %s %s %q", first.Outcome, first.FinalCode, first.Detail)
			}
			for _, h := range rep.Hosts[1:] {
				if h.Outcome != results.OutcomeNotStarted || h.FinalCode != codeBreakerOpen || !strings.Contains(h.Detail, tc.code) {
					t.Errorf("%s: %s %s %q", h.Name, h.Outcome, h.FinalCode, h.Detail)
				}
			}
			for _, n := range names {
				if f.runsOf(n, agent.StepConnect) != 0 {
					t.Errorf("%s: connect ran without a token", n)
				}
			}
			if tokens.calls != 1 {
				t.Errorf("%d token requests, want 1", tokens.calls)
			}
			if len(rep.BreakerOpen) != 1 {
				t.Errorf("BreakerOpen %v", rep.BreakerOpen)
			}
			for _, tok := range tokens.tokens() { // the expired one
				b, _ := json.Marshal(rep)
				if strings.Contains(string(b), tok) {
					t.Error("the unusable token is in the report")
				}
			}
		})
	}
}

// A token failure of another class (here transient) is retried per host and
// opens no breaker.
func TestAccessTokenTransientErrorRetried(t *testing.T) {
	f := newExFleet()
	f.add("a", &exHost{})
	f.add("b", &exHost{})
	x := exExecutor(f)
	x.Concurrency = 1
	if results.ClassOf("AZCM0026") != results.ClassTransient {
		t.Fatal("AZCM0026 is no longer transient: pick another code")
	}
	tokens := &stubTokens{errs: []error{&codedErr{"AZCM0026", "token endpoint: connection reset"}}}
	x.Tokens = tokens
	rep, err := x.Apply(context.Background(), tokenPlan(agent.ActionConnect, "a", "b"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range rep.Hosts {
		if h.Outcome != results.OutcomeOK {
			t.Errorf("%s: %s %s %s", h.Name, h.Outcome, h.FinalCode, h.Detail)
		}
	}
	if len(rep.BreakerOpen) != 0 || tokens.calls != 3 {
		t.Errorf("breaker %v, %d token calls (want none open, 3 calls)", rep.BreakerOpen, tokens.calls)
	}
}

// Secret mode is unchanged: the secret goes in the config, no token is asked for.
func TestSecretModeAsksNoToken(t *testing.T) {
	f := newExFleet()
	f.add("a", &exHost{})
	x := exExecutor(f)
	tokens := &stubTokens{}
	x.Tokens = tokens
	rep, err := x.Apply(context.Background(), exPlan(agent.ActionConnect, "a"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if h := exResult(rep, "a"); h.Outcome != results.OutcomeOK {
		t.Fatalf("%s %s", h.Outcome, h.Detail)
	}
	cfg := configOf(t, f.hosts["a"].stdins[agent.StepConnect][0])
	if tokens.calls != 0 || cfg["service-principal-secret"] != execSentinel || cfg["access-token"] != "" {
		t.Errorf("%d token calls; config %v", tokens.calls, cfg)
	}
}

// Many hosts at once mint and mask tokens concurrently (run with -race).
func TestAccessTokenConcurrentHosts(t *testing.T) {
	f := newExFleet()
	var names []string
	for i := range 24 {
		n := fmt.Sprintf("h%02d", i)
		f.add(n, &exHost{echoStdin: true})
		names = append(names, n)
	}
	x := exExecutor(f)
	x.Concurrency = 12
	tokens := &stubTokens{}
	x.Tokens = tokens
	dir := t.TempDir()
	rep, err := x.Apply(context.Background(), tokenPlan(agent.ActionConnect, names...), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range rep.Hosts {
		if h.Outcome != results.OutcomeOK {
			t.Errorf("%s: %s %s", h.Name, h.Outcome, h.Detail)
		}
	}
	journal, _ := os.ReadFile(filepath.Join(dir, JournalFile))
	for _, tok := range tokens.tokens() {
		if strings.Contains(string(journal), tok) {
			t.Fatal("a token is in the journal")
		}
	}
}

// A credential without a tenant of its own mints each host's token in the
// host's tenant (the tenant its agent config names).
func TestAccessTokenPerHostTenant(t *testing.T) {
	f := newExFleet()
	f.add("a", &exHost{})
	f.add("b", &exHost{})
	p := tokenPlan(agent.ActionConnect, "a", "b")
	c := p.Credentials["sp"]
	c.TenantID = ""
	p.Credentials["sp"] = c
	p.Hosts[1].Host.Azure.TenantID = "tenant-2"
	x := exExecutor(f)
	x.Concurrency = 1
	tokens := &stubTokens{}
	x.Tokens = tokens
	rep, err := x.Apply(context.Background(), p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range rep.Hosts {
		if h.Outcome != results.OutcomeOK {
			t.Errorf("%s: %s %s", h.Name, h.Outcome, h.Detail)
		}
	}
	if got := strings.Join(tokens.creds, " "); got != "sp@tenant-1 sp@tenant-2" {
		t.Errorf("token requests %s", got)
	}
	if got := configOf(t, f.hosts["b"].stdins[agent.StepConnect][0])["tenant-id"]; got != "tenant-2" {
		t.Errorf("b's agent config names tenant %q", got)
	}
}

// Certificate mode: the host gets the certificate's PEM after the config (the
// step writes it to its own file), never the secret; the PEM is masked.
func TestCertificateMode(t *testing.T) {
	const pem = "-----BEGIN PRIVATE KEY-----\nS3NT1NEL-pem-body-0123456789abcdef\n-----END PRIVATE KEY-----"
	f := newExFleet()
	f.add("a", &exHost{echoStdin: true})
	p := exPlan(agent.ActionConnect, "a")
	c := p.Credentials["sp"]
	c.Auth, c.Certificate = inventory.AuthCertificate, inventory.SecretRef{Env: "ARC_SP_CERT"}
	p.Credentials["sp"] = c
	x := exExecutor(f)
	x.LookupEnv = func(k string) (string, bool) {
		if k == "ARC_SP_CERT" {
			return pem, true
		}
		return exEnv(k)
	}
	tokens := &stubTokens{}
	x.Tokens = tokens
	dir := t.TempDir()
	rep, err := x.Apply(context.Background(), p, dir)
	if err != nil {
		t.Fatal(err)
	}
	if h := exResult(rep, "a"); h.Outcome != results.OutcomeOK {
		t.Fatalf("%s %s", h.Outcome, h.Detail)
	}
	in := f.hosts["a"].stdins[agent.StepConnect][0]
	if !strings.Contains(in, "\n"+agent.CertStart+"\n"+pem+"\n") || !strings.Contains(in, `"service-principal-cert": "`+agent.CertPathPlaceholder+`"`) {
		t.Errorf("stdin:\n%s", in)
	}
	if strings.Contains(in, execSentinel) || tokens.calls != 0 {
		t.Errorf("certificate mode sent the secret or asked for a token (%d)", tokens.calls)
	}
	if leaks := filesHolding([]string{dir}, []string{pem}); len(leaks) > 0 {
		t.Errorf("the PEM in %v", leaks)
	}
	// An unresolved certificate reference blocks the host, naming the reference.
	x.LookupEnv = exEnv
	f2 := newExFleet()
	f2.add("a", &exHost{})
	x.Dialer = f2
	rep, err = x.Apply(context.Background(), p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if h := exResult(rep, "a"); h.Outcome != results.OutcomeBlocked || h.FinalCode != inventory.CodeSecretUnresolved || !strings.Contains(h.Detail, "certificate env:ARC_SP_CERT") {
		t.Errorf("%s %s %q", h.Outcome, h.FinalCode, h.Detail)
	}
}
