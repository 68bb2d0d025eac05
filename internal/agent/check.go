package agent

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
)

// The check step runs the agent's own network pre-flight, `azcmagent check`,
// read-only. What arcfleet relies on (docs/check.md has the sources):
//
//   - Flags: --location, --cloud, and --enable-pls-check when the host is to
//     connect over a Private Link Scope (it then checks that the Arc endpoints
//     resolve to private addresses). The host's values come on stdin
//     (CheckInput), so the command line is the same for every host and carries
//     nothing from the inventory.
//   - Output: error lines (one per failed probe, Go's net/http error text such
//     as "dial tcp: lookup HOST: no such host"), then a table with the columns
//     ENDPOINT, REACHABLE, PRIVATE, TLS, PROXY, one row per endpoint, values
//     true, false, unknown or set. The column separator and widths are not
//     documented; ParseCheck reads both "|"-separated and blank-separated rows.
//     `--json` is a common flag of every command but the JSON shape of check is
//     not documented: the step runs the text form, ParseCheck reads JSON too.
//   - The exit code is not documented: the table decides, not the exit code.
//
// No host lock: check changes nothing on the host (no agent state, no
// config), so it may run while another run's connect holds the lock; the
// controller does not take or test the lock for it.

// StepCheck is the name of the check step.
const StepCheck = "check"

// CheckStep runs `azcmagent check --location L --cloud C [--enable-pls-check]`
// with L, C and the private-link switch read from stdin (CheckInput).
func CheckStep(h *inventory.Host) Step {
	st := buildStep(h, stepSpec{name: StepCheck, args: []string{"check"}})
	st.Stdin = "one line: location, cloud, and pls when the host uses a Private Link Scope"
	return st
}

// CheckInput is the check step's stdin: "arcfleet-check LOCATION CLOUD PLS",
// PLS "pls" or "-". The location is written as the agent's region name
// ("West Europe" -> "westeurope").
func CheckInput(h *inventory.Host) []byte {
	loc := strings.ToLower(strings.ReplaceAll(h.Azure.Location, " ", ""))
	cloud := h.Azure.Cloud
	if cloud == "" {
		cloud = "AzureCloud"
	}
	pls := "-"
	if h.Azure.PrivateLinkScope != "" {
		pls = "pls"
	}
	return fmt.Appendf(nil, "arcfleet-check %s %s %s\n", loc, cloud, pls)
}

// shCheck: read the line, refuse anything but letters and digits (the values
// become agent arguments), run the agent.
func shCheck(b *strings.Builder, h *inventory.Host) {
	b.WriteString(shAgentLines(h))
	fmt.Fprintf(b, "[ -x \"$A\" ] || { echo '%sagent-not-found' >&2; exit %d; }\n", ErrorMarker, ExitAgentNotFound)
	fmt.Fprintf(b, "IFS=' ' read -r _ L C P _ || { echo '%sno-input' >&2; exit %d; }\n", ErrorMarker, ExitSetupFailed)
	fmt.Fprintf(b, "case $L$C in ''|*[!A-Za-z0-9]*) echo '%sbad-check-input' >&2; exit %d;; esac\n", ErrorMarker, ExitSetupFailed)
	b.WriteString("if [ \"${P:-}\" = pls ]; then \"$A\" check --location \"$L\" --cloud \"$C\" --enable-pls-check </dev/null\n" +
		"else \"$A\" check --location \"$L\" --cloud \"$C\" </dev/null; fi\n")
}

// psCheck is shCheck for Windows ($A is set and tested by psScript).
func psCheck(b *strings.Builder) {
	b.WriteString("$h=[Console]::In.ReadLine();if(!$h){$h=''};$null,$L,$C,$P=$h.Split(' ')\n")
	fmt.Fprintf(b, "if(\"$L$C\" -notmatch '^[A-Za-z0-9]+$'){$E.WriteLine('%sbad-check-input');exit %d}\n", ErrorMarker, ExitSetupFailed)
	b.WriteString("if($P -eq 'pls'){& $A check --location $L --cloud $C --enable-pls-check}else{& $A check --location $L --cloud $C}\nexit $LASTEXITCODE\n")
}

