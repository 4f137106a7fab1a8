package model_test

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
)

// portBits is a brute-force port set over a small port space, to check the
// interval arithmetic against.
type portBits [3][64]bool

func randomPorts(r *rand.Rand) (model.PortSet, portBits) {
	var s model.PortSet
	var b portBits
	for i := r.IntN(4); i > 0; i-- {
		p := model.Protocols[r.IntN(3)]
		from := uint16(1 + r.IntN(60))
		to := from + uint16(r.IntN(4))
		s = s.Union(model.SinglePort(p, from, to))
		for x := from; x <= to; x++ {
			b[p][x] = true
		}
	}
	return s, b
}

func check(t *testing.T, what string, s model.PortSet, want portBits) {
	t.Helper()
	for _, p := range model.Protocols {
		for x := uint16(1); x < 64; x++ {
			if s.Contains(p, x) != want[p][x] {
				t.Fatalf("%s: %s %d: got %v in %s", what, p, x, s.Contains(p, x), s)
			}
		}
		rs := s.Ranges(p)
		for i := 1; i < len(rs); i++ {
			require.Greater(t, int(rs[i].From), int(rs[i-1].To)+1, "%s: ranges must be sorted, disjoint and not adjacent: %s", what, s)
		}
	}
}

func TestPortSetAlgebra(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5000; i++ {
		a, ab := randomPorts(r)
		b, bb := randomPorts(r)
		var u, n, d portBits
		overlap := false
		for p := range 3 {
			for x := range 64 {
				u[p][x] = ab[p][x] || bb[p][x]
				n[p][x] = ab[p][x] && bb[p][x]
				d[p][x] = ab[p][x] && !bb[p][x]
				overlap = overlap || n[p][x]
			}
		}
		require.Equal(t, overlap, a.Overlaps(b), "%s overlaps %s", a, b)
		check(t, "union", a.Union(b), u)
		check(t, "intersect", a.Intersect(b), n)
		check(t, "subtract", a.Subtract(b), d)
		assert.Equal(t, a.Subtract(b).IsEmpty() && b.Subtract(a).IsEmpty(), a.Equal(b))
	}
}

func TestPortSetStrings(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "all ports", model.AllPorts().String())
	assert.Equal(t, "none", model.PortSet{}.String())
	s := model.SinglePort(model.TCP, 5672, 5672).Union(model.SinglePort(model.TCP, 15672, 15672)).Union(model.AllPortsOf(model.UDP))
	assert.Equal(t, "TCP 5672,15672; all UDP", s.String())
	b, err := s.MarshalJSON()
	require.NoError(t, err)
	assert.JSONEq(t, `{"TCP":[{"from":5672,"to":5672},{"from":15672,"to":15672}],"UDP":[{"from":1,"to":65535}]}`, string(b))
	assert.True(t, model.AllPorts().Subtract(model.SinglePort(model.TCP, 1, 65535)).Equal(model.AllPortsOf(model.UDP).Union(model.AllPortsOf(model.SCTP))))
}

func TestParsePortSpec(t *testing.T) {
	t.Parallel()
	for spec, want := range map[string]string{"5432": "TCP 5432", "53/udp": "UDP 53", "8000-8080/TCP": "TCP 8000-8080", "SCTP": "all SCTP"} {
		p, r, err := model.ParsePortSpec(spec)
		require.NoError(t, err, spec)
		assert.Equal(t, want, model.SinglePort(p, r.From, r.To).String(), spec)
	}
	for _, bad := range []string{"0", "70000/TCP", "53/FOO", "90-80", "http"} {
		_, _, err := model.ParsePortSpec(bad)
		assert.Error(t, err, bad)
	}
}

