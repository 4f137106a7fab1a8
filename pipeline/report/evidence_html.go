package report

import (
	"html/template"
	"io"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// The audit report as one self-contained HTML page: no script, no
// request to anywhere (styles inline, links only within the page), and a
// print stylesheet so that "print to PDF" gives a document to file.
var evidenceHTML = template.Must(template.New("report").Funcs(template.FuncMap{
	"result": resultText,
	"class": func(res string) string {
		switch res {
		case "fail", "error":
			return "bad"
		case "warn", "waived":
			return "meh"
		case "pass":
			return "ok"
		}
		return ""
	},
	"short": shortCommit,
	"date":  func(t interface{ Format(string) string }) string { return t.Format("2006-01-02 15:04") },
	"join":  func(s []string) string { return strings.Join(s, ", ") },
	"ref":   refName,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; padding: 0 1rem; color: #1b1f24; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { border-bottom: 2px solid #d0d7de; padding-bottom: .2rem; margin-top: 2.2rem; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0 1rem; }
th, td { border: 1px solid #d0d7de; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
code { font: 12px ui-monospace, monospace; word-break: break-all; }
.ok { background: #dafbe1; } .meh { background: #fff8c5; } .bad { background: #ffebe9; font-weight: 600; }
.muted { color: #57606a; }
nav.toc { background: #f6f8fa; padding: .5rem 1rem; border-radius: 6px; }
nav.toc ul { margin: .2rem 0; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  nav.toc { display: none; }
  h2 { break-before: page; }
  h2.first { break-before: avoid; }
  tr, td, th { break-inside: avoid; }
  thead { display: table-header-group; }
  .ok, .meh, .bad { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
}
</style>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
<p class="muted">Period: {{.Period}}. Latest check: {{ref .Latest.Head}}{{if .Latest.Passed}}, passed{{else}}, <strong>failed</strong>{{end}} at severity {{.Latest.FailOn}}; rules from {{.Latest.RulesFrom}}.</p>
</header>
<nav class="toc" id="contents"><strong>Contents</strong>
<ul>
<li><a href="#controls">Controls</a></li>
<li><a href="#exceptions">Exceptions</a></li>
<li><a href="#changes">Changes over the period</a></li>
<li><a href="#reachability">Reachability per environment</a></li>
<li><a href="#digests">Evidence and digests</a></li>
</ul></nav>

<h2 id="controls" class="first">Controls</h2>
<p>Per control the rules mapped to it and their result per environment at the latest check; "failed runs" counts the checks of the period in which the control failed.</p>
<table id="controls-table">
<thead><tr><th>Control</th><th>Rules</th>{{range .Envs}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Controls}}<tr><td>{{.Control}}</td><td><code>{{join .Rules}}</code></td>{{$c := .}}{{range $.Envs}}{{$res := index $c.Results .}}<td class="{{class $res}}">{{result $res}}{{with index $c.FailedRuns .}}<br><span class="muted">failed runs: {{.}}</span>{{end}}</td>{{end}}</tr>
{{else}}<tr><td colspan="2">No rule maps to a control.</td></tr>
{{end}}</tbody>
</table>

<h2 id="exceptions">Exceptions</h2>
{{if .Waivers}}<table id="exceptions-table">
<thead><tr><th>Rule</th><th>Object</th><th>Owner</th><th>Reason</th><th>Expires</th><th>Environments</th></tr></thead>
<tbody>
{{range .Waivers}}<tr><td><code>{{.Rule}}</code></td><td><code>{{.Object}}</code></td><td>{{.Owner}}</td><td>{{.Reason}}</td><td>{{.Expires}}</td><td>{{.Overlays}}</td></tr>
{{end}}</tbody>
</table>{{else}}<p>No waiver was in force at the latest check.</p>{{end}}

<h2 id="changes">Changes over the period</h2>
{{if .Changes}}<table id="changes-table">
<thead><tr><th>Checked</th><th>Commit</th><th>Environment</th><th></th><th>Source</th><th>Destination</th><th>Ports</th></tr></thead>
<tbody>
{{range .Changes}}<tr><td>{{date .At}}</td><td><code>{{short .Commit}}</code></td><td>{{.Overlay}}</td><td>{{.Sign}}</td><td><code>{{.Src}}</code></td><td><code>{{.Dst}}</code></td><td>{{.What}}</td></tr>
{{end}}</tbody>
</table>{{else}}<p>No reachability changed between the checks of the period{{if eq (len .Docs) 1}} (one document: nothing to compare){{end}}.</p>{{end}}

<h2 id="reachability">Reachability per environment</h2>
{{range .Envs}}<h3>{{.}}</h3>
{{with index $.Omitted .}}<p class="muted">{{.}}</p>{{end}}{{with index $.Matrices .}}<table class="matrix">
<thead><tr><th>Source</th><th>Destination</th><th>Ports</th><th>Allowed by</th></tr></thead>
<tbody>
{{range .}}<tr><td><code>{{.Src}}</code></td><td><code>{{.Dst}}</code></td><td>{{.Ports}}</td><td><code>{{.Via}}</code></td></tr>
{{end}}</tbody>
</table>{{end}}
{{end}}

<h2 id="digests">Evidence and digests</h2>
<table id="digests-table">
<thead><tr><th>Checked</th><th>Document</th><th>Commit</th><th>Result</th><th>Inputs judged</th></tr></thead>
<tbody>
{{range .Docs}}<tr><td>{{date .CheckedAt}}</td><td><code>{{.File}}</code><br><code>sha256:{{.SHA256}}</code></td><td><code>{{ref .Head}}</code></td><td class="{{if .Passed}}ok{{else}}bad{{end}}">{{if .Passed}}passed{{else}}failed{{end}}</td><td>{{range .Overlays}}{{.Name}}: <code>{{.InputDigest}}</code><br>{{end}}</td></tr>
{{end}}</tbody>
</table>
<p class="muted">Verify a document's origin with <code>gh attestation verify FILE --repo {{if .Repository}}{{.Repository}}{{else}}OWNER/REPO{{end}}</code> (docs/audit.md).</p>
</body>
</html>
`))

func writeEvidenceHTML(w io.Writer, r *evidenceReport) error {
	type ctrl struct {
		Control    string
		Rules      []string
		Results    map[string]string
		FailedRuns map[string]int
	}
	type waiver struct{ Rule, Object, Owner, Reason, Expires, Overlays string }
	type change struct {
		At                                    interface{ Format(string) string }
		Commit, Overlay, Sign, Src, Dst, What string
	}
	type flow struct{ Src, Dst, Ports, Via string }
	data := struct {
		Title, Period, Repository string
		Latest                    evidenceDoc
		Envs                      []string
		Controls                  []ctrl
		Waivers                   []waiver
		Changes                   []change
		Matrices                  map[string][]flow
		Omitted                   map[string]string
		Docs                      []struct {
			File, SHA256 string
			CheckedAt    interface{ Format(string) string }
			Head         model.RefInfo
			Passed       bool
			Overlays     []evidenceOverlay
		}
	}{Title: r.title(), Period: r.period(), Repository: r.repository, Latest: r.latest.doc, Envs: r.envs, Matrices: map[string][]flow{}, Omitted: r.omitted}
	for _, c := range r.controls {
		data.Controls = append(data.Controls, ctrl{c.control, c.rules, c.results, c.failedRuns})
	}
	for _, wv := range r.waivers {
		data.Waivers = append(data.Waivers, waiver{wv.rule, wv.object, wv.owner, wv.reason, wv.expires, wv.overlays})
	}
	for _, c := range r.changes {
		data.Changes = append(data.Changes, change{c.at.UTC(), c.commit, c.overlay, c.sign, c.src, c.dst, c.what})
	}
	for env, fs := range r.matrices {
		for _, f := range fs {
			data.Matrices[env] = append(data.Matrices[env], flow{f.src, f.dst, f.ports, f.via})
		}
	}
	for _, d := range r.docs {
		data.Docs = append(data.Docs, struct {
			File, SHA256 string
			CheckedAt    interface{ Format(string) string }
			Head         model.RefInfo
			Passed       bool
			Overlays     []evidenceOverlay
		}{d.File, d.SHA256, d.doc.CheckedAt.UTC(), d.doc.Head, d.doc.Passed, d.doc.Overlays})
	}
	return evidenceHTML.Execute(w, data)
}
