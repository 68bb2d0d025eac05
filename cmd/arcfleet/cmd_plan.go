package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/arcfleet/arcfleet/internal/plan"

	"github.com/spf13/pflag"
)

const planUsage = `Usage: arcfleet plan -i INVENTORY --action connect|disconnect|reconnect|install|upgrade [--limit EXPR]
                     [--format table|markdown|json] [-o PLAN.json] [--probe] [--detailed-exitcode]

Shows what apply would do, touching no host and reading no secret (--probe connects
read-only and so resolves login secrets, never the service principal's): for each selected
host its address, OS, transport, Azure target and credential (by reference), and
every remote command with what it is fed on stdin, the secret shown as
<secret env:NAME> or <secret file:PATH>. Each distinct script is printed once.
Hosts with validation findings are listed as BLOCKED: apply skips them. Insecure
opt-ins (insecure-ignore host keys, unverified TLS, plain HTTP) are flagged.

--azure adds a section from Azure (docs/azure.md): what a pre-flight from this
machine finds for the planned hosts, and which hosts each finding blocks (with
json, on stderr). It is not saved in the plan.

--format markdown is written to be pasted into a change-review ticket; json is the
plan itself. -o saves the plan (JSON, mode 0600); 'arcfleet apply PLAN.json' then
runs exactly what was reviewed and refuses the plan if the inventory changed.

The plan's first line sums it up by verdict ("3 to connect, 2 already connected,
5 blocked: host key not verified", or "No changes." when every host is already as
wanted); only --probe can tell that a host is already connected.

Exit status: 0 the plan was made, even when some hosts are blocked (they are
reported); 2 unusable input: bad flags, an unreadable or invalid inventory, a
--limit that selects nothing, or a plan that could not be saved.
With --detailed-exitcode (as Terraform's): 0 no changes (every host already as
wanted, none blocked); 2 apply would change hosts (some may be blocked: the
first line says); 1 an error, or hosts blocked and nothing else to change.

Flags:
`

