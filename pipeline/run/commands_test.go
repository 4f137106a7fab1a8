package run_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/run"
)

// An overlay with one invalid NetworkPolicy (a rule inside policyTypes,
// the seed's mistake) next to valid objects.
const invalidOverlay = `apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Pod
metadata: {namespace: app, name: frontend, labels: {app: frontend}}
spec: {containers: [{name: web, image: web:1}]}
---
apiVersion: v1
kind: Pod
metadata: {namespace: app, name: api, labels: {app: api}}
spec: {containers: [{name: api, image: api:1, ports: [{containerPort: 3000}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: app, name: allow-api-3000}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{ports: [{port: 3000}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: app, name: default-deny-egress}
spec:
  podSelector: {}
  policyTypes:
    - Egress
    - to: [{podSelector: {matchLabels: {app: api}}}]
`

// badTypeLine is the line of the egress rule pasted into
// default-deny-egress's policyTypes, its second element.
var badTypeLine = 1 + slices.Index(strings.Split(invalidOverlay, "\n"), "    - to: [{podSelector: {matchLabels: {app: api}}}]")

// TestCommandsExit2WhenTheyLeaveObjectsOut: every command that analyses an
// overlay still prints its answer without the invalid object, names it on
// stderr, and exits 2, even where its own answer would exit 0 or 1.
func TestCommandsExit2WhenTheyLeaveObjectsOut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, dir, "a/all.yaml", invalidOverlay)
	writeFile(t, dir, "b/all.yaml", invalidOverlay)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "overlays")
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	common := run.Common{Dir: dir}

	cases := map[string]func(w, stderr *bytes.Buffer) error{
		"reach": func(w, e *bytes.Buffer) error {
			return run.Reach(context.Background(), run.ReachParams{Common: common, Overlay: a, Format: "txt"}, w, e)
		},
		// Allowed: would exit 0. (The answer holds for the objects that
		// loaded; the exit code says it may not hold once the invalid one
		// is fixed.)
		"explain allowed": func(w, e *bytes.Buffer) error {
			return run.Explain(context.Background(), run.ExplainParams{Common: common, Overlay: a, Src: "app/frontend", Dst: "app/api", Port: "3000/TCP", Format: "txt"}, w, e)
		},
		// Denied: would exit 1.
		"explain denied": func(w, e *bytes.Buffer) error {
			return run.Explain(context.Background(), run.ExplainParams{Common: common, Overlay: a, Src: "app/frontend", Dst: "app/api", Port: "4000/TCP", Format: "txt"}, w, e)
		},
		"promote": func(w, e *bytes.Buffer) error {
			return run.Promote(context.Background(), run.PromoteParams{Common: common, From: a, To: b}, w, e)
		},
		"diff": func(w, e *bytes.Buffer) error {
			return run.Diff(context.Background(), run.DiffParams{Common: common, Base: "main", Overlays: []string{a}}, w, e)
		},
		"test": func(w, e *bytes.Buffer) error {
			return run.Test(context.Background(), run.TestParams{Common: common, Overlays: []string{a}}, w, e)
		},
	}
	for name, cmd := range cases {
		t.Run(name, func(t *testing.T) {
			var out, stderr bytes.Buffer
			err := cmd(&out, &stderr)
			var ee *run.ExitError
			require.True(t, errors.As(err, &ee), "%s: %v", name, err)
			assert.Equal(t, run.ExitInput, ee.Code, "%s: %v", name, err)
			assert.Contains(t, err.Error(), "a: 1 invalid object(s)")
			assert.Contains(t, err.Error(), "left out of the analysis")
			// The line and the field are the bad element's, not the
			// object's.
			assert.Contains(t, stderr.String(), fmt.Sprintf("all.yaml:%d: NetworkPolicy app/default-deny-egress: spec.policyTypes[1]: ", badTypeLine))
			assert.NotEmpty(t, out.String(), "the answer is still printed")
		})
	}
}
