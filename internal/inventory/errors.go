package inventory

import (
	"fmt"
	"strings"
)

// maxErrors caps how many load errors are collected: enough to fix a file in one
// pass, few enough that a badly broken file stays readable.
const maxErrors = 50

// Error is one problem found while loading an inventory. It never holds a secret value.
type Error struct {
	Pos  Pos    // where the offending key or value is
	Path string // key path, e.g. "hosts[3].ssh.password"
	Host string // the host entry it belongs to, if any
	Msg  string // what is wrong
	Fix  string // what to do about it
}

// Error renders "FILE:LINE:COL: KEYPATH: host NAME: message; fix: ...", leaving out
// the parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Pos.Line > 0 || e.Pos.File != "" {
		b.WriteString(e.Pos.String())
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if e.Host != "" {
		b.WriteString("host ")
		b.WriteString(e.Host)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Fix != "" {
		b.WriteString("; fix: ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// Errors is every problem found in one inventory, in file order of discovery.
type Errors []*Error

// Error renders one error per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// collector gathers Errors up to maxErrors and then one "too many" line.
type collector struct {
	file string
	list Errors
	full bool
}

func (c *collector) add(e *Error) {
	if c.full {
		return
	}
	if len(c.list) == maxErrors {
		c.full = true
		c.list = append(c.list, &Error{Pos: Pos{File: c.file}, Msg: fmt.Sprintf("more than %d errors; stopped checking", maxErrors),
			Fix: "fix the errors above and run validate again"})
		return
	}
	c.list = append(c.list, e)
}

func (c *collector) err() error {
	if len(c.list) == 0 {
		return nil
	}
	return c.list
}
