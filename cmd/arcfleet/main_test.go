package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Every command answers --help on stdout with exit 0, and a bad flag on stderr with exit 2.
func TestEveryCommandHelp(t *testing.T) {
	for name := range commands() {
		t.Run(name, func(t *testing.T) {
			code, out, errs := runCmd(t, nil, false, name, "--help")
			if code != exitOK || !strings.Contains(out, "Usage: arcfleet "+name) || errs != "" {
				t.Errorf("%s --help: exit %d, stdout %q, stderr %q", name, code, out, errs)
			}
			code, out, errs = runCmd(t, nil, false, name, "--no-such-flag")
			if code != exitInvalid || !strings.Contains(errs, "no-such-flag") || out != "" {
				t.Errorf("%s --no-such-flag: exit %d, stdout %q, stderr %q", name, code, out, errs)
			}
		})
	}
	if code, out, _ := runCmd(t, nil, false, "--version"); code != exitOK || !strings.HasPrefix(out, "arcfleet ") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
	if code, _, errs := runCmd(t, nil, false, "frobnicate"); code != exitInvalid || !strings.Contains(errs, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, %q", code, errs)
	}
}

// apply without --yes on a non-terminal stdin (cron, CI) refuses before touching anything.
func TestApplyNeedsYesWithoutTerminal(t *testing.T) {
	code, _, errs := runCmd(t, map[string]string{"ARC_SP_PROD": "x", "ARC_SP_LAB": "x", "WINRM_PASSWORD": "x"}, false,
		"apply", "-i", "../../examples/mixed-fleet.yaml", "--action", "connect", "--run-dir", t.TempDir()+"/run")
	if code != exitInvalid || !strings.Contains(errs, "pass --yes") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

// An interrupt while the confirmation prompt waits ends the command with 130.
func TestPromptInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	var out, errb strings.Builder
	blocked, _ := newBlockingReader()
	e := &env{stdin: blocked, stdout: &out, stderr: &errb, stdinIsTerminal: true,
		getenv: func(k string) string {
			return map[string]string{"ARC_SP_PROD": "x", "ARC_SP_LAB": "x", "WINRM_PASSWORD": "x"}[k]
		}}
	code := run(ctx, e, []string{"apply", "-i", "../../examples/mixed-fleet.yaml", "--action", "connect", "--run-dir", t.TempDir() + "/run"})
	if code != exitInterrupted {
		t.Errorf("exit %d, want 130; stderr %q", code, errb.String())
	}
}

// newBlockingReader is a stdin that never answers (a user who walked away).
func newBlockingReader() (*blockingReader, func()) {
	b := &blockingReader{done: make(chan struct{})}
	return b, func() { close(b.done) }
}

type blockingReader struct{ done chan struct{} }

func (b *blockingReader) Read([]byte) (int, error) { <-b.done; return 0, context.Canceled }
