// Package markdown writes untrusted and trusted text into Markdown (GitHub
// flavour) so that it stays what it is: text stays text, a cell stays in its
// table cell, code stays code. The plan and the report renderers share it.
package markdown

import "strings"

// escaper turns every character Markdown could read as syntax into a literal.
var escaper = strings.NewReplacer(`\`, `\\`, "|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`",
	"<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`, "#", `\#`)

// Escape is untrusted text (a host name, a detail, a message) as literal
// Markdown on one line: no emphasis, links, HTML, headings or code, and no pipe
// that could end a table cell.
func Escape(s string) string { return escaper.Replace(oneLine(s)) }

// Cell is trusted Markdown (it may use `code` or **bold**) kept on one line and
// inside one table cell: line breaks become spaces and pipes are escaped.
func Cell(s string) string { return strings.ReplaceAll(oneLine(s), "|", `\|`) }

// Code is s as one inline code span on one line, delimited by a backtick run
// longer than any inside it (padded with a space when s starts or ends with a
// backtick). "" stays "". In a table cell, wrap it in Cell.
func Code(s string) string {
	if s == "" {
		return ""
	}
	s = oneLine(s)
	ticks := strings.Repeat("`", longestRun(s, '`')+1)
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return ticks + pad + s + pad + ticks
}

// Fence is a code-block fence (at least three backticks) that none of the
// lines can close early.
func Fence(lines ...string) string {
	n := 3
	for _, l := range lines {
		n = max(n, longestRun(l, '`')+1)
	}
	return strings.Repeat("`", n)
}

// CodeBlock is text as a fenced code block with info string lang, without a
// final line break: the fence, lang, the text, the fence.
func CodeBlock(text, lang string) string {
	text = strings.TrimSuffix(text, "\n")
	f := Fence(text)
	return f + lang + "\n" + text + "\n" + f
}

// oneLine flattens text to one line: when s has a line break or tab, every
// run of white space becomes one space; otherwise s is returned as it is.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n\t") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// longestRun is the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	best, cur := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}
