// Package termtext fits text to a terminal's width: tables whose long cells are
// elided in the middle (paths, ids) or wrapped (causes, fixes, details, which
// are never cut), and paragraphs wrapped with a hanging indent. Widths count
// runes; it imports nothing of arcfleet's.
package termtext

import (
	"io"
	"strings"
	"unicode/utf8"
)

// DefaultWidth is the width used when the output is not a terminal (a file, a
// pipe, a CI log) and COLUMNS is not set.
const DefaultWidth = 120

// MinWidth is the narrowest width honoured; narrower terminals get this.
const MinWidth = 40

// Ellipsis marks elided text.
const Ellipsis = "…"

// Len is the display width of s in runes.
func Len(s string) int { return utf8.RuneCountInString(s) }

// ElideMiddle shortens s to at most max runes by replacing its middle with
// Ellipsis, keeping more of the end (a path's file name, a host's domain). A
// path loses whole directories first ("runs/…/web01/attempt-2.log").
func ElideMiddle(s string, max int) string {
	n := Len(s)
	if n <= max {
		return s
	}
	if p := elidePath(s, max); p != "" {
		return p
	}
	if max <= 1 {
		return Ellipsis
	}
	r := []rune(s)
	keep := max - 1
	head := keep * 2 / 5
	tail := keep - head
	return string(r[:head]) + Ellipsis + string(r[n-tail:])
}

// elidePath keeps the first directory and as many trailing components as fit
// ("first/…/b/c"), else only trailing ones ("…/c"); "" when not even the last
// component fits or s is not a path.
func elidePath(s string, max int) string {
	parts := strings.Split(s, "/")
	if len(parts) < 3 {
		return ""
	}
	last := len(parts) - 1
	for _, keepFirst := range []bool{true, false} {
		for k := 1; k <= last; k++ { // keep parts[k:], the longest tail that fits
			tail := strings.Join(parts[k:], "/")
			var c string
			if keepFirst && k > 1 {
				c = parts[0] + "/" + Ellipsis + "/" + tail
			} else if !keepFirst {
				c = Ellipsis + "/" + tail
			} else {
				continue
			}
			if Len(c) <= max {
				return c
			}
		}
	}
	return ""
}

// Wrap breaks s into lines of at most width runes at spaces; a word longer
// than width is split across lines, never dropped. Text is never lost.
func Wrap(s string, width int) []string {
	if width < 1 {
		width = 1
	}
	words := strings.Fields(s)
	if len(words) == 0 {
		return []string{""}
	}
	var lines []string
	var cur []rune
	flush := func() {
		lines = append(lines, string(cur))
		cur = cur[:0]
	}
	for _, w := range words {
		wr := []rune(w)
		if len(cur) > 0 && len(cur)+1+len(wr) <= width {
			cur = append(cur, ' ')
			cur = append(cur, wr...)
			continue
		}
		if len(cur) > 0 {
			flush()
		}
		for len(wr) > width {
			lines = append(lines, string(wr[:width]))
			wr = wr[width:]
		}
		cur = append(cur, wr...)
	}
	if len(cur) > 0 {
		flush()
	}
	return lines
}

