// Package azure is arcfleet's own view of Azure, from the controller: it mints
// the ARM access tokens hosts receive in access-token mode (TokenSource), checks
// Azure before any host is touched (Preflight) and reads the machines back after
// a run (Verify). It uses the Azure SDK for Go (azidentity, azcore and the ARM
// clients for resource providers, permissions, locks and hybrid machines).
//
// Calls are batched: one token per credential, one provider list per
// subscription, three lists per resource group (permissions, locks, machines)
// for Preflight and one (machines) for Verify. The number of calls grows with
// subscriptions and resource groups, never with hosts.
//
// Nothing here logs; no error or finding holds a token or a secret.
package azure

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/arcfleet/arcfleet/internal/results"
)

// Cloud names as the agent and the inventory's azure.cloud spell them.
const (
	CloudPublic       = "AzureCloud"
	CloudUSGovernment = "AzureUSGovernment"
	CloudChina        = "AzureChinaCloud"
)

// Endpoints replaces every cloud's Entra authority host and Resource Manager
// endpoint, and trusts only CAPool for them: for tests and the demo, which
// point arcfleet at local fakes. A real run never sets it; the CLI prints it
// whenever it is set.
type Endpoints struct {
	AuthorityHost string // e.g. https://127.0.0.1:PORT/
	ARM           string // e.g. https://127.0.0.1:PORT
	CAPool        *x509.CertPool
}

// String describes the override for the operator.
func (e *Endpoints) String() string {
	return fmt.Sprintf("Entra authority %s, Resource Manager %s", e.AuthorityHost, e.ARM)
}

// armAudience is the token audience of Resource Manager in each cloud.
func cloudConfig(name string, ov *Endpoints) (cloud.Configuration, error) {
	if ov != nil {
		return cloud.Configuration{
			ActiveDirectoryAuthorityHost: ov.AuthorityHost,
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Audience: "https://management.azure.com", Endpoint: ov.ARM},
			},
		}, nil
	}
	switch strings.ToLower(name) {
	case "", strings.ToLower(CloudPublic):
		return cloud.AzurePublic, nil
	case strings.ToLower(CloudUSGovernment):
		return cloud.AzureGovernment, nil
	case strings.ToLower(CloudChina):
		return cloud.AzureChina, nil
	}
	return cloud.Configuration{}, newError(CodeCheckFailed, results.M("az_unknown_cloud", strconv.Quote(name), CloudPublic, CloudUSGovernment, CloudChina))
}

// scopeOf is the ARM token scope of a cloud configuration.
func scopeOf(c cloud.Configuration) string {
	return strings.TrimSuffix(c.Services[cloud.ResourceManager].Audience, "/") + "/.default"
}

// counter is an HTTP transport that counts the requests it sends.
type counter struct {
	next  *http.Client
	calls atomic.Int64
}

var _ policy.Transporter = (*counter)(nil)

func (c *counter) Do(r *http.Request) (*http.Response, error) {
	c.calls.Add(1)
	return c.next.Do(r)
}

func newCounter(ov *Endpoints) *counter {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if ov != nil && ov.CAPool != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: ov.CAPool, MinVersion: tls.VersionTLS12}
	}
	return &counter{next: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
}
