package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The parsed but unresolved file. A layer is one place settings can be written:
// the defaults (with the top-level azure:), defaults.linux/windows, a group, a host.
type rawAzure struct {
	tenantID, subscriptionID, resourceGroup, location, cloud val[string]
	correlationID, privateLinkScope, nameTemplate            val[string]
	allowAzureLocalDisconnect                                val[bool]
}

type rawSSH struct {
	user, identityFile, knownHosts, hostKeyPolicy, fingerprint, become, via val[string]
	configFile                                                              val[string] // ssh_config to read; "none": none
	passphrase, password                                                    val[SecretRef]
	useAgent                                                                val[bool]
}

type rawWinRM struct {
	user, auth, caFile, tlsServerName, certFile, keyFile val[string]
	password                                             val[SecretRef]
	https, insecure, allowHTTP                           val[bool]
}

type rawAgent struct {
	path, log, minVersion  val[string]
	install                val[bool]
	pkgDeb, pkgRPM, pkgMSI val[string] // agent.package (install.go in internal/agent)
}

// rawAgentConfig is agent_config: as written in one layer (agentconfig.go).
type rawAgentConfig struct {
	proxyURL, gatewayID                         val[string]
	proxyBypass, allowlist, blocklist           val[[]string]
	ports                                       val[[]int]
	extEnabled, gcEnabled, monitor, autoUpgrade val[bool]
	sqlAuto                                     val[bool]
}

type layer struct {
	path                      string // "defaults", "groups.web", "hosts[3]", ...
	os, transport, credential val[string]
	port                      val[int]
	azure                     rawAzure
	tags                      []tagVal // azure.tags and the tags: shortcut
	ssh                       rawSSH
	winrm                     rawWinRM
	agent                     rawAgent
	agentConfig               rawAgentConfig
}

type rawHost struct {
	layer
	name, address, resourceName val[string]
	groups                      []val[string]
	pos                         Pos
}

type rawCred struct {
	name                string
	pos                 Pos
	clientID, tenantID  val[string]
	auth, tokenFrom     val[string]
	secret, certificate val[SecretRef]
}

// source is everything parsed from the file, kept so findings can say where a
// host's effective value was written.
type source struct {
	base   layer
	perOS  map[string]*layer
	groups map[string]*layer
	creds  map[string]*rawCred
	hosts  []*rawHost           // index-aligned with Inventory.Hosts
	index  map[string]int       // host name -> index
	pos    map[string]Pos       // section name -> position of its key, for findings without a host
	retry  map[string]Pos       // retry field -> position
	gpos   map[string]Pos       // group name -> position of its definition
	order  []string             // group names in file order
	jumps  []*rawJump           // jump_hosts: entries in file order, then ProxyJump hops; index-aligned with Inventory.JumpHosts
	notes  map[string][]Finding // host or jump host name -> ssh_config warnings
	dir    string               // directory of the inventory, for relative paths
}

// What may be written in each kind of layer.
const (
	kOS = 1 << iota
	kTransport
	kPort
	kCredential
	kAzure
	kTags
	kSSH
	kWinRM
	kAgent
	kAgentConfig
)

var layerKeys = []struct {
	key  string
	mask int
}{
	{"os", kOS}, {"transport", kTransport}, {"port", kPort}, {"credential", kCredential},
	{"azure", kAzure}, {"tags", kTags}, {"ssh", kSSH}, {"winrm", kWinRM}, {"agent", kAgent},
	{"agent_config", kAgentConfig},
}

const (
	maskDefaults = kCredential | kSSH | kWinRM | kAgent | kAgentConfig
	maskOS       = kTransport | kPort | kCredential | kAzure | kTags | kSSH | kWinRM | kAgent | kAgentConfig
	maskGroup    = kOS | maskOS
	maskHost     = maskGroup
)

func knownKeys(mask int, extra ...string) []string {
	out := append([]string(nil), extra...)
	for _, lk := range layerKeys {
		if mask&lk.mask != 0 {
			out = append(out, lk.key)
		}
	}
	return out
}

