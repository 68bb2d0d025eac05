package agent

import (
	"slices"
	"strings"
	"testing"
)

var want = Target{SubscriptionID: "sub-1", ResourceGroup: "rg-1", Location: "westeurope", TenantID: "tenant-1"}

const rid = "/subscriptions/SUB-1/resourceGroups/RG-1/providers/Microsoft.HybridCompute/machines/h"

// AtTarget places a registration the show output describes only partly: the
// resource id gives subscription and resource group; a missing tenant or
// location is no drift; Azure names compare case-insensitively.
func TestAtTarget(t *testing.T) {
	tests := []struct {
		name string
		s    AgentShow
		want bool
	}{
		{"all given", AgentShow{SubscriptionID: "sub-1", ResourceGroup: "rg-1", Location: "westeurope", TenantID: "tenant-1"}, true},
		{"case and spaces", AgentShow{SubscriptionID: "SUB-1", ResourceGroup: "RG-1", Location: "West Europe", TenantID: "TENANT-1"}, true},
		{"no tenant", AgentShow{SubscriptionID: "sub-1", ResourceGroup: "rg-1", Location: "westeurope"}, true},
		{"no location", AgentShow{SubscriptionID: "sub-1", ResourceGroup: "rg-1", TenantID: "tenant-1"}, true},
		{"only resource id", AgentShow{ResourceID: rid}, true},
		{"resource id elsewhere", AgentShow{ResourceID: "/subscriptions/sub-2/resourceGroups/rg-1/providers/x/y/h"}, false},
		{"nothing known", AgentShow{Status: "Connected"}, false},
		{"other tenant", AgentShow{SubscriptionID: "sub-1", ResourceGroup: "rg-1", TenantID: "tenant-2"}, false},
		{"other location", AgentShow{SubscriptionID: "sub-1", ResourceGroup: "rg-1", Location: "eastus"}, false},
		{"other group", AgentShow{ResourceID: rid, ResourceGroup: "rg-9"}, false},
	}
	for _, tc := range tests {
		if got := AtTarget(tc.s, want); got != tc.want {
			t.Errorf("%s: AtTarget = %v, want %v", tc.name, got, tc.want)
		}
	}
	// An empty field of the target matches anything.
	if !AtTarget(AgentShow{ResourceID: rid, Location: "eastus", TenantID: "t-9"}, Target{SubscriptionID: "sub-1", ResourceGroup: "rg-1"}) {
		t.Error("a target without location and tenant should match any")
	}
}

func TestParseResourceID(t *testing.T) {
	tests := []struct{ id, sub, rg, name string }{
		{rid, "SUB-1", "RG-1", "h"},
		{"subscriptions/s/resourcegroups/g/providers/Microsoft.HybridCompute/machines/m/extensions/e", "s", "g", "m"},
		{"/subscriptions/s", "s", "", ""},
		{"/subscriptions/s/resourceGroups/g/providers/Microsoft.HybridCompute", "s", "g", ""},
		{"", "", "", ""},
		{"not an id", "", "", ""},
	}
	for _, tc := range tests {
		sub, rg, name := ParseResourceID(tc.id)
		if sub != tc.sub || rg != tc.rg || name != tc.name {
			t.Errorf("ParseResourceID(%q) = %q %q %q, want %q %q %q", tc.id, sub, rg, name, tc.sub, tc.rg, tc.name)
		}
	}
}

func TestShowStates(t *testing.T) {
	tests := []struct {
		s                     AgentShow
		connected, registered bool
		azureLocal            bool
	}{
		{AgentShow{Status: "Connected", ResourceID: rid}, true, true, false},
		{AgentShow{Status: "connected"}, true, true, false},
		{AgentShow{Status: "Expired"}, false, true, false},
		{AgentShow{Status: "Disconnected", ResourceID: rid}, false, true, false},
		{AgentShow{Status: "Disconnected"}, false, false, false},
		{AgentShow{}, false, false, false},
		{AgentShow{Status: "Connected", CloudProvider: "AzSHCI"}, true, true, true},
		{AgentShow{CloudProvider: " azshci "}, false, false, true},
		{AgentShow{CloudProvider: "AWS"}, false, false, false},
	}
	for _, tc := range tests {
		if tc.s.Connected() != tc.connected || tc.s.Registered() != tc.registered || tc.s.OnAzureLocal() != tc.azureLocal {
			t.Errorf("%+v: connected %v registered %v azure local %v, want %v %v %v", tc.s,
				tc.s.Connected(), tc.s.Registered(), tc.s.OnAzureLocal(), tc.connected, tc.registered, tc.azureLocal)
		}
	}
}

