package live

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// MaxFileSize bounds a file of live objects.
const MaxFileSize = 256 << 20

// ReadFile reads live objects exported from a cluster, as
//
//	kubectl get namespaces,pods,services,networkpolicies -A -o yaml > live.yaml
//
// writes them: a List, or YAML documents of single objects or Lists. Only
// the namespaces asked for are kept, as Read would; other kinds are
// ignored. Errors name the file, the document and the object.
func ReadFile(name string, data []byte, namespaces []string) (*State, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d a file of live objects may have", name, len(data), MaxFileSize)
	}
	st := &State{Source: name}
	want := map[string]bool{}
	for _, n := range namespaces {
		want[n] = true
	}
	type head struct {
		APIVersion string                           `json:"apiVersion"`
		Kind       string                           `json:"kind"`
		Metadata   struct{ Name, Namespace string } `json:"metadata"`
		Items      []json.RawMessage                `json:"items"`
	}
	var errs []error
	add := func(where string, raw json.RawMessage) {
		var h head
		if err := json.Unmarshal(raw, &h); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", name, where, err))
			return
		}
		what := fmt.Sprintf("%s: %s (%s %s)", name, where, h.Kind, nsName(h.Metadata.Namespace, h.Metadata.Name))
		decode := func(out any) bool {
			if err := json.Unmarshal(raw, out); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", what, err))
				return false
			}
			return true
		}
		switch {
		case h.Kind == "Namespace" && h.APIVersion == "v1":
			var o corev1.Namespace
			if decode(&o) && want[o.Name] {
				st.Namespaces = append(st.Namespaces, o)
			}
		case h.Kind == "Pod" && h.APIVersion == "v1":
			var o corev1.Pod
			if decode(&o) && want[o.Namespace] {
				st.Pods = append(st.Pods, o)
			}
		case h.Kind == "Service" && h.APIVersion == "v1":
			var o corev1.Service
			if decode(&o) && want[o.Namespace] {
				st.Services = append(st.Services, o)
			}
		case h.Kind == "NetworkPolicy" && h.APIVersion == "networking.k8s.io/v1":
			var o networkingv1.NetworkPolicy
			if decode(&o) && want[o.Namespace] {
				st.Policies = append(st.Policies, o)
			}
		case h.Kind == "":
			errs = append(errs, fmt.Errorf("%s: missing kind", what))
		}
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for doc := 1; ; doc++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: document %d: %w", name, doc, err))
			break
		}
		if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
			continue
		}
		var h head
		if err := json.Unmarshal(raw, &h); err != nil {
			errs = append(errs, fmt.Errorf("%s: document %d: %w", name, doc, err))
			continue
		}
		if h.Kind == "List" || (h.Items != nil && h.Kind != "") {
			for i, it := range h.Items {
				add(fmt.Sprintf("document %d, items[%d]", doc, i), it)
			}
			continue
		}
		add(fmt.Sprintf("document %d", doc), raw)
	}
	for _, n := range namespaces {
		if !slices.ContainsFunc(st.Namespaces, func(o corev1.Namespace) bool { return o.Name == n }) {
			st.Missing = append(st.Missing, n)
		}
	}
	slices.Sort(st.Missing)
	st.Missing = slices.Compact(st.Missing)
	return st, errors.Join(errs...)
}

func nsName(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}
