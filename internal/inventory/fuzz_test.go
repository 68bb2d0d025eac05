package inventory

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: no input makes Parse (or what runs on its result) panic, every error
// carries the file name, and a parsed inventory is consistent. The seed corpus
// (examples, test inventories, testdata/fuzz/FuzzParse) runs in every go test.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"linux-fleet.yaml", "mixed-fleet.yaml", "gpo-reregistration/inventory.yaml"} {
		if b, err := os.ReadFile(filepath.Join("..", "..", "examples", p)); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{vbase, selSrc, hostOnly, "", "version: 1\nhosts: [{name: a, ssh: {via: a}}]\n",
		"version: 1\nx-a: &a {name: h}\nhosts: [*a, *a]\n", "version: 1\nhosts:\n  - name: a\n    ssh: *nope\n",
		"version: 1\ncredentials: {sp: {secret: hunter2}}\nhosts: [{name: a}]\n", "{", "- - -", "version: !!binary AA==\n",
		"version: 1\nhosts: [{name: a, tags: {\"\": x}}]\n",
		"version: 1\ncredentials: {sp: {auth: access-token, token_from: azure-cli, certificate: {file: c.pem}}}\nhosts: [{name: a, credential: sp}]\n", "version: 0x1\nhosts: [{name: a, port: 0o26}]\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := Parse("fuzz.yaml", data)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 || len(es) > maxErrors+1 {
				t.Fatalf("error %T with %d entries", err, len(es))
			}
			for _, e := range es {
				if !strings.HasPrefix(e.Error(), "fuzz.yaml") {
					t.Fatalf("error without file: %q", e.Error())
				}
			}
			return
		}
		if len(inv.Hosts) == 0 {
			t.Fatal("an inventory without hosts parsed")
		}
		for i := range inv.Hosts {
			h := &inv.Hosts[i]
			if h.Port < 1 || h.Port > 65535 || (h.Transport != "ssh" && h.Transport != "winrm") || (h.OS != "linux" && h.OS != "windows") {
				t.Fatalf("unresolved host %+v", h)
			}
			if inv.Host(h.Name) != h {
				t.Fatalf("Host(%q) lookup broken", h.Name)
			}
			_, _ = FormatAgentTags(h.Azure.Tags)
		}
		again, err := Parse("fuzz.yaml", data)
		if err != nil || again.Digest != inv.Digest {
			t.Fatalf("reparse: %v, digest %s vs %s", err, again.Digest, inv.Digest)
		}
		all, err := inv.Select("")
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []string{"connect", "disconnect"} {
			_ = Validate(inv, all, a)
		}
		_ = CheckSecretRefs(inv, all, func(string) (string, bool) { return "", false })
		_, _ = inv.Select(inv.Hosts[0].Name + ",!os:windows,group:x,tag:a=b,*")
	})
}
