package render

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// parsePlain parses the block YAML that tools write and most manifests
// are, several times faster than yaml.v3: mappings and sequences by
// indentation, plain scalars that are strings, booleans, nulls or decimal
// integers, quoted scalars without escapes, {} and [], and comments. It
// builds the nodes yaml.v3 builds for the same text, field for field, but
// for comments, which it drops: reachgate does not read them, nor does
// kustomize's build, but for the field metadata kyaml reads from comments
// that hold JSON (TestPlainYAMLAsYAMLv3, FuzzPlainYAML,
// TestPlainParsingRendersAsYAMLv3). It returns ok false for anything
// else (anchors, tags, block scalars, flow collections, multi-line
// scalars, numbers other than decimal integers, " #" in a quoted scalar,
// a comment that may hold JSON, tabs, non-ASCII text, errors), which
// yaml.v3 parses then.
func parsePlain(chunk []byte) (node *yaml.Node, ok bool) {
	for _, c := range chunk {
		if plainRefused[c] {
			return nil, false
		}
	}
	p := plainParser{text: string(chunk)}
	if !p.split() || len(p.lines) == 0 {
		return nil, false
	}
	// About two nodes a line (a key and its value, or a key and the
	// collection below it): one allocation for most documents.
	p.nodes = make([]yaml.Node, 0, 2*len(p.lines)+len(p.lines)/4+4)
	n := p.block(p.lines[0].indent, 0)
	if n == nil || p.pos != len(p.lines) {
		return nil, false
	}
	return n, true
}

// plainRefused are the bytes parsePlain leaves to yaml.v3 wherever they
// are: anchors, aliases, tags, block scalars, escapes, tabs,
// carriage returns, control characters and non-ASCII text. (Other
// indicators are refused where they are one: at the start of a scalar.)
var plainRefused = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c < ' ' && c != '\n' || c >= 0x7f
	}
	for _, c := range "&*!|>\\" {
		t[c] = true
	}
	return t
}()

// plainLine is one line that is not blank: its indentation, its text
// after it, and its 1-based line number.
type plainLine struct {
	indent int
	text   string
	line   int
}

type plainParser struct {
	text  string
	lines []plainLine
	pos   int
	nodes []yaml.Node
}

// split cuts the text into lines that are neither blank nor comments,
// taking off a leading document marker and comments after a line's text;
// false when a line is something parsePlain leaves to yaml.v3.
func (p *plainParser) split() bool {
	p.lines = make([]plainLine, 0, strings.Count(p.text, "\n")+1)
	line := 0
	for s := p.text; len(s) > 0; {
		line++
		var l string
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			l, s = s[:i], s[i+1:]
		} else {
			l, s = s, ""
		}
		indent := 0
		for indent < len(l) && l[indent] == ' ' {
			indent++
		}
		l = strings.TrimRight(l[indent:], " ")
		switch {
		case l == "":
			continue
		case l[0] == '#':
			if jsonComment(l) {
				return false
			}
			continue
		case strings.HasPrefix(l, "---") || strings.HasPrefix(l, "..."):
			if line != 1 || indent != 0 || l != "---" {
				return false
			}
			continue
		}
		if i := strings.Index(l, " #"); i >= 0 {
			// A comment after the line's text. (A "#" in a quoted
			// scalar leaves it unclosed here, and yaml.v3 the line.)
			if jsonComment(l[i+1:]) {
				return false
			}
			l = strings.TrimRight(l[:i], " ")
		}
		p.lines = append(p.lines, plainLine{indent: indent, text: l, line: line})
	}
	return true
}

// jsonComment reports whether a comment may hold JSON: kyaml reads field
// metadata (an OpenAPI schema, a setter) from such comments when it merges
// patches, so parsePlain, which drops comments, leaves it to yaml.v3.
func jsonComment(c string) bool {
	return strings.HasPrefix(strings.TrimLeft(c, "# "), "{")
}

// maxPlainDepth is the nesting parsePlain leaves to yaml.v3 (and its
// limits) from.
const maxPlainDepth = 64

func (p *plainParser) node(kind yaml.Kind, tag string, line, col int) *yaml.Node {
	if len(p.nodes) == cap(p.nodes) {
		p.nodes = make([]yaml.Node, 0, 256)
	}
	p.nodes = append(p.nodes, yaml.Node{Kind: kind, Tag: tag, Line: line, Column: col})
	return &p.nodes[len(p.nodes)-1]
}

func isDash(s string) bool { return s == "-" || strings.HasPrefix(s, "- ") }

// block parses the mapping or sequence whose first line is the current
// one, indented by indent.
func (p *plainParser) block(indent, depth int) *yaml.Node {
	if isDash(p.lines[p.pos].text) {
		return p.sequence(indent, depth)
	}
	return p.mapping(indent, depth)
}

// open makes the node of the block collection that starts at the current
// line, indented by indent; nil past maxPlainDepth.
func (p *plainParser) open(kind yaml.Kind, tag string, indent, depth int) *yaml.Node {
	if depth > maxPlainDepth {
		return nil
	}
	return p.node(kind, tag, p.lines[p.pos].line, indent+1)
}

