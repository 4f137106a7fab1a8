package validate_test

import (
	"maps"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/validate"
	"github.com/reachgate/reachgate/pipeline/validate/validatetest"
)

// caseObjects are the objects of every validation case.
func caseObjects(t *testing.T) []model.Object {
	t.Helper()
	cases, err := validatetest.Load("testdata/cases")
	require.NoError(t, err)
	var objs []model.Object
	for _, c := range cases {
		objs = append(objs, c.Objects...)
	}
	return objs
}

// TestMemoAsWithout validates every case through a memo twice, as the
// head and the base of a check do: both times it reports what the
// validation without the memo reports, the second time from the memo
// (the very decoded values of the first), and the errors it returns are
// the caller's to change: a third validation is not changed by them.
func TestMemoAsWithout(t *testing.T) {
	t.Parallel()
	objs := caseObjects(t)
	want, wantTyped := validate.ObjectsDecoded(objs)
	require.NotEmpty(t, want)

	m := validate.NewMemo()
	head, headTyped := m.ObjectsDecoded(objs)
	assert.Equal(t, validatetest.Lines(want), validatetest.Lines(head))
	assert.Equal(t, wantTyped, headTyped)
	for _, e := range head {
		e.Location.Line, e.Message = -1, "changed by the caller"
	}

	// The base, and a third validation after the base changed its errors.
	for range 2 {
		base, baseTyped := m.ObjectsDecoded(objs)
		assert.Equal(t, validatetest.Lines(want), validatetest.Lines(base))
		decoded := 0
		for i := range objs {
			if headTyped[i] != nil {
				decoded++
				assert.Same(t, headTyped[i], baseTyped[i], "%s: not taken from the memo", objs[i].ObjectRef)
			}
		}
		require.NotZero(t, decoded)
		for _, e := range base {
			e.Location.Line, e.Message = -1, "changed by the caller"
		}
	}
}

// TestMemoByIdentity: an object whose document is another map with the
// same contents, or whose source differs, is validated on its own.
func TestMemoByIdentity(t *testing.T) {
	t.Parallel()
	objs, err := validatetest.Objects("svc.yaml", []byte(`apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec:
  ports:
  - port: 80
    targetPort: 70000
`))
	require.NoError(t, err)
	require.Len(t, objs, 1)
	m := validate.NewMemo()
	errs, typed := m.ObjectsDecoded(objs)
	require.Len(t, errs, 1)
	require.NotNil(t, typed[0])

	copied := objs[0]
	copied.Doc = maps.Clone(copied.Doc)
	moved := objs[0]
	moved.Source.Line += 3
	errs2, typed2 := m.ObjectsDecoded([]model.Object{copied, moved, objs[0]})
	require.Len(t, errs2, 3)
	assert.NotSame(t, typed[0], typed2[0], "a copy of the document came from the memo")
	assert.NotSame(t, typed[0], typed2[1], "an object moved in its file came from the memo")
	assert.Same(t, typed[0], typed2[2])
	var lines []int
	for _, e := range errs2 {
		lines = append(lines, e.Location.Line)
		assert.Equal(t, errs[0].Message, e.Message)
	}
	l := errs[0].Location.Line
	assert.Equal(t, []int{l, l, l + 3}, lines)
}

// TestMemoSideBySide: check validates one overlay's base beside the next
// overlay's head, through one memo (run with -race by the test target).
func TestMemoSideBySide(t *testing.T) {
	t.Parallel()
	objs := caseObjects(t)
	want := validatetest.Lines(validate.Objects(objs))
	m := validate.NewMemo()
	got := make([][]string, 4)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			errs, _ := m.ObjectsDecoded(objs)
			got[i] = validatetest.Lines(errs)
		})
	}
	wg.Wait()
	for _, g := range got {
		assert.Equal(t, want, g)
	}
}
