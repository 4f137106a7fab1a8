package render

import (
	"errors"

	"github.com/reachgate/reachgate/pipeline/model"
)

// InputErrorsOf returns the input problems an error of this package
// carries (a *model.InputError or model.InputErrors), or nil when err is
// nil or something else: a failure of reachgate, not of the input.
func InputErrorsOf(err error) model.InputErrors {
	var many model.InputErrors
	if errors.As(err, &many) {
		return many
	}
	var one *model.InputError
	if errors.As(err, &one) {
		return model.InputErrors{one}
	}
	return nil
}
