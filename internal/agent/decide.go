package agent

import (
	"strings"
	"time"

	"github.com/arcfleet/arcfleet/internal/results"
)

// The decision rules: what to do with a host, given what its agent shows
// (`azcmagent show --json`, AgentShow) and where the inventory wants it
// registered. Pure functions: the executor probes, calls Decide, and runs the
// steps; `plan --probe` shows the same verdicts.

// CloudProviderAzureLocal is what `azcmagent show` reports as "Cloud Provider"
// on an Azure Local (formerly Azure Stack HCI) machine. There Microsoft's
// documentation warns that `azcmagent disconnect` can delete the machine itself
// (its Arc registration belongs to the Azure Local deployment), so arcfleet
// neither disconnects nor re-registers such a host unless its inventory allows
// it (azure.allow_azure_local_disconnect).
const CloudProviderAzureLocal = "AzSHCI"

// Target is where the inventory wants a host registered.
type Target struct {
	SubscriptionID string
	ResourceGroup  string
	Location       string
	TenantID       string
}

func (t Target) String() string { return t.Msg().Text("en") }

// Msg is the target in words, for reports in either language.
func (t Target) Msg() results.Msg {
	return results.M("target", t.SubscriptionID, t.ResourceGroup, t.Location, t.TenantID)
}

// Connected: the agent's status is Connected.
func (s AgentShow) Connected() bool { return strings.EqualFold(s.Status, "Connected") }

// Registered: the agent holds a registration (an Azure resource in its local
// state), whatever its status: Connected, Expired, or Disconnected with a
// resource id left (a connect that failed after Azure created the resource).
func (s AgentShow) Registered() bool {
	return s.Connected() || s.ResourceID != "" || strings.EqualFold(s.Status, "Expired")
}

// OnAzureLocal: `show` reports the Azure Local cloud provider (AzSHCI).
func (s AgentShow) OnAzureLocal() bool {
	return strings.EqualFold(strings.TrimSpace(s.CloudProvider), CloudProviderAzureLocal)
}

// Registration is where the agent is registered as far as it says: subscription
// and resource group missing from the show output are read from its resource id.
func (s AgentShow) Registration() Target {
	t := Target{SubscriptionID: s.SubscriptionID, ResourceGroup: s.ResourceGroup, Location: s.Location, TenantID: s.TenantID}
	sub, rg, _ := ParseResourceID(s.ResourceID)
	if t.SubscriptionID == "" {
		t.SubscriptionID = sub
	}
	if t.ResourceGroup == "" {
		t.ResourceGroup = rg
	}
	return t
}

// ParseResourceID reads subscription, resource group and resource name from an
// ARM resource id (/subscriptions/SUB/resourceGroups/RG/providers/NS/TYPE/NAME);
// "" for what it lacks. Segment names compare case-insensitively, as in ARM.
func ParseResourceID(id string) (sub, rg, name string) {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	for k := 0; k+1 < len(parts); k += 2 {
		switch strings.ToLower(parts[k]) {
		case "subscriptions":
			sub = parts[k+1]
		case "resourcegroups":
			rg = parts[k+1]
		case "providers":
			// providers/NAMESPACE/TYPE/NAME[/...]: the machine's name.
			if k+3 < len(parts) {
				name = parts[k+3]
			}
			return sub, rg, name
		}
	}
	return sub, rg, name
}

// AtTarget: the agent's registration matches want's subscription, resource
// group, location and tenant (Azure ids and names compare case-insensitively;
// locations also without spaces, as ARM does). A tenant or location the agent
// does not report is not counted as a difference, but a subscription or
// resource group that cannot be known is: arcfleet never acts on a
// registration it cannot place. Empty fields of want match anything.
func AtTarget(s AgentShow, want Target) bool {
	got := s.Registration()
	loc := func(v string) string { return strings.ToLower(strings.ReplaceAll(v, " ", "")) }
	eq := func(got, want string) bool { return want == "" || strings.EqualFold(got, want) }
	known := func(got, want string) bool { return got == "" || eq(got, want) }
	return eq(got.SubscriptionID, want.SubscriptionID) && eq(got.ResourceGroup, want.ResourceGroup) &&
		(want.Location == "" || got.Location == "" || loc(got.Location) == loc(want.Location)) &&
		known(got.TenantID, want.TenantID)
}

