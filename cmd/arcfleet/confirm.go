package main

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/plan"
)

// deletions counts the hosts of p on which apply would run azcmagent disconnect,
// which deletes the machine's Azure resource (its extensions, licence settings
// and managed identity role assignments go with it): hosts not blocked whose
// steps include disconnect and, on a probed plan, whose verdict still acts
// (an already-disconnected host is left alone).
func deletions(p *plan.Plan) int {
	n := 0
	for i := range p.Hosts {
		hp := &p.Hosts[i]
		if hp.Blocked() || !slices.ContainsFunc(hp.Steps, func(s agent.Step) bool { return s.Name == agent.StepDisconnect }) {
			continue
		}
		if hp.Probe != nil && hp.Probe.Verdict != "disconnect" && hp.Probe.Verdict != "reconnect" {
			continue
		}
		n++
	}
	return n
}

// confirm shows what will happen and asks on a terminal; without one it requires --yes.
// A plan that deletes Azure resources (disconnect, reconnect) shows the plan's
// summary and asks for the action's name to be typed; any other asks y/N.
func confirm(ctx context.Context, e *env, p *plan.Plan, yes bool) bool {
	blocked := 0
	for i := range p.Hosts {
		if p.Hosts[i].Blocked() {
			blocked++
		}
	}
	del := deletions(p)
	destructive := del > 0
	if destructive && !yes && e.stdinIsTerminal {
		// The reviewer sees what is about to go: verdicts, blocked hosts, the hosts table.
		if err := plan.RenderSummary(e.stderr, p, plan.FormatTable, outputWidth(e)); err != nil {
			fmt.Fprintf(e.stderr, "arcfleet: the plan's summary: %v\n", err)
		}
	}
	fmt.Fprintf(e.stderr, "arcfleet: %s on %d host(s) (%d blocked by findings) from %s\n", p.Action, len(p.Hosts)-blocked, blocked, p.Inventory)
	if destructive {
		fmt.Fprintf(e.stderr, "arcfleet: this deletes %d Azure %s (each machine's resource with its extensions, licence settings and managed identity role assignments)\n",
			del, plural(del, "resource", "resources"))
	}
	if yes {
		return true
	}
	if !e.stdinIsTerminal {
		fmt.Fprintf(e.stderr, "arcfleet: stdin is not a terminal: pass --yes to %s without confirmation (cron, CI)\n", p.Action)
		return false
	}
	if destructive {
		fmt.Fprintf(e.stderr, "Type %s to proceed (anything else cancels): ", p.Action)
	} else {
		fmt.Fprint(e.stderr, "Proceed? [y/N] ")
	}
	answer := make(chan string, 1)
	go func() { // a read cannot be canceled: let Ctrl+C win the race instead
		line, _ := bufio.NewReader(e.stdin).ReadString('\n')
		answer <- line
	}()
	select {
	case <-ctx.Done():
		return false
	case line := <-answer:
		a := strings.TrimSpace(line)
		if destructive && a == p.Action {
			return true
		}
		if !destructive {
			switch strings.ToLower(a) {
			case "y", "yes":
				return true
			}
		}
	}
	if destructive {
		fmt.Fprintf(e.stderr, "arcfleet: not confirmed (the answer was not %q); nothing was done\n", p.Action)
	} else {
		fmt.Fprintln(e.stderr, "arcfleet: not confirmed; nothing was done")
	}
	return false
}
