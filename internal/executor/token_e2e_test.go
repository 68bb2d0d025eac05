package executor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
)

// cachingTokens is a TokenSource as internal/azure behaves: one cached token,
// handed out while more than margin of its life is left, then a new one. With a
// short life the run outlasts a token and must refresh.
type cachingTokens struct {
	mu           sync.Mutex
	life, margin time.Duration
	cur          string
	exp          time.Time
	minted       []string
	calls        int
}

func (c *cachingTokens) Token(ctx context.Context, cred inventory.Credential) (string, time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.cur == "" || time.Until(c.exp) <= c.margin {
		c.exp = time.Now().Add(c.life)
		c.cur = SentinelToken(len(c.minted), c.exp)
		c.minted = append(c.minted, c.cur)
	}
	return c.cur, c.exp, nil
}

func (c *cachingTokens) tokens() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.minted...)
}

// tokenRecord is the simulator's end line with the login fields.
type tokenRecord struct {
	Host        string   `json:"host"`
	Cmd         string   `json:"cmd"`
	Event       string   `json:"event"`
	Exit        *int     `json:"exit"`
	Auth        string   `json:"auth"`
	TokenSHA256 string   `json:"token_sha256"`
	TokenExp    int64    `json:"token_exp"`
	ConfigKeys  []string `json:"config_keys"`
}

func readTokenRecords(t *testing.T, path, cmd string) []tokenRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []tokenRecord
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r tokenRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("record %q: %v", l, err)
		}
		if r.Event == "end" && r.Cmd == cmd {
			out = append(out, r)
		}
	}
	return out
}

// cmdlineSampler reads every process's command line until stopped and notes
// any that holds a secret (the SP secret or a token minted so far).
type cmdlineSampler struct {
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	hits    []string
	samples int
}

func sampleCmdlines(secrets func() []string) *cmdlineSampler {
	s := &cmdlineSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			select {
			case <-s.stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			sec := secrets()
			ents, _ := os.ReadDir("/proc")
			for _, e := range ents {
				if _, err := strconv.Atoi(e.Name()); err != nil {
					continue
				}
				b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
				if err != nil {
					continue
				}
				for _, x := range sec {
					for _, f := range encodings(x) {
						if bytes.Contains(b, []byte(f)) {
							s.mu.Lock()
							s.hits = append(s.hits, "pid "+e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
							s.mu.Unlock()
						}
					}
				}
			}
			s.mu.Lock()
			s.samples++
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *cmdlineSampler) finish() ([]string, int) {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits, s.samples
}

// filesHolding names the regular files under roots holding any form of secrets.
func filesHolding(roots []string, secrets []string) []string {
	var hits []string
	for _, root := range roots {
		filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			for _, s := range secrets {
				for _, f := range encodings(s) {
					if bytes.Contains(data, []byte(f)) {
						hits = append(hits, path)
						return nil
					}
				}
			}
			return nil
		})
	}
	return hits
}

func sha256Hex(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }

// TestE2EAccessTokenMode: apply connect, then disconnect, in access-token mode on
// real sshd hosts for every login. Each agent receives a token minted on the
// controller (refreshed during the run: tokens here live 20 s and are handed
// out for 1.2 s), never the service principal's secret; no token and no secret
// is on a host's disk afterwards, in a process's command line during the run,
// or in the run's journal, logs, reports, plan or events, in any encoding.
func TestE2EAccessTokenMode(t *testing.T) {
	for name, login := range map[string]sshtest.Login{"root": sshtest.LoginRoot, "sudo": sshtest.LoginSudo, "plain": sshtest.LoginTest} {
		t.Run(name, func(t *testing.T) {
			// Each agent action takes at least 1.5 s; with one host at a time the
			// next mint comes more than 1.2 s after the last: a refresh each time.
			fleet, p := e2eFleetAs(t, 2, login, "default: {slow: 1500ms}\n", agent.ActionConnect, nil)
			c := p.Credentials["sp"]
			c.Auth = inventory.AuthAccessToken // the secret (ARC_SP_SECRET) stays on the controller
			p.Credentials["sp"] = c
			tokens := &cachingTokens{life: 20 * time.Second, margin: 18800 * time.Millisecond}
			secrets := func() []string { return append(tokens.tokens(), execSentinel) }
			sampler := sampleCmdlines(secrets)
			var mu sync.Mutex
			var screen []string
			run := func(p *plan.Plan) (*results.Report, string) {
				for i := range p.Hosts {
					for k := range p.Hosts[i].Steps {
						if in := agent.StepInput(p.Hosts[i].Steps[k], &p.Hosts[i].Host, c, agent.SecretPlaceholder(c)); in != nil {
							p.Hosts[i].Steps[k].Stdin = string(in)
						}
					}
				}
				var txt bytes.Buffer
				if err := plan.Render(&txt, p, "table"); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(txt.String(), "<access-token: minted on the controller from credential sp>") {
					t.Errorf("the plan does not say where the token comes from:\n%s", txt.String())
				}
				screen = append(screen, txt.String())
				x := e2eExecutor()
				x.Concurrency = 1
				x.Tokens = tokens
				x.Events = func(e Event) {
					mu.Lock()
					defer mu.Unlock()
					b, _ := json.Marshal(e)
					screen = append(screen, string(b))
				}
				dir := t.TempDir()
				rep, err := x.Apply(context.Background(), p, dir)
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range rep.Hosts {
					if h.Outcome != results.OutcomeOK {
						t.Errorf("%s %s: %s %s %s", p.Action, h.Name, h.Outcome, h.FinalCode, h.Detail)
					}
				}
				b, _ := json.Marshal(rep)
				screen = append(screen, string(b))
				return rep, dir
			}
			_, connectDir := run(p)
			dp := &plan.Plan{FormatVersion: p.FormatVersion, Action: agent.ActionDisconnect, Inventory: p.Inventory, InventoryDigest: p.InventoryDigest,
				CreatedAt: time.Now(), Credentials: p.Credentials}
			for _, hp := range p.Hosts {
				h := hp.Host
				dp.Hosts = append(dp.Hosts, plan.HostPlan{Host: h, Steps: agent.HostSteps(&h, agent.ActionDisconnect), Recovery: hp.Recovery})
			}
			_, disconnectDir := run(dp)
			minted := tokens.tokens()
			// The sampler sees a token in a command line: this one.
			bait := exec.Command("sh", "-c", "sleep 30; :", "bait", minted[0])
			if err := bait.Start(); err != nil {
				t.Fatal(err)
			}
			baitPid := "pid " + strconv.Itoa(bait.Process.Pid) + ":"
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				sampler.mu.Lock()
				seen := strings.Contains(strings.Join(sampler.hits, "\n"), baitPid)
				sampler.mu.Unlock()
				if seen {
					break
				}
			}
			bait.Process.Kill()
			bait.Wait()
			hits, samples := sampler.finish()
			var others []string
			for _, h := range hits {
				if !strings.HasPrefix(h, baitPid) {
					others = append(others, h)
				}
			}
			if len(others) == len(hits) {
				t.Fatal("the /proc sampler missed a token on a command line: its silence proves nothing")
			}
			hits = others

			// The tokens reached the agents, refreshed during the run; no secret did.
			if len(minted) < 2 {
				t.Errorf("%d tokens minted over the run: no refresh", len(minted))
			}
			byHash := map[string]bool{}
			for _, tok := range minted {
				byHash[sha256Hex(tok)] = true
			}
			used := map[string]bool{}
			for _, cmd := range []string{"connect", "disconnect"} {
				recs := readTokenRecords(t, fleet.RecordFile, cmd)
				if len(recs) != len(fleet.Hosts) {
					t.Fatalf("%d %s records for %d hosts", len(recs), cmd, len(fleet.Hosts))
				}
				for _, r := range recs {
					if r.Auth != "access token" || !byHash[r.TokenSHA256] || r.TokenExp <= time.Now().Unix()-60 {
						t.Errorf("%s on %s: the agent got %+v, not a token minted here", cmd, r.Host, r)
					}
					used[r.TokenSHA256] = true
					keys := strings.Join(r.ConfigKeys, ",")
					if !strings.Contains(keys, "access-token") || strings.Contains(keys, "service-principal") {
						t.Errorf("%s on %s: config keys %s", cmd, r.Host, keys)
					}
				}
			}
			if len(used) < 2 {
				t.Errorf("the agents got %d distinct tokens; the refresh never reached a host", len(used))
			}
			// Nothing on any host's disk (its dir: TMPDIR, state dir, agent root and log) ...
			if leaks := filesHolding([]string{fleet.Dir}, secrets()); len(leaks) > 0 {
				t.Errorf("a token or the secret is on a host's disk: %v", leaks)
			}
			for _, h := range fleet.Hosts {
				if ents, _ := os.ReadDir(h.TmpDir); len(ents) > 0 {
					t.Errorf("%s: TMPDIR still holds %d entries", h.Name, len(ents))
				}
			}
			// ... in a command line while it ran ...
			if samples < 20 {
				t.Errorf("only %d /proc samples during the run", samples)
			}
			if len(hits) > 0 {
				t.Errorf("a token or the secret in a command line: %v", hits)
			}
			// ... or in the run's records and what was shown.
			if leaks := filesHolding([]string{connectDir, disconnectDir}, secrets()); len(leaks) > 0 {
				t.Errorf("a token or the secret in the run directory: %v", leaks)
			}
			for _, s := range secrets() {
				for _, f := range encodings(s) {
					if strings.Contains(strings.Join(screen, "\n"), f) {
						t.Error("a token or the secret in the plan, events or report")
					}
				}
			}
		})
	}
}

