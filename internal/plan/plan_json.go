package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/arcfleet/arcfleet/internal/agent"
)

// A plan's JSON keeps each distinct script once, in "scripts", and steps refer
// to it by id: every host of one OS and agent layout runs the same scripts, and
// inlining them would make a 10,000-host plan some 150 MB. In memory each Step
// holds its full Command and Script.

// PlanScript is one distinct remote command of a saved plan.
type PlanScript struct {
	ID      string `json:"id"`   // "S1", "S2", ... in order of first use
	Step    string `json:"step"` // the step name, for readers
	Command string `json:"command"`
	Script  string `json:"script,omitempty"`
}

type stepWire struct {
	Name   string `json:"name"`
	Script string `json:"script"` // PlanScript.ID
	Stdin  string `json:"stdin,omitempty"`
	OnlyIf string `json:"only_if,omitempty"`
	// Package: the install step's package (path, size, SHA-256), which apply streams.
	Package *agent.PackageRef `json:"package,omitempty"`
}

type (
	planAlias     Plan
	hostPlanAlias HostPlan
)

// The aliases are embedded by value: encoding/json cannot allocate an embedded
// pointer to an unexported type while decoding.
type hostPlanWire struct {
	hostPlanAlias
	Steps    []stepWire `json:"steps"`
	Recovery []stepWire `json:"recovery,omitempty"`
}

type planWire struct {
	planAlias
	Hosts   []hostPlanWire `json:"hosts"`
	Scripts []PlanScript   `json:"scripts"`
}

// Scripts returns the plan's distinct scripts in order of first use, and the id
// of each Command. Renderers use it to show each script once.
func (p *Plan) Scripts() ([]PlanScript, map[string]string) {
	ids := map[string]string{}
	var out []PlanScript
	add := func(s agent.Step) {
		if _, ok := ids[s.Command]; ok {
			return
		}
		id := "S" + strconv.Itoa(len(out)+1)
		ids[s.Command] = id
		out = append(out, PlanScript{ID: id, Step: s.Name, Command: s.Command, Script: s.Script})
	}
	for i := range p.Hosts {
		for _, s := range p.Hosts[i].Steps {
			add(s)
		}
		for _, s := range p.Hosts[i].Recovery {
			add(s)
		}
	}
	return out, ids
}

// MarshalJSON writes the plan with its scripts deduplicated.
func (p *Plan) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := p.encodeJSON(&buf, ""); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// encodeJSON writes the plan's JSON in one pass (MarshalIndent on a Marshaler
// would compact and re-indent the whole output: seconds for 10,000 hosts).
func (p *Plan) encodeJSON(out io.Writer, indent string) error {
	scripts, ids := p.Scripts()
	w := planWire{planAlias: planAlias(*p), Hosts: make([]hostPlanWire, len(p.Hosts)), Scripts: scripts}
	if w.Scripts == nil {
		w.Scripts = []PlanScript{}
	}
	wire := func(steps []agent.Step) []stepWire {
		if steps == nil {
			return nil
		}
		out := make([]stepWire, len(steps))
		for i, s := range steps {
			out[i] = stepWire{Name: s.Name, Script: ids[s.Command], Stdin: s.Stdin, OnlyIf: s.OnlyIf, Package: s.Package}
		}
		return out
	}
	for i := range p.Hosts {
		hp := &p.Hosts[i]
		w.Hosts[i] = hostPlanWire{hostPlanAlias: hostPlanAlias(*hp), Steps: wire(hp.Steps), Recovery: wire(hp.Recovery)}
		if w.Hosts[i].Steps == nil {
			w.Hosts[i].Steps = []stepWire{}
		}
	}
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false) // "<secret env:X>" stays readable
	enc.SetIndent("", indent)
	return enc.Encode(w)
}

// UnmarshalJSON reads the deduplicated form back into full steps.
func (p *Plan) UnmarshalJSON(data []byte) error {
	var w planWire
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // a field this version does not know would be silently dropped
	if err := dec.Decode(&w); err != nil {
		return err
	}
	byID := make(map[string]PlanScript, len(w.Scripts))
	for _, s := range w.Scripts {
		if _, dup := byID[s.ID]; dup || s.ID == "" {
			return fmt.Errorf("scripts: id %q is empty or used twice", s.ID)
		}
		byID[s.ID] = s
	}
	unwire := func(host string, in []stepWire) ([]agent.Step, error) {
		if in == nil {
			return nil, nil
		}
		out := make([]agent.Step, len(in))
		for i, s := range in {
			sc, ok := byID[s.Script]
			if !ok {
				return nil, fmt.Errorf("host %s: step %s refers to script %q, which the plan does not have", host, s.Name, s.Script)
			}
			out[i] = agent.Step{Name: s.Name, Command: sc.Command, Script: sc.Script, Stdin: s.Stdin, OnlyIf: s.OnlyIf, Package: s.Package}
		}
		return out, nil
	}
	*p = Plan(w.planAlias)
	p.Hosts = make([]HostPlan, len(w.Hosts))
	for i, hw := range w.Hosts {
		p.Hosts[i] = HostPlan(hw.hostPlanAlias)
		var err error
		if p.Hosts[i].Steps, err = unwire(p.Hosts[i].Host.Name, hw.Steps); err != nil {
			return err
		}
		if p.Hosts[i].Recovery, err = unwire(p.Hosts[i].Host.Name, hw.Recovery); err != nil {
			return err
		}
	}
	return nil
}
