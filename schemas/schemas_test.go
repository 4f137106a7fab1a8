package schemas

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
	"golang.org/x/tools/txtar"

	"github.com/reachgate/reachgate/pipeline/config"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/policy"
	"github.com/reachgate/reachgate/pipeline/scaffold"
)

// A kind of file, its schema and the parser reachgate reads it with.
type kind struct {
	schema string
	parse  func(file string, data []byte) error
}

var kinds = map[string]kind{
	"Config": {"reachgate.schema.json", func(f string, d []byte) error { _, err := config.Parse(f, d); return err }},
	"Expectations": {"expectations.schema.json", func(f string, d []byte) error {
		_, err := policy.ParseExpectations(f, d)
		return err
	}},
	"Waivers": {"waivers.schema.json", func(f string, d []byte) error { _, err := policy.ParseWaivers(f, d); return err }},
}

func compile(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	out := map[string]*jsonschema.Schema{}
	for name, k := range kinds {
		f, err := os.Open(k.schema)
		require.NoError(t, err)
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		require.NoError(t, err, k.schema)
		require.NoError(t, c.AddResource(k.schema, doc))
		s, err := c.Compile(k.schema)
		require.NoError(t, err, k.schema)
		out[name] = s
	}
	return out
}

// validate checks YAML against a schema as an editor does: the YAML
// document read as JSON, by the YAML 1.2 core schema (a date stays a
// string).
func validate(s *jsonschema.Schema, data []byte) error {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return err
	}
	var v any
	if len(n.Content) > 0 {
		v = plain(n.Content[0])
	}
	j, err := json.Marshal(v)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

// plain turns a YAML node into JSON values.
func plain(n *yaml.Node) any {
	switch n.Kind {
	case yaml.AliasNode:
		return plain(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = plain(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			l = append(l, plain(c))
		}
		return l
	}
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err == nil {
			return v
		}
	}
	return n.Value
}

// example is one file of a known kind found in the repository.
type example struct {
	where string // file, file#member or file:line
	kind  string
	data  []byte
}

var kindLine = regexp.MustCompile(`(?m)^kind: *(Config|Expectations|Waivers)\s*$`)

// kindOf tells the kind of a file by its kind: field, else by its name
// (a reachgate.yaml may leave apiVersion and kind out).
func kindOf(name string, data []byte) string {
	if m := kindLine.FindSubmatch(data); m != nil && bytes.Contains(data, []byte("reachgate.dev/")) {
		return string(m[1])
	}
	switch base := path.Base(name); {
	case base == "reachgate.yaml":
		return "Config"
	case strings.HasSuffix(base, "expectations.yaml"):
		return "Expectations"
	case base == "waivers.yaml":
		return "Waivers"
	}
	return ""
}

var fence = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// examples finds every reachgate.yaml, expectations and waivers file of
// the repository: tracked files, members of txtar scenarios, and the
// YAML blocks of the README and docs/ that are whole files (they carry
// apiVersion and kind).
func examples(t *testing.T) []example {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	require.NoError(t, err, "git ls-files in %s: the examples are the repository's files", root)
	var exs []example
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		switch {
		case strings.HasSuffix(f, ".yaml") && kindOf(f, nil) != "":
			data, err := os.ReadFile(filepath.Join(root, f))
			require.NoError(t, err)
			exs = append(exs, example{f, kindOf(f, data), data})
		case strings.HasSuffix(f, ".txtar"):
			a, err := txtar.ParseFile(filepath.Join(root, f))
			require.NoError(t, err)
			for _, m := range a.Files {
				if strings.HasSuffix(m.Name, ".yaml") && kindOf(m.Name, m.Data) != "" && kindOf(m.Name, nil) != "" {
					exs = append(exs, example{f + "#" + m.Name, kindOf(m.Name, m.Data), m.Data})
				}
			}
		case strings.HasSuffix(f, ".md"):
			data, err := os.ReadFile(filepath.Join(root, f))
			require.NoError(t, err)
			for _, m := range fence.FindAllSubmatchIndex(data, -1) {
				block := data[m[2]:m[3]]
				if k := kindLine.FindSubmatch(block); k != nil && bytes.Contains(block, []byte("apiVersion: reachgate.dev/")) {
					line := bytes.Count(data[:m[2]], []byte("\n")) + 1
					exs = append(exs, example{f + ":" + strconv.Itoa(line), string(k[1]), block})
				}
			}
		}
	}
	return exs
}

