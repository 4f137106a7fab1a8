package render

import (
	"path"
	"sort"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// KustomizationDir is what `reachgate init` needs to know of one
// kustomization directory to tell an overlay from a base.
type KustomizationDir struct {
	// Dir is the directory, relative to the root.
	Dir string
	// Component is set for kind: Component.
	Component bool
	// Uses lists the directories inside the root that its resources,
	// components and bases name, relative to the root.
	Uses []string
	// Err is set when the kustomization file does not parse; such a
	// directory is still listed.
	Err error
}

// FindKustomizations reads the kustomization file of each of dirs
// (root-relative, slash-separated) that has one, in the order given.
func FindKustomizations(fsys filesys.FileSystem, root string, dirs []string) []KustomizationDir {
	var out []KustomizationDir
	for _, dir := range dirs {
		file := ""
		for _, n := range konfig.RecognizedKustomizationFileNames() {
			if p := path.Join(root, dir, n); fsys.Exists(p) && !fsys.IsDir(p) {
				file = p
				break
			}
		}
		if file == "" {
			continue
		}
		kd := KustomizationDir{Dir: dir}
		data, err := fsys.ReadFile(file)
		if err == nil {
			var k types.Kustomization
			if err = k.Unmarshal(data); err == nil {
				kd.Component = k.Kind == types.ComponentKind
				refs := append(append(append([]string{}, k.Resources...), k.Components...), k.Bases...) //nolint:staticcheck // bases is deprecated, still read
				seen := map[string]bool{}
				for _, r := range refs {
					p, ok := join(dir, r)
					if ok && !seen[p] && fsys.IsDir(path.Join(root, p)) {
						seen[p] = true
						kd.Uses = append(kd.Uses, p)
					}
				}
				sort.Strings(kd.Uses)
			}
		}
		kd.Err = err
		out = append(out, kd)
	}
	return out
}
