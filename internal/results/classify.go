package results

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits on what Classify keeps.
const (
	MaxEvidenceLines = 20
	maxLineBytes     = 300
	maxSourceBytes   = 256 << 10 // per source; the end is kept, where agents print the final error
	maxRelated       = 6
	// MaxRetryAfter caps Diagnosis.RetryAfter: a longer wait asked for by a
	// service is more likely a misparse than advice worth idling a host for.
	MaxRetryAfter = 10 * time.Minute
)

// AgentLogMarker separates the agent's stderr from the azcmagent.log lines the
// remote script appends to stderr (see planner.SplitOutput). Classify splits on it
// too, in case a caller passes stderr unsplit.
const AgentLogMarker = "#arcfleet:agent-log#"

// ScriptErrorPrefix starts the line arcfleet's remote scripts print on stderr
// when they fail before or around the agent: "#arcfleet:error: NAME".
const ScriptErrorPrefix = "#arcfleet:error:"

// scriptErrors maps the script's error names to knowledge-base keys.
var scriptErrors = map[string]string{
	"agent-not-found":        "HOST-AGENT-MISSING",
	"sudo-password-required": "HOST-SUDO-PASSWORD",
	"mktemp-failed":          "HOST-MKTEMP-FAILED",
	"config-write-failed":    "HOST-CONFIG-WRITE-FAILED",
	"setup-failed":           "HOST-SETUP-FAILED",
	"restart-failed":         "HOST-RESTART-FAILED",
	"no-input":               "HOST-SETUP-FAILED",
	"state-dir-failed":       "HOST-STATE-DIR-FAILED",
	"util-linux-missing":     "HOST-UTIL-LINUX-MISSING",
	"bad-stop-input":         "HOST-SETUP-FAILED",
	"watchdog-failed":        "HOST-WATCHDOG-FAILED",
	"script-digest":          "HOST-SCRIPT-DIGEST",
	"config-unsupported":     "HOST-CONFIG-UNSUPPORTED", // the configure step (agent_config)
	// install and upgrade (internal/agent/install.go)
	"package-digest":                "HOST-PACKAGE-DIGEST",
	"package-unreadable":            "HOST-PACKAGE-UNREADABLE",
	"package-write-failed":          "HOST-INSTALL-NO-SPACE",
	"no-space":                      "HOST-INSTALL-NO-SPACE",
	"package-lock":                  "HOST-PACKAGE-LOCK",
	"package-failed":                "AZCM0143",
	"no-package-manager":            "HOST-NO-PACKAGE-MANAGER",
	"package-too-old":               "HOST-AGENT-TOO-OLD",
	"installed-version-low":         "HOST-AGENT-TOO-OLD",
	"agent-not-found-after-install": "AZCM0150",
	"no-downloader":                 "HOST-INSTALLER-DOWNLOAD",
	"installer-download-failed":     "HOST-INSTALLER-DOWNLOAD",
	"package-upload-unsupported":    "HOST-INSTALL-UNSUPPORTED",
	"msiexec-1603":                  "AZCM0156",
	"msiexec-1618":                  "AZCM0159",
	"msiexec-112":                   "AZCM0158",
	"msiexec-1622":                  "AZCM0160",
	"msiexec-1619":                  "MSI-1619",
	"msiexec-1633":                  "MSI-1633",
	"msiexec-1638":                  "MSI-1638",
	"msiexec-1620":                  "MSI-1620",
	"msiexec-1625":                  "MSI-1625",
	// Any other msiexec-N: AZCM0149 (scriptMarker). 0, 1641 and 3010 are
	// success and never reported (catalog_data.go, MSI-1619).
}

// genericCodes only say "something failed"; the seed tells the reader to look at
// the other codes in the output, so a more specific finding replaces them.
var genericCodes = map[string]bool{"AZCM0001": true, "AZCM0062": true, "AZCM0063": true}

// msgPattern recognises an agent, ARM or Entra ID message. Earlier patterns are
// more specific and win over later ones.
type msgPattern struct {
	key    string
	needle string // lower-case text every match contains: a cheap test before the regexp
	re     *regexp.Regexp
	// network: the host's own network, TLS, proxy or DNS failed. Such a cause
	// is never the shared credential's: it replaces a credential-class code
	// unless the output also holds a sure sign against the credential (below).
	network bool
	// weak: a credential-class match that does not prove the credential at
	// fault (an HTTP 403 without Azure's error code may come from a proxy).
	// Every other credential-class match is a sure sign: Entra ID or Azure
	// Resource Manager said in its own words what is wrong with it.
	weak bool
	// refines are the codes this message replaces as the diagnosis even when
	// the exit status or an "Exit Code:" line names them: it says why they happened.
	refines []string
}

