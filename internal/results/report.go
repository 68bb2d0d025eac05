package results

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/arcfleet/arcfleet/internal/atomicfile"
)

// ReportFormatVersion is the version of report.json's schema. Readers refuse newer
// versions; fields are only ever added within a version.
const ReportFormatVersion = 1

// Files in a run directory.
const (
	ReportJSONFile     = "report.json"
	ReportMarkdownFile = "report.md"
)

// MaskSecrets masks every secret in the free-text parts of the report (details and
// evidence). Classify already masks evidence; this is for text from elsewhere.
func (r *Report) MaskSecrets(secrets []string) {
	for i := range r.Hosts {
		h := &r.Hosts[i]
		h.Detail = Mask(h.Detail, secrets)
		maskArg := func(s string) string { return Mask(s, secrets) }
		if h.DetailMsg != nil {
			m := h.DetailMsg.Mask(maskArg)
			h.DetailMsg = &m
		}
		for j := range h.NoteMsgs {
			h.NoteMsgs[j] = h.NoteMsgs[j].Mask(maskArg)
		}
		for j := range h.Evidence {
			h.Evidence[j] = Mask(h.Evidence[j], secrets)
		}
		for j := range h.Notes {
			h.Notes[j] = Mask(h.Notes[j], secrets)
		}
	}
}

// ReadReport reads RUN_DIR/report.json.
func ReadReport(runDir string) (*Report, error) {
	path := filepath.Join(runDir, ReportJSONFile)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if _, derr := os.Stat(runDir); derr != nil {
				return nil, fmt.Errorf("%s: no such run directory; fix: pass the run directory that apply printed", runDir)
			}
			return nil, fmt.Errorf("%s: no report in this run directory; fix: pass the run directory that apply printed, or finish the run with 'arcfleet resume %s'", path, runDir)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %s; fix: the file is damaged: restore it, or run apply again", jsonErrorPos(path, data, err), err)
	}
	switch {
	case r.FormatVersion == 0:
		return nil, fmt.Errorf("%s: not an arcfleet report (no format_version); fix: pass a run directory written by arcfleet apply", path)
	case r.FormatVersion > ReportFormatVersion:
		return nil, fmt.Errorf("%s: report format_version %d is newer than this arcfleet understands (%d); fix: use a newer arcfleet", path, r.FormatVersion, ReportFormatVersion)
	}
	return &r, nil
}

// jsonErrorPos is "FILE:LINE:COL" of a JSON decoding error, or FILE.
func jsonErrorPos(path string, data []byte, err error) string {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off <= 0 || off > int64(len(data)) {
		return path
	}
	before := data[:off-1] // Offset counts the bytes read, the offending one included
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return fmt.Sprintf("%s:%d:%d", path, line, col)
}

// WriteReports writes report.json and report.md (English) into runDir, each
// atomically: a reader sees the old file or the new one, never half of one.
func WriteReports(runDir string, r *Report) error {
	var js, md bytes.Buffer
	if err := RenderReport(&js, r, "json", "en", false); err != nil {
		return err
	}
	if err := RenderReport(&md, r, "markdown", "en", false); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(runDir, ReportJSONFile), js.Bytes()); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(runDir, ReportMarkdownFile), md.Bytes())
}

// writeAtomic writes a report file of the run directory (internal/atomicfile).
func writeAtomic(path string, data []byte) error {
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return fmt.Errorf("%s: %w; fix: check that the run directory exists and is writable", path, err)
	}
	return nil
}

// needsNothing reports whether a host ended as intended: counted, not listed.
func needsNothing(o Outcome) bool { return o == OutcomeOK || o == OutcomeUnchanged }

// outcomeOrder is the order outcomes are counted in.
var outcomeOrder = []Outcome{OutcomeOK, OutcomeUnchanged, OutcomeFailed, OutcomeBlocked, OutcomeNotStarted, OutcomeInterrupted}

// hostText is the catalog wording for a host's final code; a code without entry
// (one a newer arcfleet wrote, say) shows the host's detail as its cause.
func hostText(h *HostResult, lang string) (title, cause, remedy string) {
	if h.FinalCode == "" || (h.FinalCode == "AZCM0000" && needsNothing(h.Outcome)) {
		return "", "", ""
	}
	if e, ok := Lookup(h.FinalCode); ok {
		return e.Text(lang)
	}
	return "", detailText(h, lang), ""
}

