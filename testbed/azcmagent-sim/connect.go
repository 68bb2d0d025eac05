package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// auth is the non-interactive authentication an invocation carries.
type auth struct {
	spID, secret, cert, thumbprint, tenant, token string
}

func (a auth) kind() string {
	switch {
	case a.token != "":
		return "access token"
	case a.cert != "" || a.thumbprint != "":
		return "service principal certificate"
	case a.secret != "":
		return "service principal secret"
	}
	return ""
}

// deviceCodeRefusal is the simulator's answer where the real agent would start
// an interactive device-code login and block for minutes.
func deviceCodeRefusal(op string) *simError {
	return newErr(16, "no non-interactive authentication given: the agent would now start a device code login "+
		"(https://microsoft.com/devicelogin), which the simulator refuses; pass --service-principal-id with "+
		"--service-principal-secret (best in --config) or --service-principal-cert, and --tenant-id, or --access-token, to "+op)
}

// checkAuth validates the authentication flags. needTenant: connect needs the
// tenant; disconnect takes it from the local config.
func checkAuth(in *invocation, op string, needTenant bool, now time.Time) (auth, *simError) {
	a := auth{
		spID: in.str("service-principal-id"), secret: in.str("service-principal-secret"),
		cert: in.str("service-principal-cert"), thumbprint: in.str("service-principal-cert-thumbprint"),
		tenant: in.str("tenant-id"), token: in.str("access-token"),
	}
	if in.flag("use-device-code") {
		return a, deviceCodeRefusal(op)
	}
	if a.token != "" {
		return a, checkToken(a.token, now)
	}
	if a.spID == "" && a.secret == "" && a.cert == "" && a.thumbprint == "" {
		return a, deviceCodeRefusal(op)
	}
	var missing []string
	if a.spID == "" {
		missing = append(missing, "--service-principal-id")
	}
	if a.secret == "" && a.cert == "" && a.thumbprint == "" {
		missing = append(missing, "--service-principal-secret (or --service-principal-cert)")
	}
	if needTenant && a.tenant == "" {
		missing = append(missing, "--tenant-id")
	}
	if len(missing) > 0 {
		return a, newErr(16, "missing required parameter(s) for service principal login: "+strings.Join(missing, ", "))
	}
	if a.cert != "" {
		// The knowledge base's AZCM0107 "Failed To Retrieve Certificate" (wrong
		// thumbprint, path or store); the agent's exact wording for a file is not documented.
		f, err := os.Open(a.cert)
		if err == nil {
			var b [1]byte
			_, err = f.Read(b[:])
			f.Close()
		}
		if err != nil {
			return a, newErr(107, fmt.Sprintf("cannot read the certificate file %s given to --service-principal-cert (%v): check the path and that the file holds the PEM or PFX", a.cert, errors.Unwrap(err)))
		}
	}
	return a, nil
}

// secretAccepted applies accept_secret_sha256 (constant time; other auth kinds pass).
func secretAccepted(h *HostScenario, a auth) bool {
	if h.AcceptSecretSHA256 == "" || a.secret == "" {
		return true
	}
	sum := sha256.Sum256([]byte(a.secret))
	want, err := hex.DecodeString(strings.ToLower(h.AcceptSecretSHA256))
	return err == nil && subtle.ConstantTimeCompare(sum[:], want) == 1
}

// connectParams are connect's validated parameters.
type connectParams struct {
	sub, rg, location, cloud, name, correlation, pls string
	tags                                             []tag
	auth                                             auth
}