// msgPatterns, most specific first.
var msgPatterns = []msgPattern{
	// Entra ID's and Azure Resource Manager's own words about the credential.
	{key: "AADSTS7000222", needle: "aadsts7000222", re: regexp.MustCompile(`\bAADSTS7000222\b`)},
	{key: "AADSTS7000215", needle: "aadsts7000215", re: regexp.MustCompile(`\bAADSTS7000215\b`)},
	{key: "AADSTS700016", needle: "aadsts700016", re: regexp.MustCompile(`\bAADSTS700016\b`)},
	{key: "AADSTS90002", needle: "aadsts90002", re: regexp.MustCompile(`\bAADSTS90002\b`)},
	{key: "MSG-INVALID-CLIENT-SECRET", needle: "invalid client secret", re: regexp.MustCompile(`(?i)invalid client secret`)},
	{key: "MSG-APP-NOT-FOUND", needle: "application with identifier", re: regexp.MustCompile(`(?i)application with identifier .{0,80}(was not|wasn't|not) found in the directory`)},
	{key: "MSG-MISSING-ROLE", needle: "microsoft.hybridcompute/machines/read", re: regexp.MustCompile(`(?i)does not have authorization to perform action '?Microsoft\.HybridCompute/machines/read`)},
	{key: "MSG-PROVIDER-NOT-REGISTERED", needle: "registered to use namespace", re: regexp.MustCompile(`(?i)(is not|isn't) registered to use namespace '?Microsoft\.HybridCompute`)},
	{key: "ARM-MISSING-SUBSCRIPTION-REGISTRATION", needle: "missingsubscriptionregistration", re: regexp.MustCompile(`\bMissingSubscriptionRegistration\b`)},
	// Azure Resource Manager about this host's resource (a lock, its name).
	{key: "ARM-SCOPE-LOCKED", needle: "lock", re: regexp.MustCompile(`\bScopeLocked\b|(?i)following scope\(s\) are locked`),
		refines: []string{"AZCM0042", "AZCM0043", "AZCM0062", "AZCM0063"}},
	{key: "ARM-RESERVED-RESOURCE-NAME", needle: "reserved", re: regexp.MustCompile(`\bReservedResourceName\b|(?i)is a trademarked or reserved word`),
		refines: []string{"AZCM0042", "AZCM0062"}},
	{key: "ARM-AUTHORIZATION-FAILED", needle: "authorization", re: regexp.MustCompile(`\bAuthorizationFailed\b|(?i)does not have authorization to perform action`),
		refines: []string{"AZCM0043", "AZCM0063"}}, // a disconnect's DELETE refused: the role, shared by the credential
	// The agent about this host's own network, TLS, proxy and DNS.
	{key: "MSG-PRIVATE-LINK-SCOPE-REQUIRED", needle: "private", re: regexp.MustCompile(`(?i)private link scope resource id must be provided|no indication of private link scope but found private endpoint`),
		refines: []string{"AZCM0026"}},
	{key: "MSG-TLS-INSPECTION", needle: "x509", re: regexp.MustCompile(`(?i)x509: certificate signed by unknown authority|x509: certificate is not trusted`), network: true},
	{key: "ARM-THROTTLED", re: regexp.MustCompile(`(?i)too ?many ?requests|status ?code\s*[=:]\s*429\b|httpStatusCode:\s*429\b|\bthrottl`)},
	{key: "MSG-PROXY-UNREACHABLE", needle: "proxyconnect", re: regexp.MustCompile(`(?i)proxyconnect tcp:.{0,300}(refused|no connection could be made|no such host|timeout|timed out|unreachable|no route to host)`), network: true},
	{key: "MSG-DEVICE-CODE-FORBIDDEN", needle: "network is forbidden", re: regexp.MustCompile(`(?i)network is forbidden`), network: true},
	{key: "MSG-DEVICE-CODE-UNREACHABLE", needle: "network is unreachable", re: regexp.MustCompile(`(?i)(devicecode|device authorization code).{0,300}network is unreachable`), network: true},
	{key: "MSG-DNS-LOOKUP-FAILED", needle: "no such host", re: regexp.MustCompile(`(?i)lookup \S+.{0,80}no such host`), network: true},
	{key: "MSG-SPN-TOKEN-FORBIDDEN", needle: "forbidden", re: regexp.MustCompile(`(?i)(refresh request|oauth2/(v2\.0/)?token)\S*.{0,200}\bforbidden\b`), network: true},
	{key: "MSG-ARM-FORBIDDEN", needle: "management.azure.com", re: regexp.MustCompile(`(?i)management\.azure\.com/\S*:?\s+forbidden\b`), network: true},
	// azcmagent check's table: "https://ENDPOINT  |false  |...".
	{key: "MSG-ENDPOINTS-UNREACHABLE", needle: "false", re: regexp.MustCompile(`(?i)^\s*https://\S+\s*\|\s*false\s*\|`), network: true},
	{key: "ARM-AUTHORIZATION-FAILED", needle: "403", re: regexp.MustCompile(`(?i)status ?code\s*[=:]\s*403\b|httpStatusCode:\s*403\b`), weak: true},
	{key: "HOST-SUDO-PASSWORD", needle: "sudo:", re: regexp.MustCompile(`(?i)sudo: (a password is required|a terminal is required|no tty present)`)},
	{key: "HOST-SUDO-DENIED", needle: "is not", re: regexp.MustCompile(`(?i)is not in the sudoers file|is not allowed to (run sudo|execute)`)},
	// Installers and wrappers: the first failure before "azcmagent not found".
	{key: "MSG-AZURE-VM", needle: "azure virtual machine", re: regexp.MustCompile(`(?i)(cannot|can't|can not) install .{0,80}on an azure virtual machine`)},
	{key: "AZCM0148", needle: "download", re: regexp.MustCompile(`(?i)installation failed: download failed|failed to download .{0,120}AzureConnectedMachineAgent\.msi`)},
	{key: "HOST-AGENT-MISSING", needle: "azcmagent", re: regexp.MustCompile(`(?i)azcmagent(\.exe)?'?:? (command )?not found|azcmagent\S*: no such file or directory|'?azcmagent(\.exe)?'? is not recognized as`)},
	// Old agents' wording for conditions newer agents give a code.
	{key: "AZCM0018", needle: "run as", re: regexp.MustCompile(`(?i)permission denied: run as root|must be run as (root|administrator)`)},
	{key: "AZCM0018", needle: "must be root", re: regexp.MustCompile(`(?i)you must be root to execute`)}, // 2021 agents' Linux wrapper
	{key: "AZCM0061", needle: "40342", re: regexp.MustCompile(`(?i)(127\.0\.0\.1|localhost):40342\S*:? connect: connection refused`)},
	{key: "AZCM0064", needle: "40342", re: regexp.MustCompile(`(?i)(127\.0\.0\.1|localhost):40342.{0,200}(deadline exceeded|timeout)`)},
	{key: "AZCM0012", needle: "invalid access token", re: regexp.MustCompile(`(?i)invalid access token`)},
	{key: "AZCM0067", needle: "already connected", re: regexp.MustCompile(`(?i)machine is already connected`)},
	{key: "AZCM0044", needle: "already exists", re: regexp.MustCompile(`(?i)resource (with the same name )?already exists`)},
	{key: "AZCM0026", re: regexp.MustCompile(`(?i)network is unreachable|no route to host`), network: true},
}

