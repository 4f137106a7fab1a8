package render

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
)

// What `reachgate render` prints for the realistic overlay: a golden file,
// stable from run to run, and the input objects are left alone.
func TestWriteYAMLGolden(t *testing.T) {
	t.Parallel()
	objs, err := Overlay(diskFS(t, "testdata/bench"), "overlays/prod")
	require.NoError(t, err)
	before, err := json.Marshal(objs)
	require.NoError(t, err)

	var a, b bytes.Buffer
	require.NoError(t, WriteYAML(&a, objs))
	require.NoError(t, WriteYAML(&b, objs))
	assert.Equal(t, a.String(), b.String())
	golden(t, "bench-prod.yaml", a.Bytes())

	after, err := json.Marshal(objs)
	require.NoError(t, err)
	assert.JSONEq(t, string(before), string(after))
}

func TestWriteYAMLScalars(t *testing.T) {
	t.Parallel()
	objs := []model.Object{{
		ObjectRef: model.ObjectRef{Kind: "ConfigMap", Name: "c"},
		Doc: map[string]any{
			"kind": "ConfigMap", "apiVersion": "v1",
			"metadata": map[string]any{"name": "c", "annotations": map[string]any{"z": "1", "a": "true"}},
			"data": map[string]any{
				"multi": "line one\nline two\n", "empty": "", "null": "null", "num": "1.5", "date": "2024-01-02",
			},
			"spec": map[string]any{"int": int64(3), "float": 2.5, "whole": 4.0, "bool": true, "nil": nil, "list": []any{}},
		},
	}}
	var b bytes.Buffer
	require.NoError(t, WriteYAML(&b, objs))
	assert.Equal(t, `apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  annotations:
    a: "true"
    z: "1"
spec:
  bool: true
  float: 2.5
  int: 3
  list: []
  nil: null
  whole: 4
data:
  date: "2024-01-02"
  empty: ""
  multi: |
    line one
    line two
  "null": "null"
  num: "1.5"
`, b.String())
}

// WriteYAML remembers the node of each string and boolean it has
// written: an object written after others with the same scalars must
// come out as it does alone.
func TestWriteYAMLRepeatsAlike(t *testing.T) {
	t.Parallel()
	obj := func(name string) model.Object {
		return model.Object{ObjectRef: model.ObjectRef{Kind: "ConfigMap", Name: name}, Doc: map[string]any{
			"kind": "ConfigMap", "apiVersion": "v1", "metadata": map[string]any{"name": name},
			"data": map[string]any{"true": "true", "on": "yes", "multi": "a\nb\n", "colon": "a: b", "dash": "- x",
				"octal": "0777", "quote": `it's "x"`, "list": []any{"true", true, "null", nil, "", "1e3"}},
		}}
	}
	alone := func(o model.Object) string {
		var b bytes.Buffer
		require.NoError(t, WriteYAML(&b, []model.Object{o}))
		return b.String()
	}
	var b bytes.Buffer
	require.NoError(t, WriteYAML(&b, []model.Object{obj("a"), obj("b"), obj("a")}))
	assert.Equal(t, alone(obj("a"))+"---\n"+alone(obj("b"))+"---\n"+alone(obj("a")), b.String())
	assert.Contains(t, b.String(), `"true": "true"`)
	assert.Contains(t, b.String(), "- true\n")
}
