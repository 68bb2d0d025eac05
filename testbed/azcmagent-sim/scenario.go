package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// duration is a time.Duration written in YAML as "2s", "150ms" or a number of seconds.
type duration time.Duration

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration such as 2s", n.Line)
	}
	if secs, err := strconv.ParseFloat(n.Value, 64); err == nil {
		if secs < 0 {
			return fmt.Errorf("line %d: negative duration", n.Line)
		}
		*d = duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration such as 2s or 500ms", n.Line, n.Value)
	}
	*d = duration(v)
	return nil
}

// code is an AZCM code written as "AZCM0041" or 41.
type code int

func (c *code) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want an AZCM code such as AZCM0041", n.Line)
	}
	v, err := parseCode(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*c = code(v)
	return nil
}

// Outcome is what one attempt of a command does.
type Outcome struct {
	Code           code     `yaml:"code"`             // fail with this AZCM code (0: no injected failure)
	Message        string   `yaml:"message"`          // detail text instead of the code's default
	Slow           duration `yaml:"slow"`             // sleep this long before finishing
	Hang           bool     `yaml:"hang"`             // block until killed
	Crash          bool     `yaml:"crash"`            // die mid-output with a Go panic stack, exit 2
	OldFormat      bool     `yaml:"old_format"`       // print a failure as a pre-2021 agent: no AZCM code, exit 1
	ExitCodePrefix bool     `yaml:"exit_code_prefix"` // print "Exit Code: AZCMnnnn: Title"
}

// CommandScenario injects outcomes into one command's attempts.
type CommandScenario struct {
	Outcome `yaml:",inline"`
	// FailFirst > 0: only attempts 1..FailFirst get Code; later attempts run normally.
	FailFirst int `yaml:"fail_first"`
	// Attempts overrides the outcome of single attempts (1-based).
	Attempts map[int]Outcome `yaml:"attempts"`
}

// Initial is the state a host starts with when it has no state.json yet.
type Initial struct {
	Status         string            `yaml:"status"` // Connected | Disconnected
	SubscriptionID string            `yaml:"subscription_id"`
	ResourceGroup  string            `yaml:"resource_group"`
	Location       string            `yaml:"location"`
	TenantID       string            `yaml:"tenant_id"`
	ResourceName   string            `yaml:"resource_name"`
	Cloud          string            `yaml:"cloud"`
	Tags           map[string]string `yaml:"tags"`
}

// HostScenario is the scenario of one host.
type HostScenario struct {
	Connect    *CommandScenario `yaml:"connect"`
	Disconnect *CommandScenario `yaml:"disconnect"`  // disconnect without --force-local-only
	ForceLocal *CommandScenario `yaml:"force_local"` // disconnect --force-local-only
	Show       *CommandScenario `yaml:"show"`
	Check      *CommandScenario `yaml:"check"`
	// Network is what `check` (and connect's own network check) finds (check.go).
	Network *NetworkScenario `yaml:"network"`

	Initial *Initial `yaml:"initial"`

	// Conditions modelled across attempts (see README.md).
	SucceedAfterDisconnect bool      `yaml:"succeed_after_disconnect"`
	GPOBrokenIdentity      bool      `yaml:"gpo_broken_identity"`
	AcceptSecretSHA256     string    `yaml:"accept_secret_sha256"`
	ResourceExists         bool      `yaml:"resource_exists"`
	CreatedThenFail        bool      `yaml:"created_then_fail"`
	ServiceDown            bool      `yaml:"service_down"`
	Throttled              *Throttle `yaml:"throttled"`
	// ConnectFailsAfterCreate: like CreatedThenFail, but the failure's output
	// never says the resource was created (as real agents print AZCM0062).
	ConnectFailsAfterCreate bool `yaml:"connect_fails_after_create"`

	// Behaviours modelled on outputs real agents printed (README: "Real-agent
	// scenarios"; each names its public source in the code that prints it).
	TLSInspection       bool `yaml:"tls_inspection"`        // a TLS-inspecting proxy: x509 unknown authority, then 403
	PrivateLinkRequired bool `yaml:"private_link_required"` // connect without --private-link-scope: AZCM0026
	NotRoot             bool `yaml:"not_root"`              // connect/disconnect: "You must be root to execute ..." (exit 1)
	DeleteLock          bool `yaml:"delete_lock"`           // disconnect: AZCM0043, ScopeLocked (409)
	DeleteDenied        bool `yaml:"delete_denied"`         // disconnect: AZCM0043, AuthorizationFailed on the DELETE
	ResourceDeleted     bool `yaml:"resource_deleted"`      // starts Connected, but its resource was deleted in Azure
	// CloudProvider is what show reports as "Cloud Provider" (AzSHCI: Azure Local).
	CloudProvider string `yaml:"cloud_provider"`
	// ProxyRequired: the host reaches Azure only through this proxy: connect
	// fails its network check (AZCM0026) unless `config set proxy.url` set it (config.go).
	ProxyRequired string `yaml:"proxy_required"`

	// Host-wide defaults for every command and failure.
	Slow           duration `yaml:"slow"`
	OldFormat      bool     `yaml:"old_format"`
	ExitCodePrefix bool     `yaml:"exit_code_prefix"`
	AgentVersion   string   `yaml:"agent_version"`
}

// Throttle makes Azure Resource Manager answer the resource PUT of the first
// Times connect attempts with 429 Too Many Requests and a Retry-After header.
type Throttle struct {
	RetryAfter duration `yaml:"retry_after"`
	Times      int      `yaml:"times"`
}

// retryAfterSeconds is the header's value: whole seconds, rounded up.
func (t *Throttle) retryAfterSeconds() int64 {
	return int64((time.Duration(t.RetryAfter) + time.Second - 1) / time.Second)
}

