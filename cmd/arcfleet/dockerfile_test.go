package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfileStaticBuild runs the Dockerfile's own `go build` line (docker
// cannot run here) and checks the result is a static binary: no ELF
// interpreter, no shared libraries, so it runs on distroless/static or scratch.
func TestDockerfileStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var run string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "RUN ") && strings.Contains(line, "go build") {
			if run != "" {
				t.Fatal("the Dockerfile has two go build lines: which one is the image's?")
			}
			run = strings.TrimPrefix(line, "RUN ")
		}
	}
	if !strings.HasPrefix(run, "CGO_ENABLED=0 go build ") || !strings.HasSuffix(run, " -o /out/arcfleet ./cmd/arcfleet") {
		t.Fatalf("the Dockerfile's build line %q: want CGO_ENABLED=0 go build ... -o /out/arcfleet ./cmd/arcfleet", run)
	}
	if !regexp.MustCompile(`(?m)^FROM gcr\.io/distroless/static|^FROM scratch`).Match(data) {
		t.Error("the final stage is not distroless/static or scratch")
	}
	out := filepath.Join(t.TempDir(), "arcfleet")
	cmd := exec.Command("sh", "-c", strings.Replace(run, "/out/arcfleet", out, 1))
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "VERSION=9.9.9-dockerfile-test")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", run, err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: it is dynamically linked")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
	v, err := exec.Command(out, "--version").Output()
	if err != nil || !strings.Contains(string(v), "9.9.9-dockerfile-test") {
		t.Errorf("%s --version: %q, %v; want the VERSION build argument", out, v, err)
	}
}