func TestIPRangeArithmetic(t *testing.T) {
	t.Parallel()
	p := func(s string) netip.Prefix { return netip.MustParsePrefix(s) }
	all := model.IPSetOf(p("0.0.0.0/0"))
	except := model.IPSetOf(p("10.0.0.0/8"), p("169.254.169.254/32"))
	got := all.Subtract(except)
	assert.Equal(t, "0.0.0.0/5,8.0.0.0/7,11.0.0.0-169.254.169.253,169.254.169.255-255.255.255.255", got.String())
	assert.False(t, got.Contains(netip.MustParseAddr("169.254.169.254")))
	assert.True(t, got.Contains(netip.MustParseAddr("169.254.169.255")))
	assert.False(t, got.Contains(netip.MustParseAddr("10.1.2.3")))
	assert.True(t, got.Union(except).ContainsRange(model.PrefixRange(p("0.0.0.0/0"))))
	assert.True(t, got.Intersect(except).IsEmpty())

	v6 := model.IPSetOf(p("2001:db8::/32")).Subtract(model.IPSetOf(p("2001:db8:bad::/48")))
	assert.Equal(t, "2001:db8::-2001:db8:bac:ffff:ffff:ffff:ffff:ffff,2001:db8:bae::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", v6.String())
	assert.False(t, v6.Overlaps(model.IPSetOf(p("10.0.0.0/8"))), "families never overlap")
	assert.Equal(t, []netip.Prefix{p("10.0.0.0/8")}, model.PrefixRange(p("10.1.2.3/8")).Prefixes())
}

// TestIPSetAgainstBruteForce checks set operations on a /24 address by
// address.
func TestIPSetAgainstBruteForce(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	randomSet := func() (model.IPSet, [256]bool) {
		var s model.IPSet
		var b [256]bool
		for i := r.IntN(4); i > 0; i-- {
			bits := 24 + r.IntN(9)
			a := netip.AddrFrom4([4]byte{192, 0, 2, byte(r.IntN(256))})
			pr := netip.PrefixFrom(a, bits).Masked()
			s = s.Union(model.IPSetOf(pr))
			rg := model.PrefixRange(pr)
			for x := int(rg.From.As4()[3]); x <= int(rg.To.As4()[3]); x++ {
				b[x] = true
			}
		}
		return s, b
	}
	for i := 0; i < 2000; i++ {
		a, ab := randomSet()
		b, bb := randomSet()
		u, n, d := a.Union(b), a.Intersect(b), a.Subtract(b)
		for x := 0; x < 256; x++ {
			addr := netip.AddrFrom4([4]byte{192, 0, 2, byte(x)})
			require.Equal(t, ab[x] || bb[x], u.Contains(addr), "union %s %s at %s", a, b, addr)
			require.Equal(t, ab[x] && bb[x], n.Contains(addr), "intersect %s %s at %s", a, b, addr)
			require.Equal(t, ab[x] && !bb[x], d.Contains(addr), "subtract %s %s at %s", a, b, addr)
		}
	}
}

func TestInputErrorNamesFileObjectField(t *testing.T) {
	t.Parallel()
	e := &model.InputError{
		Location: model.Location{File: "bases/app/np.yaml", Line: 12},
		Object:   model.ObjectRef{Kind: "NetworkPolicy", Namespace: "app", Name: "default-deny-egress"},
		Field:    "spec.policyTypes[1]",
		Message:  "expected a string",
	}
	assert.Equal(t, "bases/app/np.yaml:12: NetworkPolicy app/default-deny-egress: spec.policyTypes[1]: expected a string", e.Error())
	f := e.Finding()
	assert.Equal(t, "input/invalid", f.RuleID)
	assert.Equal(t, model.SeverityError, f.Severity)
}

// Workloads of different kinds may share a namespace and name; Sort marks
// them, and their keys name the kind while the others keep ns/name.
func TestWorkloadKeysNameTheKindWhereShared(t *testing.T) {
	c := &model.Cluster{Workloads: []model.Workload{
		{Namespace: "app", Name: "web", Kind: "StatefulSet"},
		{Namespace: "app", Name: "api", Kind: "Deployment"},
		{Namespace: "app", Name: "web", Kind: "Deployment"},
		{Namespace: "other", Name: "web", Kind: "Deployment"},
	}}
	c.Sort()
	var keys, ids []string
	for i := range c.Workloads {
		keys = append(keys, c.Workloads[i].Key())
		ids = append(ids, c.Workloads[i].ID())
	}
	assert.Equal(t, []string{"app/api", "app/web[Deployment]", "app/web[StatefulSet]", "other/web"}, keys)
	assert.Equal(t, []string{"app/api[Deployment]", "app/web[Deployment]", "app/web[StatefulSet]", "other/web[Deployment]"}, ids)
}

