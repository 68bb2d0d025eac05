package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/arcfleet/arcfleet/internal/results"

	"github.com/spf13/pflag"
)

const codesUsage = `Usage: arcfleet codes [CODE] [--lang en|sv] [--format text|json]

Explains an AZCM error code (AZCM0041, azcm41 or 41) or another cause arcfleet
reports (MSG-..., ARM-..., AADSTS..., TRANSPORT-..., HOST-..., EXIT-...): its
class, likely cause and fix, and what apply does by itself after a failure
with it (the knowledge base's remedy: none, retry, restart-agent-service or
reconnect; an inventory's retry.codes can change it). Without CODE, lists every
code arcfleet knows with its remedy.

Flags:
`

// codeJSON is one entry of `codes --format json`.
type codeJSON struct {
	Code   string         `json:"code"`
	Kind   string         `json:"kind"`
	Class  results.Class  `json:"class"`
	Action results.Remedy `json:"action,omitempty"` // what apply does after a failure with this code
	// IfCreated replaces Action when Azure had already created the machine resource.
	IfCreated results.Remedy `json:"action_if_created,omitempty"`
	Apply     string         `json:"apply"` // Action (and IfCreated) in words
	Lang      string         `json:"lang"`
	Title     string         `json:"title"`
	Cause     string         `json:"cause"`
	Remedy    string         `json:"remedy"`
}

// completeCodes offers the catalog's codes, each with its English title, for
// the one CODE argument.
func completeCodes(args []string, prefix string) []string {
	if len(args) > 0 {
		return nil
	}
	var out []string
	p := strings.ToUpper(prefix)
	for _, entry := range results.Catalog() {
		if strings.HasPrefix(entry.Code, p) {
			title, _, _ := entry.Text("en")
			out = append(out, entry.Code+"\t"+title)
		}
	}
	return out
}

func cmdCodes(e *env, fs *pflag.FlagSet) func(context.Context, []string) int {
	lang := fs.String("lang", "", "language of the text: en or sv (default from ARCFLEET_LANG or LANG, else en)")
	format := fs.String("format", "text", "output format: text or json")
	return func(ctx context.Context, pos []string) int {
		l, ok := pickLang(e, *lang)
		if !ok {
			fmt.Fprintf(e.stderr, "arcfleet codes: unknown language %q; use --lang en or --lang sv\n", *lang)
			return exitInvalid
		}
		if *format != "text" && *format != "json" {
			fmt.Fprintf(e.stderr, "arcfleet codes: unknown format %q; use --format text or --format json\n", *format)
			return exitInvalid
		}
		if len(pos) > 1 {
			fmt.Fprintln(e.stderr, "arcfleet codes: give at most one CODE (see --help)")
			return exitInvalid
		}

		if len(pos) == 1 {
			entry, ok := results.Lookup(pos[0])
			if !ok {
				fmt.Fprintf(e.stderr, "arcfleet codes: unknown code %q; run 'arcfleet codes' to list the codes arcfleet knows\n", pos[0])
				return exitInvalid
			}
			if *format == "json" {
				return writeJSON(e, toCodeJSON(entry, l))
			}
			title, cause, remedy := entry.Text(l)
			labels := codeLabels(l)
			fmt.Fprintf(e.stdout, "%s  %s\n%-9s %s\n%-9s %s\n%-9s %s\n%-9s %s\n", entry.Code, title,
				labels[0]+":", results.ClassText(entry.Class, l), labels[1]+":", cause, labels[2]+":", remedy,
				labels[5]+":", entry.RemedyText(l))
			return exitOK
		}

		cat := results.Catalog()
		if *format == "json" {
			out := make([]codeJSON, len(cat))
			for i, entry := range cat {
				out[i] = toCodeJSON(entry, l)
			}
			return writeJSON(e, out)
		}
		tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
		labels := codeLabels(l)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", strings.ToUpper(labels[3]), strings.ToUpper(labels[0]), strings.ToUpper(labels[6]), strings.ToUpper(labels[4]))
		for _, entry := range cat {
			title, _, _ := entry.Text(l)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", entry.Code, entry.Class, remedyShort(entry, l), title)
		}
		if err := tw.Flush(); err != nil {
			fmt.Fprintf(e.stderr, "arcfleet codes: %v\n", err)
			return exitInvalid
		}
		return exitOK
	}
}

// codeLabels are class, cause, fix, code, title, apply (what apply does), remedy in lang.
func codeLabels(lang string) [7]string {
	if lang == "sv" {
		return [7]string{"Klass", "Orsak", "Lösning", "Kod", "Titel", "Apply", "Åtgärd"}
	}
	return [7]string{"Class", "Cause", "Fix", "Code", "Title", "Apply", "Remedy"}
}

// remedyShort is an entry's remedy for the list: "retry", "none", or
// "retry (reconnect if created)".
func remedyShort(entry results.Entry, lang string) string {
	s := entry.Action.String()
	if entry.IfCreated != results.RemedyNone && entry.IfCreated != entry.Action {
		when := " if created"
		if lang == "sv" {
			when = " om skapad"
		}
		s += " (" + entry.IfCreated.String() + when + ")"
	}
	return s
}

func toCodeJSON(entry results.Entry, lang string) codeJSON {
	title, cause, remedy := entry.Text(lang)
	return codeJSON{Code: entry.Code, Kind: entry.Kind(), Class: entry.Class, Action: entry.Action, IfCreated: entry.IfCreated,
		Apply: entry.RemedyText(lang), Lang: lang, Title: title, Cause: cause, Remedy: remedy}
}

func writeJSON(e *env, v any) int {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(e.stderr, "arcfleet: writing JSON: %v\n", err)
		return exitInvalid
	}
	return exitOK
}

// pickLang is the --lang value, or when empty the language of the environment
// (ARCFLEET_LANG, LC_ALL, LC_MESSAGES, LANG: Swedish when it starts with "sv").
func pickLang(e *env, flagValue string) (string, bool) {
	switch flagValue {
	case "en", "sv":
		return flagValue, true
	case "":
	default:
		return "", false
	}
	for _, k := range []string{"ARCFLEET_LANG", "LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := e.getenv(k); v != "" {
			if strings.HasPrefix(strings.ToLower(v), "sv") {
				return "sv", true
			}
			return "en", true
		}
	}
	return "en", true
}
