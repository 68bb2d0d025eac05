package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/results"
)

// runCmd runs arcfleet in-process with the given environment variables.
func runCmd(t *testing.T, environ map[string]string, stdoutTerminal bool, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		getenv: func(k string) string { return environ[k] }, stdoutIsTerminal: stdoutTerminal}
	code := run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func TestCodesCommand(t *testing.T) {
	tests := []struct {
		name     string
		environ  map[string]string
		args     []string
		exit     int
		stdout   []string // substrings
		stderr   []string
		noStdout bool
	}{
		{name: "one code", args: []string{"codes", "AZCM0041"}, stdout: []string{"AZCM0041  Invalid credentials", "Class:", "Cause:", "Fix:", "Apply:    none:"}},
		{name: "what apply does", args: []string{"codes", "AZCM0062"}, stdout: []string{"Apply:    retry:", "reconnect:"}},
		{name: "short spelling", args: []string{"codes", "44"}, stdout: []string{"AZCM0044"}},
		{name: "swedish", args: []string{"codes", "AZCM0044", "--lang", "sv"}, stdout: []string{"Resursnamnet används redan", "Orsak:", "Lösning:"}},
		{name: "swedish from LANG", environ: map[string]string{"LANG": "sv_SE.UTF-8"}, args: []string{"codes", "AZCM0044"}, stdout: []string{"Orsak:"}},
		{name: "flag overrides LANG", environ: map[string]string{"LANG": "sv_SE.UTF-8"}, args: []string{"codes", "--lang", "en", "AZCM0044"}, stdout: []string{"Cause:"}},
		{name: "non-AZCM key", args: []string{"codes", "transport-host-key-changed"}, stdout: []string{"TRANSPORT-HOST-KEY-CHANGED", "known_hosts"}},
		{name: "range member", args: []string{"codes", "AZCM0128"}, stdout: []string{"AZCM0128", "Linux installer"}},
		{name: "list", args: []string{"codes"}, stdout: []string{"CODE", "REMEDY", "restart-agent-service", "retry (reconnect if created)", "AZCM0000", "AZCM0160", "MSG-GPO-PROFILE-DELETED", "AADSTS7000215", "TRANSPORT-AUTH"}},
		{name: "unknown code", args: []string{"codes", "AZCM9999"}, exit: exitInvalid, noStdout: true, stderr: []string{`unknown code "AZCM9999"`, "arcfleet codes"}},
		{name: "two codes", args: []string{"codes", "41", "44"}, exit: exitInvalid, noStdout: true},
		{name: "bad lang", args: []string{"codes", "--lang", "de"}, exit: exitInvalid, noStdout: true, stderr: []string{"en or"}},
		{name: "bad format", args: []string{"codes", "--format", "xml"}, exit: exitInvalid, noStdout: true},
		{name: "help", args: []string{"codes", "--help"}, stdout: []string{"Usage: arcfleet codes", "-lang", "-format"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCmd(t, tt.environ, false, tt.args...)
			if code != tt.exit {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.exit, out, errs)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(errs, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errs)
				}
			}
			if tt.noStdout && out != "" {
				t.Errorf("unexpected stdout: %s", out)
			}
		})
	}
}

func TestCodesJSON(t *testing.T) {
	code, out, _ := runCmd(t, nil, false, "codes", "--format", "json", "--lang", "sv")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var all []codeJSON
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatal(err)
	}
	if len(all) != len(results.Catalog()) {
		t.Errorf("%d entries, catalog has %d", len(all), len(results.Catalog()))
	}
	for _, c := range all {
		if c.Lang != "sv" || c.Title == "" || c.Cause == "" || c.Remedy == "" || c.Class == "" || c.Apply == "" {
			t.Errorf("incomplete entry %+v", c)
		}
		// What codes says apply does is the knowledge base's remedy, which the
		// executor's retry policy applies (TestRetryRemedyFromCatalog).
		if c.Action != results.RemedyOf(c.Code, false) || c.Action.String() == "" {
			t.Errorf("%s: action %q, knowledge base %q", c.Code, c.Action, results.RemedyOf(c.Code, false))
		}
		if created := results.RemedyOf(c.Code, true); created != c.Action && c.IfCreated != created {
			t.Errorf("%s: action_if_created %q, knowledge base %q", c.Code, c.IfCreated, created)
		}
	}
	code, out, _ = runCmd(t, nil, false, "codes", "AZCM0041", "--format", "json")
	var one codeJSON
	if err := json.Unmarshal([]byte(out), &one); err != nil || code != exitOK {
		t.Fatalf("exit %d: %v", code, err)
	}
	if one.Code != "AZCM0041" || one.Class != results.ClassCredential || one.Kind != "azcm" {
		t.Errorf("got %+v", one)
	}
}
