package reach

import (
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// invalidSelectorKey is the key of a selector the API server would refuse.
const invalidSelectorKey = "\x00invalid"

// selector is a compiled label selector. A nil *selector matches nothing;
// a selector with no terms matches everything.
type selector struct {
	key   string
	terms []term
}

type term struct {
	key    string
	op     metav1.LabelSelectorOperator
	values []string // sorted
}

// compileSelector compiles s. An invalid operator, or In/NotIn without
// values, makes the selector match nothing, as the API server would have
// refused the object; validation reports it.
func compileSelector(s *metav1.LabelSelector) *selector {
	if s == nil {
		return nil
	}
	var terms []term
	for k, v := range s.MatchLabels {
		terms = append(terms, term{key: k, op: metav1.LabelSelectorOpIn, values: []string{v}})
	}
	for _, e := range s.MatchExpressions {
		vals := append([]string(nil), e.Values...)
		sort.Strings(vals)
		switch e.Operator {
		case metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn:
			if len(vals) == 0 {
				return &selector{key: invalidSelectorKey, terms: []term{{op: "invalid"}}}
			}
		case metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist:
			if len(vals) != 0 {
				return &selector{key: invalidSelectorKey, terms: []term{{op: "invalid"}}}
			}
		default:
			return &selector{key: invalidSelectorKey, terms: []term{{op: "invalid"}}}
		}
		terms = append(terms, term{key: e.Key, op: e.Operator, values: vals})
	}
	sort.Slice(terms, func(i, j int) bool {
		if terms[i].key != terms[j].key {
			return terms[i].key < terms[j].key
		}
		if terms[i].op != terms[j].op {
			return terms[i].op < terms[j].op
		}
		return strings.Join(terms[i].values, "\x01") < strings.Join(terms[j].values, "\x01")
	})
	var b strings.Builder
	for _, t := range terms {
		b.WriteString(t.key)
		b.WriteByte('\x02')
		b.WriteString(string(t.op))
		b.WriteByte('\x02')
		b.WriteString(strings.Join(t.values, "\x01"))
		b.WriteByte('\x03')
	}
	return &selector{key: b.String(), terms: terms}
}

// matches reports whether labels satisfy every term.
func (s *selector) matches(labels map[string]string) bool {
	if s == nil {
		return false
	}
	for _, t := range s.terms {
		v, ok := labels[t.key]
		switch t.op {
		case metav1.LabelSelectorOpIn:
			if !ok || !contains(t.values, v) {
				return false
			}
		case metav1.LabelSelectorOpNotIn:
			if ok && contains(t.values, v) {
				return false
			}
		case metav1.LabelSelectorOpExists:
			if !ok {
				return false
			}
		case metav1.LabelSelectorOpDoesNotExist:
			if ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// isEmpty reports whether the selector selects everything.
func (s *selector) isEmpty() bool { return s != nil && len(s.terms) == 0 }

// explainMiss names the first term that labels fail, for explain.
func (s *selector) explainMiss(labels map[string]string) string {
	if s == nil {
		return "no selector"
	}
	for _, t := range s.terms {
		v, ok := labels[t.key]
		switch t.op {
		case metav1.LabelSelectorOpIn:
			if !ok {
				return "label " + t.key + " is not set"
			}
			if !contains(t.values, v) {
				return "label " + t.key + "=" + v + ", want " + strings.Join(t.values, " or ")
			}
		case metav1.LabelSelectorOpNotIn:
			if ok && contains(t.values, v) {
				return "label " + t.key + "=" + v + " is excluded"
			}
		case metav1.LabelSelectorOpExists:
			if !ok {
				return "label " + t.key + " is not set"
			}
		case metav1.LabelSelectorOpDoesNotExist:
			if ok {
				return "label " + t.key + " is set"
			}
		default:
			return "invalid selector operator " + string(t.op)
		}
	}
	return ""
}

// String renders the selector the way kubectl prints one.
func (s *selector) String() string {
	if s == nil {
		return "<none>"
	}
	if len(s.terms) == 0 {
		return "{} (everything)"
	}
	parts := make([]string, 0, len(s.terms))
	for _, t := range s.terms {
		switch t.op {
		case metav1.LabelSelectorOpIn:
			if len(t.values) == 1 {
				parts = append(parts, t.key+"="+t.values[0])
			} else {
				parts = append(parts, t.key+" in ("+strings.Join(t.values, ",")+")")
			}
		case metav1.LabelSelectorOpNotIn:
			parts = append(parts, t.key+" notin ("+strings.Join(t.values, ",")+")")
		case metav1.LabelSelectorOpExists:
			parts = append(parts, t.key)
		case metav1.LabelSelectorOpDoesNotExist:
			parts = append(parts, "!"+t.key)
		default:
			parts = append(parts, "<invalid>")
		}
	}
	return strings.Join(parts, ",")
}

func contains(sorted []string, v string) bool {
	i := sort.SearchStrings(sorted, v)
	return i < len(sorted) && sorted[i] == v
}