var (
	hostNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	refNameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	codeRE     = regexp.MustCompile(`^AZCM[0-9]{4}$`)
	syntaxRE   = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	anchorRE   = regexp.MustCompile(`^unknown anchor '([^']*)' referenced$`)
)

// Load reads and parses the inventory at path.
func Load(path string) (*Inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		fix := "check the path given with -i"
		if errors.Is(err, os.ErrPermission) {
			fix = "make the file readable by this user"
		}
		return nil, Errors{{Pos: Pos{File: path, Line: 1, Col: 1}, Msg: "cannot read inventory: " + unwrapPathErr(err), Fix: fix}}
	}
	return Parse(path, data)
}

func unwrapPathErr(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Parse parses, resolves and checks an inventory; file names it in errors and is the
// base for relative paths in it. The error, if any, is an Errors.
func Parse(file string, data []byte) (*Inventory, error) {
	c := &collector{file: file}
	d := &dec{file: file, c: c}
	if line := ansibleINILine(data); line > 0 {
		c.add(&Error{Pos: Pos{File: file, Line: line, Col: 1}, Msg: "this looks like an Ansible INI inventory ([group] sections), not an arcfleet one",
			Fix: "convert it with: arcfleet inventory import ansible " + file + " -o inventory.yaml (docs/inventory.md)"})
		return nil, c.err()
	}
	root, err := decodeYAML(data)
	if err != nil {
		d.syntax(err, data)
		return nil, c.err()
	}
	src := &source{
		perOS:  map[string]*layer{},
		groups: map[string]*layer{},
		creds:  map[string]*rawCred{},
		pos:    map[string]Pos{},
		retry:  map[string]Pos{},
		gpos:   map[string]Pos{},
		dir:    filepath.Dir(file),
	}
	src.base.path = "defaults"
	inv := &Inventory{File: file, Credentials: map[string]Credential{}, src: src}
	d.top(root, inv, src)
	if c.full || inv.Version != 1 {
		return nil, c.err()
	}
	resolve(d, inv, src)
	if err := c.err(); err != nil {
		return nil, err
	}
	inv.Digest = digest(inv)
	return inv, nil
}

// decodeYAML parses exactly one YAML document. yaml.v3 has panicked on hostile input
// in the past; a panic becomes an error here, never a crash.
func decodeYAML(data []byte) (root *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("yaml: malformed input (%v)", r)
		}
	}()
	dc := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dc.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{}, nil
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dc.Decode(&extra); err == nil {
		return nil, fmt.Errorf("yaml: line %d: a second YAML document starts here (after ---)", max(extra.Line, 1))
	} else if !errors.Is(err, io.EOF) {
		return nil, err
	}
	return &doc, nil
}

// syntax reports a YAML syntax error. yaml.v3 gives only a line, often the line
// where the enclosing block starts, so the message says "at or after".
func (d *dec) syntax(err error, data []byte) {
	p, msg := Pos{File: d.file, Line: 1, Col: 1}, err.Error()
	if m := syntaxRE.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
		for _, ie := range indentErrs {
			if msg != ie {
				continue
			}
			// yaml.v3 names the enclosing block's line; point at the line indented wrongly.
			if line, col, fits, ok := indentCulprit(data, p.Line); ok {
				what, fix := indentMsg(col, fits)
				d.c.add(&Error{Pos: Pos{File: d.file, Line: line, Col: col},
					Msg: "YAML indentation error: " + what + " (yaml: " + msg + ")", Fix: fix})
				return
			}
		}
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
		if m := anchorRE.FindStringSubmatch(msg); m != nil {
			p = findText(d.file, data, "*"+m[1])
		}
	}
	d.c.add(&Error{Pos: p, Msg: "YAML syntax error at or after this line: " + msg,
		Fix: "check indentation and quoting from this line on (indent with spaces, not tabs; quote values containing ': ' or ' #')"})
}

