package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseTags(t *testing.T) {
	tests := []struct {
		in      string
		want    []tag
		wantErr string
	}{
		{"", nil, ""},
		{"a=b", []tag{{"a", "b"}}, ""},
		{"Env=Prod,Owner=ops", []tag{{"Env", "Prod"}, {"Owner", "ops"}}, ""},
		{"SingleName='Value with spaces',Location=Redmond", []tag{{"SingleName", "Value with spaces"}, {"Location", "Redmond"}}, ""},
		{"'Cost Center'='a, b'", []tag{{"Cost Center", "a, b"}}, ""},
		{"Empty=", []tag{{"Empty", ""}}, ""},
		{"Eq='x=y'", []tag{{"Eq", "x=y"}}, ""},
		{"Stadt=Göteborg", []tag{{"Stadt", "Göteborg"}}, ""},
		{"a=b c", nil, "single quotes"},
		{"a", nil, "has no value"},
		{"a='b", nil, "not closed"},
		{"a='b'c", nil, "text follows"},
		{"a=b,", nil, "trailing comma"},
		{"=b", nil, "empty name"},
		{"a=b,A=c", nil, "twice"},
		{"a=x=y", nil, "holds '='"},
		{"a/b=c", nil, "Azure refuses"},
		{"a=it's", nil, "single quote may only start"},
		{"a=" + strings.Repeat("v", 257), nil, "longer than 256"},
		{strings.Repeat("n", 513) + "=v", nil, "longer than 512"},
	}
	for _, tt := range tests {
		got, err := parseTags(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseTags(%q): want error containing %q, got %v (%v)", tt.in, tt.wantErr, err, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseTags(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	var many []string
	for i := 0; i < 51; i++ {
		many = append(many, "t"+strings.Repeat("x", i)+"=v")
	}
	if _, err := parseTags(strings.Join(many, ",")); err == nil || !strings.Contains(err.Error(), "at most 50") {
		t.Errorf("51 tags: want the 50-tag limit, got %v", err)
	}
}

// FuzzParseTags: no panic, and whatever parses survives format -> parse unchanged.
func FuzzParseTags(f *testing.F) {
	for _, s := range []string{"a=b", "SingleName='Value with spaces',Location=Redmond", "'a b'='c,d'", "x=", "a=b,", "'", "a='b'c", "Ö=ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tags, err := parseTags(s)
		if err != nil {
			return
		}
		m := map[string]string{}
		for _, tg := range tags {
			m[tg.name] = tg.value
		}
		again, err := parseTags(formatTags(m))
		if err != nil {
			t.Fatalf("formatTags(%v) = %q does not parse: %v", m, formatTags(m), err)
		}
		if len(again) != len(tags) {
			t.Fatalf("round trip of %q changed the tag count: %v vs %v", s, tags, again)
		}
		for _, tg := range again {
			if m[tg.name] != tg.value {
				t.Fatalf("round trip of %q changed tag %q: %q vs %q", s, tg.name, m[tg.name], tg.value)
			}
		}
	})
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    map[string]string
		wantErr string
	}{
		{"long with space", []string{"connect", "--location", "westeurope"}, map[string]string{"location": "westeurope"}, ""},
		{"long with =", []string{"connect", "--location=westeurope"}, map[string]string{"location": "westeurope"}, ""},
		{"short", []string{"connect", "-l", "westeurope", "-g", "rg"}, map[string]string{"location": "westeurope", "resource-group": "rg"}, ""},
		{"short with =", []string{"connect", "-l=westeurope"}, map[string]string{"location": "westeurope"}, ""},
		{"short glued", []string{"connect", "-lwesteurope"}, map[string]string{"location": "westeurope"}, ""},
		{"bools", []string{"show", "--json", "-v"}, map[string]string{"json": "true", "verbose": "true"}, ""},
		{"grouped bools", []string{"disconnect", "-fj"}, map[string]string{"force-local-only": "true", "json": "true"}, ""},
		{"bool false", []string{"show", "--json=false"}, map[string]string{"json": "false"}, ""},
		{"value starting with dash", []string{"connect", "--tags", "-x=1"}, map[string]string{"tags": "-x=1"}, ""},
		{"unknown command", []string{"frob"}, nil, `unknown command "frob"`},
		{"no command", nil, nil, "no command"},
		{"flag first", []string{"--json"}, nil, "command must come first"},
		{"unknown flag", []string{"connect", "--frob"}, nil, "unknown flag: --frob"},
		{"flag of another command", []string{"connect", "--force-local-only"}, nil, "unknown flag: --force-local-only"},
		{"unknown short", []string{"show", "-q"}, nil, "unknown shorthand flag"},
		{"missing value", []string{"connect", "--location"}, nil, "needs an argument"},
		{"bad bool", []string{"show", "--json=maybe"}, nil, "true or false"},
		{"positional", []string{"connect", "extra"}, nil, "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := parseArgs(tt.args)
			if tt.wantErr != "" {
				if err == nil || err.code != 101 || !strings.Contains(err.detail, tt.wantErr) {
					t.Fatalf("want AZCM0101 containing %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if !reflect.DeepEqual(in.vals, tt.want) {
				t.Fatalf("vals = %v, want %v", in.vals, tt.want)
			}
		})
	}
}

// TestParseArgsNeverEchoesValues: a secret placed where a flag or argument is
// expected does not come back in the error text.
func TestParseArgsNeverEchoesValues(t *testing.T) {
	for _, args := range [][]string{
		{"connect", sentinel},
		{"connect", "-p", sentinel, sentinel},
		{"connect", "--frob=" + sentinel},
		{"show", "--json=" + sentinel},
	} {
		_, err := parseArgs(args)
		if err == nil {
			t.Fatalf("%v: want an error", args)
		}
		if strings.Contains(err.Error(), sentinel) {
			t.Errorf("%v: error echoes the secret: %v", args, err)
		}
	}
}

func FuzzParseArgs(f *testing.F) {
	f.Add("connect\x00-l\x00westeurope\x00-jv")
	f.Add("disconnect\x00-fp=x")
	f.Add("show\x00--json=false\x00--")
	f.Fuzz(func(t *testing.T, joined string) {
		in, err := parseArgs(strings.Split(joined, "\x00"))
		if err == nil && in == nil {
			t.Fatal("nil invocation without error")
		}
		if err != nil && err.code != 101 {
			t.Fatalf("parse errors are AZCM0101, got %d", err.code)
		}
	})
}

func TestValidators(t *testing.T) {
	guids := map[string]bool{
		"11111111-2222-3333-4444-555555555555": true, "AAAAAAAA-bbbb-CCCC-dddd-eeeeeeeeeeee": true,
		"{11111111-2222-3333-4444-555555555555}": false, "11111111222233334444555555555555": false,
		"1111111-22222-3333-4444-555555555555": false, "g1111111-2222-3333-4444-555555555555": false, "": false,
	}
	for s, want := range guids {
		if got := isGUID(s); got != want {
			t.Errorf("isGUID(%q) = %v", s, got)
		}
	}
	names := map[string]bool{"web01": true, "Web_01-a": true, "a": true, "web-": false, "web_": false,
		"web.local": false, "": false, "wéb": false, strings.Repeat("a", 54): true, strings.Repeat("a", 55): false}
	for n, want := range names {
		if got := checkResourceName(n) == nil; got != want {
			t.Errorf("checkResourceName(%q) ok=%v, want %v", n, got, want)
		}
	}
	regions := []struct {
		loc, cloud, norm string
		ok               bool
	}{
		{"westeurope", "AzureCloud", "westeurope", true},
		{"West Europe", "AzureCloud", "westeurope", true},
		{"SwedenCentral", "AzureCloud", "swedencentral", true},
		{"usgovvirginia", "AzureCloud", "usgovvirginia", false},
		{"usgovvirginia", "AzureUSGovernment", "usgovvirginia", true},
		{"mars", "AzureCloud", "mars", false},
	}
	for _, r := range regions {
		if n, ok := normalizeRegion(r.loc, r.cloud); n != r.norm || ok != r.ok {
			t.Errorf("normalizeRegion(%q, %q) = %q, %v", r.loc, r.cloud, n, ok)
		}
	}
	for in, want := range map[string]string{"": "AzureCloud", "azureusgovernment": "AzureUSGovernment", "AzureChinaCloud": "AzureChinaCloud", "AzureGermanCloud": ""} {
		got, ok := canonicalCloud(in)
		if (want == "") == ok || (ok && got != want) {
			t.Errorf("canonicalCloud(%q) = %q, %v", in, got, ok)
		}
	}
	codes := map[string]int{"AZCM0041": 41, "azcm0067": 67, "101": 101, "AZCM0000": 0}
	for s, want := range codes {
		if got, err := parseCode(s); err != nil || got != want {
			t.Errorf("parseCode(%q) = %d, %v", s, got, err)
		}
	}
	for _, s := range []string{"AZCM", "AZCM0300", "-1", "x41", "AZCM+41"} {
		if _, err := parseCode(s); err == nil {
			t.Errorf("parseCode(%q): want an error", s)
		}
	}
	if !looksLikeJWT("eyJhbGciOi.eyJzdWIiOi.c2ln") || looksLikeJWT("not a token") || looksLikeJWT("a..c") {
		t.Error("looksLikeJWT misjudges")
	}
}

func TestScenarioOutcome(t *testing.T) {
	const y = `
default:
  slow: 50ms
hosts:
  web01:
    exit_code_prefix: true
    connect:
      code: AZCM0026
      fail_first: 2
      attempts:
        4: {hang: true}
  WEB02:
    show: {crash: true}
`
	h, err := parseScenario("fleet.yaml", []byte(y), "web01", true)
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]Outcome{
		1: {Code: 26, ExitCodePrefix: true},
		2: {Code: 26, ExitCodePrefix: true},
		3: {ExitCodePrefix: true},
		4: {Hang: true, ExitCodePrefix: true},
	} {
		if got := h.outcome("connect", n); got != want {
			t.Errorf("web01 connect attempt %d: %+v, want %+v", n, got, want)
		}
	}
	if h2, _ := parseScenario("fleet.yaml", []byte(y), "web02", true); !h2.outcome("show", 1).Crash {
		t.Error("host names should match case-insensitively")
	}
	if h3, _ := parseScenario("fleet.yaml", []byte(y), "db01", true); h3.outcome("connect", 1).Slow != duration(50e6) {
		t.Error("an unlisted host should get default:")
	}
}

