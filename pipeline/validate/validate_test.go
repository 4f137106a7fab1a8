package validate_test

import (
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/validate"
	"github.com/reachgate/reachgate/pipeline/validate/validatetest"
)

var update = flag.Bool("update", false, "rewrite want.txt of the cases in testdata/cases")

// TestObjectsCases runs the offline validation over every case. The want
// files hold what the API server answers (e2e/apiserver checks the same
// files against a real kube-apiserver), so offline and server agree.
func TestObjectsCases(t *testing.T) {
	t.Parallel()
	cases, err := validatetest.Load("testdata/cases")
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			got := validatetest.Lines(validate.Objects(c.Objects))
			if *update {
				require.NoError(t, c.Update(got))
				return
			}
			if len(c.Want) == 0 {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, c.Want, got)
		})
	}
}

func TestObjectsLocatesErrors(t *testing.T) {
	t.Parallel()
	objs, err := validatetest.Objects("policies.yaml", []byte(`apiVersion: v1
kind: Namespace
metadata: {name: app}
---
# a comment before the object
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: app}
spec:
  podSelector: {}
  ingress:
  - ports:
    - protocol: FOO
`))
	require.NoError(t, err)
	errs := validate.Objects(objs)
	require.Len(t, errs, 1)
	e := errs[0]
	assert.Equal(t, model.Location{File: "policies.yaml", Line: 6}, e.Location)
	assert.Equal(t, model.ObjectRef{Kind: "NetworkPolicy", Namespace: "app", Name: "web"}, e.Object)
	assert.Equal(t, "spec.ingress[0].ports[0].protocol", e.Field)
	assert.Equal(t, `policies.yaml:6: NetworkPolicy app/web: spec.ingress[0].ports[0].protocol: Unsupported value: "FOO": supported values: "TCP", "UDP", "SCTP"`, e.Error())
}

func TestObjectsIgnoresUnknownKinds(t *testing.T) {
	t.Parallel()
	objs, err := validatetest.Objects("x.yaml", []byte("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: Not_Valid}\nspec: {port: 70000}\n"))
	require.NoError(t, err)
	assert.Empty(t, validate.Objects(objs))
}
