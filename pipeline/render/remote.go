package render

import (
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
)

var gitUserRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// isRemote reports whether kustomize would fetch ref over the network or
// clone it with git: the URL forms of kustomize's loader (http and https
// files; git over https, http, ssh and file; scp-like user@host:path;
// github.com/org/repo) and anything carrying a ?ref= or ?version= query.
// It errs on the side of calling a reference remote.
func isRemote(ref string) bool {
	s := strings.TrimSpace(ref)
	if filepath.IsAbs(s) {
		return false
	}
	lower := strings.ToLower(s)
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
		return true // http, https, ssh, file, git, s3, ... never a local path
	}
	lower = strings.TrimPrefix(lower, "git::")
	for _, scheme := range []string{"https://", "http://", "ssh://", "file://", "git://"} {
		if strings.HasPrefix(lower, scheme) {
			return true
		}
	}
	if gitUserRE.MatchString(lower) || strings.HasPrefix(lower, "github.com/") || strings.HasPrefix(lower, "github.com:") {
		return true
	}
	return strings.Contains(lower, "?ref=") || strings.Contains(lower, "?version=") ||
		strings.Contains(lower, "&ref=") || strings.Contains(lower, "_git/")
}
