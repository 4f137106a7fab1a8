package argocd_test

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/render"
)

const componentPath = "../../argocd/components/sync-waves"

// repoWithWaves copies bases/, overlays/ and argocd/ of the repository into
// memory and makes every overlay include the sync-wave component (a no-op
// for an overlay that already does), so the test sees the overlays as Argo
// CD will sync them.
func repoWithWaves(t *testing.T) (filesys.FileSystem, []string) {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	for _, top := range []string{"bases", "overlays", "argocd"} {
		err := filepath.WalkDir(filepath.Join("..", top), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return mem.WriteFile("/"+filepath.ToSlash(strings.TrimPrefix(p, ".."+string(filepath.Separator))), b)
		})
		require.NoError(t, err)
	}
	dirs, err := filepath.Glob(filepath.Join("..", "overlays", "*", "kustomization.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, dirs, "no overlays/*/kustomization.yaml")
	var overlays []string
	for _, k := range dirs {
		dir := "/overlays/" + filepath.Base(filepath.Dir(k))
		overlays = append(overlays, dir)
		b, err := mem.ReadFile(dir + "/kustomization.yaml")
		require.NoError(t, err)
		var kust map[string]any
		require.NoError(t, yaml.Unmarshal(b, &kust))
		comps, _ := kust["components"].([]any)
		included := false
		for _, c := range comps {
			included = included || c == componentPath
		}
		if !included {
			kust["components"] = append(comps, componentPath)
			b, err = yaml.Marshal(kust)
			require.NoError(t, err)
			require.NoError(t, mem.WriteFile(dir+"/kustomization.yaml", b))
		}
	}
	return mem, overlays
}

type groupKind struct{ group, kind string }

func whitelist(t *testing.T, project map[string]any, key string) map[groupKind]bool {
	t.Helper()
	out := map[groupKind]bool{}
	for _, e := range get[[]any](t, project, "spec", key) {
		out[groupKind{get[string](t, e, "group"), get[string](t, e, "kind")}] = true
	}
	return out
}

func group(o model.Object) string {
	if i := strings.LastIndex(o.APIVersion, "/"); i >= 0 {
		return o.APIVersion[:i]
	}
	return ""
}

func wave(t *testing.T, o model.Object) int {
	t.Helper()
	md, _ := o.Doc["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	s, ok := ann[waveAnnotation].(string)
	require.True(t, ok, "%s at %s has no %s annotation", o.ObjectRef, o.Source, waveAnnotation)
	w, err := strconv.Atoi(s)
	require.NoError(t, err)
	return w
}

// TestOverlaysFitProjectAndWaves renders every overlay of the repository
// and checks that the AppProject admits every object (kind and destination
// namespace) and that the sync waves order namespaces, then default-deny
// policies, then allow policies, then workloads.
func TestOverlaysFitProjectAndWaves(t *testing.T) {
	t.Parallel()
	project := readYAML(t, "project.yaml")
	namespaced := whitelist(t, project, "namespaceResourceWhitelist")
	cluster := whitelist(t, project, "clusterResourceWhitelist")
	mem, overlays := repoWithWaves(t)

	for _, dir := range overlays {
		env := path.Base(dir)
		t.Run(env, func(t *testing.T) {
			allowedNS := map[string]bool{}
			for _, d := range get[[]any](t, project, "spec", "destinations") {
				if get[string](t, d, "name") == env {
					allowedNS[get[string](t, d, "namespace")] = true
				}
			}
			require.NotEmpty(t, allowedNS, "the AppProject has no destination named %s", env)

			objs, err := render.OverlayRoot(mem, "/", dir)
			require.NoError(t, err)
			maxPolicyWave, minWorkloadWave := -100, 100
			for _, o := range objs {
				gk := groupKind{group(o), o.Kind}
				if o.Namespace == "" {
					assert.True(t, cluster[gk], "%s at %s: cluster-scoped %v is not in clusterResourceWhitelist", o.ObjectRef, o.Source, gk)
				} else {
					assert.True(t, namespaced[gk], "%s at %s: %v is not in namespaceResourceWhitelist", o.ObjectRef, o.Source, gk)
					assert.True(t, allowedNS[o.Namespace], "%s at %s: namespace %s is not a destination of %s", o.ObjectRef, o.Source, o.Namespace, env)
				}
				w := wave(t, o)
				switch {
				case o.Kind == "Namespace":
					assert.Equal(t, -3, w, "%s", o.ObjectRef)
				case o.Kind == "NetworkPolicy" && strings.HasPrefix(o.Name, "default-deny"):
					assert.Equal(t, -2, w, "%s", o.ObjectRef)
				case o.Kind == "NetworkPolicy":
					assert.Equal(t, -1, w, "%s", o.ObjectRef)
					maxPolicyWave = max(maxPolicyWave, w)
				case o.Kind == "Deployment" || o.Kind == "StatefulSet" || o.Kind == "DaemonSet" || o.Kind == "CronJob" || o.Kind == "Job":
					minWorkloadWave = min(minWorkloadWave, w)
				}
			}
			assert.Less(t, maxPolicyWave, minWorkloadWave, "allow policies must sync before the workloads")
		})
	}
}

// TestArgoCDKustomization renders argocd/ as `kubectl apply -k argocd/`
// would apply it.
func TestArgoCDKustomization(t *testing.T) {
	t.Parallel()
	objs, err := render.OverlayRoot(filesys.MakeFsOnDisk(), "..", ".")
	require.NoError(t, err)
	var got []string
	for _, o := range objs {
		got = append(got, o.Kind+" "+o.Namespace+"/"+o.Name)
	}
	assert.ElementsMatch(t, []string{"AppProject argocd/reachgate", "ApplicationSet argocd/reachgate-environments"}, got)
}
