package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

const (
	statusConnected    = "Connected"
	statusDisconnected = "Disconnected"

	serviceRunning = "running"
	serviceStopped = "stopped"
)

// State is the host's connected state, kept in ROOT/state.json. It never holds a secret.
type State struct {
	Host             string            `json:"host"`
	Status           string            `json:"status"`
	ResourceID       string            `json:"resourceId"`
	ResourceName     string            `json:"resourceName"`
	ResourceGroup    string            `json:"resourceGroup"`
	SubscriptionID   string            `json:"subscriptionId"`
	TenantID         string            `json:"tenantId"`
	Location         string            `json:"location"`
	Cloud            string            `json:"cloud"`
	Tags             map[string]string `json:"tags,omitempty"`
	CorrelationID    string            `json:"correlationId,omitempty"`
	VMID             string            `json:"vmId"`
	PrivateLinkScope string            `json:"privateLinkScope,omitempty"`
	AgentVersion     string            `json:"agentVersion"`
	// Config: `azcmagent config set` values by key (config.go; lists comma-joined).
	Config map[string]string `json:"config,omitempty"`
	// GatewayID: connect's --gateway-id.
	GatewayID string `json:"gatewayId,omitempty"`
	// AutomaticUpgrade: connect's --enable-automatic-upgrade.
	AutomaticUpgrade bool   `json:"automaticUpgrade,omitempty"`
	LastHeartbeat    string `json:"lastHeartbeat,omitempty"`

	// Service is himds' state as `azcmagent-sim service` left it.
	Service         string `json:"service"`
	ServiceRestarts int    `json:"serviceRestarts"`

	// Attempts counts invocations that passed local validation, per command key
	// (connect, disconnect, force_local, show, check).
	Attempts              map[string]int `json:"attempts"`
	SuccessfulConnects    int            `json:"successfulConnects"`
	SuccessfulDisconnects int            `json:"successfulDisconnects"`
	// CreatedThenFailDone: the created_then_fail scenario has fired.
	CreatedThenFailDone bool `json:"createdThenFailDone,omitempty"`

	// AzureResources is "Azure" as far as this host is concerned: the machine
	// resources its agent created and nobody deleted since. A successful
	// connect adds one, disconnect deletes the one in the local state,
	// `--force-local-only` deletes none (what it leaves is orphaned), and a
	// connect whose resource id is here already fails AZCM0044. Tests read it
	// here: the real agent has no such view.
	AzureResources []string `json:"azureResources,omitempty"`
}

// inAzure reports whether the machine resource id exists in Azure (case-insensitively, as ARM compares ids).
func (st *State) inAzure(id string) bool {
	for _, r := range st.AzureResources {
		if strings.EqualFold(r, id) {
			return true
		}
	}
	return false
}

// createInAzure adds id to Azure (once).
func (st *State) createInAzure(id string) {
	if !st.inAzure(id) {
		st.AzureResources = append(st.AzureResources, id)
	}
}

// deleteInAzure removes id from Azure.
func (st *State) deleteInAzure(id string) {
	out := st.AzureResources[:0]
	for _, r := range st.AzureResources {
		if !strings.EqualFold(r, id) {
			out = append(out, r)
		}
	}
	st.AzureResources = out
	if len(out) == 0 {
		st.AzureResources = nil
	}
}

// stateStore is ROOT/state.json guarded by an flock on ROOT/state.json.lock, so
// concurrent invocations on one host serialise their read-modify-write.
type stateStore struct {
	path string
	lock *os.File
}

// openState creates ROOT and takes the exclusive lock (blocking).
func openState(root string) (*stateStore, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create state directory %s: %w", root, err)
	}
	path := filepath.Join(root, "state.json")
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if errors.Is(err, fs.ErrPermission) {
		// Made by root (a step under sudo that ran show first): flock needs
		// no write access, and the real agent's show needs no admin.
		f, err = os.Open(path + ".lock")
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open state lock %s.lock: %w", path, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot lock %s.lock: %w", path, err)
	}
	return &stateStore{path: path, lock: f}, nil
}

// unlock releases the lock; safe to call twice.
func (s *stateStore) unlock() {
	if s.lock != nil {
		s.lock.Close() // closing the last descriptor drops the flock
		s.lock = nil
	}
}

// load reads the state; ok=false when the host has none yet.
func (s *stateStore) load() (st *State, ok bool, err error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return &State{}, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	st = &State{}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, false, fmt.Errorf("%s is corrupt (%v): delete it to reset the simulated host", s.path, err)
	}
	return st, true, nil
}

// save writes the state atomically (temp file + rename), so a reader never sees half a file.
func (s *stateStore) save(st *State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".state-*.json")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(append(data, '\n'))
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), s.path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cannot write %s: %w", s.path, werr)
	}
	return nil
}

// resetLocal clears the connection, keeping counters and service state.
func (st *State) resetLocal() {
	st.Status = statusDisconnected
	st.ResourceID, st.ResourceName, st.ResourceGroup = "", "", ""
	st.SubscriptionID, st.TenantID, st.Location, st.Cloud = "", "", "", ""
	st.Tags, st.CorrelationID, st.PrivateLinkScope, st.LastHeartbeat = nil, "", "", ""
}

func resourceID(sub, rg, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.HybridCompute/machines/" + name
}