// TestE2ECertificateMode: in certificate mode the connect step writes the PEM
// next to the config in its private directory, the agent logs in with it (the
// simulator opens the file named by service-principal-cert), and nothing of the
// PEM or the secret is left on the host or in the run's records.
func TestE2ECertificateMode(t *testing.T) {
	const pem = "-----BEGIN PRIVATE KEY-----\nS3NT1NEL-e2e-pem-body-0123456789abcdefABCDEF\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nMIIB-e2e-certificate-body\n-----END CERTIFICATE-----"
	for name, login := range map[string]sshtest.Login{"root": sshtest.LoginRoot, "sudo": sshtest.LoginSudo, "plain": sshtest.LoginTest} {
		t.Run(name, func(t *testing.T) {
			fleet, p := e2eFleetAs(t, 1, login, "default: {}\n", agent.ActionConnect, nil)
			c := p.Credentials["sp"]
			c.Auth, c.Certificate = inventory.AuthCertificate, inventory.SecretRef{Env: "ARC_SP_CERT"}
			p.Credentials["sp"] = c
			x := e2eExecutor()
			x.LookupEnv = func(k string) (string, bool) {
				if k == "ARC_SP_CERT" {
					return pem, true
				}
				return exEnv(k)
			}
			dir := t.TempDir()
			rep, err := x.Apply(context.Background(), p, dir)
			if err != nil {
				t.Fatal(err)
			}
			if h := rep.Hosts[0]; h.Outcome != results.OutcomeOK {
				t.Fatalf("%s %s %s", h.Outcome, h.FinalCode, h.Detail)
			}
			recs := readTokenRecords(t, fleet.RecordFile, "connect")
			if len(recs) != 1 || recs[0].Auth != "service principal certificate" || strings.Join(recs[0].ConfigKeys, ",") != "location,resource-group,service-principal-cert,service-principal-id,subscription-id,tenant-id" {
				t.Errorf("the agent got %+v", recs)
			}
			secrets := []string{pem, "S3NT1NEL-e2e-pem-body-0123456789abcdefABCDEF", execSentinel}
			if leaks := filesHolding([]string{fleet.Dir, dir}, secrets); len(leaks) > 0 {
				t.Errorf("the certificate or the secret is left in %v", leaks)
			}
		})
	}
}