// Paragraph wraps s to width with first before the first line and indent before
// the others, each line ending in a newline.
func Paragraph(s string, width int, first, indent string) string {
	w := width - max(Len(first), Len(indent))
	if w < 20 {
		w = 20
	}
	var b strings.Builder
	for i, l := range Wrap(s, w) {
		if i == 0 {
			b.WriteString(first)
		} else {
			b.WriteString(indent)
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// Mode is how a column gives up width when the table is too wide.
type Mode int

const (
	Keep    Mode = iota // never shortened (short values: OS, codes, counts)
	Elide               // the middle is elided (paths, ids, names)
	Wrapped             // wrapped onto more lines (text that must be read whole)
)

// Table is a table to print within a width.
type Table struct {
	Head   []string
	Rows   [][]string
	Modes  []Mode // per column; missing means Keep
	Mins   []int  // per column: narrowest an Elide or Wrapped column is made (default 12, at least its head)
	Indent string // before every line
	Gap    int    // spaces between columns (default 2)
	// Paint, if set, decorates a cell after padding is computed (colour); row -1 is the head.
	Paint func(row, col int, s string) string
}

// minCol is the narrowest an Elide or Wrapped column is made; maxWord the
// longest word a Wrapped column keeps whole.
const (
	minCol  = 12
	maxWord = 30
)

// LineWidth is the width of the table's widest line when fitted to width: more
// than width when even its narrowest form does not fit.
func (t *Table) LineWidth(width int) int {
	ws := t.Widths(width)
	n := Len(t.Indent) + t.gap()*(len(ws)-1)
	for _, x := range ws {
		n += x
	}
	return n
}

// Widths are the column widths Render uses for width.
func (t *Table) Widths(width int) []int {
	gap := t.gap()
	n := len(t.Head)
	w := make([]int, n)
	for j, h := range t.Head {
		w[j] = Len(h)
	}
	for _, r := range t.Rows {
		for j := 0; j < n && j < len(r); j++ {
			if l := Len(r[j]); l > w[j] {
				w[j] = l
			}
		}
	}
	total := Len(t.Indent) + gap*(n-1)
	for _, x := range w {
		total += x
	}
	// A wrapped column is not made narrower than its longest word (up to
	// maxWord), so words are split only when they are very long.
	longWord := make([]int, n)
	for _, r := range t.Rows {
		for j := 0; j < n && j < len(r); j++ {
			if t.mode(j) != Wrapped {
				continue
			}
			for _, f := range strings.Fields(r[j]) {
				longWord[j] = max(longWord[j], min(Len(f), maxWord))
			}
		}
	}
	floor := func(j int) int {
		m := minCol
		if j < len(t.Mins) && t.Mins[j] > 0 {
			m = t.Mins[j]
		}
		return max(m, Len(t.Head[j]), longWord[j])
	}
	// Elided columns give up width first (ids and paths keep their ends), then
	// wrapped ones: each time the widest that may shrink, by one.
	for _, m := range []Mode{Elide, Wrapped} {
		for total > width {
			best := -1
			for j := range w {
				if t.mode(j) != m || w[j] <= floor(j) {
					continue
				}
				if best < 0 || w[j] > w[best] {
					best = j
				}
			}
			if best < 0 {
				break // what is left cannot shrink: the line is longer than width
			}
			w[best]--
			total--
		}
	}
	return w
}

func (t *Table) gap() int {
	if t.Gap <= 0 {
		return 2
	}
	return t.Gap
}

func (t *Table) mode(j int) Mode {
	if j < len(t.Modes) {
		return t.Modes[j]
	}
	return Keep
}

// Render writes the table within width: Elide columns are elided in the middle,
// Wrap columns continue on the next lines; trailing spaces are trimmed.
func (t *Table) Render(out io.Writer, width int) error {
	w := t.Widths(width)
	gap := strings.Repeat(" ", t.gap())
	var b strings.Builder
	row := func(ri int, cells []string) {
		// Each cell becomes one or more lines.
		parts := make([][]string, len(w))
		height := 1
		for j := range w {
			c := ""
			if j < len(cells) {
				c = cells[j]
			}
			switch {
			case Len(c) <= w[j]:
				parts[j] = []string{c}
			case t.mode(j) == Elide:
				parts[j] = []string{ElideMiddle(c, w[j])}
			case t.mode(j) == Wrapped:
				parts[j] = Wrap(c, w[j])
			default:
				parts[j] = []string{c}
			}
			height = max(height, len(parts[j]))
		}
		for k := 0; k < height; k++ {
			var line strings.Builder
			line.WriteString(t.Indent)
			for j := range w {
				c := ""
				if k < len(parts[j]) {
					c = parts[j][k]
				}
				pad := w[j] - Len(c)
				if t.Paint != nil && c != "" {
					c = t.Paint(ri, j, c)
				}
				line.WriteString(c)
				if j < len(w)-1 {
					if pad > 0 {
						line.WriteString(strings.Repeat(" ", pad))
					}
					line.WriteString(gap)
				}
			}
			b.WriteString(strings.TrimRight(line.String(), " "))
			b.WriteByte('\n')
		}
	}
	row(-1, t.Head)
	for i, r := range t.Rows {
		row(i, r)
	}
	_, err := io.WriteString(out, b.String())
	return err
}