// FleetScenario is the AZCMAGENT_SIM_SCENARIO file.
type FleetScenario struct {
	Default *HostScenario            `yaml:"default"`
	Hosts   map[string]*HostScenario `yaml:"hosts"`
}

// loadScenario finds the scenario of host: the fleet file when set, else
// ROOT/scenario.yaml (a host scenario, or a fleet file). No file: empty scenario.
func loadScenario(fleetPath, root, host string) (h *HostScenario, err error) {
	defer func() { applyInstalled(h, root) }() // install.go
	path := fleetPath
	if path == "" {
		path = filepath.Join(root, "scenario.yaml")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if fleetPath == "" && errors.Is(err, fs.ErrNotExist) {
			return &HostScenario{}, nil
		}
		return nil, fmt.Errorf("scenario %s: %v (fix AZCMAGENT_SIM_SCENARIO)", path, errors.Unwrap(err))
	}
	return parseScenario(path, data, host, fleetPath != "")
}

// parseScenario decodes strictly (unknown keys are errors, so typos do not
// silently turn a failing scenario into a passing one).
func parseScenario(path string, data []byte, host string, fleet bool) (*HostScenario, error) {
	if !fleet {
		var probe map[string]yaml.Node
		if err := yaml.Unmarshal(data, &probe); err == nil {
			_, hasHosts := probe["hosts"]
			_, hasDefault := probe["default"]
			fleet = hasHosts || hasDefault
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var hs *HostScenario
	if fleet {
		var f FleetScenario
		if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("scenario %s: %v", path, err)
		}
		hs = f.Hosts[host]
		if hs == nil {
			for name, s := range f.Hosts {
				if strings.EqualFold(name, host) {
					hs = s
					break
				}
			}
		}
		if hs == nil {
			hs = f.Default
		}
		if err := f.check(); err != nil {
			return nil, fmt.Errorf("scenario %s: %v", path, err)
		}
	} else {
		var s HostScenario
		if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("scenario %s: %v", path, err)
		}
		if err := s.check(); err != nil {
			return nil, fmt.Errorf("scenario %s: %v", path, err)
		}
		hs = &s
	}
	if hs == nil {
		hs = &HostScenario{}
	}
	return hs, nil
}

func (f *FleetScenario) check() error {
	if f.Default != nil {
		if err := f.Default.check(); err != nil {
			return fmt.Errorf("default: %v", err)
		}
	}
	for name, h := range f.Hosts {
		if h == nil {
			continue
		}
		if err := h.check(); err != nil {
			return fmt.Errorf("hosts: %s: %v", name, err)
		}
	}
	return nil
}

func (h *HostScenario) check() error {
	if h.AcceptSecretSHA256 != "" {
		s := h.AcceptSecretSHA256
		if len(s) != 64 || strings.Trim(strings.ToLower(s), "0123456789abcdef") != "" {
			return errors.New("accept_secret_sha256: want 64 hex digits (sha256sum of the secret)")
		}
	}
	if t := h.Throttled; t != nil {
		if t.Times < 1 {
			return errors.New("throttled: times must be at least 1 (the connect attempts that get 429)")
		}
		if t.RetryAfter <= 0 {
			return errors.New("throttled: retry_after must be positive, e.g. 2s")
		}
	}
	if h.DeleteLock && h.DeleteDenied {
		return errors.New("delete_lock and delete_denied: pick one reason the resource cannot be deleted")
	}
	if h.CreatedThenFail && h.ConnectFailsAfterCreate {
		return errors.New("created_then_fail and connect_fails_after_create: pick one")
	}
	if err := h.Network.validate(); err != nil {
		return err
	}
	if h.Initial != nil {
		switch h.Initial.Status {
		case "", statusConnected, statusDisconnected:
		default:
			return fmt.Errorf("initial: status %q: want Connected or Disconnected", h.Initial.Status)
		}
	}
	for name, c := range map[string]*CommandScenario{"connect": h.Connect, "disconnect": h.Disconnect, "force_local": h.ForceLocal, "show": h.Show, "check": h.Check} {
		if c == nil {
			continue
		}
		if c.FailFirst < 0 {
			return fmt.Errorf("%s: fail_first must not be negative", name)
		}
		if c.FailFirst > 0 && c.Code == 0 {
			return fmt.Errorf("%s: fail_first needs a code (e.g. code: AZCM0064)", name)
		}
		for n := range c.Attempts {
			if n < 1 {
				return fmt.Errorf("%s: attempts: attempt numbers start at 1, got %d", name, n)
			}
		}
	}
	return nil
}

// command returns the scenario of a command key, or nil.
func (h *HostScenario) command(key string) *CommandScenario {
	switch key {
	case "connect":
		return h.Connect
	case "disconnect":
		return h.Disconnect
	case "force_local":
		return h.ForceLocal
	case "show":
		return h.Show
	case "check":
		return h.Check
	}
	return nil
}

// outcome resolves what attempt n (1-based) of the command does, with the
// host-wide defaults folded in.
func (h *HostScenario) outcome(key string, n int) Outcome {
	var o Outcome
	if c := h.command(key); c != nil {
		if a, ok := c.Attempts[n]; ok {
			o = a
		} else {
			o = c.Outcome
			if c.FailFirst > 0 && n > c.FailFirst {
				o.Code = 0
				o.Message = ""
			}
		}
	}
	if o.Slow == 0 {
		o.Slow = h.Slow
	}
	o.OldFormat = o.OldFormat || h.OldFormat
	o.ExitCodePrefix = o.ExitCodePrefix || h.ExitCodePrefix
	return o
}
