package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/reachgate/reachgate/pipeline/model"
)

// fieldManager is the manager kubectl apply names on create.
const fieldManager = "kubectl-client-side-apply"

// Server validates objects with a server-side dry run against the API
// server of the kubeconfig's current context: every object is sent as
// `kubectl apply --dry-run=server --validate=strict` would create it, and
// each rejection becomes an InputError with the server's field path and
// message at the object's file and line.
//
// A namespaced object can only be dry-run into a namespace that exists, so
// Server first creates, for real, the Namespace objects among objs and the
// namespaces the other objects name. Point it at a throwaway API server
// (scripts/kube/up.sh), never at a cluster you care about.
//
// The error is for problems with the server itself (unreachable, refused
// credentials, 5xx); problems with the objects are the InputErrors.
func Server(ctx context.Context, kubeconfigPath string, objs []model.Object) ([]*model.InputError, error) {
	conn, err := loadKubeconfig(kubeconfigPath)
	if err != nil {
		return nil, err
	}
	c := &client{conn: conn, resources: map[string][]metav1.APIResource{}}
	var out []*model.InputError

	// Namespaces first, for real.
	made := map[string]bool{}
	for _, o := range objs {
		if o.APIVersion != "v1" || o.Kind != "Namespace" {
			continue
		}
		errs, err := c.create(ctx, o, "namespaces", false, "", false)
		if err != nil {
			return nil, err
		}
		out = append(out, errs...)
		made[o.Name] = true
	}
	type target struct {
		resource   string
		namespaced bool
		namespace  string
	}
	targets := make([]*target, len(objs))
	var needed []string
	for i, o := range objs {
		if o.APIVersion == "v1" && o.Kind == "Namespace" {
			continue
		}
		res, err := c.resource(ctx, o.APIVersion, o.Kind)
		if err != nil {
			return nil, err
		}
		if res == nil {
			out = append(out, &model.InputError{Location: o.Source, Object: o.ObjectRef, Field: "kind",
				Message: fmt.Sprintf("no matches for kind %q in version %q; ensure CRDs are installed first", o.Kind, o.APIVersion)})
			continue
		}
		t := &target{resource: res.Name, namespaced: res.Namespaced}
		if t.namespaced {
			t.namespace = objectNamespace(o)
			if t.namespace == "" {
				t.namespace = conn.namespace
			}
			if !made[t.namespace] {
				made[t.namespace] = true
				needed = append(needed, t.namespace)
			}
		}
		targets[i] = t
	}
	sort.Strings(needed)
	for _, ns := range needed {
		if err := c.ensureNamespace(ctx, ns); err != nil {
			return nil, err
		}
	}

	for i, o := range objs {
		t := targets[i]
		if t == nil {
			continue
		}
		errs, err := c.create(ctx, o, t.resource, t.namespaced, t.namespace, true)
		if err != nil {
			return nil, err
		}
		out = append(out, errs...)
	}
	sortErrors(out)
	return out, nil
}

func objectNamespace(o model.Object) string {
	if md, ok := o.Doc["metadata"].(map[string]any); ok {
		if ns, ok := md["namespace"].(string); ok {
			return ns
		}
	}
	return o.Namespace
}

type client struct {
	conn      *connection
	resources map[string][]metav1.APIResource // by apiVersion
}

// resource finds the REST resource of a kind through discovery; nil when
// the server does not serve the kind.
func (c *client) resource(ctx context.Context, apiVersion, kind string) (*metav1.APIResource, error) {
	find := func() *metav1.APIResource {
		for i, r := range c.resources[apiVersion] {
			if r.Kind == kind && !strings.Contains(r.Name, "/") {
				return &c.resources[apiVersion][i]
			}
		}
		return nil
	}
	if _, seen := c.resources[apiVersion]; seen {
		return find(), nil
	}
	p := "/apis/" + apiVersion
	if apiVersion == "v1" {
		p = "/api/v1"
	}
	code, body, err := c.do(ctx, http.MethodGet, p, nil, nil, "")
	if err != nil {
		return nil, err
	}
	var list metav1.APIResourceList
	switch {
	case code == http.StatusNotFound:
	case code == http.StatusOK:
		if err := json.Unmarshal(body, &list); err != nil {
			return nil, fmt.Errorf("discover %s: %w", apiVersion, err)
		}
	default:
		return nil, fmt.Errorf("discover %s: %s", apiVersion, statusText(code, body))
	}
	c.resources[apiVersion] = list.APIResources
	return find(), nil
}