var (
	reExitCodeLine = regexp.MustCompile(`(?i)exit code:\s*(AZCM\d{4})\b`)
	reAZCM         = regexp.MustCompile(`\bAZCM\d{4}\b`)
	// ANSI CSI and OSC sequences and two-byte escapes.
	reANSI = regexp.MustCompile("\x1b\\[[0-?]*[ -/]*[@-~]|\x1b\\][^\x07\x1b]*(?:\x07|\x1b\\\\)|\x1b[@-Z\\\\-_]")
	// A progress-bar redraw: "  40% [=====>     ]", " 40% |████   | (4/10)", "[====>   ] 40%".
	reProgress = regexp.MustCompile(`^\s*(?:\d{1,3}(?:\.\d+)?\s?%\s*[\[|][^a-zA-Z\]|]*[\]|]?(?:\s*\(.*\))?|[\[|][=#>\-\s█▉▊▋▌▍▎▏░▒▓.]*[\]|]\s*(?:\d{1,3}(?:\.\d+)?\s?%)?)\s*$`)
	reNoisy    = regexp.MustCompile(`(?i)\b(panic|error|fatal|fail(ed|ure)?|denied|forbidden|refused|unable|cannot|invalid|timed? ?out|unreachable)\b|level=(error|fatal)|^(ERROR|FATAL)\[`)
	// A Retry-After value: the header as agents and SDKs print it ("Retry-After: 17",
	// "Retry-After:[17]", "retry-after=17"), in JSON ("Retry-After":"17",
	// "retryAfter": 17) or in words ("retry after 17 seconds"). Group 1 is the
	// separator, group 2 the number, group 3 an optional unit; an HTTP-date value
	// is not matched.
	reRetryAfter = regexp.MustCompile(`(?i)\bretry[-_ ]?after("?\s*[:=]?\s*\[?\s*"?\s*)(\d+(?:\.\d+)?)(?:\s*(milliseconds?|ms|seconds?|secs?|s|minutes?|mins?|m)\b)?`)
	// The machine resource exists in Azure: the agent says it created it. (The
	// "Creating resource ... Resource ID=" line comes before the request, so it proves nothing.)
	// Lines that look like a failure and are none: the agent's best-effort
	// registration of resource providers, which the onboarding role may not do
	// (a 403 AuthorizationFailed in a debug line before a successful connect).
	reBenign = regexp.MustCompile(`(?i)failed to register resource provider`)
	// "no such host" for a sign-in endpoint (the seed's footnote 1).
	reLoginDNS = regexp.MustCompile(`(?i)lookup (login\.windows\.net|login\.microsoftonline\.com)\S*:? no such host`)
	// The agent's identity is gone: its managed identity certificate cannot be
	// found or downloaded (with "no such host" for a sign-in endpoint: the
	// Group Policy that deletes old profiles removed the himds profile).
	reIdentityGone = regexp.MustCompile(`(?i)(managed identity|himds|identity) certificate.{0,120}(not found|cannot find|could not be found|missing|does not exist|no such file)|failed to (load|read|open|find|download) (the )?(managed identity|himds|identity) certificate|failed to download managed identity certificate|ServiceProfiles\\+himds.{0,160}(cannot find|not found|no such file)`)
	// Azure no longer has the resource the agent tried to delete.
	reResourceGone = regexp.MustCompile(`\bResourceNotFound\b|(?i)httpStatusCode:\s*404\b`)
	reCreated      = regexp.MustCompile(`(?i)\b(successfully created|created) (the )?(azure |arm |arc |hybridcompute )?(machine |server )?resource\b|resource\s+/subscriptions/\S+\s+(was|has been) created`)
)