// CheckEndpoint is one row of the table. Values are lower case as printed
// ("true", "false", "unknown", "set"), "" when the column is missing.
type CheckEndpoint struct {
	Endpoint  string `json:"endpoint"`
	Reachable string `json:"reachable"`
	Private   string `json:"private,omitempty"`
	TLS       string `json:"tls,omitempty"`
	Proxy     string `json:"proxy,omitempty"`
}

// CheckOutput is what ParseCheck read.
type CheckOutput struct {
	Endpoints []CheckEndpoint `json:"endpoints"`
	// Errors are the lines outside the table (before it, after it, stderr),
	// blank lines and the agent's INFO lines left out.
	Errors []string `json:"errors,omitempty"`
	JSON   bool     `json:"json,omitempty"` // read from a JSON document
}

// ParseCheck reads `azcmagent check` output: the JSON document when stdout is
// one, else the text table. It fails when neither is there.
func ParseCheck(stdout, stderr string) (CheckOutput, error) {
	stdout = results.StripANSI(stdout)
	stderr = results.StripANSI(stderr)
	var out CheckOutput
	if t := strings.TrimSpace(stdout); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
		if o, ok := parseCheckJSON(t); ok {
			o.Errors = append(o.Errors, errorLines(stderr)...)
			return o, nil
		}
	}
	cols := []string(nil)
	sep := false
	for line := range strings.Lines(stdout) {
		l := strings.TrimRight(line, "\r\n")
		if cols == nil {
			if c, p, ok := checkHeader(l); ok {
				cols, sep = c, p
				continue
			}
			if e := errorLine(l); e != "" {
				out.Errors = append(out.Errors, e)
			}
			continue
		}
		if row, ok := checkRow(l, cols, sep); ok {
			out.Endpoints = append(out.Endpoints, row)
		} else if e := errorLine(l); e != "" && !isRule(l) {
			out.Errors = append(out.Errors, e)
		}
	}
	out.Errors = append(out.Errors, errorLines(stderr)...)
	if cols == nil {
		return out, fmt.Errorf("no ENDPOINT | REACHABLE table in the output of `azcmagent check`")
	}
	return out, nil
}

// checkHeader recognises the header line and returns its column keys
// (endpoint, reachable, private, tls, proxy; "" for an unknown column).
func checkHeader(l string) (cols []string, pipes bool, ok bool) {
	u := strings.ToUpper(l)
	if !strings.Contains(u, "ENDPOINT") || !strings.Contains(u, "REACHABLE") {
		return nil, false, false
	}
	var fields []string
	if strings.Contains(l, "|") {
		pipes = true
		for _, f := range strings.Split(u, "|") {
			if f = strings.TrimSpace(f); f != "" {
				fields = append(fields, f)
			}
		}
	} else {
		// "TLS INSPECTED" (older layouts) is one column.
		u = strings.ReplaceAll(u, "TLS INSPECTED", "TLS")
		fields = strings.Fields(u)
	}
	if len(fields) == 0 || !strings.HasPrefix(fields[0], "ENDPOINT") {
		return nil, false, false
	}
	for _, f := range fields {
		switch {
		case strings.HasPrefix(f, "ENDPOINT"), f == "URL":
			cols = append(cols, "endpoint")
		case strings.HasPrefix(f, "REACHABLE"):
			cols = append(cols, "reachable")
		case strings.HasPrefix(f, "PRIVATE"):
			cols = append(cols, "private")
		case strings.HasPrefix(f, "TLS"):
			cols = append(cols, "tls")
		case strings.HasPrefix(f, "PROXY"):
			cols = append(cols, "proxy")
		default:
			cols = append(cols, "")
		}
	}
	return cols, pipes, true
}

func isRule(l string) bool {
	t := strings.TrimSpace(l)
	return t != "" && strings.Trim(t, "-+=|─┼ ") == ""
}

var checkValues = map[string]bool{"true": true, "false": true, "unknown": true, "set": true, "not set": true, "n/a": true, "": true}

