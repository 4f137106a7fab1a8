package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Evidence is one evidence document read back, with the file it came
// from and that file's digest.
type Evidence struct {
	File   string
	SHA256 string
	doc    evidenceDoc
	// version is the file's formatVersion; doc is always the current one.
	version string
}

// CheckedAt is when the check that wrote the document ran.
func (e *Evidence) CheckedAt() time.Time { return e.doc.CheckedAt }

// MaxEvidenceSize bounds one evidence document.
const MaxEvidenceSize = 64 << 20

// ReadEvidence reads an evidence document written by
// `reachgate check --output evidence=FILE`. Errors name the file.
func ReadEvidence(file string, data []byte) (*Evidence, error) {
	if len(data) > MaxEvidenceSize {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d an evidence document may have", file, len(data), MaxEvidenceSize)
	}
	e := &Evidence{File: file}
	sum := sha256.Sum256(data)
	e.SHA256 = hex.EncodeToString(sum[:])
	var head struct {
		FormatVersion string `json:"formatVersion"`
	}
	if json.Unmarshal(data, &head) == nil && head.FormatVersion == "2" {
		up, err := upgradeEvidence2(data)
		if err != nil {
			return nil, fmt.Errorf("%s: formatVersion 2: %w", file, err)
		}
		data = up
	}
	e.version = head.FormatVersion
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e.doc); err != nil {
		return nil, fmt.Errorf("%s: not an evidence document: %w", file, err)
	}
	for i, o := range e.doc.Overlays {
		if o.Reachability == nil {
			continue
		}
		if err := o.Reachability.check(); err != nil {
			return nil, fmt.Errorf("%s: overlays[%d].reachability.%w", file, i, err)
		}
	}
	switch {
	case e.doc.Kind != "ReachgateEvidence":
		return nil, fmt.Errorf("%s: kind %q: want ReachgateEvidence (reachgate check --output evidence=FILE writes it)", file, e.doc.Kind)
	case e.doc.FormatVersion != FormatVersion:
		return nil, fmt.Errorf("%s: formatVersion %q: this reachgate reads %q", file, e.doc.FormatVersion, FormatVersion)
	case e.doc.CheckedAt.IsZero():
		return nil, fmt.Errorf("%s: checkedAt is missing", file)
	}
	for i, o := range e.doc.Overlays {
		if o.Name == "" {
			return nil, fmt.Errorf("%s: overlays[%d].name is missing", file, i)
		}
	}
	return e, nil
}

// upgradeEvidence2 rewrites an evidence document of formatVersion 2 as
// version 3. The two differ only in the matrices' allowances, which
// version 2 wrote out whole and version 3 as indices into tables of
// grants and rules: evidence is kept for audits, and a reachgate reads
// what the one before it wrote. The digest stays the file's.
func upgradeEvidence2(data []byte) ([]byte, error) {
	var doc map[string]json.RawMessage
	err := json.Unmarshal(data, &doc)
	if err != nil {
		return nil, fmt.Errorf("not an evidence document: %w", err)
	}
	var overlays []map[string]json.RawMessage
	if raw := doc["overlays"]; len(raw) > 0 {
		if err := json.Unmarshal(raw, &overlays); err != nil {
			return nil, fmt.Errorf("overlays: %w", err)
		}
	}
	for i, o := range overlays {
		raw := o["reachability"]
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("overlays[%d].reachability: %w", i, err)
		}
		var old []*jsonAllowance
		dec := json.NewDecoder(bytes.NewReader(m["allowances"]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&old); err != nil {
			return nil, fmt.Errorf("overlays[%d].reachability.allowances: %w", i, err)
		}
		all, used := make([]*model.Allowance, len(old)), make([]int32, len(old))
		for k, a := range old {
			if a == nil {
				return nil, fmt.Errorf("overlays[%d].reachability.allowances[%d]: null", i, k)
			}
			all[k], used[k] = a.model(), int32(k)
		}
		p := provenanceOf(all, used)
		for name, v := range map[string]any{"formatVersion": "3", "rules": p.Rules, "grants": p.Grants, "allowances": p.Allowances} {
			if m[name], err = json.Marshal(v); err != nil {
				return nil, err
			}
		}
		if o["reachability"], err = json.Marshal(m); err != nil {
			return nil, err
		}
	}
	if doc["overlays"], err = json.Marshal(overlays); err != nil {
		return nil, err
	}
	doc["formatVersion"] = json.RawMessage(`"3"`)
	return json.Marshal(doc)
}

