// Package rego embeds reachgate's built-in rule pack: the *.rego files of
// this directory and of its subdirectories (the rules, their tests and
// the shared library in lib/), compiled into the binary so that the pack
// a repository is judged by is the one of the reachgate that judges it.
//
// The files stay where they are; only this file is Go. A repository's
// own rules are loaded beside the pack from the directories its
// reachgate.yaml lists under rules.paths.
package rego

import "embed"

// FS holds the pack: *.rego at its root and one directory down (lib/).
// TestPackEmbedsEveryFile keeps the patterns in step with the directory.
//
//go:embed *.rego */*.rego
var FS embed.FS
