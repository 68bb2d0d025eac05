package main

// The Kubernetes example (examples/kubernetes/) is checked without a cluster:
// kubectl's client-side dry run needs an API server to map kinds, so each
// manifest is decoded strictly (unknown fields rejected) into the k8s.io/api
// type of its kind (test-only dependency), its references checked (volumes,
// env in $(VAR), ConfigMap, PVC), the inventory in the ConfigMap validated by
// arcfleet, and every arcfleet command line in the manifests run through the
// CLI's own flag parsing up to the point where it would touch a host.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/testbed/sshtest"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const k8sExamples = "../../examples/kubernetes"

type k8sObject struct {
	file, kind, name string
	obj              any
}

// decodeStrict decodes one YAML document into the type of its kind, refusing unknown fields.
func decodeStrict(t *testing.T, file string, doc []byte) k8sObject {
	t.Helper()
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(js, &head); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var obj any
	switch head.APIVersion + " " + head.Kind {
	case "batch/v1 Job":
		obj = &batchv1.Job{}
	case "batch/v1 CronJob":
		obj = &batchv1.CronJob{}
	case "v1 ConfigMap":
		obj = &corev1.ConfigMap{}
	case "v1 PersistentVolumeClaim":
		obj = &corev1.PersistentVolumeClaim{}
	case "v1 Service":
		obj = &corev1.Service{}
	case "apps/v1 Deployment":
		obj = &appsv1.Deployment{}
	default:
		t.Fatalf("%s: %s %s: no check for this kind; add it to decodeStrict", file, head.APIVersion, head.Kind)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		t.Fatalf("%s: %s %s: %v", file, head.Kind, head.Metadata.Name, err)
	}
	if head.Metadata.Name == "" || head.Metadata.Namespace != "arcfleet" {
		t.Errorf("%s: %s %q: want a name and namespace arcfleet", file, head.Kind, head.Metadata.Name)
	}
	return k8sObject{file: file, kind: head.Kind, name: head.Metadata.Name, obj: obj}
}

func loadK8sExamples(t *testing.T) []k8sObject {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(k8sExamples, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", k8sExamples, err)
	}
	var out []k8sObject
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
			if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(doc, "")) == "" {
				continue
			}
			out = append(out, decodeStrict(t, filepath.Base(f), []byte(doc)))
		}
	}
	return out
}

// podOf is the pod template of a workload, with whether it runs as an Indexed Job of n completions.
func podOf(o k8sObject) (spec *corev1.PodSpec, indexed bool, completions int) {
	var js *batchv1.JobSpec
	switch v := o.obj.(type) {
	case *batchv1.Job:
		js = &v.Spec
	case *batchv1.CronJob:
		js = &v.Spec.JobTemplate.Spec
	case *appsv1.Deployment:
		return &v.Spec.Template.Spec, false, 0
	default:
		return nil, false, 0
	}
	if js.Completions != nil {
		completions = int(*js.Completions)
	}
	return &js.Template.Spec, js.CompletionMode != nil && *js.CompletionMode == batchv1.IndexedCompletion, completions
}

var k8sVarRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

