package validate_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/validate"
	"github.com/reachgate/reachgate/pipeline/validate/validatetest"
)

const token = "s3cret"

// fakeAPIServer speaks enough of the Kubernetes API for Server: discovery,
// creates with Status errors, and server-side apply.
type fakeAPIServer struct {
	mu       sync.Mutex
	requests []string // "METHOD path?query"
	bodies   map[string]map[string]any
	// respond answers a create of a non-namespace object; nil accepts it.
	respond  func(w http.ResponseWriter, obj map[string]any) bool
	existing map[string]bool // namespaces that exist
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func status(code int, reason, msg string, causes ...map[string]string) map[string]any {
	st := map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": msg, "reason": reason, "code": code}
	if len(causes) > 0 {
		st["details"] = map[string]any{"causes": causes}
	}
	return st
}

func (f *fakeAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+token {
		writeJSON(w, 401, status(401, "Unauthorized", "Unauthorized"))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	switch {
	case r.Method == "GET" && r.URL.Path == "/api/v1":
		writeJSON(w, 200, map[string]any{"kind": "APIResourceList", "groupVersion": "v1", "resources": []map[string]any{
			{"name": "namespaces", "kind": "Namespace", "namespaced": false},
			{"name": "namespaces/status", "kind": "Namespace", "namespaced": false},
			{"name": "services", "kind": "Service", "namespaced": true},
		}})
	case r.Method == "GET" && r.URL.Path == "/apis/networking.k8s.io/v1":
		writeJSON(w, 200, map[string]any{"kind": "APIResourceList", "groupVersion": "networking.k8s.io/v1", "resources": []map[string]any{
			{"name": "networkpolicies", "kind": "NetworkPolicy", "namespaced": true},
		}})
	case r.Method == "GET":
		writeJSON(w, 404, status(404, "NotFound", "the server could not find the requested resource"))
	case r.Method == "POST" && r.URL.Path == "/api/v1/namespaces":
		var obj map[string]any
		if err := json.NewDecoder(r.Body).Decode(&obj); err != nil {
			writeJSON(w, 400, status(400, "BadRequest", err.Error()))
			return
		}
		name := obj["metadata"].(map[string]any)["name"].(string)
		if f.existing[name] {
			writeJSON(w, 409, status(409, "AlreadyExists", `namespaces "`+name+`" already exists`))
			return
		}
		f.existing[name] = true
		writeJSON(w, 201, obj)
	case r.Method == "POST":
		var obj map[string]any
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &obj)
		f.bodies[r.URL.Path] = obj
		if ns := strings.Split(r.URL.Path, "/"); len(ns) > 5 && !f.existing[ns[len(ns)-2]] {
			writeJSON(w, 404, status(404, "NotFound", `namespaces "`+ns[len(ns)-2]+`" not found`))
			return
		}
		if f.respond != nil && f.respond(w, obj) {
			return
		}
		writeJSON(w, 201, obj)
	case r.Method == "PATCH":
		f.requests[len(f.requests)-1] += " " + r.Header.Get("Content-Type")
		writeJSON(w, 200, map[string]any{})
	default:
		writeJSON(w, 405, status(405, "MethodNotAllowed", "no"))
	}
}

func startFake(t *testing.T, f *fakeAPIServer) string {
	t.Helper()
	if f.bodies == nil {
		f.bodies = map[string]map[string]any{}
	}
	if f.existing == nil {
		f.existing = map[string]bool{}
	}
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "token"), []byte(token+"\n"), 0o600))
	kc := filepath.Join(dir, "kubeconfig")
	require.NoError(t, os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: `+srv.URL+`
    certificate-authority-data: `+base64.StdEncoding.EncodeToString(ca)+`
users:
- name: someone
  user:
    tokenFile: token
contexts:
- name: fake
  context: {cluster: fake, user: someone, namespace: team}
current-context: fake
`), 0o600))
	return kc
}

func objects(t *testing.T, y string) []model.Object {
	t.Helper()
	objs, err := validatetest.Objects("manifests.yaml", []byte(y))
	require.NoError(t, err)
	return objs
}

const twoObjects = `apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: app}
spec:
  podSelector: {}
  ingress:
  - ports: [{protocol: FOO}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 80}]
