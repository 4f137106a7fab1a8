// Package validate checks rendered manifests as the Kubernetes API server
// does. Objects works offline and reports the API server's own field paths
// and messages (what `kubectl apply` prints) for the checks that matter to
// network policy: NetworkPolicies, Services, the ports of workload pod
// templates, object names, and the required fields of the Argo CD kinds.
// Server sends the objects to a real API server as a server-side dry run and
// maps each rejection back to the object's file and line.
package validate

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Objects validates every object offline and returns the problems sorted by
// file, line and field. Kinds it does not know are passed over: the API
// server (see Server) is the full check.
func Objects(objs []model.Object) []*model.InputError {
	errs, _ := ObjectsDecoded(objs)
	return errs
}

// ObjectsDecoded is Objects, and every object as the validation decoded
// it: a pointer to its API type (*appsv1.Deployment, ...), nil for the
// objects of kinds it does not know and those that do not decode. The
// validation only reads what it decodes.
func ObjectsDecoded(objs []model.Object) ([]*model.InputError, []any) {
	return (*Memo)(nil).ObjectsDecoded(objs)
}

// Object validates one object offline.
func Object(obj model.Object) []*model.InputError {
	errs, _ := object(obj)
	return errs
}

func object(obj model.Object) ([]*model.InputError, any) {
	group, version := splitAPIVersion(obj.APIVersion)
	check, ok := checks[group+"/"+obj.Kind]
	if !ok {
		return nil, nil
	}
	typed, errs, decodeErr := check(obj, version)
	if decodeErr != "" {
		return []*model.InputError{{Location: obj.Source, Object: obj.ObjectRef, Field: fieldOfDecode(obj, decodeErr), Message: decodeErr}}, nil
	}
	return fieldErrors(obj, errs), typed
}

// A check decodes the object as the API server would and validates it. It
// returns the decoded object, or the server's message when the object
// cannot be decoded at all.
type check func(obj model.Object, version string) (typed any, errs field.ErrorList, decodeErr string)

var checks = map[string]check{}

// register adds a check for a group and kind; into makes the typed value
// the object is decoded into, and validate checks the decoded value.
func register[T any](group, kind string, validate func(obj *T, version string) field.ErrorList) {
	checks[group+"/"+kind] = func(o model.Object, version string) (any, field.ErrorList, string) {
		v := new(T)
		if msg := decode(o, version, v); msg != "" {
			return nil, nil, msg
		}
		return v, validate(v, version), ""
	}
}

// decode unmarshals the object strictly (unknown and duplicate fields are
// errors), as the API server does under kubectl's default
// --validate=strict, and returns the server's message on failure.
func decode(obj model.Object, version string, into any) string {
	data, err := appendDoc(nil, obj.Doc)
	if err != nil {
		return err.Error()
	}
	strict, err := kjson.UnmarshalStrict(data, into)
	if err == nil && len(strict) == 0 {
		return ""
	}
	if err == nil {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		err = fmt.Errorf("strict decoding error: %s", strings.Join(msgs, ", "))
	}
	return fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", obj.Kind, version, obj.Kind, err)
}

// decodeFieldPatterns find the field a decoding message is about.
var decodeFieldPatterns = []*regexp.Regexp{
	regexp.MustCompile(`Go struct field [A-Za-z0-9_]+\.([^ ]+) of type`),
	regexp.MustCompile(`unknown field "([^"]+)"`),
	regexp.MustCompile(`duplicate field "([^"]+)"`),
}

// fieldOfMessage returns the field path a decoding message names, or "".
func fieldOfMessage(msg string) string {
	for _, re := range decodeFieldPatterns {
		if m := re.FindStringSubmatch(msg); m != nil {
			return m[1]
		}
	}
	return ""
}

// unmarshalKind finds the JSON kind the decoder could not take.
var unmarshalKind = regexp.MustCompile(`cannot unmarshal (object|array|string|number|bool) into`)

// fieldOfDecode is fieldOfMessage narrowed to the list element at fault:
// the decoder names the list ("spec.policyTypes") but not which element
// has the wrong type, and the user needs to know ("spec.policyTypes[1]",
// the seed's egress rule pasted into policyTypes).
func fieldOfDecode(obj model.Object, msg string) string {
	f := fieldOfMessage(msg)
	m := unmarshalKind.FindStringSubmatch(msg)
	if f == "" || m == nil {
		return f
	}
	var v any = obj.Doc
	for _, part := range strings.Split(f, ".") {
		doc, ok := v.(map[string]any)
		if !ok {
			return f
		}
		v = doc[part]
	}
	list, ok := v.([]any)
	if !ok {
		return f
	}
	for i, e := range list {
		if jsonKind(e) == m[1] {
			return fmt.Sprintf("%s[%d]", f, i)
		}
	}
	return f
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return "number"
}

func fieldErrors(obj model.Object, errs field.ErrorList) []*model.InputError {
	out := make([]*model.InputError, 0, len(errs))
	for _, e := range errs {
		out = append(out, &model.InputError{Location: obj.Source, Object: obj.ObjectRef, Field: e.Field, Message: e.ErrorBody()})
	}
	return out
}

func splitAPIVersion(apiVersion string) (group, version string) {
	if i := strings.LastIndex(apiVersion, "/"); i >= 0 {
		return apiVersion[:i], apiVersion[i+1:]
	}
	return "", apiVersion
}

func sortErrors(errs []*model.InputError) {
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i], errs[j]
		if a.Location.File != b.Location.File {
			return a.Location.File < b.Location.File
		}
		return a.Location.Line < b.Location.Line
	})
}
