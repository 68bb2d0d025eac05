// Package inventory loads arcfleet's YAML fleet inventory, resolves every host's
// settings (defaults < groups in order < host), validates them against the agent's
// own input rules (reported by AZCM code) and selects hosts with --limit expressions.
//
// It imports none of arcfleet's other packages.
package inventory

import (
	"fmt"
	"time"
)

// Pos is a position in an inventory file. The zero Pos means "unknown".
// MaxJumpDepth bounds `ssh.via` chains: a host is reached through at most this
// many jump hosts in a row.
const MaxJumpDepth = 4

type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

// String is "FILE:LINE:COL", or just FILE when the line is unknown.
func (p Pos) String() string {
	if p.Line <= 0 {
		if p.File == "" {
			return "-"
		}
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// SecretRef names where a secret lives; the inventory never holds a secret value.
// Exactly one of Env and File is set.
type SecretRef struct {
	Env  string `json:"env,omitempty"`
	File string `json:"file,omitempty"`
}

// IsZero reports whether no reference was given.
func (r SecretRef) IsZero() bool { return r.Env == "" && r.File == "" }

// String is the reference as shown in plans and reports: "env:NAME" or "file:PATH".
// It never contains the value.
func (r SecretRef) String() string {
	switch {
	case r.Env != "":
		return "env:" + r.Env
	case r.File != "":
		return "file:" + r.File
	}
	return ""
}

// What the hosts receive to log in (Credential.Auth).
const (
	// AuthSecret: the service-principal secret goes to each host in the agent's
	// private config file (--service-principal-secret). The default.
	AuthSecret = "secret"
	// AuthAccessToken: the controller mints a short-lived ARM access token (see
	// Credential.TokenFrom) and each host receives only the token (--access-token);
	// the secret never leaves the controller. The recommended mode.
	AuthAccessToken = "access-token"
	// AuthCertificate: the service principal's certificate (PEM with its private
	// key) goes to each host as a private file next to the config file
	// (--service-principal-cert).
	AuthCertificate = "certificate"
)

// How the controller obtains an ARM token for a credential (Credential.TokenFrom):
// for access-token mode, and for arcfleet's own Azure calls.
const (
	TokenFromClientSecret      = "client-secret"      // client_id + tenant_id + secret. The default.
	TokenFromClientCertificate = "client-certificate" // client_id + tenant_id + certificate
	TokenFromWorkloadIdentity  = "workload-identity"  // federated token file (AZURE_FEDERATED_TOKEN_FILE); client_id optional
	TokenFromManagedIdentity   = "managed-identity"   // the controller's managed identity; client_id selects a user-assigned one
	TokenFromAzureCLI          = "azure-cli"          // the operator's `az login` on the controller
)

// AuthModes and TokenFroms list the valid values, in documentation order.
var (
	AuthModes  = []string{AuthSecret, AuthAccessToken, AuthCertificate}
	TokenFroms = []string{TokenFromClientSecret, TokenFromClientCertificate, TokenFromWorkloadIdentity, TokenFromManagedIdentity, TokenFromAzureCLI}
)

// Credential is a named service principal.
//
// Auth and TokenFrom hold what the file says ("" when not written, so the digest
// of inventories written before these keys existed does not change); use
// AuthMode and TokenMethod for the effective values.
type Credential struct {
	Name     string    `json:"name"`
	ClientID string    `json:"client_id"`
	TenantID string    `json:"tenant_id"`
	Secret   SecretRef `json:"secret"`
	// Auth: what the hosts receive: AuthSecret ("" means this), AuthAccessToken, AuthCertificate.
	Auth string `json:"auth,omitempty"`
	// TokenFrom: how the controller gets a token: TokenFromClientSecret ("" means this), ...
	TokenFrom string `json:"token_from,omitempty"`
	// Certificate: PEM (certificate and private key) of the service principal, for
	// TokenFromClientCertificate on the controller or AuthCertificate on the hosts.
	Certificate SecretRef `json:"certificate,omitzero"`
	Pos         Pos       `json:"-"`
}

// AuthMode is the effective Auth: AuthSecret when none was given.
func (c Credential) AuthMode() string {
	if c.Auth == "" {
		return AuthSecret
	}
	return c.Auth
}

// TokenMethod is the effective TokenFrom: TokenFromClientSecret when none was given.
func (c Credential) TokenMethod() string {
	if c.TokenFrom == "" {
		return TokenFromClientSecret
	}
	return c.TokenFrom
}

// HostSecret is the reference whose value a host receives in this credential's
// mode: the secret (secret mode), the certificate (certificate mode), or nothing
// (access-token mode: hosts receive only a token minted on the controller).
func (c Credential) HostSecret() SecretRef {
	switch c.AuthMode() {
	case AuthSecret:
		return c.Secret
	case AuthCertificate:
		return c.Certificate
	}
	return SecretRef{}
}

// ControllerSecret is the reference the controller reads to mint a token with
// TokenMethod: the secret (client-secret), the certificate (client-certificate),
// or nothing (workload identity, managed identity, Azure CLI).
func (c Credential) ControllerSecret() SecretRef {
	switch c.TokenMethod() {
	case TokenFromClientSecret:
		return c.Secret
	case TokenFromClientCertificate:
		return c.Certificate
	}
	return SecretRef{}
}

// Azure is the resolved Azure target of one host.
type Azure struct {
	TenantID             string            `json:"tenant_id,omitempty"`
	SubscriptionID       string            `json:"subscription_id,omitempty"`
	ResourceGroup        string            `json:"resource_group,omitempty"`
	Location             string            `json:"location,omitempty"`
	Cloud                string            `json:"cloud,omitempty"`
	CorrelationID        string            `json:"correlation_id,omitempty"`
	PrivateLinkScope     string            `json:"private_link_scope,omitempty"`
	ResourceNameTemplate string            `json:"resource_name_template,omitempty"`
	Tags                 map[string]string `json:"tags,omitempty"`
	// AllowAzureLocalDisconnect lets arcfleet disconnect (and so re-register) a
	// host whose agent reports cloud provider AzSHCI (Azure Local), where the
	// docs warn that disconnect can delete the machine itself. Off by default.
	AllowAzureLocalDisconnect bool `json:"allow_azure_local_disconnect,omitempty"`
}

// SSH holds the resolved SSH login settings of one host.
type SSH struct {
	User         string    `json:"user,omitempty"`
	IdentityFile string    `json:"identity_file,omitempty"`
	Passphrase   SecretRef `json:"passphrase,omitempty"` // of the identity file
	Password     SecretRef `json:"password,omitempty"`
	UseAgent     bool      `json:"use_agent,omitempty"` // ssh-agent via SSH_AUTH_SOCK
	KnownHosts   string    `json:"known_hosts,omitempty"`
	// HostKeyPolicy: "strict" (default), "accept-new", "fingerprint", "insecure-ignore".
	HostKeyPolicy string `json:"host_key_policy,omitempty"`
	Fingerprint   string `json:"fingerprint,omitempty"` // "SHA256:..." when HostKeyPolicy is "fingerprint"
	Become        string `json:"become,omitempty"`      // "" or "sudo"
	// Via names the jump host: another inventory host, an entry of jump_hosts:, or
	// a hop made from ssh_config's ProxyJump (named as ProxyJump wrote it).
	Via string `json:"via,omitempty"`
	// Origins says which settings came from ssh_config and where: key ("user",
	// "identity_file", "port", "address", "via") -> "FILE:LINE". Settings the
	// inventory writes itself are not listed.
	Origins map[string]string `json:"origins,omitempty"`
}

// WinRM holds the resolved WinRM login settings of one host.
type WinRM struct {
	User          string    `json:"user,omitempty"`
	Password      SecretRef `json:"password,omitempty"`
	Auth          string    `json:"auth,omitempty"` // "basic", "ntlm", "cert"
	HTTPS         bool      `json:"https"`
	Insecure      bool      `json:"insecure,omitempty"`   // skip TLS verification (explicit opt-in)
	AllowHTTP     bool      `json:"allow_http,omitempty"` // plain HTTP 5985 (explicit opt-in)
	CAFile        string    `json:"ca_file,omitempty"`
	TLSServerName string    `json:"tls_server_name,omitempty"`
	CertFile      string    `json:"cert_file,omitempty"`
	KeyFile       string    `json:"key_file,omitempty"`
}

// Agent locates the agent CLI and its log on a host; empty means the OS default.
type Agent struct {
	Path string `json:"path,omitempty"`
	Log  string `json:"log,omitempty"`
	// Install: connect installs the agent first (the install step, skipped on
	// the host when the agent is present and new enough).
	Install bool `json:"install,omitempty"`
	// MinVersion: an agent older than this is installed over (install) or
	// upgraded; "" = any version will do.
	MinVersion string `json:"min_version,omitempty"`
	// Package: operator-supplied packages on the controller, streamed to the
	// host over the step's session (air-gapped install). Empty: Microsoft's
	// installer script or package repository.
	Package AgentPackage `json:"package,omitzero"`
}

// AgentPackage names the agent's packages on the controller, by format.
type AgentPackage struct {
	Deb string `json:"deb,omitempty"`
	RPM string `json:"rpm,omitempty"`
	MSI string `json:"msi,omitempty"`
}

// Host is one fully resolved host.
type Host struct {
	Name         string   `json:"name"`
	Address      string   `json:"address"`
	Port         int      `json:"port"`
	OS           string   `json:"os"`        // "linux" or "windows"
	Transport    string   `json:"transport"` // "ssh" or "winrm"
	Groups       []string `json:"groups,omitempty"`
	ResourceName string   `json:"resource_name,omitempty"` // resolved (template applied); "" = agent default (hostname)
	Credential   string   `json:"credential"`              // name of the service principal in Inventory.Credentials
	Azure        Azure    `json:"azure"`
	SSH          SSH      `json:"ssh,omitempty"`
	WinRM        WinRM    `json:"winrm,omitempty"`
	Agent        Agent    `json:"agent,omitempty"`
	// AgentConfig: the agent's local settings applied before connect (the
	// configure step) and the connect options of agent_config:.
	AgentConfig AgentConfig `json:"agent_config,omitzero"`
	Pos         Pos         `json:"-"` // where the host entry starts
}

// AgentConfig is a host's resolved agent_config: section. A nil pointer or
// slice is a setting nobody wrote: the agent's own value is left alone.
// internal/agent (configure.go) maps each to `azcmagent config set KEY VALUE`.
type AgentConfig struct {
	ProxyURL    string   `json:"proxy_url,omitempty"`    // proxy.url (agent 1.13+)
	ProxyBypass []string `json:"proxy_bypass,omitempty"` // proxy.bypass (agent 1.15+): AAD, ARM, AMA, Arc, ArcData
	// ExtensionsAllowlist and ExtensionsBlocklist: "Publisher/Type" names.
	ExtensionsAllowlist       []string `json:"extensions_allowlist,omitempty"`
	ExtensionsBlocklist       []string `json:"extensions_blocklist,omitempty"`
	ExtensionsEnabled         *bool    `json:"extensions_enabled,omitempty"`
	GuestConfigurationEnabled *bool    `json:"guest_configuration_enabled,omitempty"`
	// MonitorMode: config.mode monitor (true) or full (false).
	MonitorMode              *bool `json:"monitor_mode,omitempty"`
	IncomingConnectionsPorts []int `json:"incoming_connections_ports,omitempty"`
	// Connect options (connect's --config file, not the configure step):
	// GatewayID is --gateway-id (an Arc gateway resource ID); AutomaticUpgrade
	// adds --enable-automatic-upgrade; SQLAutoOnboarding false adds the tag
	// ArcSQLServerExtensionDeployment=Disabled (resolve merges it into Azure.Tags).
	GatewayID         string `json:"gateway_id,omitempty"`
	AutomaticUpgrade  bool   `json:"automatic_upgrade,omitempty"`
	SQLAutoOnboarding *bool  `json:"sql_auto_onboarding,omitempty"`
}

// HasLocalSettings reports whether the configure step has anything to apply.
func (c AgentConfig) HasLocalSettings() bool {
	return c.ProxyURL != "" || c.ProxyBypass != nil || c.ExtensionsAllowlist != nil || c.ExtensionsBlocklist != nil ||
		c.ExtensionsEnabled != nil || c.GuestConfigurationEnabled != nil || c.MonitorMode != nil || c.IncomingConnectionsPorts != nil
}

// Retry is the retry policy from the inventory's `retry:` section.
// Zero values mean "use arcfleet's defaults by class".
type Retry struct {
	MaxAttempts int                  `json:"max_attempts,omitempty"`
	BaseDelay   time.Duration        `json:"base_delay,omitempty"`
	MaxDelay    time.Duration        `json:"max_delay,omitempty"`
	Codes       map[string]CodeRetry `json:"codes,omitempty"` // keyed by "AZCMnnnn"
	// BreakerThreshold: hosts sharing one credential that may fail with the
	// shared-credential class before no more hosts using it are started (default 3).
	BreakerThreshold int `json:"breaker_threshold,omitempty"`
}

// CodeRetry overrides the retry behaviour for one AZCM code.
type CodeRetry struct {
	// Action: "retry", "none", "restart-agent-service", "reconnect".
	Action      string        `json:"action,omitempty"`
	MaxAttempts int           `json:"max_attempts,omitempty"`
	Delay       time.Duration `json:"delay,omitempty"`
}

// Inventory is a loaded, resolved inventory.
type Inventory struct {
	File        string                `json:"file"`
	Version     int                   `json:"version"`
	Credentials map[string]Credential `json:"credentials"`
	Retry       Retry                 `json:"retry"`
	Hosts       []Host                `json:"hosts"` // in file order
	// JumpHosts are hosts used only as hops (ssh.via): the jump_hosts: entries and
	// the hops made from ssh_config's ProxyJump. They are never selected, planned
	// or acted on; look them up with ViaHost.
	JumpHosts []Host `json:"jump_hosts,omitempty"`
	// Digest is "sha256:" + hex sha256 of the canonical resolved inventory
	// (credentials by reference, hosts, retry); it changes when anything apply would use changes.
	Digest string `json:"digest"`

	// src keeps the parsed layers so findings can point at the line that set a value;
	// nil for an Inventory built by hand or decoded from JSON (findings then use Host.Pos).
	src *source
}

// Finding is one pre-flight validation finding: something the agent would reject
// (Code is the AZCM code it would have returned) or arcfleet cannot use.
type Finding struct {
	Pos     Pos    `json:"pos"`
	Code    string `json:"code"` // "AZCM0013", ...; arcfleet's own checks use "ARCF" codes
	Host    string `json:"host,omitempty"`
	Message string `json:"message"` // what is wrong and the fix
	// Warning marks an explicit opt-in worth a second look (insecure-ignore, insecure TLS,
	// plain HTTP): reported, but it does not make the inventory invalid or block the host.
	Warning bool `json:"warning,omitempty"`
	// Key and Args, FixKey and FixArgs say Message ("MESSAGE; fix: FIX") as
	// sentence keys of finding_texts.go and their data (names, values,
	// paths), so a report can say it in another language; a Key starting
	// "jump:" is a jump host's ("jump host: MESSAGE"). "" for a finding
	// without them: Message is then the only wording.
	Key     string   `json:"key,omitempty"`
	Args    []string `json:"args,omitempty"`
	FixKey  string   `json:"fix_key,omitempty"`
	FixArgs []string `json:"fix_args,omitempty"`
}

// String is the `validate` line: "FILE:LINE:COL: AZCMnnnn HOST: message and fix";
// a warning's message starts with "warning: ".
func (f Finding) String() string {
	h := f.Host
	if h == "" {
		h = "-"
	}
	m := f.Message
	if f.Warning {
		m = "warning: " + m
	}
	return fmt.Sprintf("%s: %s %s: %s", f.Pos, f.Code, h, m)
}
