package executor

import (
	"slices"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/results"
)

// Safe re-registration (docs/remediation.md):
//   - before a disconnect runs, the host's report records what it deletes: the
//     Azure resource as the agent shows it, and what goes with it;
//   - a failed delete falls back to `disconnect --force-local-only` only when
//     the failure says the resource is already gone; a delete lock or a
//     credential without delete rights leaves the host as it was, with the fix;
//   - Azure Local machines are not disconnected unless the inventory allows it
//     (agent.Decide).

// codeAzureLocal: refused to disconnect an Azure Local machine (results' catalog explains it).
const codeAzureLocal = "ARCF-AZURE-LOCAL"

// evNote is the journal event of a report note (Detail: the note). It is
// written before the step it describes runs, so a resume's report keeps it.
const evNote = "note"

// target is where the inventory wants the host registered.
func (hr *hostRun) target() agent.Target {
	a := hr.h.Azure
	return agent.Target{SubscriptionID: a.SubscriptionID, ResourceGroup: a.ResourceGroup, Location: a.Location, TenantID: hr.intendedTenant()}
}

// decide turns the probe's view of the agent into the steps to run, or a
// final outcome, by agent.Decide's rules. It keeps the probe for act: what a
// disconnect is about to delete.
func (hr *hostRun) decide(s agent.AgentShow, rem remedy) ([]string, tryOutcome) {
	hr.show = s
	d := agent.Decide(s, agent.Situation{Action: hr.r.p.Action, Want: hr.target(), Reregister: rem == remedyReconnect,
		LastCode: hr.lastCode, LastAct: hr.lastAct, AllowAzureLocal: hr.h.Azure.AllowAzureLocalDisconnect, Run: hr.r.lockID, Started: hr.r.started})
	blocked := func(code string) ([]string, tryOutcome) {
		return nil, said(tryOutcome{final: true, outcome: results.OutcomeBlocked, diag: results.Diagnosis{Code: code, Class: results.ClassOf(code)}}, d.Why)
	}
	switch d.Verdict {
	case agent.VerdictUnchanged:
		o, code, why := results.OutcomeUnchanged, "", d.Why
		if hr.lastAct != "" {
			o, code = results.OutcomeOK, "AZCM0000"
			why = results.M("found_after_acting").With(why)
		}
		return nil, said(tryOutcome{final: true, outcome: o, diag: results.Diagnosis{Code: code, Class: results.ClassSuccess}}, why)
	case agent.VerdictDrift:
		// Never disconnect someone else's resource: report both targets.
		return blocked(codeDrift)
	case agent.VerdictExpired:
		return blocked(codeExpired)
	case agent.VerdictAzureLocal:
		return blocked(codeAzureLocal)
	}
	if d.Reason != "" {
		hr.noteMsg(d.Why)
	}
	return d.Steps, tryOutcome{}
}

// noteMsg records a message in the host's report (its English in Notes, the
// message in NoteMsgs, one per note, for the report's language) and, durably,
// in the journal; once: a step tried again (another operation held the host, a
// retry) says it again.
func (hr *hostRun) noteMsg(m results.Msg) {
	m = m.Mask(hr.mask)
	text := hr.mask(m.Text("en"))
	if slices.Contains(hr.res.Notes, text) {
		return
	}
	if len(hr.res.NoteMsgs) < len(hr.res.Notes) { // notes of a resumed run: none of them has a message
		hr.res.NoteMsgs = append(hr.res.NoteMsgs, make([]results.Msg, len(hr.res.Notes)-len(hr.res.NoteMsgs))...)
	}
	if m.Text("en") != text {
		m = results.Msg{}
	}
	hr.res.Notes = append(hr.res.Notes, text)
	hr.res.NoteMsgs = append(hr.res.NoteMsgs, m)
	rec := journalRecord{Event: evNote, Host: hr.h.Name, Detail: text}
	if m.Key != "" {
		rec.Msg = &m
	}
	hr.r.record(rec)
}