// ParseProbe reads "Cloud Provider" from `show --json` whatever the key's case.
func TestParseProbeCloudProvider(t *testing.T) {
	for _, key := range []string{"cloudProvider", "CloudProvider", "cloudprovider"} {
		s, err := ParseProbe(`{"status":"Connected","` + key + `":"AzSHCI"}`)
		if err != nil || !s.OnAzureLocal() {
			t.Errorf("%s: %+v %v", key, s, err)
		}
	}
}

func TestDecide(t *testing.T) {
	connected := AgentShow{Status: "Connected", ResourceID: rid, Location: "westeurope", TenantID: "tenant-1"}
	elsewhere := AgentShow{Status: "Connected", ResourceID: "/subscriptions/sub-1/resourceGroups/rg-other/providers/Microsoft.HybridCompute/machines/h", Location: "eastus"}
	expired := AgentShow{Status: "Expired", ResourceID: rid}
	leftover := AgentShow{Status: "Disconnected", ResourceID: rid} // a failed connect's registration
	none := AgentShow{Status: "Disconnected"}
	azl := connected
	azl.CloudProvider = "AzSHCI"
	azlNone := none
	azlNone.CloudProvider = "AzSHCI"

	conn, disc, reconn := ActionConnect, ActionDisconnect, ActionReconnect
	type sit = Situation
	tests := []struct {
		name    string
		s       AgentShow
		sit     Situation
		verdict Verdict
		steps   []string
		reason  string // a part of Reason
	}{
		// connect
		{"connect: nothing there", none, sit{Action: conn}, VerdictConnect, []string{StepConnect}, ""},
		{"connect: already at target", connected, sit{Action: conn}, VerdictUnchanged, nil, "already connected to subscription sub-1"},
		{"connect: after AZCM0067 at target", connected, sit{Action: conn, Reregister: true, LastCode: "AZCM0067"}, VerdictUnchanged, nil, "already connected"},
		{"connect: elsewhere", elsewhere, sit{Action: conn}, VerdictDrift, nil, "resource group rg-other"},
		{"connect: elsewhere, re-register asked", elsewhere, sit{Action: conn, Reregister: true}, VerdictDrift, nil, "the inventory wants subscription sub-1"},
		{"connect: expired", expired, sit{Action: conn}, VerdictExpired, nil, "status is Expired"},
		{"connect: re-register a registered agent (AZCM0081)", connected, sit{Action: conn, Reregister: true, LastCode: "AZCM0081"}, VerdictReconnect, []string{StepDisconnect, StepConnect}, ""},
		{"connect: re-register an agent without registration", none, sit{Action: conn, Reregister: true, LastCode: "AZCM0081"}, VerdictReconnect, []string{StepDisconnectLocal, StepConnect}, ""},
		{"connect: AZCM0062 left this host's registration", leftover, sit{Action: conn, LastCode: "AZCM0062", LastAct: StepConnect}, VerdictReconnect, []string{StepDisconnect, StepConnect}, rid},
		{"connect: AZCM0062 left nothing", none, sit{Action: conn, LastCode: "AZCM0062", LastAct: StepConnect}, VerdictConnect, []string{StepConnect}, ""},
		{"connect: AZCM0062 and the agent is Connected after all", connected, sit{Action: conn, LastCode: "AZCM0062", LastAct: StepConnect}, VerdictUnchanged, nil, "already connected"},
		{"connect: AZCM0062 registered elsewhere is never deleted", elsewhere, sit{Action: conn, LastCode: "AZCM0062", LastAct: StepConnect}, VerdictDrift, nil, "drift"},
		{"connect: registration not from this run's connect", leftover, sit{Action: conn, LastCode: "AZCM0062"}, VerdictExpired, nil, "Disconnected"},
		// disconnect
		{"disconnect: registered", connected, sit{Action: disc}, VerdictDisconnect, []string{StepDisconnect}, ""},
		{"disconnect: expired", expired, sit{Action: disc}, VerdictDisconnect, []string{StepDisconnect}, ""},
		{"disconnect: nothing there", none, sit{Action: disc}, VerdictUnchanged, nil, "already disconnected"},
		{"disconnect: elsewhere", elsewhere, sit{Action: disc}, VerdictDrift, nil, "drift"},
		// reconnect
		{"reconnect: registered", connected, sit{Action: reconn}, VerdictReconnect, []string{StepDisconnect, StepConnect}, ""},
		{"reconnect: expired", expired, sit{Action: reconn}, VerdictReconnect, []string{StepDisconnect, StepConnect}, ""},
		{"reconnect: nothing there", none, sit{Action: reconn}, VerdictConnect, []string{StepConnect}, ""},
		{"reconnect: re-register, nothing there", none, sit{Action: reconn, Reregister: true}, VerdictReconnect, []string{StepDisconnectLocal, StepConnect}, ""},
		{"reconnect: connected by this run", connected, sit{Action: reconn, LastAct: StepConnect}, VerdictUnchanged, nil, "connected to subscription sub-1"},
		{"reconnect: elsewhere", elsewhere, sit{Action: reconn}, VerdictDrift, nil, "drift"},
		// Azure Local
		{"azure local: reconnect refused", azl, sit{Action: reconn}, VerdictAzureLocal, nil, "AzSHCI"},
		{"azure local: disconnect refused", azl, sit{Action: disc}, VerdictAzureLocal, nil, "allow_azure_local_disconnect"},
		{"azure local: re-register refused", azl, sit{Action: conn, Reregister: true, LastCode: "AZCM0081"}, VerdictAzureLocal, nil, rid},
		{"azure local: force-local refused too", azlNone, sit{Action: conn, Reregister: true}, VerdictAzureLocal, nil, "refused"},
		{"azure local: connect of a new machine is fine", azlNone, sit{Action: conn}, VerdictConnect, []string{StepConnect}, ""},
		{"azure local: already connected", azl, sit{Action: conn}, VerdictUnchanged, nil, "already connected"},
		{"azure local: allowed", azl, sit{Action: reconn, AllowAzureLocal: true}, VerdictReconnect, []string{StepDisconnect, StepConnect}, ""},
		{"azure local: disconnect of nothing", azlNone, sit{Action: disc}, VerdictUnchanged, nil, "already disconnected"},
	}
	for _, tc := range tests {
		tc.sit.Want = want
		d := Decide(tc.s, tc.sit)
		if d.Verdict != tc.verdict || !slices.Equal(d.Steps, tc.steps) || !strings.Contains(d.Reason, tc.reason) {
			t.Errorf("%s: %s %v %q, want %s %v with %q", tc.name, d.Verdict, d.Steps, d.Reason, tc.verdict, tc.steps, tc.reason)
		}
		if d.Acts() != (len(tc.steps) > 0) {
			t.Errorf("%s: Acts() = %v", tc.name, d.Acts())
		}
		if !d.Acts() && d.Reason == "" {
			t.Errorf("%s: a verdict that runs nothing must say why", tc.name)
		}
	}
}