func TestScenarioErrors(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"connect: {cod: AZCM0041}", "field cod not found"},
		{"connect: {code: AZCM0400}", "outside 0-255"},
		{"connect: {code: banana}", "not an AZCM code"},
		{"connect: {fail_first: 2}", "needs a code"},
		{"slow: fast", "not a duration"},
		{"accept_secret_sha256: abc", "64 hex digits"},
		{"initial: {status: Maybe}", "want Connected or Disconnected"},
		{"connect: {attempts: {0: {hang: true}}}", "start at 1"},
		{"throttled: {retry_after: 2s}", "times must be at least 1"},
		{"throttled: {times: 2}", "retry_after must be positive"},
		{"hosts: {a: {connect: {code: x}}}", "not an AZCM code"},
	}
	for _, tt := range tests {
		_, err := parseScenario("s.yaml", []byte(tt.yaml), "a", false)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "s.yaml") {
			t.Errorf("%q: want an error naming s.yaml and containing %q, got %v", tt.yaml, tt.want, err)
		}
	}
}

func FuzzParseScenario(f *testing.F) {
	f.Add("connect: {code: AZCM0041, fail_first: 1}")
	f.Add("default: {slow: 2s}\nhosts: {a: {hang: true}}")
	f.Add("attempts: [1]")
	f.Fuzz(func(t *testing.T, y string) {
		h, err := parseScenario("f.yaml", []byte(y), "a", false)
		if err == nil {
			h.outcome("connect", 1)
		}
	})
}

func TestMasker(t *testing.T) {
	m := &masker{}
	m.add("")
	m.add("abc") // too short to be a secret: masking it would mangle output
	m.add(sentinel)
	m.add("tok.en.value")
	for in, want := range map[string]string{
		"secret=" + sentinel + " and " + sentinel: "secret=*** and ***",
		"Bearer tok.en.value":                     "Bearer ***",
		"abc stays":                               "abc stays",
	} {
		if got := m.mask(in); got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
}