// evLine is one cleaned line of evidence.
type evLine struct {
	src   string // "stdout", "stderr", "log", "transport"
	text  string
	score int // 3 decisive, 2 error-like, 1 other
}

// finding is a code or message key seen in the evidence; the zero finding is
// "none seen".
type finding struct {
	key  string
	rank int // message patterns: the pattern's index, lower is more specific
}

func (f finding) found() bool { return f.key != "" }

// decodedText is a string value decoded from JSON output, scanned after the lines.
type decodedText struct {
	text string
	line int // the line it came from, or -1 for stdout decoded as a whole
}

// scanner is one Classify call: the evidence's lines and what they showed. Each
// method reads one source or kind of line; diagnose decides.
type scanner struct {
	m     *Masker
	lines []evLine

	marker   string  // knowledge-base key of arcfleet's script error marker, if any
	exitLine finding // the last "Exit Code: AZCMnnnn" line
	jsonCode finding // the code of the --json output
	specific finding // the last specific AZCM code in the text
	generic  finding // the last generic AZCM code in the text (genericCodes)
	best     finding // the most specific message pattern matched
	seen     []string
	created  bool          // the output shows Azure created the machine resource
	retry    time.Duration // the last Retry-After value seen
	decoded  []decodedText // strings from JSON output, scanned after the lines

	hits     []int   // indexes into msgPatterns of every pattern matched, each once
	network  finding // the most specific message about the host's own network
	sure     bool    // Entra ID or ARM blamed the credential in its own words
	loginDNS bool    // "no such host" for a sign-in endpoint
	identity bool    // the agent's managed identity certificate is gone
	gone     bool    // Azure no longer has the resource (ResourceNotFound)
}

// Classify turns one attempt's evidence into a diagnosis: transport failures
// first, then arcfleet's script errors, then the agent's exit code (current agents
// exit with the AZCM number), refined or replaced by what the output says
// (`Exit Code: AZCMnnnn`, `--json` output, `AZCMnnnn:` lines, logrus lines, the
// seed's messages, ARM and AADSTS codes). Every Code it returns has a catalog
// entry, and the evidence lines have every secret in ev.Secrets masked.
func Classify(ev Evidence) Diagnosis {
	m := NewMasker(ev.Secrets) // the secrets' forms, computed once per attempt
	s := &scanner{m: m, lines: gatherLines(ev, m)}
	for i := range s.lines {
		if s.scriptMarker(i) {
			continue
		}
		s.jsonLine(i)
		s.text(s.lines[i].text, i)
	}
	s.jsonDocument(ev.Stdout)
	for _, d := range s.decoded {
		// JSON strings may hide escaped quotes from the raw-line patterns.
		s.text(d.text, d.line)
	}
	return s.diagnose(ev)
}

