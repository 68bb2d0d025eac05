package results

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestCatalogEntriesComplete(t *testing.T) {
	cat := Catalog()
	if len(cat) < 100 {
		t.Fatalf("catalog has %d entries, want the seed's, agent-facts' and arcfleet's (>= 100)", len(cat))
	}
	for _, e := range cat {
		if !ValidClass(e.Class) {
			t.Errorf("%s: invalid class %q", e.Code, e.Class)
		}
		for _, lang := range Languages {
			title, cause, remedy := e.Text(lang)
			if strings.TrimSpace(title) == "" || strings.TrimSpace(cause) == "" || strings.TrimSpace(remedy) == "" {
				t.Errorf("%s (%s): empty title, cause or remedy: %q / %q / %q", e.Code, lang, title, cause, remedy)
			}
		}
		// Swedish text must really be Swedish, not a copy of the English.
		_, enC, enR := e.Text("en")
		_, svC, svR := e.Text("sv")
		if enC == svC || enR == svR {
			t.Errorf("%s: Swedish cause or remedy equals the English one", e.Code)
		}
		got, ok := Lookup(e.Code)
		if !ok || got.Code != e.Code {
			t.Errorf("Lookup(%q) = %q, %v", e.Code, got.Code, ok)
		}
		if !slices.Contains(remedies, e.Action) || !slices.Contains(remedies, e.IfCreated) {
			t.Errorf("%s: unknown remedy %q / %q", e.Code, e.Action, e.IfCreated)
		}
		for _, lang := range Languages {
			if e.RemedyText(lang) == "" {
				t.Errorf("%s: no remedy text in %s", e.Code, lang)
			}
		}
	}
}

// The seed's codes and agent-facts' newer codes must all be there.
func TestCatalogCoversSources(t *testing.T) {
	seed := "0000 0001 0011 0012 0013 0014 0015 0016 0017 0018 0041 0042 0043 0044 0061 0062 0063 0064 0065 0066 0067 0068 0081 0101 0102 0103 0104"
	facts := "0002 0003 0004 0005 0006 0019 0020 0023 0026 0027 0028 0045 0069 0070 0072 0073 0074 0075 0082 0083 0105 0106 0107 0108"
	for _, n := range strings.Fields(seed + " " + facts) {
		if _, ok := Lookup("AZCM" + n); !ok {
			t.Errorf("AZCM%s missing", n)
		}
	}
	for n := 127; n <= 160; n++ {
		if _, ok := Lookup(strconv.Itoa(n)); !ok {
			t.Errorf("installer code %d has no entry", n)
		}
	}
	keys := []string{
		"MSG-DEVICE-CODE-UNREACHABLE", "MSG-DEVICE-CODE-FORBIDDEN", "MSG-GPO-PROFILE-DELETED", "MSG-SPN-TOKEN-FORBIDDEN",
		"MSG-INVALID-CLIENT-SECRET", "MSG-APP-NOT-FOUND", "MSG-MISSING-ROLE", "MSG-PROVIDER-NOT-REGISTERED", "MSG-ARM-FORBIDDEN",
		"ARM-AUTHORIZATION-FAILED", "ARM-MISSING-SUBSCRIPTION-REGISTRATION", "ARM-THROTTLED",
		"AADSTS7000215", "AADSTS700016", "AADSTS90002", "AADSTS7000222",
		"HOST-AGENT-MISSING", "HOST-SUDO-PASSWORD", "HOST-MKTEMP-FAILED", "HOST-CONFIG-WRITE-FAILED",
		"EXIT-KILLED", "EXIT-UNKNOWN",
	}
	for _, k := range transportCodes {
		keys = append(keys, k)
	}
	for _, k := range scriptErrors {
		keys = append(keys, k)
	}
	for _, p := range msgPatterns {
		keys = append(keys, p.key)
	}
	for _, k := range keys {
		if _, ok := Lookup(k); !ok {
			t.Errorf("%s has no entry", k)
		}
	}
}