// findText is the position of the first occurrence of s in data (1:1 if absent).
func findText(file string, data []byte, s string) Pos {
	i := bytes.Index(data, []byte(s))
	if i < 0 {
		return Pos{File: file, Line: 1, Col: 1}
	}
	line := 1 + bytes.Count(data[:i], []byte("\n"))
	col := i - bytes.LastIndexByte(data[:i], '\n')
	return Pos{File: file, Line: line, Col: col}
}

func (d *dec) top(doc *yaml.Node, inv *Inventory, src *source) {
	var root *yaml.Node
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = deref(doc.Content[0])
	}
	if root == nil || root.Kind == 0 || (root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null") {
		d.c.add(&Error{Pos: Pos{File: d.file, Line: 1, Col: 1}, Msg: "the inventory is empty",
			Fix: "start with `version: 1` and list hosts under `hosts:` (see docs/inventory.md)"})
		return
	}
	if root.Kind != yaml.MappingNode {
		d.typeErr(root, "", "", "a mapping at the top level", "start with `version: 1` (see docs/inventory.md)")
		return
	}
	if k := findKeyNode(root, "all"); k != nil && findKeyNode(root, "version") == nil {
		// An Ansible inventory (all: {hosts: ..., children: ...}): say so, not "missing version".
		d.fail(k, "all", "", `unknown key "all": this looks like an Ansible inventory, not an arcfleet one`,
			"convert it with: arcfleet inventory import ansible "+d.file+" -o inventory.yaml (docs/inventory.md)")
		return
	}
	var hostsNode *yaml.Node
	sawVersion := false
	known := []string{"version", "azure", "credentials", "defaults", "retry", "groups", "jump_hosts", "hosts"}
	// version first: a file for another schema version should not drown in key errors.
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := deref(root.Content[i]); k != nil && k.Kind == yaml.ScalarNode && k.Value == "version" {
			sawVersion = true
			v := d.integer(root.Content[i+1], "version", "", 0, 1<<30)
			if v.set && v.v != 1 {
				d.fail(deref(root.Content[i+1]), "version", "", fmt.Sprintf("unsupported inventory version %d", v.v), "this arcfleet reads version: 1; upgrade arcfleet or convert the file")
				return
			}
			if v.set {
				inv.Version = 1
			}
			break
		}
	}
	if !sawVersion {
		d.fail(root, "version", "", "missing version", "add `version: 1` as the first line")
		inv.Version = 1 // keep checking the rest
	}
	d.fields(root, "", "", known, func(key string, k, v *yaml.Node) bool {
		src.pos[key] = d.pos(k)
		switch key {
		case "version":
		case "azure":
			d.azure(v, "azure", "", &src.base, src.dir)
		case "credentials":
			d.credentials(v, inv, src)
		case "defaults":
			d.defaults(v, src)
		case "retry":
			d.retry(v, &inv.Retry, src)
		case "groups":
			d.groups(v, src)
		case "hosts":
			hostsNode = v
		case "jump_hosts":
			d.jumpHosts(v, src)
		case "all":
			// An Ansible inventory (all: {hosts: ..., children: ...}) given to arcfleet.
			d.fail(k, "all", "", `unknown key "all": this looks like an Ansible inventory, not an arcfleet one`,
				"convert it: arcfleet inventory import ansible "+d.file+" -o inventory.yaml (see docs/inventory.md)")
			return true
		default:
			// x- keys are free for YAML anchors (&common) that entries alias (*common).
			return strings.HasPrefix(key, "x-")
		}
		return true
	})
	if hostsNode == nil {
		d.fail(root, "hosts", "", "no hosts: the fleet is empty", "add a `hosts:` list with at least one `- name: ...` entry")
		return
	}
	d.hosts(hostsNode, src)
}

