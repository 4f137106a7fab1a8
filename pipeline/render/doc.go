// Package render turns a repository's Kubernetes sources into typed objects
// with their file:line, and loads those objects into a model.Cluster.
//
// Three sources are supported, all read through an injected
// filesys.FileSystem (the working tree, a git ref read into memory, or an
// in-memory test tree):
//
//   - Overlay builds a kustomization in process with krusty: load
//     restrictions root-only, plugins disabled (no exec, no KRM functions, no
//     Helm) and no remote bases. Before building, the kustomization tree is
//     walked: a remote reference (URL, git or ssh) is an input error, not a
//     download, and so is a path that escapes the repository root, directly
//     or through a symlink. Every rendered object is mapped back to the file
//     and line of its document: kustomize reads copies of the resource files
//     in which each document carries a source annotation, which it keeps
//     through patches and renames and which is removed afterwards (this is
//     what buildMetadata: [originAnnotations] would give, plus the line, at
//     a third of its cost). Generated objects point at their generator.
//   - Manifests reads a plain directory of YAML/JSON manifests, multi-document
//     files and List kinds included.
//   - Decode loads objects into the cluster model: namespaces, workloads,
//     services and NetworkPolicies, strictly decoded into their k8s.io/api
//     types so that an unknown field or a wrong type is reported with its
//     field path instead of being silently ignored. Decode checks structure
//     only; the API server's semantic checks live in pipeline/validate,
//     which pipeline/run calls first.
//
// Paths in model.Location are relative to the repository root and use
// forward slashes. The root is the directory "." of the file system (the
// root of an in-memory file system, the working directory on disk) unless
// OverlayRoot or ManifestsRoot name another one.
//
// YAML is read with YAML 1.2 scalar rules, like kustomize: `y`, `on`, `no`
// and `off` are strings, never booleans, and WriteYAML quotes them so that
// YAML 1.1 readers see strings too.
//
// Problems with the user's input are *model.InputError values (or
// model.InputErrors when there are several) naming file, object and field.
// Functions that can load part of their input return the objects that
// loaded together with the errors for the rest.
package render
