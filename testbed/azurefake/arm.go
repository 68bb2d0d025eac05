package azurefake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strings"
)

// Arc's resource providers, registered in a new subscription by default.
var ArcProviders = []string{"Microsoft.HybridCompute", "Microsoft.GuestConfiguration", "Microsoft.HybridConnectivity", "Microsoft.AzureArcData"}

// DefaultLocations are the display names Microsoft.HybridCompute/machines is
// offered in, in a new subscription.
var DefaultLocations = []string{"West Europe", "North Europe", "Sweden Central", "East US", "West US 2"}

// Subscription is a fake subscription.
type Subscription struct {
	ID, Tenant string
	providers  map[string]bool // lower-case namespace -> registered
	locations  []string
	rgs        map[string]*ResourceGroup
}

// ResourceGroup is a fake resource group.
type ResourceGroup struct {
	Name, Location string
	locks          []Lock
	machines       map[string]*Machine // lower-case name
	perms          map[string][]Permission
}

// Lock is a management lock. Machine, when set, puts it on that machine
// resource instead of the resource group.
type Lock struct {
	Name    string
	Level   string // "CanNotDelete" or "ReadOnly"
	Machine string
	Notes   string
}

// Machine is a Microsoft.HybridCompute/machines resource.
type Machine struct {
	Name     string
	Location string
	Status   string // Connected, Disconnected, Expired, Error
	VMID     string
}

// Permission is one entry of the Microsoft.Authorization permissions API.
type Permission struct {
	Actions, NotActions []string
}

// AddSubscription adds a subscription of tenant with Arc's providers registered.
func (f *Fake) AddSubscription(id, tenant string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &Subscription{ID: id, Tenant: tenant, providers: map[string]bool{}, locations: DefaultLocations, rgs: map[string]*ResourceGroup{}}
	for _, p := range ArcProviders {
		s.providers[strings.ToLower(p)] = true
	}
	f.subs[strings.ToLower(id)] = s
}

func (f *Fake) sub(id string) *Subscription {
	s := f.subs[strings.ToLower(id)]
	if s == nil {
		panic("azurefake: no subscription " + id + " (AddSubscription first)")
	}
	return s
}

func (f *Fake) rg(sub, rg string) *ResourceGroup {
	g := f.sub(sub).rgs[strings.ToLower(rg)]
	if g == nil {
		panic("azurefake: no resource group " + rg + " (AddResourceGroup first)")
	}
	return g
}

// SetProvider registers or unregisters a resource provider namespace.
func (f *Fake) SetProvider(sub, namespace string, registered bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sub(sub).providers[strings.ToLower(namespace)] = registered
}

// SetLocations sets the locations Microsoft.HybridCompute/machines is offered in (display names).
func (f *Fake) SetLocations(sub string, locs []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sub(sub).locations = append([]string(nil), locs...)
}

// AddResourceGroup adds a resource group.
func (f *Fake) AddResourceGroup(sub, name, location string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sub(sub).rgs[strings.ToLower(name)] = &ResourceGroup{Name: name, Location: location, machines: map[string]*Machine{}, perms: map[string][]Permission{}}
}

// AddLock adds a management lock to a resource group (or to a machine in it).
func (f *Fake) AddLock(sub, rg string, l Lock) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.rg(sub, rg)
	g.locks = append(g.locks, l)
}

// RemoveLocks removes every lock of a resource group.
func (f *Fake) RemoveLocks(sub, rg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rg(sub, rg).locks = nil
}

// SetPermissions sets what the app (by client id) may do in the resource
// group. Without it an app may do everything ("*").
func (f *Fake) SetPermissions(sub, rg, clientID string, ps []Permission) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rg(sub, rg).perms[strings.ToLower(clientID)] = ps
}

// PutMachine creates or replaces a machine resource (as the agent's connect does).
func (f *Fake) PutMachine(sub, rg string, m Machine) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.rg(sub, rg)
	if m.Location == "" {
		m.Location = g.Location
	}
	if m.Status == "" {
		m.Status = "Connected"
	}
	if m.VMID == "" {
		m.VMID = newGUID()
	}
	cp := m
	g.machines[strings.ToLower(m.Name)] = &cp
}

// DeleteMachine removes a machine resource; it reports whether it existed.
func (f *Fake) DeleteMachine(sub, rg, name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.rg(sub, rg)
	_, ok := g.machines[strings.ToLower(name)]
	delete(g.machines, strings.ToLower(name))
	return ok
}

// Machines returns the machine names of a resource group, sorted.
func (f *Fake) Machines(sub, rg string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ns []string
	for _, m := range f.rg(sub, rg).machines {
		ns = append(ns, m.Name)
	}
	sort.Strings(ns)
	return ns
}

// MachineID is the ARM id of a machine resource.
func MachineID(sub, rg, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.HybridCompute/machines/%s", sub, rg, name)
}