func (d *dec) credentials(n *yaml.Node, inv *Inventory, src *source) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		if n != nil {
			d.typeErr(n, "credentials", "", "a mapping of credential names", "write `credentials: {sp-prod: {client_id: ..., secret: {env: NAME}}}`")
		}
		return
	}
	d.fields(n, "credentials", "", nil, func(name string, k, v *yaml.Node) bool {
		p := join("credentials", name)
		if !refNameRE.MatchString(name) {
			d.fail(k, p, "", fmt.Sprintf("invalid credential name %q", name), "use letters, digits, '.', '_' and '-'")
			return true
		}
		rc := &rawCred{name: name, pos: d.pos(k)}
		d.fields(v, p, "", []string{"client_id", "tenant_id", "auth", "token_from", "secret", "certificate"}, func(key string, _, v *yaml.Node) bool {
			switch key {
			case "client_id":
				rc.clientID = d.str(v, join(p, key), "")
			case "tenant_id":
				rc.tenantID = d.str(v, join(p, key), "")
			case "auth":
				rc.auth = d.enum(v, join(p, key), "", AuthModes...)
			case "token_from":
				rc.tokenFrom = d.enum(v, join(p, key), "", TokenFroms...)
			case "secret":
				rc.secret = d.secret(v, join(p, key), "", src.dir)
			case "certificate":
				rc.certificate = d.secret(v, join(p, key), "", src.dir)
			default:
				return false
			}
			return true
		})
		src.creds[name] = rc
		inv.Credentials[name] = Credential{Name: name, ClientID: rc.clientID.v, TenantID: rc.tenantID.v, Secret: rc.secret.v,
			Auth: rc.auth.v, TokenFrom: rc.tokenFrom.v, Certificate: rc.certificate.v, Pos: rc.pos}
		return true
	})
}

func (d *dec) defaults(n *yaml.Node, src *source) {
	known := knownKeys(maskDefaults, "linux", "windows")
	d.layerFields(n, "defaults", "", maskDefaults, known, &src.base, src.dir, func(key string, k, v *yaml.Node) bool {
		if key != "linux" && key != "windows" {
			return false
		}
		l := &layer{path: "defaults." + key}
		d.layerFields(v, l.path, "", maskOS, knownKeys(maskOS), l, src.dir, nil)
		src.perOS[key] = l
		return true
	})
}

func (d *dec) groups(n *yaml.Node, src *source) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		if n != nil {
			d.typeErr(n, "groups", "", "a mapping of group names", "write `groups: {web: {tags: {role: web}}}`")
		}
		return
	}
	d.fields(n, "groups", "", nil, func(name string, k, v *yaml.Node) bool {
		p := join("groups", name)
		if !refNameRE.MatchString(name) {
			d.fail(k, p, "", fmt.Sprintf("invalid group name %q", name), "use letters, digits, '.', '_' and '-'")
			return true
		}
		l := &layer{path: p}
		d.layerFields(v, p, "", maskGroup, knownKeys(maskGroup), l, src.dir, nil)
		src.groups[name] = l
		src.gpos[name] = d.pos(k)
		src.order = append(src.order, name)
		return true
	})
}

func (d *dec) hosts(n *yaml.Node, src *source) {
	n = deref(n)
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" || n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		d.fail(n, "hosts", "", "no hosts: the fleet is empty", "add at least one `- name: ...` entry")
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.typeErr(n, "hosts", "", "a list of hosts", "write one `- name: ...` entry per host")
		return
	}
	known := knownKeys(maskHost, "name", "address", "groups", "resource_name")
	src.hosts = make([]*rawHost, 0, len(n.Content))
	src.index = make(map[string]int, len(n.Content))
	for i, hn := range n.Content {
		if d.c.full {
			return
		}
		hn = deref(hn)
		p := "hosts[" + strconv.Itoa(i) + "]"
		if hn.Kind != yaml.MappingNode {
			d.typeErr(hn, p, "", "a host mapping", "write `- name: web01` followed by its settings")
			continue
		}
		rh := &rawHost{pos: d.pos(hn)}
		rh.path = p
		// The name first, so every error in the entry can name the host.
		for j := 0; j+1 < len(hn.Content); j += 2 {
			if k := deref(hn.Content[j]); k != nil && k.Kind == yaml.ScalarNode && k.Value == "name" {
				rh.name = d.str(hn.Content[j+1], p+".name", "")
				break
			}
		}
		host := rh.name.v
		d.layerFields(hn, p, host, maskHost, known, &rh.layer, src.dir, func(key string, k, v *yaml.Node) bool {
			switch key {
			case "name":
			case "address":
				rh.address = d.str(v, p+".address", host)
			case "resource_name":
				rh.resourceName = d.str(v, p+".resource_name", host)
			case "groups":
				rh.groups = d.strList(v, p+".groups", host)
			default:
				return false
			}
			return true
		})
		if !rh.name.set {
			if !d.c.full {
				d.fail(hn, p+".name", "", "host has no name", "add `name: HOSTNAME` (also used as the address unless address: is given)")
			}
			continue
		}
		if !hostNameRE.MatchString(host) {
			d.fail(deref(findKey(hn, "name")), p+".name", host, "invalid host name",
				"use letters, digits, '.', '_' and '-', starting with a letter or digit (put an IP or FQDN with other characters in address:)")
			continue
		}
		if first, dup := src.index[host]; dup {
			d.fail(deref(findKey(hn, "name")), p+".name", host, fmt.Sprintf("duplicate host name (first at %s)", src.hosts[first].pos),
				"give every host a unique name")
			continue
		}
		src.index[host] = len(src.hosts)
		src.hosts = append(src.hosts, rh)
	}
}

