// Package buildinfo says which reachgate this is: the version, commit and
// date a release build stamps with -ldflags -X, or else what the Go
// toolchain recorded in the binary (go install module@version records the
// module version; a build in a git checkout records the commit and its
// time).
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
)

// Set by release builds:
//
//	-ldflags "-X github.com/reachgate/reachgate/internal/buildinfo.version=v1.2.3
//	          -X github.com/reachgate/reachgate/internal/buildinfo.commit=<sha>
//	          -X github.com/reachgate/reachgate/internal/buildinfo.date=<RFC 3339>"
var version, commit, date string

// Info is the identity of this build.
type Info struct {
	Version string `json:"version"` // v1.2.3, or "dev" when unknown
	Commit  string `json:"commit"`  // full commit SHA, "" when unknown
	Date    string `json:"date"`    // commit or build time (RFC 3339), "" when unknown
	// Modified is set when the commit's tree had uncommitted changes.
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
}

var (
	once sync.Once
	info Info
)

// Get returns the identity of this build.
func Get() Info {
	once.Do(func() {
		bi, _ := debug.ReadBuildInfo()
		info = resolve(version, commit, date, bi)
	})
	return info
}

// Version is Get().Version.
func Version() string { return Get().Version }

// resolve prefers what the linker stamped, then the build information
// the toolchain recorded.
func resolve(v, c, d string, bi *debug.BuildInfo) Info {
	out := Info{Version: v, Commit: c, Date: d, Go: runtime.Version()}
	if bi != nil {
		if out.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			out.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if out.Commit == "" {
					out.Commit = s.Value
				}
			case "vcs.time":
				if out.Date == "" {
					out.Date = s.Value
				}
			case "vcs.modified":
				out.Modified = s.Value == "true"
			}
		}
		if bi.GoVersion != "" {
			out.Go = bi.GoVersion
		}
	}
	if out.Version == "" {
		out.Version = "dev"
	}
	return out
}

// String is the line --version prints.
func (i Info) String() string {
	s := i.Version
	if i.Commit != "" {
		c := i.Commit
		if i.Modified {
			c += "-modified"
		}
		s += fmt.Sprintf(" (commit %s", c)
		if i.Date != "" {
			s += ", " + i.Date
		}
		s += ")"
	} else if i.Date != "" {
		s += " (" + i.Date + ")"
	}
	return s + ", " + i.Go
}
