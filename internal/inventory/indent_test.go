package inventory

import (
	"strings"
	"testing"
)

// indentCulprit never panics and never names a line before the one yaml.v3
// named, nor past the end of the input.
func FuzzIndentCulprit(f *testing.F) {
	f.Add([]byte("version: 1\nhosts:\n  - name: a\n   bad: [\n"), 2)
	f.Add([]byte("a:\n  b: |\n    x\n   c: \t\n- - x\n  -\n"), 1)
	f.Add([]byte("a: {b: [\n  c]}\n  d: e\n"), 1)
	f.Fuzz(func(t *testing.T, data []byte, from int) {
		line, col, fits, ok := indentCulprit(data, from)
		if !ok {
			return
		}
		if line < from || line > strings.Count(string(data), "\n")+1 || col < 1 || len(fits) == 0 {
			t.Fatalf("line %d col %d fits %v from %d", line, col, fits, from)
		}
		indentMsg(col, fits)
	})
}