var iniSectionRE = regexp.MustCompile(`^\[[A-Za-z0-9_.-]+(:(vars|children))?\]\s*([#;].*)?$`)

// ansibleINILine is the line of the first section header when the file's first
// line that is not blank or a comment is one ("[web]", "[web:vars]"): no arcfleet
// inventory starts so. 0 otherwise.
func ansibleINILine(data []byte) int {
	for i, l := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(l)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		if iniSectionRE.MatchString(t) {
			return i + 1
		}
		return 0
	}
	return 0
}

// findKeyNode is the key node named key in mapping m, or nil.
func findKeyNode(m *yaml.Node, key string) *yaml.Node {
	for j := 0; j+1 < len(m.Content); j += 2 {
		if k := deref(m.Content[j]); k != nil && k.Kind == yaml.ScalarNode && k.Value == key {
			return k
		}
	}
	return nil
}

func findKey(m *yaml.Node, key string) *yaml.Node {
	for j := 0; j+1 < len(m.Content); j += 2 {
		if k := deref(m.Content[j]); k != nil && k.Kind == yaml.ScalarNode && k.Value == key {
			return m.Content[j+1]
		}
	}
	return m
}

// layerFields reads the keys a layer may hold (per mask); extra handles the rest.
func (d *dec) layerFields(n *yaml.Node, path, host string, mask int, known []string, l *layer, dir string, extra func(key string, k, v *yaml.Node) bool) {
	d.fields(n, path, host, known, func(key string, k, v *yaml.Node) bool {
		p := join(path, key)
		m := 0
		for _, lk := range layerKeys {
			if lk.key == key {
				m = lk.mask
			}
		}
		if m&mask == 0 {
			if extra != nil {
				return extra(key, k, v)
			}
			return false
		}
		switch key {
		case "os":
			l.os = d.enum(v, p, host, "linux", "windows")
		case "transport":
			l.transport = d.enum(v, p, host, "ssh", "winrm")
		case "port":
			l.port = d.integer(v, p, host, 1, 65535)
		case "credential":
			l.credential = d.str(v, p, host)
		case "azure":
			d.azure(v, p, host, l, dir)
		case "tags":
			d.tags(v, p, host, &l.tags)
		case "ssh":
			d.ssh(v, p, host, &l.ssh, dir)
		case "winrm":
			d.winrm(v, p, host, &l.winrm, dir)
		case "agent":
			d.fields(v, p, host, []string{"path", "log", "install", "min_version", "package"}, func(key string, _, v *yaml.Node) bool {
				switch key {
				case "path":
					l.agent.path = d.str(v, join(p, key), host)
				case "log":
					l.agent.log = d.str(v, join(p, key), host)
				case "install":
					l.agent.install = d.boolean(v, join(p, key), host)
				case "min_version":
					l.agent.minVersion = d.str(v, join(p, key), host)
				case "package":
					pp := join(p, key)
					d.fields(v, pp, host, []string{"deb", "rpm", "msi"}, func(key string, _, v *yaml.Node) bool {
						switch key {
						case "deb":
							l.agent.pkgDeb = d.pathVal(v, join(pp, key), host, dir)
						case "rpm":
							l.agent.pkgRPM = d.pathVal(v, join(pp, key), host, dir)
						case "msi":
							l.agent.pkgMSI = d.pathVal(v, join(pp, key), host, dir)
						default:
							return false
						}
						return true
					})
				default:
					return false
				}
				return true
			})
		case "agent_config":
			d.agentConfig(v, p, host, &l.agentConfig)
		}
		return true
	})
}

