package report

import (
	"bytes"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
)

// hostileReport carries text a pull request controls: object names, an
// expectation's reason, file paths, ref names, error messages. Each tries
// to turn the report into something else: a link or an image in the PR
// comment, a link that leaves the repository, a workflow command in the
// CI log.
func hostileReport() *model.Report {
	evil := model.ObjectRef{Kind: "Deployment", Namespace: "app", Name: "x`"}
	return &model.Report{
		Base:       model.RefInfo{Ref: "main", Commit: baseSHA},
		Head:       model.RefInfo{Ref: "feat/[pwn](https://evil.example)", Commit: headSHA},
		RulesFrom:  "base",
		FailOn:     model.SeverityError,
		Repository: "acme/gitops",
		RulesChanged: []model.RuleChange{
			{File: "rego/[x](https://evil.example).rego", Change: "added ![t](https://evil.example/t.png)"},
		},
		Overlays: []model.OverlayReport{{
			Name: "prod", Environment: "prod [home](https://evil.example)", Path: "overlays/prod",
			Error: "overlays/prod/a.yaml: bad\n::stop-commands::pwned\n[x](https://evil.example)",
			Findings: []model.Finding{
				{
					RuleID: "expect/deny", Severity: model.SeverityError,
					Message: "app/web -> app/db must be denied " +
						"([approved](https://evil.example/approve) ![ok](https://evil.example/ok.png) " +
						"<img src=https://evil.example/i.png> [ref][1] https://evil.example/bare \\[x](https://evil.example/bs) " +
						"**bold** _it_ ~~struck~~ a|b)\n::error file=rego/x.rego,line=1::forged\r::warning::after a carriage return",
					Location: model.Location{File: "overlays/prod/expectations.yaml", Line: 3},
				},
				{
					// A backtick in a name must not pair with the field's
					// code span and let the field render as a link.
					RuleID: "NP011", Severity: model.SeverityWarning,
					Message: "wide", Object: evil, Field: "[f](https://evil.example/field)",
					Location: model.Location{File: "../../../evil/repo/blob/main/x.yaml", Line: 1},
				},
				{RuleID: "NP012", Severity: model.SeverityWarning, Message: "absolute", Location: model.Location{File: "/etc/passwd", Line: 1}},
				{RuleID: "NP013", Severity: model.SeverityWarning, Message: "url", Location: model.Location{File: "https://evil.example/x.yaml"}},
				{RuleID: "NP014", Severity: model.SeverityWarning, Message: "inner dots", Location: model.Location{File: "overlays/../../evil/x.yaml"}},
				{RuleID: "NP015", Severity: model.SeverityWarning, Message: "backslash", Location: model.Location{File: `overlays\..\..\evil\x.yaml`}},
				{RuleID: "NP016", Severity: model.SeverityInfo, Message: "fine", Location: model.Location{File: "./overlays/prod/ok.yaml", Line: 2}},
				{
					RuleID: "NP017", Severity: model.SeverityWarning, Message: "waived",
					Location: model.Location{File: "overlays/prod/w.yaml"},
					Waived:   &model.Waiver{Reason: "[see](https://evil.example/w)", Owner: "team", Expires: "2027-01-01"},
				},
			},
		}},
	}
}

func TestHostileGolden(t *testing.T) {
	t.Parallel()
	opts := Options{Marker: "<!-- reachgate:check -->"}
	for _, f := range []string{"markdown", "text", "github"} {
		t.Run(f, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			require.NoError(t, Write(&b, f, hostileReport(), opts))
			golden(t, "hostile."+f+"."+goldenExt[f], b.Bytes())
		})
	}
}

// mdLinks returns the targets of what GitHub would render as a link or
// an image in md: an unescaped "[" outside a code span, text, an
// unescaped "]", then "(target)". (It ignores nesting and reference
// links, which need "[" too.)
func mdLinks(md string) []string {
	var out []string
	for _, line := range strings.Split(md, "\n") {
		code := false
		open := -1
		for i := 0; i < len(line); i++ {
			switch c := line[i]; {
			case c == '\\' && !code:
				i++ // the next character is literal
			case c == '`':
				code = !code
			case code:
			case c == '[':
				open = i
			case c == ']' && open >= 0 && i+1 < len(line) && line[i+1] == '(':
				if j := strings.IndexByte(line[i+2:], ')'); j >= 0 {
					out = append(out, line[i+2:i+2+j])
				}
				open = -1
			}
		}
	}
	return out
}

