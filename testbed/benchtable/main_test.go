package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestTableGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "input.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var echo, table bytes.Buffer
	rows, header, failed, err := parse(bytes.NewReader(in), &echo)
	if err != nil || failed {
		t.Fatalf("parse: err %v failed %v", err, failed)
	}
	if echo.String() != string(in) {
		t.Errorf("input not echoed verbatim")
	}
	render(&table, rows, header)
	golden := filepath.Join("testdata", "table.golden")
	if *update {
		if err := os.WriteFile(golden, table.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./bench -update)", err)
	}
	if table.String() != string(want) {
		t.Errorf("table differs from %s (go test ./bench -update):\n%s", golden, table.String())
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		rows       int
		failed     bool
		firstName  string
		firstRatio string
	}{
		{"ok", "BenchmarkA/x=1-2 1 10 ns/op 1.02 wall/ideal\nok x 1s\n", 1, false, "A/x=1", "1.02"},
		{"with pkg", "pkg: github.com/a/demo\nBenchmarkA-2 1 10 ns/op\n", 1, false, "demo.A", ""},
		{"no suffix", "BenchmarkB 3 10 ns/op\n", 1, false, "B", ""},
		{"failed test", "--- FAIL: BenchmarkA\nFAIL\n", 0, true, "", ""},
		{"build failure", "FAIL\tgithub.com/x [build failed]\n", 0, true, "", ""},
		{"panic", "BenchmarkA-2 1 10 ns/op\npanic: boom\n", 1, true, "A", ""},
		{"odd fields", "BenchmarkA-2 1 10 ns/op 5\n", 0, false, "", ""},
		{"no count", "BenchmarkA-2 x 10 ns/op\n", 0, false, "", ""},
		{"empty", "", 0, false, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, _, failed, err := parse(strings.NewReader(tc.in), &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != tc.rows || failed != tc.failed {
				t.Fatalf("rows %d failed %v, want %d %v", len(rows), failed, tc.rows, tc.failed)
			}
			if tc.rows > 0 && (rows[0].name != tc.firstName || rows[0].metrics["wall/ideal"] != tc.firstRatio) {
				t.Errorf("first row %+v", rows[0])
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("BenchmarkA-2 1 10 ns/op 1.02 wall/ideal\n")
	f.Add("Benchmark\nFAIL\n")
	f.Add("BenchmarkX-y 1 2 3 4\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, header, _, _ := parse(strings.NewReader(in), &bytes.Buffer{})
		render(&bytes.Buffer{}, rows, header)
	})
}
