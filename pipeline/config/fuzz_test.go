package config_test

import (
	"errors"
	"os"
	"testing"

	"github.com/reachgate/reachgate/pipeline/config"
	"github.com/reachgate/reachgate/pipeline/model"
)

// FuzzParse parses reachgate.yaml: a pull request's head may hold any.
func FuzzParse(f *testing.F) {
	b, err := os.ReadFile("../../reachgate.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("overlays:\n  - {name: prod, path: overlays/prod, expectations: /etc/passwd}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse("reachgate.yaml", data)
		if err != nil {
			var one *model.InputError
			var many model.InputErrors
			if !errors.As(err, &one) && !errors.As(err, &many) {
				t.Fatalf("not an input error: %T %v", err, err)
			}
			return
		}
		// What a valid configuration hands on must be usable.
		cfg.OverlayNames()
		cfg.ModelExternals()
		cfg.ModelInventory()
		cfg.PodCIDRs()
		cfg.ServiceCIDRs()
	})
}