func TestHostileMarkdownHasNoForeignLinks(t *testing.T) {
	t.Parallel()
	md := render(t, "markdown", hostileReport(), Options{})
	assertTablesWellFormed(t, md)

	// Every link the comment has goes to the repository at a commit: the
	// base and head commits, and the one finding whose path is inside.
	links := mdLinks(md)
	assert.Equal(t, []string{
		"https://github.com/acme/gitops/commit/" + baseSHA,
		"https://github.com/acme/gitops/commit/" + headSHA,
		"https://github.com/acme/gitops/blob/" + headSHA + "/overlays/prod/expectations.yaml#L3",
		"https://github.com/acme/gitops/blob/" + headSHA + "/overlays/prod/ok.yaml#L2",
		"https://github.com/acme/gitops/blob/" + headSHA + "/overlays/prod/w.yaml",
	}, links)
	assert.NotContains(t, md, "<img")
	// The text is still there, escaped.
	assert.Contains(t, md, `(\[approved\](https://evil.example/approve) \!\[ok\]`)
	assert.Contains(t, md, `&lt;img src=https://evil.example/i.png&gt;`)
	assert.Contains(t, md, `| ../../../evil/repo/blob/main/x.yaml:1 |`, "shown, not linked")
	assert.Contains(t, md, `| /etc/passwd:1 |`)
	assert.Contains(t, md, `**Deployment app/x\`+"`"+`** `+"`[f](https://evil.example/field)`")
	assert.Contains(t, md, "<summary><b>prod &#91;home&#93;(https://evil.example) (prod)</b>")
}

func TestMDLinks(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"a", "b", "c", "d"}, mdLinks(`[x](a) \\[y](b) `+"`[z](no)`"+` ![i](c) \[w\](no) \![v](d) \[u](no)`))
}

func TestHostileLinkTargets(t *testing.T) {
	t.Parallel()
	base := hostileReport()
	for name, mod := range map[string]func(r *model.Report){
		"commit with dots":      func(r *model.Report) { r.Head.Commit = "../../../evil" },
		"commit with a slash":   func(r *model.Report) { r.Head.Commit = "2222222/../../x" },
		"repository with dots":  func(r *model.Report) { r.Repository = "../evil" },
		"repository with three": func(r *model.Report) { r.Repository = "acme/gitops/../../evil" },
		"server with a query":   func(r *model.Report) { r.ServerURL = "https://evil.example/?" },
		"server not http":       func(r *model.Report) { r.ServerURL = "javascript:alert(1)//" },
		"server with a user":    func(r *model.Report) { r.ServerURL = "https://github.com@evil.example" },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := *base
			mod(&r)
			md := render(t, "markdown", &r, Options{})
			for _, u := range mdLinks(md) {
				assert.Regexp(t, `^https://github\.com/acme/gitops/commit/[0-9a-f]{40}$`, u)
			}
			assert.Contains(t, md, "| ./overlays/prod/ok.yaml:2 |")
		})
	}
	r := *base
	r.ServerURL = "https://ghe.example.com/"
	assert.Contains(t, mdLinks(render(t, "markdown", &r, Options{})), "https://ghe.example.com/acme/gitops/blob/"+headSHA+"/overlays/prod/ok.yaml#L2")
}

// commandRE matches a line GitHub's runner would run as a workflow
// command: it trims leading white space and looks for "::".
var commandRE = regexp.MustCompile(`(?m)^\s*::`)

