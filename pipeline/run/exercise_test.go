package run_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/exercise"
	"github.com/reachgate/reachgate/pipeline/run"
)

// exerciseNow is when the reference answers are judged: the waivers some
// of them add expire soon after.
var exerciseNow = now

// TestExercisesStartFailsAndAnswerPasses runs every exercise both ways on
// this repository's policies: start writes the starting state on a new
// branch, which fails for exactly the reasons the exercise documents; the
// reference answer applied on top passes.
func TestExercisesStartFailsAndAnswerPasses(t *testing.T) {
	all, err := exercise.All()
	require.NoError(t, err)
	require.NotEmpty(t, all)
	for _, e := range all {
		t.Run(strconv.Itoa(e.Number), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := newRepo(t)
			p := run.ExerciseParams{Common: run.Common{Dir: dir}, Number: e.Number, Now: exerciseNow}
			var out bytes.Buffer
			require.NoError(t, run.ExerciseStart(ctx, p, &out))
			assert.Equal(t, e.Branch(), git(t, dir, "branch", "--show-current"))
			assert.Empty(t, git(t, dir, "status", "--porcelain"), "start commits the starting state")

			v, err := run.JudgeExercise(ctx, p, e)
			require.NoError(t, err)
			require.False(t, v.Passed(), "the starting state of exercise %d passes", e.Number)
			unexpected, missing := exercise.MatchKeys(e.StartFails, v.Keys())
			assert.Empty(t, unexpected, "the starting state fails for reasons exercise %d does not document (startFails)", e.Number)
			assert.Empty(t, missing, "exercise %d documents failures the starting state does not have", e.Number)
			require.NotEmpty(t, v.Ladder())

			patch := filepath.Join(t.TempDir(), "answer.diff")
			require.NoError(t, os.WriteFile(patch, e.Answer, 0o644))
			git(t, dir, "apply", "--index", patch)
			v, err = run.JudgeExercise(ctx, p, e)
			require.NoError(t, err)
			if !assert.True(t, v.Passed(), "the reference answer of exercise %d fails", e.Number) {
				var b bytes.Buffer
				require.NoError(t, v.Write(&b, 0))
				t.Log(b.String())
			}
		})
	}
}

// TestExerciseDocsExist keeps every exercise pointing at a heading of the
// course that exists.
func TestExerciseDocsExist(t *testing.T) {
	all, err := exercise.All()
	require.NoError(t, err)
	for _, e := range all {
		file, anchor, _ := strings.Cut(e.Doc, "#")
		data, err := os.ReadFile(filepath.Join(repoRoot, file))
		if !assert.NoError(t, err, "exercise %d: doc", e.Number) {
			continue
		}
		assert.Contains(t, headingAnchors(string(data)), anchor, "exercise %d: %s has no heading for #%s", e.Number, file, anchor)
		assert.True(t, strings.Contains(string(data), "reachgate exercise start "+strconv.Itoa(e.Number)), "exercise %d: %s does not say how to start it (reachgate exercise start %d)", e.Number, file, e.Number)
	}
}

var nonAnchor = regexp.MustCompile(`[^a-z0-9 _-]`)

// headingAnchors are the anchors GitHub gives a document's headings.
func headingAnchors(doc string) []string {
	var out []string
	for _, l := range strings.Split(doc, "\n") {
		if h, ok := strings.CutPrefix(l, "#"); ok {
			h = strings.TrimLeft(h, "#")
			out = append(out, strings.ReplaceAll(nonAnchor.ReplaceAllString(strings.ToLower(strings.TrimSpace(h)), ""), " ", "-"))
		}
	}
	return out
}

// TestExerciseCheckGivesTheNextHint walks exercise 11 the way a trainee
// does: check fails and names what fails and why; each --hint shows one
// more rung, first the ones drawn from explain; start refuses a second
// time; the fix passes.
func TestExerciseCheckGivesTheNextHint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := newRepo(t)
	p := run.ExerciseParams{Common: run.Common{Dir: dir}, Number: 11}
	require.NoError(t, run.ExerciseStart(ctx, p, &bytes.Buffer{}))

	var out bytes.Buffer
	err := run.ExerciseCheck(ctx, p, &out, &bytes.Buffer{})
	var ee *run.ExitError
	require.True(t, errors.As(err, &ee), "%v", err)
	assert.Equal(t, run.ExitFailed, ee.Code)
	assert.Contains(t, out.String(), "  FAIL  dev: app/search -> kube-system/coredns 53/UDP must be allowed (search resolves names)\n        denied: the egress of app/search[Deployment] blocks it\n")
	assert.Contains(t, out.String(), "  ok    dev: app/frontend -> app/search must be denied\n")
	assert.Contains(t, out.String(), "  FAIL  dev: NP003 Deployment app/search: app/search is isolated for egress but cannot reach DNS")
	assert.NotContains(t, out.String(), "hint 1")
	assert.Contains(t, out.String(), "for a hint: reachgate exercise check 11 --hint\n")

	p.Hint = true
	hints := func() int {
		out.Reset()
		require.Error(t, run.ExerciseCheck(ctx, p, &out, &bytes.Buffer{}))
		return strings.Count(out.String(), "\nhint ")
	}
	assert.Equal(t, 1, hints())
	assert.Contains(t, out.String(), "hint 1 of 5: explain says: app/search[Deployment] -> kube-system/coredns[Deployment] on 53/UDP is denied: egress blocks it: app/default-deny-egress isolates it for egress with no egress rules (a default deny), and no other policy allows it.\n")
	assert.Contains(t, out.String(), "for a hint: reachgate exercise check 11 --hint\n")
	assert.Equal(t, 2, hints(), "one more rung per --hint")
	assert.Contains(t, out.String(), "hint 2 of 5: `reachgate explain dev app/search kube-system/coredns --port 53/UDP` shows both sides")
	require.NoError(t, exercise.SetHintsShown(ctx, dir, 11, 4))
	assert.Equal(t, 5, hints())
	assert.Equal(t, 5, hints(), "the last rung is the last")
	assert.NotContains(t, out.String(), "for a hint:")
	p.Hint = false
	out.Reset()
	require.Error(t, run.ExerciseCheck(ctx, p, &out, &bytes.Buffer{}))
	assert.NotContains(t, out.String(), "hint 1", "without --hint, no hint")

	err = run.ExerciseStart(ctx, p, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "branch exercise-11 exists")

	e, err := exercise.Get(11)
	require.NoError(t, err)
	patch := filepath.Join(t.TempDir(), "answer.diff")
	require.NoError(t, os.WriteFile(patch, e.Answer, 0o644))
	git(t, dir, "apply", patch)
	out.Reset()
	require.NoError(t, run.ExerciseCheck(ctx, p, &out, &bytes.Buffer{}))
	assert.Contains(t, out.String(), "PASS: exercise 11 is done\n")
}

func TestExerciseStartRefusesADirtyWorkTree(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	writeFile(t, dir, "reachgate.yaml", "# changed\n")
	err := run.ExerciseStart(context.Background(), run.ExerciseParams{Common: run.Common{Dir: dir}, Number: 11}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "uncommitted changes")
	assert.Equal(t, "main", git(t, dir, "branch", "--show-current"))

	err = run.ExerciseStart(context.Background(), run.ExerciseParams{Common: run.Common{Dir: dir}, Number: 99}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no exercise 99: the exercises are ")
}