func cmdPlan(e *env, fs *pflag.FlagSet) func(context.Context, []string) int {
	var file, action, limit, format, out string
	fs.StringVarP(&file, "inventory", "i", "", "inventory file (YAML)")
	fs.StringVar(&action, "action", "", "connect, disconnect or reconnect (disconnect, falling back to --force-local-only, then connect), or install, upgrade (the agent)")
	fs.StringVarP(&limit, "limit", "l", "", "plan only these hosts (names, globs, group:NAME, tag:K=V, os:windows, !EXCLUDE, @FILE)")
	fs.StringVar(&format, "format", plan.FormatTable, "output: table, markdown or json")
	fs.StringVarP(&out, "output", "o", "", "also save the plan to this file, for 'arcfleet apply PLAN.json'")
	fs.StringVar(&out, "out", "", "same as --output")
	_ = fs.MarkHidden("out") // the spelling before --output; still accepted
	var probe bool
	var rf runFlags
	var withAzure bool
	fs.BoolVar(&withAzure, "azure", false, "add an Azure pre-flight section: sign-in, providers, location, permissions, locks, existing machines (with --probe, a machine the agent is connected to is told apart from a name clash); see docs/azure.md")
	fs.BoolVar(&probe, "probe", false, "connect to every host read-only (host key, azcmagent show, agent version) and show what apply would do; the saved plan records each host's fingerprint so apply refuses it when the fleet changed")
	var detailed bool
	fs.BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when nothing would change, 2 when apply would change hosts, 1 on errors (or only blocked hosts)")
	fs.IntVar(&rf.concurrency, "concurrency", 50, "with --probe: hosts probed at once")
	fs.DurationVar(&rf.timeout, "timeout", time.Minute, "with --probe: time limit per host")
	var sf shardFlags
	sf.register(fs)
	listOnly := fs.Bool("list-hosts", false, listHostsHelp)
	return func(ctx context.Context, pos []string) (ret int) {
		planned := false // the detailed exit code is set: 2 means changes, not an error
		if detailed {
			// Terraform's convention: 1 is an error, 2 means changes.
			defer func() {
				if !planned && ret == exitInvalid {
					ret = plan.ExitError
				}
			}()
		}
		sp, err := sf.spec()
		if err != nil {
			fmt.Fprintf(e.stderr, "arcfleet plan: %v\n", err)
			return exitInvalid
		}
		if len(pos) > 0 {
			fmt.Fprintf(e.stderr, "arcfleet plan: unexpected argument %q\n\n", pos[0])
			printUsage(e.stderr, fs, planUsage)
			return exitInvalid
		}
		if *listOnly {
			return listHosts(e, "plan", file, limit, sp)
		}
		if file == "" {
			fmt.Fprintf(e.stderr, "arcfleet plan: -i INVENTORY is required\n\n")
			printUsage(e.stderr, fs, planUsage)
			return exitInvalid
		}
		switch format {
		case plan.FormatTable, plan.FormatMarkdown, plan.FormatJSON:
		default:
			fmt.Fprintf(e.stderr, "arcfleet plan: --format %q: use table, markdown or json\n", format)
			return exitInvalid
		}
		inv, hosts, code := loadSelection(e, "plan", file, action, limit)
		if code != exitOK {
			return code
		}
		if hosts, code = selectShard(e, "plan", sp, hosts); code != exitOK {
			return code
		}
		p := plan.Build(inv, hosts, action, limit, time.Now())
		p.Shard = sp

		// --probe dials every planned host read-only and records what it saw (agent
		// status, resource id, host key) so apply can refuse drift. It resolves login
		// secrets only (SSH/WinRM), never the service-principal secret. Without it,
		// plan never dials a host and never resolves a secret reference.
		if probe {
			if err := probeWithOutput(ctx, e, rf.executor(e), p); err != nil { // events with --log-format json or -v (output.go)
				fmt.Fprintf(e.stderr, "arcfleet plan: --probe: %v\n", err)
				return interruptedCode(ctx, exitInvalid)
			}
		}

		if out != "" {
			if err := plan.Save(out, p); err != nil {
				fmt.Fprintf(e.stderr, "arcfleet plan: %v\n", err)
				return exitInvalid
			}
		}
		if err := renderPlan(e.stdout, p, format, out, outputWidth(e)); err != nil {
			fmt.Fprintf(e.stderr, "arcfleet plan: writing the plan: %v\n", err)
			return exitInvalid
		}
		if withAzure {
			// The section is shown, not saved: a plan file holds what apply runs.
			r, err := azurePreflight(ctx, e, p.Credentials, planHosts(p), p.Action, probedAgents(p))
			if err != nil {
				fmt.Fprintf(e.stderr, "arcfleet plan: --azure: %v\n", err)
				return exitInvalid
			}
			w := e.stdout
			if format == plan.FormatJSON {
				w = e.stderr // stdout is the plan's JSON
			}
			printPreflightSection(w, r, format == plan.FormatMarkdown)
		}
		sum := p.Summarize()
		if out != "" {
			fmt.Fprintf(e.stderr, "arcfleet plan: saved to %s: %d hosts: %s Review it, then run: arcfleet apply %s\n",
				out, len(p.Hosts), sentence(sum.Headline()), out)
		} else if format != plan.FormatTable {
			// The table already says it; the other formats may go to a file.
			fmt.Fprintf(e.stderr, "arcfleet plan: %s\n", sentence(sum.Headline()))
		}
		if detailed {
			planned = true
			return sum.DetailedExitCode()
		}
		return exitOK
	}
}

// sentence ends s with a full stop.
func sentence(s string) string {
	if strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

// renderPlan writes the plan in format; JSON that was just saved to savedPath is
// copied from the file rather than encoded a second time (the same bytes: Save
// and Render share one encoder).
func renderPlan(w io.Writer, p *plan.Plan, format, savedPath string, width int) error {
	if format != plan.FormatJSON || savedPath == "" {
		return plan.RenderWidth(w, p, format, width)
	}
	f, err := os.Open(savedPath)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