// checkRow reads one table row: the first field a URL or host name, the others
// values the agent prints.
func checkRow(l string, cols []string, pipes bool) (CheckEndpoint, bool) {
	if isRule(l) || strings.TrimSpace(l) == "" {
		return CheckEndpoint{}, false
	}
	var f []string
	if pipes {
		for _, x := range strings.Split(l, "|") {
			f = append(f, strings.TrimSpace(x))
		}
		// A leading or trailing "|" leaves an empty field.
		if len(f) > 0 && f[0] == "" {
			f = f[1:]
		}
		if len(f) > len(cols) && f[len(f)-1] == "" {
			f = f[:len(f)-1]
		}
	} else {
		f = strings.Fields(l)
	}
	if len(f) < 2 || len(f) > len(cols) || !looksLikeEndpoint(f[0]) {
		return CheckEndpoint{}, false
	}
	var e CheckEndpoint
	for i, v := range f {
		v = strings.ToLower(strings.TrimSpace(v))
		if i > 0 && !checkValues[v] {
			return CheckEndpoint{}, false
		}
		switch cols[i] {
		case "endpoint":
			e.Endpoint = strings.TrimSpace(f[i])
		case "reachable":
			e.Reachable = v
		case "private":
			e.Private = v
		case "tls":
			e.TLS = v
		case "proxy":
			e.Proxy = v
		}
	}
	return e, e.Endpoint != "" && e.Reachable != ""
}

func looksLikeEndpoint(s string) bool {
	if strings.Contains(s, "://") {
		return true
	}
	return strings.Count(s, ".") >= 1 && !strings.ContainsAny(s, " \t:=\"")
}

// errorLine returns l trimmed unless it is blank or one of the agent's INFO /
// progress lines, which say nothing about a failure.
func errorLine(l string) string {
	t := strings.TrimSpace(l)
	if t == "" || isRule(t) {
		return ""
	}
	u := strings.ToUpper(t)
	if strings.HasPrefix(u, "INFO") || strings.Contains(u, "LEVEL=INFO") || strings.HasPrefix(u, "DEBUG") {
		return ""
	}
	return t
}

func errorLines(s string) []string {
	var out []string
	for line := range strings.Lines(results.StripANSI(s)) {
		if e := errorLine(strings.TrimRight(line, "\r\n")); e != "" && !strings.HasPrefix(e, "#arcfleet:") {
			out = append(out, e)
		}
	}
	return out
}

// parseCheckJSON reads {"endpoints": [...]} or a bare array, keys matched
// case-insensitively, values bool or string.
func parseCheckJSON(s string) (CheckOutput, bool) {
	var raw any
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&raw); err != nil {
		return CheckOutput{}, false
	}
	var list []any
	out := CheckOutput{JSON: true}
	switch v := raw.(type) {
	case []any:
		list = v
	case map[string]any:
		for k, x := range v {
			switch strings.ToLower(k) {
			case "endpoints", "results", "checks":
				list, _ = x.([]any)
			case "error":
				if m, ok := x.(map[string]any); ok {
					for mk, mv := range m {
						if strings.EqualFold(mk, "message") {
							out.Errors = append(out.Errors, fmt.Sprint(mv))
						}
					}
				} else if x != nil {
					out.Errors = append(out.Errors, fmt.Sprint(x))
				}
			case "errors":
				if xs, ok := x.([]any); ok {
					for _, e := range xs {
						out.Errors = append(out.Errors, fmt.Sprint(e))
					}
				}
			}
		}
	default:
		return CheckOutput{}, false
	}
	if list == nil {
		return CheckOutput{}, false
	}
	for _, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		var e CheckEndpoint
		for k, v := range m {
			val := strings.ToLower(fmt.Sprint(v))
			switch strings.ToLower(k) {
			case "endpoint", "url", "name":
				e.Endpoint = fmt.Sprint(v)
			case "reachable":
				e.Reachable = val
			case "private", "isprivate":
				e.Private = val
			case "tls", "tlsinspected", "tlsinspection":
				e.TLS = val
			case "proxy", "proxystatus":
				e.Proxy = val
			case "error", "message":
				if v != nil && val != "" {
					out.Errors = append(out.Errors, fmt.Sprint(v))
				}
			}
		}
		if e.Endpoint != "" {
			out.Endpoints = append(out.Endpoints, e)
		}
	}
	return out, true
}

