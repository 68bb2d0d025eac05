package transport

import "strings"

// Hint keys: what an Error's Hint says, as a key and arguments, so that a
// caller can say it in another language (Error.HintKey, Error.HintArgs). The
// English is hintTexts' template with the arguments in place ({0}, {1}, ...);
// the arguments are run data (addresses, paths, user names, durations, what a
// host or a library said) and are never translated.
const (
	// SSH host keys.
	HintPinnedChanged   = "pinned_changed"   // the pinned fingerprint no longer matches
	HintKeyRevoked      = "key_revoked"      // the host presents a revoked key
	HintKeyUnknown      = "key_unknown"      // {0} key type, {1} port, {2} address, {3} known_hosts file
	HintKeyChanged      = "key_changed"      // {0} line, {1} known_hosts file, {2} host pattern, {3} file again
	HintKnownHostsCheck = "known_hosts_file" // {0} known_hosts file

	// SSH dial, handshake and login.
	HintJumpForward      = "jump_forward"       // {0} jump host, {1} host:port
	HintDNS              = "dns"                // {0} the address, quoted
	HintRefused          = "refused"            // {0} host:port
	HintNoRoute          = "no_route"           // {0} host:port
	HintDialTimeout      = "dial_timeout"       // {0} host:port, {1} the timeout
	HintSSHUser          = "ssh_user"           // {0} the user, quoted
	HintSSHHandshakeWait = "ssh_handshake_wait" // {0} the port
	HintSSHClosed        = "ssh_closed"
	HintSSHProtocol      = "ssh_protocol"
	HintIdentityRead     = "identity_read"
	HintAgentSocket      = "agent_socket"
	HintAgentRunning     = "agent_running"
	HintNoAuthMethod     = "no_auth_method"
	HintPassphraseUnset  = "passphrase_unset"
	HintPassphraseWrong  = "passphrase_wrong"
	HintKeyFormat        = "key_format"

	// SSH commands.
	HintNoSession      = "no_session"
	HintOutcomeUnknown = "outcome_unknown"
	HintReconnect      = "reconnect"
	HintStopExited     = "stop_exited"    // {0} exit status
	HintStopSignaled   = "stop_signaled"  // {0} exit status, {1} signal
	HintStopNoStatus   = "stop_no_status" //
	HintStopGone       = "stop_gone"      //
	HintStopRefused    = "stop_refused"   //
	HintStopNoEnd      = "stop_no_end"    // {0} the wait
	HintStopNoAnswer   = "stop_no_answer" // {0} the wait

	// WinRM.
	HintWinRMAuthBasic  = "winrm_auth_basic"
	HintWinRMAuthCert   = "winrm_auth_cert"
	HintWinRMAuthNTLM   = "winrm_auth_ntlm"
	HintCertChanged     = "cert_changed"
	HintCAUnknown       = "ca_unknown"
	HintCertName        = "cert_name"
	HintCertInvalid     = "cert_invalid"
	HintCertVerify      = "cert_verify"
	HintNotTLS          = "not_tls" // {0} host:port
	HintTLSRefused      = "tls_refused"
	HintWinRMStopped    = "winrm_stopped"
	HintWinRMDNS        = "winrm_dns"
	HintWinRMListener   = "winrm_listener" // {0} host:port
	HintWinRMShellGone  = "winrm_shell_gone"
	HintWinRMMaybeHTTPS = "winrm_maybe_https" // {0} host:port
	HintWinRMPath       = "winrm_path"
	HintWinRMNoAnswer   = "winrm_no_answer"
	HintWinRMDropped    = "winrm_dropped"
	HintWinRMClosed     = "winrm_closed" // {0} host:port
	HintWinRMService    = "winrm_service"
	HintKillUnconfirmed = "kill_unconfirmed" // {0} why
	HintWinRMLostKilled = "winrm_lost_killed"
	HintCAFileCheck     = "ca_file_check"
	HintCAFilePEM       = "ca_file_pem"
	HintClientCertFiles = "client_cert_files"
	HintAddress         = "address"
	HintBasicHTTP       = "basic_http"
	HintSetHTTPS        = "set_https"
	HintSetCertFiles    = "set_cert_files"
	HintAuthChoice      = "auth_choice"

	// Errors in this package's words (Phrase).
	ErrPinnedMismatch  = "err_pinned_mismatch" // {0} key type, {1} fingerprint, {2} pinned
	ErrKeyRevoked      = "err_key_revoked"     // {0} key type, {1} fingerprint, {2} file, {3} line
	ErrKeyNotKnown     = "err_key_not_known"   // {0} host, {1} file, {2} key type, {3} fingerprint
	ErrKeyMismatch     = "err_key_mismatch"    // {0} key type, {1} fingerprint, {2} file, {3} line, {4} its type, {5} its fingerprint, {6} host
	ErrNoHandshake     = "err_no_handshake"    // {0} the timeout
	ErrNoExitStatus    = "err_no_exit_status"
	ErrConnLost        = "err_conn_lost"      // {0} why (a library's words)
	ErrClosedByHost    = "err_closed_by_host" //
	ErrKeepalives      = "err_keepalives"     // {0} count, {1} interval
	ErrClosedByClose   = "err_closed_by_close"
	ErrClosed          = "err_closed"
	ErrClosedWhileRan  = "err_closed_while_ran"
	ErrAlreadyClosed   = "err_already_closed"
	ErrNoWinRMAnswer   = "err_no_winrm_answer" // {0} the timeout, {1} why (a library's words)
	ErrAgentNoSocket   = "err_agent_no_socket"
	ErrAgentDial       = "err_agent_dial" // {0} socket, {1} why
	ErrNoAuthMethod    = "err_no_auth_method"
	ErrKeyEncrypted    = "err_key_encrypted"    // {0} file
	ErrWrongPassphrase = "err_wrong_passphrase" // {0} file
	ErrKeyParse        = "err_key_parse"        // {0} file, {1} why
	ErrKeyRead         = "err_key_read"         // {0} why
	ErrNoAddress       = "err_no_address"
	ErrNoSSHUser       = "err_no_ssh_user"
	ErrPortRange       = "err_port_range" // {0} port
	ErrJumpChain       = "err_jump_chain" // {0} the most
	ErrBasicHTTP       = "err_basic_http"
	ErrCertNeedsHTTPS  = "err_cert_https"
	ErrCertNoFiles     = "err_cert_no_files"
	ErrUnknownAuth     = "err_unknown_auth" // {0} the auth, quoted
	ErrNoPEM           = "err_no_pem"       // {0} file
	ErrClientCert      = "err_client_cert"  // {0} cert file, {1} key file, {2} why
	ErrHTTP401         = "err_http_401"
	ErrHTTP401Offers   = "err_http_401_offers" // {0} the schemes the host offers
	ErrHTTPStatus      = "err_http_status"     // {0} status, {1} content type, quoted
	ErrCertChanged     = "err_cert_changed"    // {0} the first certificate's fingerprint, {1} the new one
)