// decisive marks line i (if it is one: decoded JSON may have none) as deciding the diagnosis.
func (s *scanner) decisive(i int) {
	if i >= 0 {
		s.lines[i].score = 3
	}
}

// note records key as seen, once, in order of appearance.
func (s *scanner) note(key string) {
	if !slices.Contains(s.seen, key) {
		s.seen = append(s.seen, key)
	}
}

// scriptMarker reads line i as arcfleet's script error marker
// ("#arcfleet:error: NAME" on the script's output, never in a transport message).
func (s *scanner) scriptMarker(i int) bool {
	l := &s.lines[i]
	if l.src == "transport" {
		return false
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(l.text), ScriptErrorPrefix)
	if !ok {
		return false
	}
	s.marker = "HOST-SCRIPT-ERROR"
	name := strings.ToLower(strings.TrimSpace(rest))
	if k, ok := scriptErrors[name]; ok {
		s.marker = k
	} else if strings.HasPrefix(name, "msiexec-") {
		s.marker = "AZCM0149" // Windows Installer error, a code without an entry of its own
	}
	l.score = 3
	return true
}

// jsonLine reads stdout line i as a JSON document (`--json` output on one line).
func (s *scanner) jsonLine(i int) {
	l := &s.lines[i]
	if l.src != "stdout" || !strings.HasPrefix(strings.TrimSpace(l.text), "{") {
		return
	}
	code, strs, rid := scanJSON(l.text)
	if code != "" {
		s.jsonCode = finding{key: code}
		l.score = 3
	}
	s.created = s.created || rid
	for _, t := range strs {
		s.decoded = append(s.decoded, decodedText{t, i})
	}
}

// jsonDocument decodes stdout as a whole: a pretty-printed JSON document spans lines.
func (s *scanner) jsonDocument(stdout string) {
	code, strs, rid := scanJSON(strings.TrimSpace(stdout))
	if code != "" && !s.jsonCode.found() {
		s.jsonCode = finding{key: code}
	}
	s.created = s.created || rid
	for _, t := range strs {
		s.decoded = append(s.decoded, decodedText{s.m.Mask(t), -1})
	}
}

// text reads one line (or decoded JSON string) of what the agent, ARM or Entra
// ID said; i is its line, or -1.
func (s *scanner) text(text string, i int) {
	lower := strings.ToLower(text)
	s.exitCodeLine(text, lower, i)
	s.azcmCodes(text, i)
	s.messages(text, lower, i)
	if strings.Contains(lower, "retry") {
		if ra := parseRetryAfter(text); ra > 0 {
			s.retry = ra
		}
	}
	if strings.Contains(lower, "created") && reCreated.MatchString(text) {
		s.created = true
	}
	if strings.Contains(lower, "no such host") && reLoginDNS.MatchString(text) {
		s.loginDNS = true
	}
	if strings.Contains(lower, "certificate") && reIdentityGone.MatchString(text) {
		s.identity = true
	}
	if (strings.Contains(text, "ResourceNotFound") || strings.Contains(text, "404")) && reResourceGone.MatchString(text) {
		s.gone = true
	}
}

// exitCodeLine reads the agent's "Exit Code: AZCMnnnn" summary.
func (s *scanner) exitCodeLine(text, lower string, i int) {
	if !strings.Contains(lower, "exit code") {
		return
	}
	m := reExitCodeLine.FindAllStringSubmatch(text, -1)
	if m == nil {
		return
	}
	if c := strings.ToUpper(m[len(m)-1][1]); known(c) {
		s.exitLine = finding{key: c}
		s.decisive(i)
	}
}

// azcmCodes reads every AZCM code in the text.
func (s *scanner) azcmCodes(text string, i int) {
	if !strings.Contains(text, "AZCM") {
		return
	}
	for _, c := range reAZCM.FindAllString(text, -1) {
		if !known(c) {
			continue
		}
		s.decisive(i)
		s.note(c)
		switch {
		case c == "AZCM0000":
		case genericCodes[c]:
			s.generic = finding{key: c}
		default:
			s.specific = finding{key: c}
		}
	}
}

