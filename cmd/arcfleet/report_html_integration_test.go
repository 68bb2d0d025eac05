package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromiumPath finds Debian's chromium. Without it the test is skipped, except
// in CI (CI set, as .ci/run does), where .ci/deps.sh installs it and its absence
// is a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is missing; CI must have it (.ci/deps.sh installs Debian's chromium)")
	}
	t.Skip("chromium is not installed (make deps installs it as root); the HTML report is not rendered")
	return ""
}

// runChromium runs headless Chromium on file with args (--dump-dom,
// --screenshot=PATH), offline and with a profile of its own.
func runChromium(t *testing.T, bin, file string, args ...string) []byte {
	t.Helper()
	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + profile, "--window-size=1200,1400"}, args...)
	all = append(all, "file://"+file)
	cmd := exec.CommandContext(ctx, bin, all...)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes()
}

// TestReportHTMLInChromium: a real run on sshd hosts (a retry, an input error,
// an already connected host, a credential whose circuit breaker opens), its
// `arcfleet report RUN_DIR --format html` rendered by headless Chromium: the
// DOM Chromium built has the chart's bars with the report's counts, the
// timeline shows the wait before the retry and when the breaker opened, the
// screenshot is a picture (not blank), and the page holds no secret and loads
// nothing.
func TestReportHTMLInChromium(t *testing.T) {
	chromium := chromiumPath(t)
	f := startFleet(t, "rh", 9, 0)
	f.writeScenario("slow: 20ms", map[string]string{
		"rh-3": "connect: {code: AZCM0026, fail_first: 1}", // transient once: a wait, then ok
		"rh-4": "connect: {code: AZCM0013}",                // invalid tags: failed
		"rh-5": connectedAt(e2eRG),                         // unchanged
	})
	// rh-6..rh-9 use sp-lab, whose secret the agents refuse: three fail
	// (AZCM0041), then the breaker keeps rh-9 from starting.
	inv := f.writeInventory(invOpts{lab: map[string]bool{"rh-6": true, "rh-7": true, "rh-8": true, "rh-9": true}})
	runDir := filepath.Join(f.Dir, "run")
	f.run("apply", "-i", inv, "--action", "connect", "--yes", "--concurrency", "1", "--run-dir", runDir).expect(t, exitBreaker)

	r := f.run("report", runDir, "--format", "html").expect(t, exitOK)
	page := r.stdout
	file := filepath.Join(f.Dir, "report.html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}

	// No secret in any encoding; nothing fetched, nothing run.
	for _, s := range e2eSentinels() {
		for _, enc := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), hex.EncodeToString([]byte(s)), strings.ReplaceAll(s, "-", "&#45;")} {
			if strings.Contains(page, enc) {
				t.Fatalf("the HTML report holds a secret (%q)", enc)
			}
		}
	}
	for _, bad := range []string{"<script", "<link", "<img", "<iframe", " src=", " href=", "url(", "@import"} {
		if strings.Contains(strings.ToLower(page), bad) {
			t.Errorf("the HTML report is not self-contained: it has %q", bad)
		}
	}
	if !strings.Contains(page, `Content-Security-Policy" content="default-src 'none'`) {
		t.Error("no Content-Security-Policy forbidding loads and scripts")
	}

	dom := string(runChromium(t, chromium, file, "--dump-dom"))
	bars := map[string]int{}
	for _, m := range regexp.MustCompile(`<g class="bar" data-label="([^"]+)" data-kind="[a-z]+" data-count="(\d+)"`).FindAllStringSubmatch(dom, -1) {
		bars[m[1]], _ = strconv.Atoi(m[2])
	}
	want := map[string]int{"ok": 3, "unchanged": 1, "AZCM0041": 3, "AZCM0013": 1, "ARCF-BREAKER-OPEN": 1}
	if len(bars) != len(want) {
		t.Errorf("chart bars %v, want %v", bars, want)
	}
	for k, n := range want {
		if bars[k] != n {
			t.Errorf("chart bar %s: %d, want %d (all: %v)", k, bars[k], n, bars)
		}
	}
	// The bars' widths follow the counts: the 3-host bars are three times the 1-host ones.
	widths := map[string]int{}
	for _, m := range regexp.MustCompile(`(?s)<g class="bar" data-label="([^"]+)".*?<rect [^>]*width="(\d+)"`).FindAllStringSubmatch(dom, -1) {
		widths[m[1]], _ = strconv.Atoi(m[2])
	}
	if d := widths["ok"] - 3*widths["AZCM0013"]; d < 0 || d > 3 || widths["ok"] == 0 { // whole pixels: 440 and 146
		t.Errorf("bar widths do not follow the counts: %v", widths)
	}
	// Timeline: every host has a row; rh-3 waited before its retry; the breaker's line is drawn.
	for i := 1; i <= 9; i++ {
		if !strings.Contains(dom, `<g class="host" data-host="rh-`+strconv.Itoa(i)+`">`) {
			t.Errorf("no timeline row for rh-%d", i)
		}
	}
	if m := regexp.MustCompile(`(?s)<g class="host" data-host="rh-3">(.*?)</g>`).FindStringSubmatch(dom); m == nil ||
		!strings.Contains(m[1], `class="wait"`) || strings.Count(m[1], `class="attempt"`) < 3 {
		t.Errorf("rh-3's row lacks its wait and attempts (probe, connect, connect): %v", m)
	}
	if !strings.Contains(dom, `<g class="mark" data-label="circuit breaker opened">`) {
		t.Error("the timeline does not show when the circuit breaker opened")
	}
	// Evidence of each host needing attention, and the remediation groups.
	for _, h := range []string{"rh-4", "rh-6", "rh-7", "rh-8", "rh-9"} {
		if !strings.Contains(dom, `data-host="`+h+`"><summary>`) {
			t.Errorf("no evidence section for %s", h)
		}
	}
	if !strings.Contains(dom, `<div class="group" data-code="AZCM0041" data-count="3">`) {
		t.Error("no remediation group for AZCM0041")
	}

	// The picture: a screenshot that is not blank and shows the chart's colours.
	shot := filepath.Join(f.Dir, "report.png")
	runChromium(t, chromium, file, "--screenshot="+shot)
	fh, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	if keep := os.Getenv("ARCFLEET_KEEP_HTML"); keep != "" { // to look at the picture: ARCFLEET_KEEP_HTML=DIR
		for _, p := range []string{file, shot} {
			if b, err := os.ReadFile(p); err == nil {
				_ = os.WriteFile(filepath.Join(keep, filepath.Base(p)), b, 0o644)
			}
		}
	}
	ink, green, crimson := countPixels(img)
	total := img.Bounds().Dx() * img.Bounds().Dy()
	if ink < total/100 || green < 500 || crimson < 500 {
		t.Errorf("the screenshot looks blank or lacks the chart: %d of %d pixels not white, %d green (ok bar), %d crimson (AZCM0041 bar)", ink, total, green, crimson)
	}
}

// countPixels counts pixels that are not near white, and those of the ok bar's
// green (#2e7d32) and the credential bars' crimson (#ad1457), with tolerance.
func countPixels(img image.Image) (ink, green, crimson int) {
	near := func(r, g, b uint32, R, G, B int) bool {
		d := func(a uint32, b int) int { x := int(a>>8) - b; return x * x }
		return d(r, R)+d(g, G)+d(b, B) < 3*12*12
	}
	bd := img.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if r>>8 < 240 || g>>8 < 240 || b>>8 < 240 {
				ink++
			}
			if near(r, g, b, 0x2e, 0x7d, 0x32) {
				green++
			}
			if near(r, g, b, 0xad, 0x14, 0x57) {
				crimson++
			}
		}
	}
	return ink, green, crimson
}
