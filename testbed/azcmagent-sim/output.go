package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// simError is a failure the agent reports with an AZCM code.
type simError struct {
	code   int
	detail string // what went wrong and how to fix it; never holds a secret
}

func newErr(code int, detail string) *simError { return &simError{code: code, detail: detail} }

func (e *simError) Error() string {
	return codeName(e.code) + ": " + info(e.code).title + ": " + e.detail
}

// masker replaces secret values with "***" in everything written through it:
// defence in depth behind the rule that no code path formats a secret.
type masker struct{ secrets []string }

// minMaskLen: shorter values would mangle ordinary output and are no real secret.
const minMaskLen = 4

func (m *masker) add(s string) {
	if len(s) >= minMaskLen {
		m.secrets = append(m.secrets, s)
	}
}

func (m *masker) mask(s string) string {
	for _, sec := range m.secrets {
		s = strings.ReplaceAll(s, sec, "***")
	}
	return s
}

// console writes what the agent shows and logs. Human lines go to stdout; with
// --log-stderr errors and verbose lines go to stderr; with --json stdout carries
// only the JSON document and every human line goes to stderr.
type console struct {
	stdout, stderr io.Writer
	json           bool
	logStderr      bool
	verbose        bool
	mask           *masker
	log            *agentLog
}

func (c *console) line(w io.Writer, s string) {
	io.WriteString(w, c.mask.mask(s)+"\n")
}

func (c *console) humanOut() io.Writer {
	if c.json {
		return c.stderr
	}
	return c.stdout
}

func (c *console) errOut() io.Writer {
	if c.json || c.logStderr {
		return c.stderr
	}
	return c.stdout
}

// info prints and logs an INFO line.
func (c *console) info(msg string) {
	c.line(c.humanOut(), "INFO    "+msg)
	c.log.write("info", msg, "")
}

// debug prints (with --verbose) and logs a DEBUG line.
func (c *console) debug(msg string) {
	if !c.verbose {
		return
	}
	c.line(c.errOut(), "DEBUG   "+msg)
	c.log.write("debug", msg, "")
}

// progress prints one step of the progress indicator (not with --json).
func (c *console) progress(pct int) {
	if c.json {
		return
	}
	const width = 20
	n := pct * width / 100
	c.line(c.stdout, fmt.Sprintf("%4d%% |%s%s|", pct, strings.Repeat("█", n), strings.Repeat(" ", width-n)))
}

// fail reports e as the agent does: a FATAL line with the detail and the
// `AZCMnnnn: Title` line (optionally after "Exit Code: "), the log's error and
// fatal lines, and with --json the error document. It returns the exit code.
func (c *console) fail(op string, e *simError, prefix bool) int {
	ci := info(e.code)
	head := codeName(e.code) + ": " + ci.title
	if prefix {
		head = "Exit Code: " + head
	}
	c.line(c.errOut(), "FATAL   "+e.detail)
	c.line(c.errOut(), head)
	c.log.write("error", "Failed to "+op, e.detail)
	c.log.write("fatal", codeName(e.code)+": "+ci.title, e.detail)
	if c.json {
		c.emitJSON(failureJSON(op, e))
	}
	return e.code
}

// failOld reports e as a pre-2021 agent: logrus text lines on stderr with no
// AZCM code, and exit code 1.
func (c *console) failOld(op string, e *simError, msg string) int {
	if msg == "" {
		msg = info(e.code).old
	}
	c.line(c.stderr, fmt.Sprintf("ERROR[0000] Failed to %s Error=%s", op, strconv.Quote(msg)))
	c.line(c.stderr, "FATAL[0000] "+msg)
	c.log.write("error", "Failed to "+op, msg)
	c.log.write("fatal", msg, "")
	return 1
}

func (c *console) emitJSON(v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		data = []byte(`{"status":"Failed","error":{"code":"AZCM0001","message":"cannot encode output"}}`)
	}
	c.line(c.stdout, string(data))
}

// jsonError is the error object of --json output.
type jsonError struct {
	Code     string `json:"code"`     // "AZCM0041"
	ExitCode int    `json:"exitCode"` // 41
	Title    string `json:"title"`    // "Invalid Credentials"
	Message  string `json:"message"`  // detail and fix
}

// jsonResult is the --json document of connect, disconnect and failed commands.
type jsonResult struct {
	Status         string     `json:"status"`    // Succeeded | Failed
	Operation      string     `json:"operation"` // connect | disconnect | show | check | version
	ResourceID     string     `json:"resourceId,omitempty"`
	ResourceName   string     `json:"resourceName,omitempty"`
	ResourceGroup  string     `json:"resourceGroup,omitempty"`
	SubscriptionID string     `json:"subscriptionId,omitempty"`
	TenantID       string     `json:"tenantId,omitempty"`
	Location       string     `json:"location,omitempty"`
	Cloud          string     `json:"cloud,omitempty"`
	CorrelationID  string     `json:"correlationId,omitempty"`
	ForceLocalOnly bool       `json:"forceLocalOnly,omitempty"`
	Error          *jsonError `json:"error,omitempty"`
}