// lossNote says what `azcmagent disconnect` is about to delete, from what the
// agent showed. The agent lists neither extensions nor licences without
// stopping its extension manager (`azcmagent extension list` requires it),
// which would interrupt extension work, so arcfleet does not; the note says
// where to look instead.
func lossNote(s agent.AgentShow) results.Msg {
	id := s.ResourceID
	sub, rg, name := agent.ParseResourceID(id)
	if name == "" {
		name = s.ResourceName
	}
	if rg == "" {
		rg = s.ResourceGroup
	}
	if sub == "" {
		sub = s.SubscriptionID
	}
	what := results.M("loss_what_machine")
	if id != "" {
		what = results.M("loss_what_id", id)
	} else if name != "" {
		what = results.M("loss_what_name", name, rg)
	}
	shown := results.Msg{Key: results.MsgList}
	add := func(k, v string) {
		if v != "" {
			shown.Sub = append(shown.Sub, results.M(k, v))
		}
	}
	add("loss_status", s.Status)
	add("loss_subscription", sub)
	add("loss_rg", rg)
	add("loss_location", s.Location)
	add("loss_tenant", s.TenantID)
	add("loss_cloud", s.Cloud)
	add("loss_cloud_provider", s.CloudProvider)
	add("loss_agent", s.AgentVersion)
	look := results.M("loss_look_portal")
	if name != "" && rg != "" {
		look = results.M("loss_look_cli", rg, name)
	}
	return results.M("loss_note").With(what, look, shown)
}

// deleteVerdict is what a failed `azcmagent disconnect` says about the Azure resource.
type deleteVerdict int

const (
	deleteUnknown deleteVerdict = iota // nothing says: the resource may still exist
	deleteGone                         // already deleted (ResourceNotFound)
	deleteLocked                       // a delete lock kept it (ScopeLocked)
	deleteDenied                       // the credential may not delete it (AuthorizationFailed)
)

// lockedKeys name a delete lock among the diagnosis' codes (results' knowledge base).
var lockedKeys = []string{"ARM-SCOPE-LOCKED"}

// deleteVerdictOf reads a failed disconnect's diagnosis: results' classifier
// says whether Azure refused the delete (DeleteRefused: a lock or a missing
// permission; the resource still exists) or no longer has the resource
// (ResourceGone). "Still exists" wins: arcfleet resets locally only when
// nothing says the resource is still there.
func deleteVerdictOf(d results.Diagnosis) deleteVerdict {
	switch {
	case d.DeleteRefused && (slices.Contains(lockedKeys, d.Code) || slices.ContainsFunc(d.Related, func(k string) bool { return slices.Contains(lockedKeys, k) })):
		return deleteLocked
	case d.DeleteRefused:
		return deleteDenied
	case d.ResourceGone:
		return deleteGone
	}
	return deleteUnknown
}

// localFallback: a failed disconnect before a connect (reconnect) may fall back
// to `disconnect --force-local-only` only when the Azure resource is already
// gone; a local-only reset while it still exists would orphan it, and the next
// connect would collide with it (AZCM0044) or create a second identity.
func (hr *hostRun) localFallback(o stepOut) bool {
	if o.kind != "" || deleteVerdictOf(o.diag) != deleteGone {
		return false
	}
	hr.noteMsg(results.M("force_local_only_m").With(idOrMachineMsg(hr.show)))
	return true
}

// disconnectFailure is the outcome of a failed disconnect that did not fall
// back: a lock or a missing delete right ends the host failed with the fix and
// the host left as it was (not retried: only a change in Azure helps); a gone
// resource of a plain disconnect names the local-only reset; otherwise the
// retry policy decides, and the detail says why arcfleet did not reset locally.
func (hr *hostRun) disconnectFailure(o stepOut) tryOutcome {
	t := stepFailure(o, agent.StepDisconnect)
	if o.kind != "" {
		return t
	}
	id := idOrMachineMsg(hr.show)
	left := results.M("disc_left")
	prev, _ := t.detailMsg()
	var m results.Msg
	switch deleteVerdictOf(o.diag) {
	case deleteLocked:
		t.final, t.outcome = true, results.OutcomeFailed
		if k := firstKnown(lockedKeys, o.diag); k != "" {
			t.diag.Code, t.diag.Class = k, results.ClassOf(k)
		}
		m = results.M("disc_locked").With(prev, id, left)
	case deleteDenied:
		t.final, t.outcome = true, results.OutcomeFailed
		m = results.M("disc_denied").With(prev, id, left)
	case deleteGone:
		t.final, t.outcome = true, results.OutcomeFailed
		m = results.M("disc_gone").With(prev, id)
	default:
		m = results.M("disc_unknown").With(prev)
	}
	return said(t, m)
}

// firstKnown is the first of keys the diagnosis names that the catalog knows, or "".
func firstKnown(keys []string, d results.Diagnosis) string {
	for _, k := range keys {
		if _, ok := results.Lookup(k); ok && (d.Code == k || slices.Contains(d.Related, k)) {
			return k
		}
	}
	return ""
}

// idOrMachineMsg names what a disconnect deletes: the resource ID the agent
// showed, else "the machine's Azure resource".
func idOrMachineMsg(s agent.AgentShow) results.Msg {
	if s.ResourceID != "" {
		return results.M(results.MsgText, s.ResourceID)
	}
	return results.M("loss_what_machine")
}
