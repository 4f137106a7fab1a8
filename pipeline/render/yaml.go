package render

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"go.yaml.in/yaml/v3"

	"github.com/reachgate/reachgate/internal/bytesize"
)

// document is one YAML document of a file.
type document struct {
	// node is the document's content (a mapping for a manifest); nil for
	// an empty document.
	node *yaml.Node
	// offset is added to node lines to get file lines.
	offset int
	// line is the 1-based file line where the document's content starts,
	// or where the parser failed.
	line int
	// err is a syntax error; node is nil then.
	err error
	// data is the document's text.
	data []byte
	// ahead is the document's conversion done ahead (see convertAhead).
	ahead converted
}

// converted is what converting a document found: its values, those
// reached through aliases, and whether it converted within the limits
// per document.
type converted struct {
	nodes, aliased int64
	ok             bool
	// value is the conversion, when ok.
	value any
}

// largestObject finds the largest object of the document, by the bytes of
// its text: the document itself, or for a List the largest item. line is
// the file line where it starts; ok is false for an empty document.
func (d *document) largestObject() (line int, size int64, ok bool) {
	if d.node == nil {
		return 0, 0, false
	}
	items := mapValue(d.node, "items")
	if !strings.HasSuffix(scalarString(mapValue(d.node, "kind")), "List") || items == nil ||
		items.Kind != yaml.SequenceNode || len(items.Content) == 0 {
		return d.line, int64(len(d.data)), true
	}
	var starts []int // byte offset of each line of the document
	for i := 0; i < len(d.data); {
		starts = append(starts, i)
		j := bytes.IndexByte(d.data[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
	}
	at := func(n *yaml.Node) int {
		if n.Line < 1 || n.Line > len(starts) {
			return len(d.data)
		}
		return min(len(d.data), starts[n.Line-1]+max(0, n.Column-1))
	}
	for i, it := range items.Content {
		end := len(d.data)
		if i+1 < len(items.Content) {
			end = at(items.Content[i+1])
		}
		if n := int64(end - at(it)); n > size {
			line, size = d.lineOf(it), n
		}
	}
	return line, size, true
}

// lineOf is the file line of a node of this document.
func (d *document) lineOf(n *yaml.Node) int { return n.Line + d.offset }

// splitDocuments cuts a YAML stream into its documents at "---" and "..."
// markers (which YAML only recognises at the start of a line), so that a
// syntax error in one document does not hide the others.
func splitDocuments(data []byte) []document {
	chunks := splitChunks(data)
	docs := make([]document, len(chunks))
	parse := func(i int) bool {
		docs[i] = parseDocument(chunks[i].text, chunks[i].first)
		return true
	}
	if len(chunks) > 1 && len(data) >= parallelBytes {
		parallel(len(chunks), parse)
	} else {
		for i := range chunks {
			parse(i)
		}
	}
	return docs
}

// chunk is the text of one document, and the file line it starts on.
type chunk struct {
	text  []byte
	first int
}

// splitChunks cuts a YAML stream at its document markers, leaving out
// blank documents.
func splitChunks(data []byte) []chunk {
	var chunks []chunk
	start, startLine := 0, 1
	line := 1
	flush := func(end int) {
		if c := data[start:end]; len(bytes.TrimSpace(c)) > 0 {
			chunks = append(chunks, chunk{c, startLine})
		}
	}
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if j >= 0 {
			next = i + j + 1
		}
		text := strings.TrimRight(string(data[i:next]), "\r\n")
		switch {
		case isMarker(text, "---"):
			// The marker line belongs to the document it opens.
			flush(i)
			start, startLine = i, line
		case isMarker(text, "..."):
			flush(i)
			start, startLine = next, line+1
		}
		i = next
		line++
	}
	flush(len(data))
	return chunks
}

// parallelBytes is the size from which a file's documents are parsed
// and converted on every core (a variable for tests).
var parallelBytes = 32 << 10

func isMarker(line, m string) bool {
	if !strings.HasPrefix(line, m) {
		return false
	}
	rest := line[len(m):]
	return rest == "" || rest[0] == ' ' || rest[0] == '\t'
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserProblems are the yaml.v3 messages of parser (not scanner) errors,
// whose line yaml.v3 reports 0-based: the line where the enclosing
// mapping or sequence starts, minus one.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// parseDocument parses one document that starts at file line first.
func parseDocument(chunk []byte, first int) document {
	d := document{offset: first - 1, line: first, data: chunk}
	if plainParsing {
		if n, ok := parsePlain(chunk); ok {
			d.node = n
			d.line = d.lineOf(n)
			return d
		}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(chunk, &root); err != nil {
		msg := err.Error()
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			msg = m[2]
			if parserProblems[msg] {
				n++
			}
			d.line = n + d.offset
		} else {
			msg = strings.TrimPrefix(msg, "yaml: ")
		}
		d.err = errors.New(msg)
		return d
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return d
	}
	n := root.Content[0]
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return d // only comments, or an explicit null
	}
	d.node = n
	d.line = d.lineOf(n)
	return d
}

// plainParsing is off in tests that compare with yaml.v3 alone.
var plainParsing = true

// mapValue returns the value of key in a mapping node, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// scalarString is the text of a scalar node, "" for anything else.
func scalarString(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return ""
	}
	return n.Value
}

