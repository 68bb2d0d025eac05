package results

import (
	"strconv"
	"strings"
)

// Msg is what the executor says about a host (a detail, a note) as a key of
// msgTemplates and its arguments, so a report renders it in its language. The
// arguments are run data (host names, codes, paths, durations, commands, what
// a host or the agent printed) and are never translated. Sub holds messages
// nested in this one ({s0}, {s1}, ...), each rendered in the same language.
// The English rendering is the host's Detail or note, word for word.
type Msg struct {
	Key  string   `json:"key"`
	Args []string `json:"args,omitempty"`
	Sub  []Msg    `json:"sub,omitempty"`
}

// Msg keys with a meaning of their own.
const (
	MsgText    = "text"    // Args[0] as it is: run data (an error a host or the agent printed)
	MsgJoin    = "join"    // Sub joined with "; "
	MsgList    = "list"    // Sub joined with ", "
	MsgOutcome = "outcome" // Args[0] an Outcome: as it is in English, its label in other languages
	MsgClass   = "class"   // Args[0] a Class: as it is in English (the identifier), its label in other languages
	MsgRemedy  = "remedy"  // Args[0] a catalog code: the knowledge base's remedy for it in the language ("" when unknown)
)

// M is the message key with args.
func M(key string, args ...string) Msg { return Msg{Key: key, Args: args} }

// With returns m with sub as its nested messages.
func (m Msg) With(sub ...Msg) Msg { m.Sub = sub; return m }

// Text is m in lang (en|sv); a key without a template (from a newer arcfleet)
// is "" so the caller falls back to the English string.
func (m Msg) Text(lang string) string {
	s, _ := m.text(lang)
	return s
}

func (m Msg) text(lang string) (string, bool) {
	switch m.Key {
	case MsgText:
		if len(m.Args) == 0 {
			return "", false
		}
		return m.Args[0], true
	case MsgOutcome:
		if len(m.Args) == 0 {
			return "", false
		}
		if lang == "en" {
			return m.Args[0], true
		}
		return outcomeLabel(Outcome(m.Args[0]), lang), true
	case MsgClass:
		if len(m.Args) == 0 {
			return "", false
		}
		if lang == "en" {
			return m.Args[0], true
		}
		return ClassLabel(Class(m.Args[0]), lang), true
	case MsgRemedy:
		if len(m.Args) == 0 {
			return "", false
		}
		e, ok := Lookup(m.Args[0])
		if !ok {
			return "", true
		}
		_, _, r := e.Text(lang)
		return r, true
	case MsgJoin, MsgList:
		sep := "; "
		if m.Key == MsgList {
			sep = ", "
		}
		parts := make([]string, 0, len(m.Sub))
		for _, s := range m.Sub {
			t, ok := s.text(lang)
			if !ok {
				return "", false
			}
			parts = append(parts, t)
		}
		return strings.Join(parts, sep), true
	}
	tpl, ok := msgTemplates[m.Key]
	if !ok {
		return "", false
	}
	t := tpl[0]
	if lang == "sv" {
		t = tpl[1]
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(t, '{')
		if i < 0 {
			b.WriteString(t)
			break
		}
		j := strings.IndexByte(t[i:], '}')
		if j < 0 {
			b.WriteString(t)
			break
		}
		ref := t[i+1 : i+j]
		if strings.Trim(strings.TrimPrefix(ref, "s"), "0123456789") != "" || strings.TrimPrefix(ref, "s") == "" {
			b.WriteString(t[:i+j+1]) // not a placeholder: a brace of the text (`@{Basic="true"}`)
			t = t[i+j+1:]
			continue
		}
		b.WriteString(t[:i])
		t = t[i+j+1:]
		if sub, isSub := strings.CutPrefix(ref, "s"); isSub {
			n, err := strconv.Atoi(sub)
			if err != nil || n >= len(m.Sub) {
				return "", false
			}
			st, ok := m.Sub[n].text(lang)
			if !ok {
				return "", false
			}
			b.WriteString(st)
			continue
		}
		n, err := strconv.Atoi(ref)
		if err != nil || n >= len(m.Args) {
			return "", false
		}
		b.WriteString(m.Args[n])
	}
	return b.String(), true
}

