package azure

import (
	"context"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/testbed/azurefake"
)

// saysItself fails t unless m says text word for word in English, by a key of
// its own (not the text as it is), and says something else in Swedish.
func saysItself(t *testing.T, what string, m results.Msg, text string) {
	t.Helper()
	if m.Key == results.MsgText || m.Key == "" {
		t.Errorf("%s: no message key, only the text %q", what, text)
		return
	}
	en, sv := m.Text("en"), m.Text("sv")
	if en != text {
		t.Errorf("%s: message says %q in English, the text is %q", what, en, text)
	}
	if sv == "" || sv == en {
		t.Errorf("%s: no Swedish of its own: %q", what, sv)
	}
}

// Every pre-flight finding (blocking or a warning, from each check and each
// way a call fails) and every verification detail carries its text as a
// message: the English is the Message/Detail word for word (so English output
// reads as before), the Swedish differs; a blocked host's detail (BlockMsg)
// is the old "Azure pre-flight: CODE SCOPE: MESSAGE; fix: REMEDY" in English.
func TestFindingsAndChecksSayThemselves(t *testing.T) {
	ctx := context.Background()
	f, ts := world(t)
	f.PutMachine(sub1, "rg-clash", azurefake.Machine{Name: "web-06", Status: "Expired"})
	f.SetProvider(sub2, "Microsoft.GuestConfiguration", false) // with AzureArcData: two providers
	creds := map[string]inventory.Credential{"sp": spCred(), "bad": {Name: "bad", ClientID: app, TenantID: tenant, Secret: inventory.SecretRef{Env: "WRONG"}}}
	wrong := host("wrong-01", sub1, "rg-ok", "westeurope")
	wrong.Credential = "bad"
	nocred := host("nocred-01", sub1, "rg-ok", "westeurope")
	nocred.Credential = "nope"
	hosts := []*inventory.Host{
		host("ok-far", sub1, "rg-ok", "australiacentral"), host("lock-01", sub1, "rg-lock", "westeurope"),
		host("ro-01", sub1, "rg-ro", "westeurope"), host("noperm-01", sub1, "rg-noperm", "westeurope"),
		host("web-03", sub1, "rg-clash", "westeurope"), host("web-06", sub1, "rg-clash", "westeurope"),
		host("db-01", sub1, "rg-machinelock", "westeurope"), host("b-01", sub2, "rg-b", "westeurope"),
		host("gone-01", sub1, "rg-gone", "westeurope"), host("nosub-01", "55555555-aaaa-bbbb-cccc-000000000005", "rg", "westeurope"),
		wrong, nocred,
	}
	agents := map[string]AgentState{"web-03": {Probed: true, Status: "Disconnected"}}
	ts = newSource(f, Options{LookupEnv: env(map[string]string{"SP": secret, "WRONG": "not-the-secret"})})
	var all []Finding
	r := Preflight(ctx, ts, Request{Action: ActionConnect, Hosts: hosts, Credentials: creds, Agents: agents})
	all = append(all, r.Findings...)
	// A reconnect through the delete locks; Resource Manager failing every list.
	r = Preflight(ctx, ts, Request{Action: ActionReconnect, Hosts: []*inventory.Host{host("lock-01", sub1, "rg-lock", "westeurope"), host("db-01", sub1, "rg-machinelock", "westeurope")}, Credentials: creds})
	all = append(all, r.Findings...)
	for _, k := range []string{azurefake.KindProviders, azurefake.KindPermissions, azurefake.KindLocks, azurefake.KindMachines} {
		f.Fail(k, 10, 400, "BadRequest")
	}
	r = Preflight(ctx, ts, Request{Action: ActionConnect, Hosts: []*inventory.Host{host("ok-01", sub1, "rg-ok", "westeurope")}, Credentials: creds})
	all = append(all, r.Findings...)
	for _, k := range []string{azurefake.KindProviders, azurefake.KindPermissions, azurefake.KindLocks, azurefake.KindMachines} {
		f.Fail(k, 0, 0, "")
	}

	seen := map[string]bool{}
	for _, fd := range all {
		t.Logf("%s %s: %s", fd.Code, fd.Scope, fd.Message)
		what := fd.Code + " " + fd.Scope
		saysItself(t, what+" message", fd.Msg, fd.Message)
		saysItself(t, what+" scope", fd.ScopeMsg, fd.Scope)
		seen[fd.Msg.Key] = true
		want := "Azure pre-flight: " + fd.Code + " " + fd.Scope + ": " + fd.Message + "; fix: " + fd.Remedy("en")
		if got := BlockMsg([]Finding{fd}).Text("en"); got != want {
			t.Errorf("block detail %q, want %q", got, want)
		}
		sv := BlockMsg([]Finding{fd}).Text("sv")
		if !strings.HasPrefix(sv, "Azure-förkontroll: ") || !strings.Contains(sv, fd.Remedy("sv")) || strings.Contains(sv, "; fix: ") {
			t.Errorf("Swedish block detail %q", sv)
		}
	}
	two := []Finding{all[0], all[1]}
	if got, want := BlockMsg(two).Text("en"), BlockMsg(two[:1]).Text("en")+"; "+strings.TrimPrefix(BlockMsg(two[1:]).Text("en"), "Azure pre-flight: "); got != want {
		t.Errorf("two findings: %q, want %q", got, want)
	}
	for _, k := range []string{"az_no_cred", "az_sub_not_found", "az_unchecked_providers", "az_provider_unreg", "az_providers_unreg", "az_bad_location",
		"az_rg_missing", "az_unchecked_perms", "az_may_not", "az_unchecked_locks", "az_unchecked_machines", "az_name_clash", "az_name_clash_unprobed",
		"az_lock_readonly", "az_lock_connect", "az_lock_delete", "az_token_refused"} {
		if !seen[k] {
			t.Errorf("no finding said %s: the run did not take that path", k)
		}
	}

	// Verification details.
	id := func(n string) string { return azurefake.MachineID(sub1, "rg-ok", n) }
	for _, n := range []string{"good", "other", "left", "byname"} {
		f.PutMachine(sub1, "rg-ok", azurefake.Machine{Name: n})
	}
	f.PutMachine(sub1, "rg-ok", azurefake.Machine{Name: "stale", Status: "Disconnected"})
	vh := func(name, action, rid string) VerifyHost {
		return VerifyHost{Host: host(name, sub1, "rg-ok", "westeurope"), Action: action, Outcome: results.OutcomeOK, ResourceID: rid}
	}
	v := Verify(ctx, ts, VerifyRequest{Credentials: creds, Hosts: []VerifyHost{
		vh("good", ActionConnect, id("good")), vh("missing", ActionConnect, id("missing")), vh("missing2", ActionConnect, ""),
		vh("stale", ActionConnect, id("stale")), vh("other", ActionConnect, "/subscriptions/"+sub2+"/resourceGroups/rg-b/providers/Microsoft.HybridCompute/machines/other"), vh("left", ActionDisconnect, ""),
		vh("gone", ActionDisconnect, ""), vh("byname", ActionReconnect, ""),
		{Host: nocred, Action: ActionConnect, Outcome: results.OutcomeOK},
		{Host: host("g", sub1, "rg-gone", "westeurope"), Action: ActionConnect, Outcome: results.OutcomeOK},
	}})
	seen = map[string]bool{}
	for _, c := range v.Hosts {
		t.Logf("%s %s: %s", c.Host, c.Code, c.Detail)
		if c.DetailMsg == nil {
			t.Errorf("%s: no detail message", c.Host)
			continue
		}
		if c.Host == "good" || c.Host == "byname" { // "Connected" is Azure's word, in both
			if c.DetailMsg.Text("en") != c.Detail || c.DetailMsg.Key == results.MsgText {
				t.Errorf("%s: %+v says %q", c.Host, c.DetailMsg, c.Detail)
			}
		} else {
			saysItself(t, c.Host, *c.DetailMsg, c.Detail)
		}
		seen[c.DetailMsg.Key] = true
	}
	for _, k := range []string{"az_v_ok", "az_v_ok_by_name", "az_v_no_machine", "az_v_agent_missing", "az_v_id_mismatch", "az_v_not_connected", "az_v_still_present", "az_no_cred", "az_v_arm"} {
		if !seen[k] {
			t.Errorf("no check said %s", k)
		}
	}

	// Token errors that no fake reaches here: each says itself.
	_, err := cloudConfig("Moon", nil)
	saysItself(t, "unknown cloud", errMsg(err), err.Error())
	for _, c := range []inventory.Credential{
		{Name: "c1", TokenFrom: inventory.TokenFromClientSecret},
		{Name: "c2", TokenFrom: inventory.TokenFromClientSecret, Secret: inventory.SecretRef{Env: "UNSET"}},
		{Name: "c3", TokenFrom: inventory.TokenFromClientCertificate},
		{Name: "c4", TokenFrom: inventory.TokenFromClientCertificate, Certificate: inventory.SecretRef{Env: "UNSET"}},
		{Name: "c5", TokenFrom: "carrier-pigeon"},
	} {
		_, _, e := ts.credential(c, cloudPublicConfig(t))
		if e == nil {
			t.Fatalf("%s: no error", c.Name)
		}
		saysItself(t, c.Name, e.Msg(), e.Error())
		if strings.Contains(e.Msg().Text("sv"), "is not set") {
			t.Errorf("%s: the secret's reason in English: %q", c.Name, e.Msg().Text("sv"))
		}
	}
}

func cloudPublicConfig(t *testing.T) cloud.Configuration {
	t.Helper()
	c, err := cloudConfig(CloudPublic, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
