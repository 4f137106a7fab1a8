package report

import (
	"io"

	"github.com/reachgate/reachgate/pipeline/model"
)

type auditDoc struct {
	FormatVersion string   `json:"formatVersion"`
	Kind          string   `json:"kind"`
	Tool          jsonTool `json:"tool"`
	Drifted       bool     `json:"drifted"`
	*model.Audit
	Flows *jsonDiff `json:"flows"`
}

// writeAuditJSON writes the audit as a versioned document; flows as the
// diff format writes them (before: git, after: live).
func writeAuditJSON(w io.Writer, a *model.Audit, opts Options) error {
	d := a.Flows
	if d == nil {
		d = &model.Diff{}
	}
	return writeJSON(w, auditDoc{
		FormatVersion: FormatVersion, Kind: "ReachgateAudit", Tool: jsonTool{Name: "reachgate", Version: opts.Version},
		Drifted: a.Drifted(), Audit: a, Flows: toJSONDiff(d),
	})
}
