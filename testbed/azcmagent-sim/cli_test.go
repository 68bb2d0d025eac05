package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestValidationCodes: each input rule of the agent fails with its code, before
// any attempt is counted.
func TestValidationCodes(t *testing.T) {
	base := map[string]string{
		"--subscription-id": subID, "--resource-group": "rg", "--location": "westeurope",
		"--tenant-id": tenantID, "--service-principal-id": appID, "--service-principal-secret": sentinel,
	}
	// build makes a connect line from base with some flags replaced ("" removes one).
	build := func(over map[string]string, extra ...string) []string {
		args := []string{"connect"}
		for _, k := range []string{"--subscription-id", "--resource-group", "--location", "--tenant-id", "--service-principal-id", "--service-principal-secret"} {
			v, ok := over[k]
			if !ok {
				v = base[k]
			}
			if v != "" {
				args = append(args, k, v)
			}
		}
		return append(args, extra...)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string // in the output
	}{
		{"tags without quotes", build(nil, "--tags", "Owner=Jane Doe"), 13, "single quotes"},
		{"cloud", build(nil, "--cloud", "AzureGermanCloud"), 14, "AzureGermanCloud"},
		{"correlation id", build(nil, "--correlation-id", "not-a-guid"), 15, "not a GUID"},
		{"location missing", build(map[string]string{"--location": ""}), 16, "--location"},
		{"all required missing", []string{"connect"}, 16, "--subscription-id, --resource-group, --location"},
		{"no auth: device code refused", build(map[string]string{"--service-principal-id": "", "--service-principal-secret": ""}), 16, "device code"},
		{"use-device-code refused", build(nil, "--use-device-code"), 16, "device code"},
		{"tenant missing", build(map[string]string{"--tenant-id": ""}), 16, "--tenant-id"},
		{"secret without id", build(map[string]string{"--service-principal-id": ""}), 16, "--service-principal-id"},
		{"resource name", build(nil, "--resource-name", "web01-"), 17, "must end with a letter or digit"},
		{"config missing", build(nil, "--config", "/nonexistent/arc.json"), 19, "/nonexistent/arc.json"},
		{"region", build(map[string]string{"--location": "atlantis"}), 20, "atlantis"},
		{"access token", []string{"connect", "-s", subID, "-g", "rg", "-l", "westeurope", "--access-token", "garbage"}, 12, "JWT"},
		{"subscription name", build(map[string]string{"--subscription-id": "Contoso Prod"}), 68, "GUID"},
		{"cert missing", build(map[string]string{"--service-principal-secret": ""}, "--service-principal-cert", "/nonexistent.pem"), 107, "/nonexistent.pem"},
		{"unknown flag", build(nil, "--frobnicate"), 101, "unknown flag: --frobnicate"},
		{"flag of another command", build(nil, "-f"), 101, "unknown shorthand flag"},
		{"unknown command", []string{"onboard"}, 101, `unknown command "onboard"`},
		{"disconnect without auth", []string{"disconnect"}, 16, "device code"},
		{"disconnect correlation id", []string{"disconnect", "-f", "--correlation-id", "x"}, 15, "not a GUID"},
		{"check cloud", []string{"check", "--cloud", "Mars"}, 14, "Mars"},
		{"check region", []string{"check", "-l", "atlantis"}, 20, "atlantis"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHost(t, "web01")
			r := h.expect(tt.code, tt.args...)
			wantLine := codeName(tt.code) + ": " + info(tt.code).title
			if !strings.Contains(r.stdout, wantLine+"\n") {
				t.Errorf("stdout lacks %q:\n%s", wantLine, r)
			}
			if !strings.Contains(r.stdout, tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, r)
			}
			if strings.Contains(r.stdout+r.stderr, sentinel) {
				t.Errorf("the secret reached the console:\n%s", r)
			}
			if data, err := os.ReadFile(filepath.Join(h.root, "state.json")); err == nil && strings.Contains(string(data), `"connect"`) {
				t.Errorf("a validation failure counted as an attempt: %s", data)
			}
		})
	}
}

