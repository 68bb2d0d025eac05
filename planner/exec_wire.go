package planner

import "github.com/arcfleet/arcfleet/results"

// defaultResultsOps wires the executor to package results.
func defaultResultsOps() *resultsOps {
	return &resultsOps{
		classify:     results.Classify,
		mask:         results.Mask,
		writeReports: results.WriteReports,
	}
}
