package report

import (
	"bufio"
	"html/template"
	"io"
	"iter"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// The HTML page is one file with no external script, style, font or
// image: a table of the matrix, and a filter box that hides the rows not
// matching every word typed. The filter is kept in the URL's fragment, so
// a link such as matrix.html#app/postgres opens filtered.
var matrixPage = template.Must(template.New("matrix").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem; color: #1f2328; }
h1 { font-size: 1.4rem; margin: 0 0 .5rem; }
p.meta { color: #59636e; margin: 0 0 1rem; }
input[type=search] { font: inherit; padding: .35rem .6rem; width: 28rem; max-width: 100%; border: 1px solid #d1d9e0; border-radius: 6px; }
table { border-collapse: collapse; margin-top: 1rem; width: 100%; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #d1d9e0; vertical-align: top; }
th { background: #f6f8fa; position: sticky; top: 0; }
td.peer { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; white-space: nowrap; }
td.ports { white-space: nowrap; }
td.rules { font-size: 12px; color: #59636e; }
tr.dep td.ports::after { content: " address-dependent"; color: #9a6700; font-size: 12px; }
tr[hidden] { display: none; }
.ns { color: #59636e; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{- range .Notes}}
<div class="warning" style="border-left: 4px solid #9a6700; background: #fff8c5; padding: .4rem .8rem; margin: 0 0 1rem;"><p>{{.Text}}</p><ul>{{range .Items}}<li><code>{{.}}</code></li>{{end}}</ul></div>
{{- end}}
<p class="meta">{{.Summary}}</p>
<label>Filter <input type="search" id="filter" placeholder="namespace, workload, port, policy…" autofocus></label>
<span id="shown">{{.Count}} of {{.Count}} connections</span>
<table id="matrix">
<thead><tr><th>Source</th><th>Destination</th><th>Ports</th><th>Egress rule</th><th>Ingress rule</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr{{if .AddressDependent}} class="dep"{{end}}><td class="peer">{{.Src}}</td><td class="peer">{{.Dst}}</td><td class="ports">{{.Ports}}{{if .MayDeny}} <span class="maydeny" style="color: #9a6700; font-size: 12px;">{{.MayDeny}}</span>{{end}}</td><td class="rules">{{range $i, $r := .Egress}}{{if $i}}<br>{{end}}{{$r}}{{end}}</td><td class="rules">{{range $i, $r := .Ingress}}{{if $i}}<br>{{end}}{{$r}}{{end}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if .Unmanaged}}
<h2>Not governed by NetworkPolicy</h2>
<ul>
{{- range .Unmanaged}}
<li><code>{{.Workload}}</code>: {{.Reason}}</li>
{{- end}}
</ul>
{{- end}}
<script>
(function () {
  var input = document.getElementById("filter");
  var rows = document.querySelectorAll("#matrix tbody tr");
  var shown = document.getElementById("shown");
  function apply() {
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var n = 0;
    rows.forEach(function (tr) {
      var text = tr.textContent.toLowerCase();
      var ok = words.every(function (w) { return text.indexOf(w) >= 0; });
      tr.hidden = !ok;
      if (ok) { n++; }
    });
    shown.textContent = n + " of " + rows.length + " connections";
  }
  input.addEventListener("input", function () {
    history.replaceState(null, "", input.value ? "#" + encodeURIComponent(input.value) : location.pathname);
    apply();
  });
  if (location.hash.length > 1) {
    input.value = decodeURIComponent(location.hash.slice(1));
    apply();
  }
})();
</script>
</body>
</html>
`))

type htmlRow struct {
	Src, Dst, Ports  string
	Egress, Ingress  []string
	AddressDependent bool
	MayDeny          string
}

type htmlNote struct {
	Text  string
	Items []string
}

type htmlUnmanaged struct{ Workload, Reason string }

// writeMatrixHTML writes a self-contained page with the matrix as a
// filterable table.
func writeMatrixHTML(w io.Writer, v *matrixView, opts MatrixOptions) error {
	// The rows are made as the template writes them: at 5,000 workloads
	// a page has four million, and holding them took gigabytes.
	data := struct {
		Title, Summary string
		Notes          []htmlNote
		Count          int
		Rows           iter.Seq[htmlRow]
		Unmanaged      []htmlUnmanaged
	}{Title: opts.Title, Count: v.n}
	warnPicture(opts, "html", 0, v.n, 0)
	for _, n := range omittedNotes(v.m.Omitted) {
		data.Notes = append(data.Notes, htmlNote{n.text, n.items})
	}
	if data.Title == "" {
		data.Title = "Reachability"
	}
	data.Summary = plural(v.n, "connection", "connections") + " between " + plural(len(v.peers), "peer", "peers")
	if v.focused {
		data.Summary = focusName(opts) + ": " + data.Summary
	}
	data.Rows = func(yield func(htmlRow) bool) {
		for c := range v.conns() {
			if !yield(htmlRow{
				Src: v.src(c).String(), Dst: v.dst(c).String(), Ports: c.Ports.String(),
				Egress: htmlRefs(c.Allowance, model.Egress), Ingress: htmlRefs(c.Allowance, model.Ingress),
				AddressDependent: c.AddressDependent,
				MayDeny:          strings.TrimSpace(mayDenyText(*v.src(c), *v.dst(c))),
			}) {
				return
			}
		}
	}
	for _, u := range v.unmanaged {
		data.Unmanaged = append(data.Unmanaged, htmlUnmanaged{u.Workload.String(), u.Reason})
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := matrixPage.Execute(bw, data); err != nil {
		return err
	}
	return bw.Flush()
}

func htmlRefs(a *model.Allowance, dir model.Direction) []string {
	refs := sideRefs(a, dir)
	out := make([]string, len(refs))
	for i, r := range refs {
		s := refText(r, dir)
		if !r.NotIsolated() && r.Source.File != "" {
			s += " (" + r.Source.String() + ")"
		}
		out[i] = strings.TrimSpace(s)
	}
	return out
}