// messages matches the message patterns (msgPatterns), keeping the most
// specific, the most specific about the host's network, and whether any is a
// sure sign against the credential. A benign line (reBenign) matches none.
func (s *scanner) messages(text, lower string, i int) {
	if strings.Contains(lower, "register") && reBenign.MatchString(text) {
		return
	}
	for r, p := range msgPatterns {
		if p.needle != "" && !strings.Contains(lower, p.needle) {
			continue
		}
		if !p.re.MatchString(text) {
			continue
		}
		s.decisive(i)
		s.note(p.key)
		if !slices.Contains(s.hits, r) {
			s.hits = append(s.hits, r)
		}
		if !s.best.found() || r < s.best.rank {
			s.best = finding{key: p.key, rank: r}
		}
		if p.network && (!s.network.found() || r < s.network.rank) {
			s.network = finding{key: p.key, rank: r}
		}
		if !p.weak && ClassOf(p.key) == ClassCredential {
			s.sure = true
		}
	}
}

// textCode is what the output says, strongest first: the exit-code line, the
// JSON code, a specific AZCM code, the best message; a generic code only when
// nothing more specific was said.
func (s *scanner) textCode() string {
	var first string
	for _, f := range []finding{s.exitLine, s.jsonCode, s.specific, s.best, s.generic} {
		if !f.found() {
			continue
		}
		if !genericCodes[f.key] {
			return f.key
		}
		if first == "" {
			first = f.key
		}
	}
	return first
}

// diagnose decides the code and gathers the rest of the diagnosis.
func (s *scanner) diagnose(ev Evidence) Diagnosis {
	var d Diagnosis
	replaced := "" // the code a message refined away (the agent's own, kept in Related)
	switch {
	case ev.Transport != "":
		d.Code, _ = TransportCode(ev.Transport)
	case ev.ExitCode == 0:
		d.Code = "AZCM0000"
	case s.marker != "":
		d.Code = s.marker
	default:
		base := decideExit(ev.ExitCode, s.textCode(), s.seen)
		if d.Code = s.refine(base); d.Code != base {
			replaced = base
		}
		d.ResourceCreated = s.created
		disconnect := base == "AZCM0043" || base == "AZCM0063" || slices.Contains(s.seen, "AZCM0043") || slices.Contains(s.seen, "AZCM0063")
		d.DeleteRefused = disconnect && (s.hit("ARM-SCOPE-LOCKED") || s.hit("ARM-AUTHORIZATION-FAILED"))
		d.ResourceGone = disconnect && s.gone && !d.DeleteRefused
	}
	e, _ := Lookup(d.Code)
	d.Code, d.Class = e.Code, e.Class

	for _, k := range s.seen {
		if k != d.Code && len(d.Related) < maxRelated {
			d.Related = append(d.Related, k)
		}
	}
	if first := s.best.key; first != "" && first != d.Code {
		if s.gpo() && d.Code != gpoKey {
			first = gpoKey
		}
		// The most specific message first: it is what a reader acts on.
		d.Related = moveFirst(d.Related, first)
	}
	if replaced != "" && !slices.Contains(d.Related, replaced) {
		// Then the agent's own code the diagnosis refines.
		at := min(1, len(d.Related))
		d.Related = slices.Insert(d.Related, at, replaced)
		d.Related = d.Related[:min(len(d.Related), maxRelated)]
	}
	if d.Class != ClassSuccess {
		d.RetryAfter = s.retry
	}
	d.Evidence = pickEvidence(s.lines, s.m)
	return d
}

// gpoKey is the seed's footnote 1: the himds profile, and with it the agent's
// identity, deleted by a Group Policy. It shows as "no such host" for
// login.windows.net, which plain DNS failures print too.
const gpoKey = "MSG-GPO-PROFILE-DELETED"

// gpo: the output shows both halves of the footnote: "no such host" for a
// sign-in endpoint and the agent's identity gone (its certificate missing, or
// AZCM0081, the agent's code for it). "no such host" alone is DNS.
func (s *scanner) gpo() bool {
	return s.loginDNS && (s.identity || slices.Contains(s.seen, "AZCM0081"))
}

// hit reports whether a message pattern for key matched.
func (s *scanner) hit(key string) bool {
	return slices.ContainsFunc(s.hits, func(r int) bool { return msgPatterns[r].key == key })
}

