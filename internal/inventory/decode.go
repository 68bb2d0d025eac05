package inventory

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// val is one optional setting as written in the file: whether it was set, and where.
// "Set" matters apart from the zero value so a host can override a group's true with false.
type val[T any] struct {
	v   T
	set bool
	pos Pos
}

// dec walks yaml.Nodes, turning type and shape mistakes into Errors with positions.
type dec struct {
	file string
	c    *collector
}

func (d *dec) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

func (d *dec) fail(n *yaml.Node, path, host, msg, fix string) {
	p := Pos{File: d.file, Line: 1, Col: 1}
	if n != nil && n.Line > 0 {
		p = d.pos(n)
	}
	d.c.add(&Error{Pos: p, Path: path, Host: host, Msg: msg, Fix: fix})
}

func (d *dec) failAt(p Pos, path, host, msg, fix string) {
	d.c.add(&Error{Pos: p, Path: path, Host: host, Msg: msg, Fix: fix})
}

// deref follows YAML aliases (*name) to the anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// kindName describes a node's shape for "expected X, got Y" messages; it never
// quotes the value, which may be a secret pasted in the wrong place.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing (null)"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "true/false"
		}
		return "a string"
	}
	return "nothing"
}

func (d *dec) typeErr(n *yaml.Node, path, host, want, fix string) {
	d.fail(n, path, host, fmt.Sprintf("expected %s, got %s", want, kindName(n)), fix)
}

// fields walks mapping n in file order and calls f for each key; f returns false
// for a key it does not know, which is reported with the closest known key.
func (d *dec) fields(n *yaml.Node, path, host string, known []string, f func(key string, k, v *yaml.Node) bool) {
	n = deref(n)
	if n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // `section:` with nothing (or only comments) under it is an empty section
	}
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, path, host, "a mapping", "write it as `key: value` lines indented under "+lastKey(path))
		return
	}
	var seen map[string]int
	if len(n.Content) > 32 {
		seen = make(map[string]int, len(n.Content)/2)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if d.c.full {
			return
		}
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			d.fail(n.Content[i], path, host, "a key must be a plain name", "use `name: value`")
			continue
		}
		key := k.Value
		if key == "<<" {
			d.fail(k, path, host, "YAML merge keys (<<) are not supported", "share settings through defaults: or groups:")
			continue
		}
		first := 0
		if seen != nil {
			first = seen[key]
			if first == 0 {
				seen[key] = k.Line
			}
		} else {
			for j := 0; j < i; j += 2 {
				if pk := deref(n.Content[j]); pk != nil && pk.Kind == yaml.ScalarNode && pk.Value == key {
					first = pk.Line
					break
				}
			}
		}
		if first != 0 {
			d.fail(k, join(path, key), host, fmt.Sprintf("duplicate key %q (first set on line %d)", key, first), "keep one of them")
			continue
		}
		if !f(key, k, v) {
			d.unknownKey(k, path, host, key, known)
		}
	}
}

func lastKey(path string) string {
	if i := strings.LastIndexAny(path, ".]"); i >= 0 && i+1 < len(path) {
		return path[i+1:]
	}
	if path == "" {
		return "the top level"
	}
	return path
}

func (d *dec) unknownKey(k *yaml.Node, path, host, key string, known []string) {
	fix := "valid keys here: " + strings.Join(known, ", ")
	if s := closest(key, known); s != "" {
		fix = fmt.Sprintf("did you mean %q? (valid keys here: %s)", s, strings.Join(known, ", "))
	}
	d.fail(k, join(path, key), host, fmt.Sprintf("unknown key %q", key), fix)
}

// closest returns the candidate within edit distance 2 of s (case-insensitive), or "".
func closest(s string, cands []string) string {
	best, bestD := "", 3
	ls := strings.ToLower(s)
	for _, c := range cands {
		if dd := editDistance(ls, strings.ToLower(c)); dd < bestD {
			best, bestD = c, dd
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance: typos such as swapped
// letters ("wbe" for "web") count as one edit.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	pp := make([]int, len(b)+1) // row i-2
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], pp[j-2]+1)
			}
		}
		pp, prev, cur = prev, cur, pp
	}
	return prev[len(b)]
}