func TestClassOf(t *testing.T) {
	tests := []struct {
		code string
		want Class
	}{
		{"AZCM0000", ClassSuccess},
		{"AZCM0001", ClassSupport},
		{"AZCM0011", ClassTransient},
		{"AZCM0013", ClassInput},
		{"AZCM0018", ClassHost},
		{"AZCM0026", ClassTransient},
		{"AZCM0043", ClassAction},
		{"AZCM0044", ClassAction},
		{"AZCM0061", ClassService},
		{"AZCM0064", ClassService},
		{"AZCM0067", ClassAction},
		{"AZCM0068", ClassInput},
		{"AZCM0081", ClassAction},
		{"AZCM0103", ClassSupport},
		{"AZCM0145", ClassTransient},
		{"AZCM0159", ClassTransient},
		{"AZCM0128", ClassHost}, // inside the Linux installer range
		// The shared-credential class: what fails every host using one service principal.
		{"AZCM0041", ClassCredential},
		{"AZCM0012", ClassCredential},
		{"AZCM0042", ClassCredential},
		{"ARM-AUTHORIZATION-FAILED", ClassCredential},
		{"MSG-PROVIDER-NOT-REGISTERED", ClassCredential},
		{"ARM-MISSING-SUBSCRIPTION-REGISTRATION", ClassCredential},
		{"MSG-INVALID-CLIENT-SECRET", ClassCredential},
		{"AADSTS7000215", ClassCredential},
		{"MSG-APP-NOT-FOUND", ClassCredential},
		{"MSG-MISSING-ROLE", ClassCredential},
		{"MSG-GPO-PROFILE-DELETED", ClassAction},
		{"ARM-THROTTLED", ClassTransient},
		{"TRANSPORT-AUTH", ClassTransport},
		{"AZCM9999", ""},
		{"AZCM0007", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := ClassOf(tt.code); got != tt.want {
			t.Errorf("ClassOf(%q) = %q, want %q", tt.code, got, tt.want)
		}
	}
	if e, _ := Lookup("MSG-GPO-PROFILE-DELETED"); e.Action != "reconnect" {
		t.Errorf("GPO profile deletion: action %q, want reconnect (disconnect then connect)", e.Action)
	}
}

func TestLookupSpellings(t *testing.T) {
	tests := []struct{ in, want string }{
		{"AZCM0041", "AZCM0041"},
		{"azcm0041", "AZCM0041"},
		{"azcm41", "AZCM0041"},
		{"41", "AZCM0041"},
		{" 0044 ", "AZCM0044"},
		{"transport-auth", "TRANSPORT-AUTH"},
		{"aadsts7000215", "AADSTS7000215"},
		{"AZCM0133", "AZCM0133"},
		{"AZCM0135", "AZCM0135"}, // from the range entry, under its own code
	}
	for _, tt := range tests {
		e, ok := Lookup(tt.in)
		if !ok || e.Code != tt.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", tt.in, e.Code, ok, tt.want)
		}
	}
	for _, bad := range []string{"", "AZCM", "AZCM12345", "AZCM0007", "hello", "-1", "AZCM-0041"} {
		if e, ok := Lookup(bad); ok {
			t.Errorf("Lookup(%q) = %q, want no entry", bad, e.Code)
		}
	}
	r, _ := Lookup("AZCM0135")
	if title, _, _ := r.Text("sv"); !strings.Contains(title, "Linux") {
		t.Errorf("AZCM0135 should use the Linux installer range entry, got %q", title)
	}
}

func TestCatalogIsACopy(t *testing.T) {
	c := Catalog()
	c[0].Class = "tampered"
	if Catalog()[0].Class == "tampered" {
		t.Fatal("Catalog returned the package's own slice")
	}
}

// The remedy arcfleet applies follows from the class: what a class promises
// (ClassText) is what the catalog's remedies do.
func TestCatalogRemedyFollowsClass(t *testing.T) {
	for _, e := range Catalog() {
		var want []Remedy
		switch e.Class {
		case ClassTransient:
			want = []Remedy{RemedyRetry}
			if e.Kind() == "arcfleet" {
				// The executor's own outcomes (deadline, interrupt) end a run's
				// host; resume, not the retry policy, continues it.
				want = []Remedy{RemedyNone}
			}
		case ClassService:
			want = []Remedy{RemedyRestartService}
		case ClassAction:
			want = remedies
		case ClassTransport:
			want = []Remedy{RemedyNone, RemedyRetry}
		default: // success, credential, input, host, support: nothing arcfleet can do helps
			want = []Remedy{RemedyNone}
		}
		if !slices.Contains(want, e.Action) {
			t.Errorf("%s (class %s): remedy %s, want one of %v", e.Code, e.Class, e.Action, want)
		}
		if e.IfCreated != RemedyNone && e.Class != ClassAction {
			t.Errorf("%s (class %s): a remedy for a created resource outside the action class", e.Code, e.Class)
		}
	}
}

func TestRemedyOf(t *testing.T) {
	tests := []struct {
		code    string
		created bool
		want    Remedy
	}{
		{"AZCM0011", false, RemedyRetry},
		{"AZCM0064", false, RemedyRestartService},
		{"AZCM0067", false, RemedyReconnect},
		{"AZCM0062", false, RemedyRetry},
		{"AZCM0062", true, RemedyReconnect},
		{"AZCM0041", true, RemedyNone},
		{"AZCM0128", false, RemedyNone}, // inside the Linux installer range
		{"TRANSPORT-UNREACHABLE", false, RemedyRetry},
		{"TRANSPORT-AUTH", false, RemedyNone},
		{"NO-SUCH-CODE", false, RemedyNone},
	}
	for _, tt := range tests {
		if got := RemedyOf(tt.code, tt.created); got != tt.want {
			t.Errorf("RemedyOf(%s, %v) = %s, want %s", tt.code, tt.created, got, tt.want)
		}
	}
	for _, r := range Remedies() {
		if got, ok := ParseRemedy(r.String()); !ok || got != r {
			t.Errorf("ParseRemedy(%q) = %q, %v", r.String(), got, ok)
		}
	}
	for _, bad := range []string{"", "restart", "Retry"} {
		if _, ok := ParseRemedy(bad); ok {
			t.Errorf("ParseRemedy(%q) accepted", bad)
		}
	}
	e, _ := Lookup("AZCM0062")
	if en := e.RemedyText("en"); !strings.Contains(en, "retry") || !strings.Contains(en, "reconnect") {
		t.Errorf("AZCM0062 remedy text %q names not both remedies", en)
	}
}