// refine is code, or what the messages say more precisely, by three rules:
//   - a message that refines code replaces it (ScopeLocked behind AZCM0043, a
//     missing Private Link Scope behind AZCM0026, ...), the most specific first;
//   - a credential-class code stands only on a sure sign against the credential
//     (Entra ID's or ARM's own words) when the host's own network, TLS, proxy or
//     DNS failed: the circuit breaker must not stop a fleet for one host's proxy;
//   - "no such host" for a sign-in endpoint is the Group Policy's deleted
//     profile only with evidence that the agent's identity is gone.
//
// Throttling is left as decideExit found it.
func (s *scanner) refine(code string) string {
	if code == throttled {
		return code
	}
	ranks := slices.Sorted(slices.Values(s.hits))
	for _, r := range ranks {
		if slices.Contains(msgPatterns[r].refines, code) {
			code = msgPatterns[r].key
			break
		}
	}
	if ClassOf(code) == ClassCredential && !s.sure && s.network.found() {
		code = s.network.key
	}
	if s.gpo() {
		s.note(gpoKey)
		if code == "MSG-DNS-LOOKUP-FAILED" || genericCodes[code] {
			code = gpoKey
		}
	}
	return code
}

// known reports whether code has a catalog entry.
func known(code string) bool {
	_, ok := Lookup(code)
	return ok
}

// parseRetryAfter returns the last sensible Retry-After value in text, capped at
// MaxRetryAfter, or 0. A bare number is seconds (the header's unit); in prose, a
// number followed by a word that is not a unit ("retry after 3 attempts") is not a wait.
func parseRetryAfter(text string) time.Duration {
	var out time.Duration
	for _, m := range reRetryAfter.FindAllStringSubmatchIndex(text, -1) {
		header := strings.ContainsAny(text[m[2]:m[3]], `:="[`)
		num := text[m[4]:m[5]]
		unit := ""
		if m[6] >= 0 {
			unit = strings.ToLower(text[m[6]:m[7]])
		} else if rest := strings.TrimLeft(text[m[1]:], " \t"); rest != "" && !header {
			if c := rest[0]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
				continue
			}
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || v <= 0 {
			continue
		}
		scale := time.Second
		switch {
		case unit == "ms" || strings.HasPrefix(unit, "milli"):
			scale = time.Millisecond
		case unit == "m" || strings.HasPrefix(unit, "min"):
			scale = time.Minute
		}
		d := MaxRetryAfter
		if v < float64(MaxRetryAfter/scale) {
			d = time.Duration(v * float64(scale))
		}
		if d > 0 {
			out = d
		}
	}
	return out
}

// decideExit picks the code from a non-zero exit status and what the output said.
// throttled is the catalog key of Azure's HTTP 429 answer.
const throttled = "ARM-THROTTLED"

func decideExit(exit int, textCode string, seen []string) string {
	exitCode := ""
	switch {
	case exit > 0 && exit <= 125:
		// azcmagent's own codes are 0-125; 126 and up belong to the shell and installers.
		c := fmt.Sprintf("AZCM%04d", exit)
		if _, ok := Lookup(c); ok {
			exitCode = c
		}
	case exit >= 126 && exit <= 255:
		c := fmt.Sprintf("AZCM%04d", exit)
		if slices.Contains(seen, c) {
			return c // the output confirms an installer code
		}
		if textCode == "" {
			switch {
			case exit == 126 || exit == 127:
				return "HOST-AGENT-MISSING" // sh: found but not executable / not found
			case exit > 128:
				return "EXIT-KILLED"
			}
		}
	}
	// Throttling (HTTP 429) beats whatever the agent exited with: it often exits
	// with a resource-creation code (credential class) that would open the
	// circuit breaker for a fleet that only needs to slow down.
	if slices.Contains(seen, throttled) || textCode == throttled {
		return throttled
	}
	switch {
	case exitCode != "" && !genericCodes[exitCode]:
		return exitCode
	case textCode != "":
		return textCode
	case exitCode != "":
		return exitCode
	}
	return "EXIT-UNKNOWN"
}

// moveFirst puts key at the front of list (once), keeping at most maxRelated.
func moveFirst(list []string, key string) []string {
	out := slices.Insert(slices.DeleteFunc(slices.Clone(list), func(k string) bool { return k == key }), 0, key)
	return out[:min(len(out), maxRelated)]
}

// keySeparators are dropped from JSON keys before comparing them ("error_code" = "errorCode").
var keySeparators = strings.NewReplacer("_", "", "-", "")