// Mask returns m with every argument masked (secrets, in every nested message).
func (m Msg) Mask(mask func(string) string) Msg {
	out := Msg{Key: m.Key}
	if m.Args != nil {
		out.Args = make([]string, len(m.Args))
		for i, a := range m.Args {
			out.Args[i] = mask(a)
		}
	}
	if m.Sub != nil {
		out.Sub = make([]Msg, len(m.Sub))
		for i, s := range m.Sub {
			out.Sub[i] = s.Mask(mask)
		}
	}
	return out
}

// Join is msgs joined with "; " (one message when there is one).
func Join(msgs ...Msg) Msg {
	var flat []Msg
	for _, m := range msgs {
		if m.Key == MsgJoin {
			flat = append(flat, m.Sub...)
		} else if m.Key != "" {
			flat = append(flat, m)
		}
	}
	if len(flat) == 1 {
		return flat[0]
	}
	return Msg{Key: MsgJoin, Sub: flat}
}

// detailText is a host's detail in lang: its message when it has one that
// renders, else the English Detail (a run directory of an earlier arcfleet).
func detailText(h *HostResult, lang string) string {
	if lang != "en" && h.DetailMsg != nil {
		if s, ok := h.DetailMsg.text(lang); ok {
			return s
		}
	}
	return h.Detail
}

// noteTexts are a host's notes in lang, each from its message when it has one.
func noteTexts(h *HostResult, lang string) []string {
	if lang == "en" || len(h.NoteMsgs) != len(h.Notes) {
		return h.Notes
	}
	out := make([]string, len(h.Notes))
	for i, n := range h.Notes {
		out[i] = n
		if s, ok := h.NoteMsgs[i].text(lang); ok && h.NoteMsgs[i].Key != "" {
			out[i] = s
		}
	}
	return out
}

