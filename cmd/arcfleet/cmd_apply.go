package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/executor"
	"github.com/arcfleet/arcfleet/internal/plan"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/shard"
	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/internal/transport/ssh"
	"github.com/arcfleet/arcfleet/internal/transport/winrm"

	"github.com/spf13/pflag"
)

const applyUsage = `Usage: arcfleet apply -i INVENTORY --action connect|disconnect|reconnect|install|upgrade [flags]
       arcfleet apply PLAN.json [flags]

Runs the action on every selected host: probe (azcmagent show), act, collect,
classify, retry what is recoverable, and write a run directory with journal.jsonl,
per-attempt logs and the remediation report. With PLAN.json it runs exactly that
saved plan and refuses it (exit 2) when it is stale.

Without --yes an interactive terminal asks before acting; a non-interactive one
(cron, CI) requires --yes.

Flags:
`

// runFlags are the executor settings shared by apply and resume.
type runFlags struct {
	concurrency int
	rate        float64
	canary      int
	timeout     time.Duration
	deadline    time.Duration
	yes         bool
}

func (r *runFlags) register(fs *pflag.FlagSet) {
	fs.IntVar(&r.concurrency, "concurrency", 50, "hosts worked on at once")
	fs.Float64Var(&r.rate, "rate", 0, "at most N agent actions started per second across the fleet (0 = no limit); all hosts share one service principal and Azure throttles its writes")
	fs.IntVar(&r.canary, "canary", 0, "run the first N hosts alone; start the rest only if they all succeed")
	fs.DurationVar(&r.timeout, "timeout", 15*time.Minute, "time limit of one attempt on one host (the agent may take 10 minutes)")
	fs.DurationVar(&r.deadline, "deadline", 0, "time limit of the whole run; hosts not started by then are reported not-started (0 = none)")
	fs.BoolVarP(&r.yes, "yes", "y", false, "do not ask for confirmation (required when stdin is not a terminal)")
}

func (r *runFlags) executor(e *env) *executor.Executor {
	return &executor.Executor{
		Dialer:      transport.Mux{SSH: &ssh.Dialer{}, WinRM: &winrm.Dialer{}},
		LookupEnv:   lookupEnv(e),
		Concurrency: r.concurrency,
		Rate:        r.rate,
		Canary:      r.canary,
		Timeout:     r.timeout,
		Deadline:    r.deadline,
	}
}

func lookupEnv(e *env) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v := e.getenv(k)
		return v, v != ""
	}
}

func cmdApply(e *env, fs *pflag.FlagSet) func(context.Context, []string) int {
	var (
		invPath, action, limit, runDir string
		maxAge                         time.Duration
		rf                             runFlags
		sf                             shardFlags
		metricsFile                    string
	)
	fs.StringVarP(&invPath, "inventory", "i", "", "inventory file (YAML); the plan is built from it as 'plan' does")
	fs.StringVar(&action, "action", "", actionsHelp)
	fs.StringVarP(&limit, "limit", "l", "", "select hosts: names, globs, group:NAME, tag:K=V, os:windows, !exclude, @FILE; comma-separated")
	fs.StringVar(&runDir, "run-dir", "", "run directory (default runs/<UTC timestamp>-<action>)")
	fs.DurationVar(&maxAge, "max-plan-age", 24*time.Hour, "refuse a saved plan older than this")
	rf.register(fs)
	sf.register(fs)
	fs.StringVar(&metricsFile, "metrics-file", "", metricsHelp)
	listOnly := fs.Bool("list-hosts", false, listHostsHelp)
	az := registerAzureApply(e, fs)
	return func(ctx context.Context, pos []string) int {
		sp, err := sf.spec()
		if err != nil {
			fmt.Fprintf(e.stderr, "arcfleet apply: %v\n", err)
			return exitInvalid
		}

		if *listOnly {
			if len(pos) == 1 && invPath == "" {
				return listPlanHosts(e, pos[0], sp)
			}
			if len(pos) > 0 {
				fmt.Fprintln(e.stderr, "arcfleet apply: give either -i INVENTORY or one saved PLAN.json (see --help)")
				return exitInvalid
			}
			return listHosts(e, "apply", invPath, limit, sp)
		}
		var p *plan.Plan
		switch {
		case len(pos) == 1 && invPath == "" && action == "" && limit == "":
			p, err = loadFreshPlan(ctx, e, pos[0], maxAge, &rf, sp)
			if err != nil {
				fmt.Fprintf(e.stderr, "arcfleet apply: %v\n", err)
				return interruptedCode(ctx, exitInvalid)
			}
		case len(pos) == 0 && invPath != "":
			inv, hosts, code := loadSelection(e, "apply", invPath, action, limit)
			if code != exitOK {
				return code
			}
			if hosts, code = selectShard(e, "apply", sp, hosts); code != exitOK {
				return code
			}
			p = plan.Build(inv, hosts, action, limit, time.Now())
			p.Shard = sp
		default:
			fmt.Fprintln(e.stderr, "arcfleet apply: give either -i INVENTORY --action A, or one saved PLAN.json (see --help)")
			return exitInvalid
		}
		if code := checkPlanSecrets(e, p); code != exitOK {
			return code
		}
		if !confirm(ctx, e, p, rf.yes) {
			return interruptedCode(ctx, exitInvalid)
		}
		if runDir == "" {
			runDir = defaultRunDir(p, time.Now())
		}
		shardRate(p, &rf, flagSet(fs, "rate"))
		x := rf.executor(e)
		if !az.wire(ctx, p, x) { // access-token mode, --azure, --verify-azure (azure.go)
			return exitInvalid
		}
		return runWithOutput(ctx, e, e.out, "apply", x, len(p.Hosts), runDir, withMetrics(e, metricsFile, p, runDir, func(ctx context.Context, x *executor.Executor) (*results.Report, error) {
			r, err := x.Apply(ctx, p, runDir)
			return az.after(ctx, p, runDir, r, err)
		}))
	}
}

