package demo

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"

	xssh "golang.org/x/crypto/ssh"

	"github.com/arcfleet/arcfleet/testbed/sshtest"
)

// lightHost is a simulated Linux host for scale runs: a real SSH server (x/crypto
// server side, one listener per host) whose agent is emulated in this process
// instead of spawning /bin/sh and azcmagent-sim. A spawned host costs about
// 50 ms of CPU per host (16 processes, 3 of them Go binaries), so 10,000 of them
// on 2 cores cannot finish in CI time; the controller's side (executor, SSH
// client, handshakes, stdin delivery, exit status, logs, journal) stays real.
//
// It answers the probe (`azcmagent show --json` + version) and connect steps
// (with the precondition of agent.InputExpect, as the script checks it) the way
// the simulator documents them (testbed/azcmagent-sim/README.md), checks
// the service-principal secret against its hash, and takes `slow` per connect.
type lightHost struct {
	name   string
	slow   time.Duration
	accept [32]byte // sha256 of the accepted secret
	cfg    *xssh.ServerConfig
	ln     net.Listener

	mu        sync.Mutex
	connected *agentConfig // nil = disconnected
	conns     map[net.Conn]bool
	closed    bool
	wg        sync.WaitGroup
}

// agentConfig is the part of agent.AgentConfig's JSON the host reads.
type agentConfig struct {
	SubscriptionID string `json:"subscription-id"`
	ResourceGroup  string `json:"resource-group"`
	Location       string `json:"location"`
	TenantID       string `json:"tenant-id"`
	Secret         string `json:"service-principal-secret"`
	ResourceName   string `json:"resource-name"`
	Cloud          string `json:"cloud"`
}

// lightServerConfig is shared by all light hosts of a fleet.
func lightServerConfig(hostKey xssh.Signer, client xssh.PublicKey) *xssh.ServerConfig {
	want := client.Marshal()
	cfg := &xssh.ServerConfig{
		PublicKeyCallback: func(md xssh.ConnMetadata, key xssh.PublicKey) (*xssh.Permissions, error) {
			if md.User() == LinuxUser && subtle.ConstantTimeCompare(key.Marshal(), want) == 1 {
				return nil, nil
			}
			return nil, errors.New("key not authorized")
		},
		ServerVersion: "SSH-2.0-arcfleet-demo-light",
	}
	cfg.AddHostKey(hostKey)
	return cfg
}

func startLightHost(name string, slow time.Duration, accept [32]byte, cfg *xssh.ServerConfig) (*lightHost, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &lightHost{name: name, slow: slow, accept: accept, cfg: cfg, ln: ln, conns: map[net.Conn]bool{}}
	h.wg.Add(1)
	go h.serve()
	return h, nil
}

func (h *lightHost) addr() (string, int) {
	a := h.ln.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

// Close stops listening and drops every connection.
func (h *lightHost) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	err := h.ln.Close()
	for c := range h.conns {
		c.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
	return err
}

func (h *lightHost) serve() {
	defer h.wg.Done()
	for {
		nc, err := h.ln.Accept()
		if err != nil {
			return
		}
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			nc.Close()
			return
		}
		h.conns[nc] = true
		h.mu.Unlock()
		h.wg.Add(1)
		go h.handleConn(nc)
	}
}

func (h *lightHost) handleConn(nc net.Conn) {
	defer h.wg.Done()
	defer func() {
		h.mu.Lock()
		delete(h.conns, nc)
		h.mu.Unlock()
		nc.Close()
	}()
	sc, chans, reqs, err := xssh.NewServerConn(nc, h.cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go xssh.DiscardRequests(reqs) // keepalives get "false", as from OpenSSH
	var wg sync.WaitGroup
	defer wg.Wait()
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(xssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); h.session(ch, creqs) }()
	}
}

// session serves one exec request; a signal or the channel's close aborts it.
func (h *lightHost) session(ch xssh.Channel, reqs <-chan *xssh.Request) {
	defer ch.Close()
	abort := make(chan struct{})
	var once sync.Once
	stop := func() { once.Do(func() { close(abort) }) }
	done := make(chan uint32, 1)
	started := false
	for {
		select {
		case req, ok := <-reqs:
			if !ok {
				stop()
				if started {
					<-done
				}
				return
			}
			switch {
			case req.Type == "exec" && !started:
				var p struct{ Command string }
				if xssh.Unmarshal(req.Payload, &p) != nil {
					req.Reply(false, nil)
					continue
				}
				started = true
				req.Reply(true, nil)
				go func() { done <- h.run(p.Command, ch, abort) }()
			case req.Type == "signal":
				stop()
				if req.WantReply {
					req.Reply(true, nil)
				}
			default:
				if req.WantReply {
					req.Reply(false, nil)
				}
			}
		case code := <-done:
			ch.SendRequest("exit-status", false, xssh.Marshal(struct{ Status uint32 }{code}))
			return
		}
	}
}

