package main

import (
	"context"
	"fmt"
	"time"
)

func (s *sim) disconnect(ctx context.Context, c *console, in *invocation, h *HostScenario) int {
	force := in.flag("force-local-only")
	if corr := in.str("correlation-id"); corr != "" && !isGUID(corr) {
		return c.fail(cmdDisconnect, newErr(15, fmt.Sprintf("correlation ID %q is not a GUID: pass xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", corr)), h.ExitCodePrefix)
	}
	var a auth
	if !force {
		var e *simError
		a, e = checkAuth(in, "disconnect", false, s.now())
		s.seen = &a
		if e != nil {
			return c.fail(cmdDisconnect, e, h.ExitCodePrefix)
		}
	}
	store, st, e := s.lockState(h)
	if e != nil {
		return c.fail(cmdDisconnect, e, h.ExitCodePrefix)
	}
	defer store.unlock()
	key := "disconnect"
	if force {
		key = "force_local"
	}
	st.Attempts[key]++
	attempt := st.Attempts[key]
	o := h.outcome(key, attempt)
	if err := store.save(st); err != nil {
		return c.fail(cmdDisconnect, newErr(69, err.Error()), o.ExitCodePrefix)
	}

	if force {
		c.info("Disconnecting machine from Azure locally only (--force-local-only): the Azure resource is not deleted.")
	} else {
		c.info("Disconnecting machine from Azure... This might take a few minutes.")
	}
	c.debug(fmt.Sprintf("attempt %d; force-local-only=%t service-principal-id=%s authentication=%s", attempt, force, a.spID, a.kind()))
	if o.Crash {
		store.unlock()
		return s.crash("Disconnect")
	}
	if o.Hang {
		store.unlock()
		return c.fail(cmdDisconnect, hang(ctx), o.ExitCodePrefix)
	}
	c.progress(30)
	if e := pause(ctx, time.Duration(o.Slow)); e != nil {
		return c.fail(cmdDisconnect, e, o.ExitCodePrefix)
	}
	if !force {
		switch {
		case st.ResourceID == "":
			// Without a local registration the agent cannot tell what to delete.
			o.ExitCodePrefix = true
			return finishFail(c, cmdDisconnect, o, newErr(70, "unable to obtain the local agent configuration: the machine is not connected to Azure; use --force-local-only to clear leftover local state"))
		case st.Service == serviceStopped:
			return finishFail(c, cmdDisconnect, o, newErr(61, info(61).detail+": start it (systemctl start himdsd / Start-Service himds)"))
		case h.ServiceDown && st.ServiceRestarts == 0:
			return finishFail(c, cmdDisconnect, o, newErr(64, info(64).detail+": restart it (systemctl restart himdsd / Restart-Service himds), wait a minute, retry"))
		case !secretAccepted(h, a):
			return finishFail(c, cmdDisconnect, o, newErr(41, info(41).detail+" Check the service principal's client ID, secret and its expiry."))
		}
		if e := injected(o); e != nil {
			return finishFail(c, cmdDisconnect, o, e)
		}
		corr := in.str("correlation-id")
		if corr == "" {
			corr = randomGUID()
		}
		id := st.ResourceID
		// The real agent's line (agent 1.40, see deleteLocked), padding and all.
		c.info(fmt.Sprintf("%-46sCorrelation ID=%s Resource ID=%s", "Deleting resource from Azure...", corr, id))
		switch {
		case h.DeleteLock:
			return deleteLocked(c, corr, id)
		case h.DeleteDenied:
			return deleteDenied(c, corr, id, a.spID)
		case !st.inAzure(id):
			return deleteNotFound(c, corr, st)
		}
		st.deleteInAzure(id)
	} else if e := injected(o); e != nil {
		return finishFail(c, cmdDisconnect, o, e)
	}
	former := st.ResourceID
	st.resetLocal()
	st.SuccessfulDisconnects++
	if err := store.save(st); err != nil {
		return c.fail(cmdDisconnect, newErr(69, err.Error()), o.ExitCodePrefix)
	}
	store.unlock()
	c.progress(100)
	c.info("Disconnected machine from Azure")
	if c.json {
		c.emitJSON(jsonResult{Status: "Succeeded", Operation: cmdDisconnect, ResourceID: former, ForceLocalOnly: force})
	}
	return 0
}

// deleteLocked is a disconnect whose resource has a CanNotDelete lock, as agent
// 1.40 printed it in an Azure Local lab's clean-up notes
// (github.com/andrijun0406/csc-lab-mslab-azurestackhci23h2, 13-Cleanup-MSLAB,
// 2024): ARM refuses the DELETE with 409 ScopeLocked, the resource and the
// local registration stay as they were.
func deleteLocked(c *console, corr, id string) int {
	return c.failReal(cmdDisconnect, 43, "Failed to Delete Resource", fmt.Sprintf(
		"RequestCorrelationId:%s Message: The scope '%s' cannot perform delete operation because following scope(s) are locked: '%s'. Please remove the lock and try again. Code: ScopeLocked httpStatusCode:409",
		corr, id, id))
}

// deleteDenied is a disconnect whose credential may not delete the resource,
// as agent 1.21's azcmagent.log shows it in azure-docs issue 99004 (2022): the
// token is acquired (the secret is fine), the DELETE is answered
// AuthorizationFailed. The excerpt ends inside the action name; the rest
// of the message is ARM's standard AuthorizationFailed wording. The FATAL line
// has the shape of deleteLocked's.
func deleteDenied(c *console, corr, id, spID string) int {
	msg := fmt.Sprintf("The client '%s' with object id '%s' does not have authorization to perform action 'Microsoft.HybridCompute/machines/delete' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.", spID, spID, id)
	url := "https://management.azure.com" + id + "?api-version=2021-01-28-preview"
	c.log.writeFields("debug", "Getting Authorization Token")
	c.log.writeFields("debug", "Successfully acquired Authorization Token", "Method", "SPN")
	c.log.writeFields("debug", "Delete ARM Resource", "Request URL", url)
	c.log.writeFields("debug", "Delete ARM Resource Response", "Body", `{"error":{"code":"AuthorizationFailed","message":"`+msg+`"}}`)
	return c.failReal(cmdDisconnect, 43, "Failed to Delete Resource", fmt.Sprintf("RequestCorrelationId:%s Message: %s Code: AuthorizationFailed httpStatusCode:403", corr, msg))
}

// deleteNotFound is a disconnect whose resource was already deleted in Azure.
// ARM's ResourceNotFound message is real (its public error reference and many
// issue threads quote it); that the agent then fails AZCM0043 with it in the
// FATAL shape of deleteLocked is the simulator's assumption: no public output
// of this case was found.
func deleteNotFound(c *console, corr string, st *State) int {
	return c.failReal(cmdDisconnect, 43, "Failed to Delete Resource", fmt.Sprintf(
		"RequestCorrelationId:%s Message: The Resource 'Microsoft.HybridCompute/machines/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix Code: ResourceNotFound httpStatusCode:404",
		corr, st.ResourceName, st.ResourceGroup))
}
