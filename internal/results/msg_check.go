package results

// checkTemplates are `arcfleet check`'s words (the report: summary, headings,
// verdicts, labels; the executor's evidence and details of a host's check):
// {"English", "Swedish"}, added to msgTemplates. The English is word for
// word what the check report said before it had keys. A key ending _one or
// _n is a count's word: Plural picks it.
var checkTemplates = map[string][2]string{
	// The summary.
	"chk_all_clear_one": {"{0} host checked, all clear.", "{0} värd kontrollerad, inga anmärkningar."},
	"chk_all_clear_n":   {"{0} hosts checked, all clear.", "{0} värdar kontrollerade, inga anmärkningar."},
	"chk_summary":       {"{0} of {1} {s0} clear; {2} {s1}: {3} {s2}.", "{0} av {1} {s0} utan anmärkning; {2} {s1}: {3} {s2}."},
	"chk_host_one":      {"host", "värd"},
	"chk_host_n":        {"hosts", "värdar"},
	"chk_needs_one":     {"needs attention", "behöver åtgärdas"},
	"chk_needs_n":       {"need attention", "behöver åtgärdas"},
	"chk_cause_one":     {"cause", "orsak"},
	"chk_cause_n":       {"causes", "orsaker"},

	// A cause's block in the table: head, hosts, endpoints, evidence, fix.
	"chk_group":     {"{0} ({1} {s0}: {2})", "{0} ({1} {s0}: {2})"},
	"chk_endpoints": {"endpoints: {0}", "slutpunkter: {0}"},
	"chk_evidence":  {"evidence: {0}", "bevis: {0}"},
	"chk_fix":       {"fix: {0}", "åtgärd: {0}"},

	// The host table's headings (OS and AGENT are the same in both); the
	// Markdown tables' header rows.
	"chk_h_host":    {"HOST", "VÄRD"},
	"chk_h_verdict": {"VERDICT", "BEDÖMNING"},
	"chk_h_causes":  {"CAUSES", "ORSAKER"},
	"chk_md_groups": {"| cause | code | hosts | endpoints | evidence | fix |", "| orsak | kod | värdar | slutpunkter | bevis | åtgärd |"},
	"chk_md_hosts":  {"| host | os | agent | verdict | causes |", "| värd | os | agent | bedömning | orsaker |"},

	// The title of the group of hosts not checked ("chk_nc_" + the verdict).
	"chk_nc_unreachable": {"Host unreachable: not checked", "Värden går inte att nå: inte kontrollerad"},
	"chk_nc_host_key":    {"Host key not verified: not checked", "Värdnyckeln verifierades inte: inte kontrollerad"},
	"chk_nc_auth":        {"Login refused: not checked", "Inloggningen nekades: inte kontrollerad"},
	"chk_nc_error":       {"Error: not checked", "Fel: inte kontrollerad"},
	"chk_nc_blocked":     {"Blocked by validation: not checked", "Stoppad av valideringen: inte kontrollerad"},

	// Evidence the executor writes (internal/executor/check.go); {0} of
	// chk_ev_said is the agent's first error line, as it is.
	"chk_ev_exited":        {"azcmagent check exited {0}", "`azcmagent check` avslutades med {0}"},
	"chk_ev_not_installed": {"the agent is not installed (exit {0})", "agenten är inte installerad (slutstatus {0})"},
	"chk_ev_said":          {"{s0}: {0}", "{s0}: {0}"},
	"chk_ev_azure_vm":      {"azcmagent show: cloud provider {0}", "`azcmagent show`: molnleverantör {0}"},
	"chk_ev_below_min":     {"agent {0}, min_agent_version {1}", "agentversion {0}, lägsta tillåtna version {1}"},

	// Details of hosts not checked: the check step's error; a blocked host's
	// first finding ("CODE: message").
	"chk_step_err": {"check: {s0}", "kontroll: {s0}"},
	"chk_blocked":  {"{0}: {s0}", "{0}: {s0}"},
}

// CheckVerdictLabel is a verdict of `arcfleet check` (executor.CheckClear,
// VerdictUnreachable, ...) in lang: the identifier itself in English (as the
// JSON carries it in every language), a word of the language otherwise; an
// unknown verdict is itself.
func CheckVerdictLabel(verdict, lang string) string {
	sv := map[string]string{
		"clear":       "klar",
		"findings":    "anmärkningar",
		"blocked":     "stoppad",
		"unreachable": "onåbar",
		"host-key":    "värdnyckel",
		"auth":        "inloggning",
		"error":       "fel",
	}[verdict]
	if lang != "sv" || sv == "" {
		return verdict
	}
	return sv
}

// Plural is key+"_one" for n == 1, else key+"_n", as a message.
func Plural(n int, key string) Msg {
	if n == 1 {
		return M(key + "_one")
	}
	return M(key + "_n")
}

func init() {
	for k, v := range checkTemplates {
		if _, dup := msgTemplates[k]; dup {
			panic("results: message key " + k + " twice")
		}
		msgTemplates[k] = v
	}
}