var templateRE = regexp.MustCompile(`\{[^{}]*\}`)

func (d *dec) azure(n *yaml.Node, path, host string, l *layer, dir string) {
	a := &l.azure
	known := []string{"tenant_id", "subscription_id", "resource_group", "location", "cloud", "tags",
		"correlation_id", "private_link_scope", "resource_name_template", "allow_azure_local_disconnect"}
	d.fields(n, path, host, known, func(key string, _, v *yaml.Node) bool {
		p := join(path, key)
		switch key {
		case "tenant_id":
			a.tenantID = d.str(v, p, host)
		case "subscription_id":
			a.subscriptionID = d.str(v, p, host)
		case "resource_group":
			a.resourceGroup = d.str(v, p, host)
		case "location":
			a.location = d.str(v, p, host)
		case "cloud":
			a.cloud = d.str(v, p, host)
		case "correlation_id":
			a.correlationID = d.str(v, p, host)
		case "private_link_scope":
			a.privateLinkScope = d.str(v, p, host)
		case "allow_azure_local_disconnect":
			a.allowAzureLocalDisconnect = d.boolean(v, p, host)
		case "resource_name_template":
			t := d.str(v, p, host)
			for _, ph := range templateRE.FindAllString(t.v, -1) {
				if ph != "{name}" && ph != "{short}" {
					d.fail(deref(v), p, host, fmt.Sprintf("unknown placeholder %s", ph), "use {name} (the host name) or {short} (the host name up to its first dot)")
					t = val[string]{}
					break
				}
			}
			a.nameTemplate = t
		case "tags":
			d.tags(v, p, host, &l.tags)
		default:
			return false
		}
		return true
	})
}

func (d *dec) ssh(n *yaml.Node, path, host string, s *rawSSH, dir string) {
	known := []string{"user", "identity_file", "passphrase", "password", "use_agent", "known_hosts",
		"host_key_policy", "fingerprint", "become", "via", "config_file"}
	d.fields(n, path, host, known, func(key string, _, v *yaml.Node) bool {
		p := join(path, key)
		switch key {
		case "user":
			s.user = d.str(v, p, host)
		case "identity_file":
			s.identityFile = d.pathVal(v, p, host, dir)
		case "passphrase":
			s.passphrase = d.secret(v, p, host, dir)
		case "password":
			s.password = d.secret(v, p, host, dir)
		case "use_agent":
			s.useAgent = d.boolean(v, p, host)
		case "known_hosts":
			s.knownHosts = d.pathVal(v, p, host, dir)
		case "host_key_policy":
			s.hostKeyPolicy = d.enum(v, p, host, "strict", "accept-new", "fingerprint", "insecure-ignore")
		case "fingerprint":
			s.fingerprint = d.str(v, p, host)
		case "become":
			s.become = d.enum(v, p, host, "sudo", "none")
		case "via":
			s.via = d.str(v, p, host)
		case "config_file":
			s.configFile = d.str(v, p, host)
			if s.configFile.v != "none" {
				s.configFile.v = absPath(dir, s.configFile.v)
			}
		default:
			return false
		}
		return true
	})
}

