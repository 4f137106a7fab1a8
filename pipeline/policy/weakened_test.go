package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseExp(t *testing.T, doc string) *Expectations {
	t.Helper()
	x, err := ParseExpectations("overlays/prod/expectations.yaml", []byte("apiVersion: reachgate.dev/v1alpha1\nkind: Expectations\n"+doc))
	require.NoError(t, err)
	return x
}

func TestWeakened(t *testing.T) {
	base := parseExp(t, `allow:
  - {from: app/a, to: app/db, port: 5432/TCP}
deny:
  - {from: app/web, to: app/db}
  - {from: app/web, to: internet, port: 80-443/TCP}
`)
	cases := []struct {
		name, head string
		want       []string
	}{
		{"unchanged", `allow:
  - {from: app/a, to: app/db, port: 5432/TCP}
deny:
  - {from: app/web, to: app/db}
  - {from: app/web, to: internet, port: 80-443/TCP}
`, nil},
		{"stronger is fine", `allow:
  - {from: app/a, to: app/db, port: 5432/TCP}
  - {from: app/new, to: app/db, port: 5432/TCP}
deny:
  - {from: app/web, to: app/db}
  - {from: app/web, to: internet}
`, nil},
		{"deny removed", `allow:
  - {from: app/a, to: app/db, port: 5432/TCP}
deny:
  - {from: app/web, to: internet, port: 80-443/TCP}
`, []string{"the head removes the expectation that app/web -> app/db is denied (line 6 at the base)"}},
		{"deny narrowed", `allow:
  - {from: app/a, to: app/db, port: 5432/TCP}
deny:
  - {from: app/web, to: app/db}
  - {from: app/web, to: internet, port: 443/TCP}
`, []string{"the head narrows the expectation that app/web -> internet TCP 80-443 is denied (line 7 at the base)"}},
		{"allow widened", `allow:
  - {from: app/a, to: app/db}
deny:
  - {from: app/web, to: app/db}
  - {from: app/web, to: internet, port: 80-443/TCP}
`, []string{"the head widens the expectation that app/a -> app/db is allowed, to any port"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := Weakened("prod", base, parseExp(t, c.head))
			var got []string
			for _, f := range fs {
				got = append(got, f.Message)
				assert.Equal(t, ExpectWeakenedID, f.RuleID)
				assert.Equal(t, "Expectations/prod", f.Object.Kind+"/"+f.Object.Name)
				assert.Equal(t, "overlays/prod/expectations.yaml", f.Location.File)
			}
			assert.Equal(t, c.want, got)
		})
	}
	assert.Len(t, Weakened("prod", base, nil), 2, "deleting the file removes every deny")
	assert.Empty(t, Weakened("prod", nil, base), "a new overlay weakens nothing")
}