// Causes a check finding names (grouped by in reports).
const (
	CauseDNS               = "dns"                         // name resolution failed
	CauseProxyRefused      = "proxy-refused"               // the proxy answered and refused the endpoint
	CauseProxyUnreachable  = "proxy-unreachable"           // a proxy is configured but cannot be reached
	CauseFirewall          = "firewall-timeout"            // no answer: a firewall drops the traffic
	CauseTLSInspection     = "tls-inspection"              // certificate re-signed on the way
	CausePrivateMissing    = "private-endpoint-missing"    // Private Link expected, endpoint resolves public
	CausePrivateUnexpected = "private-endpoint-unexpected" // resolves private, no Private Link Scope given
	CauseBlocked           = "endpoint-blocked"            // unreachable, cause not told by the output
	CauseCheckFailed       = "check-failed"                // the check did not run or printed no table
	CauseAgentBelowMin     = "agent-below-minimum"         // agent older than min_agent_version
	CauseAzureVM           = "azure-vm"                    // the agent refuses Azure VMs
)

// CauseCodes maps a cause to its knowledge-base code (internal/results catalog).
var CauseCodes = map[string]string{
	CauseDNS:               "MSG-DNS-LOOKUP-FAILED",
	CauseProxyRefused:      "ARCF-CHECK-PROXY-REFUSED",
	CauseProxyUnreachable:  "MSG-PROXY-UNREACHABLE",
	CauseFirewall:          "ARCF-CHECK-FIREWALL",
	CauseTLSInspection:     "MSG-TLS-INSPECTION",
	CausePrivateMissing:    "ARCF-CHECK-PRIVATE-MISSING",
	CausePrivateUnexpected: "MSG-PRIVATE-LINK-SCOPE-REQUIRED",
	CauseBlocked:           "MSG-ENDPOINTS-UNREACHABLE",
	CauseCheckFailed:       "ARCF-CHECK-FAILED",
	CauseAgentBelowMin:     "ARCF-CHECK-AGENT-MIN",
	CauseAzureVM:           "MSG-AZURE-VM",
}

// CheckFinding is one cause found on a host, with the endpoints it concerns
// and the line of output that showed it.
type CheckFinding struct {
	Cause     string   `json:"cause"`
	Code      string   `json:"code"`
	Endpoints []string `json:"endpoints,omitempty"`
	Evidence  string   `json:"evidence,omitempty"`
	// EvidenceMsg says Evidence in a report's language when the evidence is
	// arcfleet's words (the executor's); nil for a line the agent printed.
	EvidenceMsg *results.Msg `json:"-"`
}

// Error-line patterns, first match wins (Go's net and net/http error texts,
// which the agent, a Go program, prints as they are).
var checkPatterns = []struct {
	cause string
	re    *regexp.Regexp
}{
	{CauseTLSInspection, regexp.MustCompile(`(?i)x509:|certificate signed by unknown authority|certificate is not trusted|tls: failed to verify`)},
	{CauseProxyUnreachable, regexp.MustCompile(`(?i)proxyconnect tcp`)},
	{CauseProxyRefused, regexp.MustCompile(`(?i)proxy authentication required|\b407\b|tunnel connection failed|forbidden|\b403\b|proxy refused`)},
	{CauseDNS, regexp.MustCompile(`(?i)no such host|server misbehaving|lookup .*: (i/o timeout|temporary failure)|name resolution|could not resolve`)},
	{CauseFirewall, regexp.MustCompile(`(?i)i/o timeout|deadline exceeded|client\.timeout|timed out|timeout awaiting`)},
	{CauseBlocked, regexp.MustCompile(`(?i)connection refused|connection reset|no route to host|network is unreachable|\beof\b`)},
}

func classifyLine(l string) string {
	for _, p := range checkPatterns {
		if p.re.MatchString(l) {
			return p.cause
		}
	}
	return ""
}

// endpointHost is the host name of an endpoint URL.
func endpointHost(ep string) string {
	h := ep
	if _, rest, ok := strings.Cut(h, "://"); ok {
		h = rest
	}
	h, _, _ = strings.Cut(h, "/")
	h, _, _ = strings.Cut(h, ":")
	return strings.ToLower(h)
}

