package executor

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
)

// Every sentence the transport and the inventory can put in a host's detail
// has a report template whose English is theirs word for word (so the
// English report reads as before) and a Swedish one; every transport kind
// and every operation the transport names has a template too; every reason a
// secret reference does not resolve has one.
func TestReportKeysSayTheirSources(t *testing.T) {
	args := []string{"<a0>", "<a1>", "<a2>", "<a3>", "<a4>", "<a5>", "<a6>"}
	settingRE := regexp.MustCompile(`[a-z_]+(\.[a-z_]+)+`) // agent.package: a setting, no language
	check := func(what, key, want string) {
		t.Helper()
		m := results.M(key, args...)
		if got := m.Text("en"); got != want || want == "" {
			t.Errorf("%s: template %q says %q, its source %q", what, key, got, want)
		}
		wording := settingRE.ReplaceAllString(regexp.MustCompile(`<a[0-9]>`).ReplaceAllString(want, ""), "")
		if sv := m.Text("sv"); sv == "" || (sv == want && strings.ContainsAny(wording, "abcdefghijklmnopqrstuvwxyz")) {
			t.Errorf("%s: template %q has no Swedish of its own: %q", what, key, sv)
		}
	}
	for _, k := range transport.HintKeys() {
		check("transport hint", "tr_"+k, transport.HintText(k, args...))
	}
	if len(transport.HintKeys()) < 60 {
		t.Errorf("only %d transport hints", len(transport.HintKeys()))
	}
	for _, k := range inventory.FindingKeys() {
		check("finding", "f_"+k, inventory.FindingText(k, args...))
	}

	for _, k := range transportKindConsts(t) {
		if m := kindMsg(k); m.Key == results.MsgText || m.Text("sv") == string(k) {
			t.Errorf("kind %q: %+v", k, m)
		}
	}
	// The operations the transport names, from its source.
	opRE := regexp.MustCompile(`Op: +"([^"]+)"|ctxError\(ctx, [^,]+, "([^"]+)"\)|fail\("([^"]+)"`)
	ops := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join("..", "transport", "*", "*.go"))
	more, _ := filepath.Glob(filepath.Join("..", "transport", "*.go"))
	for _, f := range append(files, more...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range opRE.FindAllStringSubmatch(string(src), -1) {
			op := m[1] + m[2] + m[3]
			if strings.HasSuffix(op, " ") { // "dial via jump host " + name
				op += "j1"
			}
			ops[op] = true
		}
	}
	for _, op := range []string{"dial", "handshake", "auth", "host key", "run", "open session", "close", "dial via jump host j1"} {
		if !ops[op] {
			t.Errorf("the transport no longer names operation %q (the search is stale)", op)
		}
	}
	for op := range ops {
		if m := opMsg(op); m.Key == results.MsgText || m.Text("en") != op || m.Text("sv") == op {
			t.Errorf("operation %q: %+v (en %q sv %q)", op, m, m.Text("en"), m.Text("sv"))
		}
	}

	for _, re := range []*inventory.ResolveError{{Reason: "both"}, {Reason: "env_unset", Args: []string{"X"}}, {Reason: "env_empty", Args: []string{"X"}},
		{Reason: "file_open", Args: []string{"/f"}, Err: errors.New("permission denied")}, {Reason: "file_read", Args: []string{"/f"}, Err: errors.New("is a directory")},
		{Reason: "file_large", Args: []string{"/f", "64"}}, {Reason: "file_empty", Args: []string{"/f"}}, {Reason: "none"}} {
		if m := resolveMsg(re); m.Key == results.MsgText || m.Text("en") != re.Error() {
			t.Errorf("secret reason %s: %+v says %q, want %q", re.Reason, m, m.Text("en"), re.Error())
		}
	}

	// The agent package's and the probe's errors (internal/agent), each way
	// they come about.
	dir := t.TempDir()
	pkg := filepath.Join(dir, "a.deb")
	if err := os.WriteFile(pkg, []byte("package"), 0o644); err != nil {
		t.Fatal(err)
	}
	asDir := agent.HostPackage(&inventory.Host{OS: "linux", Agent: inventory.Agent{Package: inventory.AgentPackage{Deb: dir}}})
	if asDir == nil || asDir.ErrMsg == nil || asDir.ErrMsg.Text("en") != asDir.Err {
		t.Fatalf("a directory as the package: %+v", asDir)
	}
	var agentErrs []error
	for _, ref := range []*agent.PackageRef{asDir, {Path: pkg, Err: "stat: some system error"}, {Path: pkg, Size: 3}, {Path: filepath.Join(dir, "gone.deb")}} {
		if _, err := agent.OpenPackage(ref); err != nil {
			agentErrs = append(agentErrs, err)
		} else {
			t.Fatalf("%+v opened", ref)
		}
	}
	for _, out := range []string{"nothing\n", "{broken\n"} {
		if _, err := agent.ParseProbe(out); err != nil {
			agentErrs = append(agentErrs, err)
		} else {
			t.Fatalf("probe output %q parsed", out)
		}
	}
	for _, err := range agentErrs {
		m := errMsg(err)
		if m.Key == results.MsgText || m.Text("en") != err.Error() || m.Text("sv") == err.Error() {
			t.Errorf("agent error %q: %+v says %q, sv %q", err, m, m.Text("en"), m.Text("sv"))
		}
	}

	// Classes: the identifier in English, a Swedish word (where Swedish has another).
	for _, c := range []results.Class{results.ClassSuccess, results.ClassTransient, results.ClassService, results.ClassAction,
		results.ClassCredential, results.ClassInput, results.ClassHost, results.ClassSupport, results.ClassTransport} {
		m := results.M(results.MsgClass, string(c))
		if m.Text("en") != string(c) || (m.Text("sv") == string(c) && c != results.ClassSupport && c != results.ClassTransport) {
			t.Errorf("class %s: en %q sv %q", c, m.Text("en"), m.Text("sv"))
		}
	}
	// Check verdicts: the identifier in English, a Swedish word; each has
	// the title of its group of hosts not checked, both languages.
	for _, v := range []string{CheckClear, CheckFindings, CheckBlocked, VerdictUnreachable, VerdictHostKey, VerdictAuth, VerdictError} {
		if en, sv := results.CheckVerdictLabel(v, "en"), results.CheckVerdictLabel(v, "sv"); en != v || sv == v {
			t.Errorf("check verdict %s: en %q sv %q", v, en, sv)
		}
		if v == CheckClear || v == CheckFindings {
			continue
		}
		m := results.M("chk_nc_" + strings.ReplaceAll(v, "-", "_"))
		if en, sv := m.Text("en"), m.Text("sv"); en == "" || sv == "" || en == sv {
			t.Errorf("check verdict %s: not-checked title en %q sv %q", v, en, sv)
		}
	}
}

