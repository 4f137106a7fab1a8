package render

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// fieldError is one problem at a field path of an object.
type fieldError struct {
	path fieldPath
	msg  string
}

// decodeStrict decodes a JSON-shaped value into out (a pointer to a
// k8s.io/api type) and reports every unknown field and every value of the
// wrong type with its field path, the way the API server's strict decoding
// does, except that all problems are reported, not the first.
func decodeStrict(v map[string]any, out any) []fieldError {
	var c strictChecker
	c.check(v, reflect.TypeOf(out).Elem(), nil)
	if len(c.errs) > 0 {
		return c.errs
	}
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, out)
	}
	if err != nil {
		return []fieldError{{msg: strings.TrimPrefix(err.Error(), "json: ")}}
	}
	return nil
}

type strictChecker struct {
	errs []fieldError
	// quick: only whether there is a problem matters. The check stops at
	// the first, in whatever order it meets the keys, and keeps neither
	// its path nor its message.
	quick bool
}

func (c *strictChecker) add(path fieldPath, format string, args ...any) {
	if c.quick {
		c.errs = append(c.errs, fieldError{})
		return
	}
	c.errs = append(c.errs, fieldError{path: path.keep(), msg: fmt.Sprintf(format, args...)})
}

// keys calls f for each key of m and its value: sorted, so that problems
// come in order, unless the check is quick; it stops when a quick check
// has found one.
func (c *strictChecker) keys(m map[string]any, path fieldPath, f func(k string, v any, path fieldPath)) {
	if c.quick {
		for k, v := range m {
			if len(c.errs) > 0 {
				return
			}
			f(k, v, path)
		}
		return
	}
	for _, k := range sortedKeys(m) {
		f(k, m[k], path.push(k))
	}
}

var (
	unmarshalerType  = reflect.TypeFor[json.Unmarshaler]()
	intOrStringType  = reflect.TypeFor[intstr.IntOrString]()
	structFieldCache sync.Map // reflect.Type -> map[string]reflect.Type
	customCache      sync.Map // reflect.Type -> bool
)

// decodesItself reports whether a pointer to t has its own JSON decoding
// (resource.Quantity, metav1.Time, ...), remembered per type: asking
// reflect costs more than the rest of checking a value.
func decodesItself(t reflect.Type) bool {
	if c, ok := customCache.Load(t); ok {
		return c.(bool)
	}
	c := reflect.PointerTo(t).Implements(unmarshalerType)
	customCache.Store(t, c)
	return c
}

func (c *strictChecker) check(v any, t reflect.Type, path fieldPath) {
	if v == nil {
		return // null is the zero value, as in JSON
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == intOrStringType {
		c.intOrString(v, path)
		return
	}
	if decodesItself(t) {
		c.custom(v, t, path)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			c.add(path, "expected a mapping, got %s", describe(v))
			return
		}
		fields := structFields(t)
		c.keys(m, path, func(k string, v any, vpath fieldPath) {
			ft, ok := fields[k]
			if !ok {
				c.add(path.key(k), "unknown field")
				return
			}
			c.check(v, ft, vpath)
		})
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			c.add(path, "expected a mapping, got %s", describe(v))
			return
		}
		elem := t.Elem()
		c.keys(m, path, func(_ string, v any, vpath fieldPath) { c.check(v, elem, vpath) })
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			s, ok := v.(string)
			if !ok {
				c.add(path, "expected base64 text, got %s", describe(v))
			} else if _, err := base64.StdEncoding.DecodeString(s); err != nil {
				c.add(path, "invalid base64: %v", err)
			}
			return
		}
		s, ok := v.([]any)
		if !ok {
			c.add(path, "expected a list, got %s", describe(v))
			return
		}
		for i, e := range s {
			if c.quick {
				if len(c.errs) > 0 {
					return
				}
				c.check(e, t.Elem(), path)
				continue
			}
			c.check(e, t.Elem(), path.push(i))
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			c.add(path, "expected a string, got %s", describe(v))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			c.add(path, "expected a boolean (true or false), got %s", describe(v))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, ok := asInt(v)
		if !ok {
			c.add(path, "expected an integer, got %s", describe(v))
		} else if bits := t.Bits(); bits < 64 && (i < -(1<<(bits-1)) || i > 1<<(bits-1)-1) {
			c.add(path, "integer %d is out of range", i)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, ok := asInt(v)
		if !ok {
			c.add(path, "expected an integer, got %s", describe(v))
		} else if bits := t.Bits(); i < 0 || (bits < 64 && i > 1<<bits-1) {
			c.add(path, "integer %d is out of range", i)
		}
	case reflect.Float32, reflect.Float64:
		switch v.(type) {
		case int64, float64:
		default:
			c.add(path, "expected a number, got %s", describe(v))
		}
	case reflect.Interface:
		// anything goes
	default:
		c.add(path, "cannot decode into %s", t)
	}
}

func (c *strictChecker) intOrString(v any, path fieldPath) {
	switch x := v.(type) {
	case string:
		return
	default:
		if i, ok := asInt(x); ok && i >= math.MinInt32 && i <= math.MaxInt32 {
			return
		}
	}
	c.add(path, "expected an integer or a string, got %s", describe(v))
}

// custom checks a type with its own JSON decoding (resource.Quantity,
// metav1.Time, ...) by running that decoding.
func (c *strictChecker) custom(v any, t reflect.Type, path fieldPath) {
	b, err := json.Marshal(v)
	if err == nil {
		err = reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(b)
	}
	if err != nil {
		c.add(path, "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		if x == math.Trunc(x) && x >= math.MinInt64 && x < math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

// describe names the YAML type of a value for messages.
func describe(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		if len(x) > 40 {
			x = x[:37] + "..."
		}
		return "a string (" + strconv.Quote(x) + ")"
	case bool:
		return "a boolean (" + strconv.FormatBool(x) + ")"
	case int64:
		return "a number (" + strconv.FormatInt(x, 10) + ")"
	case float64:
		return "a number (" + strconv.FormatFloat(x, 'g', -1, 64) + ")"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// structFields maps the JSON names of a struct's fields, embedded
// (inline) structs included, to their types.
func structFields(t reflect.Type) map[string]reflect.Type {
	if f, ok := structFieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	m := make(map[string]reflect.Type)
	addFields(t, m)
	structFieldCache.Store(t, m)
	return m
}

func addFields(t reflect.Type, m map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(ft, m)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
