package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// simBin is the simulator built once by TestMain; the tests drive it as a subprocess.
var simBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "azcmagent-sim-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(dir, 0o755) // the AZCM0018 test runs the binary as nobody
	simBin = filepath.Join(dir, "azcmagent-sim")
	build := exec.Command("go", "build", "-o", simBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the simulator:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Test identities used across the tests.
const (
	subID    = "11111111-2222-3333-4444-555555555555"
	tenantID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	appID    = "99999999-8888-7777-6666-555555555555"
	corrID   = "0f0e0d0c-0b0a-4908-8706-050403020100"
	sentinel = "S3ntinel-Secr3t-7Qx"
	fixedNow = "2024-05-06T07:08:09Z"
)

// host is one simulated machine: its own ROOT and name.
type host struct {
	t    *testing.T
	name string
	root string
	env  []string
}

func newHost(t *testing.T, name string, extraEnv ...string) *host {
	t.Helper()
	root := t.TempDir()
	h := &host{t: t, name: name, root: root}
	h.env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"AZCMAGENT_SIM_ROOT=" + root,
		"AZCMAGENT_SIM_HOST=" + name,
		"AZCMAGENT_SIM_NO_ROOT=1",
		"AZCMAGENT_SIM_NOW=" + fixedNow,
	}, extraEnv...)
	return h
}

// scenario writes ROOT/scenario.yaml.
func (h *host) scenario(yaml string) {
	h.t.Helper()
	if err := os.WriteFile(filepath.Join(h.root, "scenario.yaml"), []byte(yaml), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

type result struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

func (h *host) cmd(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, simBin, args...)
	c.Env = h.env
	return c
}

// run runs the simulator to completion (10 s limit) and returns what it did.
func (h *host) run(args ...string) result {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := h.cmd(ctx, args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	start := time.Now()
	err := c.Run()
	r := result{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		h.t.Fatalf("running %v: %v", args, err)
	}
	return r
}

// expect runs and checks the exit code.
func (h *host) expect(code int, args ...string) result {
	h.t.Helper()
	r := h.run(args...)
	if r.code != code {
		h.t.Fatalf("azcmagent-sim %s: want exit %d, got %s", strings.Join(args, " "), code, r)
	}
	return r
}

// connectArgs is a valid connect command line with the sentinel secret.
func connectArgs(extra ...string) []string {
	return append([]string{"connect", "--subscription-id", subID, "--resource-group", "rg-arc", "--location", "westeurope",
		"--tenant-id", tenantID, "--service-principal-id", appID, "--service-principal-secret", sentinel}, extra...)
}

// disconnectArgs is a valid disconnect with the sentinel secret.
func disconnectArgs(extra ...string) []string {
	return append([]string{"disconnect", "-i", appID, "-p", sentinel}, extra...)
}

func (h *host) readFile(rel string) string {
	h.t.Helper()
	data, err := os.ReadFile(filepath.Join(h.root, rel))
	if err != nil {
		h.t.Fatal(err)
	}
	return string(data)
}

// golden compares got with testdata/golden/NAME, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./testbed/azcmagent-sim -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test -update to accept):\n--- want:\n%s\n--- got:\n%s", path, want, got)
	}
}
