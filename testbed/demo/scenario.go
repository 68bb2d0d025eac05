package demo

import (
	"fmt"
	"time"

	"github.com/arcfleet/arcfleet/internal/results"
)

// The demo's Azure target (made-up GUIDs: the simulator never talks to Azure).
const (
	DemoTenant       = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	DemoSubscription = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
	demoRG           = "rg-arcfleet-demo"
)

// DemoConcurrency is the demo's fan-out. The breaker scenario depends on it:
// lab01-03 start in the first wave and fail fast, so by the time the fan-out
// reaches lab04 and lab05 (near the end of the file) the breaker is open.
const DemoConcurrency = 6

// demoRetry keeps every wait short so the demo ends in seconds.
const demoRetry = `  max_attempts: 3
  base_delay: 200ms
  max_delay: 1s
  breaker_threshold: 3
  codes:
    AZCM0064: {action: restart-agent-service, delay: 300ms}
`

const demoGroups = `  web:
    tags: {Role: web}
  app:
    tags: {Role: app}
  db:
    tags: {Role: database}
  lab:
    credential: lab-sp   # its secret is wrong: the circuit breaker stops this group
    tags: {Environment: lab}
  win:
    tags: {Role: windows-app}
`

// DemoOptions is the demo fleet: 24 Linux and 5 Windows hosts with a realistic
// mix of outcomes, in file order.
func DemoOptions(sim, dir string) Options {
	ok := Want{Outcome: results.OutcomeOK, Code: "AZCM0000"}
	slow := func(d time.Duration) map[string]any { return map[string]any{"slow": d.String()} }
	linux := func(name, group string, sc map[string]any, w Want) HostSpec {
		return HostSpec{Name: name, OS: "linux", Group: []string{group}, Scenario: sc, Want: w}
	}
	win := func(name string, sc map[string]any, w Want) HostSpec {
		return HostSpec{Name: name, OS: "windows", Group: []string{"win"}, Scenario: sc, Want: w}
	}
	badCred := Want{Outcome: results.OutcomeFailed, Code: "AZCM0041"}
	breaker := Want{Outcome: results.OutcomeNotStarted}
	hosts := []HostSpec{
		linux("web01", "web", slow(1200*time.Millisecond), ok),
		linux("web02", "web", nil, ok),
		linux("lab01", "lab", slow(100*time.Millisecond), badCred),
		linux("lab02", "lab", slow(100*time.Millisecond), badCred),
		linux("lab03", "lab", slow(100*time.Millisecond), badCred),
		linux("web03", "web", slow(900*time.Millisecond), ok),
		// The agent service hangs: AZCM0064, restart it, the retry works.
		linux("web04", "web", map[string]any{"slow": "500ms", "service_down": true},
			Want{Outcome: results.OutcomeOK, Code: "AZCM0000", MinAttempts: 2}),
		// An old resource with this name is still in Azure.
		linux("web05", "web", map[string]any{"slow": "400ms", "resource_exists": true},
			Want{Outcome: results.OutcomeFailed, Code: "AZCM0044"}),
		// Already onboarded to the intended target: left alone.
		linux("db01", "db", map[string]any{"initial": map[string]any{
			"status": "Connected", "subscription_id": DemoSubscription, "resource_group": demoRG,
			"location": "westeurope", "tenant_id": DemoTenant, "resource_name": "db01"}},
			Want{Outcome: results.OutcomeUnchanged}),
		linux("db02", "db", slow(1100*time.Millisecond), ok),
		win("win01", nil, ok),
		win("win02", slow(700*time.Millisecond), ok),
		// Decommissioned last week, still in the inventory.
		{Name: "legacy01", OS: "linux", Group: []string{"app"}, Unreachable: true,
			Want: Want{Outcome: results.OutcomeFailed, Code: "TRANSPORT-UNREACHABLE", MinAttempts: 3}},
		linux("app01", "app", nil, ok),
		linux("app02", "app", slow(600*time.Millisecond), ok),
		linux("app03", "app", nil, ok),
		linux("app04", "app", slow(1300*time.Millisecond), ok),
		win("win03", map[string]any{"slow": "500ms", "service_down": true},
			Want{Outcome: results.OutcomeOK, Code: "AZCM0000", MinAttempts: 2}),
		linux("app05", "app", nil, ok),
		linux("app06", "app", slow(500*time.Millisecond), ok),
		linux("db03", "db", nil, ok),
		win("win04", nil, ok),
		linux("app07", "app", slow(900*time.Millisecond), ok),
		linux("lab04", "lab", slow(100*time.Millisecond), breaker),
		linux("lab05", "lab", slow(100*time.Millisecond), breaker),
		win("win05", slow(600*time.Millisecond), ok),
		linux("web06", "web", nil, ok),
		linux("web07", "web", slow(700*time.Millisecond), ok),
		linux("app08", "app", nil, ok),
	}
	return Options{
		Sim: sim, Dir: dir, Hosts: hosts,
		DefaultScenario: map[string]any{"slow": "800ms"},
		Groups:          demoGroups,
		Retry:           demoRetry,
	}
}

// ScaleOptions is a uniform fleet of n Linux hosts (h00001...) whose agent
// takes slow to connect, for the scale test and the benchmarks. The hosts share
// one host key; known_hosts still lists every host, as a real fleet's would.
func ScaleOptions(sim, dir string, n int, slow time.Duration) Options {
	hosts := make([]HostSpec, n)
	for i := range hosts {
		hosts[i] = HostSpec{Name: fmt.Sprintf("h%05d", i+1), OS: "linux",
			Want: Want{Outcome: results.OutcomeOK, Code: "AZCM0000"}}
	}
	return Options{
		Sim: sim, Dir: dir, Hosts: hosts, SharedHostKey: true,
		DefaultScenario: map[string]any{"slow": slow.String()},
	}
}
