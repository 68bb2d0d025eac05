package winrmtest

import (
	"bytes"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/masterzen/winrm"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"PT60S", 60 * time.Second, true},
		{"PT60.000S", 60 * time.Second, true},
		{"PT0.5S", 500 * time.Millisecond, true},
		{"PT1M30S", 90 * time.Second, true},
		{"P0DT0H0M5S", 5 * time.Second, true},
		{"P1D", 24 * time.Hour, true},
		{" PT20S ", 20 * time.Second, true},
		{"PT", 0, true},
		{"", 0, false},
		{"60", 0, false},
		{"P1Y", 0, false},
		{"PT5", 0, false},
		{"PTS", 0, false},
		{"P5S", 0, false},   // S needs the T
		{"PT5D", 0, false},  // D must come before T
		{"PTT5S", 0, false}, // second T
		{"PT1.2.3S", 0, false},
		{"PT9999999S", 0, false},
	} {
		got, err := parseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"PT60S", "P1DT2H3M4.5S", "PT", "P"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := parseDuration(s); err == nil && d < 0 {
			t.Fatalf("%q: negative %v", s, d)
		}
	})
}

// TestParseMasterzenRequests parses the requests masterzen/winrm builds, so
// the server reads what that client really sends.
func TestParseMasterzenRequests(t *testing.T) {
	p := winrm.NewParameters("PT7S", "en-US", 153600)
	const url, shellID, cmdID = "http://h:5985/wsman", "SHELL-1", "CMD-1"
	parse := func(t *testing.T, s string) *request {
		t.Helper()
		r, err := parseRequest([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		if r.Header.ResourceURI != resourceCmd || !strings.HasPrefix(r.Header.MessageID, "uuid:") || r.Header.OperationTimeout != "PT7S" {
			t.Fatalf("header %+v", r.Header)
		}
		return r
	}
	t.Run("create", func(t *testing.T) {
		r := parse(t, winrm.NewOpenShellRequest(url, p).String())
		if r.Header.Action != actionCreate || r.Body.Shell == nil || r.maxEnvelope() != 153600 {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("command", func(t *testing.T) {
		r := parse(t, winrm.NewExecuteCommandRequest(url, shellID, `echo "<&>" 'x'`, []string{"a", "b c"}, p).String())
		cl := r.Body.CommandLine
		if r.Header.Action != actionCommand || r.selector("ShellId") != shellID || cl == nil ||
			cl.Command != `echo "<&>" 'x'` || strings.Join(cl.Arguments, "|") != "a|b c" {
			t.Fatalf("%+v %+v", r.Header, cl)
		}
	})
	t.Run("receive", func(t *testing.T) {
		r := parse(t, winrm.NewGetOutputRequest(url, shellID, cmdID, "stdout stderr", p).String())
		if r.Header.Action != actionReceive || r.Body.Receive == nil || r.Body.Receive.DesiredStream.CommandID != cmdID {
			t.Fatalf("%+v", r.Body.Receive)
		}
	})
	t.Run("send", func(t *testing.T) {
		r := parse(t, winrm.NewSendInputRequest(url, shellID, cmdID, []byte("in\x00put"), true, p).String())
		st := r.Body.Send.Streams
		if len(st) != 1 || st[0].Name != "stdin" || st[0].CommandID != cmdID || st[0].End != "true" {
			t.Fatalf("%+v", st)
		}
		if d, _ := base64.StdEncoding.DecodeString(st[0].Data); string(d) != "in\x00put" {
			t.Fatalf("data %q", d)
		}
	})
	t.Run("signal", func(t *testing.T) {
		r := parse(t, winrm.NewSignalRequest(url, shellID, cmdID, p).String())
		if r.Header.Action != actionSignal || r.Body.Signal.CommandID != cmdID || r.Body.Signal.Code != signalTerminate {
			t.Fatalf("%+v", r.Body.Signal)
		}
	})
	t.Run("delete", func(t *testing.T) {
		r := parse(t, winrm.NewDeleteShellRequest(url, shellID, p).String())
		if r.Header.Action != actionDelete || r.selector("ShellId") != shellID {
			t.Fatalf("%+v", r.Header)
		}
	})
}

func FuzzParseRequest(f *testing.F) {
	p := winrm.NewParameters("PT7S", "en-US", 153600)
	f.Add([]byte(winrm.NewOpenShellRequest("http://h/wsman", p).String()))
	f.Add([]byte(winrm.NewSendInputRequest("http://h/wsman", "S", "C", []byte("x"), true, p).String()))
	f.Add([]byte("<Envelope/>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := parseRequest(b); err == nil {
			_ = r.selector("ShellId")
			_ = r.maxEnvelope()
		}
	})
}

// TestReplyGolden pins the server's replies (go test -run Golden -update
// rewrites testdata/) and checks masterzen's parsers read them.
func TestReplyGolden(t *testing.T) {
	const rel = "uuid:11111111-2222-3333-4444-555555555555"
	const mid = "uuid:AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE"
	cases := []struct {
		name  string
		reply []byte
		check func(t *testing.T, s string)
	}{
		{"create", envelope(actionCreate+"Response", rel, mid, createBody("https://127.0.0.1:5986/wsman", "SHELL-1", "arcfleet", "stdin", "stdout stderr")),
			func(t *testing.T, s string) {
				if id, err := winrm.ParseOpenShellResponse(s); err != nil || id != "SHELL-1" {
					t.Fatalf("ShellId %q %v", id, err)
				}
			}},
		{"command", envelope(actionCommand+"Response", rel, mid, commandBody("CMD-1")),
			func(t *testing.T, s string) {
				if id, err := winrm.ParseExecuteCommandResponse(s); err != nil || id != "CMD-1" {
					t.Fatalf("CommandId %q %v", id, err)
				}
			}},
		{"receive-running", envelope(actionReceive+"Response", rel, mid, receiveBody("CMD-1", chunk{stdout: []byte("out<&>\n")})),
			func(t *testing.T, s string) {
				var o, e bytes.Buffer
				done, _, err := winrm.ParseSlurpOutputErrResponse(s, &o, &e)
				if err != nil || done || o.String() != "out<&>\n" || e.Len() != 0 {
					t.Fatalf("done %v out %q err %q %v", done, o.String(), e.String(), err)
				}
			}},
		{"receive-done", envelope(actionReceive+"Response", rel, mid, receiveBody("CMD-1", chunk{stderr: []byte("oops\n"), done: true, exitCode: 7})),
			func(t *testing.T, s string) {
				var o, e bytes.Buffer
				done, code, err := winrm.ParseSlurpOutputErrResponse(s, &o, &e)
				if err != nil || !done || code != 7 || e.String() != "oops\n" {
					t.Fatalf("done %v code %d err %q %v", done, code, e.String(), err)
				}
			}},
		{"signal", envelope(actionSignal+"Response", rel, mid, signalBody()),
			func(t *testing.T, s string) {
				if !strings.Contains(s, "<a:RelatesTo>"+rel+"</a:RelatesTo>") {
					t.Fatal("no RelatesTo")
				}
			}},
		{"fault-operation-timeout", envelope(actionFault, rel, mid, faultOperationTimeout.body()),
			func(t *testing.T, s string) {
				if !strings.Contains(s, "OperationTimeout") || !strings.Contains(s, `Code="2150858793"`) {
					t.Fatal("masterzen keys on the word OperationTimeout, pywinrm on the code")
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", tc.name+".xml")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, tc.reply, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run Golden -update)", err)
			}
			if !bytes.Equal(tc.reply, want) {
				t.Fatalf("reply differs from %s:\n got %s\nwant %s", path, tc.reply, want)
			}
			tc.check(t, string(tc.reply))
		})
	}
}