func TestParseWorkloadRef(t *testing.T) {
	for in, want := range map[string][3]string{
		"app/web":              {"app", "web", ""},
		"app/web[StatefulSet]": {"app", "web", "StatefulSet"},
		"app/web.v2":           {"app", "web.v2", ""},
	} {
		ns, name, kind, ok := model.ParseWorkloadRef(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, [3]string{ns, name, kind}, in)
	}
	for _, in := range []string{"web", "app/", "/web", "a/b/c", "app/web[", "app/web[]", "app/[Pod]", "internet(0.0.0.0/5)", "0.0.0.0/5,8.0.0.0/7", "a/b c"} {
		_, _, _, ok := model.ParseWorkloadRef(in)
		assert.False(t, ok, in)
	}
}

// ipBits is a brute-force address set over 10.0.0.0/24 and its IPv6
// twin fd00::/120, to check the range arithmetic against.
type ipBits [2][256]bool

var ipBase = [2]netip.Addr{netip.MustParseAddr("10.0.0.0"), netip.MustParseAddr("fd00::")}

func ipAt(fam, i int) netip.Addr {
	a := ipBase[fam].As16()
	if fam == 0 {
		a4 := ipBase[0].As4()
		a4[3] = byte(i)
		return netip.AddrFrom4(a4)
	}
	a[15] = byte(i)
	return netip.AddrFrom16(a)
}

// randomPrefixes draws up to n prefixes of either family, in any order,
// overlapping, nested and adjacent ones included.
func randomPrefixes(r *rand.Rand, n int) ([]netip.Prefix, ipBits) {
	var ps []netip.Prefix
	var b ipBits
	for i := r.IntN(n + 1); i > 0; i-- {
		fam := r.IntN(2)
		host := 8 - r.IntN(9) // bits of the host part inside the /24 (/120)
		bits := ipBase[fam].BitLen() - host
		p := netip.PrefixFrom(ipAt(fam, r.IntN(256)), bits).Masked()
		ps = append(ps, p)
		for x := range 256 {
			if p.Contains(ipAt(fam, x)) {
				b[fam][x] = true
			}
		}
	}
	return ps, b
}

func checkIPs(t *testing.T, what string, s model.IPSet, want ipBits) {
	t.Helper()
	for fam := range 2 {
		for x := range 256 {
			if a := ipAt(fam, x); s.Contains(a) != want[fam][x] {
				t.Fatalf("%s: %s: got %v in %s", what, a, s.Contains(a), s)
			}
		}
	}
	for i := 1; i < len(s.Ranges); i++ {
		prev, r := s.Ranges[i-1], s.Ranges[i]
		if prev.To.BitLen() == r.From.BitLen() {
			require.True(t, prev.To.Next().Less(r.From), "%s: ranges must be sorted, disjoint and not adjacent: %s", what, s)
		} else {
			require.True(t, prev.To.Less(r.From), "%s: IPv4 before IPv6: %s", what, s)
		}
	}
}

