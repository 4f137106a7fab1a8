package yamlfile

import "testing"

func TestFieldLine(t *testing.T) {
	t.Parallel()
	ms := ParseManifests([]byte(`# a comment before the first document
apiVersion: v1
kind: Pod
metadata: {namespace: app, name: web}
spec:
  containers:
    - name: web
      ports:
        - containerPort: 80
        - containerPort: 99999
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny
spec:
  podSelector: {}
  policyTypes:
  - Egress
  - to: []
`))
	if len(ms) != 2 {
		t.Fatalf("%d documents, want 2", len(ms))
	}
	for _, c := range []struct {
		doc   int
		field string
		want  int
	}{
		{2, "spec.containers[0].ports[1].containerPort", 10},
		{2, "spec.containers[0].ports[1]", 10},
		{2, "metadata.namespace", 4},  // a flow mapping
		{2, "metadata.labels.app", 4}, // absent: its nearest ancestor
		{2, "", 2},                    // the object itself
		{12, "spec.policyTypes[1]", 20},
		{12, "spec.policyTypes", 18},
		{12, "spec.ingress[0]", 16}, // absent: spec
		{5, "spec", 0},              // no document starts there
	} {
		if got := ms.FieldLine(c.doc, c.field); got != c.want {
			t.Errorf("FieldLine(%d, %q) = %d, want %d", c.doc, c.field, got, c.want)
		}
	}
}

func TestParseManifestsKeepsDocumentsBeforeABrokenOne(t *testing.T) {
	t.Parallel()
	ms := ParseManifests([]byte("a: 1\n---\nb: [\n---\nc: 3\n"))
	if len(ms) != 1 || ms.FieldLine(1, "a") != 1 {
		t.Fatalf("got %d documents", len(ms))
	}
}
