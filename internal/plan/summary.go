package plan

import (
	"fmt"
	"strings"
)

// Summary is the plan by verdict: what apply would change, what it would leave
// alone, and what blocks it, counted over the plan's hosts. Without --probe every
// host validation does not block counts as a change ("to connect"): only a probe
// can tell that a host is already as wanted.
type Summary struct {
	Action    string
	Hosts     int
	Probed    bool
	Change    int     // hosts apply would act on
	Unchanged int     // hosts already as wanted (probe only)
	Blocked   int     // hosts apply cannot act on: validation findings, or what the probe met
	Groups    []Count // every bucket with hosts, changes first, then unchanged, then blocked
	BlockedBy []Count // the reasons of Blocked, largest first (ties in first-seen order)
}

// Count is one bucket of a Summary.
type Count struct {
	Label string // "to connect", "already connected", "blocked: host key not verified", ...
	N     int
	Kind  string // "change", "unchanged" or "blocked"
}

// Blocking reasons, from validation and from the probe's verdicts.
const (
	ReasonInvalid     = "invalid settings"
	ReasonHostKey     = "host key not verified"
	ReasonAuth        = "login refused"
	ReasonUnreachable = "unreachable"
	ReasonProbeFailed = "probe failed"
	ReasonDrift       = "registered elsewhere (drift)"
	ReasonAzureLocal  = "Azure Local machine"
)

// verdictBucket maps a host to its bucket: kind and label.
func verdictBucket(hp *HostPlan, action string) (kind, label string) {
	if hp.Blocked() {
		return "blocked", ReasonInvalid
	}
	pr := hp.Probe
	if pr == nil {
		return "change", "to " + action
	}
	switch pr.Verdict {
	case "connect", "disconnect", "reconnect":
		return "change", "to " + pr.Verdict
	case "already-connected":
		return "unchanged", "already connected"
	case "already-disconnected":
		return "unchanged", "already disconnected"
	case "drift":
		return "blocked", ReasonDrift
	case "azure-local":
		return "blocked", ReasonAzureLocal
	case "host-key":
		return "blocked", ReasonHostKey
	case "auth":
		return "blocked", ReasonAuth
	case "unreachable":
		return "blocked", ReasonUnreachable
	}
	return "blocked", ReasonProbeFailed
}

// Summarize counts the plan's hosts by verdict.
func (p *Plan) Summarize() Summary {
	s := Summary{Action: p.Action, Hosts: len(p.Hosts), Probed: p.Probed}
	idx := map[string]int{}
	var change, unchanged, blocked []Count
	bump := func(list *[]Count, kind, label string) {
		k := kind + "\x00" + label
		if i, ok := idx[k]; ok {
			(*list)[i].N++
			return
		}
		idx[k] = len(*list)
		*list = append(*list, Count{Label: label, N: 1, Kind: kind})
	}
	for i := range p.Hosts {
		kind, label := verdictBucket(&p.Hosts[i], p.Action)
		switch kind {
		case "change":
			s.Change++
			bump(&change, kind, label)
		case "unchanged":
			s.Unchanged++
			bump(&unchanged, kind, label)
		default:
			s.Blocked++
			bump(&blocked, kind, label)
		}
	}
	sortCounts(change)
	sortCounts(unchanged)
	sortCounts(blocked)
	s.BlockedBy = blocked
	s.Groups = append(append(change, unchanged...), blocked...)
	return s
}

// sortCounts orders by count, largest first, keeping first-seen order on ties.
func sortCounts(c []Count) {
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && c[j].N > c[j-1].N; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
}

// NoChanges reports whether apply would change nothing and nothing blocks it:
// every host is already as wanted.
func (s Summary) NoChanges() bool { return s.Change == 0 && s.Blocked == 0 }

// Headline is the plan in one line, e.g. "3 to connect, 2 already connected,
// 5 blocked: host key not verified" or "5 already connected. No changes.".
func (s Summary) Headline() string {
	if s.Hosts == 0 {
		return "no hosts. No changes."
	}
	var parts []string
	for _, c := range s.Groups {
		if c.Kind != "blocked" {
			parts = append(parts, fmt.Sprintf("%d %s", c.N, c.Label))
		}
	}
	if s.Blocked > 0 {
		var why []string
		for _, c := range s.BlockedBy {
			if len(s.BlockedBy) == 1 {
				why = append(why, c.Label)
			} else {
				why = append(why, fmt.Sprintf("%d %s", c.N, c.Label))
			}
		}
		parts = append(parts, fmt.Sprintf("%d blocked: %s", s.Blocked, strings.Join(why, ", ")))
	}
	h := strings.Join(parts, ", ")
	switch {
	case s.NoChanges():
		h += ". No changes."
	case s.Change == 0:
		h += ". Nothing apply can change until the blocked hosts are fixed."
	case !s.Probed && s.Action == "connect":
		h += " (not probed: hosts already connected are left as they are)"
	case !s.Probed:
		h += " (not probed)"
	}
	return h
}

// Plan --detailed-exitcode values, as Terraform's: 0 no changes, 2 changes.
// A plan where hosts are blocked and nothing else would change is an error (1):
// the fleet is not as wanted and apply could not do anything about it.
const (
	ExitNoChanges = 0
	ExitError     = 1
	ExitChanges   = 2
)

// DetailedExitCode is the exit status of `plan --detailed-exitcode` for s.
func (s Summary) DetailedExitCode() int {
	switch {
	case s.NoChanges():
		return ExitNoChanges
	case s.Change > 0:
		return ExitChanges
	}
	return ExitError
}