// validateConnect applies the agent's input rules in the agent's order.
func (s *sim) validateConnect(in *invocation) (*connectParams, *simError) {
	p := &connectParams{sub: in.str("subscription-id"), rg: in.str("resource-group"), pls: in.str("private-link-scope")}
	if in.flag("use-device-code") {
		return nil, deviceCodeRefusal("connect")
	}
	var missing []string
	for _, f := range []string{"subscription-id", "resource-group", "location"} {
		if strings.TrimSpace(in.str(f)) == "" {
			missing = append(missing, "--"+f)
		}
	}
	if len(missing) > 0 {
		return nil, newErr(16, "missing required parameter(s): "+strings.Join(missing, ", "))
	}
	cloud, ok := canonicalCloud(in.str("cloud"))
	if !ok {
		return nil, newErr(14, fmt.Sprintf("cloud %q is not supported: use AzureCloud, AzureUSGovernment or AzureChinaCloud", in.str("cloud")))
	}
	p.cloud = cloud
	loc, ok := normalizeRegion(in.str("location"), cloud)
	if !ok {
		return nil, newErr(20, fmt.Sprintf("location %q is not a known region of %s: use a region name such as westeurope (az account list-locations)", in.str("location"), cloud))
	}
	p.location = loc
	tags, err := parseTags(in.str("tags"))
	if err != nil {
		return nil, newErr(13, "invalid --tags: "+err.Error()+`; write --tags "Name=Value,Other='value with spaces'"`)
	}
	p.tags = tags
	p.correlation = in.str("correlation-id")
	if p.correlation != "" && !isGUID(p.correlation) {
		return nil, newErr(15, fmt.Sprintf("correlation ID %q is not a GUID: pass xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", p.correlation))
	}
	p.name = in.str("resource-name")
	if p.name == "" {
		p.name = shortHost(s.host)
		if p.name == "" {
			return nil, newErr(102, "cannot get the machine's hostname: pass --resource-name")
		}
		if err := checkResourceName(p.name); err != nil {
			return nil, newErr(17, "the hostname is no valid resource name ("+err.Error()+"): pass --resource-name")
		}
	} else if err := checkResourceName(p.name); err != nil {
		return nil, newErr(17, err.Error())
	}
	if !isGUID(p.sub) {
		return nil, newErr(68, fmt.Sprintf("subscription %q could not be resolved: pass the subscription ID (GUID), not its name", p.sub))
	}
	a, e := checkAuth(in, "connect", true, s.now())
	s.seen = &a
	if e != nil {
		return nil, e
	}
	p.auth = a
	return p, nil
}

func randomGUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (s *sim) connect(ctx context.Context, c *console, in *invocation, h *HostScenario) int {
	p, e := s.validateConnect(in)
	if e == nil {
		e = gatewayInvalid(in.str("gateway-id")) // config.go
	}
	if e != nil {
		return c.fail(cmdConnect, e, h.ExitCodePrefix)
	}
	store, st, e := s.lockState(h)
	if e != nil {
		return c.fail(cmdConnect, e, h.ExitCodePrefix)
	}
	defer store.unlock()
	st.Attempts["connect"]++
	attempt := st.Attempts["connect"]
	o := h.outcome("connect", attempt)
	if err := store.save(st); err != nil {
		return c.fail(cmdConnect, newErr(69, err.Error()), o.ExitCodePrefix)
	}
	if p.correlation == "" {
		p.correlation = randomGUID()
	}

	if h.TLSInspection && !o.Crash && !o.Hang {
		return tlsInspected(c)
	}
	c.info("Connecting machine to Azure... This might take a few minutes.")
	c.debug(fmt.Sprintf("attempt %d; subscription-id=%s resource-group=%s location=%s cloud=%s resource-name=%s tenant-id=%s service-principal-id=%s authentication=%s",
		attempt, p.sub, p.rg, p.location, p.cloud, p.name, p.auth.tenant, p.auth.spID, p.auth.kind()))
	if o.Crash {
		store.unlock()
		return s.crash("Connect")
	}
	if o.Hang {
		store.unlock() // a hung agent must not block show or service restart
		return c.fail(cmdConnect, hang(ctx), o.ExitCodePrefix)
	}
	c.info("Testing connectivity to endpoints that are needed to connect to Azure... This might take a few minutes.")
	c.progress(20)
	if e := pause(ctx, time.Duration(o.Slow)/2); e != nil {
		return c.fail(cmdConnect, e, o.ExitCodePrefix)
	}
	if h.PrivateLinkRequired && p.pls == "" {
		// azure-docs issue 109136 (2023, GPO onboarding where a private link
		// scope is in use), its azcmagent.log: the agent refuses to go on
		// without --private-link-scope; AZCM0026 although nothing is down.
		return c.failReal(cmdConnect, 26, "Network Error", "Private Link Scope resource ID must be provided as endpoint gbl.his.arc.azure.com is configured private")
	}
	// The network scenario stops connect's own endpoint check (check.go).
	if !in.flag("ignore-network-check") {
		if e := h.Network.networkFailure(p.cloud, p.location, p.pls != ""); e != nil {
			return finishFail(c, cmdConnect, o, e)
		}
		if e := proxyFailure(h, st); e != nil { // config.go
			return finishFail(c, cmdConnect, o, e)
		}
	}

	id := resourceID(p.sub, p.rg, p.name)
	switch {
	case st.Status == statusConnected:
		return finishFail(c, cmdConnect, o, newErr(67, fmt.Sprintf("the machine is already connected to Azure as %s: run azcmagent disconnect first", st.ResourceID)))
	case st.Service == serviceStopped:
		return finishFail(c, cmdConnect, o, newErr(61, info(61).detail+": start it (systemctl start himdsd / Start-Service himds)"))
	case h.ServiceDown && st.ServiceRestarts == 0:
		return finishFail(c, cmdConnect, o, newErr(64, info(64).detail+": restart it (systemctl restart himdsd / Restart-Service himds), wait a minute, retry"))
	case !secretAccepted(h, p.auth):
		return finishFail(c, cmdConnect, o, newErr(41, info(41).detail+" Check the service principal's client ID, secret and its expiry, and the tenant."))
	}
	if e := injected(o); e != nil {
		return finishFail(c, cmdConnect, o, e)
	}
	switch {
	case h.ResourceExists:
		return finishFail(c, cmdConnect, o, newErr(44, fmt.Sprintf("a resource named %s already exists in resource group %s: pass another --resource-name or delete the old resource", p.name, p.rg)))
	case st.inAzure(id):
		// This host's own leftover (a failed connect's resource, or one that
		// `disconnect --force-local-only` orphaned): to Azure it is a name taken.
		return finishFail(c, cmdConnect, o, newErr(44, fmt.Sprintf("a resource named %s already exists in resource group %s: pass another --resource-name or delete the old resource", p.name, p.rg)))
	case h.SucceedAfterDisconnect && st.SuccessfulDisconnects == 0:
		return finishFail(c, cmdConnect, o, newErr(81, "Error occurred while sending request for Device Authorization Code: Post https://login.windows.net/"+
			p.auth.tenant+"/oauth2/devicecode?api-version=1.0: dial tcp: lookup login.windows.net: no such host "+
			"(a Group Policy that deletes old user profiles may have removed the himds profile: disconnect, then connect again)"))
	}
	// Padded as the real agent prints it (a Japanese support blog's console, 2024).
	c.info(fmt.Sprintf("%-46sCorrelation ID=%s Resource ID=%s", "Creating resource in Azure...", p.correlation, id))
	c.progress(60)
	if t := h.Throttled; t != nil && attempt <= t.Times {
		// ARM refuses the PUT before creating anything; the agent's generic
		// connect failure (62) carries the HTTP status and header.
		return finishFail(c, cmdConnect, o, newErr(62, fmt.Sprintf("Failed to AzcmagentConnect ARM resource: PUT https://management.azure.com%s: Status Code=429 Too Many Requests, Retry-After: %d (Azure Resource Manager throttled this service principal: wait that long, then connect again; start fewer hosts per second)",
			id, t.retryAfterSeconds())))
	}
	if (h.CreatedThenFail || h.ConnectFailsAfterCreate) && !st.CreatedThenFailDone {
		// Azure created the resource and the agent recorded the registration
		// locally (show: Disconnected, with its resource id), then the connect
		// failed. The resource stays in Azure until a disconnect deletes it.
		st.CreatedThenFailDone = true
		st.createInAzure(id)
		st.Status = statusDisconnected
		st.SubscriptionID, st.ResourceGroup, st.Location, st.Cloud = p.sub, p.rg, p.location, p.cloud
		st.TenantID, st.ResourceName, st.ResourceID, st.CorrelationID = p.auth.tenant, p.name, id, p.correlation
		if err := store.save(st); err != nil {
			return c.fail(cmdConnect, newErr(69, err.Error()), o.ExitCodePrefix)
		}
		if h.ConnectFailsAfterCreate {
			// Nothing in the output says the resource was created: only the
			// "Creating resource in Azure..." line before the request.
			return finishFail(c, cmdConnect, o, newErr(62, "an error occurred while connecting the machine to Azure: see azcmagent.log"))
		}
		c.log.write("info", "Created resource "+id, "")
		return finishFail(c, cmdConnect, o, newErr(62, "an error occurred after the Azure resource "+id+" was created (configuring the local agent failed): delete the resource in Azure before retrying"))
	}
	if e := pause(ctx, time.Duration(o.Slow)-time.Duration(o.Slow)/2); e != nil {
		return c.fail(cmdConnect, e, o.ExitCodePrefix)
	}

	st.Status = statusConnected
	st.SubscriptionID, st.ResourceGroup, st.Location, st.Cloud = p.sub, p.rg, p.location, p.cloud
	st.TenantID = p.auth.tenant
	st.ResourceName, st.ResourceID = p.name, id
	st.CorrelationID, st.PrivateLinkScope = p.correlation, p.pls
	st.GatewayID, st.AutomaticUpgrade = in.str("gateway-id"), in.flag("enable-automatic-upgrade")
	st.Tags = nil
	if len(p.tags) > 0 {
		st.Tags = map[string]string{}
		for _, t := range p.tags {
			st.Tags[t.name] = t.value
		}
	}
	st.LastHeartbeat = s.now().UTC().Format(time.RFC3339)
	st.SuccessfulConnects++
	st.createInAzure(id)
	if err := store.save(st); err != nil {
		return c.fail(cmdConnect, newErr(69, err.Error()), o.ExitCodePrefix)
	}
	store.unlock()
	c.progress(100)
	c.info("Connected machine to Azure")
	if c.json {
		c.emitJSON(jsonResult{Status: "Succeeded", Operation: cmdConnect, ResourceID: id, ResourceName: p.name,
			ResourceGroup: p.rg, SubscriptionID: p.sub, TenantID: st.TenantID, Location: p.location, Cloud: p.cloud,
			CorrelationID: p.correlation})
	}
	return 0
}

// tlsInspected is a connect behind a TLS-inspecting proxy, as the agent printed
// it in azure-docs issue 64707 (2020, console of the at-scale onboarding
// script): the proxy re-signs agentserviceapi.guestconfiguration.azure.com with
// a certificate the host does not trust, and the next ARM request is answered
// 403 by the same proxy, not by Azure's RBAC. Logrus lines on stdout, no AZCM
// code, exit 1 (with or without --json: that agent had none).
func tlsInspected(c *console) int {
	c.logrus(c.stdout, "info", "Onboarding Machine. It usually takes a few minutes to complete. Sometimes it may take longer depending on network and server load status.", "")
	c.logrus(c.stdout, "info", "Check network connectivity to all endpoints...", "")
	c.logrus(c.stdout, "error", "x509: certificate signed by unknown authority. Failed to Tls dialing agentserviceapi.guestconfiguration.azure.com", "")
	c.logrus(c.stdout, "info", "For network endpoint issue, please review https://aka.ms/arcserver-network for details of required network access.", "")
	c.logrus(c.stdout, "error", "Failed to AzcmagentConnect ARM resource", "Get Resource Failed with Status Code: 403")
	return 1
}
