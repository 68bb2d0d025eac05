package markdown

import (
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"web01", "web01"},
		{"odd|name_*1*", `odd\|name\_\*1\*`},
		{"<script>[x](y) #h `c` \\", "&lt;script&gt;\\[x\\](y) \\#h \\`c\\` \\\\"},
		{"two\nlines\t here", "two lines here"},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Run `azcmagent check`", "Run `azcmagent check`"}, // trusted Markdown stays
		{"a|b", `a\|b`},
		{"line one\r\nline  two", "line one line two"},
		{"no  break keeps  spaces", "no  break keeps  spaces"},
	}
	for _, tt := range tests {
		if got := Cell(tt.in); got != tt.want {
			t.Errorf("Cell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"hosts/web01/attempt-1.log", "`hosts/web01/attempt-1.log`"},
		{"a`b", "``a`b``"},
		{"`x", "`` `x ``"},
		{"x ``` y", "````x ``` y````"},
		{"a\nb", "`a b`"},
	}
	for _, tt := range tests {
		if got := Code(tt.in); got != tt.want {
			t.Errorf("Code(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFenceAndCodeBlock(t *testing.T) {
	if f := Fence(); f != "```" {
		t.Errorf("Fence() = %q", f)
	}
	if f := Fence("plain", "has ```` four"); f != "`````" {
		t.Errorf("Fence = %q, want five backticks", f)
	}
	got := CodeBlock("echo `x`\n```\n", "sh")
	want := "````sh\necho `x`\n```\n````"
	if got != want {
		t.Errorf("CodeBlock = %q, want %q", got, want)
	}
	// No line of the text can close the block early.
	lines := strings.Split(got, "\n")
	for _, l := range lines[1 : len(lines)-1] {
		if strings.HasPrefix(l, "````") {
			t.Errorf("line %q closes the block", l)
		}
	}
}