// converter turns YAML nodes into the JSON-shaped values Kubernetes uses:
// map[string]any, []any, string, bool, int64, float64 and nil. Scalars
// follow YAML 1.2 (as kustomize does): only true/false are booleans. It
// checks the Limits as it goes.
type converter struct {
	// nodes counts the document's values, aliased those reached through
	// an alias.
	nodes, aliased int64
	inAlias        int
	offset         int                 // added to node lines to get file lines
	active         map[*yaml.Node]bool // aliases being expanded, to catch cycles
	lim            *Limits
	// run counts the values of the documents converted before this one,
	// against lim.RunValues, and runAliased those that came through
	// aliases; nil for no budget per run.
	run, runAliased *atomic.Int64
	// path is where the walk is: a stack of steps, pushed and popped in
	// place, turned into a fieldPath only for an error. levels counts
	// the levels of nesting that add no step (aliases, merges, the
	// document node): the depth is len(path)+levels.
	path   []step
	levels int
}

// step is one element of the converter's path: a key, or an index when
// key is empty and index >= 0.
type step struct {
	key   string
	index int
}

// pathError is a problem at a field path inside a document.
type pathError struct {
	path fieldPath
	line int
	msg  string
}

func (e *pathError) Error() string {
	if len(e.path) == 0 {
		return e.msg
	}
	return e.path.String() + ": " + e.msg
}

// toValue converts a node whose lines are off by offset from file lines,
// within DefaultLimits for one document.
func toValue(n *yaml.Node, offset int) (any, error) {
	c := converter{offset: offset, lim: &DefaultLimits}
	return c.value(n)
}

// fieldPath is the converter's path as a fieldPath of its own.
func (c *converter) fieldPath() fieldPath {
	if len(c.path) == 0 {
		return nil
	}
	p := make(fieldPath, len(c.path))
	for i, s := range c.path {
		if s.index >= 0 {
			p[i] = s.index
		} else {
			p[i] = s.key
		}
	}
	return p
}

// failAt is a problem at the converter's path, on line.
func (c *converter) failAt(line int, format string, args ...any) error {
	return &pathError{path: c.fieldPath(), line: line + c.offset, msg: fmt.Sprintf(format, args...)}
}

func (c *converter) fail(n *yaml.Node, format string, args ...any) error {
	return c.failAt(n.Line, format, args...)
}

// throughAliases says how many values came through aliases, if any did.
func (c *converter) throughAliases() string {
	if c.aliased == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d of them through aliases)", c.aliased)
}

func (c *converter) value(n *yaml.Node) (any, error) {
	c.nodes++
	if c.inAlias > 0 {
		c.aliased++
	}
	if len(c.path)+c.levels+1 > c.lim.Depth {
		return nil, c.fail(n, "nested more than %d levels deep", c.lim.Depth)
	}
	if c.nodes > c.lim.DocumentValues {
		verb := "holds"
		if c.aliased > 0 {
			verb = "expands to"
		}
		return nil, c.fail(n, "document %s more than %d values%s, the limit per document", verb, c.lim.DocumentValues, c.throughAliases())
	}
	if c.run != nil && c.run.Load()+c.nodes > c.lim.RunValues {
		aliased := c.aliased + c.runAliased.Load()
		through := ""
		if aliased > 0 {
			through = fmt.Sprintf(" (%d of them through aliases)", aliased)
		}
		return nil, c.fail(n, "the files read so far hold more than %d values%s, the limit per run", c.lim.RunValues, through)
	}
	if n.Anchor != "" && n.Kind != yaml.AliasNode {
		if c.active == nil {
			c.active = map[*yaml.Node]bool{}
		}
		c.active[n] = true
		defer delete(c.active, n)
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, c.fail(n, "unknown alias")
		}
		if c.active[n.Alias] {
			return nil, c.fail(n, "alias *%s refers to itself", n.Value)
		}
		c.inAlias++
		c.levels++
		v, err := c.value(n.Alias)
		c.inAlias--
		c.levels--
		return v, err
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		c.levels++
		v, err := c.value(n.Content[0])
		c.levels--
		return v, err
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, e := range n.Content {
			c.path = append(c.path, step{index: i})
			v, err := c.value(e)
			if err != nil {
				return nil, err
			}
			c.path = c.path[:len(c.path)-1]
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return c.mapping(n)
	case yaml.ScalarNode:
		return c.scalar(n)
	}
	return nil, c.fail(n, "unsupported YAML node")
}

