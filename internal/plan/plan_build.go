package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/atomicfile"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/shard"
)

// maxClockSkew is how far in the future a plan's creation time may lie before
// CheckFresh distrusts it.
const maxClockSkew = 5 * time.Minute

// shapeKey is everything a host's scripts depend on; hosts sharing it share
// the (large) script strings, which keeps 10,000-host plans small in memory.
type shapeKey struct {
	os, transport, agentPath, agentLog, become, action string
	// config: the agent_config settings the configure step applies (its script holds them).
	config string
	// agent: agent.install, min_version and package (the install step's script
	// holds the version and the package's size and digest).
	agent inventory.Agent
}

type shape struct {
	steps    []agent.Step
	recovery []agent.Step
}

// Build makes the plan of action for hosts (normally inv.Select(limit)). Each
// host gets its steps, the findings inventory.Validate has for it (a host with a
// finding that is not a warning is blocked: apply skips it), and the stdin of
// each step with the secret as a reference. Build reads no secret.
func Build(inv *inventory.Inventory, hosts []*inventory.Host, action, limit string, now time.Time) *Plan {
	p := &Plan{
		FormatVersion:   PlanFormatVersion,
		CreatedAt:       now.Round(0).UTC(),
		Action:          action,
		Inventory:       inv.File,
		InventoryDigest: inv.Digest,
		Limit:           limit,
		Hosts:           make([]HostPlan, 0, len(hosts)),
		Credentials:     map[string]inventory.Credential{},
		Retry:           inv.Retry,
	}
	byHost := map[string][]inventory.Finding{}
	var global []inventory.Finding
	for _, f := range inventory.Validate(inv, hosts, action) {
		if f.Host == "" {
			global = append(global, f)
		} else {
			byHost[f.Host] = append(byHost[f.Host], f)
		}
	}
	shapes := map[shapeKey]*shape{}
	selected := map[string]bool{}
	for _, h := range hosts {
		selected[h.Name] = true
	}
	for _, h := range hosts {
		k := shapeKey{h.OS, h.Transport, h.Agent.Path, h.Agent.Log, h.SSH.Become, action, agent.DescribeSettings(agent.ConfigSettings(h)), h.Agent}
		sh := shapes[k]
		if sh == nil {
			sh = &shape{steps: agent.HostSteps(h, action), recovery: []agent.Step{agent.RestartServiceStep(h), agent.StopStep(h)}}
			shapes[k] = sh
		}
		hp := HostPlan{Host: *h, Steps: append([]agent.Step(nil), sh.steps...), Recovery: sh.recovery}
		cred, ok := inv.Credentials[h.Credential]
		if ok {
			p.Credentials[h.Credential] = cred
		}
		for i := range hp.Steps {
			if in := agent.StepInput(hp.Steps[i], h, cred, agent.SecretPlaceholder(cred)); in != nil {
				hp.Steps[i].Stdin = string(in)
			}
		}
		hp.Findings = append(append([]inventory.Finding(nil), global...), byHost[h.Name]...)
		hp.Findings = append(hp.Findings, agent.CommandLengthFindings(h, hp.Steps)...)
		p.Hosts = append(p.Hosts, hp)
	}
	// Jump hosts (ssh.via) are dialed but not acted on: carry them so apply
	// can reach hosts behind them from the plan alone.
	seen := map[string]bool{}
	for _, h := range hosts {
		for via, depth := h.SSH.Via, 0; via != "" && depth < inventory.MaxJumpDepth; depth++ {
			j := inv.ViaHost(via) // a fleet host or a jump-only host (jump_hosts:, ProxyJump)
			if j == nil || selected[via] || seen[via] {
				break
			}
			seen[via] = true
			p.JumpHosts = append(p.JumpHosts, *j)
			via = j.SSH.Via
		}
	}
	return p
}

// CheckFresh refuses a plan that no longer matches inv (its digest changed), or
// that is older than maxAge (0: no age limit), or dated in the future.
func (p *Plan) CheckFresh(inv *inventory.Inventory, now time.Time, maxAge time.Duration) error {
	replan := fmt.Sprintf("fix: make and review a new plan: arcfleet plan -i %s --action %s", inv.File, p.Action)
	if p.Limit != "" {
		replan += fmt.Sprintf(" --limit %q", p.Limit)
	}
	replan += " -o PLAN.json"
	if p.InventoryDigest != inv.Digest {
		return fmt.Errorf("inventory %s changed since the plan was made at %s (plan digest %s, inventory now %s); %s",
			inv.File, p.CreatedAt.Format(time.RFC3339), p.InventoryDigest, inv.Digest, replan)
	}
	if host, err := p.checkBody(inv); err != nil {
		return fmt.Errorf("plan's contents for %s are not what inventory %s gives (was the plan edited after it was made?): %w; %s",
			host, inv.File, err, replan)
	}
	age := now.Sub(p.CreatedAt)
	if age < -maxClockSkew {
		return fmt.Errorf("plan was made at %s, %s in the future of this machine's clock; check the clocks, then %s",
			p.CreatedAt.Format(time.RFC3339), (-age).Round(time.Second), replan)
	}
	if maxAge > 0 && age > maxAge {
		return fmt.Errorf("plan made at %s, %s ago, more than the %s allowed; %s",
			p.CreatedAt.Format(time.RFC3339), age.Round(time.Second), maxAge, replan)
	}
	return nil
}