// mayRun ends the hint of a canceled command that was not seen to end.
const mayRun = "the command may still be running on the host; the caller must stop it"

// hintTexts is every hint's English: the words the Hint field holds.
var hintTexts = map[string]string{
	HintPinnedChanged:   "if the host's key was legitimately replaced, update its pinned fingerprint in the inventory",
	HintKeyRevoked:      "the host presents a revoked key: do not connect until the host is re-keyed",
	HintKeyUnknown:      "verify the fingerprint out of band, then add it: `ssh-keyscan -t {0} -p {1} {2} >> {3}`, or set host_key_policy: accept-new",
	HintKeyChanged:      "possible man-in-the-middle; if the host was legitimately re-keyed, remove line {0} of {1} (`ssh-keygen -R {2} -f {3}`) and connect again",
	HintKnownHostsCheck: "check the known_hosts file {0}",

	HintJumpForward:      "jump host {0} could not open a connection to {1}: check the address and that the jump host allows TCP forwarding",
	HintDNS:              "cannot resolve {0}: check the host's address in the inventory and DNS",
	HintRefused:          "nothing listens on {0}: is sshd running there, and is the port right?",
	HintNoRoute:          "no route to {0}: check the address and the network",
	HintDialTimeout:      "no answer from {0} within {1}: host down, a firewall dropping packets, or a wrong address",
	HintSSHUser:          "the host refused user {0}: check the user name, that the key's public half is in that user's authorized_keys (or the agent holds it), or the password",
	HintSSHHandshakeWait: "the host accepts TCP on port {0} but did not complete an SSH handshake: is sshd (not another service) listening there, and is it overloaded?",
	HintSSHClosed:        "the host closed the connection during the SSH handshake: sshd refusing new connections (MaxStartups), a TCP wrapper, or not an SSH server; try again",
	HintSSHProtocol:      "the peer does not speak SSH as expected (no common algorithms, or not an SSH server)",
	HintIdentityRead:     "check ssh.identity_file and that arcfleet's user can read it",
	HintAgentSocket:      "start ssh-agent and ssh-add the key, or set ssh.identity_file",
	HintAgentRunning:     "is ssh-agent running? check SSH_AUTH_SOCK",
	HintNoAuthMethod:     "set ssh.identity_file, use_agent or ssh.password for the host",
	HintPassphraseUnset:  "set ssh.passphrase (env: or file: reference) or use ssh-agent (use_agent: true)",
	HintPassphraseWrong:  "check the secret that ssh.passphrase refers to",
	HintKeyFormat:        "it must be an OpenSSH or PEM private key",

	HintNoSession:      "the host refused a new session (sshd MaxSessions?)",
	HintOutcomeUnknown: "the command's outcome is unknown: check the host before retrying",
	HintReconnect:      "reconnect to run more commands",
	HintStopExited:     "SIGTERM was sent to the command's process group; the session then ended with exit status {0}",
	HintStopSignaled:   "SIGTERM was sent to the command's process group; the session then ended with exit status {0}, signal {1}",
	HintStopNoStatus:   "the session ended without an exit status after SIGTERM was sent: " + mayRun,
	HintStopGone:       "the connection ended while the command was being stopped (SIGTERM sent): the command may still be running on the host; check it for leftover processes",
	HintStopRefused:    "sshd refused to signal the command (it does for root logins, and before OpenSSH 7.9): " + mayRun,
	HintStopNoEnd:      "SIGTERM was delivered to the command's process group, but the session did not end within {0} (a process that ignores SIGTERM, runs as another user under sudo, or left the process group): " + mayRun,
	HintStopNoAnswer:   "the host did not answer the SIGTERM request within {0}: " + mayRun,

	HintWinRMAuthBasic:  "check winrm.user and the password; Basic must be enabled on the host (winrm set winrm/config/service/auth @{Basic=\"true\"}) and works for local accounts only",
	HintWinRMAuthCert:   "the host did not map the client certificate to a user; check winrm/config/service/certmapping and winrm.cert_file",
	HintWinRMAuthNTLM:   `check winrm.user (user, DOMAIN\user or user@domain) and the password; the host must allow Negotiate (winrm get winrm/config/service/auth)`,
	HintCertChanged:     "another certificate answered on reconnect; check for an interception proxy or a host that changed",
	HintCAUnknown:       "set winrm.ca_file to the PEM of the CA that signed the host's WinRM certificate",
	HintCertName:        "set winrm.tls_server_name to a name in the host's certificate, or reissue the certificate for this address",
	HintCertInvalid:     "the host's certificate is expired or not valid for server use; renew the WinRM listener certificate",
	HintCertVerify:      "check winrm.ca_file and the host's WinRM certificate",
	HintNotTLS:          "{0} does not speak TLS: is it the HTTP listener? use port 5986 for HTTPS",
	HintTLSRefused:      "the host refused the TLS handshake; with auth: cert, check winrm.cert_file was issued by a CA the host trusts",
	HintWinRMStopped:    "the host stopped accepting connections while the command ran; its outcome is unknown",
	HintWinRMDNS:        "check the host's address: the name does not resolve",
	HintWinRMListener:   "check that {0} is the host's WinRM listener (winrm enumerate winrm/config/listener) and that the firewall allows it",
	HintWinRMShellGone:  "the host dropped the shell while the command ran; its outcome is unknown",
	HintWinRMMaybeHTTPS: "{0} may be an HTTPS listener: set winrm.https: true",
	HintWinRMPath:       "is this port a WinRM listener (path /wsman)?",
	HintWinRMNoAnswer:   "the host stopped answering while the command ran; its outcome is unknown",
	HintWinRMDropped:    "the connection dropped while the command ran; its outcome is unknown",
	HintWinRMClosed:     "the host closed the connection without a WinRM answer; check that {0} is its WinRM listener",
	HintWinRMService:    "the host accepted the TCP connection but its WinRM service did not answer; check the service (Get-Service WinRM) and that the port is the WinRM listener",
	HintKillUnconfirmed: "could not confirm that the remote command was killed: {0}",
	HintWinRMLostKilled: "the connection dropped while the command ran; its outcome is unknown (the command was killed on reconnect)",
	HintCAFileCheck:     "check winrm.ca_file",
	HintCAFilePEM:       "point winrm.ca_file at the PEM of the CA that signed the host's WinRM certificate",
	HintClientCertFiles: "check winrm.cert_file and winrm.key_file (PEM)",
	HintAddress:         "set the host's address in the inventory",
	HintBasicHTTP:       "use winrm.https: true, or auth: ntlm",
	HintSetHTTPS:        "set winrm.https: true",
	HintSetCertFiles:    "set winrm.cert_file and winrm.key_file",
	HintAuthChoice:      "use basic, ntlm or cert",

	ErrPinnedMismatch:  "host presented {0} {1}, pinned fingerprint is {2}",
	ErrKeyRevoked:      "host key {0} {1} is marked @revoked at {2}:{3}",
	ErrKeyNotKnown:     "{0} is not in {1} (it presented {2} {3})",
	ErrKeyMismatch:     "host presented {0} {1}, but {2}:{3} holds {4} {5} for {6}",
	ErrNoHandshake:     "no SSH handshake within {0}",
	ErrNoExitStatus:    "the session ended without an exit status",
	ErrConnLost:        "connection lost: {0}",
	ErrClosedByHost:    "connection lost: connection closed by the host",
	ErrKeepalives:      "connection lost: no reply to {0} keepalives sent {1} apart",
	ErrClosedByClose:   "connection closed by Close",
	ErrClosed:          "connection closed",
	ErrClosedWhileRan:  "connection closed while the command ran",
	ErrAlreadyClosed:   "connection already closed",
	ErrNoWinRMAnswer:   "no WinRM answer within {0}: {1}",
	ErrAgentNoSocket:   "use_agent is set but SSH_AUTH_SOCK is empty",
	ErrAgentDial:       "ssh-agent at {0}: {1}",
	ErrNoAuthMethod:    "no authentication method",
	ErrKeyEncrypted:    "identity file {0} is encrypted and no passphrase is set",
	ErrWrongPassphrase: "wrong passphrase for identity file {0}",
	ErrKeyParse:        "identity file {0}: {1}",
	ErrKeyRead:         "read identity file: {0}",
	ErrNoAddress:       "no address",
	ErrNoSSHUser:       "no ssh user; set ssh.user for the host",
	ErrPortRange:       "port {0} out of range",
	ErrJumpChain:       "more than {0} jump hosts in a chain (a via: cycle?)",
	ErrBasicHTTP:       "Basic authentication over plain HTTP would send the password in clear",
	ErrCertNeedsHTTPS:  "certificate authentication needs HTTPS",
	ErrCertNoFiles:     "auth: cert without cert_file and key_file",
	ErrUnknownAuth:     "unknown WinRM auth {0}",
	ErrNoPEM:           "{0} holds no PEM certificate",
	ErrClientCert:      "client certificate {0} / key {1}: {2}",
	ErrHTTP401:         "HTTP 401: credentials refused",
	ErrHTTP401Offers:   "HTTP 401: credentials refused (host offers {0})",
	ErrHTTPStatus:      "HTTP {0} with content type {1}, not a WS-Management reply",
	ErrCertChanged:     "server certificate changed within the connection: was {0}, now {1}",
}