// A transport error becomes a message that says its text word for word in
// English, and in Swedish says the kind, the operation and the hint in
// Swedish while what the host or a library said stays as it was; a nested
// transport error (a jump host's) too. A hint whose key the report does not
// know falls back to its English text, never to a wrong sentence.
func TestTransportMsg(t *testing.T) {
	inner := (&transport.Error{Kind: transport.Unreachable, Host: "jump", Op: "dial", Err: errors.New("connect: connection refused")}).WithHint(transport.HintRefused, "10.0.0.9:22")
	e := &transport.Error{Kind: transport.Unreachable, Host: "web1", Op: "dial via jump host jump", Err: inner}
	m := transportMsg(e)
	if got := m.Text("en"); got != e.Error() {
		t.Errorf("en %q\nwant %q", got, e.Error())
	}
	want := "web1: anslutning via hoppvärden jump: onåbar: jump: anslutning: onåbar: connect: connection refused (ingenting lyssnar på 10.0.0.9:22: körs sshd där, och stämmer porten?)"
	if got := m.Text("sv"); got != want {
		t.Errorf("sv %q\nwant %q", got, want)
	}
	odd := &transport.Error{Kind: transport.Lost, Host: "h", Op: "run", Hint: "a hint of a newer transport", HintKey: "from_the_future"}
	if m := transportMsg(odd); m.Text("en") != odd.Error() || !strings.Contains(m.Text("sv"), "a hint of a newer transport") || !strings.Contains(m.Text("sv"), "förbindelsen bröts") {
		t.Errorf("unknown hint: en %q sv %q", m.Text("en"), m.Text("sv"))
	}
	if m := transportMsg(errors.New("plain")); m.Key != results.MsgText || m.Text("sv") != "plain" {
		t.Errorf("plain error: %+v", m)
	}
}
