package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// flagDef describes one agent flag. cmds lists the commands that accept it.
type flagDef struct {
	long, short string
	isBool      bool
	secret      bool // value never printed, logged or stored
	cmds        string
	help        string
}

// Command letters used in flagDef.cmds.
const (
	cmdConnect    = "connect"
	cmdDisconnect = "disconnect"
	cmdShow       = "show"
	cmdCheck      = "check"
	cmdVersion    = "version"
	cmdService    = "service"
	cmdUpgrade    = "upgrade" // install.go
)

var flagDefs = []flagDef{
	{"subscription-id", "s", false, false, "connect", "subscription ID (GUID) of the Azure resource"},
	{"resource-group", "g", false, false, "connect", "resource group of the Azure resource"},
	{"location", "l", false, false, "connect check", "Azure region, e.g. westeurope"},
	{"tenant-id", "t", false, false, "connect disconnect", "Entra tenant ID"},
	{"service-principal-id", "i", false, false, "connect disconnect", "service principal application (client) ID"},
	{"service-principal-secret", "p", false, true, "connect disconnect", "service principal secret (prefer --config)"},
	{"service-principal-cert", "", false, false, "connect disconnect", "service principal certificate file (PEM/PFX)"},
	{"service-principal-cert-thumbprint", "", false, false, "connect disconnect", "service principal certificate thumbprint (Windows store)"},
	{"access-token", "", false, true, "connect disconnect", "Entra access token"},
	{"use-device-code", "", true, false, "connect disconnect", "device code login (refused by the simulator)"},
	{"user-tenant-id", "", false, false, "connect disconnect", "tenant of the user account"},
	{"resource-name", "n", false, false, "connect", "name of the Azure resource (default: hostname)"},
	{"tags", "", false, false, "connect", `tags: "Name=Value,Other='a b'"`},
	{"cloud", "", false, false, "connect check", "AzureCloud, AzureUSGovernment or AzureChinaCloud"},
	{"correlation-id", "", false, false, "connect disconnect", "GUID that tracks this operation"},
	{"private-link-scope", "", false, false, "connect", "Azure Arc private link scope resource ID"},
	{"gateway-id", "", false, false, "connect", "Azure Arc gateway resource ID"},
	{"ignore-network-check", "", true, false, "connect", "continue when endpoints are unreachable"},
	{"enable-automatic-upgrade", "", true, false, "connect", "let the agent upgrade itself (public preview)"},
	{"enable-pls-check", "", true, false, "check", "check that the Arc endpoints resolve to private addresses (Private Link)"},
	{"force-local-only", "f", true, false, "disconnect", "reset local state only, do not delete the Azure resource"},
	{"config", "", false, false, "connect disconnect", "JSON or YAML file with flag values (keys: long flag names)"},
	{"version", "", false, false, "upgrade", "agent version to upgrade to (MAJOR.MINOR)"},
	{"background", "", true, false, "upgrade", "upgrade without popups"},
	{"json", "j", true, false, "*", "print the result as JSON"},
	{"log-stderr", "", true, false, "*", "print errors and verbose lines to stderr"},
	{"verbose", "v", true, false, "*", "verbose output"},
	{"no-color", "", true, false, "*", "no colour (the simulator never colours)"},
	{"help", "h", true, false, "*", "show help"},
}

// commandNames lists the commands in help order.
var commandNames = []string{cmdConnect, cmdDisconnect, cmdShow, cmdCheck, cmdVersion}

func lookupLong(name string) *flagDef {
	for i := range flagDefs {
		if flagDefs[i].long == name {
			return &flagDefs[i]
		}
	}
	return nil
}

func lookupShort(name string) *flagDef {
	for i := range flagDefs {
		if flagDefs[i].short != "" && flagDefs[i].short == name {
			return &flagDefs[i]
		}
	}
	return nil
}

func (d *flagDef) accepts(cmd string) bool {
	if d.cmds == "*" {
		return true
	}
	for _, c := range strings.Fields(d.cmds) {
		if c == cmd {
			return true
		}
	}
	return false
}

// invocation is a parsed command line, merged with the --config file.
type invocation struct {
	cmd        string
	vals       map[string]string // long flag name -> value ("true"/"false" for bools)
	fromCLI    map[string]bool
	positional []string
	configPath string
	configKeys []string // the keys of the --config file, sorted (never values)
}

func (in *invocation) str(name string) string { return in.vals[name] }

func (in *invocation) flag(name string) bool {
	b, _ := strconv.ParseBool(in.vals[name])
	return b
}

// wantsJSON scans raw arguments for --json so that even a parse error can be
// reported as JSON.
func wantsJSON(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--json" || a == "-j" || a == "--json=true" {
			return true
		}
	}
	return false
}