type evidenceReportWriter func(io.Writer, *evidenceReport) error

var evidenceReportFormats = []format[evidenceReportWriter]{
	{"html", nil, writeEvidenceHTML},
	{"md", []string{"markdown"}, writeEvidenceMarkdown},
	{"predicate", nil, writeEvidencePredicate},
}

// EvidenceReportFormats lists the formats of `reachgate report`.
func EvidenceReportFormats() []string { return names(evidenceReportFormats) }

// WriteEvidenceReport writes the audit report of one or more evidence
// documents (for example a quarter's): per control the status per
// environment and the rules behind it, the waivers in force, the changes
// over the period, the reachability of each environment and the digest
// of every judged input. The predicate format takes one document.
func WriteEvidenceReport(w io.Writer, format string, docs []*Evidence) error {
	f, err := lookup("report", evidenceReportFormats, format)
	if err != nil {
		return err
	}
	if len(docs) == 0 {
		return fmt.Errorf("no evidence documents")
	}
	if format == "predicate" && len(docs) != 1 {
		return fmt.Errorf("the predicate describes one evidence document, not %d", len(docs))
	}
	return f(w, newEvidenceReport(docs))
}

// evidenceReport is what the report shows, computed once for every
// format.
type evidenceReport struct {
	docs       []*Evidence // oldest first
	latest     *Evidence
	from, to   time.Time
	repository string
	envs       []string // overlay names of the latest document, in its order
	controls   []controlRow
	waivers    []waiverRow
	changes    []changeRow
	matrices   map[string][]flowEntry // overlay -> flows of the latest document
	omitted    map[string]string
}

type controlRow struct {
	control string
	rules   []string
	results map[string]string // overlay -> latest result
	// failedRuns counts, per overlay, the documents of the period in
	// which the control's result was fail or error.
	failedRuns map[string]int
}

type waiverRow struct {
	rule, object, owner, reason, expires, overlays string
}

// changeRow is what changed between two consecutive documents.
type changeRow struct {
	at             time.Time
	commit         string
	overlay        string
	sign           string // + - ~
	src, dst, what string
}

type flowEntry struct {
	src, dst, ports, via string
}

func newEvidenceReport(docs []*Evidence) *evidenceReport {
	docs = slices.Clone(docs)
	slices.SortStableFunc(docs, func(a, b *Evidence) int { return a.doc.CheckedAt.Compare(b.doc.CheckedAt) })
	r := &evidenceReport{docs: docs, latest: docs[len(docs)-1], from: docs[0].doc.CheckedAt, to: docs[len(docs)-1].doc.CheckedAt,
		matrices: map[string][]flowEntry{}, omitted: map[string]string{}}
	for _, d := range docs {
		if d.doc.Repository != "" {
			r.repository = d.doc.Repository
		}
	}
	for _, o := range r.latest.doc.Overlays {
		r.envs = append(r.envs, o.Name)
	}
	// Controls: the latest document's, with how often each failed.
	for _, c := range r.latest.doc.Controls {
		row := controlRow{control: c.Control, rules: c.Rules, results: c.Results, failedRuns: map[string]int{}}
		for _, d := range docs {
			for _, dc := range d.doc.Controls {
				if dc.Control != c.Control {
					continue
				}
				for env, res := range dc.Results {
					if res == "fail" || res == "error" {
						row.failedRuns[env]++
					}
				}
			}
		}
		r.controls = append(r.controls, row)
	}
	// Waivers in force in the latest document, once per rule and object.
	seen := map[string]*waiverRow{}
	var order []string
	for _, o := range r.latest.doc.Overlays {
		for _, f := range o.Findings {
			if f.Waived == nil {
				continue
			}
			k := f.Waived.RuleID + "|" + f.Waived.Object
			if w, ok := seen[k]; ok {
				if !strings.Contains(w.overlays, o.Name) {
					w.overlays += ", " + o.Name
				}
				continue
			}
			seen[k] = &waiverRow{rule: f.Waived.RuleID, object: f.Waived.Object, owner: f.Waived.Owner, reason: f.Waived.Reason, expires: f.Waived.Expires, overlays: o.Name}
			order = append(order, k)
		}
	}
	for _, k := range order {
		r.waivers = append(r.waivers, *seen[k])
	}
	// Changes between consecutive documents, per overlay.
	for i := 1; i < len(docs); i++ {
		prev, cur := docs[i-1], docs[i]
		for _, o := range cur.doc.Overlays {
			before := flowsOf(prev, o.Name)
			after := flowsOf(cur, o.Name)
			if before == nil || after == nil {
				continue
			}
			for _, k := range slices.Sorted(maps.Keys(after)) {
				a := after[k]
				b, ok := before[k]
				switch {
				case !ok:
					r.changes = append(r.changes, changeRow{cur.doc.CheckedAt, cur.doc.Head.Commit, o.Name, "+", a.src, a.dst, a.ports})
				case b.ports != a.ports:
					r.changes = append(r.changes, changeRow{cur.doc.CheckedAt, cur.doc.Head.Commit, o.Name, "~", a.src, a.dst, b.ports + " → " + a.ports})
				}
			}
			for _, k := range slices.Sorted(maps.Keys(before)) {
				if _, ok := after[k]; !ok {
					b := before[k]
					r.changes = append(r.changes, changeRow{cur.doc.CheckedAt, cur.doc.Head.Commit, o.Name, "-", b.src, b.dst, b.ports})
				}
			}
		}
	}
	for _, o := range r.latest.doc.Overlays {
		if o.ReachabilityOmitted != "" {
			r.omitted[o.Name] = o.ReachabilityOmitted
		}
		r.matrices[o.Name] = groupExternal(flowsOf(r.latest, o.Name))
	}
	return r
}