// privateLinkCapable: the endpoints an Arc Private Link Scope serves (the
// Hybrid Identity Service and guest configuration); Entra ID and Azure
// Resource Manager stay public with Private Link.
func privateLinkCapable(ep string) bool {
	h := endpointHost(ep)
	return strings.Contains(h, ".his.arc.") || strings.Contains(h, "guestconfiguration.")
}

// ClassifyCheck finds the causes in a parsed check: each unreachable endpoint
// gets the cause of the error line naming it (or of a line naming no
// endpoint), else CauseBlocked; x509 lines mark TLS inspection even on a
// reachable endpoint; with pls (the host uses a Private Link Scope) an Arc
// endpoint that is not private is CausePrivateMissing; without it, an endpoint
// resolving private is CausePrivateUnexpected. The TLS column is not read: its
// meaning is not documented. Findings are sorted by cause.
func ClassifyCheck(out CheckOutput, pls bool) []CheckFinding {
	byCause := map[string]*CheckFinding{}
	add := func(cause, ep, ev string) {
		f := byCause[cause]
		if f == nil {
			f = &CheckFinding{Cause: cause, Code: CauseCodes[cause], Evidence: ev}
			byCause[cause] = f
		}
		if f.Evidence == "" {
			f.Evidence = ev
		}
		if ep != "" && !slices.Contains(f.Endpoints, ep) {
			f.Endpoints = append(f.Endpoints, ep)
		}
	}
	proxySet := false
	for _, e := range out.Endpoints {
		if e.Proxy == "set" || e.Proxy == "true" {
			proxySet = true
		}
	}
	// Lines naming an endpoint, and lines naming none (they apply to all).
	named := map[string][]string{}
	var global []string
	for _, l := range out.Errors {
		ll := strings.ToLower(l)
		hit := false
		for _, e := range out.Endpoints {
			if h := endpointHost(e.Endpoint); h != "" && mentionsHost(ll, h) {
				named[e.Endpoint] = append(named[e.Endpoint], l)
				hit = true
			}
		}
		if !hit {
			global = append(global, l)
		}
	}
	for _, e := range out.Endpoints {
		lines := append(append([]string(nil), named[e.Endpoint]...), global...)
		cause, ev := "", ""
		for _, l := range lines {
			if c := classifyLine(l); c != "" {
				cause, ev = c, l
				break
			}
		}
		if cause == CauseTLSInspection {
			add(cause, e.Endpoint, ev)
			continue
		}
		if e.Reachable == "false" {
			if cause == "" {
				cause = CauseBlocked
			}
			// A refusal from the proxy's address is the proxy refusing.
			if cause == CauseBlocked && proxySet && ev != "" && strings.Contains(strings.ToLower(ev), "refused") {
				cause = CauseProxyRefused
			}
			add(cause, e.Endpoint, ev)
			continue
		}
		if e.Reachable != "true" {
			continue
		}
		if pls && privateLinkCapable(e.Endpoint) && e.Private == "false" {
			add(CausePrivateMissing, e.Endpoint, "")
		}
		if !pls && e.Private == "true" {
			add(CausePrivateUnexpected, e.Endpoint, "")
		}
	}
	if len(out.Endpoints) == 0 && len(out.Errors) > 0 {
		for _, l := range out.Errors {
			if c := classifyLine(l); c != "" {
				add(c, "", l)
				break
			}
		}
	}
	fs := make([]CheckFinding, 0, len(byCause))
	for _, f := range byCause {
		fs = append(fs, *f)
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].Cause < fs[j].Cause })
	return fs
}

// mentionsHost reports whether line names host as a whole name: not as
// the tail of a longer one (management.azure.com in x.management.azure.com).
func mentionsHost(line, host string) bool {
	for i := 0; ; {
		j := strings.Index(line[i:], host)
		if j < 0 {
			return false
		}
		a, b := i+j, i+j+len(host)
		if (a == 0 || !hostByte(line[a-1])) && (b == len(line) || !hostByte(line[b]) || line[b] == '.' && (b+1 == len(line) || !hostByte(line[b+1]))) {
			return true
		}
		i = a + 1
	}
}

func hostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c >= 'A' && c <= 'Z'
}
