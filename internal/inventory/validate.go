package inventory

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Codes of arcfleet's own findings (the agent's are AZCMnnnn).
const (
	CodeSecretUnresolved = "ARCF0001" // a secret reference does not resolve
	CodeInsecureHostKey  = "ARCF0002" // warning: host_key_policy insecure-ignore
	CodeInsecureTLS      = "ARCF0003" // warning: WinRM TLS verification off
	CodePlainHTTP        = "ARCF0004" // warning: WinRM over plain HTTP
	CodeSSHLogin         = "ARCF0005" // SSH login settings incomplete or contradictory
	CodeWinRMLogin       = "ARCF0006" // WinRM login settings incomplete or contradictory
	CodeCredential       = "ARCF0007" // service principal settings unusable
	CodeAction           = "ARCF0008" // unknown action
	CodePrivateLink      = "ARCF0009" // private_link_scope is not a resource ID
	CodeAgentPath        = "ARCF0010" // agent.path or agent.log longer than the host's OS allows
	CodeAgentInstall     = "ARCF0020" // agent.install, agent.min_version or agent.package unusable
	// CodeSSHConfig (ARCF0011, jump.go): warning about an ssh_config line arcfleet does not follow.
)

// Longest agent.path and agent.log: a Windows path fits MAX_PATH (260 UTF-16
// code units with the terminating NUL), a Linux path PATH_MAX (4096 bytes with
// the NUL). Within these, every Windows command stays well under cmd.exe's
// command-line limit (internal/agent tests it with the longest values).
const (
	MaxWindowsAgentPath = 259  // UTF-16 code units
	MaxLinuxAgentPath   = 4095 // bytes
)

// Azure's limits on tags (learn.microsoft.com/azure/azure-resource-manager/management/tag-resources).
const (
	MaxTags           = 50
	MaxTagNameLen     = 512
	MaxTagValueLen    = 256
	tagNameForbidden  = `<>%&\?/`
	MaxResourceName   = 54 // Microsoft.HybridCompute/machines, Azure resource-name rules
	defaultValidateAs = "connect"
)

