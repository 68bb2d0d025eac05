package main

import (
	"fmt"
	"os"
	"strings"
)

// service stands in for `systemctl restart|start|stop|status himdsd` and
// `Restart-Service himds`. Exit codes follow systemctl: 0 ok, 3 status of a
// stopped service, 1 failure, 2 usage.
func (s *sim) service(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(s.stderr, "usage: azcmagent-sim service restart|start|stop|status")
		return 2
	}
	verb := args[0]
	switch verb {
	case "restart", "start", "stop", "status":
	default:
		fmt.Fprintf(s.stderr, "azcmagent-sim service: unknown action %q: use restart, start, stop or status\n", verb)
		return 2
	}
	if verb != "status" && os.Geteuid() != 0 && s.env("AZCMAGENT_SIM_NO_ROOT") != "1" {
		fmt.Fprintf(s.stderr, "Failed to %s himdsd.service: Access denied (run as root)\n", verb)
		return 1
	}
	h, err := loadScenario(s.env("AZCMAGENT_SIM_SCENARIO"), s.root, s.host)
	if err != nil {
		fmt.Fprintf(s.stderr, "azcmagent-sim service: %v\n", err)
		return 1
	}
	store, st, e := s.lockState(h)
	if e != nil {
		fmt.Fprintf(s.stderr, "azcmagent-sim service: %s\n", e.detail)
		return 1
	}
	defer store.unlock()
	switch verb {
	case "restart":
		st.Service = serviceRunning
		st.ServiceRestarts++
	case "start":
		if st.Service != serviceRunning {
			st.ServiceRestarts++
		}
		st.Service = serviceRunning
	case "stop":
		st.Service = serviceStopped
	case "status":
		if st.Service == serviceStopped {
			fmt.Fprintln(s.stdout, "himdsd.service - Azure Connected Machine Agent Service\n   Active: inactive (dead)")
			return 3
		}
		fmt.Fprintln(s.stdout, "himdsd.service - Azure Connected Machine Agent Service\n   Active: active (running)")
		return 0
	}
	if err := store.save(st); err != nil {
		fmt.Fprintf(s.stderr, "azcmagent-sim service: %v\n", err)
		return 1
	}
	if log, err := openLog(s.root, s.now, s.mask); err == nil {
		log.write("info", "himds service "+map[string]string{"restart": "restarted", "start": "started", "stop": "stopped"}[verb]+" (azcmagent-sim service "+verb+")", "")
		log.close()
	}
	return 0
}

// usage prints the help of a command, or of the tool.
func (s *sim) usage(cmd string) {
	w := s.stdout
	if cmd == "help" || cmd == "" {
		fmt.Fprintln(w, "azcmagent-sim: a simulator of the Azure Connected Machine agent CLI (azcmagent)")
		fmt.Fprintln(w, "\nUsage:\n  azcmagent-sim <command> [flags]\n  azcmagent-sim service restart|start|stop|status")
		fmt.Fprintln(w, "\nCommands:\n  "+strings.Join(commandNames, "\n  "))
		fmt.Fprintln(w, "\nSee testbed/azcmagent-sim/README.md for the environment and the scenario format.")
		return
	}
	fmt.Fprintf(w, "Usage:\n  azcmagent-sim %s [flags]\n\nFlags:\n", cmd)
	for _, d := range flagDefs {
		if !d.accepts(cmd) {
			continue
		}
		short := "   "
		if d.short != "" {
			short = "-" + d.short + ","
		}
		fmt.Fprintf(w, "  %s --%-36s %s\n", short, d.long, d.help)
	}
}
