// Command azcmagent-sim stands in for the Azure Connected Machine agent CLI
// (azcmagent) in arcfleet's tests, demo and labs. It keeps the real agent's
// commands, flags, validation, AZCM exit codes, console and log formats, keeps
// a connected state per host, and injects failures from a scenario file.
// README.md documents the environment and the scenario format.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// defaultAgentVersion is what `version` and `show` report unless a scenario says otherwise.
const defaultAgentVersion = "1.50.03036.1885"

// defaultRoot is the real agent's data directory on Linux.
const defaultRoot = "/var/opt/azcmagent"

// hangMax bounds `hang: true` so a leaked simulator cannot live forever.
const hangMax = 30 * time.Minute

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// sim is one invocation's environment.
type sim struct {
	env            func(string) string
	stdout, stderr io.Writer
	host, root     string
	now            func() time.Time
	mask           *masker
	// seen is the login connect or disconnect was given (for the record line).
	seen *auth
	in   *invocation
}

// run executes one command and returns the exit code. It writes the record's
// start and end lines around everything else.
func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	s := &sim{env: env, stdout: stdout, stderr: stderr, mask: &masker{}}
	s.host = env("AZCMAGENT_SIM_HOST")
	if s.host == "" {
		s.host, _ = os.Hostname()
	}
	s.root = env("AZCMAGENT_SIM_ROOT")
	if s.root == "" {
		s.root = defaultRoot
	}
	s.now = time.Now
	if fixed := env("AZCMAGENT_SIM_NOW"); fixed != "" {
		if t, err := time.Parse(time.RFC3339, fixed); err == nil {
			s.now = func() time.Time { return t }
		}
	}
	label := ""
	if len(args) > 0 {
		label = args[0]
		if label == cmdService && len(args) > 1 {
			label += " " + args[1]
		}
		if strings.HasPrefix(label, "-") {
			label = ""
		}
	}
	rec := env("AZCMAGENT_SIM_RECORD")
	if err := record(rec, recordLine{Host: s.host, Cmd: label, PID: os.Getpid(), Event: "start"}); err != nil {
		fmt.Fprintf(stderr, "azcmagent-sim: cannot append to AZCMAGENT_SIM_RECORD %s: %v\n", rec, err)
	}
	code := s.dispatch(ctx, args)
	end := recordLine{Host: s.host, Cmd: label, PID: os.Getpid(), Event: "end", Exit: &code}
	s.describeLogin(&end)
	if err := record(rec, end); err != nil {
		fmt.Fprintf(stderr, "azcmagent-sim: cannot append to AZCMAGENT_SIM_RECORD %s: %v\n", rec, err)
	}
	return code
}

func (s *sim) dispatch(ctx context.Context, args []string) int {
	if len(args) > 0 && args[0] == cmdService {
		return s.service(args[1:])
	}
	if len(args) > 0 && args[0] == "config" {
		return s.config(args[1:]) // config.go
	}
	log, logErr := openLog(s.root, s.now, s.mask)
	defer log.close()
	c := &console{stdout: s.stdout, stderr: s.stderr, json: wantsJSON(args), mask: s.mask, log: log}
	op := "run command"
	if len(args) > 0 {
		op = args[0]
	}
	in, perr := parseArgs(args)
	if perr != nil {
		return c.fail(op, perr, false)
	}
	if in.cmd == "help" || in.flag("help") {
		s.usage(in.cmd)
		return 0
	}
	s.mask.add(in.vals["service-principal-secret"])
	s.mask.add(in.vals["access-token"])
	c.json, c.logStderr, c.verbose = in.flag("json"), in.flag("log-stderr"), in.flag("verbose")

	needsRoot := in.cmd == cmdConnect || in.cmd == cmdDisconnect
	if needsRoot && os.Geteuid() != 0 && s.env("AZCMAGENT_SIM_NO_ROOT") != "1" {
		return c.fail(in.cmd, newErr(18, "azcmagent must run as root: retry with sudo (the simulator: or set AZCMAGENT_SIM_NO_ROOT=1)"), false)
	}
	if needsRoot && logErr != nil {
		return c.fail(in.cmd, newErr(5, fmt.Sprintf("cannot open %s/log/azcmagent.log: %v: check the directory, disk space and permissions", s.root, logErr)), false)
	}
	s.in = in
	if e := loadConfig(in); e != nil {
		return c.fail(in.cmd, e, false)
	}
	// The config file may carry the secret: mask it too.
	s.mask.add(in.vals["service-principal-secret"])
	s.mask.add(in.vals["access-token"])
	if in.configPath != "" {
		c.debug("Using config file " + in.configPath)
	}

	scen, err := loadScenario(s.env("AZCMAGENT_SIM_SCENARIO"), s.root, s.host)
	if err != nil {
		return c.fail(in.cmd, newErr(1, "simulator setup: "+err.Error()), false)
	}
	if needsRoot && scen.NotRoot {
		// microsoft/azure_arc issue 570 (2021): the Linux agent's wrapper refuses a
		// caller that is not root with this line on stdout, exit 1, no AZCM code.
		c.line(s.stdout, "You must be root to execute "+os.Args[0])
		return 1
	}
	switch in.cmd {
	case cmdConnect:
		return s.connect(ctx, c, in, scen)
	case cmdDisconnect:
		return s.disconnect(ctx, c, in, scen)
	case cmdShow:
		return s.show(ctx, c, scen)
	case cmdCheck:
		return s.check(ctx, c, in, scen)
	case cmdVersion:
		return s.version(c, scen)
	case cmdUpgrade:
		return s.upgrade(c, in, scen)
	}
	return c.fail(in.cmd, newErr(101, "unknown command"), false)
}