// Verdict is what Decide concluded.
type Verdict string

const (
	VerdictConnect    Verdict = "connect"    // run connect
	VerdictDisconnect Verdict = "disconnect" // run disconnect
	// VerdictReconnect: disconnect (deleting the Azure resource), then connect;
	// or, for an agent without registration, `disconnect --force-local-only`
	// (clears local leftovers, deletes nothing in Azure), then connect.
	VerdictReconnect Verdict = "reconnect"
	VerdictUnchanged Verdict = "unchanged" // already as intended: nothing to run
	VerdictDrift     Verdict = "drift"     // registered elsewhere: left alone
	VerdictExpired   Verdict = "expired"   // registered at the target but not Connected: connect cannot repair it
	// VerdictAzureLocal: the steps would disconnect an Azure Local machine and
	// its inventory does not allow that: refused, the host is left as it is.
	VerdictAzureLocal Verdict = "azure-local"
)

// Situation is what the executor knows about a host besides the probe.
type Situation struct {
	Action string // ActionConnect, ActionDisconnect or ActionReconnect
	Want   Target // the inventory's target
	// Reregister: the retry policy asks for a new registration (its reconnect
	// remedy, e.g. after AZCM0081 or an AZCM0067 away from the target).
	Reregister bool
	// LastCode is the code of the host's previous failed try in this run ("" on the first).
	LastCode string
	// LastAct is the last agent action step begun on the host (StepConnect,
	// StepDisconnect, StepDisconnectLocal), in this run or, on resume, an earlier
	// one; "" when arcfleet has not acted on it.
	LastAct string
	// AllowAzureLocal is the host's azure.allow_azure_local_disconnect.
	AllowAzureLocal bool
	// Run names this run on the host (its lease), and Started is when it began:
	// a reconnect that another run completed on the host since then is not
	// repeated (two overlapping re-registration jobs).
	Run     string
	Started time.Time
}

// Decision is what to do with a host.
type Decision struct {
	Verdict Verdict
	// Steps are the agent steps to run in order (StepConnect, StepDisconnect,
	// StepDisconnectLocal); nil when the verdict runs nothing.
	Steps []string
	// Reason says why in words, naming targets and resources: for verdicts
	// that run nothing, and for the clean-up after AZCM0062. It is Why in
	// English; Why renders it in a report's language.
	Reason string
	Why    results.Msg
}

// because is d with its reason m.
func (d Decision) because(m results.Msg) Decision {
	d.Why, d.Reason = m, m.Text("en")
	return d
}

// Acts reports whether the decision runs agent steps.
func (d Decision) Acts() bool { return len(d.Steps) > 0 }