// TestExamplesMatchSchemas: every file of the three kinds in this
// repository that reachgate accepts, the schema accepts too (an editor
// must never flag a file the tool reads), and the schema rejects none of
// the README's and docs' examples.
func TestExamplesMatchSchemas(t *testing.T) {
	t.Parallel()
	schemas := compile(t)
	exs := examples(t)
	seen := map[string]int{}
	for _, ex := range exs {
		k := kinds[ex.kind]
		if err := k.parse(path.Base(ex.where), ex.data); err != nil {
			// Scenarios of bad input: reachgate refuses them; the
			// schema may or may not see why.
			t.Logf("%s: refused by reachgate, not compared: %v", ex.where, err)
			continue
		}
		seen[ex.kind]++
		if !strings.ContainsAny(ex.where, "#:") {
			assertModeline(t, ex)
		}
		assert.NoError(t, validate(schemas[ex.kind], ex.data), "%s (%s)", ex.where, k.schema)
	}
	t.Logf("validated: %v", seen)
	// This repository's own files and the docs' examples are there.
	assert.GreaterOrEqual(t, seen["Config"], 5, "reachgate.yaml files")
	assert.GreaterOrEqual(t, seen["Expectations"], 4, "expectations files")
	assert.GreaterOrEqual(t, seen["Waivers"], 2, "waivers files")
	var docs []string
	for _, ex := range exs {
		if strings.HasSuffix(strings.Split(ex.where, ":")[0], ".md") {
			docs = append(docs, ex.kind)
		}
	}
	slices.Sort(docs)
	assert.Equal(t, []string{"Config", "Expectations", "Waivers"}, slices.Compact(docs), "the docs' examples of each kind")
}

// TestSchemasReject: files reachgate refuses for their shape, the schema
// refuses too, so an editor says so before a run does.
func TestSchemasReject(t *testing.T) {
	t.Parallel()
	schemas := compile(t)
	for _, tc := range []struct{ name, kind, yaml, want string }{
		{"unknown field", "Config", "overlay: x\n", "overlay"},
		{"unknown nested field", "Config", "overlays:\n  - {name: dev, pth: overlays/dev}\n", "pth"},
		{"overlay without path", "Config", "overlays:\n  - {name: dev}\n", "path"},
		{"port out of range", "Config", "inventory:\n  workloads:\n    - {namespace: a, name: b, ports: [{port: 70000}]}\n", "maximum"},
		{"unknown protocol", "Config", "inventory:\n  workloads:\n    - {namespace: a, name: b, ports: [{port: 53, protocol: ICMP}]}\n", "protocol"},
		{"unknown severity", "Config", "failOn: fatal\n", "failOn"},
		{"absolute rules path", "Config", "rules: {paths: [/etc/rego]}\n", "paths"},
		{"review age", "Config", "review: {maxAge: 6 months}\n", "maxAge"},
		{"wrong kind", "Expectations", "apiVersion: reachgate.dev/v1alpha1\nkind: Waivers\n", "kind"},
		{"expectation without to", "Expectations", "apiVersion: reachgate.dev/v1alpha1\nkind: Expectations\nallow:\n  - {from: app/a}\n", "to"},
		{"bad port", "Expectations", "apiVersion: reachgate.dev/v1alpha1\nkind: Expectations\ndeny:\n  - {from: app/a, to: app/b, port: 5432/HTTP}\n", "port"},
		{"waiver without owner", "Waivers", "apiVersion: reachgate.dev/v1alpha1\nkind: Waivers\nwaivers:\n  - {rule: NP011, object: NetworkPolicy/app/x, reason: r, expires: 2027-01-31}\n", "owner"},
		{"waiver object", "Waivers", "apiVersion: reachgate.dev/v1alpha1\nkind: Waivers\nwaivers:\n  - {rule: NP011, object: x, reason: r, owner: o, expires: 2027-01-31}\n", "object"},
		{"waiver date", "Waivers", "apiVersion: reachgate.dev/v1alpha1\nkind: Waivers\nwaivers:\n  - {rule: NP011, object: NetworkPolicy/app/x, reason: r, owner: o, expires: next year}\n", "expires"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := validate(schemas[tc.kind], []byte(tc.yaml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Error(t, kinds[tc.kind].parse("f.yaml", []byte(tc.yaml)), "reachgate refuses it too")
		})
	}
}

// TestConfigSchemaFields: the schema of reachgate.yaml names exactly the
// fields config.Config decodes, at every level, so that neither drifts.
func TestConfigSchemaFields(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("reachgate.schema.json")
	require.NoError(t, err)
	var s map[string]any
	require.NoError(t, json.Unmarshal(data, &s))
	defs := s["$defs"].(map[string]any)
	var walk func(at string, typ reflect.Type, node map[string]any)
	walk = func(at string, typ reflect.Type, node map[string]any) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if ref, ok := node["$ref"].(string); ok {
			node = defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		}
		if items, ok := node["items"].(map[string]any); ok {
			node = items
		}
		if typ.Kind() != reflect.Struct {
			return
		}
		props, _ := node["properties"].(map[string]any)
		var fields []string
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			fields = append(fields, name)
			sub, ok := props[name].(map[string]any)
			if assert.True(t, ok, "%s%s: in config.Config, not in the schema", at, name) {
				walk(at+name+".", f.Type, sub)
			}
		}
		var inSchema []string
		for name := range props {
			inSchema = append(inSchema, name)
		}
		slices.Sort(fields)
		slices.Sort(inSchema)
		assert.Equal(t, fields, inSchema, "fields of %s", strings.TrimSuffix(at, "."))
	}
	walk("", reflect.TypeFor[config.Config](), s)
}

