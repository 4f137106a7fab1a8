package run_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/run"
)

// The head of a pull request is hostile (docs/security.md). Each attack
// below is a commit on a branch of a copy of this repository, judged by
// `reachgate check --base main`: from the work tree (the branch checked
// out) and from the commit itself (--head). The gate must refuse it with a
// message that names the file, and print nothing of what lies outside the
// repository.

// secret is what the attacks try to read; it lives next to the
// repository, never inside it.
const secret = "TOPSECRET-9d1f"

type attack struct {
	name string
	// setup makes the attack in dir, on the checked-out branch; outside
	// is a directory out of the repository holding secret.yaml and a
	// directory of manifests m/.
	setup func(t *testing.T, dir, outside string)
	// code is the exit code the gate must give; want what its report
	// (or error) must say.
	code int
	want []string
	// workTreeOnly: git cannot hold the attack (a FIFO).
	workTreeOnly bool
	// slow: time and memory cases, skipped with -short.
	slow bool
}

// checked is one check of an attack.
type checked struct {
	code   int
	output string
}

// checkWithin runs the gate, failing the test if it does not return in
// time: the attacks on reading /dev/zero used to hang.
func checkWithin(t *testing.T, p run.CheckParams, limit time.Duration) checked {
	t.Helper()
	done := make(chan checked, 1)
	go func() {
		var out, errOut bytes.Buffer
		err := run.Check(context.Background(), p, &out, &errOut)
		c := checked{output: out.String() + errOut.String()}
		var ee *run.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			c.code = ee.Code
			c.output += ee.Err.Error()
		default:
			c.code = -1
			c.output += err.Error()
		}
		done <- c
	}()
	select {
	case c := <-done:
		return c
	case <-time.After(limit):
		t.Fatalf("the check did not end within %s", limit)
		return checked{}
	}
}

func symlink(t *testing.T, target, name string) {
	t.Helper()
	require.NoError(t, os.RemoveAll(name))
	require.NoError(t, os.Symlink(target, name))
}

// addProdResource lists file as a resource of overlays/prod and writes it.
func addProdResource(t *testing.T, dir, file string, content []byte) {
	t.Helper()
	k := filepath.Join(dir, "overlays/prod/kustomization.yaml")
	b, err := os.ReadFile(k)
	require.NoError(t, err)
	b = bytes.Replace(b, []byte("  - network-policies-partners.yaml\n"), []byte("  - network-policies-partners.yaml\n  - "+file+"\n"), 1)
	require.NoError(t, os.WriteFile(k, b, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "overlays/prod", file), content, 0o644))
}

