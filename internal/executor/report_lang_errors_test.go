package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/plan"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/internal/transport/ssh"
	"github.com/arcfleet/arcfleet/internal/transport/winrm"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
	"github.com/arcfleet/arcfleet/testbed/winrmtest"
)

// errFleet is the fake fleet with some dials failing with the given errors
// and some connect steps' Run too.
type errFleet struct {
	*exFleet
	dial  map[string]error
	run   map[string]error  // the connect step's Run ends with this error
	probe map[string]string // the probe step prints this instead of the agent's show
}

func (f *errFleet) Dial(ctx context.Context, t transport.Target) (transport.Conn, error) {
	if err := f.dial[t.Name]; err != nil {
		return nil, err
	}
	c, err := f.exFleet.Dial(ctx, t)
	if err != nil || (f.run[t.Name] == nil && f.probe[t.Name] == "") {
		return c, err
	}
	return &errConn{Conn: c, err: f.run[t.Name], probe: f.probe[t.Name]}, nil
}

type errConn struct {
	transport.Conn
	err   error
	probe string
}

func (c *errConn) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	switch step := exStepOf(cmd); {
	case step == agent.StepConnect && c.err != nil:
		return -1, c.err
	case step == agent.StepProbe && c.probe != "":
		io.WriteString(stdout, c.probe)
		return 0, nil
	}
	return c.Conn.Run(ctx, cmd, stdin, stdout, stderr)
}

