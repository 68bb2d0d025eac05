package inventory

// DefaultAgent is where the Connected Machine agent's CLI and its log live on a
// host of the given OS ("linux" or "windows"). Windows paths keep %VAR% so the
// script can expand them on the host ([Environment]::ExpandEnvironmentVariables).
func DefaultAgent(os string) Agent {
	if os == "windows" {
		return Agent{
			Path: `%ProgramFiles%\AzureConnectedMachineAgent\azcmagent.exe`,
			Log:  `%ProgramData%\AzureConnectedMachineAgent\Log\azcmagent.log`,
		}
	}
	return Agent{
		Path: "/opt/azcmagent/bin/azcmagent",
		Log:  "/var/opt/azcmagent/log/azcmagent.log",
	}
}

// EffectiveAgent is h.Agent with empty fields filled from DefaultAgent(h.OS).
func (h *Host) EffectiveAgent() Agent {
	a, def := h.Agent, DefaultAgent(h.OS)
	if a.Path == "" {
		a.Path = def.Path
	}
	if a.Log == "" {
		a.Log = def.Log
	}
	return a
}
