package policy

import (
	"github.com/reachgate/reachgate/internal/yamlfile"
)

// APIVersion is the apiVersion of expectations and waivers files.
const APIVersion = "reachgate.dev/v1alpha1"

// header checks a file's apiVersion and kind.
func header(f *yamlfile.File, apiVersion, kind, wantKind string) {
	if apiVersion != APIVersion {
		f.Add("apiVersion", "apiVersion", "apiVersion %q: want %s", apiVersion, APIVersion)
	}
	if kind != wantKind {
		f.Add("kind", "kind", "kind %q: want %s", kind, wantKind)
	}
}