// Every decision that deletes an Azure resource (disconnect) comes from a
// registration at the intended target: never another target's resource.
func TestDecideNeverDisconnectsElsewhere(t *testing.T) {
	shows := []AgentShow{
		{Status: "Connected", SubscriptionID: "sub-2", ResourceGroup: "rg-1"},
		{Status: "Expired", ResourceID: "/subscriptions/sub-1/resourceGroups/rg-2/providers/p/t/n"},
		{Status: "Disconnected", ResourceID: "/subscriptions/sub-1/resourceGroups/rg-1/providers/p/t/n", TenantID: "tenant-9"},
		{Status: "Connected"}, // cannot be placed
	}
	for _, s := range shows {
		for _, a := range []string{ActionConnect, ActionDisconnect, ActionReconnect} {
			for _, code := range []string{"", "AZCM0062", "AZCM0067", "AZCM0081"} {
				for _, rereg := range []bool{false, true} {
					d := Decide(s, Situation{Action: a, Want: want, LastCode: code, LastAct: StepConnect, Reregister: rereg, AllowAzureLocal: true})
					if slices.Contains(d.Steps, StepDisconnect) || slices.Contains(d.Steps, StepDisconnectLocal) {
						t.Errorf("%+v %s %s %v: %v", s, a, code, rereg, d.Steps)
					}
				}
			}
		}
	}
}