func armError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// allowed reports whether permissions ps grant action (wildcards as ARM: '*' anywhere).
func allowed(ps []Permission, action string) bool {
	for _, p := range ps {
		if matchAny(p.Actions, action) && !matchAny(p.NotActions, action) {
			return true
		}
	}
	return false
}

func matchAny(patterns []string, action string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(strings.ReplaceAll(p, "/", "\x00")), strings.ToLower(strings.ReplaceAll(action, "/", "\x00"))); ok {
			return true
		}
	}
	return false
}

// Fail makes the next n Resource Manager requests of kind (KindProviders,
// KindMachines, ...) fail with status and error code, e.g. 429
// "TooManyRequests" (answered with Retry-After: 0) or 500 "InternalServerError".
func (f *Fake) Fail(kind string, n, status int, code string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[kind] = failure{n: n, status: status, code: code}
}

type failure struct {
	n, status int
	code      string
}

func (f *Fake) serveARM(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	low := make([]string, len(segs))
	for i, s := range segs {
		low[i] = strings.ToLower(s)
	}
	kind := KindOther
	switch {
	case len(low) == 3 && low[2] == "providers":
		kind = KindProviders
	case len(low) == 7 && low[2] == "resourcegroups" && low[4] == "providers" && low[5] == "microsoft.authorization" && low[6] == "permissions":
		kind = KindPermissions
	case len(low) == 7 && low[2] == "resourcegroups" && low[4] == "providers" && low[5] == "microsoft.authorization" && low[6] == "locks":
		kind = KindLocks
	case len(low) == 7 && low[2] == "resourcegroups" && low[4] == "providers" && low[5] == "microsoft.hybridcompute" && low[6] == "machines":
		kind = KindMachines
	case len(low) == 8 && low[2] == "resourcegroups" && low[4] == "providers" && low[5] == "microsoft.hybridcompute" && low[6] == "machines":
		kind = KindMachine
	}
	f.count(kind)
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl := f.failures[kind]; fl.n > 0 {
		fl.n--
		f.failures[kind] = fl
		if fl.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		armError(w, fl.status, fl.code, "injected by azurefake")
		return
	}
	tokTenant, appID, ok := f.authorize(w, r)
	if !ok {
		return
	}
	if kind == KindOther {
		armError(w, 404, "InvalidResourceType", "The resource type could not be found.")
		return
	}
	s := f.subs[low[1]]
	if s == nil {
		armError(w, 404, "SubscriptionNotFound", fmt.Sprintf("The subscription '%s' could not be found.", segs[1]))
		return
	}
	if !strings.EqualFold(s.Tenant, tokTenant) {
		armError(w, 401, "InvalidAuthenticationTokenTenant", fmt.Sprintf("The access token is from the wrong issuer. It must match the tenant associated with subscription '%s'.", s.ID))
		return
	}
	if kind == KindProviders {
		var vs []map[string]any
		var names []string
		for ns := range s.providers {
			names = append(names, ns)
		}
		sort.Strings(names)
		for _, ns := range names {
			disp := ns
			for _, p := range ArcProviders {
				if strings.EqualFold(p, ns) {
					disp = p
				}
			}
			state := "NotRegistered"
			if s.providers[ns] {
				state = "Registered"
			}
			var rts []map[string]any
			if ns == "microsoft.hybridcompute" {
				rts = []map[string]any{{"resourceType": "machines", "locations": s.locations}, {"resourceType": "operations", "locations": []string{}}}
			}
			vs = append(vs, map[string]any{"id": "/subscriptions/" + s.ID + "/providers/" + disp, "namespace": disp, "registrationState": state, "resourceTypes": rts})
		}
		writeJSON(w, 200, map[string]any{"value": vs})
		return
	}
	g := s.rgs[low[3]]
	if g == nil {
		armError(w, 404, "ResourceGroupNotFound", fmt.Sprintf("Resource group '%s' could not be found.", segs[3]))
		return
	}
	ps, set := g.perms[appID]
	if !set {
		ps = []Permission{{Actions: []string{"*"}}}
	}
	deny := func(action string) bool {
		if allowed(ps, action) {
			return false
		}
		armError(w, 403, "AuthorizationFailed", fmt.Sprintf("The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '/subscriptions/%s/resourceGroups/%s' or the scope is invalid.", appID, appID, action, s.ID, g.Name))
		return true
	}
	rgID := "/subscriptions/" + s.ID + "/resourceGroups/" + g.Name
	switch kind {
	case KindPermissions:
		var vs []map[string]any
		for _, p := range ps {
			vs = append(vs, map[string]any{"actions": nonNil(p.Actions), "notActions": nonNil(p.NotActions), "dataActions": []string{}, "notDataActions": []string{}})
		}
		writeJSON(w, 200, map[string]any{"value": vs})
	case KindLocks:
		if deny("Microsoft.Authorization/locks/read") {
			return
		}
		var vs []map[string]any
		for _, l := range g.locks {
			scope := rgID
			if l.Machine != "" {
				scope = rgID + "/providers/Microsoft.HybridCompute/machines/" + l.Machine
			}
			vs = append(vs, map[string]any{"id": scope + "/providers/Microsoft.Authorization/locks/" + l.Name, "name": l.Name,
				"type": "Microsoft.Authorization/locks", "properties": map[string]any{"level": l.Level, "notes": l.Notes}})
		}
		writeJSON(w, 200, map[string]any{"value": nonNilMaps(vs)})
	case KindMachines:
		if deny("Microsoft.HybridCompute/machines/read") {
			return
		}
		var names []string
		for n := range g.machines {
			names = append(names, n)
		}
		sort.Strings(names)
		vs := []map[string]any{}
		for _, n := range names {
			vs = append(vs, machineJSON(s.ID, g.Name, g.machines[n]))
		}
		writeJSON(w, 200, map[string]any{"value": vs})
	case KindMachine:
		name := segs[7]
		m := g.machines[strings.ToLower(name)]
		switch r.Method {
		case http.MethodGet:
			if deny("Microsoft.HybridCompute/machines/read") {
				return
			}
			if m == nil {
				armError(w, 404, "ResourceNotFound", fmt.Sprintf("The Resource 'Microsoft.HybridCompute/machines/%s' under resource group '%s' was not found.", name, g.Name))
				return
			}
			writeJSON(w, 200, machineJSON(s.ID, g.Name, m))
		case http.MethodPut:
			if deny("Microsoft.HybridCompute/machines/write") {
				return
			}
			if !s.providers["microsoft.hybridcompute"] {
				armError(w, 409, "MissingSubscriptionRegistration", "The subscription is not registered to use namespace 'Microsoft.HybridCompute'.")
				return
			}
			if l := lockOn(g, name, true); l != "" {
				armError(w, 409, "ScopeLocked", fmt.Sprintf("The scope '%s' cannot perform write operation because following scope(s) are locked: '%s'.", MachineID(s.ID, g.Name, name), l))
				return
			}
			var body struct {
				Location   string `json:"location"`
				Properties struct {
					Status string `json:"status"`
					VMID   string `json:"vmId"`
				} `json:"properties"`
			}
			json.NewDecoder(r.Body).Decode(&body)
			nm := &Machine{Name: name, Location: body.Location, Status: body.Properties.Status, VMID: body.Properties.VMID}
			if nm.Status == "" {
				nm.Status = "Connected"
			}
			if nm.VMID == "" {
				nm.VMID = newGUID()
			}
			g.machines[strings.ToLower(name)] = nm
			writeJSON(w, 200, machineJSON(s.ID, g.Name, nm))
		case http.MethodDelete:
			if deny("Microsoft.HybridCompute/machines/delete") {
				return
			}
			if l := lockOn(g, name, false); l != "" {
				armError(w, 409, "ScopeLocked", fmt.Sprintf("The scope '%s' cannot perform delete operation because following scope(s) are locked: '%s'. Please remove the lock and try again.", MachineID(s.ID, g.Name, name), l))
				return
			}
			if m == nil {
				w.WriteHeader(204)
				return
			}
			delete(g.machines, strings.ToLower(name))
			w.WriteHeader(200)
		default:
			armError(w, 405, "MethodNotAllowed", "method not allowed")
		}
	}
}

