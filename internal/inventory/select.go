package inventory

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
)

// limitItem is one selector of a --limit expression.
type limitItem struct {
	text   string // as written, for errors
	origin string // "" or "FILE:LINE" for items read from @FILE
	neg    bool
	kind   string // "name", "glob", "group", "tag", "os"
	arg    string
	tagVal *string
}

// Select returns the hosts a --limit expression picks, as pointers into inv.Hosts
// in file order. The expression is a comma-separated list of items:
//
//	web01          a host name
//	web*           a glob on host names (* ? [...])
//	group:NAME     the hosts of a group
//	tag:KEY=VALUE  hosts whose resolved tags have KEY=VALUE (tag:KEY: any value)
//	os:linux       os:linux or os:windows
//	@FILE          the items in FILE, one per line; # starts a comment
//	!ITEM          exclude what ITEM matches
//
// With no positive item, selection starts from all hosts. "" selects all hosts.
// An item that names nothing (unknown host or group, a glob matching nothing) is
// an error naming the item. Work is linear in the number of hosts per item kind.
func (inv *Inventory) Select(expr string) ([]*Host, error) {
	if strings.TrimSpace(expr) == "" {
		out := make([]*Host, len(inv.Hosts))
		for i := range inv.Hosts {
			out[i] = &inv.Hosts[i]
		}
		return out, nil
	}
	items, errs := parseLimit(expr)
	idx := inv.nameIndex()
	var byGroup map[string][]int
	pos := make([]bool, len(inv.Hosts))
	neg := make([]bool, len(inv.Hosts))
	anyPos := false
	for _, it := range items {
		mark := pos
		if it.neg {
			mark = neg
		} else {
			anyPos = true
		}
		n := 0
		hit := func(i int) {
			mark[i] = true
			n++
		}
		// "did you mean" costs a scan of all names: only for the first few errors.
		suggest := len(errs) < 5
		fail := func(msg string) {
			prefix := ""
			if it.origin != "" {
				prefix = it.origin + ": "
			}
			errs = append(errs, fmt.Errorf("%s--limit item %q: %s", prefix, it.text, msg))
		}
		switch it.kind {
		case "name":
			if i, ok := idx[it.arg]; ok {
				hit(i)
			} else {
				msg := fmt.Sprintf("no host named %q in %s", it.arg, inv.File)
				if hint := inv.kindHint(it.arg); hint != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", hint)
				} else if suggest {
					if s := closest(it.arg, sortedKeys(idx)); s != "" {
						msg += fmt.Sprintf(" (did you mean %q?)", s)
					}
				}
				fail(msg)
				continue
			}
		case "glob":
			if _, err := path.Match(it.arg, ""); err != nil {
				fail("malformed glob pattern")
				continue
			}
			for i := range inv.Hosts {
				if ok, _ := path.Match(it.arg, inv.Hosts[i].Name); ok {
					hit(i)
				}
			}
		case "group":
			if byGroup == nil {
				byGroup = inv.groupIndex()
			}
			members, ok := byGroup[it.arg]
			if !ok && !inv.groupDefined(it.arg) {
				msg := fmt.Sprintf("no group named %q", it.arg)
				if s := closest(it.arg, inv.groupNames(byGroup)); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				fail(msg)
				continue
			}
			for _, i := range members {
				hit(i)
			}
		case "tag":
			for i := range inv.Hosts {
				v, ok := inv.Hosts[i].Azure.Tags[it.arg]
				if ok && (it.tagVal == nil || v == *it.tagVal) {
					hit(i)
				}
			}
		case "os":
			for i := range inv.Hosts {
				if inv.Hosts[i].OS == it.arg {
					hit(i)
				}
			}
		}
		if n == 0 {
			fail("matches no host")
		}
	}
	if len(errs) > maxErrors {
		errs = append(errs[:maxErrors], fmt.Errorf("... and %d more --limit errors", len(errs)-maxErrors))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out []*Host
	for i := range inv.Hosts {
		if (pos[i] || !anyPos) && !neg[i] {
			out = append(out, &inv.Hosts[i])
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--limit %q selects no host", expr)
	}
	return out, nil
}

func parseLimit(expr string) ([]limitItem, []error) {
	var items []limitItem
	var errs []error
	for _, raw := range strings.Split(expr, ",") {
		t := strings.TrimSpace(raw)
		if t == "" {
			continue
		}
		if strings.HasPrefix(t, "@") || strings.HasPrefix(t, "!@") {
			fileItems, err := readLimitFile(strings.TrimPrefix(t, "!"), strings.HasPrefix(t, "!"))
			if err != nil {
				errs = append(errs, err)
			}
			items = append(items, fileItems...)
			continue
		}
		it, err := parseItem(t, "")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		items = append(items, it)
	}
	return items, errs
}

// readLimitFile reads @FILE: one item per line (host names, or any other item).
func readLimitFile(at string, neg bool) ([]limitItem, error) {
	name := strings.TrimPrefix(at, "@")
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("--limit item %q: cannot read %s: %v", at, name, unwrapOpenErr(err))
	}
	defer f.Close()
	var items []limitItem
	var errs []error
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		t := sc.Text()
		if i := strings.IndexByte(t, '#'); i >= 0 {
			t = t[:i]
		}
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		origin := fmt.Sprintf("%s:%d", name, line)
		if strings.HasPrefix(t, "@") || strings.HasPrefix(t, "!@") {
			errs = append(errs, fmt.Errorf("%s: --limit item %q: a list file cannot include another", origin, t))
			continue
		}
		if neg {
			if strings.HasPrefix(t, "!") {
				t = t[1:] // excluding an exclusion stays an exclusion: keep it simple
			}
			t = "!" + t
		}
		it, err := parseItem(t, origin)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		items = append(items, it)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("--limit item %q: reading %s: %v", at, name, err))
	}
	return items, errors.Join(errs...)
}

