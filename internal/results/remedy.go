package results

// Remedy is what arcfleet does by itself after a failed attempt. The catalog
// declares one per code (Entry.Action, Entry.IfCreated); the executor's retry
// policy reads it with RemedyOf, and the inventory's retry.codes may replace it
// with one of the same names (ParseRemedy).
type Remedy string

const (
	RemedyNone           Remedy = ""                      // give up: report the failure and its fix
	RemedyRetry          Remedy = "retry"                 // the same steps again after a backoff delay
	RemedyRestartService Remedy = "restart-agent-service" // restart the agent service, wait, then try again
	RemedyReconnect      Remedy = "reconnect"             // disconnect, then connect again
)

// remedies are the remedies in the order they are listed.
var remedies = []Remedy{RemedyNone, RemedyRetry, RemedyRestartService, RemedyReconnect}

// Remedies returns every remedy.
func Remedies() []Remedy { return append([]Remedy(nil), remedies...) }

// String is the remedy's name as the inventory's retry.codes spells it ("none" for RemedyNone).
func (r Remedy) String() string {
	if r == RemedyNone {
		return "none"
	}
	return string(r)
}

// ParseRemedy turns a name as String gives it ("none", "retry",
// "restart-agent-service", "reconnect") into its Remedy.
func ParseRemedy(name string) (Remedy, bool) {
	for _, r := range remedies {
		if r.String() == name {
			return r, true
		}
	}
	return RemedyNone, false
}

// Remedy is what arcfleet does after an attempt failed with this entry's code:
// Action, or IfCreated when created (Azure created the machine resource before
// the failure) and the entry has one.
func (e Entry) Remedy(created bool) Remedy {
	if created && e.IfCreated != RemedyNone {
		return e.IfCreated
	}
	return e.Action
}

// RemedyOf is what arcfleet does after an attempt failed with code (spellings as
// Lookup accepts); created says Azure created the machine resource before the
// failure (Diagnosis.ResourceCreated, or a probe showing a resource id). A code
// without a catalog entry gets RemedyNone.
func RemedyOf(code string, created bool) Remedy {
	e, ok := Lookup(code)
	if !ok {
		return RemedyNone
	}
	return e.Remedy(created)
}

// remedyText says in lang what arcfleet does for r, as `arcfleet codes` shows it.
var remedyText = map[Remedy][2]string{
	RemedyNone:           {"none: not retried; the host is reported failed with this fix", "ingen: försöks inte igen; värden rapporteras som misslyckad med denna lösning"},
	RemedyRetry:          {"retry: the same step again after a growing delay (at least the service's Retry-After), up to the attempt limit", "nytt försök: samma steg igen efter en växande väntetid (minst tjänstens Retry-After), upp till gränsen för antal försök"},
	RemedyRestartService: {"restart-agent-service: arcfleet restarts the agent service, waits, then tries again, up to the attempt limit", "restart-agent-service: arcfleet startar om agenttjänsten, väntar och försöker sedan igen, upp till gränsen för antal försök"},
	RemedyReconnect:      {"reconnect: arcfleet disconnects the agent, then connects it again", "reconnect: arcfleet kopplar från agenten och ansluter den sedan igen"},
}

// RemedyText says in lang ("sv" Swedish, else English) what arcfleet does after a
// failure with this entry's code, unless the inventory's retry.codes says otherwise.
func (e Entry) RemedyText(lang string) string {
	i := 0
	if lang == "sv" {
		i = 1
	}
	s := remedyText[e.Action][i]
	if e.IfCreated != RemedyNone && e.IfCreated != e.Action {
		when := [2]string{"; when Azure had already created the machine resource, ", "; när Azure redan hade skapat datorresursen, "}
		s += when[i] + remedyText[e.IfCreated][i]
	}
	return s
}