func failureJSON(op string, e *simError) jsonResult {
	return jsonResult{Status: "Failed", Operation: op, Error: &jsonError{
		Code: codeName(e.code), ExitCode: e.code, Title: info(e.code).title, Message: e.detail,
	}}
}

// agentLog appends logrus-style lines to ROOT/log/azcmagent.log, one write per line.
type agentLog struct {
	f    *os.File
	now  func() time.Time
	mask *masker
}

// openLog creates ROOT/log and opens azcmagent.log for appending.
func openLog(root string, now func() time.Time, m *masker) (*agentLog, error) {
	dir := filepath.Join(root, "log")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &agentLog{now: now, mask: m}, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "azcmagent.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return &agentLog{now: now, mask: m}, err
	}
	return &agentLog{f: f, now: now, mask: m}, nil
}

// write appends `time="..." level=L msg="..." [Error="..."]`. A nil file (log
// not openable) drops the line: the command already reported AZCM0005.
func (l *agentLog) write(level, msg, errText string) {
	if l == nil || l.f == nil {
		return
	}
	l.f.WriteString(l.mask.mask(l.format(level, msg, errText)) + "\n")
}

// writeFields appends a logrus line with extra key="value" fields (pairs).
func (l *agentLog) writeFields(level, msg string, fields ...string) {
	if l == nil || l.f == nil {
		return
	}
	l.f.WriteString(l.mask.mask(l.format(level, msg, "", fields...)) + "\n")
}

// format is one logrus text line: `time="..." level=L msg="..." [Error="..."]`.
func (l *agentLog) format(level, msg, errText string, fields ...string) string {
	s := fmt.Sprintf("time=%q level=%s msg=%s", l.now().UTC().Format(time.RFC3339), level, strconv.Quote(msg))
	if errText != "" {
		s += " Error=" + strconv.Quote(errText)
	}
	for i := 0; i+1 < len(fields); i += 2 {
		s += " " + fields[i] + "=" + strconv.Quote(fields[i+1])
	}
	return s
}

// logrus prints a logrus text line to stdout, as 2020 agents did on the
// console, and appends the same line to the log.
func (c *console) logrus(w io.Writer, level, msg, errText string) {
	line := c.log.format(level, msg, errText)
	c.line(w, line)
	if c.log.f != nil {
		c.log.f.WriteString(c.mask.mask(line) + "\n")
	}
}

// failReal reports a failure the way agents of 2022-2025 print one in the
// public outputs the real-agent scenarios quote (an Azure Local lab's
// `azcmagent disconnect` with a delete lock, agent 1.40; azure-docs issue
// 109136's azcmagent.log, 2023): `INFO    Exit Code:  AZCMnnnn: Title` (two
// spaces), the troubleshooting link, then `FATAL   ` and the service's message;
// the log gets the same lines in logrus form. title is the real agent's title
// where one is public. With --json the error document follows on stdout.
func (c *console) failReal(op string, code int, title, fatal string) int {
	head := fmt.Sprintf("Exit Code:  %s: %s", codeName(code), title)
	const help = "For troubleshooting, see https://aka.ms/arc/azcmerror"
	c.line(c.humanOut(), "INFO    "+head)
	c.line(c.humanOut(), "INFO    "+help)
	c.line(c.errOut(), "FATAL   "+fatal)
	c.log.write("info", head, "")
	c.log.write("info", help, "")
	c.log.write("fatal", fatal, "")
	if c.json {
		c.emitJSON(failureJSON(op, newErr(code, fatal)))
	}
	return code
}

func (l *agentLog) close() {
	if l != nil && l.f != nil {
		l.f.Close()
	}
}

// recordLine is one line of AZCMAGENT_SIM_RECORD.
type recordLine struct {
	Host  string `json:"host"`
	Cmd   string `json:"cmd"`
	PID   int    `json:"pid"`
	Event string `json:"event"` // start | end
	T     string `json:"t"`     // RFC3339Nano, real clock
	Exit  *int   `json:"exit,omitempty"`
	// On the end line of connect and disconnect: the login the agent was given
	// ("access token", "service principal secret", ...), the SHA-256 of an access
	// token and its exp (tests match them with the tokens they minted; never the
	// token itself), and the keys (never values) of the --config file.
	Auth        string   `json:"auth,omitempty"`
	TokenSHA256 string   `json:"token_sha256,omitempty"`
	TokenExp    int64    `json:"token_exp,omitempty"`
	ConfigKeys  []string `json:"config_keys,omitempty"`
}

// record appends one JSON line with a single O_APPEND write, so lines from
// concurrent processes never interleave.
func record(path string, r recordLine) error {
	if path == "" {
		return nil
	}
	r.T = time.Now().UTC().Format(time.RFC3339Nano)
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(append(data, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
