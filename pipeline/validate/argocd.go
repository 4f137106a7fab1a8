package validate

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/reachgate/reachgate/pipeline/model"
)

// The Argo CD kinds are custom resources: the API server checks them
// against the CRD's OpenAPI schema (argo-cd v3.6 manifests/crds). Offline,
// only the schema's required fields are checked, with the server's wording;
// Server checks the whole schema.

// argoRequired lists the required fields of each Argo CD kind's schema:
// each entry is a parent path ("" for the root) and the fields it requires.
var argoRequired = map[string][][]string{
	"Application":    {{"", "metadata", "spec"}, {"spec", "destination", "project"}, {"spec.source", "repoURL"}},
	"ApplicationSet": {{"", "metadata", "spec"}, {"spec", "generators", "template"}, {"spec.template", "metadata", "spec"}},
	"AppProject":     {{"", "metadata", "spec"}},
}

func init() {
	for kind, required := range argoRequired {
		checks["argoproj.io/"+kind] = func(o model.Object, _ string) (any, field.ErrorList, string) {
			return nil, checkRequired(o.Doc, required), ""
		}
	}
}

func checkRequired(doc map[string]any, required [][]string) field.ErrorList {
	var errs field.ErrorList
	for _, r := range required {
		parent, fields := r[0], r[1:]
		node := lookup(doc, parent)
		if node == nil {
			continue // an absent parent is reported by its own parent, or optional
		}
		for _, f := range fields {
			if v, ok := node[f]; !ok || v == nil {
				errs = append(errs, field.Required(fieldPath(parent).Child(f), ""))
			}
		}
	}
	return errs
}

// lookup returns the map at a dotted path of doc; "" is doc itself.
func lookup(doc map[string]any, dotted string) map[string]any {
	if dotted == "" {
		return doc
	}
	node := doc
	for _, step := range strings.Split(dotted, ".") {
		next, ok := node[step].(map[string]any)
		if !ok {
			return nil
		}
		node = next
	}
	return node
}

// fieldPath turns a dotted path into a field.Path; "" is the root.
func fieldPath(dotted string) *field.Path {
	if dotted == "" {
		return nil
	}
	steps := strings.Split(dotted, ".")
	return field.NewPath(steps[0], steps[1:]...)
}
