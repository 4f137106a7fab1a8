package deploy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"sigs.k8s.io/yaml"

	"github.com/reachgate/reachgate/pipeline/model"
)

func obj(t *testing.T, doc string) model.Object {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	md := m["metadata"].(map[string]any)
	return model.Object{
		ObjectRef:  model.ObjectRef{Kind: m["kind"].(string), Name: md["name"].(string)},
		APIVersion: m["apiVersion"].(string),
		Doc:        m,
		Source:     model.Location{File: "argocd/apps.yaml", Line: 1},
	}
}

var dirs = []string{"bases", "bases/app", "overlays", "overlays/dev", "overlays/prod", "overlays/prod-v2", "overlays/staging", "argocd"}

func paths(ss []Source) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Path)
	}
	return out
}

func TestApplicationSetGitDirectories(t *testing.T) {
	set := obj(t, `apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: envs}
spec:
  goTemplate: true
  generators:
  - git:
      repoURL: https://example.com/r.git
      directories:
      - path: overlays/*
      - path: overlays/staging
        exclude: true
  template:
    spec:
      source: {path: "{{ .path.path }}"}
`)
	got, problems := Sources([]model.Object{set}, dirs)
	assert.Empty(t, problems)
	assert.Equal(t, []string{"overlays/dev", "overlays/prod", "overlays/prod-v2"}, paths(got))
	assert.Equal(t, "ApplicationSet/envs", got[0].Object.String())
}

func TestApplicationsListAndMatrix(t *testing.T) {
	app := obj(t, `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: one}
spec:
  source: {path: overlays/dev}
  sources:
  - {path: /overlays/prod/}
  - {chart: redis, repoURL: https://charts.example.com}
  - {path: elsewhere/not-here}
`)
	list := obj(t, `apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: list}
spec:
  generators:
  - matrix:
      generators:
      - list:
          elements:
          - {env: staging}
      - clusters: {}
  template:
    spec:
      source: {path: "overlays/{{env}}"}
`)
	got, problems := Sources([]model.Object{app, list}, dirs)
	assert.Equal(t, []string{"overlays/dev", "overlays/prod", "overlays/staging"}, paths(got))
	assert.Equal(t, []string{"ApplicationSet/list (argocd/apps.yaml:1): generator clusters is not evaluated: the directories it deploys are unknown"}, problems)
}

func TestUnresolvedTemplateIsAProblem(t *testing.T) {
	set := obj(t, `apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: odd}
spec:
  generators:
  - git: {directories: [{path: "overlays/*"}]}
  template:
    spec:
      source: {path: "{{ index .path.segments 1 }}"}
`)
	got, problems := Sources([]model.Object{set}, dirs)
	assert.Empty(t, got)
	assert.Len(t, problems, 1)
	assert.Contains(t, problems[0], `cannot resolve the template path "{{ index .path.segments 1 }}"`)
}