// realDialErrors are the errors the real SSH and WinRM transports return for
// hosts that refuse TCP, never answer the SSH handshake, present a host key
// that known_hosts lacks, refuse the password, and present a certificate of
// a CA the controller does not trust; keyed by host name.
func realDialErrors(t *testing.T) map[string]error {
	t.Helper()
	ctx := context.Background()
	d := &ssh.Dialer{}
	errs := map[string]error{}
	dial := func(name string, tg transport.Target) {
		t.Helper()
		tg.Name, tg.Protocol = name, "ssh"
		if tg.User == "" {
			tg.User = "u"
		}
		c, err := d.Dial(ctx, tg)
		if err == nil {
			c.Close()
			t.Fatalf("%s: the dial succeeded", name)
		}
		errs[name] = err
	}
	// Nothing listens.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dial("refused", transport.Target{Address: "127.0.0.1", Port: closed, Password: "p", HostKeyPolicy: "insecure-ignore"})
	// TCP answers, SSH never does.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	dial("silent", transport.Target{Address: "127.0.0.1", Port: silent.Addr().(*net.TCPAddr).Port, Password: "p",
		HostKeyPolicy: "insecure-ignore", HandshakeTimeout: 500 * time.Millisecond})
	// An SSH server: its key not in known_hosts; a wrong password.
	srv, err := sshtest.NewServer(sshtest.ServerConfig{Password: "right"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dial("hostkey", transport.Target{Address: srv.Host(), Port: srv.Port(), Password: "right", KnownHostsFile: kh, HostKeyPolicy: "strict"})
	dial("auth", transport.Target{Address: srv.Host(), Port: srv.Port(), Password: "wrong", HostKeyPolicy: "insecure-ignore"})
	// WinRM over HTTPS to a certificate of an unknown CA.
	ts := httptest.NewTLSServer(http.NotFoundHandler())
	defer ts.Close()
	addr := ts.Listener.Addr().(*net.TCPAddr)
	if c, err := (&winrm.Dialer{}).Dial(ctx, transport.Target{Name: "tls", Protocol: "winrm", Address: "127.0.0.1", Port: addr.Port,
		HTTPS: true, User: "u", Password: "p", Auth: "ntlm"}); err == nil {
		c.Close()
		t.Fatal("tls: the dial succeeded")
	} else {
		errs["tls"] = err
	}
	// WinRM: the password refused (HTTP 401).
	ws := winrmtest.Start(t, winrmtest.Options{HTTPS: true})
	tg := ws.Target("winauth", "ntlm")
	tg.Password = "wrong"
	if c, err := (&winrm.Dialer{}).Dial(ctx, tg); err == nil {
		c.Close()
		t.Fatal("winauth: the dial succeeded")
	} else {
		errs["winauth"] = err
	}
	return errs
}

// A Swedish report of hosts that failed for the transport's reasons (each
// with the transport's hint), an unresolved secret of a host and of a
// credential, a jump host not in the plan, validation findings, a disconnect that could not delete the
// Azure resource, another operation holding the host, and the breaker (by
// failed hosts and by a token that could not be had) holds none of arcfleet's
// own English for them: the kinds, operations, hints and sentences. What a
// host or a library said (run data) and the evidence lines stay as they were.
// The English report says each of those words (so the check is not empty).
// Also: hosts the Azure pre-flight blocks (a fake Azure's findings), the
// post-run verification's details, a class named in "not retried (class
// ...)", an agent package unusable on the controller (a directory, changed
// size, gone), probe output that is not the agent's JSON, and a WinRM server
// certificate that changed within the connection.
func TestSwedishReportHasNoErrorEnglish(t *testing.T) {
	dialErrs := realDialErrors(t)
	for name, want := range map[string]transport.Kind{"refused": transport.Unreachable, "silent": transport.Timeout,
		"hostkey": transport.HostKeyUnknown, "auth": transport.AuthFailed, "tls": transport.TLSFailed, "winauth": transport.AuthFailed} {
		if k := transport.KindOf(dialErrs[name]); k != want {
			t.Fatalf("%s: kind %q, want %q: %v", name, k, want, dialErrs[name])
		}
	}
	var hosts []results.HostResult

	// Dials that fail, a connection lost during connect, a connect that
	// times out, unresolved secrets, validation findings, a busy host, the
	// breaker by failed hosts.
	f := newExFleet()
	names := []string{"refused", "silent", "hostkey", "auth", "tls", "winauth", "lost", "hang", "secret", "nocred", "invalid", "via", "held",
		"certchg", "azro", "azperm", "azgone", "bad1", "bad2", "bad3", "bad4"}
	for _, n := range names {
		f.add(n, &exHost{})
	}
	f.hosts["hang"].hang = map[string]bool{agent.StepConnect: true}
	f.hosts["held"].busyProbes = -1
	for _, n := range []string{"bad1", "bad2", "bad3", "bad4"} {
		f.hosts[n].exits = map[string][]int{agent.StepConnect: {41}}
	}
	lost := (&transport.Error{Kind: transport.Lost, Host: "lost", Op: "run",
		Err: transport.NewPhrase(transport.ErrConnLost, io.ErrUnexpectedEOF, io.ErrUnexpectedEOF.Error())}).WithHint(transport.HintOutcomeUnknown)
	certChanged := (&transport.Error{Kind: transport.TLSFailed, Host: "certchg", Op: "run",
		Err: fmt.Errorf("Post %q: %w", "https://certchg:5986/wsman", transport.NewPhrase(transport.ErrCertChanged, nil, "SHA256:aaaa", "SHA256:bbbb"))}).WithHint(transport.HintCertChanged)
	x := exExecutor(f)
	x.Dialer = &errFleet{exFleet: f, dial: dialErrs, run: map[string]error{"lost": lost, "certchg": certChanged}}
	blocked, verification := azureChecks(t)
	x.Blocked = blocked
	x.Concurrency = 1
	x.Timeout = 400 * time.Millisecond
	x.BusyWait = 100 * time.Millisecond
	p := exPlan(agent.ActionConnect, names...)
	p.Credentials["nosecret"] = inventory.Credential{Name: "nosecret", ClientID: "client-3", TenantID: "tenant-1", Secret: inventory.SecretRef{Env: "ARC_NO_SUCH_SP_SECRET"}}
	for i := range p.Hosts {
		h := &p.Hosts[i].Host
		switch h.Name {
		case "secret":
			h.SSH.Password = inventory.SecretRef{Env: "ARC_NO_SUCH_PASSWORD"}
		case "nocred":
			h.Credential = "nosecret"
		case "via":
			h.SSH.Via = "nowhere"
		case "invalid":
			inv := &inventory.Inventory{File: "x.yaml", Hosts: []inventory.Host{{Name: "invalid", OS: "linux", Transport: "ssh", Pos: inventory.Pos{File: "x.yaml", Line: 3, Col: 5},
				SSH:   inventory.SSH{User: "u", UseAgent: true, HostKeyPolicy: "strict"},
				Azure: inventory.Azure{TenantID: "t", SubscriptionID: "0b1f6471-1bf0-4dda-aec3-cb9272f09590", ResourceGroup: "rg", Location: "eastus2", Cloud: "Moon"}}}}
			p.Hosts[i].Findings = inventory.Validate(inv, []*inventory.Host{&inv.Hosts[0]}, "connect")
			if len(p.Hosts[i].Findings) == 0 {
				t.Fatal("no finding")
			}
		}
	}
	applyPlan(t, x, p, &hosts)

	// A disconnect that a delete lock stops, one the credential may not do.
	f = newExFleet()
	at := exHost{status: "Connected", sub: "sub-1", rg: "rg-1", loc: "westeurope", ten: "tenant-1",
		resourceID: "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.HybridCompute/machines/m"}
	for n, out := range map[string]string{
		"locked":  "FATAL   RequestCorrelationId:c Message: The scope '/s' cannot perform delete operation because following scope(s) are locked: '/s'. Please remove the lock and try again. Code: ScopeLocked httpStatusCode:409",
		"denied":  `time="t" level=debug msg="Delete ARM Resource Response" Body="{\"error\":{\"code\":\"AuthorizationFailed\",\"message\":\"The client 'x' with object id 'x' does not have authorization to perform action 'Microsoft.HybridCompute/machines/delete'\"}}"`,
		"nothing": "",
	} {
		h := at
		h.exits = map[string][]int{agent.StepDisconnect: {43}}
		if n == "nothing" {
			h.exits[agent.StepDisconnect] = []int{63}
		}
		h.failOut = map[string]string{agent.StepDisconnect: out}
		f.add(n, &h)
	}
	applyPlan(t, exExecutor(f), exPlan(agent.ActionReconnect, "locked", "denied", "nothing"), &hosts)

	// A disconnect where the probe prints no JSON, or broken JSON.
	f = newExFleet()
	f.add("probejunk", &exHost{})
	f.add("probebad", &exHost{})
	x = exExecutor(f)
	x.Dialer = &errFleet{exFleet: f, probe: map[string]string{"probejunk": "azcmagent: command not found\n", "probebad": `{"status": "Connected",` + "\n"}}
	applyPlan(t, x, exPlan(agent.ActionDisconnect, "probejunk", "probebad"), &hosts)

	// The agent package on the controller: a directory when planned; of
	// another size, or gone, by apply time.
	applyPlan(t, exExecutor(newExFleet()), packagePlan(t), &hosts)

	// The breaker opened by a token the controller could not get.
	f = newExFleet()
	f.add("tok1", &exHost{})
	f.add("tok2", &exHost{})
	x = exExecutor(f)
	x.Concurrency = 1
	x.Tokens = &stubTokens{err: errors.New("AADSTS7000215: Invalid client secret provided.")}
	applyPlan(t, x, tokenPlan(agent.ActionConnect, "tok1", "tok2"), &hosts)

	// A token the real token source (internal/azure) could not get from a fake Entra ID.
	f = newExFleet()
	f.add("aztok", &exHost{})
	x = exExecutor(f)
	x.Tokens = fakeEntraTokens(t)
	applyPlan(t, x, tokenPlan(agent.ActionConnect, "aztok"), &hosts)

	// arcfleet's words each host's English detail holds.
	words := dialWords(map[string][]string{
		"lost":      {"run: lost: ", "connection lost: ", "the command's outcome is unknown: check the host before retrying"},
		"hang":      {"attempt timeout"},
		"secret":    {"host secret: ssh.password", "environment variable ARC_NO_SUCH_PASSWORD is not set", "; fix: export", "before running arcfleet", "; then "},
		"nocred":    {"credential nosecret: secret", "environment variable ARC_NO_SUCH_SP_SECRET is not set", "; fix: export", "; then "},
		"via":       {": no such host in the inventory or plan; fix: add it to the inventory (and to the plan's --limit)"},
		"invalid":   {"blocked by validation: ", "no credential: the agent needs a service principal to log in", "unsupported cloud"},
		"held":      {"another operation holds the host: run ", ", since ", "still running after", "arcfleet did not start a second one"},
		"bad4":      {"circuit breaker open for credential", "hosts failed with", "fix the credential, then"},
		"locked":    {"a delete lock (ScopeLocked) on", "or its resource group kept it, so it still exists", "arcfleet left the host as it was (still registered)", "fix: remove the lock"},
		"denied":    {"the credential may not delete", "so it still exists", "give the service principal the Azure Connected Machine Resource Administrator"},
		"nothing":   {"nothing in the output says the Azure resource is gone", "it would orphan the resource"},
		"tok1":      {"access token for credential sp"},
		"tok2":      {"circuit breaker open for credential sp (tenant tenant-1)", "access token for credential sp"},
		"bad1":      {"not retried (class credential)"},
		"aztok":     {"access token for credential sp", "credential sp: Microsoft Entra ID refused the token request: "},
		"azro":      {"Azure pre-flight: ", "ReadOnly lock ", " on resource group ", ": Azure refuses to create, change or delete the machine", "; fix: "},
		"azperm":    {"the credential may not perform ", " in resource group ", "(connect needs it)"},
		"azgone":    {"does not exist in subscription"},
		"certchg":   {"server certificate changed within the connection: was ", ", now ", "another certificate answered on reconnect"},
		"probejunk": {"probe: no JSON object in the output of ", "; check that the agent is installed and supports --json"},
		"probebad":  {"probe: ", " printed invalid JSON ("},
		"pkgdir":    {"agent package ", " is not a regular file", " (on the controller; nothing ran on the host)"},
		"pkgsize":   {"agent package ", " bytes, the plan recorded ", ": it changed since the plan; plan again"},
		"pkggone":   {"agent package: "},
	})
	byName := map[string]results.HostResult{}
	for _, h := range hosts {
		byName[h.Name] = h
	}
	var english []string
	for name, ws := range words {
		h, ok := byName[name]
		if !ok {
			t.Fatalf("%s: no such host in the reports", name)
		}
		for _, w := range ws {
			if !strings.Contains(h.Detail, w) {
				t.Errorf("%s: detail %q lacks %q: the run did not take the path under test", name, h.Detail, w)
			}
			english = append(english, w)
		}
	}
	// The verification's details (the report's Azure section).
	checkWords := map[string][]string{
		"vmissing": {"the agent reports ", ", but resource group ", " has no such machine"},
		"vstale":   {" has status ", " in Azure"},
		"vother":   {"the agent reports ", ", Azure has "},
		"vleft":    {" is still in resource group "},
		"vnone":    {"no machine ", " in resource group "},
	}
	for _, c := range verification.Hosts {
		for _, w := range checkWords[c.Host] {
			if !strings.Contains(c.Detail, w) {
				t.Errorf("check %s: detail %q lacks %q", c.Host, c.Detail, w)
			}
			english = append(english, w)
		}
		delete(checkWords, c.Host)
	}
	for h := range checkWords {
		t.Errorf("no verification of %s", h)
	}
	if t.Failed() {
		t.FailNow()
	}

	// The Swedish report in every format: none of those words once the run
	// data is out (host names, codes, log paths, evidence: what was observed,
	// quoted as it was).
	var data []string
	for _, h := range hosts {
		data = append(data, h.Evidence...)
		data = append(data, h.LogPath)
	}
	sort.Slice(data, func(i, j int) bool { return len(data[i]) > len(data[j]) })
	var pairs []string
	for _, d := range data {
		if d != "" {
			pairs = append(pairs, d, "\x00", strings.ReplaceAll(d, `"`, `""`), "\x00") // CSV doubles quotes
		}
	}
	dataOut := strings.NewReplacer(pairs...)
	r := &results.Report{FormatVersion: results.ReportFormatVersion, RunID: "run-1", Action: "connect", Hosts: hosts, Azure: verification,
		Started: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Finished: time.Date(2024, 1, 2, 3, 5, 5, 0, time.UTC)}
	for _, format := range []string{"table", "markdown", "junit", "html", "csv"} {
		var sv bytes.Buffer
		if err := results.RenderReportWidth(&sv, r, format, "sv", false, 100000); err != nil {
			t.Fatal(err)
		}
		out := sv.String()
		if format == "junit" || format == "html" {
			out = html.UnescapeString(out)
		}
		out = dataOut.Replace(out)
		// A class is its identifier in English, a Swedish word here (the
		// table does not show the failed host's detail: its group does).
		if strings.Contains(out, "klass credential") || (format != "table" && !strings.Contains(out, "(klass autentiseringsuppgift)")) {
			t.Errorf("%s sv: the class named by its identifier, not its Swedish label", format)
		}
		for _, w := range english {
			if i := strings.Index(out, w); i >= 0 {
				t.Errorf("%s sv holds the English %q: …%s…", format, w, out[max(0, i-120):min(len(out), i+len(w)+120)])
			}
		}
	}
}

// applyPlan applies p with x and adds its hosts to hosts.
func applyPlan(t *testing.T, x *Executor, p *plan.Plan, hosts *[]results.HostResult) *results.Report {
	t.Helper()
	rep, err := x.Apply(context.Background(), p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	*hosts = append(*hosts, rep.Hosts...)
	return rep
}

// dialWords is more with arcfleet's English words of the dial failures both
// language tests provoke on real hosts (hosts refused, silent, hostkey, auth,
// tls, winauth), as the transport says them (internal/transport/hints.go).
func dialWords(more map[string][]string) map[string][]string {
	w := map[string][]string{
		"refused": {"dial: ", ": unreachable: ", "nothing listens on", "is sshd running there, and is the port right?"},
		"silent": {": handshake: timeout: ", "no SSH handshake within", "the host accepts TCP on port",
			"but did not complete an SSH handshake: is sshd (not another service) listening there, and is it overloaded?"},
		"hostkey": {": host key: host-key-unknown: ", "is not in", "(it presented", "verify the fingerprint out of band, then add it", "or set host_key_policy"},
		"auth":    {": auth: auth: ", "the host refused user", "check the user name, that the key's public half is in that user's authorized_keys"},
		"tls":     {": dial: tls: ", "set winrm.ca_file to the PEM of the CA that signed the host's WinRM certificate"},
		"winauth": {": dial: auth: ", "HTTP 401: credentials refused", "and the password; the host must allow Negotiate"},
	}
	maps.Copy(w, more)
	return w
}
