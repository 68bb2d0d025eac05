package inventory

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// yaml.v3 reports an indentation mistake at the line where the enclosing block
// starts ("hosts:", "defaults:"), not at the line that is indented wrongly.
// indentCulprit finds that line by following the block structure the way a
// reader does: each line must be indented like one of the blocks it may belong
// to. It only looks at lines from `from` on (the line yaml.v3 named), and gives
// up (ok false) on what it does not follow: flow collections over several
// lines, tabs, documents markers, anchors on their own.

// indentErrs are yaml.v3's messages for a line indented wrongly.
var indentErrs = []string{
	"did not find expected key",
	"did not find expected '-' indicator",
	"mapping values are not allowed in this context",
	"did not find expected node content",
}

var blockScalarRE = regexp.MustCompile(`^[|>][0-9+-]*$`)

type indentLevel struct {
	col int
	seq bool // a level made of "- " items
}

// indentCulprit returns the first line at or after from whose indentation
// matches no enclosing block, its column (1-based, first non-space character),
// and the indentations that would have fitted, deepest first.
func indentCulprit(data []byte, from int) (line, col int, fits []int, ok bool) {
	stack := []indentLevel{{col: 0}}
	open := false     // the previous line ends with "key:" or "-": the next may be deeper
	scalarOwner := -1 // inside a block scalar (| or >) owned by a line at this indentation
	flowDepth := 0    // open [ { over lines: give up
	lines := bytes.Split(data, []byte("\n"))
	for i, raw := range lines {
		n := i + 1
		l := strings.TrimRight(string(raw), " \r")
		trimmed := strings.TrimLeft(l, " ")
		ind := len(l) - len(trimmed)
		if scalarOwner >= 0 {
			if trimmed == "" || ind > scalarOwner {
				continue
			}
			scalarOwner = -1
		}
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		if strings.HasPrefix(trimmed, "\t") || strings.HasPrefix(l, "---") || strings.HasPrefix(l, "...") || flowDepth > 0 {
			return 0, 0, nil, false
		}
		top := stack[len(stack)-1]
		isItem := trimmed == "-" || strings.HasPrefix(trimmed, "- ")
		switch {
		case open && ind > top.col:
			stack = append(stack, indentLevel{col: ind, seq: isItem})
		case open && ind == top.col && isItem:
			// a list may sit at its key's own indentation
			stack = append(stack, indentLevel{col: ind, seq: true})
		case ind > top.col:
			if !strings.Contains(stripComment(trimmed), ": ") && !strings.HasSuffix(stripComment(trimmed), ":") && !isItem {
				continue // a plain scalar going on over a second line
			}
			if n >= from {
				return n, ind + 1, levels(stack), true
			}
			return 0, 0, nil, false
		default:
			all := levels(stack)
			for len(stack) > 1 && stack[len(stack)-1].col > ind {
				stack = stack[:len(stack)-1]
			}
			top = stack[len(stack)-1]
			if top.col != ind || top.seq && !isItem {
				if n >= from {
					return n, ind + 1, all, true
				}
				return 0, 0, nil, false
			}
		}
		open = false
		content := trimmed
		col := ind
		for content == "-" || strings.HasPrefix(content, "- ") {
			if content == "-" {
				open = true
				content = ""
				break
			}
			rest := strings.TrimLeft(content[1:], " ")
			col += len(content) - len(rest)
			content = rest
			stack = append(stack, indentLevel{col: col})
		}
		c := stripComment(content)
		if c == "" {
			continue
		}
		key, val, hasVal := strings.Cut(c, ": ")
		switch {
		case strings.HasSuffix(c, ":") && !strings.ContainsAny(c[:1], `"'[{`):
			open = true
		case hasVal && key != "":
			v := strings.TrimSpace(val)
			if blockScalarRE.MatchString(v) {
				scalarOwner = col
			}
			if v != "" && (v[0] == '&' || v[0] == '!') && !strings.Contains(v, " ") {
				open = true // an anchor or tag before a block
			}
			flowDepth = strings.Count(v, "[") + strings.Count(v, "{") - strings.Count(v, "]") - strings.Count(v, "}")
			if flowDepth < 0 {
				flowDepth = 0
			}
		default:
			flowDepth = strings.Count(c, "[") + strings.Count(c, "{") - strings.Count(c, "]") - strings.Count(c, "}")
			if flowDepth < 0 {
				flowDepth = 0
			}
		}
	}
	return 0, 0, nil, false
}

// stripComment drops a trailing " # comment" outside quotes.
func stripComment(s string) string {
	var q byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '#' && (i == 0 || s[i-1] == ' '):
			return strings.TrimRight(s[:i], " ")
		}
	}
	return s
}

func levels(stack []indentLevel) []int {
	var out []int
	for i := len(stack) - 1; i >= 0; i-- {
		if len(out) == 0 || out[len(out)-1] != stack[i].col {
			out = append(out, stack[i].col)
		}
	}
	return out
}

// indentMsg says what is wrong with a line indented col-1 spaces where fits would have fitted.
func indentMsg(col int, fits []int) (what, fix string) {
	spaces := col - 1
	for _, f := range fits {
		if f == spaces {
			// the indentation of a list's "- " items, without the "- "
			deeper := ""
			for _, g := range fits { // deepest first: the last deeper one is the item's own keys
				if g > spaces {
					deeper = fmt.Sprintf("indent it %d spaces to belong to the item above, or ", g)
				}
			}
			return fmt.Sprintf("this line is indented %d spaces like the list's \"- \" items, but is not one", spaces),
				deeper + "start a new item with \"- \""
		}
	}
	return fmt.Sprintf("this line is indented %d spaces, which matches no enclosing block here (%s would)", spaces, fitsText(fits)),
		"indent it like the keys it belongs with (spaces, not tabs), or nest it under a key ending in ':'"
}

// fitsText is "4, 2 or 0 spaces" for the indentations that would have fitted.
func fitsText(fits []int) string {
	parts := make([]string, len(fits))
	for i, f := range fits {
		parts[i] = fmt.Sprint(f)
	}
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0] + " spaces"
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1] + " spaces"
}
