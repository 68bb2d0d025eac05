package inventory

import (
	"strconv"
	"strings"
)

// sentence is a finding's message or fix as a key of findingTexts and its
// arguments (names, values, paths, numbers: never translated), so a report
// can say it in another language (Finding.Key/Args, FixKey/FixArgs).
type sentence struct {
	key  string
	args []string
}

// say is the sentence key with args.
func say(key string, args ...string) sentence { return sentence{key, args} }

// text is the sentence's English.
func (s sentence) text() string { return FindingText(s.key, s.args...) }

// q is s quoted as %q quotes it.
func q(s string) string { return strconv.Quote(s) }

// itoa is n in decimal.
func itoa[T int | int64](n T) string { return strconv.FormatInt(int64(n), 10) }

// findingTexts is the English of every finding sentence: {N} is the N-th
// argument; a brace around anything else is text ("{env: NAME}").
var findingTexts = map[string]string{
	// Credentials.
	"no_credential":      "no credential: the agent needs a service principal to log in",
	"set_credential":     "set `credential: NAME` in defaults, a group or the host, and define NAME under credentials:",
	"cred_undefined":     "credential {0} is not defined",
	"define_cred":        "define it under credentials:",
	"tenant_differs":     "azure.tenant_id differs from the tenant_id of credential {0}; the agent takes one --tenant-id",
	"tenant_fix":         "use a credential of the tenant the machines are onboarded to, or make the two tenant ids equal",
	"no_tenant":          "no tenant id (--tenant-id)",
	"set_tenant":         "set azure.tenant_id, or tenant_id in the credential",
	"no_client_id":       "credential {0} has no client_id (--service-principal-id)",
	"add_client_id":      "add client_id: APPLICATION-ID to it",
	"token_no_client_id": "credential {0} (auth: access-token, token_from: {1}) has no client_id: the controller needs it to mint the hosts' access tokens",
	"client_id_guid":     "credential {0}: client_id is not a GUID",
	"client_id_fix":      "use the application (client) ID of the service principal, e.g. 00000000-0000-0000-0000-000000000000",
	"no_secret":          "credential {0} has no secret (--service-principal-secret)",
	"secret_fix":         "add `secret: {env: NAME}` or `secret: {file: PATH}` to it; better: set `auth: access-token` so the hosts get only a short-lived token (docs/security.md)",
	"secret_fix_cert":    "add `secret: {env: NAME}` or `secret: {file: PATH}` to it, or set `auth: certificate` to send the certificate instead; better: set `auth: access-token` so the hosts get only a short-lived token (docs/security.md)",
	"no_certificate":     "credential {0} (auth: certificate) has no certificate (--service-principal-cert)",
	"cert_fix":           "add `certificate: {file: /path/sp.pem}` (PEM holding the certificate and its private key, no password), or use `auth: access-token`",
	"token_no_secret":    "credential {0} (auth: access-token, token_from: client-secret) has no secret: the controller needs it to mint the hosts' access tokens",
	"token_secret_fix":   "add `secret: {env: NAME}` or `secret: {file: PATH}` (it stays on the controller), or set token_from: client-certificate, workload-identity, managed-identity or azure-cli",
	"token_no_cert":      "credential {0} (auth: access-token, token_from: client-certificate) has no certificate: the controller needs it to mint the hosts' access tokens",
	"token_cert_fix":     "add `certificate: {file: /path/sp.pem}` (PEM holding the certificate and its private key; it stays on the controller), or set another token_from",

	// Azure target.
	"no_azure_field":   "no azure.{0} ({1})",
	"set_azure_field":  "set azure.{0} at the top level, in a group or on the host",
	"sub_not_guid":     "subscription_id is not a GUID; the agent fails with AZCM0068 when it cannot resolve a subscription name",
	"use_sub_guid":     "use the subscription's GUID",
	"bad_cloud":        "unsupported cloud {0}",
	"cloud_write":      "write it as {0}",
	"cloud_use":        "use AzureCloud, AzureUSGovernment or AzureChinaCloud",
	"unknown_region":   "unknown region {0}",
	"region_use":       "use a region name such as westeurope, eastus2 or swedencentral (az account list-locations -o table)",
	"region_mean":      "did you mean {0}?",
	"region_cloud":     "region {0} is in {1}, but the cloud is {2}",
	"region_cloud_fix": "set azure.cloud: {0}, or choose a region of {1}",
	"display_name":     "location {0} is a display name",
	"region_write":     "write the region name {0}",
	"corr_guid":        "correlation_id is not a GUID",
	"corr_fix":         "use a GUID such as 3fa85f64-5717-4562-b3fc-2c963f66afa6, or remove it",
	"pls_bad":          "private_link_scope is not a private link scope resource ID",
	"pls_fix":          "use /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.HybridCompute/privateLinkScopes/NAME",
	"name_chars":       "resource name {0} may hold only letters, digits, '-' and '_'",
	"name_chars_fix":   "set resource_name on the host, or a resource_name_template such as \"{short}\"",
	"name_end":         "resource name {0} must not end with '-' or '_'",
	"name_end_fix":     "drop the trailing character",
	"name_long":        "resource name is {0} characters; Azure's limit for Arc machines is {1}",
	"name_long_fix":    "set a shorter resource_name",

	// Tags.
	"tags_many":             "{0} tags; Azure allows at most {1} per resource",
	"tags_many_fix":         "drop tags, or merge some into one",
	"tag_empty":             "empty tag name",
	"tag_empty_fix":         "give the tag a name",
	"tag_name_long":         "tag name is longer than {0} characters",
	"tag_shorten_name":      "shorten the name",
	"tag_name_chars":        "tag name {0} contains one of < > % & \\ ? /",
	"tag_remove_chars":      "remove those characters from the name",
	"tag_name_quote":        "tag name {0} contains a quote, '=' or a control character, which the agent's --tags syntax cannot carry",
	"tag_remove_char_name":  "remove the character from the name",
	"tag_value_long":        "value of tag {0} is longer than {1} characters",
	"tag_shorten_value":     "shorten the value",
	"tag_value_quote":       "value of tag {0} contains a quote or a control character, which the agent's --tags syntax cannot carry",
	"tag_remove_char_value": "remove the character from the value",
	"tag_case":              "tag names {0} and {1} differ only in case; Azure treats tag names case-insensitively",
	"tag_keep_one":          "keep one spelling",

	// Agent paths and install.
	"agent_path_long_bytes": "{0} is {1} bytes, longer than the {2} a {3} path can have ({4})",
	"agent_path_long_chars": "{0} is {1} characters, longer than the {2} a {3} path can have ({4})",
	"agent_path_fix_bytes":  "install the agent (or point {0}) at a path of at most {1} bytes",
	"agent_path_fix_chars":  "install the agent (or point {0}) at a path of at most {1} characters",
	"min_version_bad":       "agent.min_version {0} is not a version",
	"min_version_fix":       "write it as `azcmagent version` prints it, e.g. 1.50 or 1.50.03036.1885",
	"deb_and_rpm":           "agent.package names both a .deb and an .rpm for this Linux host",
	"deb_and_rpm_fix":       "set agent.package.deb and agent.package.rpm in different groups (by distribution), so each host gets one",
	"package_err":           "agent.package.{0}: {1}",
	"package_point":         "point it at the agent's package on this machine",
	"package_not_file":      "agent.package.{0} {1} is not a regular file",
	"package_point_file":    "point it at the package file itself",
	"package_size":          "agent.package.{0} {1} has {2} bytes (1 to {3} allowed)",
	"package_point_pkg":     "point it at the agent's package",

	// A Windows command too long for cmd.exe (agent/limits.go).
	"command_too_long":    "the {0} command is {1} characters, over the {2} that WinRM's cmd shell accepts",
	"shorten_agent_paths": "shorten agent.path and agent.log",

	// Agent configuration.
	"bypass_no_url":         "proxy.bypass is set without proxy.url: it only matters when the agent uses a proxy",
	"bypass_no_url_fix":     "set agent_config.proxy.url too, or remove the bypass list",
	"bypass_gateway":        "proxy.bypass is not supported with an Arc gateway (traffic cannot bypass the proxy)",
	"bypass_gateway_fix":    "remove agent_config.proxy.bypass, or gateway_id",
	"gateway_pls":           "gateway_id and private_link_scope both set: an Arc gateway serves public endpoints, a private link scope private ones",
	"choose_one":            "choose one of the two",
	"gateway_cloud":         "Arc gateway is available only in the Azure public cloud, not {0}",
	"gateway_cloud_fix":     "remove gateway_id for this host",
	"autoupgrade_cloud":     "automatic agent upgrade (--enable-automatic-upgrade, preview) is available only in the Azure public cloud, not {0}",
	"autoupgrade_cloud_fix": "remove automatic_upgrade for this host",
	"monitor_lists":         "monitor_mode: true and an extension allowlist or blocklist: in monitor mode the agent refuses changes to either list",
	"monitor_lists_fix":     "remove the lists (monitor mode brings Microsoft's own allowlist), or set monitor_mode: false",
	"allow_none":            "extensions.allowlist holds Allow/None (allow no extension) next to other extensions",
	"allow_none_fix":        "keep Allow/None alone, or list the extensions to allow",
	"needs_agent":           "{0} needs agent {1} or later, but agent.min_version is {2}: an older agent fails the step",
	"raise_min":             "raise agent.min_version to {0} (install/upgrade bring it)",
	"gateway_old":           "gateway_id with agent.min_version {0}: agents up to 1.50 also need `azcmagent config set connection.type gateway`, which arcfleet does not run",
	"gateway_old_fix":       "raise agent.min_version to {0}, or run that command on older agents",

	// SSH.
	"no_ssh_user":          "no ssh.user",
	"set_ssh_user":         "set ssh.user in defaults, a group or the host",
	"no_ssh_login":         "no SSH login method",
	"ssh_login_fix":        "set ssh.identity_file, ssh.use_agent: true or ssh.password: {env: NAME}",
	"passphrase_no_key":    "ssh.passphrase is set but there is no ssh.identity_file it would unlock",
	"passphrase_fix":       "set identity_file or remove passphrase",
	"fp_missing":           "host_key_policy is fingerprint but no ssh.fingerprint is given",
	"fp_add":               "add fingerprint: SHA256:... (ssh-keygen -lf the host's public key)",
	"fp_bad":               "ssh.fingerprint is not a SHA256 fingerprint",
	"fp_write":             "write it as ssh-keygen -l prints it: SHA256: followed by 43 base64 characters",
	"fp_ignored":           "ssh.fingerprint is set but host_key_policy is {0}, which ignores it",
	"fp_ignored_fix":       "set host_key_policy: fingerprint next to it, or remove the fingerprint",
	"insecure_hostkey":     "host_key_policy insecure-ignore accepts any host key: a machine in the middle gets the login and the service principal secret",
	"insecure_hostkey_fix": "use strict with a maintained known_hosts file, accept-new, or fingerprint",

	// WinRM.
	"cert_files":         "auth cert needs winrm.cert_file and winrm.key_file",
	"cert_files_fix":     "set both, or use auth: ntlm with user and password",
	"cert_https":         "certificate authentication needs HTTPS",
	"cert_https_fix":     "remove https: false",
	"no_winrm_user":      "no winrm.user",
	"set_winrm_user":     "set winrm.user in defaults, a group or the host",
	"no_winrm_password":  "no winrm.password",
	"set_winrm_password": "set winrm.password: {env: NAME} or {file: PATH}",
	"basic_http":         "basic authentication over plain HTTP sends the password readable on the wire",
	"basic_http_fix":     "use HTTPS, or auth: ntlm",
	"insecure_tls":       "winrm.insecure skips TLS certificate verification: a machine in the middle gets the login and the service principal secret",
	"insecure_tls_fix":   "give the issuing CA in winrm.ca_file instead",
	"plain_http":         "WinRM over plain HTTP: commands and output cross the network unencrypted",
	"plain_http_fix":     "use HTTPS on 5986 (winrm quickconfig -transport:https)",
}

// FindingText is the English of finding sentence key with args in place (""
// for a key this package does not know).
func FindingText(key string, args ...string) string {
	t, ok := findingTexts[key]
	if !ok {
		return ""
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(t, '{')
		if i < 0 {
			b.WriteString(t)
			return b.String()
		}
		j := strings.IndexByte(t[i:], '}')
		if j < 0 {
			b.WriteString(t)
			return b.String()
		}
		ref := t[i+1 : i+j]
		if n, err := strconv.Atoi(ref); err == nil && n >= 0 && ref == strconv.Itoa(n) {
			b.WriteString(t[:i])
			if n < len(args) {
				b.WriteString(args[n])
			}
		} else { // not a placeholder: "{env: NAME}"
			b.WriteString(t[:i+j+1])
		}
		t = t[i+j+1:]
	}
}

// FindingKeys are every finding sentence key.
func FindingKeys() []string {
	out := make([]string, 0, len(findingTexts))
	for k := range findingTexts {
		out = append(out, k)
	}
	return out
}