var modeline = regexp.MustCompile(`(?m)^# yaml-language-server: \$schema=(\S+)$`)

// assertModeline: a file of this repository names its schema, by a path
// that leads to it, so that editors validate it.
func assertModeline(t *testing.T, ex example) {
	t.Helper()
	m := modeline.FindSubmatch(ex.data)
	if !assert.NotNil(t, m, "%s: no yaml-language-server modeline", ex.where) {
		return
	}
	target := filepath.Join("..", filepath.Dir(ex.where), string(m[1]))
	want, err := filepath.Abs(kinds[ex.kind].schema)
	require.NoError(t, err)
	got, err := filepath.Abs(target)
	require.NoError(t, err)
	assert.Equal(t, want, got, "%s: modeline names %s", ex.where, m[1])
}

// TestInitOutputMatchesSchemas: what `reachgate init` writes is valid by
// the schemas, and its modeline names this directory's file on main.
func TestInitOutputMatchesSchemas(t *testing.T) {
	t.Parallel()
	schemas := compile(t)
	cfg := scaffold.ConfigYAML(scaffold.Config{
		Overlays:   []scaffold.Overlay{{Name: "prod", Path: "overlays/prod"}, {Name: "staging", Path: "overlays/staging"}},
		ArgoCD:     []string{"argocd"},
		Namespaces: []model.Namespace{{Name: "kube-system", Labels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}}},
		Workloads: []model.Workload{{Namespace: "kube-system", Name: "coredns", Kind: "Deployment", Labels: map[string]string{"k8s-app": "kube-dns"},
			Ports: []model.ContainerPort{{Name: "dns", Port: 53, Protocol: model.UDP}}}},
		Externals: []scaffold.External{{Name: "internet", CIDRs: []string{"0.0.0.0/0", "::/0"}}},
		PodCIDRs:  []string{"10.244.0.0/16"}, ServiceCIDRs: []string{"10.96.0.0/12"},
		Databases: map[string][]string{"shop/postgres": {"shop/api"}},
		Notes:     []string{"found 2 overlays"},
	})
	exp := scaffold.ExpectationsYAML("prod", &model.Matrix{}, nil)
	for _, f := range []struct {
		kind string
		data []byte
	}{{"Config", cfg}, {"Expectations", exp}} {
		require.NoError(t, kinds[f.kind].parse("init.yaml", f.data), "%s", f.data)
		assert.NoError(t, validate(schemas[f.kind], f.data), "%s", f.data)
		m := modeline.FindSubmatch(f.data)
		require.NotNil(t, m, "%s", f.data)
		assert.Equal(t, "https://raw.githubusercontent.com/reachgate/reachgate/main/schemas/"+kinds[f.kind].schema, string(m[1]))
	}
}
