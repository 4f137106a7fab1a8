package policy_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/policy"
)

func inputErr(t *testing.T, err error) {
	var one *model.InputError
	var many model.InputErrors
	if err != nil && !errors.As(err, &one) && !errors.As(err, &many) {
		t.Fatalf("not an input error: %T %v", err, err)
	}
}

// FuzzParseExpectations parses an expectations file: the head's are read.
func FuzzParseExpectations(f *testing.F) {
	files, _ := filepath.Glob("../../overlays/*/expectations.yaml")
	if len(files) == 0 {
		f.Fatal("no seeds")
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := policy.ParseExpectations("expectations.yaml", data)
		inputErr(t, err)
	})
}

// FuzzParseWaivers parses a waivers file.
func FuzzParseWaivers(f *testing.F) {
	b, err := os.ReadFile("../../waivers.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("apiVersion: reachgate.dev/v1alpha1\nkind: Waivers\nwaivers:\n  - {rule: NP001, object: NetworkPolicy/app/x, reason: r, expires: 2026-01-01, approvedBy: a}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := policy.ParseWaivers("waivers.yaml", data)
		inputErr(t, err)
	})
}
