package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// endpoints lists what `check` tests per cloud; {loc} is the region.
var endpoints = map[string][]string{
	"AzureCloud": {
		"https://login.microsoftonline.com", "https://login.windows.net", "https://management.azure.com",
		"https://pas.windows.net", "https://gbl.his.arc.azure.com", "https://{loc}.his.arc.azure.com",
		"https://agentserviceapi.guestconfiguration.azure.com", "https://{loc}-gas.guestconfiguration.azure.com",
		"https://download.microsoft.com",
	},
	"AzureUSGovernment": {
		"https://login.microsoftonline.us", "https://management.usgovcloudapi.net",
		"https://gbl.his.arc.azure.us", "https://{loc}.his.arc.azure.us",
		"https://agentserviceapi.guestconfiguration.azure.us", "https://download.microsoft.com",
	},
	"AzureChinaCloud": {
		"https://login.chinacloudapi.cn", "https://management.chinacloudapi.cn",
		"https://gbl.his.arc.azure.cn", "https://{loc}.his.arc.azure.cn",
		"https://agentserviceapi.guestconfiguration.azure.cn", "https://download.microsoft.com",
	},
}

// Network modes (scenario `network: {mode: ...}`): what the host's network
// does to the agent's traffic. README.md, "Network".
const (
	netDNS               = "dns"                // the resolver does not know the names
	netProxyRefused      = "proxy-refused"      // the proxy answers 403 to CONNECT
	netProxyUnreachable  = "proxy-unreachable"  // the configured proxy does not accept connections
	netFirewall          = "firewall"           // packets dropped: dial i/o timeout
	netTLSInspection     = "tls-inspection"     // a proxy re-signs the certificates
	netPrivateMissing    = "private-missing"    // Arc endpoints resolve public although Private Link is meant
	netPrivateUnexpected = "private-unexpected" // Arc endpoints resolve private (a private DNS zone)
)

// NetworkScenario is a host's network as `check` sees it.
type NetworkScenario struct {
	Mode string `yaml:"mode"`
	// Endpoints: host names (or parts of them) affected; none: every endpoint
	// (the Private Link modes: the Arc endpoints).
	Endpoints []string `yaml:"endpoints"`
	// Proxy: the proxy the agent uses (PROXY column "set"); the proxy modes
	// default to http://proxy.corp.example:3128.
	Proxy string `yaml:"proxy"`
}

func (n *NetworkScenario) validate() error {
	if n == nil {
		return nil
	}
	switch n.Mode {
	case netDNS, netProxyRefused, netProxyUnreachable, netFirewall, netTLSInspection, netPrivateMissing, netPrivateUnexpected:
	case "":
		return errors.New("network: mode is required: dns, proxy-refused, proxy-unreachable, firewall, tls-inspection, private-missing or private-unexpected")
	default:
		return fmt.Errorf("network: mode %q: want dns, proxy-refused, proxy-unreachable, firewall, tls-inspection, private-missing or private-unexpected", n.Mode)
	}
	return nil
}

func (n *NetworkScenario) proxy() string {
	if n == nil {
		return ""
	}
	if n.Proxy == "" && (n.Mode == netProxyRefused || n.Mode == netProxyUnreachable) {
		return "http://proxy.corp.example:3128"
	}
	return n.Proxy
}

func arcEndpoint(host string) bool {
	return strings.Contains(host, ".his.arc.") || strings.Contains(host, "guestconfiguration.")
}

// affects reports whether the mode applies to the endpoint url.
func (n *NetworkScenario) affects(url string) bool {
	if n == nil {
		return false
	}
	host := strings.TrimPrefix(url, "https://")
	if len(n.Endpoints) == 0 {
		if n.Mode == netPrivateMissing || n.Mode == netPrivateUnexpected {
			return arcEndpoint(host)
		}
		return true
	}
	for _, e := range n.Endpoints {
		if strings.Contains(host, e) {
			return true
		}
	}
	return false
}

// checkRow is one endpoint's result: the table's values and, for a failure,
// the error line the agent prints before the table. The error texts are Go's
// net/http errors (the agent is a Go program): "dial tcp: lookup H on R:53:
// no such host", "proxyconnect tcp: dial tcp A:P: connect: connection
// refused", "dial tcp A:443: i/o timeout", "tls: failed to verify
// certificate: x509: certificate signed by unknown authority", and for a
// CONNECT the proxy answers 403, the status text "Forbidden".
type checkRow struct {
	Endpoint  string `json:"endpoint"`
	Reachable string `json:"reachable"`
	Private   string `json:"private"`
	TLS       string `json:"tls"`
	Proxy     string `json:"proxy"`
	err       string
}

func (n *NetworkScenario) row(url string, pls bool) checkRow {
	r := checkRow{Endpoint: url, Reachable: "true", Private: "false", TLS: "true", Proxy: "false"}
	if n.proxy() != "" {
		r.Proxy = "set"
	}
	if pls && arcEndpoint(strings.TrimPrefix(url, "https://")) {
		r.Private = "true"
	}
	if !n.affects(url) {
		return r
	}
	host := strings.TrimPrefix(url, "https://")
	get := fmt.Sprintf("Get %q: ", url)
	switch n.Mode {
	case netDNS:
		r.Reachable, r.TLS, r.Private = "false", "unknown", "unknown"
		r.err = get + "dial tcp: lookup " + host + " on 10.0.0.2:53: no such host"
	case netProxyRefused:
		r.Reachable, r.TLS = "false", "unknown"
		r.err = get + "Forbidden"
	case netProxyUnreachable:
		r.Reachable, r.TLS = "false", "unknown"
		r.err = get + "proxyconnect tcp: dial tcp 10.0.0.9:3128: connect: connection refused"
	case netFirewall:
		r.Reachable, r.TLS = "false", "unknown"
		r.err = get + "dial tcp 20.50.2.1:443: i/o timeout"
	case netTLSInspection:
		r.TLS = "false"
		r.err = get + "tls: failed to verify certificate: x509: certificate signed by unknown authority"
	case netPrivateMissing:
		r.Private = "false"
	case netPrivateUnexpected:
		r.Private = "true"
	}
	return r
}

