package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/arcfleet/arcfleet/internal/inventory/ansible"
)

const inventoryUsage = `Usage: arcfleet inventory import ansible INVENTORY [-o OUT] [--azure-subscription ID] [--azure-resource-group RG] [--azure-location REGION] [--azure-tenant ID]

Works on inventories: 'inventory import ansible' converts an Ansible inventory
to arcfleet's schema.

Flags:
`

const inventoryImportUsage = `Usage: arcfleet inventory import ansible INVENTORY [-o OUT] [--azure-* ...]

Converts an inventory of another tool to arcfleet's schema. Tools: ansible.

Flags:
`

const inventoryImportAnsibleUsage = `Usage: arcfleet inventory import ansible INVENTORY [-o OUT] [--azure-subscription ID] [--azure-resource-group RG] [--azure-location REGION] [--azure-tenant ID]

Converts an Ansible inventory file, YAML or INI (detected), to an arcfleet
inventory (docs/inventory.md): groups and children become groups (a host lists
every group it is in, weakest first, as Ansible merges their vars), host ranges
such as web[01:10] and db-[a:f] are expanded, and these variables are carried
over from all:, groups and hosts: ansible_host, ansible_port, ansible_user,
ansible_ssh_private_key_file, ansible_become (sudo), ansible_connection=winrm
(os: windows) with ansible_winrm_transport, _scheme, _server_cert_validation,
_ca_trust_path, _cert_pem and _cert_key_pem.

Not carried over, and listed on stderr with the file and line of each: other
variables, passwords (arcfleet holds secret references: Windows hosts read
$ARCFLEET_WINRM_PASSWORD), vaulted values (never decrypted), connection types
other than ssh and winrm. No value is printed. Dynamic inventory scripts and
plugins are not run.

The Azure target and tenant come from the --azure-* flags; left out, the output
holds TODO comments and 'arcfleet validate' names each missing setting with its
fix. The credential is access-token mode from the Azure CLI ('az login' on this
machine), which needs no secret in the file.

Writes the inventory to OUT (refusing to replace a file), or to stdout.
Exit status: 0 converted, 2 unreadable or invalid Ansible inventory.

Flags:
`

func cmdInventory(e *env, fs *pflag.FlagSet) func(context.Context, []string) int {
	return func(_ context.Context, pos []string) int {
		if len(pos) > 0 {
			fmt.Fprintf(e.stderr, "arcfleet inventory: unknown subcommand %q; use: arcfleet inventory import ansible INVENTORY\n", pos[0])
		} else {
			fmt.Fprintln(e.stderr, "arcfleet inventory: name a subcommand: arcfleet inventory import ansible INVENTORY")
		}
		return exitInvalid
	}
}

func cmdInventoryImport(e *env, fs *pflag.FlagSet) func(context.Context, []string) int {
	return func(_ context.Context, pos []string) int {
		if len(pos) > 0 {
			fmt.Fprintf(e.stderr, "arcfleet inventory import: unknown format %q; supported: ansible\n", pos[0])
		} else {
			fmt.Fprintln(e.stderr, "arcfleet inventory import: name the format: arcfleet inventory import ansible INVENTORY")
		}
		return exitInvalid
	}
}

func cmdInventoryImportAnsible(e *env, fs *pflag.FlagSet) func(context.Context, []string) int {
	var out string
	var opt ansible.Options
	fs.StringVarP(&out, "output", "o", "", "write the arcfleet inventory to this file (default: stdout)")
	fs.StringVar(&opt.SubscriptionID, "azure-subscription", "", "azure.subscription_id of the converted inventory")
	fs.StringVar(&opt.ResourceGroup, "azure-resource-group", "", "azure.resource_group of the converted inventory")
	fs.StringVar(&opt.Location, "azure-location", "", "azure.location (region) of the converted inventory")
	fs.StringVar(&opt.TenantID, "azure-tenant", "", "tenant_id of the converted inventory's credential")
	return func(_ context.Context, pos []string) int {
		return runInventoryImportAnsible(e, pos, out, opt)
	}
}

// runInventory runs `arcfleet inventory ...` with its arguments after
// "inventory", for callers outside the command table.
func runInventory(ctx context.Context, e *env, args []string) int {
	return run(ctx, e, append([]string{"inventory"}, args...))
}

func runInventoryImportAnsible(e *env, pos []string, out string, opt ansible.Options) int {
	const name = "arcfleet inventory import ansible"
	if len(pos) != 1 {
		fmt.Fprintf(e.stderr, "%s: give one Ansible inventory file (see --help)\n", name)
		return exitInvalid
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v; fix: give the path of an Ansible inventory file (YAML or INI; dynamic inventories are not run)\n", name, err)
		return exitInvalid
	}
	inv, err := ansible.Parse(pos[0], data)
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", name, err)
		return exitInvalid
	}
	res := ansible.Convert(inv, opt)
	if out == "" {
		if _, err := e.stdout.Write(res.YAML); err != nil {
			fmt.Fprintf(e.stderr, "%s: %v\n", name, err)
			return exitInvalid
		}
	} else {
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			fix := "choose a path in a writable directory"
			if errors.Is(err, os.ErrExist) {
				fix = "choose another -o path, or remove the file first"
			}
			fmt.Fprintf(e.stderr, "%s: %v; fix: %s\n", name, err, fix)
			return exitInvalid
		}
		_, err = f.Write(res.YAML)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(out)
			fmt.Fprintf(e.stderr, "%s: write %s: %v\n", name, out, err)
			return exitInvalid
		}
	}
	fmt.Fprint(e.stderr, ansible.Report(res))
	target := out
	if target == "" {
		target = "FILE"
	}
	fmt.Fprintf(e.stderr, "Next: review it, then arcfleet validate -i %s\n", target)
	return exitOK
}

// inventorySub are inventory's subcommands: import, and its formats.
var inventorySub = map[string]command{
	"import": {summary: "convert another tool's inventory", usage: inventoryImportUsage, build: cmdInventoryImport,
		sub: map[string]command{
			"ansible": {summary: "convert an Ansible YAML or INI inventory", usage: inventoryImportAnsibleUsage, build: cmdInventoryImportAnsible},
		}},
}
