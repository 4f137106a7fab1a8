package argocd_test

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

func readYAML(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, yaml.Unmarshal(b, &m))
	return m
}

// get walks m along keys; it fails the test when a step is missing.
func get[T any](t *testing.T, m any, keys ...string) T {
	t.Helper()
	for _, k := range keys {
		mm, ok := m.(map[string]any)
		require.True(t, ok, "%v: not a map at %q", keys, k)
		m, ok = mm[k]
		require.True(t, ok, "%v: no %q", keys, k)
	}
	v, ok := m.(T)
	require.True(t, ok, "%v: %T", keys, m)
	return v
}

// execute renders every string of v as a Go template, as the ApplicationSet
// controller does with goTemplate: true and missingkey=error.
func execute(t *testing.T, v any, params map[string]any) any {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			out[execute(t, k, params).(string)] = execute(t, e, params)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = execute(t, e, params)
		}
		return out
	case string:
		return renderTemplate(t, v, params)
	}
	return v
}

func renderTemplate(t *testing.T, text string, params map[string]any) string {
	t.Helper()
	tmpl, err := template.New("").Option("missingkey=error").Parse(text)
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, tmpl.Execute(&b, params))
	return b.String()
}

func merge(dst, patch map[string]any) {
	for k, v := range patch {
		if pm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, pm)
				continue
			}
		}
		dst[k] = v
	}
}

// application is what the ApplicationSet generates for one overlay directory.
func application(t *testing.T, appset map[string]any, dir string) map[string]any {
	t.Helper()
	params := map[string]any{"path": map[string]any{"path": dir, "basename": path.Base(dir)}}
	app := execute(t, get[map[string]any](t, appset, "spec", "template"), params).(map[string]any)
	var patch map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(renderTemplate(t, get[string](t, appset, "spec", "templatePatch"), params)), &patch))
	merge(app, patch)
	return app
}

func TestApplicationSetPerEnvironment(t *testing.T) {
	t.Parallel()
	appset := readYAML(t, "applicationset.yaml")
	project := readYAML(t, "project.yaml")

	assert.Equal(t, true, get[bool](t, appset, "spec", "goTemplate"))
	gitGen := get[map[string]any](t, get[[]any](t, appset, "spec", "generators")[0], "git")
	assert.Equal(t, "overlays/*", get[string](t, get[[]any](t, gitGen, "directories")[0], "path"))

	windows := get[[]any](t, project, "spec", "syncWindows")
	repos := get[[]any](t, project, "spec", "sourceRepos")
	var destinations []string
	for _, d := range get[[]any](t, project, "spec", "destinations") {
		destinations = append(destinations, get[string](t, d, "name"))
	}

	// The generator's directories: every overlays/* directory but those an
	// exclude entry matches. Each overlay gets its Application, prod-cilium
	// included (the gate judges it: reachgate.yaml lists it).
	var include, exclude []string
	for _, d := range get[[]any](t, gitGen, "directories") {
		if ex, _ := d.(map[string]any)["exclude"].(bool); ex {
			exclude = append(exclude, get[string](t, d, "path"))
			continue
		}
		include = append(include, get[string](t, d, "path"))
	}
	matches := func(patterns []string, dir string) bool {
		for _, p := range patterns {
			if ok, err := path.Match(p, dir); err == nil && ok {
				return true
			}
		}
		return false
	}
	kusts, err := filepath.Glob(filepath.Join("..", "overlays", "*", "kustomization.yaml"))
	require.NoError(t, err)
	var envs []string
	for _, k := range kusts {
		dir := "overlays/" + filepath.Base(filepath.Dir(k))
		assert.True(t, matches(include, dir) && !matches(exclude, dir), "the ApplicationSet does not deploy %s", dir)
		envs = append(envs, path.Base(dir))
	}
	require.Contains(t, envs, "prod-cilium")

	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			app := application(t, appset, "overlays/"+env)
			assert.Equal(t, "reachgate-"+env, get[string](t, app, "metadata", "name"))
			assert.Equal(t, get[string](t, project, "metadata", "name"), get[string](t, app, "spec", "project"))
			assert.Equal(t, "overlays/"+env, get[string](t, app, "spec", "source", "path"))
			assert.Contains(t, repos, get[string](t, app, "spec", "source", "repoURL"))
			assert.Equal(t, get[string](t, gitGen, "repoURL"), get[string](t, app, "spec", "source", "repoURL"))
			assert.Contains(t, destinations, get[string](t, app, "spec", "destination", "name"))
			assert.Contains(t, get[[]any](t, app, "spec", "syncPolicy", "syncOptions"), "PruneLast=true")

			inWindow := false
			for _, w := range windows {
				for _, a := range get[[]any](t, w, "applications") {
					if a == get[string](t, app, "metadata", "name") {
						inWindow = true
					}
				}
			}
			syncPolicy := get[map[string]any](t, app, "spec", "syncPolicy")
			if strings.HasPrefix(env, "prod") {
				assert.NotContains(t, syncPolicy, "automated", "prod syncs by hand")
				assert.True(t, inWindow, "prod is bound to a sync window")
				return
			}
			assert.Equal(t, true, get[bool](t, syncPolicy, "automated", "prune"))
			assert.Equal(t, true, get[bool](t, syncPolicy, "automated", "selfHeal"))
			assert.False(t, inWindow, "%s syncs at any time", env)
		})
	}
}

func TestProjectProdWindow(t *testing.T) {
	t.Parallel()
	project := readYAML(t, "project.yaml")
	windows := get[[]any](t, project, "spec", "syncWindows")
	require.Len(t, windows, 1)
	w := windows[0]
	assert.Equal(t, "allow", get[string](t, w, "kind"))
	// An inactive allow window with manualSync blocks nothing manual; prod
	// must be closed outside the window.
	assert.Equal(t, false, get[bool](t, w, "manualSync"))
	assert.Equal(t, []any{"reachgate-prod", "reachgate-prod-cilium"}, get[[]any](t, w, "applications"))

	var cluster []string
	for _, k := range get[[]any](t, project, "spec", "clusterResourceWhitelist") {
		cluster = append(cluster, get[string](t, k, "kind"))
	}
	assert.Equal(t, []string{"Namespace", "CiliumClusterwideNetworkPolicy", "AdminNetworkPolicy"}, cluster, "Namespaces, and prod-cilium's guardrails")
}