type checkJSON struct {
	Status    string     `json:"status"`
	Operation string     `json:"operation"`
	Location  string     `json:"location"`
	Cloud     string     `json:"cloud"`
	Endpoints []checkRow `json:"endpoints"`
	Errors    []string   `json:"errors,omitempty"`
	Error     *jsonError `json:"error,omitempty"`
}

// checkTable returns the rows for the cloud and region, and whether any failed.
func (n *NetworkScenario) checkTable(cloud, loc string, pls bool) ([]checkRow, bool) {
	var rows []checkRow
	failed := false
	for _, ep := range endpoints[cloud] {
		r := n.row(strings.ReplaceAll(ep, "{loc}", loc), pls)
		if r.err != "" || r.Reachable != "true" {
			failed = true
		}
		if n != nil && pls && r.Private == "false" && arcEndpoint(strings.TrimPrefix(r.Endpoint, "https://")) {
			failed = true
		}
		rows = append(rows, r)
	}
	return rows, failed
}

// check prints the agent's check: the error lines, then the table
// (ENDPOINT |REACHABLE |PRIVATE |TLS |PROXY), as the agent's documentation
// and public reports describe it. A scenario code fails it with every
// endpoint unreachable; a network scenario shapes the rows. Exit 0 unless a
// scenario code says otherwise: the real agent's exit code for a failed
// check is not documented.
func (s *sim) check(ctx context.Context, c *console, in *invocation, h *HostScenario) int {
	cloud, ok := canonicalCloud(in.str("cloud"))
	if !ok {
		return c.fail(cmdCheck, newErr(14, fmt.Sprintf("cloud %q is not supported: use AzureCloud, AzureUSGovernment or AzureChinaCloud", in.str("cloud"))), h.ExitCodePrefix)
	}
	loc := "westeurope"
	if cloud != "AzureCloud" {
		loc = regionsByCloud[cloud][0]
	}
	if in.str("location") != "" {
		if loc, ok = normalizeRegion(in.str("location"), cloud); !ok {
			return c.fail(cmdCheck, newErr(20, fmt.Sprintf("location %q is not a known region of %s", in.str("location"), cloud)), h.ExitCodePrefix)
		}
	}
	store, st, e := s.lockState(h)
	if e != nil {
		return c.fail(cmdCheck, e, h.ExitCodePrefix)
	}
	st.Attempts["check"]++
	o := h.outcome("check", st.Attempts["check"])
	err := store.save(st)
	store.unlock()
	if err != nil {
		return c.fail(cmdCheck, newErr(69, err.Error()), o.ExitCodePrefix)
	}
	if o.Crash {
		return s.crash("Check")
	}
	if o.Hang {
		return c.fail(cmdCheck, hang(ctx), o.ExitCodePrefix)
	}
	if e := pause(ctx, time.Duration(o.Slow)); e != nil {
		return c.fail(cmdCheck, e, o.ExitCodePrefix)
	}
	fail := injected(o)
	rows, _ := h.Network.checkTable(cloud, loc, in.flag("enable-pls-check"))
	if fail != nil {
		for i := range rows {
			rows[i].Reachable, rows[i].TLS = "false", "unknown"
		}
	}
	doc := checkJSON{Status: "Succeeded", Operation: cmdCheck, Location: loc, Cloud: cloud, Endpoints: rows}
	for _, r := range rows {
		if r.err != "" {
			doc.Errors = append(doc.Errors, r.err)
		}
	}
	if c.json {
		if fail != nil {
			doc.Status, doc.Error = "Failed", failureJSON(cmdCheck, fail).Error
		}
		c.emitJSON(doc)
		c.json = false // the document is out; the failure lines go to stderr only
		c.stdout = c.stderr
	} else {
		for _, l := range doc.Errors {
			c.line(s.stdout, l)
		}
		c.line(s.stdout, fmt.Sprintf("%-55s|%-10s|%-8s|%-8s|%s", "ENDPOINT", "REACHABLE", "PRIVATE", "TLS", "PROXY"))
		for _, r := range rows {
			c.line(s.stdout, fmt.Sprintf("%-55s|%-10s|%-8s|%-8s|%s", r.Endpoint, r.Reachable, r.Private, r.TLS, r.Proxy))
		}
	}
	if fail != nil {
		return finishFail(c, cmdCheck, o, fail)
	}
	return 0
}

// networkFailure is what connect's own network check (which runs first
// unless --ignore-network-check) stops on: AZCM0026 naming the first failed
// endpoint's error, or nil when the network is fine.
func (n *NetworkScenario) networkFailure(cloud, loc string, pls bool) *simError {
	if n == nil {
		return nil
	}
	rows, failed := n.checkTable(cloud, loc, pls)
	if n.Mode == netPrivateUnexpected && !pls {
		return nil // private_link_required models this connect (connect.go)
	}
	if !failed {
		return nil
	}
	for _, r := range rows {
		if r.err != "" {
			return newErr(26, "network check failed: "+r.err+": run `azcmagent check` for every endpoint")
		}
	}
	return newErr(26, "network check failed: an Azure Arc endpoint did not resolve to a private address: run `azcmagent check --enable-pls-check`")
}
