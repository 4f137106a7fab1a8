package report

import (
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
)

// sarifSchemaFile is the OASIS SARIF 2.1.0 schema (errata 01),
// https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json,
// as carried by the Go module github.com/owenrumney/go-sarif/v3@v3.3.1
// (pkg/report/v210/sarif/schema.go), the copy the module proxy serves.
const sarifSchemaFile = "testdata/sarif-schema-2.1.0.json"

func compileSARIFSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(sarifSchemaFile)
	require.NoError(t, err)
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("sarif-schema-2.1.0.json", doc))
	s, err := c.Compile("sarif-schema-2.1.0.json")
	require.NoError(t, err)
	return s
}

func validateSARIF(t *testing.T, s *jsonschema.Schema, out string) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	require.NoError(t, err)
	return s.Validate(inst)
}

// TestSARIFSchema: what the SARIF writer produces is valid SARIF 2.1.0 by
// the standard's own JSON schema, for the fixture report (findings,
// waivers as suppressions, an overlay that failed), the same report
// compared with a base (baselineState), a hostile one and an empty one.
func TestSARIFSchema(t *testing.T) {
	t.Parallel()
	s := compileSARIFSchema(t)
	baselined := fixtureReport(t)
	baselined.Baseline = "base"
	for i := range baselined.Overlays {
		for k := range baselined.Overlays[i].Findings {
			f := &baselined.Overlays[i].Findings[k]
			f.Baseline = model.BaselineNew
			if k%2 == 1 {
				f.Baseline = model.BaselineExisting
			}
		}
	}
	for name, r := range map[string]*model.Report{
		"fixture":   fixtureReport(t),
		"baselined": baselined,
		"hostile":   hostileReport(),
		"empty":     {FailOn: model.SeverityError},
	} {
		out := render(t, "sarif", r, Options{Version: "v0.9.0"})
		assert.NoError(t, validateSARIF(t, s, out), name)
		if name == "baselined" {
			assert.Contains(t, out, `"baselineState": "unchanged"`)
			assert.Contains(t, out, `"baselineState": "new"`)
		}
	}
	golden, err := os.ReadFile("testdata/golden/check.sarif.sarif")
	require.NoError(t, err)
	assert.NoError(t, validateSARIF(t, s, string(golden)), "golden file")
}

// TestSARIFSchemaRejects: the schema is really applied: a level
// SARIF does not define, and a misspelt message, are refused.
func TestSARIFSchemaRejects(t *testing.T) {
	t.Parallel()
	s := compileSARIFSchema(t)
	out := render(t, "sarif", fixtureReport(t), Options{Version: "v0.9.0"})
	require.Contains(t, out, `"level": "error"`)
	err := validateSARIF(t, s, strings.Replace(out, `"level": "error"`, `"level": "fatal"`, 1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "level")
	require.Contains(t, out, `"message": {`)
	assert.Error(t, validateSARIF(t, s, strings.Replace(out, `"message": {`, `"mesage": {`, 1)))
}
