package results

// agentTemplates are internal/agent's errors that reach a host's detail: the
// agent package on the controller (install.go) and a probe output it cannot
// read (script.go ParseProbe): {"English", "Swedish"}, added to
// msgTemplates. The English is the agent package's word for word. {0} of
// probe_no_json and {1} of probe_bad_json are the output, quoted.
var agentTemplates = map[string][2]string{
	"pkg_not_regular":     {"{0} is not a regular file", "{0} är ingen vanlig fil"},
	"pkg_too_large":       {"{0} has {1} bytes, more than {2}", "{0} har {1} byte, mer än {2}"},
	"pkg_changed_reading": {"{0} changed while being read", "{0} ändrades medan den lästes"},
	"pkg_unreadable":      {"agent package {0}: {s0}", "agentpaketet {0}: {s0}"},
	"pkg_open":            {"agent package: {0}", "agentpaketet: {0}"},
	"pkg_size_changed": {"agent package {0} has {1} bytes, the plan recorded {2}: it changed since the plan; plan again",
		"agentpaketet {0} har {1} byte, planen registrerade {2}: det har ändrats sedan planen; planera igen"},
	"probe_no_json": {"probe: no JSON object in the output of `azcmagent show --json` (got {0}); check that the agent is installed and supports --json",
		"undersökning: inget JSON-objekt i utdata från `azcmagent show --json` (fick {0}); kontrollera att agenten är installerad och stöder --json"},
	"probe_bad_json": {"probe: `azcmagent show --json` printed invalid JSON ({0}): {1}",
		"undersökning: `azcmagent show --json` skrev ogiltig JSON ({0}): {1}"},
}

func init() {
	for k, v := range agentTemplates {
		if _, dup := msgTemplates[k]; dup {
			panic("results: message key " + k + " twice")
		}
		msgTemplates[k] = v
	}
}