var (
	guidRE         = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	resourceNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	fingerprintRE  = regexp.MustCompile(`^SHA256:[A-Za-z0-9+/]{43}=?$`)
	plsRE          = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.HybridCompute/privateLinkScopes/[^/]+$`)
)

// where finds the line that set a host's effective value.
type where struct {
	h  *Host
	rh *rawHost // nil when the inventory was not parsed from a file
	ch []*layer
}

func (inv *Inventory) where(h *Host) where {
	w := where{h: h}
	if s := inv.src; s != nil && s.index != nil {
		if i, ok := s.index[h.Name]; ok && i < len(s.hosts) {
			w.rh = s.hosts[i]
			w.ch = s.chain(w.rh, h.OS)
			return w
		}
		for i := range inv.JumpHosts { // a jump host that is not a fleet member
			if inv.JumpHosts[i].Name == h.Name && i < len(s.jumps) {
				w.ch = s.jumpChain(s.jumps[i])
			}
		}
	}
	return w
}

func posOf[T any](w where, get func(*layer) *val[T]) Pos {
	if v := pick(w.ch, get); v.set {
		return v.pos
	}
	return w.h.Pos
}

func (w where) tagPos(key string) Pos {
	for i := len(w.ch) - 1; i >= 0; i-- {
		for _, t := range w.ch[i].tags {
			if t.key == key {
				return t.pos
			}
		}
	}
	return w.h.Pos
}

func (inv *Inventory) credPos(name string, field func(*rawCred) Pos) Pos {
	if inv.src != nil {
		if c, ok := inv.src.creds[name]; ok {
			if p := field(c); p.Line > 0 {
				return p
			}
			return c.pos
		}
	}
	return inv.Credentials[name].Pos
}

// Validate checks the selected hosts for what the agent would reject for action
// ("connect", "disconnect", "reconnect"; "" means connect) and what arcfleet cannot
// use. It is pure: no I/O, no secret is read. Findings come in host order.
func Validate(inv *Inventory, hosts []*Host, action string) []Finding {
	if action == "" {
		action = defaultValidateAs
	}
	var out []Finding
	switch action {
	case "connect", "disconnect", "reconnect", "install", "upgrade":
	default:
		return []Finding{{Pos: Pos{File: inv.File}, Code: CodeAction,
			Message: fmt.Sprintf("unknown action %q; fix: use connect, disconnect or reconnect", action)}}
	}
	connect := action != "disconnect"
	rc := regionCloud()
	stat := statOnce()
	for _, h := range hosts {
		w := inv.where(h)
		add := func(p Pos, code string, msg, fix sentence) {
			out = append(out, finding(p, code, h.Name, "", msg, fix, false))
		}
		warn := func(p Pos, code string, msg, fix sentence) {
			out = append(out, finding(p, code, h.Name, "", msg, fix, true))
		}
		validateCredential(inv, h, w, connect, add)
		if connect {
			validateAzure(h, w, rc, add, warn)
		} else if c := h.Azure.Cloud; c != "" && !contains(Clouds(), c) {
			add(posOf(w, func(l *layer) *val[string] { return &l.azure.cloud }), "AZCM0014", say("bad_cloud", q(c)), cloudFix(c))
		}
		validateAgent(h, w, add, stat)
		if connect {
			validateAgentConfig(h, w, add, warn) // agentconfig.go
		}
		switch h.Transport {
		case "ssh":
			validateSSH(h, w, add, warn)
		case "winrm":
			validateWinRM(h, w, add, warn)
		}
		if inv.src != nil {
			out = append(out, inv.src.notes[h.Name]...)
		}
	}
	// Jump hosts that are not fleet members: only their login is checked.
	for _, w := range inv.jumpsOf(hosts) {
		h := w.h
		add := func(p Pos, code string, msg, fix sentence) {
			out = append(out, finding(p, code, h.Name, "jump:", msg, fix, false))
		}
		warn := func(p Pos, code string, msg, fix sentence) {
			out = append(out, finding(p, code, h.Name, "jump:", msg, fix, true))
		}
		validateSSH(h, w, add, warn)
		if inv.src != nil {
			out = append(out, inv.src.notes[h.Name]...)
		}
	}
	return out
}

type report func(p Pos, code string, msg, fix sentence)

// finding is the finding of msg and fix (a jump host's when prefix is "jump:").
func finding(p Pos, code, host, prefix string, msg, fix sentence, warning bool) Finding {
	m := msg.text() + "; fix: " + fix.text()
	if prefix == "jump:" {
		m = "jump host: " + m
	}
	return Finding{Pos: p, Code: code, Host: host, Message: m, Warning: warning,
		Key: prefix + msg.key, Args: msg.args, FixKey: fix.key, FixArgs: fix.args}
}

func validateCredential(inv *Inventory, h *Host, w where, connect bool, add report) {
	credPos := posOf(w, func(l *layer) *val[string] { return &l.credential })
	if h.Credential == "" {
		add(h.Pos, "AZCM0016", say("no_credential"), say("set_credential"))
	} else if c, ok := inv.Credentials[h.Credential]; !ok {
		add(credPos, "AZCM0016", say("cred_undefined", q(h.Credential)), say("define_cred"))
	} else {
		validateCredentialAuth(inv, c, add)
		if c.TenantID != "" && h.Azure.TenantID != "" && !strings.EqualFold(c.TenantID, h.Azure.TenantID) {
			add(posOf(w, func(l *layer) *val[string] { return &l.azure.tenantID }), CodeCredential,
				say("tenant_differs", q(c.Name)), say("tenant_fix"))
		}
	}
	if h.Azure.TenantID == "" {
		add(h.Pos, "AZCM0016", say("no_tenant"), say("set_tenant"))
	}
}

// validateCredentialAuth checks that credential c has what its mode needs: on the
// hosts (auth) and, in access-token mode, on the controller (token_from).
func validateCredentialAuth(inv *Inventory, c Credential, add report) {
	credAt := inv.credPos(c.Name, func(r *rawCred) Pos { return Pos{} })
	authAt := inv.credPos(c.Name, func(r *rawCred) Pos { return r.auth.pos })
	fromAt := inv.credPos(c.Name, func(r *rawCred) Pos { return r.tokenFrom.pos })
	mode, from := c.AuthMode(), c.TokenMethod()
	// The client id is the agent's --service-principal-id in secret and certificate
	// mode; in access-token mode only the controller's token request needs it, and
	// only for a client secret or certificate (for workload and managed identity it is
	// optional, the Azure CLI uses the operator's login).
	switch {
	case c.ClientID == "" && mode != AuthAccessToken:
		add(credAt, "AZCM0016",
			say("no_client_id", q(c.Name)), say("add_client_id"))
	case c.ClientID == "" && (from == TokenFromClientSecret || from == TokenFromClientCertificate):
		add(fromAt, CodeCredential,
			say("token_no_client_id", q(c.Name), from), say("add_client_id"))
	case c.ClientID != "" && !guidRE.MatchString(c.ClientID):
		add(inv.credPos(c.Name, func(r *rawCred) Pos { return r.clientID.pos }), CodeCredential,
			say("client_id_guid", q(c.Name)), say("client_id_fix"))
	}
	switch mode {
	case AuthSecret:
		if c.Secret.IsZero() {
			fix := say("secret_fix")
			if !c.Certificate.IsZero() {
				fix = say("secret_fix_cert")
			}
			add(credAt, "AZCM0016", say("no_secret", q(c.Name)), fix)
		}
	case AuthCertificate:
		if c.Certificate.IsZero() {
			add(authAt, "AZCM0016", say("no_certificate", q(c.Name)), say("cert_fix"))
		}
	case AuthAccessToken:
		switch {
		case from == TokenFromClientSecret && c.Secret.IsZero():
			at := fromAt
			if c.TokenFrom == "" {
				at = authAt
			}
			add(at, CodeCredential,
				say("token_no_secret", q(c.Name)), say("token_secret_fix"))
		case from == TokenFromClientCertificate && c.Certificate.IsZero():
			add(fromAt, CodeCredential,
				say("token_no_cert", q(c.Name)), say("token_cert_fix"))
		}
	}
}

func validateAzure(h *Host, w where, rc map[string]string, add, warn report) {
	az := h.Azure
	for _, req := range []struct{ v, key, flag string }{
		{az.SubscriptionID, "subscription_id", "--subscription-id"},
		{az.ResourceGroup, "resource_group", "--resource-group"},
		{az.Location, "location", "--location"},
	} {
		if req.v == "" {
			add(h.Pos, "AZCM0016", say("no_azure_field", req.key, req.flag), say("set_azure_field", req.key))
		}
	}
	if az.SubscriptionID != "" && !guidRE.MatchString(az.SubscriptionID) {
		warn(posOf(w, func(l *layer) *val[string] { return &l.azure.subscriptionID }), "AZCM0068",
			say("sub_not_guid"), say("use_sub_guid"))
	}
	cloud := az.Cloud
	if cloud != "" && !contains(Clouds(), cloud) {
		add(posOf(w, func(l *layer) *val[string] { return &l.azure.cloud }), "AZCM0014", say("bad_cloud", q(cloud)), cloudFix(cloud))
		cloud = ""
	}
	if cloud == "" {
		cloud = "AzureCloud"
	}
	if az.Location != "" {
		lp := posOf(w, func(l *layer) *val[string] { return &l.azure.location })
		norm := strings.ToLower(strings.ReplaceAll(az.Location, " ", ""))
		switch in, known := rc[norm]; {
		case !known:
			fix := say("region_use")
			if s := closest(norm, Regions(cloud)); s != "" {
				fix = say("region_mean", q(s))
			}
			add(lp, "AZCM0020", say("unknown_region", q(az.Location)), fix)
		case in != cloud:
			add(lp, "AZCM0020", say("region_cloud", q(az.Location), in, cloud), say("region_cloud_fix", in, cloud))
		case norm != az.Location:
			warn(lp, "AZCM0020", say("display_name", q(az.Location)), say("region_write", q(norm)))
		}
	}
	if az.CorrelationID != "" && !guidRE.MatchString(az.CorrelationID) {
		add(posOf(w, func(l *layer) *val[string] { return &l.azure.correlationID }), "AZCM0015",
			say("corr_guid"), say("corr_fix"))
	}
	if az.PrivateLinkScope != "" && !plsRE.MatchString(az.PrivateLinkScope) {
		add(posOf(w, func(l *layer) *val[string] { return &l.azure.privateLinkScope }), CodePrivateLink,
			say("pls_bad"), say("pls_fix"))
	}
	if h.ResourceName != "" {
		np := posOf(w, func(l *layer) *val[string] { return &l.azure.nameTemplate })
		if w.rh != nil && w.rh.resourceName.set { // the host's own resource_name wins over any template
			np = w.rh.resourceName.pos
		}
		n := h.ResourceName
		switch {
		case !resourceNameRE.MatchString(n):
			add(np, "AZCM0017", say("name_chars", q(n)), say("name_chars_fix"))
		case strings.HasSuffix(n, "-") || strings.HasSuffix(n, "_"):
			add(np, "AZCM0017", say("name_end", q(n)), say("name_end_fix"))
		case utf8.RuneCountInString(n) > MaxResourceName:
			warn(np, "AZCM0017", say("name_long", itoa(len(n)), itoa(MaxResourceName)), say("name_long_fix"))
		}
	}
	for _, p := range TagProblems(az.Tags) {
		pos := h.Pos
		if p.Tag != "" {
			pos = w.tagPos(p.Tag)
		}
		add(pos, "AZCM0013", p.msg, p.fix)
	}
}

// AgentPathLen is the length of an agent.path or agent.log value as the host's
// OS counts it: UTF-16 code units on Windows, bytes elsewhere.
func AgentPathLen(os, p string) int {
	if os == "windows" {
		return len(utf16.Encode([]rune(p)))
	}
	return len(p)
}

func validateAgent(h *Host, w where, add report, stat func(string) (os.FileInfo, error)) {
	validateAgentInstall(h, posOf(w, func(l *layer) *val[string] { return &l.agent.path }), add, stat)
	max, unit, limit := MaxLinuxAgentPath, "bytes", "PATH_MAX"
	if h.OS == "windows" {
		max, unit, limit = MaxWindowsAgentPath, "chars", "MAX_PATH"
	}
	for _, f := range []struct {
		key, v string
		get    func(*layer) *val[string]
	}{
		{"agent.path", h.Agent.Path, func(l *layer) *val[string] { return &l.agent.path }},
		{"agent.log", h.Agent.Log, func(l *layer) *val[string] { return &l.agent.log }},
	} {
		if n := AgentPathLen(h.OS, f.v); n > max {
			add(posOf(w, f.get), CodeAgentPath,
				say("agent_path_long_"+unit, f.key, itoa(n), itoa(max), h.OS, limit),
				say("agent_path_fix_"+unit, f.key, itoa(max)))
		}
	}
}

func validateSSH(h *Host, w where, add, warn report) {
	s := h.SSH
	sp := func(get func(*rawSSH) *val[string]) Pos {
		return posOf(w, func(l *layer) *val[string] { return get(&l.ssh) })
	}
	if s.User == "" {
		add(h.Pos, CodeSSHLogin, say("no_ssh_user"), say("set_ssh_user"))
	}
	if s.IdentityFile == "" && s.Password.IsZero() && !s.UseAgent {
		add(h.Pos, CodeSSHLogin, say("no_ssh_login"), say("ssh_login_fix"))
	}
	if !s.Passphrase.IsZero() && s.IdentityFile == "" {
		add(posOf(w, func(l *layer) *val[SecretRef] { return &l.ssh.passphrase }), CodeSSHLogin,
			say("passphrase_no_key"), say("passphrase_fix"))
	}
	fpPos := sp(func(r *rawSSH) *val[string] { return &r.fingerprint })
	switch {
	case s.HostKeyPolicy == "fingerprint" && s.Fingerprint == "":
		add(sp(func(r *rawSSH) *val[string] { return &r.hostKeyPolicy }), CodeSSHLogin, say("fp_missing"), say("fp_add"))
	case s.Fingerprint != "" && !fingerprintRE.MatchString(s.Fingerprint):
		add(fpPos, CodeSSHLogin, say("fp_bad"), say("fp_write"))
	case s.Fingerprint != "" && s.HostKeyPolicy != "fingerprint":
		add(fpPos, CodeSSHLogin, say("fp_ignored", s.HostKeyPolicy), say("fp_ignored_fix"))
	}
	if s.HostKeyPolicy == "insecure-ignore" {
		warn(sp(func(r *rawSSH) *val[string] { return &r.hostKeyPolicy }), CodeInsecureHostKey,
			say("insecure_hostkey"), say("insecure_hostkey_fix"))
	}
}

func validateWinRM(h *Host, w where, add, warn report) {
	x := h.WinRM
	wp := func(get func(*rawWinRM) *val[string]) Pos {
		return posOf(w, func(l *layer) *val[string] { return get(&l.winrm) })
	}
	bp := func(get func(*rawWinRM) *val[bool]) Pos {
		return posOf(w, func(l *layer) *val[bool] { return get(&l.winrm) })
	}
	authPos := wp(func(r *rawWinRM) *val[string] { return &r.auth })
	switch x.Auth {
	case "cert":
		if x.CertFile == "" || x.KeyFile == "" {
			add(authPos, CodeWinRMLogin, say("cert_files"), say("cert_files_fix"))
		}
		if !x.HTTPS {
			add(authPos, CodeWinRMLogin, say("cert_https"), say("cert_https_fix"))
		}
	default:
		if x.User == "" {
			add(h.Pos, CodeWinRMLogin, say("no_winrm_user"), say("set_winrm_user"))
		}
		if x.Password.IsZero() {
			add(h.Pos, CodeWinRMLogin, say("no_winrm_password"), say("set_winrm_password"))
		}
		if x.Auth == "basic" && !x.HTTPS {
			add(authPos, CodeWinRMLogin, say("basic_http"), say("basic_http_fix"))
		}
	}
	if x.HTTPS && x.Insecure {
		warn(bp(func(r *rawWinRM) *val[bool] { return &r.insecure }), CodeInsecureTLS,
			say("insecure_tls"), say("insecure_tls_fix"))
	}
	if !x.HTTPS {
		warn(bp(func(r *rawWinRM) *val[bool] { return &r.https }), CodePlainHTTP,
			say("plain_http"), say("plain_http_fix"))
	}
}

// TagProblem is one reason a tag set cannot be passed to the agent.
type TagProblem struct {
	Tag string // the tag name, "" for the whole set
	Msg string
	Fix string

	msg, fix sentence // Msg and Fix as sentences
}

// TagProblems lists what the agent (AZCM0013) or Azure would reject in tags, in
// tag-name order: count, lengths, forbidden characters, names that differ only in
// case, and characters the agent's --tags "Name=Value,Other='a b'" syntax cannot carry.
func TagProblems(tags map[string]string) []TagProblem {
	var out []TagProblem
	if len(tags) > MaxTags {
		m, f := say("tags_many", itoa(len(tags)), itoa(MaxTags)), say("tags_many_fix")
		out = append(out, TagProblem{Msg: m.text(), Fix: f.text(), msg: m, fix: f})
	}
	keys := sortedKeys(tags)
	lower := make(map[string]string, len(keys))
	for _, k := range keys {
		v := tags[k]
		bad := func(msg, fix sentence) {
			out = append(out, TagProblem{Tag: k, Msg: msg.text(), Fix: fix.text(), msg: msg, fix: fix})
		}
		switch {
		case strings.TrimSpace(k) == "":
			bad(say("tag_empty"), say("tag_empty_fix"))
		case utf8.RuneCountInString(k) > MaxTagNameLen:
			bad(say("tag_name_long", itoa(MaxTagNameLen)), say("tag_shorten_name"))
		case strings.ContainsAny(k, tagNameForbidden):
			bad(say("tag_name_chars", q(k)), say("tag_remove_chars"))
		case strings.ContainsAny(k, `'"=`) || hasControl(k):
			bad(say("tag_name_quote", q(k)), say("tag_remove_char_name"))
		}
		switch {
		case utf8.RuneCountInString(v) > MaxTagValueLen:
			bad(say("tag_value_long", q(k), itoa(MaxTagValueLen)), say("tag_shorten_value"))
		case strings.ContainsAny(v, `'"`) || hasControl(v):
			bad(say("tag_value_quote", q(k)), say("tag_remove_char_value"))
		}
		if first, dup := lower[strings.ToLower(k)]; dup {
			bad(say("tag_case", q(first), q(k)), say("tag_keep_one"))
		} else {
			lower[strings.ToLower(k)] = k
		}
	}
	return out
}

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// FormatAgentTags renders tags in the agent's --tags syntax, sorted by name:
// Name=Value,Other='a b'. A name or value with a space, ',' or '=' is put in single
// quotes. Tags TagProblems objects to are an error naming the tag, never a guess.
func FormatAgentTags(tags map[string]string) (string, error) {
	if ps := TagProblems(tags); len(ps) > 0 {
		msgs := make([]string, len(ps))
		for i, p := range ps {
			msgs[i] = p.Msg
		}
		return "", errors.New("AZCM0013: " + strings.Join(msgs, "; "))
	}
	var b strings.Builder
	for i, k := range sortedKeys(tags) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quoteTag(k))
		b.WriteByte('=')
		b.WriteString(quoteTag(tags[k]))
	}
	return b.String(), nil
}

