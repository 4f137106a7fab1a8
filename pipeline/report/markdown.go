package report

import (
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
	"\r\n", "<br>",
	"\n", "<br>",
	"\r", "<br>",
)

// mdText makes free text (a rule message, a reason) safe in a table cell
// or a list item: no HTML, no cell breaks, no mentions, one line.
// Backticks stay, so `code` in messages still renders as code.
func mdText(s string) string { return mdTextReplacer.Replace(s) }

var mdCodeReplacer = strings.NewReplacer("`", "'", "\r", " ", "\n", " ")

// mdCode is an inline code span outside a table.
func mdCode(s string) string { return "`" + mdCodeReplacer.Replace(s) + "`" }

// mdCodeCell is an inline code span inside a table cell, where a pipe
// must be escaped even in code.
func mdCodeCell(s string) string {
	return "`" + strings.ReplaceAll(mdCodeReplacer.Replace(s), "|", `\|`) + "`"
}

// mdLinkText escapes text used between [ and ] of a link.
func mdLinkText(s string) string {
	return strings.NewReplacer("[", `\[`, "]", `\]`).Replace(mdText(s))
}

// mdTable writes a header row and the separator.
func mdTable(b *strings.Builder, cols ...string) {
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
func mdRow(b *strings.Builder, cells ...string) {
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
	if r == nil || r.Repository == "" || !strings.Contains(r.Repository, "/") {
		return linker{}
	}
	server := strings.TrimRight(r.ServerURL, "/")
	if server == "" {
		server = "https://github.com"
	}
	return linker{blob: server + "/" + r.Repository + "/blob/"}
}

// url links to loc at commit, or is "" when that cannot be done.
func (l linker) url(loc model.Location, commit string) string {
	if l.blob == "" || commit == "" || loc.File == "" {
		return ""
	}
	segs := strings.Split(strings.TrimPrefix(loc.File, "./"), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u := l.blob + url.PathEscape(commit) + "/" + strings.Join(segs, "/")
	if loc.Line > 0 {
		u += "#L" + strconv.Itoa(loc.Line)
	}
	return u
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
