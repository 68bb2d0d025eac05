package planner

import (
	"github.com/arcfleet/arcfleet/results"
)

// resultsOps is what the executor takes from package results. It is a seam so
// the engine's retry and fan-out logic can be unit-tested with a small fake
// classifier; the zero Executor uses the real one (defaultResultsOps).
type resultsOps struct {
	classify     func(results.Evidence) results.Diagnosis
	mask         func(s string, secrets []string) string
	writeReports func(dir string, r *results.Report) error
}
