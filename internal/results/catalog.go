package results

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Text is one language's wording of a knowledge-base entry.
type Text struct {
	Title  string `json:"title"`
	Cause  string `json:"cause"`
	Remedy string `json:"remedy"`
}

// Entry is one knowledge-base entry: an AZCM code ("AZCM0041"), a range of codes
// without entries of their own ("AZCM0127-AZCM0146", only in Catalog), or the key
// of a non-AZCM cause ("MSG-GPO-PROFILE-DELETED", "AADSTS7000215", "ARM-THROTTLED",
// "TRANSPORT-AUTH", "HOST-AGENT-MISSING", "EXIT-KILLED").
type Entry struct {
	Code  string
	Class Class
	// Action is what arcfleet does by itself after a failure with this code (the
	// executor's retry policy reads it through RemedyOf); RemedyNone when nothing
	// it can do helps. The inventory's retry.codes may replace it.
	Action Remedy
	// IfCreated, when set, replaces Action when Azure had already created the
	// machine resource before the failure (AZCM0062: remove it, then connect).
	IfCreated Remedy
	en, sv    Text
}

// Text returns the entry's wording in lang ("sv" for Swedish; anything else English).
func (e Entry) Text(lang string) (title, cause, remedy string) {
	t := e.en
	if lang == "sv" {
		t = e.sv
	}
	return t.Title, t.Cause, t.Remedy
}

// Kind says where a code comes from: "azcm" (the agent), "message" (an agent
// message without code), "arm" (Azure Resource Manager), "aad" (Microsoft Entra ID
// sign-in), "transport" (arcfleet could not reach or log in to the host), "script"
// (arcfleet's remote script), "exit" (an exit status that is no AZCM code),
// "arcfleet" (arcfleet's own checks and executor outcomes: ARCFnnnn, ARCF-...).
func (e Entry) Kind() string {
	switch {
	case strings.HasPrefix(e.Code, "AZCM"):
		return "azcm"
	case strings.HasPrefix(e.Code, "MSG-"):
		return "message"
	case strings.HasPrefix(e.Code, "ARM-"):
		return "arm"
	case strings.HasPrefix(e.Code, "AADSTS"):
		return "aad"
	case strings.HasPrefix(e.Code, "TRANSPORT-"):
		return "transport"
	case strings.HasPrefix(e.Code, "HOST-"):
		return "script"
	case strings.HasPrefix(e.Code, "ARCF"):
		return "arcfleet"
	}
	return "exit"
}

// Languages are the languages every entry is written in.
var Languages = []string{"en", "sv"}

// catalogIndex maps every key of the catalog (codes and range keys) to its
// position in catalog. Built once; read-only afterwards.
var catalogIndex = func() map[string]int {
	m := make(map[string]int, len(catalog))
	for i, e := range catalog {
		if _, dup := m[e.Code]; dup {
			panic("results: duplicate catalog code " + e.Code) // a programming error in catalog_data.go
		}
		if !ValidClass(e.Class) {
			panic("results: catalog code " + e.Code + " has no valid class") // likewise
		}
		m[e.Code] = i
	}
	return m
}()

// transportCodes is the one table from transport kinds (the strings of the
// transport package's Kind constants) to knowledge-base keys. results may not
// import transport, so the table is keyed by the strings; a test in
// internal/executor, which imports both, fails when a Kind has no entry here.
var transportCodes = map[string]string{
	"unreachable":      "TRANSPORT-UNREACHABLE",
	"auth":             "TRANSPORT-AUTH",
	"host-key-unknown": "TRANSPORT-HOST-KEY-UNKNOWN",
	"host-key-changed": "TRANSPORT-HOST-KEY-CHANGED",
	"tls":              "TRANSPORT-TLS",
	"lost":             "TRANSPORT-LOST",
	"timeout":          "TRANSPORT-TIMEOUT",
	"canceled":         "TRANSPORT-CANCELED",
	"protocol":         "TRANSPORT-PROTOCOL",
	"config":           "TRANSPORT-CONFIG",
}

// transportOther is the key of a transport kind the table does not know.
const transportOther = "TRANSPORT-OTHER"

// TransportCode returns the knowledge-base key of a transport kind ("auth" ->
// "TRANSPORT-AUTH"). For a kind without an entry it returns TRANSPORT-OTHER and false.
func TransportCode(kind string) (code string, ok bool) {
	if c, ok := transportCodes[kind]; ok {
		return c, true
	}
	return transportOther, false
}

// TransportKinds returns the transport kinds TransportCode knows, sorted.
func TransportKinds() []string { return slices.Sorted(maps.Keys(transportCodes)) }

// codeRange is a block of AZCM numbers described by one entry.
type codeRange struct {
	first, last int
	key         string
}

