package render

import (
	"fmt"
	"regexp"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The tiered kinds (tiered.go) have no structural-only reading: their
// one-of fields and enums decide what a rule means, so their decoder checks
// what their CRD schemas and CEL rules check while it converts them, and
// an object that fails is reported and left out, like any object Decode
// cannot read.

// validator collects what the CRD schema would refuse.
type validator struct {
	errs []fieldError
}

func (v *validator) add(path fieldPath, format string, args ...any) {
	v.errs = append(v.errs, fieldError{path: path, msg: fmt.Sprintf(format, args...)})
}

// portNameRE is IANA_SVC_NAME: at most 15 lowercase letters, digits and
// dashes, with at least one letter, no leading, trailing or double dash.
var portNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
var hasLetterRE = regexp.MustCompile(`[a-z]`)

func validPortName(s string) bool {
	return len(s) <= 15 && portNameRE.MatchString(s) && hasLetterRE.MatchString(s) &&
		!strings.Contains(s, "--")
}

// selector checks the operators and values of a label selector.
func (v *validator) selector(s *metav1.LabelSelector, path fieldPath) {
	for i, e := range s.MatchExpressions {
		p := path.key("matchExpressions").index(i)
		if e.Key == "" {
			v.add(p.key("key"), "key is required")
		}
		switch e.Operator {
		case metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn:
			if len(e.Values) == 0 {
				v.add(p.key("values"), "operator %s needs at least one value", e.Operator)
			}
		case metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist:
			if len(e.Values) > 0 {
				v.add(p.key("values"), "operator %s takes no values", e.Operator)
			}
		default:
			v.add(p.key("operator"), "unsupported operator %q: want In, NotIn, Exists or DoesNotExist", string(e.Operator))
		}
	}
}
