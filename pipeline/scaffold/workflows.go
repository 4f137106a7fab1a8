package scaffold

import (
	"fmt"
	"regexp"
)

// releaseTag matches the tags reachgate releases carry.
var releaseTag = regexp.MustCompile(`^v\d+\.\d+\.\d+$`)

// Workflow files init writes, relative to the repository root.
const (
	CheckWorkflow   = ".github/workflows/reachgate.yml"
	CommentWorkflow = ".github/workflows/reachgate-comment.yml"
)

// Workflows writes the two workflows of a repository that calls
// reachgate's reusable workflow: the check on pull requests, without
// secrets and with a read-only token, and the comment, run by
// workflow_run from the default branch with a write token, which never
// checks out the pull request. version is the reachgate release they
// pin; a build that is not a release pins main and builds from source.
func Workflows(version string) map[string][]byte {
	ref, install, pin := version, "release", "# pin the commit of this tag: uses: ...@<sha> # "+version
	if !releaseTag.MatchString(version) {
		version, ref, install, pin = "main", "main", "source", "# pin a release: @<sha of the tag> # vX.Y.Z, and version: vX.Y.Z"
	}
	uses := "reachgate/reachgate/.github/workflows/reachgate.yml@" + ref
	check := fmt.Sprintf(`# The reachgate gate, written by `+"`reachgate init`"+`. It runs on every pull
# request without secrets and with a read-only token; the comment is posted
# by reachgate-comment.yml. Make the check "reachgate / check" required in
# the branch protection of the default branch.
name: reachgate
on:
  pull_request:
permissions:
  contents: read
jobs:
  reachgate:
    uses: %s %s
    permissions:
      contents: read
      security-events: write
    with:
      version: %s
      install: %s
      # overlays: "staging prod"     # default: every overlay of reachgate.yaml
      # fail-on: error               # error | warning | info
      # fail-on-new: true            # fail only on findings the base does not have
`, uses, pin, version, install)
	comment := fmt.Sprintf(`# Posts the reachgate report of a pull request as one sticky comment, with a
# commit status per overlay. It runs the default branch's workflow with a
# write token and never checks out the pull request (safe for forks).
# Written by `+"`reachgate init`"+`.
name: reachgate-comment
on:
  workflow_run:
    workflows: [reachgate]
    types: [completed]
permissions: {}
jobs:
  reachgate:
    uses: %s %s
    permissions:
      actions: read
      contents: read
      pull-requests: write
      statuses: write
    with:
      version: %s
      install: %s
`, uses, pin, version, install)
	return map[string][]byte{CheckWorkflow: []byte(check), CommentWorkflow: []byte(comment)}
}
