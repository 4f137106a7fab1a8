package run_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/run"
)

// One test per stage of check, each on a real git history.

func stagesOf(t *testing.T, dir, head string) *run.Stages {
	t.Helper()
	s, err := run.OpenStages(run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: head, Now: now})
	require.NoError(t, err)
	return s
}

func TestStageNewReportNamesRefsAndRepository(t *testing.T) {
	dir := newRepo(t)
	t.Setenv("GITHUB_REPOSITORY", "acme/policies")
	t.Setenv("GITHUB_EVENT_PATH", "")
	r := stagesOf(t, dir, "main").Report()
	assert.Equal(t, "acme/policies", r.Repository)
	assert.Equal(t, "main", r.Base.Ref)
	assert.Len(t, r.Base.Commit, 40)
	assert.Equal(t, r.Base.Commit, r.Head.Commit)
	assert.Equal(t, now, r.CheckedAt)
}

func TestStageJudgePicksTheBaseUnlessTold(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	git(t, dir, "checkout", "-qb", "feature")
	require.NoError(t, os.Remove(filepath.Join(dir, "policy/custom/partner_egress.rego")))
	git(t, dir, "commit", "-qam", "drop a rule")
	s := stagesOf(t, dir, "feature")
	from, rules, err := s.Judge("")
	require.NoError(t, err)
	assert.Equal(t, "base", from)
	fromHead, headRules, err := s.Judge("head")
	require.NoError(t, err)
	assert.Equal(t, "head", fromHead)
	assert.Len(t, headRules, len(rules)-1, "the head's pack lacks the rule it deleted")
}

func TestStageChooseAddsWhatTheBaseConfigures(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	git(t, dir, "checkout", "-qb", "feature")
	dropProdFromConfig(t, dir)
	git(t, dir, "commit", "-qam", "drop prod")
	s := stagesOf(t, dir, "feature")
	names, dropped, err := s.Choose()
	require.NoError(t, err)
	assert.Equal(t, withoutProd(t), names, "the base's prod comes after the head's overlays")
	assert.Equal(t, []string{"prod"}, dropped)
	names, _, err = s.Choose("staging")
	require.NoError(t, err)
	assert.Equal(t, []string{"staging"}, names, "named overlays are taken as given")
}

func TestStageRenderReusesUntouchedOverlays(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	prodChange(t, dir)
	s := stagesOf(t, dir, "feature")
	_, _, err := s.Choose()
	require.NoError(t, err)
	reused, removed := s.Render()
	assert.Equal(t, eachOverlay(t, true, map[string]bool{"prod": false}), reused, "only prod changed: the others reuse the head's render")
	assert.Equal(t, eachOverlay(t, false, nil), removed)
}

// A pull request that changes one file of an overlay the fast path
// renders: the base's render takes the objects of every other file from
// the head's.
func TestStageRenderSharesUnchangedFiles(t *testing.T) {
	t.Parallel()
	c := synth.Cluster(synth.Options{Workloads: 60, Namespaces: 4, Seed: 3})
	dir := syntheticPR(t, c, synth.TreeOptions{Change: true}, nil)
	s := stagesOf(t, dir, "feature")
	names, _, err := s.Choose()
	require.NoError(t, err)
	reused, _ := s.Render()
	require.Equal(t, []bool{false}, reused, "%v: the pull request changes the overlay", names)
	shared, total := s.SharedObjects(0)
	assert.Positive(t, shared)
	assert.Less(t, shared, total, "the changed file's objects are the base's own")
	assert.Greater(t, shared, total*3/4, "of %d objects, %d shared", total, shared)
}

// A pull request that changes nothing the model holds (an image tag)
// computes one matrix for its overlay, which base and head share; one
// that changes a policy computes two.
func TestStageComputeSharesTheMatrixOfTheSameModel(t *testing.T) {
	t.Parallel()
	c := synth.Cluster(synth.Options{Workloads: 60, Namespaces: 4, Seed: 3})
	for _, opts := range []synth.TreeOptions{{Bump: true}, {Change: true}} {
		s := stagesOf(t, syntheticPR(t, c, opts, nil), "feature")
		_, _, err := s.Choose()
		require.NoError(t, err)
		reused, _ := s.Render()
		require.Equal(t, []bool{false}, reused, "the pull request changes the overlay")
		s.Compute()
		assert.Equal(t, opts.Bump, s.SharesMatrix(0), "%+v", opts)
		if opts.Bump {
			assert.True(t, s.Compare(context.Background(), 0).Empty())
		}
	}
}

