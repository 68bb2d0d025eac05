package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

var planTime = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func loadFleet(t testing.TB) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Load(filepath.Join("testdata", "fleet.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func buildFleet(t testing.TB, action, limit string) (*inventory.Inventory, *Plan) {
	t.Helper()
	inv := loadFleet(t)
	hosts, err := inv.Select(limit)
	if err != nil {
		t.Fatal(err)
	}
	return inv, Build(inv, hosts, action, limit, planTime)
}

func TestGoldenPlan(t *testing.T) {
	for _, tc := range []struct{ action, limit string }{
		{agent.ActionReconnect, ""},
		{agent.ActionConnect, "web*,sql01"},
		{agent.ActionDisconnect, "labweb01"},
	} {
		_, p := buildFleet(t, tc.action, tc.limit)
		for _, format := range []string{FormatTable, FormatMarkdown, FormatJSON} {
			var b bytes.Buffer
			if err := Render(&b, p, format); err != nil {
				t.Fatal(err)
			}
			ext := map[string]string{FormatTable: "txt", FormatMarkdown: "md", FormatJSON: "json"}[format]
			checkGolden(t, fmt.Sprintf("plan-%s.%s.golden", tc.action, ext), b.Bytes())
		}
	}
}

func TestBuild(t *testing.T) {
	_, p := buildFleet(t, agent.ActionReconnect, "")
	byName := map[string]*HostPlan{}
	for i := range p.Hosts {
		byName[p.Hosts[i].Host.Name] = &p.Hosts[i]
	}
	wantSteps := []string{agent.StepProbe, agent.StepDisconnect, agent.StepDisconnectLocal, agent.StepConnect}
	for name, hp := range byName {
		var got []string
		for _, s := range hp.Steps {
			got = append(got, s.Name)
		}
		if fmt.Sprint(got) != fmt.Sprint(wantSteps) {
			t.Errorf("%s steps %v, want %v", name, got, wantSteps)
		}
		if hp.Steps[2].OnlyIf != agent.OnlyIfPreviousFailed || hp.Steps[1].OnlyIf != "" {
			t.Errorf("%s: only disconnect-local is a fallback: %+v", name, hp.Steps)
		}
		if len(hp.Recovery) != 2 || hp.Recovery[0].Name != agent.StepRestartService || hp.Recovery[1].Name != agent.StepStop {
			t.Errorf("%s recovery %+v", name, hp.Recovery)
		}
	}
	for name, want := range map[string]bool{"web01": false, "badtags": true, "badname": true, "labweb01": false, "winhttp": false} {
		if got := byName[name].Blocked(); got != want {
			t.Errorf("%s blocked = %v, want %v (findings %v)", name, got, want, byName[name].Findings)
		}
	}
	if len(byName["labweb01"].Findings) == 0 {
		t.Error("labweb01's insecure-ignore warning is missing from its findings")
	}
	// Stdin per host: its own config, secret by reference.
	st := byName["sql02"].Steps[3]
	if !strings.Contains(st.Stdin, `"resource-group": "rg-arc-lab"`) || !strings.Contains(st.Stdin, "<secret file:/etc/arcfleet/sp-lab.secret>") {
		t.Errorf("sql02 connect stdin %s", st.Stdin)
	}
	if len(p.Credentials) != 2 || p.Credentials["sp-lab"].Secret.File == "" {
		t.Errorf("credentials %+v", p.Credentials)
	}
	if p.InventoryDigest == "" || p.Retry.BreakerThreshold != loadFleet(t).Retry.BreakerThreshold {
		t.Error("digest or retry policy not carried")
	}
	// labweb01 alone: its jump host rides along, not as a planned host.
	_, p = buildFleet(t, agent.ActionConnect, "labweb01")
	if len(p.Hosts) != 1 || len(p.JumpHosts) != 1 || p.JumpHosts[0].Name != "labjump" {
		t.Errorf("hosts %d, jump hosts %+v", len(p.Hosts), p.JumpHosts)
	}
	if p.HostLookup()("labweb01") == nil {
		t.Error("PlanHosts misses the planned host")
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	_, p := buildFleet(t, agent.ActionReconnect, "")
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := Save(path, p); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("plan file mode %v, want 0600", fi.Mode().Perm())
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("temp files left next to the plan: %v", ents)
	}
	q, err := LoadPlan(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(p)
	b, _ := json.Marshal(q)
	if !bytes.Equal(a, b) {
		t.Error("plan changed in a save/load round trip")
	}
	for i := range p.Hosts {
		for j, s := range p.Hosts[i].Steps {
			if q.Hosts[i].Steps[j] != s {
				t.Fatalf("host %s step %d differs after load", p.Hosts[i].Host.Name, j)
			}
		}
	}
	if !q.CreatedAt.Equal(p.CreatedAt) {
		t.Error("created_at changed")
	}
	// The JSON holds each script once, however many hosts use it.
	data, _ := os.ReadFile(path)
	var stored struct{ Scripts []PlanScript }
	if err := json.Unmarshal(data, &stored); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, sc := range stored.Scripts {
		if sc.Step == agent.StepConnect {
			n++
		}
	}
	if n != 3 || strings.Count(string(data), `"script": "S4"`) != 6 {
		t.Errorf("connect scripts stored %d times, want 3 (linux, windows, windows with agent path), each referred to by its hosts", n)
	}
}

func TestLoadPlanErrors(t *testing.T) {
	_, p := buildFleet(t, agent.ActionConnect, "web01")
	good, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	for _, tc := range []struct{ name, data, want string }{
		{"empty", "", "not a JSON plan"},
		{"syntax", "{\n  \"format_version\": 1,\n  \"action\": }", "plan.json:3:13"},
		{"not a plan", `{"hello": 1}`, "no format_version"},
		{"newer", `{"format_version": 99}`, "newer than this arcfleet reads"},
		{"older", `{"format_version": 0}`, "not supported"},
		{"wrong type", edit(func(m map[string]any) { m["action"] = 5 }), "action"},
		{"unknown field", edit(func(m map[string]any) { m["surprise"] = true }), "surprise"},
		{"bad action", edit(func(m map[string]any) { m["action"] = "explode" }), `unknown action "explode"`},
		{"no digest", edit(func(m map[string]any) { m["inventory_digest"] = "" }), "no inventory_digest"},
		{"dangling script", edit(func(m map[string]any) { m["scripts"] = []any{} }), "does not have"},
		{"no steps", edit(func(m map[string]any) { m["hosts"].([]any)[0].(map[string]any)["steps"] = []any{} }), "has no steps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "plan.json")
			if err := os.WriteFile(path, []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadPlan(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "plan.json") || !strings.Contains(err.Error(), "fix:") {
				t.Errorf("LoadPlan error %v, want it to name the file, %q and the fix", err, tc.want)
			}
		})
	}
	if _, err := LoadPlan(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzParsePlan(f *testing.F) {
	inv, err := inventory.Load(filepath.Join("testdata", "fleet.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	hosts, _ := inv.Select("web01,sql01")
	good, _ := json.Marshal(Build(inv, hosts, agent.ActionConnect, "", planTime))
	f.Add(good)
	f.Add([]byte(`{"format_version":1}`))
	f.Add([]byte(`{"format_version":1,"action":"connect","inventory_digest":"x","created_at":"2026-01-01T00:00:00Z","hosts":[{"host":{"name":"a"},"steps":[{"name":"probe","script":"S1"}]}],"scripts":[{"id":"S1","command":"x"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parsePlan("fuzz.json", data)
		if err == nil && p == nil {
			t.Fatal("nil plan without an error")
		}
	})
}

func TestCheckFresh(t *testing.T) {
	inv, p := buildFleet(t, agent.ActionConnect, "web*")
	changed := *inv
	changed.Digest = "sha256:different"
	for _, tc := range []struct {
		name   string
		inv    *inventory.Inventory
		now    time.Time
		maxAge time.Duration
		want   string // "" = fresh
	}{
		{"fresh", inv, planTime.Add(time.Minute), time.Hour, ""},
		{"no age limit", inv, planTime.Add(1000 * time.Hour), 0, ""},
		{"at the limit", inv, planTime.Add(time.Hour), time.Hour, ""},
		{"too old", inv, planTime.Add(2 * time.Hour), time.Hour, "2h0m0s ago, more than the 1h0m0s allowed"},
		{"inventory changed", &changed, planTime, time.Hour, "changed since the plan was made"},
		{"from the future", inv, planTime.Add(-time.Hour), time.Hour, "in the future"},
		{"small clock skew", inv, planTime.Add(-time.Minute), time.Hour, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := p.CheckFresh(tc.inv, tc.now, tc.maxAge)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("fresh plan refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `arcfleet plan -i testdata/fleet.yaml --action connect --limit "web*" -o PLAN.json`) {
				t.Errorf("CheckFresh = %v, want %q and the re-plan command", err, tc.want)
			}
		})
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	_, p := buildFleet(t, agent.ActionConnect, "web01")
	if err := Render(&bytes.Buffer{}, p, "yaml"); err == nil || !strings.Contains(err.Error(), "--format table, markdown or json") {
		t.Errorf("Render(yaml) = %v", err)
	}
}

func TestRenderFlagsInsecureLoudly(t *testing.T) {
	_, p := buildFleet(t, agent.ActionConnect, "")
	for _, format := range []string{FormatTable, FormatMarkdown} {
		var b bytes.Buffer
		if err := Render(&b, p, format); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, want := range []string{"host-key checking is OFF", "TLS certificate verification is OFF", "plain HTTP", "labweb01", "winlab", "winhttp", "BLOCKED"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s output lacks %q", format, want)
			}
		}
	}
}

// bigInventory is n hosts in a few groups, both OSes, like a large estate.
func bigInventory(tb testing.TB, n int) *inventory.Inventory {
	tb.Helper()
	var b strings.Builder
	b.WriteString("version: 1\nazure:\n  tenant_id: 72f988bf-86f1-41af-91ab-2d7cd011db47\n  subscription_id: 0b1f6471-1bf0-4dda-aec3-cb9272f09590\n  resource_group: rg\n  location: westeurope\n  tags: {Cost Center: \"R&D, 7\"}\n")
	b.WriteString("credentials:\n  sp: {client_id: 3c5a8a4e-9d1b-4f6e-8c2a-1b7e5d9f0a21, secret: {env: ARC_SP_SECRET}}\n")
	b.WriteString("defaults:\n  credential: sp\n  linux: {ssh: {user: arc, identity_file: /k, become: sudo}}\n  windows: {winrm: {user: arc, password: {env: W}, auth: ntlm}}\n")
	b.WriteString("groups:\n  web: {tags: {Role: web}}\n  db: {tags: {Role: db}}\n  win: {os: windows}\nhosts:\n")
	for i := 0; i < n; i++ {
		g := []string{"web", "db", "win"}[i%3]
		fmt.Fprintf(&b, "  - {name: h%05d, address: 10.%d.%d.%d, groups: [%s]}\n", i, i>>16&255, i>>8&255, i&255, g)
	}
	inv, err := inventory.Parse("big.yaml", []byte(b.String()))
	if err != nil {
		tb.Fatal(err)
	}
	return inv
}

func BenchmarkBuildAndRender10k(b *testing.B) {
	inv := bigInventory(b, 10000)
	hosts, err := inv.Select("")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := Build(inv, hosts, agent.ActionReconnect, "", planTime)
		for _, f := range []string{FormatTable, FormatMarkdown, FormatJSON} {
			if err := Render(discard{}, p, f); err != nil {
				b.Fatal(err)
			}
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestPlanSizeScales keeps a large plan compact: scripts are stored once, so a
// host costs about 2 KB of JSON whatever its scripts. (BenchmarkBuildAndRender10k
// measures the time for 10,000 hosts.)
func TestPlanSizeScales(t *testing.T) {
	const n = 1000
	inv := bigInventory(t, n)
	hosts, _ := inv.Select("")
	p := Build(inv, hosts, agent.ActionReconnect, "", planTime)
	var sizes []int
	for _, f := range []string{FormatTable, FormatMarkdown, FormatJSON} {
		var b bytes.Buffer
		if err := Render(&b, p, f); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, b.Len())
	}
	t.Logf("%d hosts: table %d KB, markdown %d KB, json %d KB", n, sizes[0]>>10, sizes[1]>>10, sizes[2]>>10)
	if per := sizes[2] / n; per > 2500 {
		t.Errorf("JSON plan holds %d bytes per host; scripts are not deduplicated?", per)
	}
	if per := sizes[1] / n; per > 600 {
		t.Errorf("Markdown plan holds %d bytes per host; scripts should be shown once", per)
	}
}

// A plan file edited after it was made (same inventory digest) must be refused:
// the digest vouches for the inventory only, not for what the plan would run.
func TestCheckFreshRefusesEditedPlan(t *testing.T) {
	inv, p := buildFleet(t, agent.ActionReconnect, "")
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := Save(path, p); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadPlan(path)
	if err != nil {
		t.Fatal(err)
	}
	now := planTime.Add(time.Minute)
	if err := loaded.CheckFresh(inv, now, time.Hour); err != nil {
		t.Fatalf("saved and loaded plan refused: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(q *Plan)
		want string
	}{
		{"address", func(q *Plan) { q.Hosts[0].Host.Address = "203.0.113.9" }, "host " + p.Hosts[0].Host.Name},
		{"command", func(q *Plan) { q.Hosts[1].Steps[1].Command += "; curl evil" }, "host " + p.Hosts[1].Host.Name},
		{"host dropped", func(q *Plan) { q.Hosts = q.Hosts[1:] }, "the host list"},
		{"secret ref", func(q *Plan) {
			for n, c := range q.Credentials {
				c.Secret.Env = "OTHER"
				q.Credentials[n] = c
			}
		}, "the credentials"},
		{"retry", func(q *Plan) { q.Retry.MaxAttempts = 99 }, "the retry policy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := LoadPlan(path)
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(q)
			err = q.CheckFresh(inv, now, time.Hour)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "edited") {
				t.Errorf("CheckFresh after editing the %s = %v, want a refusal naming %q", tc.name, err, tc.want)
			}
		})
	}
}
