// Package schemas holds the JSON schemas of reachgate's own files:
// reachgate.yaml, expectations.yaml and waivers.yaml (editors validate
// them through a yaml-language-server modeline; `reachgate init` writes
// one naming these files on the main branch). Its tests hold the schemas
// to what reachgate accepts.
package schemas