func (c *converter) mapping(n *yaml.Node) (map[string]any, error) {
	if k := len(n.Content) / 2; k > c.lim.MapKeys {
		return nil, c.fail(n, "%d keys in one mapping, more than %d, the limit per mapping (kustomize's time grows with the square of a mapping's keys)", k, c.lim.MapKeys)
	}
	out := make(map[string]any, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return nil, c.failAt(k.Line, "mapping keys must be scalars")
		}
		key := k.Value
		if _, dup := out[key]; dup {
			c.path = append(c.path, step{key: key, index: -1})
			return nil, c.failAt(k.Line, "duplicate key (first at line %d)", firstKeyLine(n, key)+c.offset)
		}
		c.path = append(c.path, step{key: key, index: -1})
		val, err := c.value(v)
		if err != nil {
			return nil, err
		}
		c.path = c.path[:len(c.path)-1]
		out[key] = val
	}
	// "<<" merge keys: explicit keys win, earlier merges win over later.
	for _, m := range merges {
		srcs := []*yaml.Node{m}
		if r := resolveAlias(m); r.Kind == yaml.SequenceNode {
			srcs = r.Content
		}
		for _, s := range srcs {
			if r := resolveAlias(s); r.Kind != yaml.MappingNode {
				return nil, c.fail(s, "merge key needs a mapping or a list of mappings")
			}
			c.levels++
			v, err := c.value(s)
			c.levels--
			if err != nil {
				return nil, err
			}
			for k, x := range v.(map[string]any) {
				if _, ok := out[k]; !ok {
					out[k] = x
				}
			}
		}
	}
	if c.atAnnotations() {
		total := 0
		for k, v := range out {
			s, _ := v.(string)
			total += len(k) + len(s)
		}
		if total > c.lim.AnnotationBytes {
			return nil, c.fail(n, "annotations take %s, more than the %s the API server accepts", bytesize.Format(int64(total)), bytesize.Format(int64(c.lim.AnnotationBytes)))
		}
	}
	return out, nil
}

// firstKeyLine is the line of key's first occurrence in mapping n.
func firstKeyLine(n *yaml.Node, key string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key && k.ShortTag() != "!!merge" {
			return k.Line
		}
	}
	return 0
}

// atAnnotations: the path ends in metadata.annotations.
func (c *converter) atAnnotations() bool {
	p := c.path
	return len(p) >= 2 && p[len(p)-2].index < 0 && p[len(p)-2].key == "metadata" && p[len(p)-1].index < 0 && p[len(p)-1].key == "annotations"
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func (c *converter) scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		// Timestamps stay text (Kubernetes has no timestamp type in JSON);
		// binary stays base64, which is what JSON []byte fields expect.
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!bool":
		switch n.Value {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, c.fail(n, "%s", err.Error())
		}
		return b, nil
	case "!!int":
		if i, ok := decimal(n.Value); ok {
			return i, nil
		}
		var i int64
		if err := n.Decode(&i); err == nil {
			return i, nil
		}
		var u uint64
		if err := n.Decode(&u); err == nil {
			return float64(u), nil
		}
		return nil, c.fail(n, "integer %s is out of range", n.Value)
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, c.fail(n, "%s", err.Error())
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, c.fail(n, "%s cannot be represented in JSON", n.Value)
		}
		return f, nil
	}
	// Unknown local tags (!foo): keep the text, as Kubernetes would see it.
	return n.Value, nil
}

// decimal reads an integer written the plain way (an optional minus, 1
// to 18 digits, no leading zero), the common case of !!int, which YAML
// and strconv read alike; ok is false for every other spelling.
func decimal(s string) (int64, bool) {
	d := strings.TrimPrefix(s, "-")
	if len(d) == 0 || len(d) > 18 || (len(d) > 1 && d[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, false
		}
	}
	i, err := strconv.ParseInt(s, 10, 64)
	return i, err == nil
}

// fieldPath is a path into an object: string keys and int indexes.
type fieldPath []any

func (p fieldPath) key(k string) fieldPath { return append(p[:len(p):len(p)], k) }
func (p fieldPath) index(i int) fieldPath  { return append(p[:len(p):len(p)], i) }

// push is key or index for a depth-first walk: it appends in place, so a
// child's path overwrites its earlier sibling's, and the walk must keep a
// path (an error's) as a copy: keep.
func (p fieldPath) push(e any) fieldPath { return append(p, e) }
func (p fieldPath) keep() fieldPath      { return slices.Clip(slices.Clone(p)) }

var plainKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// String writes the path as spec.ingress[0].from[1], quoting map keys that
// are not plain identifiers: metadata.labels["app.kubernetes.io/name"].
func (p fieldPath) String() string {
	var b strings.Builder
	for _, e := range p {
		switch e := e.(type) {
		case int:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(e))
			b.WriteByte(']')
		case string:
			if plainKeyRE.MatchString(e) {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(e)
			} else {
				b.WriteByte('[')
				b.WriteString(strconv.Quote(e))
				b.WriteByte(']')
			}
		}
	}
	return b.String()
}

// nodeAt follows path inside n and returns the node found, or nil.
func nodeAt(n *yaml.Node, path fieldPath) *yaml.Node {
	for _, e := range path {
		if n == nil {
			return nil
		}
		n = resolveAlias(n)
		switch e := e.(type) {
		case string:
			n = mapValue(n, e)
		case int:
			if n.Kind != yaml.SequenceNode || e >= len(n.Content) {
				return nil
			}
			n = n.Content[e]
		}
	}
	return n
}