// scalar checks n is a non-null scalar with a standard YAML tag.
func (d *dec) scalar(n *yaml.Node, path, host, want, fix string) (*yaml.Node, bool) {
	n = deref(n)
	if n == nil {
		return nil, false
	}
	if n.Kind != yaml.ScalarNode {
		d.typeErr(n, path, host, want, fix)
		return nil, false
	}
	tag := n.ShortTag()
	if tag == "!!null" {
		d.fail(n, path, host, "has no value", "give it a value or remove the key")
		return nil, false
	}
	if !strings.HasPrefix(tag, "!!") {
		d.fail(n, path, host, fmt.Sprintf("YAML tag %s is not supported", tag), "remove the tag")
		return nil, false
	}
	return n, true
}

func (d *dec) str(n *yaml.Node, path, host string) val[string] {
	s, ok := d.scalar(n, path, host, "a string", "write a single value")
	if !ok {
		return val[string]{}
	}
	if s.ShortTag() == "!!binary" {
		d.fail(s, path, host, "binary values are not supported", "write plain text")
		return val[string]{}
	}
	return val[string]{v: s.Value, set: true, pos: d.pos(s)}
}

// enum reads a string that must be one of allowed; the value is quoted in the error
// since an enumeration is never a secret.
func (d *dec) enum(n *yaml.Node, path, host string, allowed ...string) val[string] {
	v := d.str(n, path, host)
	if !v.set {
		return v
	}
	for _, a := range allowed {
		if v.v == a {
			return v
		}
	}
	fix := "use one of: " + strings.Join(allowed, ", ")
	if s := closest(v.v, allowed); s != "" {
		fix = fmt.Sprintf("did you mean %q? (one of: %s)", s, strings.Join(allowed, ", "))
	}
	d.fail(deref(n), path, host, fmt.Sprintf("%q is not a valid value", v.v), fix)
	return val[string]{}
}

func (d *dec) integer(n *yaml.Node, path, host string, lo, hi int) val[int] {
	s, ok := d.scalar(n, path, host, "a whole number", "write a number without quotes")
	if !ok {
		return val[int]{}
	}
	if s.ShortTag() != "!!int" {
		d.typeErr(s, path, host, "a whole number", "write a number without quotes")
		return val[int]{}
	}
	i, err := strconv.ParseInt(strings.ReplaceAll(s.Value, "_", ""), 0, 64)
	if err != nil || i < int64(lo) || i > int64(hi) {
		d.fail(s, path, host, fmt.Sprintf("must be a whole number from %d to %d", lo, hi), fmt.Sprintf("use a number from %d to %d", lo, hi))
		return val[int]{}
	}
	return val[int]{v: int(i), set: true, pos: d.pos(s)}
}

func (d *dec) boolean(n *yaml.Node, path, host string) val[bool] {
	s, ok := d.scalar(n, path, host, "true or false", "write true or false")
	if !ok {
		return val[bool]{}
	}
	if s.ShortTag() != "!!bool" {
		d.typeErr(s, path, host, "true or false", "write true or false without quotes")
		return val[bool]{}
	}
	b, err := strconv.ParseBool(strings.ToLower(s.Value))
	if err != nil {
		d.typeErr(s, path, host, "true or false", "write true or false without quotes")
		return val[bool]{}
	}
	return val[bool]{v: b, set: true, pos: d.pos(s)}
}