// syntheticPR makes a git repository holding c as synth writes it on
// main, and as opts changes it on feature; prepare, if any, runs on the
// tree before each commit.
func syntheticPR(t *testing.T, c *model.Cluster, opts synth.TreeOptions, prepare func(dir string)) string {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	for i, o := range []synth.TreeOptions{{NumberedPorts: opts.NumberedPorts}, opts} {
		if i == 1 {
			git(t, dir, "checkout", "-qb", "feature")
		}
		_, err := synth.WriteTree(dir, c, o)
		require.NoError(t, err)
		if prepare != nil {
			prepare(dir)
		}
		git(t, dir, "add", "-A")
		git(t, dir, "commit", "-qm", fmt.Sprintf("tree %+v", o))
	}
	return dir
}

func TestStageComputeOnceForReusedRenders(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	prodChange(t, dir)
	s := stagesOf(t, dir, "feature")
	_, _, err := s.Choose()
	require.NoError(t, err)
	s.Render()
	n, heads := s.Compute()
	assert.Equal(t, len(repoOverlays(t))+1, n, "every overlay once, and prod at base and head")
	assert.Len(t, heads, len(repoOverlays(t)))
	for name, m := range heads {
		assert.NotEmpty(t, m.Connections, name)
	}
}

func TestStageCompareFindsTheChange(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	prodChange(t, dir)
	s := stagesOf(t, dir, "feature")
	_, _, err := s.Choose()
	require.NoError(t, err)
	s.Render()
	s.Compute()
	assert.True(t, s.Compare(context.Background(), 0).Empty(), "dev did not change")
	d := s.Compare(context.Background(), 2)
	require.NotNil(t, d)
	assert.Len(t, d.Added, 1, "worker -> postgres opens")
	assert.Len(t, d.Changed, 1, "backend-api -> rabbitmq loses 15672")
	// A cancelled check does not wait for the diff.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.Nil(t, s.Compare(ctx, 2))
}

func TestStageJudgeOverlayFindsRulesAndExpectations(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	prodChange(t, dir)
	s := stagesOf(t, dir, "feature")
	_, _, err := s.Judge("")
	require.NoError(t, err)
	_, _, err = s.Choose()
	require.NoError(t, err)
	s.Render()
	s.Compute()
	fs, checked, err := s.JudgeOverlay(2)
	require.NoError(t, err)
	assert.Greater(t, checked, 50, "prod's expectations are checked")
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.RuleID)
	}
	assert.Contains(t, ids, "NP016")
	assert.Contains(t, ids, "NP017", "prod is judged against staging, which promotes to it")
	assert.Contains(t, ids, "expect/deny")
}

func TestStageAssembleRemovedOverlay(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	git(t, dir, "checkout", "-qb", "feature")
	git(t, dir, "rm", "-rq", "overlays/prod")
	dropProdFromConfig(t, dir)
	git(t, dir, "commit", "-qam", "prod is gone")
	s := stagesOf(t, dir, "feature")
	_, _, err := s.Judge("")
	require.NoError(t, err)
	_, _, err = s.Choose()
	require.NoError(t, err)
	_, removed := s.Render()
	names := withoutProd(t)
	prod := len(names) - 1
	want := make([]bool, len(names))
	want[prod] = true
	assert.Equal(t, want, removed)
	s.Compute()
	or, err := s.Assemble(prod)
	require.NoError(t, err)
	require.Len(t, or.Findings, 1)
	assert.Equal(t, "overlay/removed", or.Findings[0].RuleID)
	require.NotNil(t, or.Diff)
	assert.Empty(t, or.Diff.Added)
	assert.NotEmpty(t, or.Diff.Removed)
	assert.Empty(t, or.Matrix.Connections)
}