func TestHostileTextHasNoWorkflowCommands(t *testing.T) {
	t.Parallel()
	for _, color := range []bool{false, true} {
		out := render(t, "text", hostileReport(), Options{Color: color})
		assert.NotContains(t, out, "\r")
		assert.Empty(t, commandRE.FindAllString(out, -1), "color=%v:\n%s", color, out)
		assert.Contains(t, out, `\::stop-commands::pwned`)
		assert.Contains(t, out, `\::error file=rego/x.rego,line=1::forged`)
		assert.Contains(t, out, `\::warning::after a carriage return`)
	}
	// The github format's own commands are the only ones there.
	gh := render(t, "github", hostileReport(), Options{})
	for _, l := range strings.Split(strings.TrimSuffix(gh, "\n"), "\n") {
		assert.Regexp(t, `^::(error|warning|notice) `, l)
		assert.NotContains(t, l, "stop-commands::pwned\n")
	}
	assert.NotContains(t, gh, "\r")
}

func TestEscapeWorkflowCommands(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                         "",
		"plain":                    "plain",
		"a::b":                     "a::b",
		"::x":                      `\::x`,
		"  \t::x\n::y\n":           "  \t\\::x\n\\::y\n",
		"a\r::x\r\n::y":            "a\n\\::x\n\\::y",
		"\u00a0\u3000::x":          "\u00a0\u3000\\::x",
		": :x\n\\::x":              ": :x\n\\::x",
		"\x1b[31m::x\x1b[0m":       "\x1b[31m::x\x1b[0m", // not a command: the runner trims only white space
		"ok\n\n   \n::stop::tok\n": "ok\n\n   \n\\::stop::tok\n",
	} {
		assert.Equal(t, want, EscapeWorkflowCommands(in), "%q", in)
	}
}

// escapeLines is EscapeWorkflowCommands as first written, over the whole
// text at once: the oracle for the escaper the text formats stream
// through.
func escapeLines(s string) string {
	lines := strings.SplitAfter(strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(s), "\n")
	for i, l := range lines {
		if rest := strings.TrimLeftFunc(l, unicode.IsSpace); strings.HasPrefix(rest, "::") {
			lines[i] = l[:len(l)-len(rest)] + `\` + rest
		}
	}
	return strings.Join(lines, "")
}

// The escaper sees the text in whatever pieces its writer flushes: a
// "\r\n" or a "::" cut in two must come out as from the whole text.
func TestCommandEscaperStreams(t *testing.T) {
	t.Parallel()
	atoms := []string{"::", ":", "\r", "\n", "\r\n", " ", "\t", "\u00a0", "\u3000", "a", `\`, "\xff", "\xe3\x80"}
	rng := rand.New(rand.NewPCG(7, 7))
	inputs := []string{"", "::x", "\r", "\r\n::y\r", "  ::\r\n\r\n::", "\xe3\x80\x80::x"}
	for range 3000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(atoms[rng.IntN(len(atoms))])
		}
		inputs = append(inputs, b.String())
	}
	write := func(pieces ...string) string {
		var out strings.Builder
		e := newCommandEscaper(&out)
		for _, p := range pieces {
			n, err := e.Write([]byte(p))
			require.NoError(t, err)
			require.Equal(t, len(p), n)
		}
		require.NoError(t, e.close())
		return out.String()
	}
	for _, in := range inputs {
		want := escapeLines(in)
		require.Equal(t, want, EscapeWorkflowCommands(in), "%q", in)
		for k := range len(in) + 1 {
			require.Equal(t, want, write(in[:k], in[k:]), "%q cut at %d", in, k)
		}
		bytewise := make([]string, len(in))
		for i := range len(in) {
			bytewise[i] = in[i : i+1]
		}
		require.Equal(t, want, write(bytewise...), "%q a byte at a time", in)
	}
}

func TestTextFormatsEscapeCommands(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	d := &model.Diff{WorkloadsAdded: []model.Peer{{Workload: &model.Workload{Namespace: "app", Name: "x\n::stop-commands::t", Kind: "Pod"}}}}
	require.NoError(t, WriteDiff(&b, "txt", "dev\n::error::x", d))
	assert.Empty(t, commandRE.FindAllString(b.String(), -1), b.String())
	assert.Contains(t, b.String(), `\::stop-commands::t`)
}
