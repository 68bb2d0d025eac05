package plan

import (
	"testing"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

func TestSummary(t *testing.T) {
	blocked := HostPlan{Findings: []inventory.Finding{{Code: "AZCM0016", Message: "no tenant"}}}
	warnOnly := HostPlan{Findings: []inventory.Finding{{Code: "ARCF0002", Warning: true}}}
	probed := func(v string) HostPlan { return HostPlan{Probe: &Probe{Verdict: v}} }
	for _, tc := range []struct {
		name     string
		action   string
		probed   bool
		hosts    []HostPlan
		headline string
		exit     int
	}{
		{"not probed", "connect", false, []HostPlan{{}, warnOnly, {}}, "3 to connect (not probed: hosts already connected are left as they are)", ExitChanges},
		{"not probed disconnect", "disconnect", false, []HostPlan{{}}, "1 to disconnect (not probed)", ExitChanges},
		{"not probed, one blocked", "reconnect", false, []HostPlan{{}, blocked}, "1 to reconnect, 1 blocked: invalid settings (not probed)", ExitChanges},
		{"every probe refused the host key", "connect", true,
			[]HostPlan{probed("host-key"), probed("host-key"), probed("host-key"), probed("host-key"), probed("host-key")},
			"5 blocked: host key not verified. Nothing apply can change until the blocked hosts are fixed.", ExitError},
		{"all connected", "connect", true, []HostPlan{probed("already-connected"), probed("already-connected")},
			"2 already connected. No changes.", ExitNoChanges},
		{"mixed", "connect", true, []HostPlan{probed("connect"), probed("host-key"), probed("already-connected"), probed("connect"),
			probed("unreachable"), probed("already-connected"), probed("connect"), blocked, probed("host-key"), probed("auth"), probed("error"), probed("drift")},
			"3 to connect, 2 already connected, 7 blocked: 2 host key not verified, 1 unreachable, 1 invalid settings, 1 login refused, 1 probe failed, 1 registered elsewhere (drift)", ExitChanges},
		{"reconnect probed", "reconnect", true, []HostPlan{probed("reconnect"), probed("connect")}, "1 to reconnect, 1 to connect", ExitChanges},
		{"disconnect nothing to do", "disconnect", true, []HostPlan{probed("already-disconnected")}, "1 already disconnected. No changes.", ExitNoChanges},
		{"no hosts", "connect", true, nil, "no hosts. No changes.", ExitNoChanges},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Plan{Action: tc.action, Probed: tc.probed, Hosts: tc.hosts}
			s := p.Summarize()
			if got := s.Headline(); got != tc.headline {
				t.Errorf("headline\n got: %s\nwant: %s", got, tc.headline)
			}
			if got := s.DetailedExitCode(); got != tc.exit {
				t.Errorf("exit %d, want %d", got, tc.exit)
			}
			if s.Change+s.Unchanged+s.Blocked != len(tc.hosts) {
				t.Errorf("buckets %d+%d+%d != %d hosts", s.Change, s.Unchanged, s.Blocked, len(tc.hosts))
			}
		})
	}
}