func TestKubernetesExampleManifests(t *testing.T) {
	objs := loadK8sExamples(t)
	kinds := map[string]bool{}
	configMaps := map[string]*corev1.ConfigMap{}
	pvcs := map[string]bool{}
	for _, o := range objs {
		kinds[o.kind] = true
		switch v := o.obj.(type) {
		case *corev1.ConfigMap:
			configMaps[o.name] = v
		case *corev1.PersistentVolumeClaim:
			pvcs[o.name] = true
		}
	}
	for _, k := range []string{"Job", "CronJob", "ConfigMap", "PersistentVolumeClaim"} {
		if !kinds[k] {
			t.Errorf("the example has no %s", k)
		}
	}
	inv := exampleInventory(t, configMaps)

	shardJobs := 0
	for _, o := range objs {
		pod, indexed, completions := podOf(o)
		if pod == nil {
			continue
		}
		vols := map[string]corev1.Volume{}
		for _, v := range pod.Volumes {
			vols[v.Name] = v
			if v.ConfigMap != nil && configMaps[v.ConfigMap.Name] == nil {
				t.Errorf("%s: volume %s: ConfigMap %s is not in the example", o.file, v.Name, v.ConfigMap.Name)
			}
			if v.PersistentVolumeClaim != nil && !pvcs[v.PersistentVolumeClaim.ClaimName] {
				t.Errorf("%s: volume %s: PVC %s is not in the example", o.file, v.Name, v.PersistentVolumeClaim.ClaimName)
			}
		}
		for _, c := range pod.Containers {
			env := map[string]bool{}
			for _, e := range c.Env {
				env[e.Name] = true
				if e.Value != "" && strings.Contains(strings.ToUpper(e.Name), "SECRET") {
					t.Errorf("%s: %s: env %s holds a literal value: take it from a Secret", o.file, c.Name, e.Name)
				}
			}
			if indexed {
				env["JOB_COMPLETION_INDEX"] = true // set by the Job controller in Indexed Jobs
			}
			for _, m := range c.VolumeMounts {
				if _, ok := vols[m.Name]; !ok {
					t.Errorf("%s: %s: mount of undefined volume %s", o.file, c.Name, m.Name)
				}
			}
			for _, a := range c.Args {
				for _, ref := range k8sVarRef.FindAllStringSubmatch(a, -1) {
					if !env[ref[1]] {
						t.Errorf("%s: %s: argument %q refers to $(%s), which the container does not define (Kubernetes would pass it literally)", o.file, c.Name, a, ref[1])
					}
				}
			}
			if !strings.Contains(c.Image, "arcfleet") {
				continue
			}
			if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
				t.Errorf("%s: %s: want readOnlyRootFilesystem", o.file, c.Name)
			}
			if hasShardFlag(c.Args) {
				shardJobs++
				if !indexed {
					t.Errorf("%s: --shard in a Job that is not completionMode: Indexed", o.file)
				}
				if n := shardCount(t, c.Args); n != completions {
					t.Errorf("%s: --shard .../%d but completions %d: every shard needs its pod", o.file, n, completions)
				}
			}
			for idx := 0; idx < max(completions, 1); idx++ {
				checkArcfleetArgs(t, o.file, c.Args, idx, inv)
			}
		}
	}
	if shardJobs < 2 {
		t.Errorf("%d sharded workloads; want the Job and the CronJob", shardJobs)
	}
}

func configMapsOf(objs []k8sObject) map[string]*corev1.ConfigMap {
	out := map[string]*corev1.ConfigMap{}
	for _, o := range objs {
		if cm, ok := o.obj.(*corev1.ConfigMap); ok {
			out[o.name] = cm
		}
	}
	return out
}

func hasShardFlag(args []string) bool {
	for _, a := range args {
		if a == "--shard" {
			return true
		}
	}
	return false
}

func shardCount(t *testing.T, args []string) int {
	for i, a := range args {
		if a == "--shard" && i+1 < len(args) {
			_, n, _ := strings.Cut(args[i+1], "/")
			v, err := strconv.Atoi(n)
			if err != nil {
				t.Errorf("--shard %q: N is not a number", args[i+1])
			}
			return v
		}
	}
	return 0
}