func quoteTag(s string) string {
	if strings.ContainsAny(s, " ,=\t") || s != strings.TrimSpace(s) {
		return "'" + s + "'"
	}
	return s
}

func cloudFix(c string) sentence {
	for _, k := range Clouds() {
		if strings.EqualFold(k, c) {
			return say("cloud_write", k)
		}
	}
	return say("cloud_use")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// CheckSecretRefs checks that every secret reference the selected hosts use
// resolves: the environment variable is set and not empty, the file is readable
// and not empty. One finding per unresolved reference (not per host); it never
// holds a value.
func CheckSecretRefs(inv *Inventory, hosts []*Host, lookupEnv func(string) (string, bool)) []Finding {
	type use struct {
		ref   SecretRef
		what  string
		pos   Pos
		hosts []string
	}
	var order []*use
	byRef := map[string]*use{}
	note := func(ref SecretRef, what string, p Pos, host string) {
		if ref.IsZero() {
			return
		}
		key := ref.String()
		u := byRef[key]
		if u == nil {
			u = &use{ref: ref, what: what, pos: p}
			byRef[key] = u
			order = append(order, u)
		}
		if len(u.hosts) == 0 || u.hosts[len(u.hosts)-1] != host {
			u.hosts = append(u.hosts, host)
		}
	}
	for _, h := range hosts {
		w := inv.where(h)
		if c, ok := inv.Credentials[h.Credential]; ok {
			// What the hosts receive (secret or certificate) and, in access-token mode,
			// what the controller reads to mint their tokens.
			refs := []SecretRef{c.HostSecret()}
			if c.AuthMode() == AuthAccessToken {
				refs = append(refs, c.ControllerSecret())
			}
			for _, ref := range refs {
				switch {
				case ref.IsZero():
				case ref == c.Secret:
					note(ref, fmt.Sprintf("secret of credential %q", c.Name), inv.credPos(c.Name, func(r *rawCred) Pos { return r.secret.pos }), h.Name)
				default:
					note(ref, fmt.Sprintf("certificate of credential %q", c.Name), inv.credPos(c.Name, func(r *rawCred) Pos { return r.certificate.pos }), h.Name)
				}
			}
		}
		switch h.Transport {
		case "ssh":
			note(h.SSH.Password, "ssh.password", posOf(w, func(l *layer) *val[SecretRef] { return &l.ssh.password }), h.Name)
			note(h.SSH.Passphrase, "ssh.passphrase", posOf(w, func(l *layer) *val[SecretRef] { return &l.ssh.passphrase }), h.Name)
		case "winrm":
			note(h.WinRM.Password, "winrm.password", posOf(w, func(l *layer) *val[SecretRef] { return &l.winrm.password }), h.Name)
		}
	}
	var out []Finding
	for _, u := range order {
		if _, err := u.ref.Resolve(lookupEnv); err != nil {
			fix := fmt.Sprintf("export %s before running arcfleet (from your secret store, never on a command line)", u.ref.Env)
			if u.ref.File != "" {
				fix = fmt.Sprintf("create %s holding only the secret, readable by this user (chmod 600)", u.ref.File)
			}
			f := Finding{Pos: u.pos, Code: CodeSecretUnresolved,
				Message: fmt.Sprintf("%s (%s) does not resolve: %v; used by %s; fix: %s", u.what, u.ref, err, hostList(u.hosts), fix)}
			if len(u.hosts) == 1 {
				f.Host = u.hosts[0]
			}
			out = append(out, f)
		}
	}
	return out
}

func hostList(hs []string) string {
	const show = 3
	if len(hs) == 1 {
		return "host " + hs[0]
	}
	if len(hs) <= show {
		return fmt.Sprintf("%d hosts: %s", len(hs), strings.Join(hs, ", "))
	}
	return fmt.Sprintf("%d hosts: %s, ...", len(hs), strings.Join(hs[:show], ", "))
}

// CollapseFindings merges findings that differ only in their host and position
// (one inherited mistake, or one missing setting, repeated across a fleet) into
// the first, noting how many other hosts share it and naming a few. The first
// finding's position is kept: for a value set once in defaults or a group it is
// that line; for a setting no layer gives, the first host's entry.
func CollapseFindings(fs []Finding) []Finding {
	type key struct {
		code, msg string
		warning   bool
	}
	idx := map[key]int{}
	var out []Finding
	var others [][]string
	for _, f := range fs {
		k := key{f.Code, f.Message, f.Warning}
		if i, ok := idx[k]; ok && f.Host != "" && out[i].Host != "" {
			others[i] = append(others[i], f.Host)
			continue
		}
		if f.Host != "" {
			idx[k] = len(out)
		}
		out = append(out, f)
		others = append(others, nil)
	}
	for i := range out {
		if n := len(others[i]); n > 0 {
			out[i].Message += fmt.Sprintf(" (also %d other %s: %s)", n, plural(n, "host", "hosts"), shortList(others[i]))
		}
	}
	return out
}

func shortList(hs []string) string {
	if len(hs) <= 3 {
		return strings.Join(hs, ", ")
	}
	return strings.Join(hs[:3], ", ") + ", ..."
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