// checkBody rebuilds the plan from inv and compares what apply would run: the
// digest only vouches for the inventory, not for a plan file edited since (host
// addresses, targets or commands that would run as root on every host).
func (p *Plan) checkBody(inv *inventory.Inventory) (string, error) {
	hosts, err := inv.Select(p.Limit)
	if err != nil {
		return "--limit " + p.Limit, err
	}
	if p.Shard != nil { // a shard's plan holds its shard's hosts only
		if hosts, err = shard.Select(hosts, *p.Shard); err != nil {
			return "--shard " + p.Shard.String(), err
		}
	}
	q := Build(inv, hosts, p.Action, p.Limit, p.CreatedAt)
	q.Shard = p.Shard
	if len(q.Hosts) != len(p.Hosts) {
		return "the host list", fmt.Errorf("the plan has %d hosts, the inventory selects %d", len(p.Hosts), len(q.Hosts))
	}
	for i := range q.Hosts {
		a, b := p.Hosts[i], q.Hosts[i]
		a.Probe, b.Probe = nil, nil // recorded by --probe; checked against the hosts by CheckProbes
		ja, err1 := json.Marshal(a)
		jb, err2 := json.Marshal(b)
		if err1 != nil || err2 != nil || !bytes.Equal(ja, jb) {
			return "host " + b.Host.Name, fmt.Errorf("its address, Azure target, credential or steps differ")
		}
	}
	for _, part := range []struct {
		what string
		a, b any
	}{
		{"the credentials", p.Credentials, q.Credentials},
		{"the jump hosts", p.JumpHosts, q.JumpHosts},
		{"the retry policy", p.Retry, q.Retry},
	} {
		ja, err1 := json.Marshal(part.a)
		jb, err2 := json.Marshal(part.b)
		if err1 != nil || err2 != nil || !bytes.Equal(ja, jb) {
			return part.what, fmt.Errorf("they differ")
		}
	}
	return "", nil
}

// Save writes p as indented JSON to path atomically (temp file, fsync, rename)
// with mode 0600: a plan names hosts, accounts and secret references.
func Save(path string, p *Plan) error {
	err := atomicfile.Stream(path, 0o600, func(w io.Writer) error { return p.encodeJSON(w, "  ") })
	if err != nil {
		return fmt.Errorf("save plan %s: %w; fix: choose a -o path in a writable directory with free space", path, err)
	}
	return nil
}

// LoadPlan reads a plan written by Save (or `plan --format json`), checking its
// format_version and that every step is complete. Errors name the file, the
// line:column of a JSON error, and the fix.
func LoadPlan(path string) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load plan: %w; fix: give the path of a plan saved with `arcfleet plan -o`", err)
	}
	return parsePlan(path, data)
}

func parsePlan(path string, data []byte) (*Plan, error) {
	var head struct {
		FormatVersion *int `json:"format_version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%s: not a JSON plan: %s; fix: give a plan saved with `arcfleet plan -o`", jsonErrPos(path, data, err), jsonErrMsg(err))
	}
	switch {
	case head.FormatVersion == nil:
		return nil, fmt.Errorf("%s: not an arcfleet plan (no format_version); fix: give a plan saved with `arcfleet plan -o`", path)
	case *head.FormatVersion > PlanFormatVersion:
		return nil, fmt.Errorf("%s: plan format_version %d is newer than this arcfleet reads (%d); fix: use the arcfleet that made the plan, or plan again with this one", path, *head.FormatVersion, PlanFormatVersion)
	case *head.FormatVersion != PlanFormatVersion:
		return nil, fmt.Errorf("%s: plan format_version %d is not supported (want %d); fix: plan again with this arcfleet", path, *head.FormatVersion, PlanFormatVersion)
	}
	var p Plan
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: invalid plan: %s; fix: plan again (plans are not meant to be edited)", jsonErrPos(path, data, err), jsonErrMsg(err))
	}
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("%s: invalid plan: %w; fix: plan again (plans are not meant to be edited)", path, err)
	}
	return &p, nil
}

// check verifies what apply relies on.
func (p *Plan) check() error {
	switch p.Action {
	case agent.ActionConnect, agent.ActionDisconnect, agent.ActionReconnect, agent.ActionInstall, agent.ActionUpgrade:
	default:
		return fmt.Errorf("unknown action %q", p.Action)
	}
	if p.InventoryDigest == "" {
		return errors.New("no inventory_digest")
	}
	if p.CreatedAt.IsZero() {
		return errors.New("no created_at")
	}
	names := map[string]bool{}
	for i := range p.Hosts {
		hp := &p.Hosts[i]
		if hp.Host.Name == "" {
			return fmt.Errorf("hosts[%d] has no name", i)
		}
		if names[hp.Host.Name] {
			return fmt.Errorf("host %s appears twice", hp.Host.Name)
		}
		names[hp.Host.Name] = true
		if len(hp.Steps) == 0 {
			return fmt.Errorf("host %s has no steps", hp.Host.Name)
		}
		for _, s := range append(append([]agent.Step(nil), hp.Steps...), hp.Recovery...) {
			if s.Name == "" || s.Command == "" {
				return fmt.Errorf("host %s: a step has no name or command", hp.Host.Name)
			}
		}
	}
	return nil
}

// jsonErrPos is "PATH:LINE:COL" for JSON errors that carry an offset, else PATH.
func jsonErrPos(path string, data []byte, err error) string {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset - 1 // the offset is just past the offending byte
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return path
	}
	line, col := 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("%s:%d:%d", path, line, col)
}

func jsonErrMsg(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("%s: want %s, got JSON %s", te.Field, te.Type, te.Value)
	}
	return err.Error()
}
