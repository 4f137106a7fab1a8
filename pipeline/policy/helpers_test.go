package policy

import "flag"

var update = flag.Bool("update", false, "rewrite golden files")

// repoRego is the repository's rule directory, relative to this package.
const repoRego = "../../rego"
