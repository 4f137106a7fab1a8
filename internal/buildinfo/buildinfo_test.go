package buildinfo

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestResolve(t *testing.T) {
	goInstall := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/reachgate/reachgate", Version: "v1.2.3"}}
	checkout := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-11-30T10:12:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	for name, tc := range map[string]struct {
		v, c, d string
		bi      *debug.BuildInfo
		want    string
	}{
		"release build": {"v1.2.3", "abc", "2026-11-30T10:12:00Z", checkout, "v1.2.3 (commit abc-modified, 2026-11-30T10:12:00Z), go1.26.8"},
		"go install":    {"", "", "", goInstall, "v1.2.3, go1.26.8"},
		"git checkout":  {"", "", "", checkout, "dev (commit 0123456789abcdef0123456789abcdef01234567-modified, 2026-11-30T10:12:00Z), go1.26.8"},
		"nothing known": {"", "", "", nil, "dev, " + Get().Go},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, resolve(tc.v, tc.c, tc.d, tc.bi).String())
		})
	}
}
