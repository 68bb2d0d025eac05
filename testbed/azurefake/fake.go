// Package azurefake is a test rig: a local fake Microsoft Entra token endpoint
// and a fake Azure Resource Manager on one HTTPS server with a generated CA, so
// arcfleet's Azure checks (internal/azure) run against it through azcore's cloud
// configuration. It counts requests by kind, so tests can assert how many calls
// a check made, and it can be told to fail the ways Azure fails (AADSTS error
// bodies, unregistered providers, locks, missing permissions, name clashes).
//
// It imports no testing package: the demo build links it.
package azurefake

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Request kinds counted by Count.
const (
	KindDiscovery   = "discovery"   // OpenID configuration and instance discovery
	KindToken       = "token"       // POST .../oauth2/v2.0/token
	KindProviders   = "providers"   // GET /subscriptions/S/providers
	KindPermissions = "permissions" // GET .../Microsoft.Authorization/permissions
	KindLocks       = "locks"       // GET .../Microsoft.Authorization/locks
	KindMachines    = "machines"    // GET .../Microsoft.HybridCompute/machines (list)
	KindMachine     = "machine"     // GET/PUT/DELETE .../machines/NAME
	KindOther       = "other"       // anything else (answered 404)
)

// Fake is a running fake Entra ID + ARM.
type Fake struct {
	srv    *httptest.Server
	caPEM  []byte
	caPool *x509.CertPool

	mu      sync.Mutex
	counts  map[string]int
	tenants map[string]*Tenant // by lower-case id
	subs    map[string]*Subscription
	// TokenLifetime is how long issued access tokens live (default 1 h).
	tokenLifetime time.Duration
	now           func() time.Time
	issued        map[string]issued // access token -> what it was issued for
	mi            [2]string         // managed identity: tenant, client id
	failures      map[string]failure
}

type issued struct {
	tenant, appID string
	exp           time.Time
}

// Options configures Start.
type Options struct {
	// TokenLifetime of issued access tokens; default one hour.
	TokenLifetime time.Duration
	// Now replaces the clock (token expiry and validation); default time.Now.
	Now func() time.Time
}

// New starts a fake for a test and closes it at the test's end.
func New(tb TB, o Options) *Fake {
	tb.Helper()
	f, err := Start(o)
	if err != nil {
		tb.Fatalf("azurefake: %v", err)
	}
	tb.Cleanup(f.Close)
	return f
}

// Start starts a fake; Close stops it.
func Start(o Options) (*Fake, error) {
	f := &Fake{
		counts:        map[string]int{},
		tenants:       map[string]*Tenant{},
		subs:          map[string]*Subscription{},
		tokenLifetime: o.TokenLifetime,
		now:           o.Now,
		issued:        map[string]issued{},
		failures:      map[string]failure{},
	}
	if f.tokenLifetime <= 0 {
		f.tokenLifetime = time.Hour
	}
	if f.now == nil {
		f.now = time.Now
	}
	cert, caPEM, err := newCA()
	if err != nil {
		return nil, err
	}
	f.caPEM = caPEM
	f.caPool = x509.NewCertPool()
	f.caPool.AppendCertsFromPEM(caPEM)
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes cut short at Close are no news
	f.srv.StartTLS()
	return f, nil
}

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// URL is the server's base URL (https://127.0.0.1:PORT), the authority host
// and the ARM endpoint alike.
func (f *Fake) URL() string { return f.srv.URL }

// AuthorityHost is the Entra authority host for azcore's cloud configuration.
func (f *Fake) AuthorityHost() string { return f.srv.URL + "/" }

// ARMEndpoint is the Resource Manager endpoint for azcore's cloud configuration.
func (f *Fake) ARMEndpoint() string { return f.srv.URL }

// CAPEM is the PEM of the CA that signed the server's certificate.
func (f *Fake) CAPEM() []byte { return f.caPEM }

// CAPool is a pool holding only that CA.
func (f *Fake) CAPool() *x509.CertPool { return f.caPool }

// WriteCA writes the CA's PEM to dir/azurefake-ca.pem and returns the path.
func (f *Fake) WriteCA(dir string) (string, error) {
	p := filepath.Join(dir, "azurefake-ca.pem")
	return p, os.WriteFile(p, f.caPEM, 0o644)
}

// Count returns how many requests of kind were served; "" counts all but discovery.
func (f *Fake) Count(kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if kind != "" {
		return f.counts[kind]
	}
	n := 0
	for k, v := range f.counts {
		if k != KindDiscovery {
			n += v
		}
	}
	return n
}

// Counts returns a copy of the counters by kind.
func (f *Fake) Counts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[string]int, len(f.counts))
	for k, v := range f.counts {
		m[k] = v
	}
	return m
}

// ResetCounts zeroes the counters.
func (f *Fake) ResetCounts() {
	f.mu.Lock()
	f.counts = map[string]int{}
	f.mu.Unlock()
}

// CountString is "kind=n ..." sorted, for test messages.
func (f *Fake) CountString() string {
	m := f.Counts()
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var b strings.Builder
	for _, k := range ks {
		fmt.Fprintf(&b, "%s=%d ", k, m[k])
	}
	return strings.TrimSpace(b.String())
}

func (f *Fake) count(kind string) {
	f.mu.Lock()
	f.counts[kind]++
	f.mu.Unlock()
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if strings.HasPrefix(strings.ToLower(p), "/subscriptions/") {
		f.serveARM(w, r)
		return
	}
	f.serveEntra(w, r)
}

// newCA makes a CA and a server certificate for 127.0.0.1 and localhost signed by it.
func newCA() (tls.Certificate, []byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "azurefake test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return tls.Certificate{Certificate: [][]byte{srvDER, caDER}, PrivateKey: srvKey}, caPEM, nil
}
