package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/executor"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/plan"

	"github.com/spf13/pflag"
)

const checkUsage = `Usage: arcfleet check -i INVENTORY [--limit EXPR] [--format table|markdown|json]
                      [--concurrency N] [--timeout D] [--min-agent-version V] [--lang en|sv]

Runs the agent's own network pre-flight on every selected host, read-only:
'azcmagent check' with the host's location and cloud, and --enable-pls-check when
the host connects over a Private Link Scope (azure.private_link_scope), after
'azcmagent show' for the agent's version. Nothing on the host changes, no
service-principal secret is read (login secrets are), and the host lock is not
taken: a check may run while a connect is under way.

The report groups hosts by cause, each with its code ('arcfleet codes CODE'),
the endpoints concerned, one line of evidence and the fix: DNS failure, a
proxy that refuses, a configured proxy that cannot be reached, a firewall that
drops the traffic (timeout), TLS inspection, a private endpoint missing (Private
Link meant) or unexpected (none meant), an endpoint blocked for a reason the
output does not tell, an agent older than the host's agent.min_version (or
--min-agent-version), an Azure VM (the agent refuses them), a check that did
not run; then hosts that could not be
checked (unreachable, host key, login, blocked by validation).

Exit status: 0 every host checked and clear; 3 findings, or hosts not checked;
2 invalid input (as validate); 130 interrupted.

Flags:
`

func cmdCheck(e *env, fs *pflag.FlagSet) func(context.Context, []string) int {
	var file, limit, format, lang, minVer string
	var rf runFlags
	fs.StringVarP(&file, "inventory", "i", "", "inventory file (YAML)")
	fs.StringVarP(&limit, "limit", "l", "", "check only these hosts (names, globs, group:NAME, tag:K=V, os:windows, !EXCLUDE, @FILE)")
	fs.StringVar(&format, "format", "table", "output: table, markdown or json")
	fs.StringVar(&lang, "lang", "", "language of the report (summary, headings, verdicts, causes, evidence arcfleet writes, fixes): en or sv (default from ARCFLEET_LANG or LANG, else en)")
	fs.StringVar(&minVer, "min-agent-version", "", "report hosts whose agent is older than this version (e.g. 1.50); default: each host's agent.min_version from the inventory")
	fs.IntVar(&rf.concurrency, "concurrency", 50, "hosts checked at once")
	fs.DurationVar(&rf.timeout, "timeout", 2*time.Minute, "time limit per host and command (the agent's check tests every endpoint)")
	return func(ctx context.Context, pos []string) int {
		if len(pos) > 0 {
			fmt.Fprintf(e.stderr, "arcfleet check: unexpected argument %q\n\n", pos[0])
			printUsage(e.stderr, fs, checkUsage)
			return exitInvalid
		}
		if file == "" {
			fmt.Fprintf(e.stderr, "arcfleet check: -i INVENTORY is required\n\n")
			printUsage(e.stderr, fs, checkUsage)
			return exitInvalid
		}
		switch format {
		case "table", "markdown", "json":
		default:
			fmt.Fprintf(e.stderr, "arcfleet check: --format %q: use table, markdown or json\n", format)
			return exitInvalid
		}
		l, ok := pickLang(e, lang)
		if !ok {
			fmt.Fprintf(e.stderr, "arcfleet check: --lang %q: use en or sv\n", lang)
			return exitInvalid
		}
		lang = l
		if minVer != "" && !inventory.ValidVersion(minVer) {
			fmt.Fprintf(e.stderr, "arcfleet check: --min-agent-version %q: use a version such as 1.50 or 1.50.03036.1885\n", minVer)
			return exitInvalid
		}
		inv, hosts, code := loadSelection(e, "check", file, agent.ActionConnect, limit)
		if code != exitOK {
			return code
		}
		p := plan.Build(inv, hosts, agent.ActionConnect, limit, time.Now())
		// The version gate: --min-agent-version, else each host's
		// agent.min_version from the inventory (defaults, groups, host).
		opts := executor.CheckOptions{MinVersion: func(h string) string {
			if minVer != "" {
				return minVer
			}
			if ih := inv.Host(h); ih != nil {
				return ih.Agent.MinVersion
			}
			return ""
		}}
		checks, err := rf.executor(e).Check(ctx, p, opts)
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(e.stderr, "arcfleet check: %v\n", err)
			return exitInvalid
		}
		rep := buildCheckReport(checks, lang)
		var werr error
		switch format {
		case "json":
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			werr = enc.Encode(rep)
		case "markdown":
			werr = rep.Markdown(e.stdout)
		default:
			werr = rep.Table(e.stdout, outputWidth(e))
		}
		if werr != nil {
			fmt.Fprintf(e.stderr, "arcfleet check: writing the report: %v\n", werr)
			return exitInvalid
		}
		fmt.Fprintf(e.stderr, "arcfleet check: %s\n", rep.Summary)
		if ctx.Err() != nil {
			return exitInterrupted
		}
		if rep.Clear == len(checks) {
			return exitOK
		}
		return exitHostsFailed
	}
}

// checkReport is the check report (internal/executor renders it).
type checkReport = executor.CheckReport

// buildCheckReport groups checks by cause in lang.
func buildCheckReport(checks []executor.HostCheck, lang string) checkReport {
	return executor.BuildCheckReport(checks, lang)
}