// agentVersion is the scenario's version or the default.
func agentVersion(h *HostScenario) string {
	if h.AgentVersion != "" {
		return h.AgentVersion
	}
	return defaultAgentVersion
}

// vmID derives a stable GUID from the host name, as a machine keeps its VM ID.
func vmID(host string) string {
	h := sha256.Sum256([]byte("vmid:" + host))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// lockState opens the host's state under the lock, seeding it from the
// scenario's initial state when the host has none yet.
func (s *sim) lockState(h *HostScenario) (*stateStore, *State, *simError) {
	store, err := openState(s.root)
	if err != nil {
		return nil, nil, newErr(69, err.Error())
	}
	st, ok, err := store.load()
	if err != nil {
		store.unlock()
		return nil, nil, newErr(70, err.Error())
	}
	if !ok {
		s.seed(st, h)
	}
	if st.Attempts == nil {
		st.Attempts = map[string]int{}
	}
	if st.Service == "" {
		st.Service = serviceRunning
	}
	st.Host = s.host
	st.AgentVersion = agentVersion(h)
	return store, st, nil
}

// seed fills a new host's state: Disconnected, or Connected when the scenario
// says so (initial.status, or gpo_broken_identity and resource_deleted, which
// need an onboarded host). A Connected host's resource exists in Azure, unless
// resource_deleted says it was deleted there.
func (s *sim) seed(st *State, h *HostScenario) {
	st.Status = statusDisconnected
	st.VMID = vmID(s.host)
	ini := h.Initial
	if ini == nil {
		ini = &Initial{}
	}
	if ini.Status != statusConnected && !h.GPOBrokenIdentity && !h.ResourceDeleted {
		return
	}
	pick := func(v, def string) string {
		if v != "" {
			return v
		}
		return def
	}
	st.Status = statusConnected
	st.SubscriptionID = pick(ini.SubscriptionID, "00000000-0000-0000-0000-000000000000")
	st.ResourceGroup = pick(ini.ResourceGroup, "arc-sim-rg")
	st.Location = pick(ini.Location, "westeurope")
	st.TenantID = pick(ini.TenantID, "00000000-0000-0000-0000-000000000000")
	st.ResourceName = pick(ini.ResourceName, shortHost(s.host))
	st.Cloud = pick(ini.Cloud, "AzureCloud")
	st.Tags = ini.Tags
	st.ResourceID = resourceID(st.SubscriptionID, st.ResourceGroup, st.ResourceName)
	st.LastHeartbeat = s.now().UTC().Format(time.RFC3339)
	if !h.ResourceDeleted {
		st.createInAzure(st.ResourceID)
	}
}

// shortHost is the host name up to the first dot, the agent's default resource name.
func shortHost(h string) string {
	name, _, _ := strings.Cut(h, ".")
	return name
}

// pause sleeps d unless ctx ends first (SIGTERM/SIGINT/SIGHUP): then AZCM0011.
func pause(ctx context.Context, d time.Duration) *simError {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return newErr(11, "the operation was cancelled by a signal: retry the command")
	}
}

// hang blocks until a signal (or the safety limit) and reports AZCM0011.
func hang(ctx context.Context) *simError {
	if e := pause(ctx, hangMax); e != nil {
		return e
	}
	return newErr(11, fmt.Sprintf("the simulator's hang gave up after %s: kill hung agents sooner", hangMax))
}

// crash dies the way a Go program does on a nil dereference: half a line on
// stdout, a panic and goroutine stack on stderr, exit status 2.
func (s *sim) crash(fn string) int {
	io.WriteString(s.stdout, "  40% |████████      ")
	fmt.Fprintf(s.stderr, "panic: runtime error: invalid memory address or nil pointer dereference\n"+
		"[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x8f2a4c]\n\n"+
		"goroutine 1 [running]:\n"+
		"github.com/Azure/azcmagent/cmd.%s(0xc0001a2000, {0xc00012e480, 0x9, 0x9})\n"+
		"\t/build/agent/cmd/%s.go:212 +0x4ac\n"+
		"github.com/spf13/cobra.(*Command).execute(0xc0001a2000, {0xc00012e3f0, 0x9, 0x9})\n"+
		"\t/go/pkg/mod/github.com/spf13/cobra@v1.8.0/command.go:983 +0xabc\n"+
		"main.main()\n\t/build/agent/main.go:17 +0x25\n", fn, strings.ToLower(fn))
	return 2
}

// finishFail reports a failure in the current or the old format.
func finishFail(c *console, op string, o Outcome, e *simError) int {
	if o.OldFormat {
		return c.failOld(op, e, o.Message)
	}
	return c.fail(op, e, o.ExitCodePrefix)
}

// injected is the failure an outcome's code asks for, or nil.
func injected(o Outcome) *simError {
	if o.Code == 0 {
		return nil
	}
	msg := o.Message
	if msg == "" {
		msg = info(int(o.Code)).detail
	}
	return newErr(int(o.Code), msg)
}

// describeLogin fills the end record's login fields (never a secret or token).
func (s *sim) describeLogin(r *recordLine) {
	if s.in != nil {
		r.ConfigKeys = s.in.configKeys
	}
	if s.seen == nil {
		return
	}
	r.Auth = s.seen.kind()
	if tok := s.seen.token; tok != "" {
		sum := sha256.Sum256([]byte(tok))
		r.TokenSHA256 = hex.EncodeToString(sum[:])
		if looksLikeJWT(tok) {
			if exp, err := tokenExp(tok); err == nil {
				r.TokenExp = exp.Unix()
			}
		}
	}
}
