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
		if a, e = checkAuth(in, "disconnect", false); e != nil {
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
		case st.Status != statusConnected:
			// Without a local config the agent cannot tell what to delete.
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
		if h.GPOBrokenIdentity && st.SuccessfulConnects == 0 {
			return finishFail(c, cmdDisconnect, o, newErr(43, "failed to delete the Azure resource "+st.ResourceID+
				": the machine's managed identity certificate is gone (a Group Policy that deletes old user profiles removed the himds profile): "+
				"run azcmagent disconnect --force-local-only, then connect again"))
		}
		c.info("Deleting resource in Azure... Resource ID=" + st.ResourceID)
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