// catalogRanges are the range entries, parsed from their keys.
var catalogRanges = func() []codeRange {
	var rs []codeRange
	for _, e := range catalog {
		a, b, ok := strings.Cut(e.Code, "-")
		if !ok || !strings.HasPrefix(a, "AZCM") || !strings.HasPrefix(b, "AZCM") {
			continue
		}
		f, err1 := strconv.Atoi(a[4:])
		l, err2 := strconv.Atoi(b[4:])
		if err1 != nil || err2 != nil || f > l {
			panic("results: bad catalog range " + e.Code)
		}
		rs = append(rs, codeRange{f, l, e.Code})
	}
	return rs
}()

// NormalizeCode turns what a user may type ("azcm41", "41", "AZCM0041",
// "transport-auth") into the catalog's spelling ("AZCM0041", "TRANSPORT-AUTH").
// It does not check that the code exists.
func NormalizeCode(s string) string {
	t := strings.ToUpper(strings.TrimSpace(s))
	num := t
	if strings.HasPrefix(t, "AZCM") {
		num = t[4:]
	}
	if num != "" && len(num) <= 4 && strings.Trim(num, "0123456789") == "" {
		n, _ := strconv.Atoi(num)
		return fmt.Sprintf("AZCM%04d", n)
	}
	return t
}

// Lookup returns the entry for code (spellings as NormalizeCode accepts). An AZCM
// code inside a range entry gets that entry with Code set to the code itself.
func Lookup(code string) (Entry, bool) {
	c := NormalizeCode(code)
	if i, ok := catalogIndex[c]; ok {
		return catalog[i], true
	}
	if len(c) == 8 && strings.HasPrefix(c, "AZCM") {
		if n, err := strconv.Atoi(c[4:]); err == nil {
			for _, r := range catalogRanges {
				if n >= r.first && n <= r.last {
					e := catalog[catalogIndex[r.key]]
					e.Code = c
					return e, true
				}
			}
		}
	}
	return Entry{}, false
}

// ClassOf returns the class of code, or "" when the catalog has no entry for it.
func ClassOf(code string) Class {
	e, ok := Lookup(code)
	if !ok {
		return ""
	}
	return e.Class
}

// Catalog returns a copy of every entry: AZCM codes in numeric order (ranges at
// their first code), then the non-AZCM causes grouped by kind.
func Catalog() []Entry {
	out := slices.Clone(catalog)
	kindRank := map[string]int{"azcm": 0, "message": 1, "arm": 2, "aad": 3, "script": 4, "exit": 5, "transport": 6, "arcfleet": 7}
	slices.SortStableFunc(out, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(kindRank[a.Kind()], kindRank[b.Kind()]), strings.Compare(a.Code, b.Code))
	})
	return out
}

// ClassText says in lang what a class means and what arcfleet does about it.
func ClassText(c Class, lang string) string {
	t := map[Class][2]string{
		ClassSuccess:    {"success", "lyckat"},
		ClassTransient:  {"transient: arcfleet retries with backoff", "tillfälligt: arcfleet försöker igen med ökande väntetid"},
		ClassService:    {"agent service: arcfleet restarts the agent service, then retries", "agenttjänst: arcfleet startar om agenttjänsten och försöker sedan igen"},
		ClassAction:     {"action: a different step is needed (disconnect first, force-local-only, rename)", "åtgärd: ett annat steg behövs (koppla från först, force-local-only, byt namn)"},
		ClassCredential: {"shared credential: every host using it would fail; arcfleet stops starting them", "delad autentiseringsuppgift: alla värdar som använder den skulle misslyckas; arcfleet slutar starta dem"},
		ClassInput:      {"input: invalid parameters, never retried; fix the inventory", "indata: ogiltiga parametrar, försöks aldrig igen; rätta inventariet"},
		ClassHost:       {"host: a prerequisite of that host is missing", "värd: en förutsättning på den värden saknas"},
		ClassSupport:    {"support: escalate", "support: eskalera"},
		ClassTransport:  {"transport: arcfleet could not reach or log in to the host", "transport: arcfleet kunde inte nå eller logga in på värden"},
	}[c]
	if t[0] == "" {
		return string(c)
	}
	if lang == "sv" {
		return t[1]
	}
	return t[0]
}

// ClassLabel is c's name in lang: the identifier itself in English (as the
// JSON and CSV carry it), a word of the language otherwise; an unknown class
// is itself.
func ClassLabel(c Class, lang string) string {
	sv := map[Class]string{
		ClassSuccess:    "lyckat",
		ClassTransient:  "tillfälligt",
		ClassService:    "agenttjänst",
		ClassAction:     "åtgärd",
		ClassCredential: "autentiseringsuppgift",
		ClassInput:      "indata",
		ClassHost:       "värd",
		ClassSupport:    "support",
		ClassTransport:  "transport",
	}[c]
	if lang != "sv" || sv == "" {
		return string(c)
	}
	return sv
}

// ValidClass reports whether c is one of the classes above.
func ValidClass(c Class) bool {
	switch c {
	case ClassSuccess, ClassTransient, ClassService, ClassAction, ClassCredential,
		ClassInput, ClassHost, ClassSupport, ClassTransport:
		return true
	}
	return false
}