// exampleInventory writes the ConfigMap's inventory to a file, checks that
// arcfleet validates it, and returns its path.
func exampleInventory(t *testing.T, cms map[string]*corev1.ConfigMap) string {
	t.Helper()
	cm := cms["arcfleet-inventory"]
	if cm == nil || cm.Data["inventory.yaml"] == "" {
		t.Fatal("no ConfigMap arcfleet-inventory with inventory.yaml")
	}
	// The pod's mounts, in a temporary directory: the ConfigMap at /etc/arcfleet,
	// the SSH key Secret at /etc/arcfleet-ssh.
	root := t.TempDir()
	etc, keys := filepath.Join(root, "etc-arcfleet"), filepath.Join(root, "etc-arcfleet-ssh")
	for _, d := range []string{etc, keys} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range cm.Data {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sshtest.WriteKey(filepath.Join(keys, "id_ed25519"), ""); err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(cm.Data["inventory.yaml"], "/etc/arcfleet-ssh/", keys+"/")
	text = strings.ReplaceAll(text, "/etc/arcfleet/", etc+"/")
	if text == cm.Data["inventory.yaml"] {
		t.Fatal("the example inventory names no file under /etc/arcfleet or /etc/arcfleet-ssh: update this test's mounts")
	}
	path := filepath.Join(etc, "inventory.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"connect", "reconnect"} {
		e, so, se := exampleEnv(map[string]string{"ARC_SP_SECRET": "example-only"})
		if code := run(context.Background(), e, []string{"validate", "-i", path, "--action", action}); code != exitOK {
			t.Fatalf("the example inventory does not validate for %s: exit %d\n%s%s", action, code, so, se)
		}
	}
	return path
}

func exampleEnv(vars map[string]string) (*env, *bytes.Buffer, *bytes.Buffer) {
	var so, se bytes.Buffer
	return &env{stdin: strings.NewReader(""), stdout: &so, stderr: &se, getenv: func(k string) string { return vars[k] }}, &so, &se
}

// checkArcfleetArgs runs the container's arcfleet command line (Kubernetes'
// $(VAR) expanded for pod idx, paths moved into a temporary directory) through
// the CLI. It must get past its flags to the point where it would need the
// secret (apply: refused for the unset secret, exit 2, before any host) or the
// run directories (report merge: refused, they do not exist).
func checkArcfleetArgs(t *testing.T, file string, args []string, idx int, inv string) {
	t.Helper()
	if len(args) == 0 || args[0] == "--version" {
		return
	}
	tmp := t.TempDir()
	vars := map[string]string{"JOB_COMPLETION_INDEX": strconv.Itoa(idx), "JOB_NAME": "arcfleet-job-1"}
	var expanded []string
	for _, a := range args {
		a = k8sVarRef.ReplaceAllStringFunc(a, func(m string) string { return vars[m[2:len(m)-1]] })
		a = strings.Replace(a, "/etc/arcfleet/inventory.yaml", inv, 1)
		if strings.HasPrefix(a, "/runs/") {
			a = filepath.Join(tmp, a)
		}
		expanded = append(expanded, a)
	}
	e, so, se := exampleEnv(nil) // no secret: apply stops before touching a host
	code := run(context.Background(), e, expanded)
	out := so.String() + se.String()
	where := fmt.Sprintf("%s: arcfleet %s (pod %d): exit %d\n%s", file, strings.Join(expanded, " "), idx, code, out)
	if strings.Contains(out, "unknown flag") || strings.Contains(out, "unknown shorthand flag") || strings.Contains(out, "Usage:") || strings.Contains(out, "unknown command") {
		t.Errorf("%s\nthe command line does not parse", where)
		return
	}
	switch {
	case expanded[0] == "apply":
		if code != exitInvalid || !strings.Contains(out, "do not resolve") || !strings.Contains(out, fmt.Sprintf("shard %d/", idx)) {
			t.Errorf("%s\nwant the shard selected and a refusal for the unset secret only", where)
		}
	case expanded[0] == "report" && len(expanded) > 1 && expanded[1] == "merge":
		if code != exitInvalid || !strings.Contains(out, "not a run directory") {
			t.Errorf("%s\nwant a refusal for the missing shard run directories only", where)
		}
	default:
		t.Errorf("%s\nno check for this command", where)
	}
}

// The workload-identity variant the example documents (access-token mode, no
// secret on the controller) is accepted by this arcfleet's validation.
func TestKubernetesExampleWorkloadIdentity(t *testing.T) {
	inv := exampleInventory(t, configMapsOf(loadK8sExamples(t)))
	data, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^(\s+)secret: \{env: ARC_SP_SECRET\}.*$`)
	if !re.Match(data) {
		t.Fatal("the example credential no longer reads secret: {env: ARC_SP_SECRET}: update this test and the README")
	}
	wi := re.ReplaceAll(data, []byte("${1}auth: access-token\n${1}token_from: workload-identity"))
	path := filepath.Join(filepath.Dir(inv), "inventory-wi.yaml")
	if err := os.WriteFile(path, wi, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"connect", "reconnect"} {
		code, out := runCLI(t, map[string]string{"AZURE_FEDERATED_TOKEN_FILE": path, "AZURE_CLIENT_ID": "3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21"},
			"validate", "-i", path, "--action", action)
		if code != exitOK {
			t.Errorf("workload identity variant, %s: exit %d\n%s", action, code, out)
		}
	}
}
