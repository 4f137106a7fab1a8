package render

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"
)

// crdSchema is a CustomResourceDefinition's openAPIV3Schema, read as
// plain data, that checks an object the way the API server's structural
// schema validation does: types, unknown fields (pruning is reported,
// not silent), required fields, enums, patterns, lengths, bounds,
// int-or-string, oneOf/anyOf and the cidr format. CEL rules
// (x-kubernetes-validations) are not evaluated; the decoders check
// what they say.
type crdSchema struct {
	root map[string]any
	res  sync.Map // pattern -> *regexp.Regexp
}

// loadCRDSchema reads the openAPIV3Schema of version from a CRD
// manifest.
func loadCRDSchema(manifest []byte, version string) (*crdSchema, error) {
	var crd struct {
		Spec struct {
			Versions []struct {
				Name   string `json:"name"`
				Schema struct {
					OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(manifest, &crd); err != nil {
		return nil, fmt.Errorf("read crd: %w", err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name == version && v.Schema.OpenAPIV3Schema != nil {
			return &crdSchema{root: v.Schema.OpenAPIV3Schema}, nil
		}
	}
	return nil, fmt.Errorf("crd has no schema for version %s", version)
}

// validate checks doc, the object without its metadata (which the API
// server checks apart), against the schema.
func (s *crdSchema) validate(doc map[string]any) []fieldError {
	var errs []fieldError
	props, _ := s.root["properties"].(map[string]any)
	for _, k := range sortedKeys(doc) {
		if k == "metadata" || k == "apiVersion" || k == "kind" {
			continue
		}
		sub, ok := props[k].(map[string]any)
		if !ok {
			errs = append(errs, fieldError{path: fieldPath{k}, msg: fmt.Sprintf("unknown field %q", k)})
			continue
		}
		s.check(doc[k], sub, fieldPath{k}, &errs)
	}
	return errs
}

func (s *crdSchema) re(pattern string) *regexp.Regexp {
	if r, ok := s.res.Load(pattern); ok {
		return r.(*regexp.Regexp)
	}
	r, err := regexp.Compile(pattern)
	if err != nil {
		r = nil
	}
	s.res.Store(pattern, r)
	return r
}

func schemaType(v any) string {
	switch v := v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		if v == math.Trunc(v) {
			return "integer"
		}
		return "number"
	case int, int64:
		return "integer"
	}
	return "null"
}

func (s *crdSchema) check(v any, sch map[string]any, path fieldPath, errs *[]fieldError) {
	add := func(format string, args ...any) {
		*errs = append(*errs, fieldError{path: path, msg: fmt.Sprintf(format, args...)})
	}
	switch n := v.(type) {
	case nil:
		return // null is the zero value (nullable or pruned by the server)
	case int:
		v = float64(n)
	case int64:
		v = float64(n)
	case uint64:
		v = float64(n)
	}
	got := schemaType(v)
	if b, _ := sch["x-kubernetes-int-or-string"].(bool); b {
		if got != "integer" && got != "string" {
			add("expected an integer or a string, got %s", describe(v))
		}
		return
	}
	want, _ := sch["type"].(string)
	switch {
	case want == "" || want == got:
	case want == "number" && got == "integer":
	default:
		add("expected %s, got %s", article(want), describe(v))
		return
	}
	if enum, ok := sch["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if fmt.Sprint(e) == fmt.Sprint(v) {
				found = true
			}
		}
		if !found {
			var vals []string
			for _, e := range enum {
				vals = append(vals, fmt.Sprintf("%q", fmt.Sprint(e)))
			}
			add("unsupported value %q: supported values: %s", fmt.Sprint(v), strings.Join(vals, ", "))
		}
	}
	switch v := v.(type) {
	case string:
		if n, ok := sch["maxLength"].(float64); ok && float64(len(v)) > n {
			add("may not be longer than %d characters", int(n))
		}
		if n, ok := sch["minLength"].(float64); ok && float64(len(v)) < n {
			add("should be at least %d characters long", int(n))
		}
		if p, ok := sch["pattern"].(string); ok {
			if r := s.re(p); r != nil && !r.MatchString(v) {
				add("invalid value %q: should match %q", v, p)
			}
		}
		if f, _ := sch["format"].(string); f == "cidr" {
			if _, err := netip.ParsePrefix(v); err != nil {
				add("invalid value %q: not a CIDR", v)
			}
		}
	case float64:
		if n, ok := sch["maximum"].(float64); ok && v > n {
			add("should be less than or equal to %v", n)
		}
		if n, ok := sch["minimum"].(float64); ok && v < n {
			add("should be greater than or equal to %v", n)
		}
	case []any:
		if n, ok := sch["maxItems"].(float64); ok && float64(len(v)) > n {
			add("must have at most %d items", int(n))
		}
		if n, ok := sch["minItems"].(float64); ok && float64(len(v)) < n {
			add("should have at least %d items", int(n))
		}
		if items, ok := sch["items"].(map[string]any); ok {
			for i, e := range v {
				s.check(e, items, path.index(i), errs)
			}
		}
	case map[string]any:
		props, _ := sch["properties"].(map[string]any)
		preserve, _ := sch["x-kubernetes-preserve-unknown-fields"].(bool)
		addl, hasAddl := sch["additionalProperties"]
		for _, k := range sortedKeys(v) {
			if sub, ok := props[k].(map[string]any); ok {
				s.check(v[k], sub, path.key(k), errs)
				continue
			}
			switch a := addl.(type) {
			case map[string]any:
				s.check(v[k], a, path.key(k), errs)
				continue
			case bool:
				if a {
					continue
				}
			}
			if !preserve && (props != nil || hasAddl) {
				*errs = append(*errs, fieldError{path: path.key(k), msg: fmt.Sprintf("unknown field %q", k)})
			}
		}
		if req, ok := sch["required"].([]any); ok {
			for _, r := range req {
				if k, _ := r.(string); k != "" {
					if _, ok := v[k]; !ok {
						*errs = append(*errs, fieldError{path: path.key(k), msg: "required value"})
					}
				}
			}
		}
		s.alternatives(v, sch, path, errs)
	}
}

// alternatives checks oneOf and anyOf, whose branches in CRD schemas only
// require fields: exactly one (oneOf) or at least one (anyOf) branch must
// hold.
func (s *crdSchema) alternatives(v map[string]any, sch map[string]any, path fieldPath, errs *[]fieldError) {
	for _, kw := range []string{"oneOf", "anyOf"} {
		branches, ok := sch[kw].([]any)
		if !ok {
			continue
		}
		held := 0
		var names []string
		for _, b := range branches {
			bm, _ := b.(map[string]any)
			req, _ := bm["required"].([]any)
			all := true
			for _, r := range req {
				k := fmt.Sprint(r)
				names = append(names, k)
				if _, ok := v[k]; !ok {
					all = false
				}
			}
			if all {
				held++
			}
		}
		sort.Strings(names)
		names = compactStrings(names)
		switch {
		case kw == "oneOf" && held != 1:
			*errs = append(*errs, fieldError{path: path, msg: fmt.Sprintf("exactly one of %s must be set", strings.Join(names, ", "))})
		case kw == "anyOf" && held == 0:
			*errs = append(*errs, fieldError{path: path, msg: fmt.Sprintf("at least one of %s must be set", strings.Join(names, ", "))})
		}
	}
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func article(t string) string {
	switch t {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "integer":
		return "an integer"
	}
	return "a " + t
}