// hostDuration is the time a host's attempts took.
func hostDuration(h *HostResult) time.Duration {
	var d time.Duration
	for _, a := range h.Attempts {
		d += a.Duration
	}
	return d
}

// group is the hosts that ended with one code (or, without code, one outcome).
type group struct {
	Key                  string  // the code, or "(outcome)" for hosts without one; plus the detail when the catalog lacks the code
	Code                 string  // "" when grouped by outcome
	Outcome              Outcome // set when grouped by outcome
	Class                Class
	Title, Cause, Remedy string
	Hosts                []string // in report order
}

// view is what every renderer needs, computed once in one pass over the hosts.
type view struct {
	r        *Report
	lang     string
	counts   map[Outcome]int
	groups   []*group
	problems []*HostResult // hosts that need attention, report order
	fine     map[Outcome][]string
	width    int // of the table format's lines
}

func newView(r *Report, lang string) *view {
	v := &view{r: r, lang: lang, counts: map[Outcome]int{}, fine: map[Outcome][]string{}}
	byKey := map[string]*group{}
	for i := range r.Hosts {
		h := &r.Hosts[i]
		v.counts[h.Outcome]++
		if needsNothing(h.Outcome) {
			v.fine[h.Outcome] = append(v.fine[h.Outcome], h.Name)
			continue
		}
		v.problems = append(v.problems, h)
		code := h.FinalCode
		if code == "AZCM0000" {
			code = ""
		}
		e, known := Lookup(code)
		key := code
		if code == "" {
			key = "(" + string(h.Outcome) + ")"
		}
		if !known {
			// Without a catalog entry the host's detail is the only cause there
			// is: hosts share a group only when they share it, so one host's
			// cause is never shown as another's.
			key += "\x00" + h.Detail
		}
		g := byKey[key]
		if g == nil {
			g = &group{Key: key, Code: code, Class: h.Class}
			switch {
			case known:
				g.Class = e.Class
				g.Title, g.Cause, g.Remedy = e.Text(lang)
			case code == "":
				g.Outcome = h.Outcome
				g.Title = outcomeLabel(h.Outcome, lang)
				g.Cause = detailText(h, lang)
			default:
				g.Cause = detailText(h, lang) // a code from elsewhere (a newer arcfleet's)
			}
			byKey[key] = g
			v.groups = append(v.groups, g)
		}
		g.Hosts = append(g.Hosts, h.Name)
	}
	slices.SortStableFunc(v.groups, func(a, b *group) int {
		return cmp.Or(cmp.Compare(len(b.Hosts), len(a.Hosts)), strings.Compare(a.Key, b.Key))
	})
	return v
}

// otherOutcomes lists outcomes present in the report that outcomeOrder lacks, sorted.
func (v *view) otherOutcomes() []Outcome {
	var out []Outcome
	for o := range v.counts {
		if !slices.Contains(outcomeOrder, o) {
			out = append(out, o)
		}
	}
	slices.Sort(out)
	return out
}

// allOutcomes is outcomeOrder followed by any unknown outcome values.
func (v *view) allOutcomes() []Outcome {
	return slices.Concat(outcomeOrder, v.otherOutcomes())
}

// Exit codes of a run, one meaning each; cron, CI and Kubernetes act on them
// (the CLI adds 2 for invalid input or usage).
const (
	ExitOK          = 0   // every selected host ended as intended (ok or unchanged)
	ExitHostsFailed = 3   // some hosts failed, were blocked or not started
	ExitBreaker     = 4   // the circuit breaker stopped the run
	ExitInterrupted = 130 // interrupted
)

// ExitCode is the run's verdict as an exit code. A nil report counts as failed;
// so does a run whose Azure verification found a host Azure disagrees with.
func (r *Report) ExitCode() int {
	if r == nil {
		return ExitHostsFailed
	}
	if r.Interrupted {
		return ExitInterrupted
	}
	if len(r.BreakerOpen) > 0 {
		return ExitBreaker
	}
	for i := range r.Hosts {
		switch r.Hosts[i].Outcome {
		case OutcomeOK, OutcomeUnchanged:
		default:
			return ExitHostsFailed
		}
	}
	if len(r.Azure.Mismatches()) > 0 {
		return ExitHostsFailed // the agents said yes, Azure says otherwise
	}
	return ExitOK
}
