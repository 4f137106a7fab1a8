package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/pipeline/model"
)

// seeds adds the YAML files of this repository's policy set and of the
// package's test data as seeds.
func seeds(f *testing.F, dirs ...string) [][]byte {
	var out [][]byte
	for _, d := range dirs {
		_ = filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() || (filepath.Ext(p) != ".yaml" && filepath.Ext(p) != ".yml") {
				return nil
			}
			if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
				out = append(out, b)
			}
			return nil
		})
	}
	if len(out) == 0 {
		f.Fatal("no seeds")
	}
	return out
}

// inputError: the render may refuse any input, but only as an input error
// (or several), never by panicking or with another error.
func inputError(t *testing.T, err error) {
	var one *model.InputError
	var many model.InputErrors
	if err != nil && !errors.As(err, &one) && !errors.As(err, &many) {
		t.Fatalf("not an input error: %T %v", err, err)
	}
}

// FuzzKustomization renders an overlay whose kustomization file and one
// resource file are the input, next to a base of this repository.
func FuzzKustomization(f *testing.F) {
	kusts := seeds(f, "../../overlays", "../../bases")
	resources := seeds(f, "../../bases/app/network-policies", "../../overlays/prod")
	for i, k := range kusts {
		f.Add(k, resources[i%len(resources)])
	}
	f.Add([]byte("resources: [r.yaml, ../base]\nnamePrefix: p-\n"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"))
	base := memBase(f)
	f.Fuzz(func(t *testing.T, kust, resource []byte) {
		fs := filesys.MakeFsInMemory()
		for p, b := range base {
			if err := fs.WriteFile(p, b); err != nil {
				t.Fatal(err)
			}
		}
		if fs.WriteFile("/o/kustomization.yaml", kust) != nil || fs.WriteFile("/o/r.yaml", resource) != nil {
			t.Skip()
		}
		_, err := NewRenderer(fs, "/", DefaultLimits).Overlay(context.Background(), "o")
		inputError(t, err)
	})
}

// memBase is a small base the fuzzed overlay may include as ../base.
func memBase(f *testing.F) map[string][]byte {
	return map[string][]byte{
		"/base/kustomization.yaml": []byte("resources: [deploy.yaml, netpol.yaml]\n"),
		"/base/deploy.yaml":        []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {app: web}}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx, ports: [{name: http, containerPort: 80}]}]}\n"),
		"/base/netpol.yaml":        []byte("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n"),
	}
}