func (c *client) collection(apiVersion, resource string, namespaced bool, namespace string) string {
	p := "/apis/" + apiVersion
	if apiVersion == "v1" {
		p = "/api/v1"
	}
	if namespaced {
		p += "/namespaces/" + url.PathEscape(namespace)
	}
	return p + "/" + resource
}

// create sends the object as a create (a dry run when dryRun is set). When
// the object exists already it sends a dry-run server-side apply instead, so
// a second run against the same server still validates it.
func (c *client) create(ctx context.Context, o model.Object, resource string, namespaced bool, namespace string, dryRun bool) ([]*model.InputError, error) {
	body, err := json.Marshal(o.Doc)
	if err != nil {
		return []*model.InputError{{Location: o.Source, Object: o.ObjectRef, Message: err.Error()}}, nil
	}
	q := url.Values{"fieldValidation": {"Strict"}, "fieldManager": {fieldManager}}
	if dryRun {
		q.Set("dryRun", "All")
	}
	coll := c.collection(o.APIVersion, resource, namespaced, namespace)
	code, resp, err := c.do(ctx, http.MethodPost, coll, q, body, "application/json")
	if err != nil {
		return nil, err
	}
	if code == http.StatusConflict && isReason(resp, metav1.StatusReasonAlreadyExists) {
		q = url.Values{"fieldValidation": {"Strict"}, "fieldManager": {fieldManager}, "force": {"true"}, "dryRun": {"All"}}
		code, resp, err = c.do(ctx, http.MethodPatch, coll+"/"+url.PathEscape(o.Name), q, body, "application/apply-patch+yaml")
		if err != nil {
			return nil, err
		}
	}
	return c.result(o, code, resp)
}

// result turns a response into InputErrors, or an error when the problem
// is the server's, not the object's.
func (c *client) result(o model.Object, code int, body []byte) ([]*model.InputError, error) {
	if code >= 200 && code < 300 {
		return nil, nil
	}
	var st metav1.Status
	if code >= 500 || code == http.StatusUnauthorized || code == http.StatusForbidden ||
		json.Unmarshal(body, &st) != nil || st.Kind != "Status" {
		return nil, fmt.Errorf("%s %s: %s", o.Kind, o.Name, statusText(code, body))
	}
	if st.Reason == metav1.StatusReasonInvalid && st.Details != nil && len(st.Details.Causes) > 0 {
		out := make([]*model.InputError, 0, len(st.Details.Causes))
		for _, cause := range st.Details.Causes {
			out = append(out, &model.InputError{Location: o.Source, Object: o.ObjectRef, Field: cause.Field, Message: cause.Message})
		}
		return out, nil
	}
	return []*model.InputError{{Location: o.Source, Object: o.ObjectRef, Field: fieldOfDecode(o, st.Message), Message: st.Message}}, nil
}

// ensureNamespace creates a namespace for real; one that exists is fine.
func (c *client) ensureNamespace(ctx context.Context, name string) error {
	body, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}})
	code, resp, err := c.do(ctx, http.MethodPost, "/api/v1/namespaces", url.Values{"fieldManager": {fieldManager}}, body, "application/json")
	if err != nil {
		return err
	}
	if code/100 == 2 || code == http.StatusConflict {
		return nil
	}
	if code == http.StatusUnprocessableEntity {
		return nil // an invalid name: the objects in it report "namespace not found"
	}
	return fmt.Errorf("create namespace %s: %s", name, statusText(code, resp))
}

func (c *client) do(ctx context.Context, method, p string, q url.Values, body []byte, contentType string) (int, []byte, error) {
	u := c.conn.server + path.Clean("/"+p)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "reachgate")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	switch {
	case c.conn.token != "":
		req.Header.Set("Authorization", "Bearer "+c.conn.token)
	case c.conn.username != "":
		req.SetBasicAuth(c.conn.username, c.conn.password)
	}
	resp, err := c.conn.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("api server: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("api server: %w", err)
	}
	return resp.StatusCode, b, nil
}

func isReason(body []byte, reason metav1.StatusReason) bool {
	var st metav1.Status
	return json.Unmarshal(body, &st) == nil && st.Reason == reason
}

func statusText(code int, body []byte) string {
	var st metav1.Status
	if json.Unmarshal(body, &st) == nil && st.Message != "" {
		return fmt.Sprintf("%d %s", code, st.Message)
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return fmt.Sprintf("%d %s", code, s)
}
