package report

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
)

var goldenExt = map[string]string{
	"txt": "txt", "text": "txt", "json": "json", "jsonl": "jsonl", "csv": "csv", "md": "md", "markdown": "md",
	"dot": "dot", "mermaid": "mmd", "html": "html", "junit": "xml", "sarif": "sarif", "github": "txt", "evidence": "json",
}

func TestMatrixGolden(t *testing.T) {
	t.Parallel()
	m := reach.Compute(shopHead())
	for _, f := range MatrixFormats() {
		t.Run(f, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			require.NoError(t, WriteMatrix(&b, f, m, MatrixOptions{Title: "dev reachability"}))
			golden(t, "matrix."+goldenExt[f], b.Bytes())
		})
	}
}

func TestDiffGolden(t *testing.T) {
	t.Parallel()
	ms := reach.ComputeAll(shop(), shopHead())
	d := reach.Diff(ms[0], ms[1])
	for _, f := range DiffFormats() {
		t.Run(f, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			require.NoError(t, WriteDiff(&b, f, "dev", d))
			golden(t, "diff."+goldenExt[f], b.Bytes())
		})
	}
}

func TestCheckGolden(t *testing.T) {
	t.Parallel()
	r := fixtureReport(t)
	opts := Options{Marker: "<!-- reachgate:policy-gate/check -->", Version: "v0.9.0"}
	for _, f := range Formats() {
		t.Run(f, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			require.NoError(t, Write(&b, f, r, opts))
			golden(t, "check."+f+"."+goldenExt[f], b.Bytes())
		})
	}
	t.Run("text with colour", func(t *testing.T) {
		t.Parallel()
		var b bytes.Buffer
		require.NoError(t, Write(&b, "text", r, Options{Color: true}))
		golden(t, "check.text-color.txt", b.Bytes())
		assert.Contains(t, b.String(), ansiRed+ansiBold+"FAIL"+ansiReset)
	})
}

func TestExplainGolden(t *testing.T) {
	t.Parallel()
	ex := reach.NewExplainer(shopHead())
	for _, tc := range []struct {
		name, src, dst string
		port           *model.PortQuery
	}{
		{"allowed", "app/frontend", "app/backend-api", &model.PortQuery{Protocol: model.TCP, Port: 3000}},
		{"denied-ingress", "app/frontend", "app/postgres", &model.PortQuery{Protocol: model.TCP, Port: 5432}},
		{"denied-port", "app/backend-api", "partner-api", &model.PortQuery{Protocol: model.TCP, Port: 80}},
		{"any-port", "kube-system/kube-dns", "app/frontend", nil},
	} {
		xs, err := ex.Explain(tc.src, tc.dst, tc.port)
		require.NoError(t, err, tc.name)
		for _, f := range ExplainFormats() {
			t.Run(tc.name+"/"+f, func(t *testing.T) {
				t.Parallel()
				var b bytes.Buffer
				require.NoError(t, WriteExplanation(&b, f, xs))
				golden(t, "explain."+tc.name+"."+goldenExt[f], b.Bytes())
			})
		}
	}
}
