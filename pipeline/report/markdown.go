package report

import (
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Helpers shared by the Markdown renderers (matrix, diff, check report).

var mdTextReplacer = strings.NewReplacer(
	"&", "&amp;",
	"<", "&lt;",
	">", "&gt;",
	"|", `\|`,
	"@", "&#64;", // no @mentions from rule messages or waiver owners
	// No links, images, code spans or emphasis: the text may come from
	// the pull request (object names, an expectation's reason) and must
	// render as the characters it is.
	`\`, `\\`,
	"[", `\[`,
	"]", `\]`,
	"!", `\!`,
	"`", "\\`",
	"*", `\*`,
	"_", `\_`,
	"~", `\~`,
	"\r\n", "<br>",
	"\n", "<br>",
	"\r", "<br>",
)

// mdText makes free text (a rule message, a name, a reason) safe in a
// table cell or a list item: no HTML, no cell breaks, no mentions, no
// links or images, no code spans or emphasis, one line. Every character
// renders as itself.
func mdText(s string) string { return mdTextReplacer.Replace(s) }

var htmlTextReplacer = strings.NewReplacer(
	"&", "&amp;",
	"<", "&lt;",
	">", "&gt;",
	`"`, "&#34;",
	"'", "&#39;",
	"[", "&#91;",
	"]", "&#93;",
	"`", "&#96;",
)

// htmlText escapes text inside an HTML element of the comment (the
// summary of a folded section, a <pre>). GitHub does not render Markdown
// there, but should a renderer do so, brackets and backticks are
// character references, never link or code syntax.
func htmlText(s string) string { return htmlTextReplacer.Replace(s) }

var mdCodeReplacer = strings.NewReplacer("`", "'", "\r", " ", "\n", " ")

// mdCode is an inline code span outside a table.
func mdCode(s string) string { return "`" + mdCodeReplacer.Replace(s) + "`" }

// mdCodeCell is an inline code span inside a table cell, where a pipe
// must be escaped even in code.
func mdCodeCell(s string) string {
	return "`" + strings.ReplaceAll(mdCodeReplacer.Replace(s), "|", `\|`) + "`"
}

// mdTable writes a header row and the separator.
func mdTable(b io.StringWriter, cols ...string) {
	b.WriteString("|")
	for _, c := range cols {
		b.WriteString(" " + c + " |")
	}
	b.WriteString("\n|")
	for range cols {
		b.WriteString("---|")
	}
	b.WriteString("\n")
}

// mdRow writes one table row; cells must already be escaped.
func mdRow(b io.StringWriter, cells ...string) {
	b.WriteString("|")
	for _, c := range cells {
		if c == "" {
			c = " "
		}
		b.WriteString(" " + c + " |")
	}
	b.WriteString("\n")
}

// linker makes links to files of the repository at a commit.
type linker struct {
	blob string // https://github.com/OWNER/REPO/blob/
}

func newLinker(r *model.Report) linker {
	if r == nil {
		return linker{}
	}
	owner, name, ok := strings.Cut(r.Repository, "/")
	if !ok || !repoName(owner) || !repoName(name) {
		return linker{}
	}
	server := strings.TrimRight(r.ServerURL, "/")
	if server == "" {
		server = "https://github.com"
	}
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return linker{}
	}
	return linker{blob: server + "/" + owner + "/" + name + "/blob/"}
}

// repoName tells whether s can be an owner or a repository name on
// GitHub: letters, digits, '-', '_' and '.', and not "." or "..".
func repoName(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// url links to loc at commit, or is "" when that cannot be done, or when
// the path or the commit could make the link leave the repository (a
// report read back from JSON comes from an untrusted job).
func (l linker) url(loc model.Location, commit string) string {
	if l.blob == "" || !linkableCommit(commit) || loc.File == "" {
		return ""
	}
	segs, ok := repoPath(loc.File)
	if !ok {
		return ""
	}
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u := l.blob + commit + "/" + strings.Join(segs, "/")
	if loc.Line > 0 {
		u += "#L" + strconv.Itoa(loc.Line)
	}
	return u
}

// linkableCommit tells whether c is a commit ID that can go into a URL
// path as it is.
func linkableCommit(c string) bool {
	if len(c) < 7 || len(c) > 64 {
		return false
	}
	for _, r := range c {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}

// repoPath splits a slash-separated path relative to the repository root
// into its segments. It refuses what could point elsewhere once in a URL:
// an absolute path, a ".." or empty segment, a backslash (a separator to
// browsers), a colon (a URL scheme, a drive letter) and control
// characters.
func repoPath(p string) ([]string, bool) {
	p = strings.TrimPrefix(p, "./")
	if p == "" || strings.ContainsAny(p, `\:`) {
		return nil, false
	}
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return nil, false
		}
		for _, r := range s {
			if r < 0x20 || r == 0x7f {
				return nil, false
			}
		}
	}
	return segs, true
}

// link is [text](url), or text alone without a url. text must be
// escaped for a link already.
func link(text, u string) string {
	if u == "" {
		return text
	}
	return "[" + text + "](" + u + ")"
}

// mdRef renders one side of a grant for a table cell, linking to the
// rule's source at commit.
func mdRef(l linker, r model.RuleRef, dir model.Direction, commit string) string {
	if r.NotIsolated() {
		return "_not isolated_"
	}
	return link(mdCodeCell(r.Policy), l.url(r.Source, commit)) + " " + dir.String() + "[" + strconv.Itoa(r.Rule) + "]"
}

// mdRefs renders the distinct rules of one side of an allowance.
func mdRefs(l linker, a *model.Allowance, dir model.Direction, commit string) string {
	refs := sideRefs(a, dir)
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = mdRef(l, r, dir, commit)
	}
	return strings.Join(parts, "<br>")
}

// mdPorts renders an allowance's ports for a table cell.
func mdPorts(a *model.Allowance) string {
	if a == nil {
		return "none"
	}
	s := mdText(a.Ports.String())
	if a.AddressDependent {
		s += " _(address-dependent)_"
	}
	return s
}