// TestNeedsRoot runs the simulator as an unprivileged user (or as the current
// non-root user) without AZCMAGENT_SIM_NO_ROOT.
func TestNeedsRoot(t *testing.T) {
	h := newHost(t, "web01")
	var env []string
	for _, e := range h.env {
		if !strings.HasPrefix(e, "AZCMAGENT_SIM_NO_ROOT=") {
			env = append(env, e)
		}
	}
	c := exec.Command(simBin, connectArgs()...)
	c.Env = env
	if os.Geteuid() == 0 {
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	out, err := c.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 18 {
		t.Fatalf("want exit 18, got %v:\n%s", err, out)
	}
	if !strings.Contains(string(out), "AZCM0018: Insufficient Privileges") {
		t.Errorf("output lacks the AZCM0018 line:\n%s", out)
	}
	// show needs no root.
	c = exec.Command(simBin, "show")
	c.Env = env
	if os.Geteuid() == 0 {
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	if out, err := c.CombinedOutput(); err != nil && strings.Contains(string(out), "AZCM0018") {
		t.Errorf("show asked for root: %s", out)
	}
}

func showJSONOf(t *testing.T, h *host) showJSON {
	t.Helper()
	r := h.expect(0, "show", "--json")
	var doc showJSON
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("show --json is not JSON: %v\n%s", err, r)
	}
	return doc
}

func TestStateMachine(t *testing.T) {
	h := newHost(t, "web01")
	if doc := showJSONOf(t, h); doc.Status != "Disconnected" || doc.ResourceID != "" {
		t.Fatalf("a new host should be Disconnected: %+v", doc)
	}
	r := h.expect(0, connectArgs("--tags", "Env=Prod,'Cost Center'='a, b'", "-n", "web01-arc")...)
	if !strings.HasSuffix(r.stdout, "INFO    Connected machine to Azure\n") {
		t.Errorf("connect output should end with the Connected line:\n%s", r)
	}
	wantID := "/subscriptions/" + subID + "/resourceGroups/rg-arc/providers/Microsoft.HybridCompute/machines/web01-arc"
	doc := showJSONOf(t, h)
	if doc.Status != "Connected" || doc.ResourceID != wantID || doc.ResourceName != "web01-arc" || doc.ResourceGroup != "rg-arc" ||
		doc.SubscriptionID != subID || doc.TenantID != tenantID || doc.Location != "westeurope" || doc.Cloud != "AzureCloud" ||
		doc.LastHeartbeat != fixedNow || doc.Tags["Cost Center"] != "a, b" || len(doc.Services) != 3 {
		t.Fatalf("show after connect: %+v", doc)
	}
	h.expect(67, connectArgs()...)
	r = h.expect(0, disconnectArgs()...)
	if !strings.HasSuffix(r.stdout, "INFO    Disconnected machine from Azure\n") {
		t.Errorf("disconnect output:\n%s", r)
	}
	if doc := showJSONOf(t, h); doc.Status != "Disconnected" || doc.ResourceID != "" {
		t.Fatalf("show after disconnect: %+v", doc)
	}
	r = h.expect(70, disconnectArgs()...)
	if !strings.Contains(r.stdout, "Exit Code: AZCM0070: Unable To Obtain Local Config") {
		t.Errorf("disconnect when not connected:\n%s", r)
	}
	h.expect(0, connectArgs()...)
	h.expect(0, "disconnect", "--force-local-only")
	if doc := showJSONOf(t, h); doc.Status != "Disconnected" {
		t.Fatalf("force-local-only should reset local state: %+v", doc)
	}
	h.expect(0, "disconnect", "-f") // works when already disconnected
	var st State
	if err := json.Unmarshal([]byte(h.readFile("state.json")), &st); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"connect": 3, "disconnect": 2, "force_local": 2, "show": 4}
	for k, v := range want {
		if st.Attempts[k] != v {
			t.Errorf("attempts[%s] = %d, want %d (all: %v)", k, st.Attempts[k], v, st.Attempts)
		}
	}
	if st.SuccessfulConnects != 2 || st.SuccessfulDisconnects != 3 {
		t.Errorf("counters: %+v", st)
	}
}