// actionsHelp names the actions --action takes, for help and errors.
const actionsHelp = "connect, disconnect or reconnect (or install, upgrade)"

// checkAction says on stderr why action is not one --action takes.
func checkAction(e *env, cmd, action string) bool {
	switch action {
	case agent.ActionConnect, agent.ActionDisconnect, agent.ActionReconnect, agent.ActionInstall, agent.ActionUpgrade:
		return true
	case "":
		fmt.Fprintf(e.stderr, "arcfleet %s: --action is required: %s\n", cmd, actionsHelp)
	default:
		fmt.Fprintf(e.stderr, "arcfleet %s: unknown --action %q: use %s\n", cmd, action, actionsHelp)
	}
	return false
}

// loadSelection loads an inventory, selects hosts and checks the action; it prints errors itself.
func loadSelection(e *env, cmd, invPath, action, limit string) (*inventory.Inventory, []*inventory.Host, int) {
	if !checkAction(e, cmd, action) {
		return nil, nil, exitInvalid
	}
	inv, err := inventory.Load(invPath)
	if err != nil {
		fmt.Fprintf(e.stderr, "%v\n", err)
		return nil, nil, exitInvalid
	}
	hosts, err := inv.Select(limit)
	if err != nil {
		fmt.Fprintf(e.stderr, "arcfleet %s: --limit: %v\n", cmd, err)
		return nil, nil, exitInvalid
	}
	if len(hosts) == 0 {
		fmt.Fprintf(e.stderr, "arcfleet %s: --limit %q selects no host\n", cmd, limit)
		return nil, nil, exitInvalid
	}
	return inv, hosts, exitOK
}

// loadFreshPlan loads a saved plan and refuses it when stale: inventory changed,
// too old, or (for probed plans) a host's fingerprint no longer matches.
func loadFreshPlan(ctx context.Context, e *env, path string, maxAge time.Duration, rf *runFlags, sp *shard.Spec) (*plan.Plan, error) {
	p, err := plan.LoadPlan(path)
	if err != nil {
		return nil, err
	}
	inv, err := inventory.Load(p.Inventory)
	if err != nil {
		if !filepath.IsAbs(p.Inventory) {
			return nil, fmt.Errorf("plan %s: its inventory %s (a path relative to where the plan was made): %w; fix: run apply from that directory", path, p.Inventory, err)
		}
		return nil, fmt.Errorf("plan %s: its inventory: %w", path, err)
	}
	if err := p.CheckFresh(inv, time.Now(), maxAge); err != nil {
		return nil, fmt.Errorf("plan %s is stale: %w", path, err)
	}
	if err := shardSavedPlan(e, path, sp, p); err != nil { // before probing: a shard probes its own hosts only
		return nil, err
	}
	if p.Probed {
		if err := executor.CheckProbes(ctx, rf.executor(e), p); err != nil {
			return nil, fmt.Errorf("plan %s: %w", path, err) // CheckProbes says "the plan is stale: ..."
		}
	}
	return p, nil
}

// checkPlanSecrets checks that every credential reference the plan uses resolves,
// without printing any value.
func checkPlanSecrets(e *env, p *plan.Plan) int {
	inv := &inventory.Inventory{Credentials: p.Credentials}
	hosts := make([]*inventory.Host, len(p.Hosts))
	for i := range p.Hosts {
		hosts[i] = &p.Hosts[i].Host
	}
	findings := inventory.CheckSecretRefs(inv, hosts, lookupEnv(e))
	bad := 0
	for _, f := range findings {
		fmt.Fprintln(e.stderr, f.String())
		if !f.Warning {
			bad++
		}
	}
	if bad > 0 {
		fmt.Fprintf(e.stderr, "arcfleet: %d secret reference(s) do not resolve; set them and run again\n", bad)
		return exitInvalid
	}
	return exitOK
}
