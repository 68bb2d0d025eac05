// Command bench turns `go test -bench` output (stdin) into the table `make
// bench` prints. Every input line is echoed as it arrives, so a long run shows
// progress; the table follows. It exits 1 when the input reports a failure or
// holds no benchmark at all.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// columns are the metrics shown first, in this order; others follow, sorted.
func columns() []string {
	return []string{"time/op", "wall/ideal", "wall-s", "cpu-ms/host", "peak-RSS-MB", "machine-busy-%"}
}

type row struct {
	name    string
	metrics map[string]string
}

func main() {
	rows, header, failed, err := parse(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: reading go test output: %v\n", err)
		os.Exit(1)
	}
	fmt.Println()
	render(os.Stdout, rows, header)
	if failed || len(rows) == 0 {
		fmt.Fprintln(os.Stderr, "bench: the benchmarks failed or none ran (see the output above)")
		os.Exit(1)
	}
}

// parse reads go test -bench output, echoing it to echo.
func parse(r io.Reader, echo io.Writer) (rows []row, header []string, failed bool, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seenHeader := map[string]bool{}
	pkg := ""
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(echo, line)
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = path.Base(strings.TrimSpace(strings.TrimPrefix(line, "pkg: ")))
		case strings.HasPrefix(line, "FAIL") || strings.HasPrefix(line, "--- FAIL") || strings.HasPrefix(line, "panic:"):
			failed = true
		case strings.HasPrefix(line, "cpu: ") || strings.HasPrefix(line, "goos: ") || strings.HasPrefix(line, "goarch: ") || strings.HasPrefix(line, "machine: "):
			if !seenHeader[line] {
				seenHeader[line] = true
				header = append(header, line)
			}
		case strings.HasPrefix(line, "Benchmark"):
			if rw, ok := parseLine(line); ok {
				if pkg != "" {
					rw.name = pkg + "." + rw.name
				}
				rows = append(rows, rw)
			}
		}
	}
	return rows, header, failed, sc.Err()
}

// parseLine reads "BenchmarkX-2  1  123 ns/op  1.05 wall/ideal ...".
func parseLine(line string) (row, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 {
		return row{}, false
	}
	if _, err := strconv.Atoi(f[1]); err != nil {
		return row{}, false
	}
	name := strings.TrimPrefix(f[0], "Benchmark")
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i] // the GOMAXPROCS suffix
		}
	}
	rw := row{name: name, metrics: map[string]string{}}
	for i := 2; i+1 < len(f); i += 2 {
		rw.metrics[f[i+1]] = f[i]
	}
	// One readable time column: ns/op as a duration (ms/op repeats it).
	if ns, err := strconv.ParseFloat(rw.metrics["ns/op"], 64); err == nil {
		rw.metrics["time/op"] = readable(time.Duration(ns))
	}
	delete(rw.metrics, "ns/op")
	delete(rw.metrics, "ms/op")
	return rw, true
}

// readable rounds d to 3 significant digits: 1.5ms, 403ms, 1m52.5s.
func readable(d time.Duration) string {
	for r := time.Duration(1); r < time.Hour; r *= 10 {
		if d < 1000*r {
			return d.Round(r).String()
		}
	}
	return d.Round(time.Second).String()
}

func render(w io.Writer, rows []row, header []string) {
	for _, h := range header {
		fmt.Fprintln(w, h)
	}
	used := map[string]bool{}
	var cols []string
	for _, c := range columns() {
		for _, r := range rows {
			if _, ok := r.metrics[c]; ok {
				cols = append(cols, c)
				used[c] = true
				break
			}
		}
	}
	var extra []string
	for _, r := range rows {
		for m := range r.metrics {
			if !used[m] {
				used[m] = true
				extra = append(extra, m)
			}
		}
	}
	sort.Strings(extra)
	cols = append(cols, extra...)
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "benchmark\t")
	for _, c := range cols {
		fmt.Fprintf(tw, "%s\t", c)
	}
	fmt.Fprintln(tw)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t", r.name)
		for _, c := range cols {
			v := r.metrics[c]
			if v == "" {
				v = "-"
			}
			fmt.Fprintf(tw, "%s\t", v)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	for _, l := range strings.SplitAfter(buf.String(), "\n") {
		fmt.Fprint(w, strings.TrimRight(l, " \n"))
		if strings.HasSuffix(l, "\n") {
			fmt.Fprintln(w)
		}
	}
}
