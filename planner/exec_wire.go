package planner

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/arcfleet/arcfleet/results"
)

// defaultResultsOps wires the executor to package results.
// TODO(executor): switch to results.Classify, results.Mask and results.WriteReports
// once they land; until then a run without an injected classifier refuses to start.
func defaultResultsOps() *resultsOps {
	return &resultsOps{
		classify:     nil,
		mask:         maskValues,
		writeReports: writeReportJSON,
	}
}

func maskValues(s string, secrets []string) string {
	for _, v := range secrets {
		if v != "" {
			s = strings.ReplaceAll(s, v, "<masked>")
		}
	}
	return s
}

func writeReportJSON(dir string, r *results.Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}