// parseArgs parses a command line the way cobra/pflag do: --name value,
// --name=value, -s value, -s=value, -svalue, bools as --json or --json=false,
// grouped short bools (-jv). Errors are AZCM0101 and never echo a flag's value.
func parseArgs(args []string) (*invocation, *simError) {
	in := &invocation{vals: map[string]string{}, fromCLI: map[string]bool{}}
	if len(args) == 0 {
		return nil, newErr(101, "no command given: use one of connect, disconnect, show, check, version")
	}
	in.cmd = args[0]
	switch in.cmd {
	case cmdConnect, cmdDisconnect, cmdShow, cmdCheck, cmdVersion, cmdUpgrade:
	case "help", "-h", "--help":
		in.cmd = "help"
		return in, nil
	default:
		if strings.HasPrefix(in.cmd, "-") {
			return nil, newErr(101, "a command must come first: use one of connect, disconnect, show, check, version")
		}
		return nil, newErr(101, fmt.Sprintf("unknown command %q for \"azcmagent\"", in.cmd))
	}
	set := func(d *flagDef, v string) *simError {
		if d.isBool {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return newErr(101, fmt.Sprintf("flag --%s takes true or false", d.long))
			}
			v = strconv.FormatBool(b)
		}
		in.vals[d.long] = v
		in.fromCLI[d.long] = true
		return nil
	}
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			in.positional = append(in.positional, rest[i+1:]...)
			i = len(rest)
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			d := lookupLong(name)
			if d == nil || !d.accepts(in.cmd) {
				return nil, newErr(101, fmt.Sprintf("unknown flag: --%s for \"azcmagent %s\"", name, in.cmd))
			}
			if !hasVal {
				if d.isBool {
					val = "true"
				} else {
					if i+1 >= len(rest) {
						return nil, newErr(101, fmt.Sprintf("flag needs an argument: --%s", name))
					}
					i++
					val = rest[i]
				}
			}
			if e := set(d, val); e != nil {
				return nil, e
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			body := a[1:]
			for j := 0; j < len(body); j++ {
				d := lookupShort(body[j : j+1])
				if d == nil || !d.accepts(in.cmd) {
					return nil, newErr(101, fmt.Sprintf("unknown shorthand flag: %q in -%s", body[j], firstRunes(body, j+1)))
				}
				if d.isBool {
					if j+1 < len(body) && body[j+1] == '=' {
						if e := set(d, body[j+2:]); e != nil {
							return nil, e
						}
						break
					}
					if e := set(d, "true"); e != nil {
						return nil, e
					}
					continue
				}
				val := strings.TrimPrefix(body[j+1:], "=")
				if j+1 == len(body) {
					if i+1 >= len(rest) {
						return nil, newErr(101, fmt.Sprintf("flag needs an argument: -%s (--%s)", d.short, d.long))
					}
					i++
					val = rest[i]
				}
				if e := set(d, val); e != nil {
					return nil, e
				}
				break
			}
		default:
			in.positional = append(in.positional, a)
		}
	}
	if len(in.positional) > 0 {
		// The values are not echoed: a misplaced secret must not reach the screen.
		return nil, newErr(101, fmt.Sprintf("\"azcmagent %s\" takes no arguments, got %d (did a flag value contain a space without quotes?)", in.cmd, len(in.positional)))
	}
	return in, nil
}

// firstRunes returns s[:n] for the error text of unknown short flags (flag letters only).
func firstRunes(s string, n int) string {
	if n > len(s) {
		n = len(s)
	}
	return s[:n]
}

// backquoted matches the `value` fragments yaml.v3 puts in its error messages.
var backquoted = regexp.MustCompile("`[^`]*`")

// loadConfig merges the --config file (JSON or YAML, keys = long flag names)
// into in.vals; command-line values win. Missing file: AZCM0019.
func loadConfig(in *invocation) *simError {
	path := in.vals["config"]
	if path == "" {
		return nil
	}
	in.configPath = path
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return newErr(19, fmt.Sprintf("config file %s not found: check the path given to --config", path))
	}
	if err != nil {
		return newErr(19, fmt.Sprintf("cannot read config file %s: %v", path, errors.Unwrap(err)))
	}
	var raw map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil && len(bytes.TrimSpace(data)) > 0 {
		// yaml quotes offending values in backquotes: drop them, they may be the secret.
		msg := backquoted.ReplaceAllString(err.Error(), "(value)")
		return newErr(23, fmt.Sprintf("config file %s is neither JSON nor YAML: %s", path, msg))
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	in.configKeys = keys
	for _, k := range keys {
		d := lookupLong(k)
		if d == nil || k == "config" || k == "help" {
			return newErr(101, fmt.Sprintf("config file %s: unknown key %q (keys are long flag names without dashes, e.g. tenant-id)", path, k))
		}
		// One file serves connect and disconnect: keys of other commands are ignored.
		if !d.accepts(in.cmd) || in.fromCLI[k] {
			continue
		}
		v, err := configValue(k, raw[k], d.isBool)
		if err != nil {
			return newErr(23, fmt.Sprintf("config file %s: key %q: %v", path, k, err))
		}
		in.vals[k] = v
	}
	return nil
}

// configValue turns a config value into the flag's string form. Tags may be a
// string or a mapping; everything else must be a scalar.
func configValue(key string, v any, isBool bool) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case bool:
		return strconv.FormatBool(x), nil
	case string:
		if isBool {
			b, err := strconv.ParseBool(x)
			if err != nil {
				return "", errors.New("want true or false")
			}
			return strconv.FormatBool(b), nil
		}
		return x, nil
	case int, int64, uint64, float64:
		if isBool {
			return "", errors.New("want true or false")
		}
		return fmt.Sprint(x), nil
	case map[string]any:
		if key != "tags" {
			return "", errors.New("want a single value, not a mapping")
		}
		m := map[string]string{}
		for k, val := range x {
			if _, isMap := val.(map[string]any); isMap {
				return "", errors.New("tag values must be scalars")
			}
			if val == nil {
				val = ""
			}
			m[k] = fmt.Sprint(val)
		}
		return formatTags(m), nil
	default:
		return "", errors.New("want a single value")
	}
}