// scanJSON decodes s when it is a JSON document and returns the AZCM code of its
// code-like fields, every string value (for the message patterns), and whether a
// resource id is set. It is lenient: any object shape, codes as "AZCM0041" or 41.
func scanJSON(s string) (code string, strs []string, resourceID bool) {
	if s == "" || (s[0] != '{' && s[0] != '[') {
		return "", nil, false
	}
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return "", nil, false
	}
	var walk func(key string, v any, depth int)
	walk = func(key string, v any, depth int) {
		if depth > 32 {
			return
		}
		k := strings.ToLower(keySeparators.Replace(key))
		switch x := v.(type) {
		case map[string]any:
			for _, kk := range slices.Sorted(maps.Keys(x)) { // deterministic: maps iterate randomly
				walk(kk, x[kk], depth+1)
			}
		case []any:
			for _, y := range x {
				walk(key, y, depth+1)
			}
		case string:
			strs = append(strs, x)
			switch k {
			case "code", "errorcode", "exitcode", "azcmcode", "error", "status":
				if c := reAZCM.FindString(strings.ToUpper(x)); c != "" && code == "" {
					if _, ok := Lookup(c); ok {
						code = c
					}
				}
			case "resourceid":
				if strings.Contains(strings.ToLower(x), "/providers/microsoft.hybridcompute/machines/") {
					resourceID = true
				}
			}
		case float64:
			switch k {
			case "code", "errorcode", "exitcode", "azcmcode":
				if x > 0 && x <= 125 && x == float64(int(x)) && code == "" {
					c := fmt.Sprintf("AZCM%04d", int(x))
					if _, ok := Lookup(c); ok {
						code = c
					}
				}
			}
		}
	}
	walk("", v, 0)
	return code, strs, resourceID
}

// gatherLines cleans and splits every source of evidence into lines, secrets
// masked: invalid UTF-8 replaced, masked, ANSI codes stripped, masked again (an
// escape code inside a secret could hide it from the first pass), progress-bar
// redraws dropped.
func gatherLines(ev Evidence, m *Masker) []evLine {
	var lines []evLine
	add := func(src, raw string) {
		s := clean(raw, m)
		for l := range strings.SplitSeq(s, "\n") {
			for seg := range strings.SplitSeq(l, "\r") {
				seg = strings.TrimRight(seg, " \t")
				if strings.TrimSpace(seg) == "" || reProgress.MatchString(seg) {
					continue
				}
				lines = append(lines, evLine{src: src, text: seg, score: 1})
			}
		}
	}
	if ev.TransportMsg != "" {
		add("transport", ev.TransportMsg)
		for i := range lines {
			lines[i].score = 3
		}
	}
	add("stdout", ev.Stdout)
	stderr, log, split := strings.Cut(ev.Stderr, AgentLogMarker)
	add("stderr", stderr)
	if split {
		add("log", log)
	}
	add("log", strings.Join(ev.AgentLog, "\n"))
	for i := range lines {
		if lines[i].score == 1 && reNoisy.MatchString(lines[i].text) {
			lines[i].score = 2
		}
	}
	return lines
}

// StripANSI removes terminal escape sequences (CSI, OSC, two-byte) from s.
func StripANSI(s string) string { return reANSI.ReplaceAllString(s, "") }

// clean is one source's text, secrets masked, escape codes stripped, cut to its
// last maxSourceBytes (after masking, so a cut cannot expose part of a secret).
func clean(raw string, m *Masker) string {
	s := strings.ToValidUTF8(raw, "\uFFFD")
	s = m.Mask(s)
	s = reANSI.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "\x1b", "")
	s = m.Mask(s)
	if len(s) > maxSourceBytes {
		s = s[len(s)-maxSourceBytes:]
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
		s = strings.ToValidUTF8(s, "")
	}
	return s
}

// pickEvidence keeps the MaxEvidenceLines most relevant lines (decisive lines,
// then error-like lines, later lines before earlier ones), in their original
// order, without repeats, each prefixed with its source and cut to length.
func pickEvidence(lines []evLine, m *Masker) []string {
	idx := make([]int, 0, len(lines))
	seen := make(map[evLine]bool, len(lines))
	for i := len(lines) - 1; i >= 0; i-- { // keep the last of repeated lines
		k := evLine{src: lines[i].src, text: lines[i].text}
		if seen[k] {
			continue
		}
		seen[k] = true
		idx = append(idx, i)
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Or(cmp.Compare(lines[b].score, lines[a].score), cmp.Compare(b, a))
	})
	idx = idx[:min(len(idx), MaxEvidenceLines)]
	slices.Sort(idx)
	out := make([]string, 0, len(idx))
	for _, i := range idx {
		// Mask again after adding the prefix and after cutting: either could
		// complete a secret from pieces, and masking is cheap on short lines.
		l := truncateLine(m.Mask(lines[i].src+": "+lines[i].text), maxLineBytes)
		out = append(out, m.Mask(l))
	}
	return out
}

// Has reports whether the diagnosis names key, as its code or among the related
// codes (e.g. d.Has("AZCM0043") after a disconnect refused by a lock).
func (d Diagnosis) Has(key string) bool {
	return d.Code == key || slices.Contains(d.Related, key)
}
