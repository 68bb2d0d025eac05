package inventory

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

// The env vars each example references: the docs in the examples name the same.
var exampleEnv = map[string][]string{
	"linux-fleet.yaml":                  {"ARC_SP_SECRET"},
	"mixed-fleet.yaml":                  {"ARC_SP_LAB", "ARC_SP_PROD", "WINRM_PASSWORD"},
	"gpo-reregistration/inventory.yaml": {"ARC_SP_SECRET", "WINRM_PASSWORD"},
}

func TestExamplesValidate(t *testing.T) {
	for rel, vars := range exampleEnv {
		t.Run(rel, func(t *testing.T) {
			path := filepath.Join("..", "..", "examples", rel)
			inv, err := Load(path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			hosts, err := inv.Select("")
			if err != nil {
				t.Fatal(err)
			}
			for _, action := range []string{"connect", "disconnect", "reconnect"} {
				for _, f := range Validate(inv, hosts, action) {
					t.Errorf("%s: %s", action, f)
				}
			}
			set := map[string]string{}
			for _, v := range vars {
				set[v] = "sentinel-not-a-real-secret"
			}
			lookup := func(k string) (string, bool) { v, ok := set[k]; return v, ok }
			for _, f := range CheckSecretRefs(inv, hosts, lookup) {
				t.Errorf("with %v set: %s", vars, f)
			}
			// Without them, each is reported: the check above is not vacuous.
			var missing []string
			for _, f := range CheckSecretRefs(inv, hosts, func(string) (string, bool) { return "", false }) {
				for _, v := range vars {
					if strings.Contains(f.Message, "(env:"+v+")") {
						missing = append(missing, v)
					}
				}
			}
			sort.Strings(missing)
			if strings.Join(missing, ",") != strings.Join(vars, ",") {
				t.Errorf("unset env vars reported: %v, want %v", missing, vars)
			}
			golden(t, filepath.Join("testdata", "golden", strings.ReplaceAll(rel, "/", "_")+".json"), inv)
		})
	}
}

// The annotated example in docs/inventory.md loads and validates.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "inventory.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := bytes.Cut(doc, []byte("```yaml\n"))
	block, _, ok2 := bytes.Cut(rest, []byte("```"))
	if !ok || !ok2 {
		t.Fatal("no yaml block in docs/inventory.md")
	}
	inv, err := Parse("docs/inventory.md", block)
	if err != nil {
		t.Fatalf("the documented example does not load:\n%v", err)
	}
	for _, f := range Validate(inv, inv.mustSelect(t, ""), "connect") {
		t.Errorf("documented example: %s", f)
	}
	if h := inv.Host("labweb01"); h == nil || h.Credential != "sp-lab" || h.Azure.ResourceGroup != "rg-arc-lab" || h.SSH.Via != "web01.corp.example" {
		t.Errorf("labweb01 = %+v", h)
	}
}

// golden compares the resolved inventory (as JSON, positions left out) with a
// golden file; go test -run Examples -update rewrites it.
func golden(t *testing.T, path string, inv *Inventory) {
	t.Helper()
	got, err := json.MarshalIndent(inv, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./inventory -run Examples -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("resolved inventory differs from %s (run with -update if the change is intended):\n%s", path, got)
	}
}

// The job files run the same inventory with the re-registration action.
func TestGPOJobFiles(t *testing.T) {
	dir := filepath.Join("..", "..", "examples", "gpo-reregistration")
	for _, f := range []string{"arcfleet-reregister.service", "crontab", "k8s-cronjob.yaml"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if f == "k8s-cronjob.yaml" {
			var cj struct {
				Kind string
				Spec struct {
					Schedule    string
					JobTemplate struct {
						Spec struct {
							Template struct {
								Spec struct {
									Containers []struct{ Args []string }
								}
							}
						}
					} `yaml:"jobTemplate"`
				}
			}
			if err := yaml.Unmarshal(b, &cj); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			cs := cj.Spec.JobTemplate.Spec.Template.Spec.Containers
			if cj.Kind != "CronJob" || cj.Spec.Schedule == "" || len(cs) != 1 {
				t.Fatalf("%s: not a CronJob with one container: %+v", f, cj)
			}
			s = strings.Join(cs[0].Args, " ")
		}
		if !strings.Contains(s, "apply -i ") || !strings.Contains(s, "inventory.yaml --action reconnect --yes") {
			t.Errorf("%s does not run `arcfleet apply -i .../inventory.yaml --action reconnect --yes`", f)
		}
		if strings.Contains(s, "ARC_SP_SECRET=") && !strings.Contains(s, "secrets.env") {
			t.Errorf("%s puts a secret on a command line", f)
		}
	}
	timer, err := os.ReadFile(filepath.Join(dir, "arcfleet-reregister.timer"))
	if err != nil || !bytes.Contains(timer, []byte("OnCalendar=")) {
		t.Errorf("timer: %v, %q", err, timer)
	}
}

// The digest ignores layout and key order but follows every resolved value.
func TestDigest(t *testing.T) {
	a := mustParse(t, "version: 1\nazure: {location: westeurope, tags: {a: '1', b: '2'}}\nhosts:\n  - {name: h, port: 22}\n")
	b := mustParse(t, "# same, reordered\nhosts:\n  - port: 22\n    name: h\nazure:\n  tags:\n    b: '2'\n    a: '1'\n  location: westeurope\nversion: 1\n")
	c := mustParse(t, "version: 1\nazure: {location: westeurope, tags: {a: '1', b: '3'}}\nhosts:\n  - {name: h, port: 22}\n")
	if !strings.HasPrefix(a.Digest, "sha256:") || len(a.Digest) != len("sha256:")+64 {
		t.Fatalf("digest %q", a.Digest)
	}
	if a.Digest != b.Digest {
		t.Errorf("layout changed the digest: %s vs %s", a.Digest, b.Digest)
	}
	if a.Digest == c.Digest {
		t.Error("a changed tag value kept the digest")
	}
	again := mustParse(t, "version: 1\nazure: {location: westeurope, tags: {a: '1', b: '2'}}\nhosts:\n  - {name: h, port: 22}\n")
	if again.Digest != a.Digest {
		t.Error("digest not stable across runs")
	}
}