func hostileAttacks() []attack {
	return []attack{
		// Item 6: reads outside the repository.
		{name: "kustomization.yaml is a symlink out of the repository", code: run.ExitInput,
			setup: func(t *testing.T, dir, outside string) {
				symlink(t, filepath.Join(outside, "secret.yaml"), filepath.Join(dir, "overlays/prod/kustomization.yaml"))
			},
			want: []string{"overlays/prod/kustomization.yaml", "outside the repository"}},
		{name: "kustomization.yaml is /dev/zero", code: run.ExitInput,
			setup: func(t *testing.T, dir, outside string) {
				symlink(t, "/dev/zero", filepath.Join(dir, "overlays/prod/kustomization.yaml"))
			},
			want: []string{"overlays/prod/kustomization.yaml", "/dev/zero, outside the repository"}},
		{name: "kustomization.yaml is a FIFO", code: run.ExitInput, workTreeOnly: true,
			setup: func(t *testing.T, dir, outside string) {
				require.NoError(t, os.Remove(filepath.Join(dir, "overlays/prod/kustomization.yaml")))
				require.NoError(t, mkfifo(filepath.Join(dir, "overlays/prod/kustomization.yaml")))
			},
			want: []string{"overlays/prod/kustomization.yaml", "not a regular file"}},
		{name: "expectations.yaml is a symlink out of the repository", code: run.ExitInput,
			setup: func(t *testing.T, dir, outside string) {
				symlink(t, filepath.Join(outside, "secret.yaml"), filepath.Join(dir, "overlays/prod/expectations.yaml"))
			},
			want: []string{"read overlays/prod/expectations.yaml", "outside the repository"}},
		{name: "expectations.yaml is /dev/zero", code: run.ExitInput,
			setup: func(t *testing.T, dir, outside string) {
				symlink(t, "/dev/zero", filepath.Join(dir, "overlays/prod/expectations.yaml"))
			},
			want: []string{"read overlays/prod/expectations.yaml", "/dev/zero, outside the repository"}},
		{name: "reachgate.yaml is a symlink out of the repository", code: run.ExitFailed,
			setup: func(t *testing.T, dir, outside string) {
				symlink(t, filepath.Join(outside, "secret.yaml"), filepath.Join(dir, "reachgate.yaml"))
			},
			want: []string{"config/changed", "read reachgate.yaml", "outside the repository"}},
		{name: "expectations: an absolute path", code: run.ExitFailed,
			setup: func(t *testing.T, dir, outside string) {
				setExpectations(t, dir, filepath.Join(outside, "secret.yaml"))
			},
			want: []string{"config/changed", "reachgate.yaml:17: overlays.2.expectations: \"" + "/"}},
		{name: "expectations: a ../ path", code: run.ExitFailed,
			setup: func(t *testing.T, dir, outside string) {
				rel, err := filepath.Rel(dir, filepath.Join(outside, "secret.yaml"))
				require.NoError(t, err)
				setExpectations(t, dir, rel)
			},
			want: []string{"config/changed", "reachgate.yaml:17: overlays.2.expectations: \"../", "leads out of the repository"}},
		{name: "the overlay is a symlinked directory of manifests out of the repository", code: run.ExitInput,
			setup: func(t *testing.T, dir, outside string) {
				symlink(t, filepath.Join(outside, "m"), filepath.Join(dir, "overlays/prod"))
			},
			want: []string{"overlays/prod", "outside the repository"}},

		// Item 9: an empty or comment-only resource file renders nothing,
		// as kustomize has it; the rest of the overlay still does.
		{name: "an empty resource file", code: run.ExitOK,
			setup: func(t *testing.T, dir, outside string) { addProdResource(t, dir, "empty.yaml", nil) },
			want:  []string{"prod (overlays/prod): PASS"}},
		{name: "a comment-only resource file", code: run.ExitOK,
			setup: func(t *testing.T, dir, outside string) {
				addProdResource(t, dir, "empty.yaml", []byte("# policies for the new service go here\n"))
			},
			want: []string{"prod (overlays/prod): PASS"}},

		// Item 7: resource exhaustion. Each ends at a limit that the
		// message names, long before the time and memory it used to take.
		{name: "30 documents each just under the alias limit per document", code: run.ExitInput, slow: true,
			setup: func(t *testing.T, dir, outside string) { addProdResource(t, dir, "bomb.yaml", aliasBomb(30)) },
			want:  []string{"overlays/prod/bomb.yaml:", "more than 4194304 values", "through aliases), the limit per run"}},
		{name: "a 20 MiB file", code: run.ExitInput, slow: true,
			setup: func(t *testing.T, dir, outside string) { addProdResource(t, dir, "big.yaml", bigConfigMap(20<<20)) },
			want:  []string{"overlays/prod/big.yaml", "file is 20.", "more than the 16 MiB limit per file"}},
		{name: "a 15 MiB object", code: run.ExitInput, slow: true,
			setup: func(t *testing.T, dir, outside string) { addProdResource(t, dir, "big.yaml", bigConfigMap(15<<20)) },
			want:  []string{"overlays/prod/big.yaml:1: object is 15.", "more than 3 MiB, the largest request the API server accepts (the limit per object)"}},
		{name: "a Deployment with 100,000 labels", code: run.ExitInput, slow: true,
			setup: func(t *testing.T, dir, outside string) { addProdResource(t, dir, "labels.yaml", manyLabels(100000)) },
			want:  []string{"overlays/prod/labels.yaml:6: metadata.labels: 100000 keys in one mapping, more than 1000, the limit per mapping"}},
		{name: "a Deployment with 5,000 labels", code: run.ExitInput, slow: true,
			setup: func(t *testing.T, dir, outside string) { addProdResource(t, dir, "labels.yaml", manyLabels(5000)) },
			want:  []string{"overlays/prod/labels.yaml:6: metadata.labels: 5000 keys in one mapping, more than 1000, the limit per mapping"}},
		{name: "an ipBlock with 20,000 excepts", code: run.ExitFailed, slow: true,
			setup: func(t *testing.T, dir, outside string) { addProdResource(t, dir, "excepts.yaml", manyExcepts(20000)) },
			// It is valid, and computed: the rules then fail it.
			want: []string{"allow-many-excepts"}},
		{name: "a NetworkPolicy with 100,000 peers", code: run.ExitInput, slow: true,
			setup: func(t *testing.T, dir, outside string) { addProdResource(t, dir, "peers.yaml", manyPeers(100000)) },
			want:  []string{"overlays/prod/peers.yaml:1: object is", "the limit per object"}},
		{name: "a kustomization tree that doubles at every level", code: run.ExitInput, slow: true,
			setup: func(t *testing.T, dir, outside string) { doublingTree(t, dir, 30) },
			want:  []string{"overlays/prod/kustomization.yaml: the overlay renders", "the limit per overlay", "is included"}},
	}
}

