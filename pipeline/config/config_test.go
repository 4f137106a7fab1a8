package config_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/config"
	"github.com/reachgate/reachgate/pipeline/model"
)

func TestParseRepositoryConfig(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse("reachgate.yaml", []byte(`
apiVersion: reachgate.dev/v1alpha1
kind: Config
overlays:
  - {name: staging, path: overlays/staging, promotesTo: prod}
  - {name: prod, path: overlays/prod}
inventory:
  namespaces: [{name: kube-system}]
  workloads:
    - {namespace: kube-system, name: coredns, labels: {k8s-app: kube-dns}, ports: [{name: dns, port: 53, protocol: UDP}]}
externals:
  - {name: internet, cidrs: [0.0.0.0/0]}
  - {name: cloud-metadata, cidrs: [169.254.169.254/32]}
`))
	require.NoError(t, err)
	assert.Equal(t, []string{"staging", "prod"}, cfg.OverlayNames())
	o, ok := cfg.Overlay("prod")
	require.True(t, ok)
	assert.Equal(t, "prod", o.Environment, "environment defaults to the name")
	assert.Empty(t, cfg.Rules.Paths, "the built-in pack is in the binary: no rules directory by default")
	assert.True(t, cfg.Rules.UseBuiltin(), "the built-in pack judges by default")
	assert.True(t, cfg.PodCIDRs().Contains(mustAddr(t, "10.244.1.1")), "pod CIDR defaults apply")

	nss, wls := cfg.ModelInventory()
	require.Len(t, nss, 1)
	assert.Equal(t, "kube-system", nss[0].Labels[model.NamespaceNameLabel])
	require.Len(t, wls, 1)
	assert.Equal(t, "Deployment", wls[0].Kind)
	port, ok := wls[0].NamedPort("dns", model.UDP)
	assert.True(t, ok)
	assert.Equal(t, uint16(53), port)

	ext := cfg.ModelExternals()
	require.Len(t, ext, 2)
	assert.Equal(t, "cloud-metadata", ext[0].Name, "sorted by name")
}

func TestParseErrorsNameFileLineAndField(t *testing.T) {
	t.Parallel()
	_, err := config.Parse("reachgate.yaml", []byte(`apiVersion: reachgate.dev/v1alpha1
kind: Config
overlays:
  - {name: prod, path: overlays/prod, promotesTo: production}
  - {name: prod}
cluster:
  podCIDRs: [10.244.0.0/33]
inventory:
  workloads:
    - {namespace: x, name: y, ports: [{port: 70000, protocol: FOO}]}
externals:
  - {name: bad name, cidrs: []}
failOn: never
argocd: [../elsewhere, argocd]
`))
	var errs model.InputErrors
	require.True(t, errors.As(err, &errs), "%v", err)
	text := err.Error()
	for _, want := range []string{
		`reachgate.yaml:5: overlays.1.name: overlay "prod" is listed twice`,
		`reachgate.yaml:5: overlays.1.path: overlay "prod" needs a path`,
		`reachgate.yaml:4: overlays.0.promotesTo: overlay "prod" promotes to "production", which is not a configured overlay`,
		`reachgate.yaml:7: cluster.podCIDRs.0: invalid CIDR "10.244.0.0/33"`,
		`reachgate.yaml:10: inventory.workloads.0.ports.0.port: port 70000 is not in 1-65535`,
		`reachgate.yaml:10: inventory.workloads.0.ports.0.protocol: unsupported protocol "FOO"`,
		`reachgate.yaml:12: externals.0.name: external endpoint name "bad name" may not contain`,
		`reachgate.yaml:12: externals.0.cidrs: external endpoint "bad name" needs at least one CIDR`,
		`reachgate.yaml:13: failOn: unknown severity "never": want info, warning or error`,
		`reachgate.yaml:14: argocd.0: argocd directory "../elsewhere" must be a path inside the repository`,
	} {
		assert.Contains(t, text, want)
	}
	assert.Len(t, errs, 10, "every problem is reported, not just the first:\n%s", text)
}

// A path in the configuration that leaves the repository would make the
// gate read (and print) a file the repository does not hold.
func TestParseRefusesPathsOutOfTheRepository(t *testing.T) {
	t.Parallel()
	_, err := config.Parse("reachgate.yaml", []byte(`overlays:
  - name: prod
    path: overlays/prod
    expectations: /etc/passwd
  - name: dev
    path: ../../outside
    expectations: overlays/dev/../../../etc/passwd
rules:
  paths: [rego, /opt/rules]
  waivers: ../waivers.yaml
`))
	var errs model.InputErrors
	require.True(t, errors.As(err, &errs), "%v", err)
	text := err.Error()
	for _, want := range []string{
		`reachgate.yaml:4: overlays.0.expectations: "/etc/passwd" is an absolute path: paths are relative to the repository root`,
		`reachgate.yaml:6: overlays.1.path: "../../outside" leads out of the repository`,
		`reachgate.yaml:7: overlays.1.expectations: "overlays/dev/../../../etc/passwd" leads out of the repository`,
		`reachgate.yaml:9: rules.paths.1: "/opt/rules" is an absolute path`,
		`reachgate.yaml:10: rules.waivers: "../waivers.yaml" leads out of the repository`,
	} {
		assert.Contains(t, text, want)
	}
	assert.Len(t, errs, 5, text)
}

