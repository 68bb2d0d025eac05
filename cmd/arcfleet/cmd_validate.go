package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/arcfleet/arcfleet/internal/inventory"

	"github.com/spf13/pflag"
)

const validateUsage = `Usage: arcfleet validate -i INVENTORY [--action connect|disconnect|reconnect|install|upgrade] [--limit EXPR] [--azure]

Checks an inventory without touching any host: the YAML schema, every setting the
agent would reject (reported with the AZCM code it would return), login settings,
that every secret reference the selected hosts use resolves (environment
variable set, file readable), and that the files a run reads exist: identity
files, WinRM CA and client certificate files, and for host_key_policy strict a
known_hosts entry for every host. Secret values are never printed. A mistake
shared by many hosts is one line naming how many and a few of them.

Prints one finding per line (FILE:LINE:COL: CODE HOST: message; fix: ...) and a
summary on stderr. Exit status: 0 valid (warnings allowed), 2 invalid.

--azure also checks Azure from this machine, touching no host (docs/azure.md):
each credential signs in (AADSTS codes), the subscriptions have the Arc resource
providers and the location, the credential may write (connect) and delete
(disconnect) machines in each resource group, no lock stops it, and no machine of
the same name is already there. Calls are per credential, subscription and
resource group, never per host. Its lines start with "azure:" and name the
hosts each finding blocks; a blocking finding makes the exit status 2.

Flags:
`

func cmdValidate(e *env, fs *pflag.FlagSet) func(context.Context, []string) int {
	var file, action, limit string
	fs.StringVarP(&file, "inventory", "i", "", "inventory file (YAML)")
	fs.StringVar(&action, "action", "connect", "action to validate for: "+actionsHelp)
	fs.StringVarP(&limit, "limit", "l", "", "validate only these hosts (names, globs, group:NAME, tag:K=V, os:windows, !EXCLUDE, @FILE)")
	var withAzure bool
	listOnly := fs.Bool("list-hosts", false, listHostsHelp)
	fs.BoolVar(&withAzure, "azure", false, "also check Azure from this machine: sign-in, resource providers, location, permissions, locks, existing machines (see docs/azure.md)")
	return func(ctx context.Context, pos []string) int {
		if len(pos) > 0 {
			fmt.Fprintf(e.stderr, "arcfleet validate: unexpected argument %q\n\n", pos[0])
			printUsage(e.stderr, fs, validateUsage)
			return exitInvalid
		}
		if file == "" {
			fmt.Fprintf(e.stderr, "arcfleet validate: -i INVENTORY is required\n\n")
			printUsage(e.stderr, fs, validateUsage)
			return exitInvalid
		}
		if *listOnly {
			return listHosts(e, "validate", file, limit, nil)
		}
		if !checkAction(e, "validate", action) {
			return exitInvalid
		}

		inv, err := inventory.Load(file)
		if err != nil {
			var errs inventory.Errors
			n := 1
			if errors.As(err, &errs) {
				n = len(errs)
			}
			fmt.Fprintln(e.stderr, err)
			fmt.Fprintf(e.stderr, "%s: invalid: %d %s\n", file, n, plural(n, "error", "errors"))
			return exitInvalid
		}
		hosts, err := inv.Select(limit)
		if err != nil {
			fmt.Fprintf(e.stderr, "arcfleet validate: %v\n", err)
			return exitInvalid
		}
		lookup := lookupEnv(e)
		findings := inventory.CollapseFindings(inventory.Validate(inv, hosts, action))
		findings = append(findings, inventory.CheckSecretRefs(inv, hosts, lookup)...)
		findings = append(findings, inventory.CheckFiles(inv, hosts, e.getenv("HOME"))...)
		errCount, warnCount := 0, 0
		for _, f := range findings {
			fmt.Fprintln(e.stdout, f.String())
			if f.Warning {
				warnCount++
			} else {
				errCount++
			}
		}
		if withAzure {
			n, w, ok := validateAzure(ctx, e, inv, hosts, action, findings)
			if !ok {
				return interruptedCode(ctx, exitInvalid)
			}
			errCount, warnCount = errCount+n, warnCount+w
		}
		verdict := "valid"
		if errCount > 0 {
			verdict = "invalid"
		}
		fmt.Fprintf(e.stderr, "%s: %s for %s: %d of %d %s checked, %d %s, %d %s\n", file, verdict, action,
			len(hosts), len(inv.Hosts), plural(len(inv.Hosts), "host", "hosts"),
			errCount, plural(errCount, "error", "errors"), warnCount, plural(warnCount, "warning", "warnings"))
		if errCount > 0 {
			return exitInvalid
		}
		return exitOK
	}
}

// plural is shared by the commands (plan uses it too).
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
