package policy

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
)

const waiversYAML = `apiVersion: reachgate.dev/v1alpha1
kind: Waivers
waivers:
  - rule: NP011
    object: NetworkPolicy/monitoring/allow-*
    reason: "the agent scrapes arbitrary ports until SHOP-1 ships"
    owner: team-observability
    expires: 2026-03-31
  - rule: NP009
    object: Deployment/app/legacy
    reason: "migration"
    owner: team-app
    expires: 2026-02-28
  - rule: NP015
    object: NetworkPolicy/app/old-name
    reason: "renamed next sprint"
    owner: team-app
    expires: 2026-03-01
`

func TestParseWaivers(t *testing.T) {
	t.Parallel()
	ws, err := ParseWaivers("waivers.yaml", []byte(waiversYAML))
	require.NoError(t, err)
	require.Len(t, ws, 3)
	assert.Equal(t, model.Waiver{
		RuleID: "NP011", Object: "NetworkPolicy/monitoring/allow-*",
		Reason: "the agent scrapes arbitrary ports until SHOP-1 ships", Owner: "team-observability",
		Expires: "2026-03-31", Source: model.Location{File: "waivers.yaml", Line: 4},
	}, ws[0])
	assert.Equal(t, 9, ws[1].Source.Line)

	empty, err := ParseWaivers("waivers.yaml", []byte("apiVersion: reachgate.dev/v1alpha1\nkind: Waivers\nwaivers: []\n"))
	require.NoError(t, err)
	assert.Empty(t, empty)
}

func TestParseWaiversErrors(t *testing.T) {
	t.Parallel()
	src := `apiVersion: reachgate.dev/v1alpha1
kind: Waivers
waivers:
  - rule: NP011
    object: NetworkPolicy/app/x
    reason: ok
    owner: me
    expires: 31/03/2026
  - rule: NP011
    object: app-x
    owner: me
    expires: 2026-03-31
  - rule: "NP[0"
    object: NetworkPolicy/app/x
    reason: ok
    owner: me
    expires: 2026-03-31
`
	_, err := ParseWaivers("waivers.yaml", []byte(src))
	var errs model.InputErrors
	require.True(t, errors.As(err, &errs), "%T: %v", err, err)
	type got struct {
		Line  int
		Field string
	}
	var gots []got
	for _, e := range errs {
		assert.Equal(t, "waivers.yaml", e.Location.File)
		gots = append(gots, got{e.Location.Line, e.Field})
	}
	assert.Equal(t, []got{
		{8, "waivers[0].expires"},
		{9, "waivers[1].reason"},
		{10, "waivers[1].object"},
		{13, "waivers[2].rule"},
	}, gots)
	assert.Contains(t, errs[0].Message, "not a date YYYY-MM-DD")
	assert.Contains(t, errs[1].Message, "waiver needs reason")
	assert.Contains(t, errs[2].Message, "want Kind/namespace/name")

	_, err = ParseWaivers("waivers.yaml", []byte("apiVersion: reachgate.dev/v1alpha1\nkind: Waivers\nwaivers:\n  - rule: NP001\n    until: 2026-01-01\n"))
	var ie *model.InputError
	require.True(t, errors.As(err, &ie), "%T: %v", err, err)
	assert.Equal(t, 5, ie.Location.Line)
	assert.Equal(t, "waivers.0.until", ie.Field)
	assert.Contains(t, ie.Message, "unknown field (known here: rule, object, reason, owner, expires)")
}

func TestApplyWaivers(t *testing.T) {
	t.Parallel()
	ws, err := ParseWaivers("waivers.yaml", []byte(waiversYAML))
	require.NoError(t, err)
	findings := []model.Finding{
		{RuleID: "NP011", Object: model.ObjectRef{Kind: "NetworkPolicy", Namespace: "monitoring", Name: "allow-scrape"}, Severity: model.SeverityWarning},
		{RuleID: "NP011", Object: model.ObjectRef{Kind: "NetworkPolicy", Namespace: "app", Name: "allow-scrape"}, Severity: model.SeverityWarning},
		{RuleID: "NP009", Object: model.ObjectRef{Kind: "Deployment", Namespace: "app", Name: "legacy"}, Severity: model.SeverityError},
		{RuleID: "expect/deny", Object: model.ObjectRef{Kind: "NetworkPolicy", Namespace: "monitoring", Name: "allow-x"}, Severity: model.SeverityError},
	}
	// 2026-03-01: NP011 active and used, NP009 expired (last day
	// 2026-02-28), NP015 active on its last day but unused.
	now := time.Date(2026, 3, 1, 23, 59, 0, 0, time.UTC)
	got := ApplyWaivers(findings, ws, now)
	require.Len(t, got, 6)
	require.NotNil(t, got[0].Waived, "glob on the name matches")
	assert.Equal(t, "team-observability", got[0].Waived.Owner)
	assert.Nil(t, got[1].Waived, "another namespace")
	assert.Nil(t, got[2].Waived, "an expired waiver waives nothing")
	assert.Nil(t, got[3].Waived, "expectations are not waivable")

	assert.Equal(t, WaiverExpiredID, got[4].RuleID)
	assert.Equal(t, model.SeverityError, got[4].Severity)
	assert.Equal(t, model.Location{File: "waivers.yaml", Line: 9}, got[4].Location)
	assert.Contains(t, got[4].Message, "expired on 2026-02-28")

	assert.Equal(t, WaiverUnusedID, got[5].RuleID)
	assert.Equal(t, model.SeverityInfo, got[5].Severity)
	assert.Equal(t, 14, got[5].Location.Line)

	assert.Nil(t, findings[0].Waived, "the input is not modified")

	// The next day NP015's waiver expires too.
	got = ApplyWaivers(findings, ws, now.Add(time.Minute))
	var expiredCount int
	for _, f := range got {
		if f.RuleID == WaiverExpiredID {
			expiredCount++
		}
	}
	assert.Equal(t, 2, expiredCount)
}

func TestWaiverObject(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "NetworkPolicy/app/x", WaiverObject(model.ObjectRef{Kind: "NetworkPolicy", Namespace: "app", Name: "x"}))
	assert.Equal(t, "Namespace/app", WaiverObject(model.ObjectRef{Kind: "Namespace", Name: "app"}))
}
