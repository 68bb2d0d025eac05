package executor

import (
	"context"

	"github.com/arcfleet/arcfleet/internal/agent"
)

// packageRefused refuses, before the host is dialed, a host whose install
// step's package is missing, unreadable or of another size on the controller
// (agent.OpenPackage): nothing can be installed from it, so no connection is
// opened. t is install's refusal: install checks the package before it uses
// the connection, so it runs here without one (TestE2EInstallWindowsPackage
// counts the test server's requests).
func (hr *hostRun) packageRefused(ctx context.Context) (t tryOutcome, refused bool) {
	st, ok := hr.installStepOf()
	if !ok || st.Package == nil {
		return tryOutcome{}, false
	}
	f, err := agent.OpenPackage(st.Package)
	if err == nil {
		f.Close()
		return tryOutcome{}, false
	}
	t, next := hr.install(ctx)
	return t, !next
}