func parseItem(t, origin string) (limitItem, error) {
	it := limitItem{text: t, origin: origin}
	bad := func(msg string) (limitItem, error) {
		prefix := ""
		if origin != "" {
			prefix = origin + ": "
		}
		return it, fmt.Errorf("%s--limit item %q: %s", prefix, it.text, msg)
	}
	if strings.HasPrefix(t, "!") {
		it.neg = true
		t = strings.TrimSpace(t[1:])
	}
	if t == "" {
		return bad("nothing after !")
	}
	prefix, rest, hasPrefix := strings.Cut(t, ":")
	switch {
	case hasPrefix && prefix == "group":
		it.kind, it.arg = "group", rest
	case hasPrefix && prefix == "tag":
		k, v, hasVal := strings.Cut(rest, "=")
		it.kind, it.arg = "tag", k
		if hasVal {
			it.tagVal = &v
		}
	case hasPrefix && prefix == "os":
		if rest != "linux" && rest != "windows" {
			return bad("os must be linux or windows")
		}
		it.kind, it.arg = "os", rest
	case hasPrefix:
		return bad(fmt.Sprintf("unknown selector %q (use group:, tag: or os:)", prefix+":"))
	case strings.ContainsAny(t, "*?["):
		it.kind, it.arg = "glob", t
	default:
		it.kind, it.arg = "name", t
	}
	if it.arg == "" {
		return bad("empty " + it.kind)
	}
	return it, nil
}

func (inv *Inventory) nameIndex() map[string]int {
	if inv.src != nil && inv.src.index != nil && len(inv.src.index) == len(inv.Hosts) {
		return inv.src.index
	}
	m := make(map[string]int, len(inv.Hosts))
	for i := range inv.Hosts {
		m[inv.Hosts[i].Name] = i
	}
	return m
}

func (inv *Inventory) groupIndex() map[string][]int {
	m := map[string][]int{}
	for i := range inv.Hosts {
		for _, g := range inv.Hosts[i].Groups {
			m[g] = append(m[g], i)
		}
	}
	return m
}

// groupNames is every group defined or used, sorted, for "did you mean".
func (inv *Inventory) groupNames(used map[string][]int) []string {
	all := make(map[string]bool, len(used))
	for g := range used {
		all[g] = true
	}
	if inv.src != nil {
		for g := range inv.src.groups {
			all[g] = true
		}
	}
	return sortedKeys(all)
}

func (inv *Inventory) groupDefined(name string) bool {
	if inv.src == nil {
		return false
	}
	_, ok := inv.src.groups[name]
	return ok
}

// kindHint is the --limit item a bare word that names no host may have meant:
// group:WORD when a group has that name, tag:WORD when a tag key is WORD,
// tag:KEY=WORD when a tag has the value WORD, os:WORD for linux and windows;
// "" when none.
func (inv *Inventory) kindHint(word string) string {
	if inv.groupDefined(word) {
		return "group:" + word
	}
	for i := range inv.Hosts {
		for _, g := range inv.Hosts[i].Groups {
			if g == word {
				return "group:" + word
			}
		}
	}
	if word == "linux" || word == "windows" {
		return "os:" + word
	}
	valueKey := ""
	for i := range inv.Hosts {
		tags := inv.Hosts[i].Azure.Tags
		if _, ok := tags[word]; ok {
			return "tag:" + word
		}
		if valueKey == "" {
			for _, k := range sortedKeys(tags) {
				if tags[k] == word {
					valueKey = k
					break
				}
			}
		}
	}
	if valueKey != "" {
		return "tag:" + valueKey + "=" + word
	}
	return ""
}