func TestParseRejectsUnknownFieldsAndBadYAML(t *testing.T) {
	t.Parallel()
	_, err := config.Parse("reachgate.yaml", []byte("overlays:\n  - name: dev\n    paht: overlays/dev\n"))
	require.Error(t, err)
	assert.Equal(t, "reachgate.yaml:3: overlays.0.paht: unknown field; did you mean path?", err.Error())

	// Every unknown field and every value of the wrong type, each once,
	// by its field, in Go's words only where no better exist.
	_, err = config.Parse("reachgate.yaml", []byte("overlay: x\ninventory:\n  workloads:\n    - {namespace: a, name: b, ports: [{port: x}]}\nrules: {foo: 1, disable: NP001}\n"))
	require.Error(t, err)
	assert.Equal(t, `reachgate.yaml:1: overlay: unknown field; did you mean overlays?
reachgate.yaml:4: inventory.workloads.0.ports.0.port: "x" is text, want a number
reachgate.yaml:5: rules.foo: unknown field (known here: builtin, disable, paths, waivers, params)
reachgate.yaml:5: rules.disable: "NP001" is text, want a list`, err.Error())
	assert.NotContains(t, err.Error(), "config.Config")
	assert.NotContains(t, err.Error(), "line ")

	_, err = config.Parse("reachgate.yaml", []byte("overlays: [\n"))
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "reachgate.yaml"), err.Error())
	assert.NotContains(t, err.Error(), "line ", "the location gives the line once")

	_, err = config.Parse("reachgate.yaml", []byte("apiVersion: v2\nkind: Other\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unsupported apiVersion "v2"`)
	assert.Contains(t, err.Error(), `unsupported kind "Other"`)
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestReviewSettings(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse("reachgate.yaml", []byte("review: {maxAge: 26w}\n"))
	require.NoError(t, err)
	assert.Equal(t, 26*7*24*time.Hour, cfg.ReviewAge())
	assert.Equal(t, 30*24*time.Hour, cfg.ReviewExpiringWithin(), "default")
	cfg, err = config.Parse("reachgate.yaml", []byte("kind: Config\n"))
	require.NoError(t, err)
	assert.Equal(t, 180*24*time.Hour, cfg.ReviewAge(), "default")

	_, err = config.Parse("reachgate.yaml", []byte("kind: Config\nreview:\n  maxAge: 6 months\n  expiringWithin: -3d\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `reachgate.yaml:3: review.maxAge: "6 months": want a positive number of days or weeks, like 180d or 26w`)
	assert.Contains(t, err.Error(), `reachgate.yaml:4: review.expiringWithin: "-3d": want a positive number`)
	_, err = config.Parse("reachgate.yaml", []byte("review: {maxAge: 180d, every: 7d}\n"))
	assert.ErrorContains(t, err, "every", "unknown review fields are errors")
}

// TestDefaultsApplyPerSection: a section the file does not write gets its
// default; a section it writes, even empty, replaces it. A minimal file
// without inventory keeps kube-dns (issue 13: without it every workload
// failed NP003).
func TestDefaultsApplyPerSection(t *testing.T) {
	t.Parallel()
	minimal, err := config.Parse("reachgate.yaml", []byte("overlays: [{name: prod, path: overlays/prod}]\n"))
	require.NoError(t, err)
	_, wls := minimal.ModelInventory()
	require.Len(t, wls, 1, "the default inventory applies when the file has no inventory section")
	assert.Equal(t, "kube-system/coredns", wls[0].Namespace+"/"+wls[0].Name)
	assert.Equal(t, config.Default().Externals, minimal.Externals, "the default externals apply")

	for _, tc := range []struct{ name, yaml string }{
		{"empty mapping", "inventory: {}\nexternals: []\n"},
		{"null", "inventory:\nexternals:\n"},
		{"own namespaces only", "inventory: {namespaces: [{name: monitoring}]}\nexternals: [{name: partner, cidrs: [203.0.113.0/24]}]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("reachgate.yaml", []byte(tc.yaml))
			require.NoError(t, err)
			_, wls := cfg.ModelInventory()
			assert.Empty(t, wls, "a written inventory replaces the default")
			for _, e := range cfg.Externals {
				assert.NotEqual(t, "internet", e.Name, "written externals replace the default")
			}
		})
	}
}

func TestRulesSection(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse("reachgate.yaml", []byte("rules:\n  builtin: true\n  disable: [NP015, ORG001]\n  paths: [policy/custom]\n"))
	require.NoError(t, err)
	assert.True(t, cfg.Rules.UseBuiltin())
	assert.Equal(t, []string{"NP015", "ORG001"}, cfg.Rules.Disable)
	assert.Equal(t, 3, cfg.Line("rules.disable.0"))

	_, err = config.Parse("reachgate.yaml", []byte("rules:\n  builtin: false\n  disable:\n    - NP015\n    - NP015\n    - \"\"\n"))
	require.Error(t, err)
	for _, want := range []string{
		`reachgate.yaml:5: rules.disable.1: rule NP015 is disabled twice`,
		`reachgate.yaml:6: rules.disable.2: rules.disable needs rule ids`,
		`reachgate.yaml:2: rules.builtin: rules.builtin is false and rules.paths lists no directory`,
	} {
		assert.Contains(t, err.Error(), want)
	}

	_, err = config.Parse("reachgate.yaml", []byte("rules:\n  builtin: maybe\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "reachgate.yaml:2")
}