// msgTemplates is every executor message about a host: {"English", "Swedish"}.
// {N} is the N-th argument, {sN} the N-th nested message; a brace around
// anything else is text. msg_transport.go and msg_findings.go add theirs.
// Keys the executor no longer writes (dial, step_error, step_not_run,
// busy_took, busy_holds, busy_still, breaker_why, breaker_hosts,
// breaker_hosts_more, force_local_only, not_retried_class) stay: journals of earlier runs name
// them, and a resumed run's report renders them.
var msgTemplates = map[string][2]string{
	// agent.Decide's reasons (internal/agent/decide.go).
	"target": {"subscription {0}, resource group {1}, location {2}, tenant {3}",
		"prenumeration {0}, resursgrupp {1}, plats {2}, klientorganisation {3}"},
	"already_connected":    {"already connected to {s0}", "redan ansluten till {s0}"},
	"connected_to":         {"connected to {s0}", "ansluten till {s0}"},
	"already_disconnected": {"already disconnected", "redan frånkopplad"},
	"reregistered_by_other": {"re-registered by another run ({0}) at {1}, after this run began; not repeated: connected to {s0}",
		"omregistrerad av en annan körning ({0}) {1}, efter att den här körningen började; upprepas inte: ansluten till {s0}"},
	"drift": {"drift: the agent is {0} to {s0}, the inventory wants {s1}; fix: disconnect it there or change the inventory",
		"avvikelse: agenten är {0} till {s0}, inventeringen vill ha {s1}; åtgärd: koppla från den där eller ändra inventeringen"},
	"azcm0062_cleanup": {"the failed connect (AZCM0062) left this host's agent registered as {s0} (status {0}): disconnect deletes that resource, which this host's own connect created, then connect again",
		"den misslyckade anslutningen (AZCM0062) lämnade värdens agent registrerad som {s0} (status {0}): frånkopplingen tar bort den resursen, som värdens egen anslutning skapade, och ansluter sedan igen"},
	"expired_at_target": {"the agent's status is {0} at the intended target {s0}; fix: run --action reconnect",
		"agentens status är {0} vid det avsedda målet {s0}; åtgärd: kör --action reconnect"},
	"azure_local_refused": {"refused: the agent reports cloud provider {0} (Azure Local), where `azcmagent disconnect` can delete the machine itself and its Arc registration belongs to the Azure Local deployment; arcfleet left {s0} as it is; fix: manage the machine's registration through Azure Local, or set azure.allow_azure_local_disconnect: true for this host if you are sure",
		"vägrat: agenten rapporterar molnleverantören {0} (Azure Local), där `azcmagent disconnect` kan ta bort själva datorn och dess Arc-registrering hör till Azure Local-distributionen; arcfleet lämnade {s0} som den var; åtgärd: hantera datorns registrering via Azure Local, eller sätt azure.allow_azure_local_disconnect: true för den här värden om du är säker"},
	"resource_named": {"resource {0}", "resursen {0}"},
	"the_machine":    {"the machine", "datorn"},
	"resume_again":   {"run again", "kör igen"},
	"resume_cmd":     {"`arcfleet resume {0}`", "`arcfleet resume {0}`"},
	"resume_retry":   {"`arcfleet resume {0} --retry-failed`", "`arcfleet resume {0} --retry-failed`"},
	"breaker_why": {"circuit breaker open for credential {0}: {1} ({2}); fix the credential, then {s0}",
		"kretsbrytaren är öppen för autentiseringsuppgiften {0}: {1} ({2}); åtgärda uppgiften och sedan {s0}"},
	"breaker_hosts": {"circuit breaker open for credential {0}: {1} hosts failed with {2} ({3}); fix the credential, then {s0}",
		"kretsbrytaren är öppen för autentiseringsuppgiften {0}: {1} värdar misslyckades med {2} ({3}); åtgärda uppgiften och sedan {s0}"},
	"breaker_hosts_more": {"circuit breaker open for credential {0}: {1} hosts failed with {2} ({3}, and {4} more); fix the credential, then {s0}",
		"kretsbrytaren är öppen för autentiseringsuppgiften {0}: {1} värdar misslyckades med {2} ({3} och {4} till); åtgärda uppgiften och sedan {s0}"},
	"canary_failed": {"canary failed ({s0}); fix the cause, then {s1}",
		"kanariefågeln misslyckades ({s0}); åtgärda orsaken och sedan {s1}"},
	"canary_host": {"{0} {s0} {1}", "{0} {s0} {1}"},
	"and_more":    {"and {0} more", "och {0} till"},
	"interrupted_before": {"run interrupted before this host started; continue with {s0}",
		"körningen avbröts innan den här värden startade; fortsätt med {s0}"},
	"deadline_before": {"run deadline ({0}) reached before this host started; continue with {s0}",
		"körningens tidsgräns ({0}) nåddes innan den här värden startade; fortsätt med {s0}"},
	"journal_stopped": {"journal not writable, so the run stopped launching hosts: {0}",
		"journalen gick inte att skriva, så körningen slutade starta värdar: {0}"},
	"not_retried":         {"not retried", "inget nytt försök"},
	"not_retried_class":   {"not retried (class {0})", "inget nytt försök (klass {0})"},
	"not_retried_class_m": {"not retried (class {s0})", "inget nytt försök (klass {s0})"},
	"gave_up":             {"gave up after {0} attempts", "gav upp efter {0} försök"},
	"not_retried_cleanup": {"not retried: clean-up on the host was not confirmed",
		"inget nytt försök: städningen på värden bekräftades inte"},
	"not_retried_deadline": {"not retried: the run deadline ({0}) would pass during the {1} wait{2}",
		"inget nytt försök: körningens tidsgräns ({0}) skulle passeras under väntan på {1}{2}"},
	"not_retried_because": {"not retried: {s0}", "inget nytt försök: {s0}"},
	"interrupted_in_flight": {"run interrupted while this host was in flight; {s0} probes it first",
		"körningen avbröts medan den här värden pågick; {s0} undersöker den först"},
	"deadline_in_flight": {"run deadline ({0}) reached while this host was in flight ({s0}); {s1} probes it first",
		"körningens tidsgräns ({0}) nåddes medan den här värden pågick ({s0}); {s1} undersöker den först"},
	"busy_took": {"another operation took the host {0} times before this one could start, last {1}",
		"en annan åtgärd tog värden {0} gånger innan den här kunde starta, senast {1}"},
	"busy_holds": {"another operation holds the host: {0}", "en annan åtgärd håller värden: {0}"},
	"busy_still": {"another operation holds the host: {0}, still running after {1}; arcfleet did not start a second one",
		"en annan åtgärd håller värden: {0}, pågår fortfarande efter {1}; arcfleet startade ingen till"},
	"step_error":     {"{0}: {1}", "{0}: {1}"},
	"step_not_run":   {"{0} not run: {1}", "{0} kördes inte: {1}"},
	"step_exit_code": {"{0} exited {1} ({2})", "{0} avslutades med {1} ({2})"},
	"step_exit":      {"{0} exited {1}", "{0} avslutades med {1}"},
	"dial":           {"dial: {0}", "anslutning: {0}"},
	"outcome_unknown": {"the outcome of {0} on the host is unknown: the connection was lost while it ran and the host could not be probed since; check it (azcmagent show) before acting again; last: {s0}",
		"utfallet av {0} på värden är okänt: anslutningen bröts medan det kördes och värden har inte kunnat undersökas sedan; kontrollera den (azcmagent show) innan du gör något igen; senast: {s0}"},
	"resolved": {"the connection was lost during {0}; the host's record of its last step: {s0}; the agent now reports status {s1}",
		"anslutningen bröts under {0}; värdens post om sitt senaste steg: {s0}; agenten rapporterar nu status {s1}"},
	"resolved_last":      {"{0} ended with exit {1} at {2}", "{0} avslutades med {1} vid {2}"},
	"resolved_none":      {"none from this run (it may not have started)", "ingen från den här körningen (det kanske inte startade)"},
	"resolved_no_status": {"(none)", "(ingen)"},
	"found_after_acting": {"found {s0} after acting", "fann {s0} efter åtgärden"},
	"remove_on_host":     {"remove on the host: {0}", "ta bort på värden: {0}"},
	"loss_note": {"before disconnect: `azcmagent disconnect` deletes {s0} (the agent showed {s2}); its extensions, licence settings (ESU and other licence profiles) and its managed identity with the identity's role assignments go with it, and the next connect creates a new resource with a new identity. The agent cannot list extensions or licences without stopping its extension manager, so they are not listed here: review them {s1}",
		"före frånkoppling: `azcmagent disconnect` tar bort {s0} (agenten visade {s2}); dess tillägg, licensinställningar (ESU och andra licensprofiler) och dess hanterade identitet med identitetens rolltilldelningar försvinner med den, och nästa anslutning skapar en ny resurs med en ny identitet. Agenten kan inte lista tillägg eller licenser utan att stoppa sin tilläggshanterare, så de listas inte här: granska dem {s1}"},
	"install_no_verdict":  {"{0} ended without its verdict line", "{0} slutade utan sin utfallsrad"},
	"install_skipped":     {"agent {0} present and new enough: {1} skipped", "agent {0} finns och är ny nog: {1} hoppades över"},
	"install_upgraded":    {"agent upgraded to {0}", "agenten uppgraderades till {0}"},
	"install_installed":   {"agent {0} installed", "agent {0} installerades"},
	"loss_status":         {"status {0}", "status {0}"},
	"loss_subscription":   {"subscription {0}", "prenumeration {0}"},
	"loss_rg":             {"resource group {0}", "resursgrupp {0}"},
	"loss_location":       {"location {0}", "plats {0}"},
	"loss_tenant":         {"tenant {0}", "klientorganisation {0}"},
	"loss_cloud":          {"cloud {0}", "moln {0}"},
	"loss_cloud_provider": {"cloud provider {0}", "molnleverantör {0}"},
	"loss_agent":          {"agent {0}", "agentversion {0}"},
	"loss_what_machine":   {"the machine's Azure resource", "maskinens Azure-resurs"},
	"loss_what_id":        {"the Azure resource {0}", "Azure-resursen {0}"},
	"loss_what_name":      {"the Azure resource {0} in resource group {1}", "Azure-resursen {0} i resursgruppen {1}"},
	"loss_look_portal":    {"in the Azure portal", "i Azure-portalen"},
	"loss_look_cli": {"with `az connectedmachine extension list -g {0} --machine-name {1}` and the machine's licence profile",
		"med `az connectedmachine extension list -g {0} --machine-name {1}` och maskinens licensprofil"},
	"force_local_only": {"disconnect found the Azure resource {0} already gone (ResourceNotFound): cleared the agent's local state with `azcmagent disconnect --force-local-only`",
		"frånkopplingen fann att Azure-resursen {0} redan var borta (ResourceNotFound): agentens lokala tillstånd rensades med `azcmagent disconnect --force-local-only`"},
}