// HintText is the English of hint key with args in place ("" for a key this
// package does not know).
func HintText(key string, args ...string) string {
	t, ok := hintTexts[key]
	if !ok {
		return ""
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(t, '{')
		j := strings.IndexByte(t[max(i, 0):], '}')
		if i < 0 || j < 0 {
			b.WriteString(t)
			return b.String()
		}
		ref := t[i+1 : i+j]
		n := -1
		if len(ref) == 1 && ref[0] >= '0' && ref[0] <= '9' {
			n = int(ref[0] - '0')
		}
		if n < 0 { // not a placeholder: "@{Basic=...}"
			b.WriteString(t[:i+j+1])
		} else {
			b.WriteString(t[:i])
			if n < len(args) {
				b.WriteString(args[n])
			}
		}
		t = t[i+j+1:]
	}
}

// HintKeys are every hint key, for callers that must say each one.
func HintKeys() []string {
	out := make([]string, 0, len(hintTexts))
	for k := range hintTexts {
		out = append(out, k)
	}
	return out
}

// WithHint sets e's hint to key's English with args in place, and its key and
// arguments; it returns e.
func (e *Error) WithHint(key string, args ...string) *Error {
	e.Hint, e.HintKey, e.HintArgs = HintText(key, args...), key, args
	return e
}

// Phrase is an error in this package's own words (a key of hints.go and its
// arguments), so that a caller can say it in another language; Wrapped is the
// error it is about (nil for none), whose text is an argument when shown.
type Phrase struct {
	Key     string
	Args    []string
	Wrapped error
}

// NewPhrase is the error key says with args, wrapping wrapped (nil for none).
func NewPhrase(key string, wrapped error, args ...string) error {
	return &Phrase{Key: key, Args: args, Wrapped: wrapped}
}

func (p *Phrase) Error() string { return HintText(p.Key, p.Args...) }

func (p *Phrase) Unwrap() error { return p.Wrapped }