func TestIPSetAlgebra(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 3000; i++ {
		ap, ab := randomPrefixes(r, 12)
		bp, bb := randomPrefixes(r, 12)
		a, b := model.IPSetOf(ap...), model.IPSetOf(bp...)
		checkIPs(t, "of", a, ab)
		var u, n, d ipBits
		for f := range 2 {
			for x := range 256 {
				u[f][x] = ab[f][x] || bb[f][x]
				n[f][x] = ab[f][x] && bb[f][x]
				d[f][x] = ab[f][x] && !bb[f][x]
			}
		}
		checkIPs(t, "union", a.Union(b), u)
		checkIPs(t, "intersect", a.Intersect(b), n)
		checkIPs(t, "subtract", a.Subtract(b), d)
		if len(ap) > 0 {
			checkIPs(t, "ipBlock", model.IPBlockSet(ap[0], bp...), func() ipBits {
				var w ipBits
				for f := range 2 {
					for x := range 256 {
						w[f][x] = ap[0].Contains(ipAt(f, x)) && !bb[f][x]
					}
				}
				return w
			}())
		}
		// ContainsRange against membership of every address of the range.
		for _, x := range b.Ranges {
			all := true
			for f := range 2 {
				for k := range 256 {
					if a := ipAt(f, k); x.Contains(a) && !ab[f][k] {
						all = false
					}
				}
			}
			assert.Equal(t, all, a.ContainsRange(x), "%s contains %s", a, x)
		}
	}
}

// BenchmarkIPBlockManyExcepts is an ipBlock with 20,000 excepts in no
// particular order, none adjacent: O(n log n), where subtracting them one
// by one was quadratic (minutes in `reachgate check`).
func BenchmarkIPBlockManyExcepts(b *testing.B) {
	const n = 20000
	cidr := netip.MustParsePrefix("10.0.0.0/8")
	except := make([]netip.Prefix, n)
	for i := range except {
		a := uint32(10<<24 | ((i*7919)%n)*512)
		except[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0}), 24)
	}
	for b.Loop() {
		s := model.IPBlockSet(cidr, except...)
		if len(s.Ranges) != n { // the first except starts at the CIDR
			b.Fatalf("%d ranges", len(s.Ranges))
		}
	}
}

// TestSameModel: two clusters have the same model unless a field other
// than Objects differs, whichever field it is (a field added to Cluster
// later is compared too).
func TestSameModel(t *testing.T) {
	t.Parallel()
	c := &model.Cluster{
		Namespaces: []model.Namespace{{Name: "a", Labels: map[string]string{"k": "v"}}},
		Workloads:  []model.Workload{{Namespace: "a", Name: "w", Kind: "Deployment", Labels: map[string]string{"app": "w"}}},
		Objects:    []model.Object{{ObjectRef: model.ObjectRef{Kind: "ConfigMap", Name: "c"}, Doc: map[string]any{"data": map[string]any{"k": "1"}}}},
	}
	copyOf := func(c *model.Cluster) *model.Cluster {
		d := *c
		d.Workloads = []model.Workload{c.Workloads[0]}
		d.Workloads[0].Labels = map[string]string{"app": "w"}
		return &d
	}
	assert.True(t, model.SameModel(c, copyOf(c)), "a copy")
	assert.True(t, model.SameModel(nil, nil))
	assert.False(t, model.SameModel(c, nil))
	objects := copyOf(c)
	objects.Objects = []model.Object{{ObjectRef: model.ObjectRef{Kind: "ConfigMap", Name: "c"}, Doc: map[string]any{"data": map[string]any{"k": "2"}}}}
	assert.True(t, model.SameModel(c, objects), "only the documents differ")

	labels := copyOf(c)
	labels.Workloads[0].Labels["app"] = "x"
	assert.False(t, model.SameModel(c, labels), "a label")
	moved := copyOf(c)
	moved.Workloads[0].Source.Line = 7
	assert.False(t, model.SameModel(c, moved), "a source line")

	typ := reflect.TypeFor[model.Cluster]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Name == "Objects" {
			continue
		}
		d := copyOf(c)
		v := reflect.ValueOf(d).Elem().Field(i)
		switch v.Kind() {
		case reflect.Slice:
			v.Set(reflect.Append(v, reflect.New(f.Type.Elem()).Elem()))
		case reflect.Struct: // IPSet
			r := v.Field(0)
			r.Set(reflect.Append(r, reflect.New(r.Type().Elem()).Elem()))
		default:
			t.Fatalf("Cluster.%s: a %s, which the test does not change", f.Name, v.Kind())
		}
		assert.False(t, model.SameModel(c, d), "Cluster.%s differs", f.Name)
	}
}
