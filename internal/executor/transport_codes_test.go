package executor

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/internal/transport/ssh"
)

// transportKindConsts returns every constant of type Kind the transport package
// declares, read from its source: a Kind added there without an entry in the
// knowledge base's table fails TestTransportKindsHaveCodes.
func transportKindConsts(t *testing.T) []transport.Kind {
	t.Helper()
	dir := filepath.Join("..", "transport")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("transport sources: %v", err)
	}
	var kinds []transport.Kind
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Kind" {
					continue
				}
				for i := range vs.Names {
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s: Kind constant %s is not a string literal", f, vs.Names[i].Name)
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					kinds = append(kinds, transport.Kind(v))
				}
			}
		}
	}
	return kinds
}

// Every transport Kind has its own knowledge-base entry (config included), and
// the table names no kind the transport package lacks.
func TestTransportKindsHaveCodes(t *testing.T) {
	kinds := transportKindConsts(t)
	// The parse must see the constants the compiler sees.
	for _, k := range []transport.Kind{transport.Unreachable, transport.AuthFailed, transport.HostKeyUnknown,
		transport.HostKeyChanged, transport.TLSFailed, transport.Lost, transport.Timeout, transport.Canceled,
		transport.Protocol, transport.Config} {
		if !slices.Contains(kinds, k) {
			t.Fatalf("source scan found %v, missing %q", kinds, k)
		}
	}
	for _, k := range kinds {
		code, ok := results.TransportCode(string(k))
		if !ok {
			t.Errorf("transport kind %q has no knowledge-base code (results.transportCodes)", k)
			continue
		}
		if e, found := results.Lookup(code); !found || e.Class != results.ClassTransport {
			t.Errorf("kind %q: code %s has no transport-class catalog entry", k, code)
		}
	}
	for _, k := range results.TransportKinds() {
		if !slices.Contains(kinds, transport.Kind(k)) {
			t.Errorf("results maps kind %q, which the transport package does not declare", k)
		}
	}
}

// TestJumpDepthAgreement: the inventory accepts no longer ssh.via chains than
// the SSH transport follows.
func TestJumpDepthAgreement(t *testing.T) {
	if inventory.MaxJumpDepth != ssh.MaxJumps {
		t.Errorf("inventory.MaxJumpDepth %d, ssh.MaxJumps %d: one must follow the other", inventory.MaxJumpDepth, ssh.MaxJumps)
	}
}

// TestFindingCodesInCatalog: every code the inventory's validation and the
// agent's command checks can give a host has an entry in the knowledge base,
// so `arcfleet codes` and the report explain it.
func TestFindingCodesInCatalog(t *testing.T) {
	codes := []string{agent.CodeCommandTooLong}
	for _, path := range []string{"../inventory/validate.go"} {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`= "(ARCF\d{4})"`).FindAllStringSubmatch(string(src), -1) {
			codes = append(codes, m[1])
		}
	}
	if len(codes) < 10 {
		t.Fatalf("found only %v: the test reads the wrong file", codes)
	}
	for _, c := range codes {
		if _, ok := results.Lookup(c); !ok {
			t.Errorf("%s has no entry in the results catalog", c)
		}
	}
}
