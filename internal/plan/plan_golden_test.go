package plan

import (
	"flag"
	"testing"

	"github.com/arcfleet/arcfleet/testbed/golden"
)

// update rewrites golden files: go test ./internal/plan -run Golden -update
var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func checkGolden(t *testing.T, name string, got []byte) { golden.Check(t, *update, name, got) }