func TestHostileHead(t *testing.T) {
	t.Parallel()
	for _, a := range hostileAttacks() {
		t.Run(a.name, func(t *testing.T) {
			if a.slow && testing.Short() {
				t.Skip("a time and memory case: skipped with -short")
			}
			t.Parallel()
			base := t.TempDir()
			outside := filepath.Join(base, "outside")
			writeFile(t, outside, "secret.yaml", "# "+secret+"\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: "+strings.ToLower(secret)+"}\n")
			writeFile(t, outside, "m/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "+strings.ToLower(secret)+", namespace: app}\ndata: {k: "+secret+"}\n")
			dir := newRepo(t)
			git(t, dir, "checkout", "-qb", "attack")
			a.setup(t, dir, outside)
			heads := []string{""}
			if !a.workTreeOnly {
				git(t, dir, "add", "-A")
				git(t, dir, "commit", "-qm", "attack")
				heads = append(heads, "attack")
			}
			for _, head := range heads {
				c := checkWithin(t, run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: head, Now: now, Marker: "reachgate:check"}, 5*time.Minute)
				where := "work tree"
				if head != "" {
					where = "commit"
				}
				short := c.output
				if len(short) > 3000 {
					short = short[:3000] + "..."
				}
				assert.Equal(t, a.code, c.code, "%s: exit code\n%s", where, short)
				for _, w := range a.want {
					assert.True(t, strings.Contains(c.output, w), "%s: no %q in\n%s", where, w, short)
				}
				assert.NotContains(t, c.output, secret, "%s: something from outside the repository was printed", where)
				assert.NotContains(t, c.output, strings.ToLower(secret), where)
				assert.NotContains(t, c.output, "alias bomb", where)
			}
		})
	}
}

func mkfifo(p string) error { return syscall.Mkfifo(p, 0o644) }

func setExpectations(t *testing.T, dir, p string) {
	t.Helper()
	cfg := filepath.Join(dir, "reachgate.yaml")
	b, err := os.ReadFile(cfg)
	require.NoError(t, err)
	b = bytes.Replace(b, []byte("  - name: prod\n    path: overlays/prod\n"), []byte("  - name: prod\n    path: overlays/prod\n    expectations: "+p+"\n"), 1)
	require.NoError(t, os.WriteFile(cfg, b, 0o644))
}

// aliasBomb is n ConfigMaps, each expanding through aliases to 99^3 + 2 *
// 99 + ... = about a million values, just under the limit per document.
func aliasBomb(n int) []byte {
	var b bytes.Buffer
	row := func(item string) string { return "[" + strings.TrimSuffix(strings.Repeat(item+",", 99), ",") + "]" }
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb%d\ndata:\n  a: &a%d %s\n  b: &b%d %s\n  c: %s\n",
			i, i, row("x"), i, row(fmt.Sprintf("*a%d", i)), row(fmt.Sprintf("*b%d", i)))
	}
	return b.Bytes()
}

// bigConfigMap is one ConfigMap of about size bytes.
func bigConfigMap(size int) []byte {
	var b bytes.Buffer
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n")
	line := strings.Repeat("x", 1000)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "  k%d: %s\n", i, line)
	}
	return b.Bytes()
}

func manyLabels(n int) []byte {
	var b bytes.Buffer
	b.WriteString("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: many-labels\n  labels:\n")
	for i := range n {
		fmt.Fprintf(&b, "    l%d: v\n", i)
	}
	b.WriteString("spec:\n  selector:\n    matchLabels: {app: many}\n  template:\n    metadata:\n      labels: {app: many}\n    spec:\n      containers: [{name: c, image: nginx}]\n")
	return b.Bytes()
}

// manyExcepts is an ipBlock with n /24 excepts in no particular order,
// none adjacent.
func manyExcepts(n int) []byte {
	var b bytes.Buffer
	b.WriteString("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-many-excepts\nspec:\n  podSelector: {matchLabels: {app: frontend}}\n  policyTypes: [Egress]\n  egress:\n    - to:\n        - ipBlock:\n            cidr: 10.0.0.0/8\n            except:\n")
	for i := range n {
		a := 10<<24 | ((i*7919)%n)*512
		fmt.Fprintf(&b, "              - 10.%d.%d.0/24\n", (a>>16)&255, (a>>8)&255)
	}
	return b.Bytes()
}

func manyPeers(n int) []byte {
	var b bytes.Buffer
	b.WriteString("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-many-peers\nspec:\n  podSelector: {matchLabels: {app: frontend}}\n  policyTypes: [Ingress]\n  ingress:\n    - from:\n")
	for i := range n {
		fmt.Fprintf(&b, "        - podSelector: {matchLabels: {app: p%d}}\n", i)
	}
	return b.Bytes()
}

// doublingTree makes overlays/prod a tree where each of depth levels
// includes the one below twice, under different name prefixes: 2^depth
// copies of one ConfigMap.
func doublingTree(t *testing.T, dir string, depth int) {
	t.Helper()
	d := func(i int) string { return fmt.Sprintf("overlays/tree/l%d", i) }
	writeFile(t, dir, d(0)+"/kustomization.yaml", "resources: [cm.yaml]\n")
	writeFile(t, dir, d(0)+"/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
	for i := 1; i <= depth; i++ {
		for _, side := range []string{"a", "b"} {
			writeFile(t, dir, fmt.Sprintf("%s/%s/kustomization.yaml", d(i), side), fmt.Sprintf("resources: [../../l%d]\nnamePrefix: %s-\n", i-1, side))
		}
		writeFile(t, dir, d(i)+"/kustomization.yaml", "resources: [a, b]\n")
	}
	writeFile(t, dir, "overlays/prod/kustomization.yaml", fmt.Sprintf("resources: [../tree/l%d]\n", depth))
}
