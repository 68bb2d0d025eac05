package main

import (
	"context"
	"fmt"
	"time"
)

// showService is one entry of show's services[].
type showService struct {
	DisplayName string `json:"displayName"`
	ServiceName string `json:"serviceName"`
	Status      string `json:"status"`
}

// showJSON is `show --json`, with the fields the agent's documentation lists for it.
type showJSON struct {
	Status            string            `json:"status"` // Connected | Disconnected
	ResourceID        string            `json:"resourceId"`
	ResourceName      string            `json:"resourceName"`
	ResourceGroup     string            `json:"resourceGroup"`
	ResourceNamespace string            `json:"resourceNamespace"`
	SubscriptionID    string            `json:"subscriptionId"`
	TenantID          string            `json:"tenantId"`
	VMID              string            `json:"vmId"`
	CorrelationID     string            `json:"correlationId"`
	Location          string            `json:"location"`
	Cloud             string            `json:"cloud"`
	AgentVersion      string            `json:"agentVersion"`
	LastHeartbeat     string            `json:"lastHeartbeat"`
	HTTPSProxy        string            `json:"httpsProxy"`
	PrivateLinkScope  string            `json:"privateLinkScope"`
	Tags              map[string]string `json:"tags"`
	Services          []showService     `json:"services"`
	// CloudProvider: "AzSHCI" on Azure Local. The text label "Cloud Provider"
	// is real (Microsoft's Azure Local docs and an Azure Local lab show it); the
	// JSON key is the agent's camelCase naming applied to it, not seen in
	// public output.
	CloudProvider string `json:"cloudProvider"`
}

func (s *sim) show(ctx context.Context, c *console, h *HostScenario) int {
	store, st, e := s.lockState(h)
	if e != nil {
		return c.fail(cmdShow, e, h.ExitCodePrefix)
	}
	defer store.unlock()
	st.Attempts["show"]++
	o := h.outcome("show", st.Attempts["show"])
	if err := store.save(st); err != nil {
		return c.fail(cmdShow, newErr(69, err.Error()), o.ExitCodePrefix)
	}
	store.unlock()
	if o.Crash {
		return s.crash("Show")
	}
	if o.Hang {
		return c.fail(cmdShow, hang(ctx), o.ExitCodePrefix)
	}
	if e := pause(ctx, time.Duration(o.Slow)); e != nil {
		return c.fail(cmdShow, e, o.ExitCodePrefix)
	}
	if e := injected(o); e != nil {
		return finishFail(c, cmdShow, o, e)
	}
	doc := showDoc(st)
	doc.CloudProvider = h.CloudProvider
	if c.json {
		c.emitJSON(doc)
		return 0
	}
	row := func(k, v string) { c.line(s.stdout, fmt.Sprintf("%-40s: %s", k, v)) }
	row("Resource Name", doc.ResourceName)
	row("Resource Group Name", doc.ResourceGroup)
	row("Resource Namespace", doc.ResourceNamespace)
	row("Resource Id", doc.ResourceID)
	row("Subscription ID", doc.SubscriptionID)
	row("Tenant ID", doc.TenantID)
	row("VM ID", doc.VMID)
	row("Correlation ID", doc.CorrelationID)
	row("Location", doc.Location)
	row("Cloud", doc.Cloud)
	row("Agent Version", doc.AgentVersion)
	row("Agent Last Heartbeat", doc.LastHeartbeat)
	row("Agent Status", doc.Status)
	row("Agent Logfile", s.root+"/log/himds.log")
	row("Using HTTPS Proxy", doc.HTTPSProxy)
	row("Private Link Scope", doc.PrivateLinkScope)
	row("Tags", formatTags(doc.Tags))
	row("Cloud Provider", doc.CloudProvider)
	c.line(s.stdout, "Dependent Service Status")
	for _, sv := range doc.Services {
		row("  "+sv.DisplayName, sv.Status)
	}
	return 0
}

func showDoc(st *State) showJSON {
	status := st.Status
	if status == "" {
		status = statusDisconnected
	}
	svc := st.Service
	if svc == "" {
		svc = serviceRunning
	}
	tags := st.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return showJSON{
		Status: status, ResourceID: st.ResourceID, ResourceName: st.ResourceName,
		ResourceGroup: st.ResourceGroup, ResourceNamespace: "Microsoft.HybridCompute",
		SubscriptionID: st.SubscriptionID, TenantID: st.TenantID, VMID: st.VMID,
		CorrelationID: st.CorrelationID, Location: st.Location, Cloud: st.Cloud,
		AgentVersion: st.AgentVersion, LastHeartbeat: st.LastHeartbeat,
		HTTPSProxy: shownProxy(st), PrivateLinkScope: st.PrivateLinkScope, Tags: tags,
		Services: []showService{
			{"Agent Service (himds)", "himdsd", svc},
			{"Guest Configuration Service", "gcad", serviceRunning},
			{"Extension Service", "extd", serviceRunning},
		},
	}
}

func (s *sim) version(c *console, h *HostScenario) int {
	v := agentVersion(h)
	if c.json {
		c.emitJSON(map[string]string{"version": v})
		return 0
	}
	c.line(s.stdout, "azcmagent version "+v)
	return 0
}