`

func TestServerMapsCausesToObjects(t *testing.T) {
	t.Parallel()
	f := &fakeAPIServer{respond: func(w http.ResponseWriter, obj map[string]any) bool {
		if obj["kind"] != "NetworkPolicy" {
			return false
		}
		writeJSON(w, 422, status(422, "Invalid", `NetworkPolicy.networking.k8s.io "web" is invalid: spec.ingress[0].ports[0].protocol: Unsupported value: "FOO"`,
			map[string]string{"reason": "FieldValueNotSupported", "message": `Unsupported value: "FOO": supported values: "TCP", "UDP", "SCTP"`, "field": "spec.ingress[0].ports[0].protocol"}))
		return true
	}}
	kc := startFake(t, f)

	errs, err := validate.Server(context.Background(), kc, objects(t, twoObjects))
	require.NoError(t, err)
	require.Len(t, errs, 1)
	assert.Equal(t, `manifests.yaml:5: NetworkPolicy app/web: spec.ingress[0].ports[0].protocol: Unsupported value: "FOO": supported values: "TCP", "UDP", "SCTP"`, errs[0].Error())

	// The namespace is created for real first, then every object is a dry
	// run with strict field validation, as kubectl apply sends it; the
	// Service without a namespace goes to the context's namespace, which
	// is created too.
	q := "dryRun=All&fieldManager=kubectl-client-side-apply&fieldValidation=Strict"
	assert.Equal(t, []string{
		"POST /api/v1/namespaces?fieldManager=kubectl-client-side-apply&fieldValidation=Strict",
		"GET /apis/networking.k8s.io/v1?",
		"GET /api/v1?",
		"POST /api/v1/namespaces?fieldManager=kubectl-client-side-apply",
		"POST /apis/networking.k8s.io/v1/namespaces/app/networkpolicies?" + q,
		"POST /api/v1/namespaces/team/services?" + q,
	}, f.requests)
	assert.Equal(t, "web", f.bodies["/api/v1/namespaces/team/services"]["metadata"].(map[string]any)["name"])
}

func TestServerBadRequestAndUnknownKind(t *testing.T) {
	t.Parallel()
	msg := `NetworkPolicy in version "v1" cannot be handled as a NetworkPolicy: json: cannot unmarshal object into Go struct field NetworkPolicySpec.spec.policyTypes of type v1.PolicyType`
	f := &fakeAPIServer{respond: func(w http.ResponseWriter, obj map[string]any) bool {
		writeJSON(w, 400, status(400, "BadRequest", msg))
		return true
	}, existing: map[string]bool{"app": true}}
	kc := startFake(t, f)

	errs, err := validate.Server(context.Background(), kc, objects(t, `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: app}
spec:
  policyTypes: [{to: []}]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: app}
`))
	require.NoError(t, err)
	require.Len(t, errs, 2)
	assert.Equal(t, &model.InputError{Location: model.Location{File: "manifests.yaml", Line: 1},
		Object: model.ObjectRef{Kind: "NetworkPolicy", Namespace: "app", Name: "deny"}, Field: "spec.policyTypes[0]", Message: msg}, errs[0])
	assert.Equal(t, "kind", errs[1].Field)
	assert.Equal(t, `no matches for kind "Widget" in version "example.com/v1"; ensure CRDs are installed first`, errs[1].Message)
}

func TestServerExistingObjectIsApplied(t *testing.T) {
	t.Parallel()
	f := &fakeAPIServer{respond: func(w http.ResponseWriter, obj map[string]any) bool {
		writeJSON(w, 409, status(409, "AlreadyExists", `networkpolicies.networking.k8s.io "web" already exists`))
		return true
	}, existing: map[string]bool{"app": true}}
	kc := startFake(t, f)
	errs, err := validate.Server(context.Background(), kc, objects(t, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: app}\nspec: {podSelector: {}}\n"))
	require.NoError(t, err)
	assert.Empty(t, errs)
	assert.Contains(t, f.requests, "PATCH /apis/networking.k8s.io/v1/namespaces/app/networkpolicies/web?dryRun=All&fieldManager=kubectl-client-side-apply&fieldValidation=Strict&force=true application/apply-patch+yaml")
}

func TestServerErrors(t *testing.T) {
	t.Parallel()
	t.Run("server fault", func(t *testing.T) {
		t.Parallel()
		f := &fakeAPIServer{respond: func(w http.ResponseWriter, _ map[string]any) bool {
			writeJSON(w, 500, status(500, "InternalError", "etcdserver: request timed out"))
			return true
		}, existing: map[string]bool{"app": true}}
		kc := startFake(t, f)
		_, err := validate.Server(context.Background(), kc, objects(t, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: app}\n"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "500 etcdserver: request timed out")
	})
	t.Run("wrong token", func(t *testing.T) {
		t.Parallel()
		kc := startFake(t, &fakeAPIServer{})
		require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(kc), "token"), []byte("wrong"), 0o600))
		_, err := validate.Server(context.Background(), kc, objects(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: app}\n"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "401")
		assert.NotContains(t, err.Error(), "wrong")
	})
	t.Run("exec credentials", func(t *testing.T) {
		t.Parallel()
		kc := filepath.Join(t.TempDir(), "kubeconfig")
		require.NoError(t, os.WriteFile(kc, []byte(`clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {exec: {command: aws}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600))
		_, err := validate.Server(context.Background(), kc, nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "exec and auth-provider credentials are not supported")
	})
	t.Run("missing kubeconfig", func(t *testing.T) {
		t.Parallel()
		_, err := validate.Server(context.Background(), filepath.Join(t.TempDir(), "nope"), nil)
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}