func (d *dec) duration(n *yaml.Node, path, host string, hi time.Duration) val[time.Duration] {
	const fix = "write a duration such as 10s, 2m or 1h30m"
	s, ok := d.scalar(n, path, host, "a duration", fix)
	if !ok {
		return val[time.Duration]{}
	}
	if s.ShortTag() != "!!str" {
		d.fail(s, path, host, "a duration needs a unit", fix)
		return val[time.Duration]{}
	}
	t, err := time.ParseDuration(s.Value)
	if err != nil || t < 0 || t > hi {
		d.fail(s, path, host, fmt.Sprintf("%q is not a duration from 0s to %s", s.Value, hi), fix)
		return val[time.Duration]{}
	}
	return val[time.Duration]{v: t, set: true, pos: d.pos(s)}
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// secret reads a secret reference: {env: NAME} or {file: PATH}. A literal is an
// error that explains how to reference it; the literal is never quoted back.
func (d *dec) secret(n *yaml.Node, path, host, dir string) val[SecretRef] {
	n = deref(n)
	if n == nil {
		return val[SecretRef]{}
	}
	fix := fmt.Sprintf("do not write secrets into the inventory: reference one, e.g. `%s: {env: ARC_SECRET}` (an environment variable) or `%s: {file: /etc/arcfleet/secret}` (a file holding only the secret)", lastKey(path), lastKey(path))
	if n.Kind == yaml.ScalarNode {
		if n.ShortTag() == "!!null" {
			d.fail(n, path, host, "has no value", fix)
		} else {
			d.fail(n, path, host, "a literal secret is not allowed here (value not shown)", fix)
		}
		return val[SecretRef]{}
	}
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, path, host, "{env: NAME} or {file: PATH}", fix)
		return val[SecretRef]{}
	}
	var ref SecretRef
	count := 0
	d.fields(n, path, host, []string{"env", "file"}, func(key string, k, v *yaml.Node) bool {
		switch key {
		case "env":
			count++
			s := d.str(v, join(path, key), host)
			if s.set && !envNameRE.MatchString(s.v) {
				// Not quoted: a secret pasted here by mistake must not be echoed.
				d.fail(deref(v), join(path, key), host, "not a valid environment variable name (value not shown)", "use letters, digits and _, not starting with a digit, e.g. ARC_SP_SECRET")
				return true
			}
			ref.Env = s.v
		case "file":
			count++
			s := d.str(v, join(path, key), host)
			if s.set && s.v == "" {
				d.fail(deref(v), join(path, key), host, "empty file path", "give the path of a file holding only the secret")
				return true
			}
			ref.File = absPath(dir, s.v)
		default:
			return false
		}
		return true
	})
	if count == 0 {
		d.fail(n, path, host, "empty secret reference", "write {env: NAME} or {file: PATH}")
		return val[SecretRef]{}
	}
	if count > 1 {
		d.fail(n, path, host, "a secret reference names either env or file, not both", "keep one of env: and file:")
		return val[SecretRef]{}
	}
	if ref.IsZero() {
		return val[SecretRef]{}
	}
	return val[SecretRef]{v: ref, set: true, pos: d.pos(n)}
}

// strList reads a list of strings (a single string is accepted as a list of one).
func (d *dec) strList(n *yaml.Node, path, host string) []val[string] {
	n = deref(n)
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		if v := d.str(n, path, host); v.set {
			return []val[string]{v}
		}
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.typeErr(n, path, host, "a list", "write [a, b] or one `- item` per line")
		return nil
	}
	out := make([]val[string], 0, len(n.Content))
	for i, it := range n.Content {
		if v := d.str(it, fmt.Sprintf("%s[%d]", path, i), host); v.set {
			out = append(out, v)
		}
	}
	return out
}

// maxTagsPerMap bounds the work a hostile file can cause; Azure allows 50 anyway.
const maxTagsPerMap = 1000

func (d *dec) tags(n *yaml.Node, path, host string, into *[]tagVal) {
	n = deref(n)
	if n == nil {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, path, host, "a mapping of tag names to values", "write `Name: value` lines")
		return
	}
	if len(n.Content)/2 > maxTagsPerMap {
		d.fail(n, path, host, fmt.Sprintf("more than %d tags", maxTagsPerMap), "Azure allows at most 50 tags per resource")
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := deref(n.Content[i])
		if k == nil || k.Kind != yaml.ScalarNode || k.ShortTag() == "!!null" {
			d.fail(n.Content[i], path, host, "a tag name must be a plain string", "write `Name: value`")
			continue
		}
		p := join(path, k.Value)
		dup := false
		for _, t := range *into {
			if t.key == k.Value {
				d.fail(k, p, host, fmt.Sprintf("tag %q is set twice here (first on line %d)", k.Value, t.pos.Line), "keep one of them")
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		v := d.str(n.Content[i+1], p, host)
		if !v.set {
			continue
		}
		*into = append(*into, tagVal{key: k.Value, value: v.v, pos: d.pos(k)})
	}
}

type tagVal struct {
	key, value string
	pos        Pos
}

// sortedKeys returns m's keys sorted, for deterministic output.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