// Decide applies the rules to what the agent shows:
//   - unchanged: connect of an agent Connected at the target (also after AZCM0067
//     "already connected"); reconnect that already connected it in this run;
//     disconnect of an agent without registration.
//   - drift: registered to another target; arcfleet never disconnects someone
//     else's resource.
//   - connect: an agent without registration gets connect; one registered at
//     the target but not Connected is "expired" (reconnect repairs it).
//   - After AZCM0062 (connect failed after Azure may have created the machine
//     resource), an agent that now holds a registration at the target holds the
//     resource its own failed connect created (connect only ever runs on an agent
//     without registration): disconnect deletes exactly that resource, then
//     connect. Without registration there is nothing of this host's to delete:
//     connect again. A same-name resource of another machine never enters this
//     host's local state (connect fails AZCM0044 instead), so it is never touched.
//   - disconnect, and reconnect of a registered agent: disconnect, then connect.
//     A re-registration of an agent without registration clears local leftovers
//     with `disconnect --force-local-only` (nothing in Azure is recorded, so
//     nothing can be orphaned), then connects.
//   - Any disconnect of an Azure Local machine (cloud provider AzSHCI) is refused
//     unless allowed: there the docs warn that disconnect can delete the machine.
func Decide(s AgentShow, sit Situation) Decision {
	connected, registered, at := s.Connected(), s.Registered(), AtTarget(s, sit.Want)
	unchanged := func(why results.Msg) Decision { return Decision{Verdict: VerdictUnchanged}.because(why) }
	switch {
	case sit.Action == ActionConnect && connected && at && (!sit.Reregister || sit.LastCode == "AZCM0067"):
		// AZCM0067 ("already connected") at the intended target is success, not a reason to reconnect.
		return unchanged(results.M("already_connected").With(sit.Want.Msg()))
	case sit.Action == ActionReconnect && connected && at && sit.LastAct == StepConnect:
		return unchanged(results.M("connected_to").With(sit.Want.Msg()))
	case sit.Action == ActionReconnect && connected && at && sit.LastAct == "" && s.Last.Step == StepConnect && s.Last.Exit == 0 &&
		s.Last.Run != "" && s.Last.Run != sit.Run && !s.Last.At.Before(sit.Started.Truncate(time.Second)):
		return unchanged(results.M("reregistered_by_other", s.Last.Run, s.Last.At.Format(time.RFC3339)).With(sit.Want.Msg()))
	case sit.Action == ActionDisconnect && !registered:
		return unchanged(results.M("already_disconnected"))
	}
	if registered && !at {
		return Decision{Verdict: VerdictDrift}.because(results.M("drift", strings.ToLower(s.Status)).With(s.Registration().Msg(), sit.Want.Msg()))
	}
	var d Decision
	switch sit.Action {
	case ActionConnect:
		switch {
		case registered && sit.LastCode == "AZCM0062" && sit.LastAct == StepConnect:
			d = Decision{Verdict: VerdictReconnect, Steps: []string{StepDisconnect, StepConnect}}.because(
				results.M("azcm0062_cleanup", s.Status).With(resourceName(s)))
		case sit.Reregister && registered:
			d = Decision{Verdict: VerdictReconnect, Steps: []string{StepDisconnect, StepConnect}}
		case sit.Reregister:
			d = Decision{Verdict: VerdictReconnect, Steps: []string{StepDisconnectLocal, StepConnect}}
		case registered:
			return Decision{Verdict: VerdictExpired}.because(results.M("expired_at_target", s.Status).With(sit.Want.Msg()))
		default:
			d = Decision{Verdict: VerdictConnect, Steps: []string{StepConnect}}
		}
	case ActionDisconnect:
		d = Decision{Verdict: VerdictDisconnect, Steps: []string{StepDisconnect}}
	default: // reconnect
		switch {
		case registered:
			d = Decision{Verdict: VerdictReconnect, Steps: []string{StepDisconnect, StepConnect}}
		case sit.Reregister:
			d = Decision{Verdict: VerdictReconnect, Steps: []string{StepDisconnectLocal, StepConnect}}
		default:
			d = Decision{Verdict: VerdictConnect, Steps: []string{StepConnect}}
		}
	}
	if s.OnAzureLocal() && !sit.AllowAzureLocal && d.disconnects() {
		return Decision{Verdict: VerdictAzureLocal}.because(results.M("azure_local_refused", s.CloudProvider).With(resourceName(s)))
	}
	return d
}

// disconnects: the decision's steps include a disconnect of any kind.
func (d Decision) disconnects() bool {
	for _, st := range d.Steps {
		if st == StepDisconnect || st == StepDisconnectLocal {
			return true
		}
	}
	return false
}

// resourceName names the agent's resource for messages: its id, else "the machine".
func resourceName(s AgentShow) results.Msg {
	if s.ResourceID != "" {
		return results.M(results.MsgText, s.ResourceID)
	}
	if s.ResourceName != "" {
		return results.M("resource_named", s.ResourceName)
	}
	return results.M("the_machine")
}