// lockOn is the scope of a lock that stops a write (readOnly locks) or delete
// (any lock) of machine name, or "".
func lockOn(g *ResourceGroup, name string, write bool) string {
	for _, l := range g.locks {
		if l.Machine != "" && !strings.EqualFold(l.Machine, name) {
			continue
		}
		if write && !strings.EqualFold(l.Level, "ReadOnly") {
			continue
		}
		return l.Name
	}
	return ""
}

// authorize checks the bearer token; f.mu is held.
func (f *Fake) authorize(w http.ResponseWriter, r *http.Request) (tenant, appID string, ok bool) {
	auth := r.Header.Get("Authorization")
	tok, found := strings.CutPrefix(auth, "Bearer ")
	if !found {
		armError(w, 401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
		return "", "", false
	}
	is, known := f.issued[tok]
	if !known {
		armError(w, 401, "InvalidAuthenticationToken", "The access token is invalid.")
		return "", "", false
	}
	if !f.now().Before(is.exp) {
		armError(w, 401, "ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time.")
		return "", "", false
	}
	return is.tenant, is.appID, true
}

func machineJSON(sub, rg string, m *Machine) map[string]any {
	return map[string]any{
		"id": MachineID(sub, rg, m.Name), "name": m.Name, "type": "Microsoft.HybridCompute/machines", "location": m.Location,
		"properties": map[string]any{"status": m.Status, "vmId": m.VMID, "provisioningState": "Succeeded"},
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilMaps(s []map[string]any) []map[string]any {
	if s == nil {
		return []map[string]any{}
	}
	return s
}
