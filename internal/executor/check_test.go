package executor

import "testing"

func TestVersionLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{
		{"1.40.02669.1635", "1.50", true},
		{"1.50.03036.1885", "1.50", false},
		{"1.50", "1.50.0.1", true},
		{"1.9.1", "1.10", true},
		{"2.0", "1.99.99", false},
		{"1.50.03036.1885", "1.50.03036.1885", false},
	} {
		if got := VersionLess(c.a, c.b); got != c.less {
			t.Errorf("VersionLess(%s, %s) = %v, want %v", c.a, c.b, got, c.less)
		}
	}
}