// TestScenarios covers every scenario kind as a sequence of commands and exit codes.
func TestScenarios(t *testing.T) {
	goodHash := sha256.Sum256([]byte(sentinel))
	type step struct {
		args []string
		code int
		want string // in stdout+stderr
	}
	tests := []struct {
		name, yaml string
		steps      []step
	}{
		{"fixed code", "connect: {code: AZCM0042}", []step{
			{connectArgs(), 42, "AZCM0042: Failed To Create Resource"},
			{connectArgs(), 42, "Microsoft.HybridCompute/machines/write"},
		}},
		{"fixed code with message and prefix", "connect: {code: AZCM0026, message: 'proxy said no', exit_code_prefix: true}", []step{
			{connectArgs(), 26, "Exit Code: AZCM0026: Network Error"},
			{connectArgs(), 26, "FATAL   proxy said no"},
		}},
		{"fail first", "connect: {code: AZCM0064, fail_first: 2}", []step{
			{connectArgs(), 64, "AZCM0064"}, {connectArgs(), 64, "AZCM0064"}, {connectArgs(), 0, "Connected machine to Azure"},
		}},
		{"per attempt", "connect:\n  attempts:\n    1: {code: AZCM0026}\n    2: {code: AZCM0061}", []step{
			{connectArgs(), 26, ""}, {connectArgs(), 61, ""}, {connectArgs(), 0, ""},
		}},
		{"disconnect code, force-local separate", "initial: {status: Connected}\ndisconnect: {code: AZCM0043}", []step{
			{disconnectArgs(), 43, "AZCM0043: Failed To Delete Resource"},
			{[]string{"disconnect", "--force-local-only"}, 0, "Disconnected machine from Azure"},
		}},
		{"succeed after disconnect", "succeed_after_disconnect: true", []step{
			{connectArgs(), 81, "no such host"},
			{connectArgs(), 81, "AZCM0081"},
			{[]string{"disconnect", "--force-local-only"}, 0, ""},
			{connectArgs(), 0, "Connected machine to Azure"},
		}},
		{"gpo broken identity", "gpo_broken_identity: true", []step{
			{[]string{"show"}, 0, "Agent Status                            : Connected"},
			{connectArgs(), 67, "AZCM0067"},
			// The service principal signs the DELETE: a broken local identity does not stop it.
			{disconnectArgs(), 0, "Deleting resource from Azure...               Correlation ID="},
			{connectArgs(), 0, ""},
			{disconnectArgs(), 0, "Disconnected machine from Azure"},
		}},
		{"force-local orphans the resource: the next connect collides", "initial: {status: Connected, resource_group: rg-arc, subscription_id: " + subID + "}", []step{
			{[]string{"disconnect", "--force-local-only"}, 0, "the Azure resource is not deleted"},
			{connectArgs(), 44, "AZCM0044: Resource Name Already Exists"},
		}},
		{"delete lock", "initial: {status: Connected}\ndelete_lock: true", []step{
			{disconnectArgs(), 43, "INFO    Exit Code:  AZCM0043: Failed to Delete Resource\nINFO    For troubleshooting, see https://aka.ms/arc/azcmerror\nFATAL   RequestCorrelationId:"},
			{disconnectArgs(), 43, "cannot perform delete operation because following scope(s) are locked: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/arc-sim-rg/providers/Microsoft.HybridCompute/machines/web01'. Please remove the lock and try again. Code: ScopeLocked httpStatusCode:409"},
			{[]string{"show"}, 0, "Agent Status                            : Connected"},
		}},
		{"delete denied", "initial: {status: Connected}\ndelete_denied: true", []step{
			{disconnectArgs(), 43, "does not have authorization to perform action 'Microsoft.HybridCompute/machines/delete' over scope '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/arc-sim-rg/providers/Microsoft.HybridCompute/machines/web01'"},
			{disconnectArgs(), 43, "Code: AuthorizationFailed httpStatusCode:403"},
		}},
		{"resource deleted in Azure", "resource_deleted: true", []step{
			{[]string{"show"}, 0, "Agent Status                            : Connected"},
			{disconnectArgs(), 43, "was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix Code: ResourceNotFound httpStatusCode:404"},
			{[]string{"disconnect", "--force-local-only"}, 0, ""},
			{connectArgs(), 0, "Connected machine to Azure"},
		}},
		{"tls inspection", "tls_inspection: true", []step{
			{connectArgs(), 1, `level=error msg="x509: certificate signed by unknown authority. Failed to Tls dialing agentserviceapi.guestconfiguration.azure.com"`},
			{connectArgs("--json"), 1, `level=error msg="Failed to AzcmagentConnect ARM resource" Error="Get Resource Failed with Status Code: 403"`},
		}},
		{"private link scope required", "private_link_required: true", []step{
			{connectArgs(), 26, "INFO    Exit Code:  AZCM0026: Network Error"},
			{connectArgs("--log-stderr"), 26, "FATAL   Private Link Scope resource ID must be provided as endpoint gbl.his.arc.azure.com is configured private"},
			{connectArgs("--private-link-scope", "/subscriptions/"+subID+"/resourceGroups/rg/providers/Microsoft.HybridCompute/privateLinkScopes/pls"), 0, "Connected machine to Azure"},
		}},
		{"not root", "not_root: true", []step{
			{connectArgs(), 1, "You must be root to execute "},
			{disconnectArgs(), 1, "You must be root to execute "},
			{[]string{"show"}, 0, "Agent Status"},
		}},
		{"azure local", "initial: {status: Connected}\ncloud_provider: AzSHCI", []step{
			{[]string{"show"}, 0, "Cloud Provider                          : AzSHCI"},
			{[]string{"show", "--json"}, 0, `"cloudProvider": "AzSHCI"`},
		}},
		{"accept secret", "accept_secret_sha256: " + hex.EncodeToString(goodHash[:]), []step{
			{connectArgs("-p", "wrong-secret"), 41, "AZCM0041: Invalid Credentials"},
			{connectArgs(), 0, ""},
			{disconnectArgs("-p", "wrong-secret"), 41, "Invalid client secret"},
			{disconnectArgs(), 0, ""},
		}},
		{"resource exists", "resource_exists: true", []step{
			{connectArgs(), 44, "AZCM0044: Resource Name Already Exists"},
		}},
		{"created then fail", "created_then_fail: true", []step{
			{connectArgs(), 62, "AZCM0062: Connect Failed"},
			{[]string{"show"}, 0, "Resource Id                             : /subscriptions/"},
			{connectArgs(), 44, "AZCM0044"}, // the resource it created is in Azure
			{disconnectArgs(), 0, "Disconnected machine from Azure"},
			{connectArgs(), 0, "Connected machine to Azure"},
		}},
		{"connect fails after create, quietly", "connect_fails_after_create: true", []step{
			{connectArgs(), 62, "Creating resource in Azure...                 Correlation ID="},
			{[]string{"show", "--json"}, 0, `"status": "Disconnected",
  "resourceId": "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-arc/providers/Microsoft.HybridCompute/machines/web01"`},
			{disconnectArgs(), 0, ""},
			{connectArgs(), 0, "Connected machine to Azure"},
		}},
		{"throttled", "throttled: {retry_after: 1500ms, times: 2}", []step{
			{connectArgs(), 62, "Status Code=429 Too Many Requests, Retry-After: 2 "},
			{connectArgs(), 62, "AZCM0062: Connect Failed"},
			{connectArgs(), 0, "Connected machine to Azure"},
		}},
		{"service down until restart", "service_down: true", []step{
			{connectArgs(), 64, "AZCM0064: Agent Service Not Responding"},
			{connectArgs(), 64, "restart"},
			{[]string{"service", "restart"}, 0, ""},
			{connectArgs(), 0, ""},
		}},
		{"service stopped", "", []step{
			{[]string{"service", "stop"}, 0, ""},
			{[]string{"service", "status"}, 3, "inactive"},
			{[]string{"show"}, 0, "Agent Service (himds)                 : stopped"},
			{connectArgs(), 61, "AZCM0061: Agent Service Unreachable"},
			{[]string{"service", "start"}, 0, ""},
			{[]string{"service", "status"}, 0, "active (running)"},
			{connectArgs(), 0, ""},
			{[]string{"service", "bounce"}, 2, "unknown action"},
		}},
		{"old format", "connect: {code: AZCM0041, old_format: true}", []step{
			{connectArgs(), 1, "FATAL[0000] Invalid client secret is provided"},
			{connectArgs(), 1, `ERROR[0000] Failed to connect Error="Invalid client secret is provided"`},
		}},
		{"host-wide old format", "old_format: true\nresource_exists: true", []step{
			{connectArgs(), 1, "FATAL[0000]"},
		}},
		{"crash", "connect: {crash: true}", []step{
			{connectArgs(), 2, "panic: runtime error: invalid memory address or nil pointer dereference"},
			{connectArgs(), 2, "goroutine 1 [running]:"},
		}},
		{"show and check codes", "show: {code: AZCM0070}\ncheck: {code: AZCM0026, fail_first: 1}", []step{
			{[]string{"show"}, 70, "AZCM0070"},
			{[]string{"check"}, 26, "https://login.microsoftonline.com                      |false"},
			{[]string{"check"}, 0, "https://westeurope.his.arc.azure.com"},
		}},
		{"network dns", "network: {mode: dns, endpoints: [management.azure.com]}", []step{
			{[]string{"check"}, 0, `Get "https://management.azure.com": dial tcp: lookup management.azure.com on 10.0.0.2:53: no such host`},
			{[]string{"check"}, 0, "https://management.azure.com                           |false     |unknown |unknown |false"},
			{[]string{"check"}, 0, "https://login.windows.net                              |true      |false   |true    |false"},
			{connectArgs(), 26, "no such host"},
			{append(connectArgs(), "--ignore-network-check"), 0, ""},
		}},
		{"network proxy refused", "network: {mode: proxy-refused}", []step{
			{[]string{"check"}, 0, `Get "https://login.windows.net": Forbidden`},
			{[]string{"check"}, 0, "https://pas.windows.net                                |false     |false   |unknown |set"},
		}},
		{"network proxy unreachable", "network: {mode: proxy-unreachable}", []step{
			{[]string{"check"}, 0, "proxyconnect tcp: dial tcp 10.0.0.9:3128: connect: connection refused"},
		}},
		{"network firewall", "network: {mode: firewall, endpoints: [his.arc]}", []step{
			{[]string{"check"}, 0, `Get "https://gbl.his.arc.azure.com": dial tcp 20.50.2.1:443: i/o timeout`},
		}},
		{"network tls", "network: {mode: tls-inspection}", []step{
			{[]string{"check"}, 0, "x509: certificate signed by unknown authority"},
			{[]string{"check"}, 0, "https://management.azure.com                           |true      |false   |false   |false"},
		}},
		{"network private missing", "network: {mode: private-missing}", []step{
			{[]string{"check", "--enable-pls-check"}, 0, "https://gbl.his.arc.azure.com                          |true      |false   |true    |false"},
			{[]string{"check", "--enable-pls-check"}, 0, "https://login.windows.net                              |true      |false"},
		}},
		{"network private expected", "network: {mode: private-unexpected}", []step{
			{[]string{"check"}, 0, "https://gbl.his.arc.azure.com                          |true      |true    |true    |false"},
		}},
		{"network bad mode", "network: {mode: flaky}", []step{
			{[]string{"check"}, 1, `mode "flaky"`},
		}},
		{"initial connected", "initial: {status: Connected, resource_group: rg-old, location: swedencentral}", []step{
			{[]string{"show"}, 0, "Resource Id                             : /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-old/providers/Microsoft.HybridCompute/machines/web01"},
			{connectArgs(), 67, ""},
		}},
		{"agent version", "agent_version: 1.9.1234.5", []step{
			{[]string{"version"}, 0, "azcmagent version 1.9.1234.5"},
		}},
		{"bad scenario", "connect: {codez: 41}", []step{
			{connectArgs(), 1, "scenario.yaml"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHost(t, "web01")
			h.scenario(tt.yaml)
			for i, s := range tt.steps {
				r := h.run(s.args...)
				if r.code != s.code || !strings.Contains(r.stdout+r.stderr, s.want) {
					t.Fatalf("step %d (%s): want exit %d and %q, got %s", i+1, strings.Join(s.args, " "), s.code, s.want, r)
				}
				if strings.Contains(r.stdout+r.stderr, sentinel) {
					t.Fatalf("step %d: the secret reached the console:\n%s", i+1, r)
				}
				if tt.name == "old format" && strings.Contains(r.stdout+r.stderr, "AZCM") {
					t.Fatalf("old format must print no AZCM code:\n%s", r)
				}
			}
			if tt.name == "created then fail" && !strings.Contains(h.readFile("log/azcmagent.log"), `msg="Created resource /subscriptions/`) {
				t.Error("created_then_fail should log that the resource was created")
			}
			if tt.name == "connect fails after create, quietly" && strings.Contains(h.readFile("log/azcmagent.log"), "Created resource") {
				t.Error("connect_fails_after_create must not say the resource was created")
			}
			var st State
			if _, err := os.Stat(filepath.Join(h.root, "state.json")); err == nil {
				if err := json.Unmarshal([]byte(h.readFile("state.json")), &st); err != nil {
					t.Fatal(err)
				}
			}
			switch tt.name {
			case "created then fail", "connect fails after create, quietly", "resource deleted in Azure":
				// The failed connect's resource was deleted by the disconnect (or
				// was gone already): only the last connect's is in Azure.
				if len(st.AzureResources) != 1 || st.AzureResources[0] != st.ResourceID || st.Status != statusConnected {
					t.Errorf("Azure holds %v, the agent %s %s; want exactly its one resource", st.AzureResources, st.Status, st.ResourceID)
				}
			case "delete lock", "delete denied":
				if len(st.AzureResources) != 1 || st.Status != statusConnected || st.SuccessfulDisconnects != 0 {
					t.Errorf("a failed delete must leave everything as it was: %+v", st)
				}
			case "force-local orphans the resource: the next connect collides":
				if len(st.AzureResources) != 1 || st.ResourceID != "" {
					t.Errorf("the orphan stays in Azure, the agent holds nothing: %+v", st)
				}
			case "not root":
				if st.Attempts["connect"] != 0 || st.Attempts["disconnect"] != 0 {
					t.Errorf("the wrapper refused before the agent ran: %v", st.Attempts)
				}
			}
		})
	}
}

func TestSlow(t *testing.T) {
	h := newHost(t, "web01")
	h.scenario("slow: 400ms")
	r := h.expect(0, connectArgs()...)
	if r.elapsed < 400*time.Millisecond {
		t.Fatalf("slow: 400ms finished in %v", r.elapsed)
	}
	r = h.expect(0, "show")
	if r.elapsed < 400*time.Millisecond {
		t.Fatalf("slow applies to show too; took %v", r.elapsed)
	}
}

// TestFleetScenario: AZCMAGENT_SIM_SCENARIO picks each host's entry, else default:,
// and wins over ROOT/scenario.yaml.
func TestFleetScenario(t *testing.T) {
	fleet := filepath.Join(t.TempDir(), "fleet.yaml")
	os.WriteFile(fleet, []byte("default:\n  connect: {code: AZCM0026}\nhosts:\n  web02:\n    resource_exists: true\n  web03: {}\n"), 0o644)
	for name, code := range map[string]int{"web01": 26, "web02": 44, "web03": 0} {
		h := newHost(t, name, "AZCMAGENT_SIM_SCENARIO="+fleet)
		h.scenario("connect: {code: AZCM0042}") // ignored: the fleet file wins
		h.expect(code, connectArgs()...)
	}
	h := newHost(t, "web04", "AZCMAGENT_SIM_SCENARIO="+filepath.Join(t.TempDir(), "missing.yaml"))
	if r := h.expect(1, connectArgs()...); !strings.Contains(r.stdout, "missing.yaml") {
		t.Errorf("a missing fleet file must be named:\n%s", r)
	}
}

// TestHangKilled: hang blocks until killed; SIGKILL ends it at once, SIGTERM
// ends it with AZCM0011; while it hangs, show still answers.
func TestHangKilled(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			h := newHost(t, "web01")
			h.scenario("connect: {hang: true}")
			var out strings.Builder
			c := h.cmd(context.Background(), connectArgs()...)
			c.Stdout = &out
			pr, pw, _ := os.Pipe()
			c.Stderr = pw
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			done := make(chan error, 1)
			go func() { done <- c.Wait() }()
			go func() { // drain stderr
				sc := bufio.NewScanner(pr)
				for sc.Scan() {
				}
			}()
			waitFor(t, func() bool {
				return strings.Contains(readOr(filepath.Join(h.root, "log/azcmagent.log")), "Connecting machine")
			})
			if r := h.run("show"); r.code != 0 {
				t.Fatalf("show during a hang: %s", r)
			}
			time.Sleep(100 * time.Millisecond)
			select {
			case <-done:
				t.Fatal("the hanging connect exited by itself")
			default:
			}
			start := time.Now()
			c.Process.Signal(sig)
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				c.Process.Kill()
				t.Fatalf("%v did not end the hang", sig)
			}
			if time.Since(start) > 2*time.Second {
				t.Errorf("took %v to die", time.Since(start))
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("want an exit error, got %v", err)
			}
			ws := ee.Sys().(syscall.WaitStatus)
			switch sig {
			case syscall.SIGKILL:
				if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
					t.Errorf("want death by SIGKILL, got %v", ws)
				}
			case syscall.SIGTERM:
				if ee.ExitCode() != 11 || !strings.Contains(out.String(), "AZCM0011: Operation Cancelled") {
					t.Errorf("SIGTERM: want exit 11 with AZCM0011, got %d\n%s", ee.ExitCode(), out.String())
				}
			}
		})
	}
}

func readOr(path string) string {
	data, _ := os.ReadFile(path)
	return string(data)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
