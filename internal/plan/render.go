package plan

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"

	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/markdown"
	"github.com/arcfleet/arcfleet/internal/termtext"
)

// Render formats.
const (
	FormatTable    = "table"
	FormatMarkdown = "markdown"
	FormatJSON     = "json"
)

// Render writes p as a terminal table, as Markdown for a change-review ticket,
// or as the plan's JSON (exactly what Save writes). Table and Markdown show each
// distinct script once and refer to it by id, so a 10,000-host plan stays readable;
// the JSON holds everything.
func Render(w io.Writer, p *Plan, format string) error {
	return RenderWidth(w, p, format, termtext.DefaultWidth)
}

// RenderWidth is Render with the table fitted to width columns (the terminal's):
// columns every host shares move above it, long ids and paths are elided in the
// middle, and details and findings wrap; nothing a reader needs is cut. Markdown
// and JSON do not depend on the width and are never shortened.
func RenderWidth(w io.Writer, p *Plan, format string, width int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	switch format {
	case FormatJSON:
		err = p.encodeJSON(bw, "  ")
	case FormatMarkdown:
		err = renderMarkdown(bw, newView(p))
	case FormatTable, "":
		v := newView(p)
		v.width = width
		err = renderTable(bw, v)
	default:
		return fmt.Errorf("unknown plan format %q; fix: use --format table, markdown or json", format)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// RenderSummary writes p as Render does in a human format (table or markdown),
// without the scripts: the headline, warnings, blocked hosts and the hosts
// table, then one line saying how many scripts `arcfleet plan` would show.
func RenderSummary(w io.Writer, p *Plan, format string, width int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	v := newView(p)
	v.noScripts = true
	v.width = width
	var err error
	switch format {
	case FormatMarkdown:
		err = renderMarkdown(bw, v)
	case FormatTable, "":
		err = renderTable(bw, v)
	default:
		return fmt.Errorf("unknown plan summary format %q; fix: use table or markdown", format)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// view is what both human formats show, computed once.
type view struct {
	noScripts bool // RenderSummary: leave the scripts out
	width     int  // of the table format's lines
	p         *Plan
	scripts   []PlanScript
	ids       map[string]string
	users     map[string][]string // script id -> host names
	osCount   map[string]int
	groups    map[string]int
	blocked   []*HostPlan
	warnings  []warning
}

// warning is an explicit insecure opt-in, shown loudly.
type warning struct {
	what  string
	hosts []string
}

func newView(p *Plan) *view {
	v := &view{p: p, users: map[string][]string{}, osCount: map[string]int{}, groups: map[string]int{}}
	v.scripts, v.ids = p.Scripts()
	var hostKey, tlsOff, plainHTTP []string
	for i := range p.Hosts {
		hp := &p.Hosts[i]
		h := &hp.Host
		v.osCount[h.OS]++
		if len(h.Groups) == 0 {
			v.groups["(none)"]++
		}
		for _, g := range h.Groups {
			v.groups[g]++
		}
		if hp.Blocked() {
			v.blocked = append(v.blocked, hp)
		}
		seen := map[string]bool{}
		for _, s := range append(append([]agent.Step(nil), hp.Steps...), hp.Recovery...) {
			if id := v.ids[s.Command]; !seen[id] {
				seen[id] = true
				v.users[id] = append(v.users[id], h.Name)
			}
		}
		switch hostTransport(h) {
		case "ssh":
			if h.SSH.HostKeyPolicy == "insecure-ignore" {
				hostKey = append(hostKey, h.Name)
			}
		case "winrm":
			if h.WinRM.Insecure {
				tlsOff = append(tlsOff, h.Name)
			}
			if !h.WinRM.HTTPS || h.WinRM.AllowHTTP {
				plainHTTP = append(plainHTTP, h.Name)
			}
		}
	}
	add := func(what string, hosts []string) {
		if len(hosts) > 0 {
			v.warnings = append(v.warnings, warning{what, hosts})
		}
	}
	add("SSH host-key checking is OFF (host_key_policy: insecure-ignore): a man in the middle would receive the service-principal secret", hostKey)
	add("WinRM TLS certificate verification is OFF (insecure: true): a man in the middle would receive the service-principal secret", tlsOff)
	add("WinRM over plain HTTP (5985): this client cannot encrypt WinRM messages, so the secret crosses the network in clear", plainHTTP)
	return v
}

func hostTransport(h *inventory.Host) string {
	if h.Transport != "" {
		return h.Transport
	}
	if h.OS == "windows" {
		return "winrm"
	}
	return "ssh"
}

func (v *view) hostFlags(h *inventory.Host) string {
	var f []string
	switch hostTransport(h) {
	case "ssh":
		if h.SSH.HostKeyPolicy == "insecure-ignore" {
			f = append(f, "INSECURE host key")
		}
		if h.SSH.Become == "sudo" {
			f = append(f, "become sudo")
		}
		if _, fromConfig := h.SSH.Origins["via"]; h.SSH.Via != "" && !fromConfig {
			f = append(f, "via "+h.SSH.Via)
		}
		f = append(f, sshConfigOrigins(h)...) // "user arcadmin (~/.ssh/config:12)"
	case "winrm":
		if h.WinRM.Insecure {
			f = append(f, "INSECURE TLS")
		}
		if !h.WinRM.HTTPS || h.WinRM.AllowHTTP {
			f = append(f, "PLAIN HTTP")
		}
	}
	f = append(f, agentConfigFlags(h)...) // agentconfig.go
	return strings.Join(f, ", ")
}

// sshConfigOrigins names the settings taken from ssh_config and their line:
// "user arcadmin (~/.ssh/config:12)".
func sshConfigOrigins(h *inventory.Host) []string {
	var out []string
	for _, k := range []struct{ key, what, v string }{
		{"address", "address", h.Address}, {"port", "port", fmt.Sprint(h.Port)}, {"user", "user", h.SSH.User},
		{"identity_file", "key", h.SSH.IdentityFile}, {"via", "via", h.SSH.Via},
	} {
		if at, ok := h.SSH.Origins[k.key]; ok {
			out = append(out, fmt.Sprintf("%s %s (%s)", k.what, k.v, at))
		}
	}
	return out
}

func (v *view) stepIDs(hp *HostPlan) string {
	parts := make([]string, 0, len(hp.Steps))
	for _, s := range hp.Steps {
		id := v.ids[s.Command]
		if s.OnlyIf == agent.OnlyIfPreviousFailed {
			id += "?"
		}
		parts = append(parts, id)
	}
	return strings.Join(parts, " ")
}

// status is the host's verdict: BLOCKED, the probe's verdict (`plan --probe`:
// what apply would do on this host, as seen just now) or ready. The probe's
// detail, which often holds the fix, is detail's, shown whole.
func (v *view) status(hp *HostPlan) string {
	if hp.Blocked() {
		return "BLOCKED"
	}
	if pr := hp.Probe; pr != nil {
		return pr.Verdict
	}
	return "ready"
}

// detail is the probe's detail of the host, "" when none.
func (v *view) detail(hp *HostPlan) string {
	if hp.Blocked() || hp.Probe == nil {
		return ""
	}
	return hp.Probe.Detail
}

func (v *view) credRef(name string) string {
	c, ok := v.p.Credentials[name]
	if !ok {
		return name + " (not defined)"
	}
	return fmt.Sprintf("%s (client %s, secret %s)", name, c.ClientID, c.Secret)
}

func azureTarget(h *inventory.Host) (sub, rg, loc, tenant, cloud, name string) {
	a := h.Azure
	cloud = a.Cloud
	if cloud == "" {
		cloud = "AzureCloud"
	}
	name = h.ResourceName
	if name == "" {
		name = "(hostname)"
	}
	return a.SubscriptionID, a.ResourceGroup, a.Location, a.TenantID, cloud, name
}

func renderCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func actionSummary(action string) string {
	switch action {
	case agent.ActionConnect:
		return "probe, then connect"
	case agent.ActionDisconnect:
		return "probe, then disconnect (deletes the Azure resource: its extensions, licence settings and managed identity role assignments go with it; refused on Azure Local unless allowed)"
	case agent.ActionInstall:
		return "install the agent where it is missing or older than wanted (skipped on the host otherwise); no connect"
	case agent.ActionUpgrade:
		return "upgrade the installed agent (the operator's package; else azcmagent upgrade from 1.62, else the package manager); skipped where new enough"
	case agent.ActionReconnect:
		return "probe, disconnect (deletes the Azure resource: its extensions, licence settings and managed identity role assignments go with it; disconnect --force-local-only only if the resource is already gone; refused on Azure Local unless allowed), then connect"
	}
	return action
}

// hostList shows at most n names, then a count.
func hostList(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(", ... (%d more)", len(names)-n)
}

// hostCount is "1 host: a" or "3 hosts: a, b, c".
func hostCount(names []string, n int) string {
	noun := "hosts"
	if len(names) == 1 {
		noun = "host"
	}
	return fmt.Sprintf("%d %s: %s", len(names), noun, hostList(names, n))
}

// commandLine describes the exact command around the script shown below it.
func commandLine(sc PlanScript) string {
	if strings.HasPrefix(sc.Command, "powershell.exe ") {
		sum := sha256.Sum256([]byte(sc.Command))
		return fmt.Sprintf("powershell.exe -NoProfile -NonInteractive -EncodedCommand <base64 of the script below in UTF-16LE> (%d characters, sha256 %s; exact text in the JSON plan)",
			len(sc.Command), hex.EncodeToString(sum[:8]))
	}
	quoted := agent.ShQuote(sc.Script)
	if i := strings.LastIndex(sc.Command, quoted); i >= 0 && i+len(quoted) == len(sc.Command) {
		return sc.Command[:i] + "'<the script below, single-quoted>'"
	}
	return sc.Command
}

func scriptOS(sc PlanScript) string {
	if strings.HasPrefix(sc.Command, "powershell.exe ") {
		return "windows"
	}
	return "linux"
}

func renderHeader(p *Plan) string {
	s := fmt.Sprintf("arcfleet plan: %s of %d %s: %s\ninventory %s (%s)",
		p.Action, len(p.Hosts), plural(len(p.Hosts), "host", "hosts"), p.Summarize().Headline(), p.Inventory, p.InventoryDigest)
	if p.Limit != "" {
		s += fmt.Sprintf(", limit %q", p.Limit)
	}
	if p.Shard != nil {
		s += fmt.Sprintf(", shard %s", p.Shard)
	}
	return s + fmt.Sprintf("\nmade %s; plan format %d", p.CreatedAt.UTC().Format(time.RFC3339), p.FormatVersion)
}

func renderTable(w *bufio.Writer, v *view) error {
	p := v.p
	width := v.width
	if width <= 0 {
		width = termtext.DefaultWidth
	}
	width = max(width, termtext.MinWidth)
	para := func(s, first, indent string) { w.WriteString(termtext.Paragraph(s, width, first, indent)) }
	for _, l := range strings.Split(renderHeader(p), "\n") {
		para(l, "", "  ")
	}
	w.WriteString("\n")
	for _, wn := range v.warnings {
		para(fmt.Sprintf("%s: %s", wn.what, hostCount(wn.hosts, 10)), "!! WARNING: ", "   ")
	}
	if len(v.warnings) > 0 {
		w.WriteString("\n")
	}
	para(p.Action+": "+actionSummary(p.Action), "Action:   ", "          ")
	fmt.Fprintf(w, "By OS:    %s\nBy group: %s\n\n", renderCounts(v.osCount), renderCounts(v.groups))
	if len(v.blocked) > 0 {
		fmt.Fprintf(w, "Blocked hosts (apply skips them until the findings are fixed):\n")
		for _, hp := range v.blocked {
			for _, f := range hp.Findings {
				if !f.Warning {
					para(f.String(), "  ", "      ")
				}
			}
		}
		w.WriteString("\n")
	}
	var warned bool
	for i := range p.Hosts {
		for _, f := range p.Hosts[i].Findings {
			if f.Warning {
				if !warned {
					w.WriteString("Validation warnings (not blocking):\n")
					warned = true
				}
				para(f.String(), "  ", "      ")
			}
		}
	}
	if warned {
		w.WriteString("\n")
	}
	if err := v.hostTable(w, width); err != nil {
		return err
	}
	var details bool
	for i := range p.Hosts {
		hp := &p.Hosts[i]
		if d := v.detail(hp); d != "" {
			if !details {
				w.WriteString("\nProbe details:\n")
				details = true
			}
			para(fmt.Sprintf("%s: %s: %s", hp.Host.Name, v.status(hp), d), "  ", "      ")
		}
	}
	w.WriteString("\n")
	para("STEPS lists script ids in order; \"?\" runs only if the step before it failed.", "", "")
	w.WriteString("Credentials (by reference; plan reads no secret):\n")
	for _, name := range sortedNames(p.Credentials) {
		para(v.credRef(name), "  ", "    ")
	}
	if v.noScripts {
		fmt.Fprintf(w, "\n%d distinct %s left out here: `arcfleet plan` shows each exactly as it runs.\n", len(v.scripts), plural(len(v.scripts), "script", "scripts"))
		return nil
	}
	for _, sc := range v.scripts {
		users := v.users[sc.ID]
		fmt.Fprintf(w, "\n== %s: %s on %s, %s\n", sc.ID, sc.Step, scriptOS(sc), hostCount(users, 5))
		fmt.Fprintf(w, "command: %s\n", commandLine(sc))
		if in := stdinOf(p, sc.ID, v.ids); in != "" {
			fmt.Fprintf(w, "stdin: %s\n", in)
		}
		w.WriteString(indentLines(sc.Script, "  | "))
	}
	return nil
}

// hostTable writes one row per host within width. Columns every host shares
// (OS, transport, subscription, resource group, location, credential) move to a
// line above the table when the whole table would not fit; ids and names are
// elided in the middle, steps, status and flags wrap.
func (v *view) hostTable(w *bufio.Writer, width int) error {
	p := v.p
	type col struct {
		head  string
		mode  termtext.Mode
		cell  func(hp *HostPlan) string
		same  bool // may move above the table when every host has the same value
		azure bool // in the second table when the columns do not fit in one
	}
	cols := []col{
		{"HOST", termtext.Keep, func(hp *HostPlan) string { return hp.Host.Name }, false, false},
		{"ADDRESS", termtext.Elide, func(hp *HostPlan) string { return hostAddr(&hp.Host) }, false, false},
		{"OS", termtext.Keep, func(hp *HostPlan) string { return hp.Host.OS }, true, false},
		{"TRANSPORT", termtext.Keep, func(hp *HostPlan) string { return hostTransport(&hp.Host) }, true, false},
		{"SUBSCRIPTION", termtext.Elide, func(hp *HostPlan) string { sub, _, _, _, _, _ := azureTarget(&hp.Host); return orDash(sub) }, true, true},
		{"RESOURCE GROUP", termtext.Elide, func(hp *HostPlan) string { _, rg, _, _, _, _ := azureTarget(&hp.Host); return orDash(rg) }, true, true},
		{"LOCATION", termtext.Keep, func(hp *HostPlan) string { _, _, loc, _, _, _ := azureTarget(&hp.Host); return orDash(loc) }, true, true},
		{"RESOURCE NAME", termtext.Elide, func(hp *HostPlan) string { _, _, _, _, _, name := azureTarget(&hp.Host); return name }, false, true},
		{"CREDENTIAL", termtext.Elide, func(hp *HostPlan) string { return orDash(hp.Host.Credential) }, true, true},
		{"STEPS", termtext.Wrapped, v.stepIDs, false, false},
		{"STATUS", termtext.Wrapped, v.status, false, false},
		{"FLAGS", termtext.Wrapped, func(hp *HostPlan) string { return orDash(v.hostFlags(&hp.Host)) }, false, false},
	}
	build := func(cols []col) *termtext.Table {
		t := &termtext.Table{}
		for _, c := range cols {
			t.Head = append(t.Head, c.head)
			t.Modes = append(t.Modes, c.mode)
		}
		for i := range p.Hosts {
			row := make([]string, len(cols))
			for j, c := range cols {
				row[j] = c.cell(&p.Hosts[i])
			}
			t.Rows = append(t.Rows, row)
		}
		return t
	}
	t := build(cols)
	if natural(t) > width && len(p.Hosts) > 0 {
		var kept []col
		var shared []string
		for j, c := range cols {
			if c.same && allSame(t.Rows, j) {
				shared = append(shared, strings.ToLower(c.head)+" "+t.Rows[0][j])
				continue
			}
			kept = append(kept, c)
		}
		if len(shared) > 0 {
			w.WriteString(termtext.Paragraph(strings.Join(shared, ", "), width, "Every host: ", "            "))
			t = build(kept)
			cols = kept
		}
	}
	if natural(t) <= width {
		return t.Render(w, width)
	}
	// Still too wide: the login and steps, then the Azure target, each by host.
	var login, target []col
	for _, c := range cols {
		if c.azure {
			target = append(target, c)
		} else {
			login = append(login, c)
		}
	}
	if len(target) == 0 {
		return t.Render(w, width)
	}
	if err := build(login).Render(w, width); err != nil {
		return err
	}
	w.WriteString("\nAzure target:\n")
	return build(append([]col{cols[0]}, target...)).Render(w, width)
}

// natural is the width of t's widest line when nothing is shortened.
func natural(t *termtext.Table) int {
	ws := t.Widths(1 << 30)
	n := 2 * (len(ws) - 1)
	for _, x := range ws {
		n += x
	}
	return n
}

func allSame(rows [][]string, j int) bool {
	for _, r := range rows {
		if r[j] != rows[0][j] {
			return false
		}
	}
	return true
}

func renderMarkdown(w *bufio.Writer, v *view) error {
	p := v.p
	fmt.Fprintf(w, "# arcfleet plan: %s of %d hosts\n\n", p.Action, len(p.Hosts))
	fmt.Fprintf(w, "| | |\n|---|---|\n")
	fmt.Fprintf(w, "| Action | `%s`: %s |\n", p.Action, markdown.Cell(actionSummary(p.Action)))
	fmt.Fprintf(w, "| Hosts | %d: **%s** |\n", len(p.Hosts), markdown.Cell(p.Summarize().Headline()))
	fmt.Fprintf(w, "| By OS | %s |\n| By group | %s |\n", markdown.Cell(renderCounts(v.osCount)), markdown.Cell(renderCounts(v.groups)))
	fmt.Fprintf(w, "| Inventory | %s |\n| Inventory digest | `%s` |\n", markdown.Cell(markdown.Code(p.Inventory)), p.InventoryDigest)
	if p.Limit != "" {
		fmt.Fprintf(w, "| Limit | %s |\n", markdown.Cell(markdown.Code(p.Limit)))
	}
	if p.Shard != nil {
		fmt.Fprintf(w, "| Shard | `%s`: this plan holds that shard's hosts only |\n", p.Shard)
	}
	fmt.Fprintf(w, "| Made | %s (plan format %d) |\n\n", p.CreatedAt.UTC().Format(time.RFC3339), p.FormatVersion)
	for _, wn := range v.warnings {
		fmt.Fprintf(w, "> **⚠ WARNING: %s** (%s)\n>\n", markdown.Cell(wn.what), markdown.Cell(hostCount(wn.hosts, 20)))
	}
	if len(v.warnings) > 0 {
		w.WriteString("\n")
	}
	if len(v.blocked) > 0 {
		fmt.Fprintf(w, "## Blocked hosts (%d)\n\nApply skips these hosts until the findings are fixed.\n\n", len(v.blocked))
		for _, hp := range v.blocked {
			for _, f := range hp.Findings {
				if !f.Warning {
					fmt.Fprintf(w, "- %s\n", markdown.Code(f.String()))
				}
			}
		}
		w.WriteString("\n")
	}
	var wb strings.Builder
	bw := bufio.NewWriter(&wb)
	writeFindingWarnings(bw, p, "- ")
	bw.Flush()
	if wb.Len() > 0 {
		fmt.Fprintf(w, "## Validation warnings\n\n%s\n", wb.String())
	}
	w.WriteString("## Credentials\n\nBy reference only: `plan` reads no secret. Apply resolves each reference on this machine.\n\n")
	for _, name := range sortedNames(p.Credentials) {
		fmt.Fprintf(w, "- %s\n", markdown.Cell(v.credRef(name)))
	}
	w.WriteString("\n## Hosts\n\n")
	w.WriteString("Steps are script ids (below) in order; `?` runs only if the step before it failed.\n\n")
	w.WriteString("| Host | Address | OS | Transport | Subscription | Resource group | Location | Tenant | Cloud | Resource name | Tags | Credential | Steps | Status | Flags |\n")
	w.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for i := range p.Hosts {
		hp := &p.Hosts[i]
		h := &hp.Host
		sub, rg, loc, tenant, cloud, name := azureTarget(h)
		status := v.status(hp)
		if hp.Blocked() {
			status = "**BLOCKED**"
		} else if d := v.detail(hp); d != "" {
			status = markdown.Cell(status + " (" + d + ")") // whole: a Markdown table is never shortened
		}
		flags := v.hostFlags(h)
		if strings.Contains(flags, "INSECURE") || strings.Contains(flags, "PLAIN") {
			flags = "**⚠ " + flags + "**"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			markdown.Cell(h.Name), markdown.Cell(hostAddr(h)), h.OS, hostTransport(h), markdown.Cell(sub), markdown.Cell(rg), markdown.Cell(loc), markdown.Cell(tenant), markdown.Cell(cloud),
			markdown.Cell(name), markdown.Cell(agent.AgentTags(h.Azure.Tags)), markdown.Cell(h.Credential), v.stepIDs(hp), status, markdown.Cell(flags))
	}
	if v.noScripts {
		fmt.Fprintf(w, "\n%d distinct %s left out here: `arcfleet plan` shows each exactly as it runs.\n", len(v.scripts), plural(len(v.scripts), "script", "scripts"))
		return nil
	}
	w.WriteString("\n## Scripts\n\nEach distinct remote command once. The secret reaches the agent only in a `--config` file written from stdin\n" +
		"into a directory only root/Administrators can read, removed afterwards in every case; it is never on a command line.\n")
	for _, sc := range v.scripts {
		users := v.users[sc.ID]
		fmt.Fprintf(w, "\n### %s: %s on %s\n\n", sc.ID, sc.Step, scriptOS(sc))
		fmt.Fprintf(w, "Used by %s\n\n", markdown.Cell(hostCount(users, 20)))
		fmt.Fprintf(w, "Command:\n\n%s\n", markdown.CodeBlock(commandLine(sc), "sh"))
		if in := stdinOf(p, sc.ID, v.ids); in != "" {
			fmt.Fprintf(w, "\nStdin: %s\n", markdown.Cell(in))
		}
		lang := "sh"
		if scriptOS(sc) == "windows" {
			lang = "powershell"
		}
		fmt.Fprintf(w, "\nScript:\n\n%s\n", markdown.CodeBlock(sc.Script, lang))
	}
	return nil
}

// stdinOf describes what a script is fed, with the first host's config as the example.
func stdinOf(p *Plan, id string, ids map[string]string) string {
	for i := range p.Hosts {
		for _, s := range p.Hosts[i].Steps {
			if ids[s.Command] == id && s.Stdin != "" && (s.Name == agent.StepInstall || s.Name == agent.StepUpgrade) {
				// Where the agent comes from (path, size, SHA-256), not a config.
				return fmt.Sprintf("the header line, then for host %s: %s", p.Hosts[i].Host.Name, s.Stdin)
			}
			if ids[s.Command] == id && s.Stdin != "" {
				return fmt.Sprintf("the agent config (JSON), its login by reference (the secret, the certificate, or where the access token is minted); for host %s: %s (other hosts: the values of their row)",
					p.Hosts[i].Host.Name, compactJSONText(s.Stdin))
			}
		}
	}
	return ""
}

func compactJSONText(s string) string {
	var b strings.Builder
	inStr, esc := false, false
	for _, c := range s {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case !inStr && (c == '\n' || c == ' '):
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func writeFindingWarnings(w *bufio.Writer, p *Plan, prefix string) {
	for i := range p.Hosts {
		for _, f := range p.Hosts[i].Findings {
			if f.Warning {
				fmt.Fprintf(w, "%s%s\n", prefix, f)
			}
		}
	}
}

func hostAddr(h *inventory.Host) string {
	if h.Port == 0 {
		return h.Address
	}
	if strings.Contains(h.Address, ":") { // IPv6
		return "[" + h.Address + "]:" + strconv.Itoa(h.Port)
	}
	return h.Address + ":" + strconv.Itoa(h.Port)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func indentLines(s, prefix string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n") {
		b.WriteString(prefix)
		b.WriteString(line)
	}
	b.WriteString("\n")
	return b.String()
}

func sortedNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