// flowsOf is an overlay's reachability in a document by "src\x00dst";
// nil when the document has none for it.
func flowsOf(e *Evidence, overlay string) map[string]flowEntry {
	for _, o := range e.doc.Overlays {
		if o.Name != overlay || o.Reachability == nil {
			continue
		}
		m := o.Reachability
		out := map[string]flowEntry{}
		for _, f := range m.Flows {
			a := m.allowance(f.Allowance)
			ports, via := portsText(a), grantsText(a)
			for _, s := range f.Srcs {
				for _, d := range f.Dsts {
					src, dst := jsonPeerText(m.Peers[s]), jsonPeerText(m.Peers[d])
					out[src+"\x00"+dst] = flowEntry{src: src, dst: dst, ports: ports, via: via}
				}
			}
		}
		return out
	}
	return nil
}

// groupExternal lists flows sorted, with the ranges of one external
// endpoint that a workload reaches (or is reached from) the same way on
// one row: "internet (12 ranges)".
func groupExternal(fs map[string]flowEntry) []flowEntry {
	type key struct{ src, dst, ports, via string }
	var out []flowEntry
	at := map[key]int{}
	n := map[key]int{}
	name := func(s string) (string, bool) {
		if i := strings.IndexByte(s, '('); i > 0 && strings.HasSuffix(s, ")") && !strings.Contains(s[:i], "/") {
			return s[:i], true
		}
		return s, false
	}
	for _, k := range slices.Sorted(maps.Keys(fs)) {
		f := fs[k]
		src, srcExt := name(f.src)
		dst, dstExt := name(f.dst)
		if !srcExt && !dstExt {
			out = append(out, f)
			continue
		}
		kk := key{src, dst, f.ports, f.via}
		if i, ok := at[kk]; ok {
			n[kk]++
			g := &out[i]
			if srcExt {
				g.src = src + " (" + count(n[kk]) + " ranges)"
			} else {
				g.dst = dst + " (" + count(n[kk]) + " ranges)"
			}
			continue
		}
		at[kk], n[kk] = len(out), 1
		out = append(out, f)
	}
	return out
}

func jsonPeerText(p jsonPeer) string {
	switch {
	case p.IPRange != "" && p.External != "":
		return p.External + "(" + p.IPRange + ")"
	case p.IPRange != "":
		return p.IPRange
	}
	return p.Namespace + "/" + p.Name
}

func (r *evidenceReport) title() string {
	t := "Network segmentation audit report"
	if r.repository != "" {
		t += ": " + r.repository
	}
	return t
}

func (r *evidenceReport) period() string {
	return r.from.UTC().Format("2006-01-02 15:04 MST") + " to " + r.to.UTC().Format("2006-01-02 15:04 MST") +
		" (" + plural(len(r.docs), "evidence document", "evidence documents") + ")"
}

// resultText names a result for people.
func resultText(res string) string {
	switch res {
	case "pass":
		return "pass"
	case "warn":
		return "pass with warnings"
	case "waived":
		return "pass with exceptions"
	case "fail":
		return "FAIL"
	case "error":
		return "ERROR"
	case "":
		return "not evaluated"
	}
	return res
}
