package main

import (
	"bufio"
	"fmt"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/shard"
)

const listHostsHelp = "print the selected hosts (after --limit and --shard), one per line, and exit: nothing is planned, checked or run"

// listHosts prints the names of the hosts --limit (and --shard) select from
// invPath, one per line on stdout, and touches nothing else: exit 0, or 2 when
// the inventory or the selection is unusable.
func listHosts(e *env, cmd, invPath, limit string, sp *shard.Spec) int {
	if invPath == "" {
		fmt.Fprintf(e.stderr, "arcfleet %s: --list-hosts needs -i INVENTORY\n", cmd)
		return exitInvalid
	}
	inv, err := inventory.Load(invPath)
	if err != nil {
		fmt.Fprintf(e.stderr, "%v\n", err)
		return exitInvalid
	}
	hosts, err := inv.Select(limit)
	if err != nil {
		fmt.Fprintf(e.stderr, "arcfleet %s: --limit: %v\n", cmd, err)
		return exitInvalid
	}
	if hosts, err = selectForList(hosts, sp); err != nil {
		fmt.Fprintf(e.stderr, "arcfleet %s: --shard %s: %v\n", cmd, sp, err)
		return exitInvalid
	}
	return printNames(e, hosts)
}

// listPlanHosts prints the hosts of a saved plan (apply PLAN.json --list-hosts),
// narrowed to --shard when given, without checking the plan's freshness.
func listPlanHosts(e *env, path string, sp *shard.Spec) int {
	p, err := plan.LoadPlan(path)
	if err != nil {
		fmt.Fprintf(e.stderr, "arcfleet apply: %v\n", err)
		return exitInvalid
	}
	hosts := make([]*inventory.Host, len(p.Hosts))
	for i := range p.Hosts {
		hosts[i] = &p.Hosts[i].Host
	}
	if p.Shard == nil {
		if hosts, err = selectForList(hosts, sp); err != nil {
			fmt.Fprintf(e.stderr, "arcfleet apply: --shard %s: %v\n", sp, err)
			return exitInvalid
		}
	}
	return printNames(e, hosts)
}

func selectForList(hosts []*inventory.Host, sp *shard.Spec) ([]*inventory.Host, error) {
	if sp == nil {
		return hosts, nil
	}
	return shard.Select(hosts, *sp)
}

// printNames prints the hosts' names, one per line.
func printNames(e *env, hosts []*inventory.Host) int {
	w := bufio.NewWriter(e.stdout)
	for _, h := range hosts {
		fmt.Fprintln(w, h.Name)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(e.stderr, "arcfleet: %v\n", err)
		return exitInvalid
	}
	return exitOK
}