func (d *dec) winrm(n *yaml.Node, path, host string, w *rawWinRM, dir string) {
	known := []string{"user", "password", "auth", "https", "insecure", "allow_http", "ca_file",
		"tls_server_name", "cert_file", "key_file"}
	d.fields(n, path, host, known, func(key string, _, v *yaml.Node) bool {
		p := join(path, key)
		switch key {
		case "user":
			w.user = d.str(v, p, host)
		case "password":
			w.password = d.secret(v, p, host, dir)
		case "auth":
			w.auth = d.enum(v, p, host, "basic", "ntlm", "cert")
		case "https":
			w.https = d.boolean(v, p, host)
		case "insecure":
			w.insecure = d.boolean(v, p, host)
		case "allow_http":
			w.allowHTTP = d.boolean(v, p, host)
		case "ca_file":
			w.caFile = d.pathVal(v, p, host, dir)
		case "tls_server_name":
			w.tlsServerName = d.str(v, p, host)
		case "cert_file":
			w.certFile = d.pathVal(v, p, host, dir)
		case "key_file":
			w.keyFile = d.pathVal(v, p, host, dir)
		default:
			return false
		}
		return true
	})
}

// pathVal reads a local path; relative paths are relative to the inventory file.
func (d *dec) pathVal(n *yaml.Node, path, host, dir string) val[string] {
	v := d.str(n, path, host)
	v.v = absPath(dir, v.v)
	return v
}

// absPath makes p relative to the inventory's directory, so a job started from any
// working directory finds the same files. "~/" is left for the user's home at use.
func absPath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) || strings.HasPrefix(p, "~") || dir == "" || dir == "." {
		return p
	}
	return filepath.Join(dir, p)
}

func (d *dec) retry(n *yaml.Node, r *Retry, src *source) {
	known := []string{"max_attempts", "base_delay", "max_delay", "breaker_threshold", "codes"}
	var base, maxd val[time.Duration]
	d.fields(n, "retry", "", known, func(key string, k, v *yaml.Node) bool {
		p := join("retry", key)
		src.retry[key] = d.pos(k)
		switch key {
		case "max_attempts":
			r.MaxAttempts = d.integer(v, p, "", 1, 100).v
		case "base_delay":
			base = d.duration(v, p, "", 24*time.Hour)
			r.BaseDelay = base.v
		case "max_delay":
			maxd = d.duration(v, p, "", 24*time.Hour)
			r.MaxDelay = maxd.v
		case "breaker_threshold":
			r.BreakerThreshold = d.integer(v, p, "", 1, 1_000_000).v
		case "codes":
			d.retryCodes(v, p, r)
		default:
			return false
		}
		return true
	})
	if base.set && maxd.set && base.v > maxd.v {
		d.failAt(maxd.pos, "retry.max_delay", "", "max_delay is shorter than base_delay", "make max_delay at least base_delay")
	}
}

func (d *dec) retryCodes(n *yaml.Node, path string, r *Retry) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		if n != nil {
			d.typeErr(n, path, "", "a mapping of AZCM codes", "write `codes: {AZCM0064: {action: restart-agent-service}}`")
		}
		return
	}
	d.fields(n, path, "", nil, func(code string, k, v *yaml.Node) bool {
		p := join(path, code)
		if !codeRE.MatchString(code) {
			d.fail(k, p, "", fmt.Sprintf("%q is not an AZCM code", code), "write the code as AZCM followed by four digits, e.g. AZCM0064")
			return true
		}
		var cr CodeRetry
		d.fields(v, p, "", []string{"action", "max_attempts", "delay"}, func(key string, _, v *yaml.Node) bool {
			switch key {
			case "action":
				cr.Action = d.enum(v, join(p, key), "", "retry", "none", "restart-agent-service", "reconnect").v
			case "max_attempts":
				cr.MaxAttempts = d.integer(v, join(p, key), "", 0, 100).v
			case "delay":
				cr.Delay = d.duration(v, join(p, key), "", 24*time.Hour).v
			default:
				return false
			}
			return true
		})
		if r.Codes == nil {
			r.Codes = map[string]CodeRetry{}
		}
		r.Codes[code] = cr
		return true
	})
}