// run emulates one arcfleet step script and returns its exit code.
func (h *lightHost) run(cmd string, ch xssh.Channel, abort <-chan struct{}) uint32 {
	switch {
	case strings.Contains(cmd, "# arcfleet probe\n"):
		h.mu.Lock()
		c := h.connected
		h.mu.Unlock()
		show := map[string]any{"status": "Disconnected", "resourceId": "", "agentVersion": "1.50.03036.1885"}
		if c != nil {
			show = map[string]any{"status": "Connected", "resourceId": h.resourceID(c), "resourceName": h.name,
				"resourceGroup": c.ResourceGroup, "subscriptionId": c.SubscriptionID, "tenantId": c.TenantID,
				"location": c.Location, "cloud": c.Cloud, "agentVersion": "1.50.03036.1885"}
		}
		b, _ := json.MarshalIndent(show, "", "  ")
		fmt.Fprintf(ch, "%s\n%sazcmagent version 1.50.03036.1885\n", b, agent.AgentVersionMarker)
		return 0
	case strings.Contains(cmd, "# arcfleet connect\n"):
		// The header line, then the config (with the secret) up to agent.InputEnd,
		// as the real script reads them.
		// Stdin may stay open after that: read lines, never to EOF.
		var cfg strings.Builder
		br := bufio.NewReader(io.LimitReader(ch, 1<<20))
		hdr, err := br.ReadString('\n')
		// The precondition (agent.InputExpect), as the script checks it under
		// the host lock: the agent's show, then refuse unless unregistered.
		if f := strings.Fields(hdr); err == nil && len(f) > 5 && f[5] == agent.ExpectUnregistered {
			h.mu.Lock()
			c := h.connected
			h.mu.Unlock()
			show := map[string]any{"status": "Disconnected", "resourceId": "", "agentVersion": "1.50.03036.1885"}
			if c != nil {
				show = map[string]any{"status": "Connected", "resourceId": h.resourceID(c), "resourceName": h.name,
					"resourceGroup": c.ResourceGroup, "subscriptionId": c.SubscriptionID, "tenantId": c.TenantID,
					"location": c.Location, "cloud": c.Cloud, "agentVersion": "1.50.03036.1885"}
			}
			b, _ := json.MarshalIndent(show, "", "  ")
			fmt.Fprintf(ch, "%s\n%s\n%s\n", agent.ShowMarker, b, agent.ShowEndMarker)
			if c != nil {
				fmt.Fprintf(ch.Stderr(), "%sexpected %s, show --json differs (status, resourceId)\n", agent.StateChangedMarker, agent.ExpectUnregistered)
				return agent.ExitStateChanged
			}
		}
		for err == nil {
			var line string
			if line, err = br.ReadString('\n'); err == nil && strings.TrimSuffix(line, "\n") == agent.InputEnd {
				break
			}
			cfg.WriteString(line)
		}
		var c agentConfig
		if err == nil {
			err = json.Unmarshal([]byte(cfg.String()), &c)
		}
		if err != nil {
			fmt.Fprintf(ch.Stderr(), "%ssetup-failed: stdin\n", agent.ErrorMarker)
			return agent.ExitSetupFailed
		}
		t := time.NewTimer(h.slow)
		defer t.Stop()
		select {
		case <-abort:
			return 137
		case <-t.C:
		}
		now := time.Now().UTC().Format(time.RFC3339)
		if sum := sha256.Sum256([]byte(c.Secret)); subtle.ConstantTimeCompare(sum[:], h.accept[:]) != 1 {
			fmt.Fprintf(ch, `{"status":"Failed","operation":"connect","error":{"code":"AZCM0041","exitCode":41,"title":"Invalid Credentials","message":"Failed to get authorization token from SPN"}}`+"\n")
			fmt.Fprintf(ch.Stderr(), "FATAL   Failed to get authorization token from SPN\nAZCM0041: Invalid Credentials\n%s\n", agent.AgentLogMarker)
			fmt.Fprintf(ch.Stderr(), "time=%q level=fatal msg=\"AZCM0041: Invalid Credentials\"\n", now)
			return 41
		}
		h.mu.Lock()
		h.connected = &c
		h.mu.Unlock()
		out, _ := json.MarshalIndent(map[string]any{"status": "Succeeded", "operation": "connect", "resourceId": h.resourceID(&c),
			"resourceName": h.name, "resourceGroup": c.ResourceGroup, "subscriptionId": c.SubscriptionID,
			"tenantId": c.TenantID, "location": c.Location, "cloud": c.Cloud}, "", "  ")
		fmt.Fprintf(ch, "%s\n", out)
		fmt.Fprintf(ch.Stderr(), "INFO    Connecting machine to Azure... This might take a few minutes.\nINFO    Connected machine to Azure\n%s\n", agent.AgentLogMarker)
		fmt.Fprintf(ch.Stderr(), "time=%q level=info msg=\"Connecting machine to Azure... This might take a few minutes.\"\ntime=%q level=info msg=\"Connected machine to Azure\"\n", now, now)
		return 0
	}
	fmt.Fprintf(ch.Stderr(), "arcfleet demo light host %s: step not emulated (only probe and connect); use a spawning host\n", h.name)
	return 127
}

func (h *lightHost) resourceID(c *agentConfig) string {
	return "/subscriptions/" + c.SubscriptionID + "/resourceGroups/" + c.ResourceGroup +
		"/providers/Microsoft.HybridCompute/machines/" + h.name
}

// lightHostKey returns the shared host key and config for a fleet's light hosts.
func newLightConfig(client xssh.PublicKey, shared xssh.Signer) (*xssh.ServerConfig, xssh.Signer, error) {
	if shared == nil {
		var err error
		if shared, _, err = sshtest.NewSigner(); err != nil {
			return nil, nil, err
		}
	}
	return lightServerConfig(shared, client), shared, nil
}
