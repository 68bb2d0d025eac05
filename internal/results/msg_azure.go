package results

// azureTemplates are internal/azure's sentences: the Azure pre-flight's
// findings on a host it blocks (and the block's frame, built in cmd/arcfleet),
// the errors of its token and Resource Manager calls, and the post-run
// verification's details: {"English", "Swedish"}, added to msgTemplates. The
// English is internal/azure's word for word (its tests compare them). A
// quoted name ({0} of az_bad_location, ...) is quoted by the caller.
var azureTemplates = map[string][2]string{
	// The block (cmd/arcfleet/azure.go) and its scopes.
	"az_preflight":       {"Azure pre-flight: {s0}", "Azure-förkontroll: {s0}"},
	"az_finding":         {"{0} {s0}: {s1}; fix: {s2}", "{0} {s0}: {s1}; åtgärd: {s2}"},
	"az_scope_inventory": {"inventory", "inventering"},
	"az_scope_cred":      {"credential {0}", "autentiseringsuppgift {0}"},
	"az_scope_sub":       {"subscription {0}", "prenumeration {0}"},
	"az_scope_rg":        {"resource group {0}", "resursgrupp {0}"},

	// Pre-flight findings (internal/azure/preflight.go).
	"az_no_cred": {"the host names no credential of the inventory", "värden anger ingen autentiseringsuppgift från inventeringen"},
	"az_sub_not_found": {"subscription {0} was not found, is not in tenant {1}, or credential {2} has no access to it",
		"prenumerationen {0} hittades inte, finns inte i klientorganisationen {1}, eller så har autentiseringsuppgiften {2} ingen åtkomst till den"},
	"az_unchecked_providers": {"{s0}; resource providers and location not checked", "{s0}; resursprovidrar och plats kontrollerades inte"},
	"az_provider_unreg": {"resource provider {0} is not registered in subscription {1}",
		"resursprovidern {0} är inte registrerad i prenumerationen {1}"},
	"az_providers_unreg": {"resource providers {0} are not registered in subscription {1}",
		"resursprovidrarna {0} är inte registrerade i prenumerationen {1}"},
	"az_bad_location": {"location {0} does not offer Azure Arc-enabled servers (Microsoft.HybridCompute/machines) in subscription {1}",
		"platsen {0} erbjuder inte Azure Arc-aktiverade servrar (Microsoft.HybridCompute/machines) i prenumerationen {1}"},
	"az_rg_missing":      {"resource group {0} does not exist in subscription {1}", "resursgruppen {0} finns inte i prenumerationen {1}"},
	"az_unchecked_perms": {"{s0}; permissions not checked", "{s0}; behörigheterna kontrollerades inte"},
	"az_may_not": {"the credential may not perform {0} in resource group {1} ({2} needs it)",
		"autentiseringsuppgiften får inte utföra {0} i resursgruppen {1} ({2} behöver det)"},
	"az_unchecked_locks": {"{s0}; locks not checked (reading them needs Microsoft.Authorization/locks/read, e.g. Reader)",
		"{s0}; låsen kontrollerades inte (att läsa dem kräver Microsoft.Authorization/locks/read, t.ex. Läsare)"},
	"az_unchecked_machines": {"{s0}; existing machines not checked", "{s0}; befintliga datorer kontrollerades inte"},
	"az_name_clash": {"a machine resource with the host's resource name already exists in resource group {0} (status {s0}) and the host's agent is not connected to it: connect would fail",
		"en datorresurs med värdens resursnamn finns redan i resursgruppen {0} (status {s0}) och värdens agent är inte ansluten till den: anslutningen skulle misslyckas"},
	"az_name_clash_unprobed": {"a machine resource with the host's resource name already exists in resource group {0} (status {s0}): connect fails unless this host is that machine (probe the hosts, plan --probe, to tell)",
		"en datorresurs med värdens resursnamn finns redan i resursgruppen {0} (status {s0}): anslutningen misslyckas om inte den här värden är den datorn (undersök värdarna, plan --probe, för att avgöra det)"},
	"az_status_unknown": {"unknown", "okänd"},
	"az_where_rg":       {"resource group {0}", "resursgruppen {0}"},
	"az_where_machine":  {"the machine resource", "datorresursen"},
	"az_lock_readonly": {"ReadOnly lock {0} on {s0}: Azure refuses to create, change or delete the machine",
		"ReadOnly-låset {0} på {s0}: Azure vägrar skapa, ändra eller ta bort datorn"},
	"az_lock_connect": {"{0} lock {1} on {s0}: connect works, but a later disconnect or re-registration fails while it stays",
		"{0}-låset {1} på {s0}: anslutningen fungerar, men en senare frånkoppling eller omregistrering misslyckas så länge det finns kvar"},
	"az_lock_delete": {"{0} lock {1} on {s0}: Azure refuses to delete the machine, so {2} would fail",
		"{0}-låset {1} på {s0}: Azure vägrar ta bort datorn, så {2} skulle misslyckas"},

	// Resource Manager calls (internal/azure/errors.go): what was being done, and how it failed.
	"az_arm_answered": {"{s0}: Azure Resource Manager answered {0} {1}", "{s0}: Azure Resource Manager svarade {0} {1}"},
	"az_arm_failed":   {"{s0}: {0}", "{s0}: {0}"},
	"az_what_providers": {"listing the resource providers of subscription {0} with credential {1}",
		"när resursprovidrarna i prenumerationen {0} listades med autentiseringsuppgiften {1}"},
	"az_what_perms":    {"reading the permissions on resource group {0}", "när behörigheterna på resursgruppen {0} lästes"},
	"az_what_locks":    {"listing the locks of resource group {0}", "när låsen i resursgruppen {0} listades"},
	"az_what_machines": {"listing the machines of resource group {0}", "när datorerna i resursgruppen {0} listades"},

	// Tokens (internal/azure/errors.go, token.go, cloud.go). {1} of the
	// "said" ones is what the library or Entra ID said, as it said it.
	"az_token_interrupted": {"credential {0}: token request interrupted: {1}", "autentiseringsuppgift {0}: tokenbegäran avbröts: {1}"},
	"az_token_refused": {"credential {0}: Microsoft Entra ID refused the token request: {1}",
		"autentiseringsuppgift {0}: Microsoft Entra ID avvisade tokenbegäran: {1}"},
	"az_no_token":  {"credential {0}: no token: {1}", "autentiseringsuppgift {0}: ingen token: {1}"},
	"az_cred_said": {"credential {0}: {1}", "autentiseringsuppgift {0}: {1}"},
	"az_cred_sub":  {"credential {0}: {s0}", "autentiseringsuppgift {0}: {s0}"},
	"az_unknown_cloud": {"unknown cloud {0}; fix: use {1}, {2} or {3} (inventory: azure.cloud)",
		"okänt moln {0}; åtgärd: använd {1}, {2} eller {3} (inventering: azure.cloud)"},
	"az_secret_needs": {"credential {0}: token_from client-secret needs secret: {env: NAME} or {file: PATH}",
		"autentiseringsuppgift {0}: token_from client-secret kräver `secret: {env: NAME}` eller `secret: {file: PATH}`"},
	"az_secret_err": {"credential {0}: secret {1}: {s0}", "autentiseringsuppgift {0}: `secret` {1}: {s0}"},
	"az_cert_needs": {"credential {0}: token_from client-certificate needs certificate: {file: PATH} (PEM with the private key)",
		"autentiseringsuppgift {0}: token_from client-certificate kräver `certificate: {file: PATH}` (PEM med den privata nyckeln)"},
	"az_cert_err": {"credential {0}: certificate {1}: {s0}", "autentiseringsuppgift {0}: `certificate` {1}: {s0}"},
	"az_cert_parse": {"credential {0}: certificate {1}: {2}; fix: give a PEM file holding the certificate and its unencrypted private key",
		"autentiseringsuppgift {0}: `certificate` {1}: {2}; åtgärd: ange en PEM-fil med certifikatet och dess okrypterade privata nyckel"},
	"az_workload": {"credential {0}: workload identity: {1}; fix: run where AZURE_FEDERATED_TOKEN_FILE names the federated token file",
		"autentiseringsuppgift {0}: arbetsbelastningsidentitet: {1}; åtgärd: kör där AZURE_FEDERATED_TOKEN_FILE anger den federerade tokenfilen"},
	"az_managed": {"credential {0}: managed identity: {1}", "autentiseringsuppgift {0}: hanterad identitet: {1}"},
	"az_cli":     {"credential {0}: Azure CLI: {1}", "autentiseringsuppgift {0}: Azure CLI: {1}"},
	"az_token_from": {"credential {0}: unknown token_from {1}; fix: use one of {2}",
		"autentiseringsuppgift {0}: okänd token_from {1}; åtgärd: använd en av {2}"},

	// The executor's token failure with the token source's message.
	"token_failed_m": {"access token for credential {0}: {s0}", "åtkomsttoken för autentiseringsuppgiften {0}: {s0}"},

	// Post-run verification (internal/azure/verify.go).
	"az_v_arm": {"{s0} ({0})", "{s0} ({0})"},
	"az_v_still_present": {"machine {0} is still in resource group {1} (status {2})",
		"datorn {0} finns kvar i resursgruppen {1} (status {2})"},
	"az_v_no_machine": {"no machine {0} in resource group {1}", "ingen dator {0} i resursgruppen {1}"},
	"az_v_agent_missing": {"the agent reports {0}, but resource group {1} has no such machine",
		"agenten rapporterar {0}, men resursgruppen {1} har ingen sådan dator"},
	"az_v_id_mismatch":   {"the agent reports {0}, Azure has {1}", "agenten rapporterar {0}, Azure har {1}"},
	"az_v_not_connected": {"machine {0} has status {s0} in Azure", "datorn {0} har status {s0} i Azure"},
	"az_v_ok":            {"Connected, resource id matches the agent's", "Connected, resurs-id:t stämmer med agentens"},
	"az_v_ok_by_name": {"Connected (the agent's resource id was not recorded: matched by resource name {0})",
		"Connected (agentens resurs-id registrerades inte: matchad på resursnamnet {0})"},
}

func init() {
	for k, v := range azureTemplates {
		if _, dup := msgTemplates[k]; dup {
			panic("results: message key " + k + " twice")
		}
		msgTemplates[k] = v
	}
}