func (p *plainParser) mapping(indent, depth int) *yaml.Node {
	m := p.open(yaml.MappingNode, "!!map", indent, depth)
	if m == nil {
		return nil
	}
	var content []*yaml.Node
	for p.pos < len(p.lines) && p.lines[p.pos].indent == indent {
		l := p.lines[p.pos]
		if isDash(l.text) {
			return nil
		}
		key, value, at, ok := splitKey(l.text)
		if !ok {
			return nil
		}
		k := p.scalar(key, l.line, indent+1)
		if k == nil || k.Kind != yaml.ScalarNode {
			return nil
		}
		p.pos++
		var v *yaml.Node
		switch {
		case value != "":
			if v = p.scalar(value, l.line, indent+1+at); v == nil {
				return nil
			}
		case p.pos == len(p.lines):
			return nil
		case p.lines[p.pos].indent > indent:
			v = p.block(p.lines[p.pos].indent, depth+1)
		case p.lines[p.pos].indent == indent && isDash(p.lines[p.pos].text):
			v = p.sequence(indent, depth+1)
		}
		if v == nil {
			return nil
		}
		content = append(content, k, v)
	}
	if p.pos < len(p.lines) && p.lines[p.pos].indent > indent {
		return nil
	}
	m.Content = content
	return m
}

func (p *plainParser) sequence(indent, depth int) *yaml.Node {
	s := p.open(yaml.SequenceNode, "!!seq", indent, depth)
	if s == nil {
		return nil
	}
	var content []*yaml.Node
	for p.pos < len(p.lines) && p.lines[p.pos].indent == indent && isDash(p.lines[p.pos].text) {
		l := &p.lines[p.pos]
		rest := strings.TrimLeft(l.text[1:], " ")
		if rest == "" || isDash(rest) {
			return nil
		}
		// The item's text starts further right on the same line.
		l.indent += len(l.text) - len(rest)
		l.text = rest
		var item *yaml.Node
		if _, _, _, isKey := splitKey(rest); isKey {
			item = p.mapping(l.indent, depth+1)
		} else {
			item = p.scalar(rest, l.line, l.indent+1)
			p.pos++
		}
		if item == nil {
			return nil
		}
		content = append(content, item)
	}
	if p.pos < len(p.lines) && p.lines[p.pos].indent > indent {
		return nil
	}
	s.Content = content
	return s
}

// splitKey splits "key: value" or "key:" into the key, the value and the
// value's offset in s; ok is false when s is no mapping entry.
func splitKey(s string) (key, value string, at int, ok bool) {
	i := 0
	if s[0] == '"' || s[0] == '\'' {
		j := strings.IndexByte(s[1:], s[0])
		if j < 0 {
			return "", "", 0, false
		}
		i = j + 2
		if i >= len(s) || s[i] != ':' {
			return "", "", 0, false
		}
	} else {
		for {
			j := strings.IndexByte(s[i:], ':')
			if j < 0 {
				return "", "", 0, false
			}
			i += j
			if i+1 == len(s) || s[i+1] == ' ' {
				break
			}
			i++
		}
	}
	key = strings.TrimRight(s[:i], " ")
	if i+1 < len(s) && s[i+1] != ' ' {
		return "", "", 0, false
	}
	rest := s[i+1:]
	value = strings.TrimLeft(rest, " ")
	return key, value, len(s) - len(value), key != ""
}

// scalar is the node of a value written on one line: {}, [], a quoted
// string or a plain scalar; nil when it is anything else.
func (p *plainParser) scalar(s string, line, col int) *yaml.Node {
	switch s {
	case "{}":
		n := p.node(yaml.MappingNode, "!!map", line, col)
		n.Style = yaml.FlowStyle
		return n
	case "[]":
		n := p.node(yaml.SequenceNode, "!!seq", line, col)
		n.Style = yaml.FlowStyle
		return n
	}
	switch s[0] {
	case '"', '\'':
		if len(s) < 2 || s[len(s)-1] != s[0] || strings.IndexByte(s[1:len(s)-1], s[0]) >= 0 {
			return nil
		}
		n := p.node(yaml.ScalarNode, "!!str", line, col)
		n.Value = s[1 : len(s)-1]
		n.Style = yaml.DoubleQuotedStyle
		if s[0] == '\'' {
			n.Style = yaml.SingleQuotedStyle
		}
		return n
	}
	tag := plainTag(s)
	if tag == "" {
		return nil
	}
	n := p.node(yaml.ScalarNode, tag, line, col)
	n.Value = s
	return n
}

// plainTag is the tag yaml.v3 resolves a plain scalar to, for the plain
// scalars parsePlain takes; "" for the others.
func plainTag(s string) string {
	switch c := s[0]; {
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '/' || c == '_':
	case c >= '0' && c <= '9' || c == '.':
		// yaml.v3 tries .nan and .inf, a timestamp, then Go's integers
		// and floats: a scalar that cannot be one of them (an address
		// range, a quantity like 100m) is a string.
		switch {
		case isDecimal(s):
			return "!!int"
		case !strings.ContainsFunc(s, notNumeric) || strings.EqualFold(s, ".nan") || strings.EqualFold(s, ".inf"):
			return ""
		}
	default:
		// Indicators, signs and the like.
		return ""
	}
	if strings.Contains(s, ": ") || strings.HasSuffix(s, ":") {
		return ""
	}
	switch s {
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return "!!bool"
	case "null", "Null", "NULL":
		return "!!null"
	}
	return "!!str"
}

// notNumeric is true for a character no integer, float or timestamp that
// yaml.v3 reads holds.
func notNumeric(r rune) bool {
	return !strings.ContainsRune("0123456789abcdefABCDEFxXoOpP_.+-:tTzZ ", r)
}

// isDecimal reports whether s is a decimal integer without a sign or
// leading zeros that fits an int64 for sure.
func isDecimal(s string) bool {
	if len(s) > 18 || s[0] == '0' && len(s) > 1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
