package run

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/reachgate/reachgate/pipeline/report"
)

// ReportParams are the options of `reachgate report`.
type ReportParams struct {
	Evidence []string
	Format   string
}

// Report turns evidence documents into an audit report a person can read
// (html, md) or into the predicate of their attestation.
func Report(p ReportParams, w io.Writer) error {
	format := formatOr(p.Format, "html")
	if !slices.Contains(report.EvidenceReportFormats(), format) && format != "markdown" {
		return inputError(fmt.Errorf("--format %q: want one of %s", format, joinNames(report.EvidenceReportFormats())))
	}
	if len(p.Evidence) == 0 {
		return inputError(errors.New("report needs --evidence FILE (written by reachgate check --output evidence=FILE)"))
	}
	if format == "predicate" && len(p.Evidence) != 1 {
		return inputError(fmt.Errorf("--format predicate describes one evidence document, not %d", len(p.Evidence)))
	}
	var docs []*report.Evidence
	var errs []error
	for _, f := range p.Evidence {
		st, err := os.Stat(f)
		if err == nil && st.Size() > report.MaxEvidenceSize {
			errs = append(errs, fmt.Errorf("%s: %d bytes, more than the %d an evidence document may have", f, st.Size(), report.MaxEvidenceSize))
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		e, err := report.ReadEvidence(f, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		docs = append(docs, e)
	}
	if len(errs) > 0 {
		return inputError(errors.Join(errs...))
	}
	return report.WriteEvidenceReport(w, format, docs)
}
