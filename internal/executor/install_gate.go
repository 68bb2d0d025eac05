package executor

import "github.com/arcfleet/arcfleet/internal/agent"

// packageRefused refuses, before the host is dialed, a host whose install
// step's package is missing, unreadable or of another size on the controller
// (agent.OpenPackage): nothing can be installed from it, so no connection is
// opened. The refusal is built from this open's error: opening again (as
// install does) could succeed if the file was fixed meanwhile, and install
// would then run its step on a host not yet dialed
// (TestE2EInstallWindowsPackage counts the test server's requests).
func (hr *hostRun) packageRefused() (t tryOutcome, refused bool) {
	st, ok := hr.installStepOf()
	if !ok || st.Package == nil {
		return tryOutcome{}, false
	}
	f, err := agent.OpenPackage(st.Package)
	if err == nil {
		f.Close()
		return tryOutcome{}, false
	}
	return hr.packageRefusal(err), true
}
