// Package doctest finds the shell sessions, commands and files of a
// Markdown document that a test runs, checks or writes, and puts new
// command output back into the document.
//
// The conventions (docs/doc-tests.md):
//
//   - A fenced block with the info string `console` is a session: lines
//     starting with "$ " are commands (a trailing backslash continues one),
//     the lines up to the next command are its output, stdout and stderr as
//     a terminal shows them. It is run and its output compared.
//   - A block with the info string `sh` (or `bash`, `shell`) lists
//     commands without output: it is syntax-checked, and every reachgate
//     command in it is checked against the CLI (command, flags, arguments).
//   - HTML comments, which a reader of the rendered page never sees, mark
//     a block for something else; the comment is on the line before the
//     fence:
//     <!-- reachgate:live -->   for a live cluster: syntax-checked only;
//     <!-- reachgate:root -->   a session that needs root (the kernel lab);
//     <!-- reachgate:run -->    an sh block that is run and must succeed;
//     <!-- reachgate:file PATH -->  a block whose content is written to PATH
//     (<!-- reachgate:file PATH append --> adds it at the end of the file).
//   - <!-- reachgate:setup ... --> holds shell commands, one a line, run
//     where it stands: it builds what the document describes in prose
//     (the pull request a runbook is about).
package doctest

import (
	"fmt"
	"regexp"
	"strings"
)

// Kind is what the test does with a block.
type Kind int

const (
	// Other blocks (YAML nobody writes, diagrams, text) are left alone.
	Other Kind = iota
	// Console is a session whose commands are run and outputs compared.
	Console
	// Shell lists commands: syntax-checked, reachgate commands checked
	// against the CLI.
	Shell
	// Run is a Shell block that is also run and must succeed.
	Run
	// Live needs a live cluster: syntax-checked only.
	Live
	// File is written to Path in the test repository.
	File
	// Setup is a hidden list of shell commands (an HTML comment).
	Setup
)

var kindNames = [...]string{"other", "console", "sh", "run", "live", "file", "setup"}

func (k Kind) String() string { return kindNames[k] }

// Doc is one Markdown document.
type Doc struct {
	// Name is the path the failures name, relative to the repository.
	Name   string
	lines  []string
	Blocks []*Block
}

// Block is a fenced code block, or a setup comment.
type Block struct {
	Kind Kind
	// Line is the 1-based line of the opening fence (of the comment for
	// Setup).
	Line int
	// Info is the fence's info string ("console", "sh", "yaml", ...).
	Info string
	// Root marks a Console block that needs root.
	Root bool
	// Path is where a File block goes; Append adds it to the end of the
	// file rather than replacing it.
	Path   string
	Append bool
	// Body is the content with the fence's indentation removed.
	Body string
	// Steps are the commands of a Console block (and of a Live one
	// written as a session).
	Steps []*Step

	indent string
}

// Step is one command of a session and the output the document shows.
type Step struct {
	// Line is the 1-based line of the command.
	Line    int
	Command string
	// Output is the documented output, each line ending in "\n".
	Output string
	// out is the span of lines holding the output: [out[0], out[1]).
	out [2]int
}

// Location is "doc:line".
func (d *Doc) Location(line int) string { return fmt.Sprintf("%s:%d", d.Name, line) }

var (
	fenceRe  = regexp.MustCompile("^( *)(```+|~~~+)\\s*([^`\\s]*)[^`]*$")
	markerRe = regexp.MustCompile(`^\s*<!--\s*reachgate:([a-z]+)\b(.*?)\s*(-->)?\s*$`)
)

// Parse splits a document into its blocks. A marker it does not know, a
// marker without the block it marks, or an unclosed fence is an error
// naming the line.
func Parse(name string, data []byte) (*Doc, error) {
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	d := &Doc{Name: name, lines: strings.Split(text, "\n")}
	var pending *marker
	for i := 0; i < len(d.lines); i++ {
		line := d.lines[i]
		if m := markerRe.FindStringSubmatch(line); m != nil {
			if pending != nil {
				return nil, fmt.Errorf("%s: marker reachgate:%s is not followed by a fenced block", d.Location(pending.line), pending.word)
			}
			mk := &marker{word: m[1], args: strings.Fields(m[2]), line: i + 1}
			if m[1] == "setup" {
				if m[3] != "" {
					return nil, fmt.Errorf("%s: reachgate:setup holds its commands on the lines below it, up to a line -->", d.Location(i+1))
				}
				end := i + 1
				for end < len(d.lines) && strings.TrimSpace(d.lines[end]) != "-->" {
					end++
				}
				if end == len(d.lines) {
					return nil, fmt.Errorf("%s: reachgate:setup is not closed by a line -->", d.Location(i+1))
				}
				d.Blocks = append(d.Blocks, &Block{Kind: Setup, Line: i + 1, Body: joinLines(d.lines[i+1 : end])})
				i = end
				continue
			}
			if m[3] == "" {
				return nil, fmt.Errorf("%s: marker reachgate:%s must end on its line with -->", d.Location(i+1), m[1])
			}
			if err := mk.check(); err != nil {
				return nil, fmt.Errorf("%s: %v", d.Location(i+1), err)
			}
			pending = mk
			continue
		}
		f := fenceRe.FindStringSubmatch(line)
		if f == nil {
			if pending != nil && strings.TrimSpace(line) != "" {
				return nil, fmt.Errorf("%s: marker reachgate:%s is not followed by a fenced block", d.Location(pending.line), pending.word)
			}
			continue
		}
		indent, fence, info := f[1], f[2], f[3]
		end := i + 1
		for end < len(d.lines) && !isClosing(d.lines[end], fence) {
			end++
		}
		if end == len(d.lines) {
			return nil, fmt.Errorf("%s: the fenced block is not closed", d.Location(i+1))
		}
		b := &Block{Line: i + 1, Info: info, indent: indent}
		body := make([]string, 0, end-i-1)
		for _, l := range d.lines[i+1 : end] {
			body = append(body, strings.TrimPrefix(l, indent))
		}
		b.Body = joinLines(body)
		if err := b.classify(d, pending, i, end); err != nil {
			return nil, err
		}
		pending = nil
		d.Blocks = append(d.Blocks, b)
		i = end
	}
	if pending != nil {
		return nil, fmt.Errorf("%s: marker reachgate:%s is not followed by a fenced block", d.Location(pending.line), pending.word)
	}
	return d, nil
}

type marker struct {
	word string
	args []string
	line int
}

func (m *marker) check() error {
	switch m.word {
	case "live", "root", "run":
		if len(m.args) > 0 {
			return fmt.Errorf("reachgate:%s takes no arguments", m.word)
		}
	case "file":
		if len(m.args) < 1 || len(m.args) > 2 || len(m.args) == 2 && m.args[1] != "append" {
			return fmt.Errorf("reachgate:file takes one path, and append to add to the file: <!-- reachgate:file overlays/prod/x.yaml [append] -->")
		}
		p := m.args[0]
		if strings.HasPrefix(p, "/") || strings.Contains("/"+p+"/", "/../") {
			return fmt.Errorf("reachgate:file %s: the path must stay inside the repository", p)
		}
	default:
		return fmt.Errorf("unknown marker reachgate:%s: want live, root, run, file or setup", m.word)
	}
	return nil
}

func isClosing(line, fence string) bool {
	t := strings.TrimSpace(line)
	return len(t) >= len(fence) && strings.Trim(t, fence[:1]) == "" && t[0] == fence[0]
}

func joinLines(ls []string) string {
	if len(ls) == 0 {
		return ""
	}
	return strings.Join(ls, "\n") + "\n"
}

// shellInfo are the info strings of blocks holding commands to type.
var shellInfo = map[string]bool{"sh": true, "bash": true, "shell": true}

// classify sets the block's kind from its info string and marker. open
// and end are the line indexes of the fences.
func (b *Block) classify(d *Doc, m *marker, open, end int) error {
	word := ""
	if m != nil {
		word = m.word
	}
	switch {
	case word == "file":
		b.Kind, b.Path, b.Append = File, m.args[0], len(m.args) == 2
		return nil
	case b.Info == "console":
		b.Steps = parseSession(d, b, open+1, end)
		if len(b.Steps) == 0 {
			return fmt.Errorf("%s: a console block starts with a command (\"$ ...\")", d.Location(b.Line))
		}
		switch word {
		case "":
			b.Kind = Console
		case "root":
			b.Kind, b.Root = Console, true
		case "live":
			b.Kind = Live
		default:
			return fmt.Errorf("%s: reachgate:%s does not apply to a console block", d.Location(m.line), word)
		}
		return nil
	case shellInfo[b.Info]:
		switch word {
		case "":
			b.Kind = Shell
		case "run":
			b.Kind = Run
		case "live":
			b.Kind = Live
		default:
			return fmt.Errorf("%s: reachgate:%s does not apply to an %s block", d.Location(m.line), word, b.Info)
		}
		return nil
	}
	if word != "" {
		return fmt.Errorf("%s: reachgate:%s does not apply to a %q block", d.Location(m.line), word, b.Info)
	}
	// A session or a command list without the info string that says so
	// would go untested.
	first := strings.TrimSpace(firstLine(b.Body))
	if strings.HasPrefix(first, "$ ") || strings.HasPrefix(first, "reachgate ") {
		return fmt.Errorf("%s: a block of commands needs the info string console (commands with output) or sh (commands alone)", d.Location(b.Line))
	}
	b.Kind = Other
	return nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// parseSession reads the commands of a console block between the line
// indexes from and end.
func parseSession(d *Doc, b *Block, from, end int) []*Step {
	var steps []*Step
	var cur *Step
	for i := from; i < end; i++ {
		l := strings.TrimPrefix(d.lines[i], b.indent)
		if !strings.HasPrefix(l, "$ ") {
			if cur == nil {
				return nil
			}
			cur.Output += l + "\n"
			cur.out[1] = i + 1
			continue
		}
		cur = &Step{Line: i + 1, Command: strings.TrimPrefix(l, "$ ")}
		for strings.HasSuffix(cur.Command, "\\") && i+1 < end {
			i++
			cur.Command = strings.TrimSuffix(cur.Command, "\\") + "\n" + strings.TrimPrefix(d.lines[i], b.indent)
		}
		cur.out = [2]int{i + 1, i + 1}
		steps = append(steps, cur)
	}
	return steps
}

// Commands returns the shell text of a block: its body, or for a
// session its commands alone.
func (b *Block) Commands() string {
	if b.Steps == nil {
		return b.Body
	}
	var sb strings.Builder
	for _, s := range b.Steps {
		sb.WriteString(s.Command)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// Rewrite returns the document with the output of the given steps
// replaced; every other byte stays as it was.
func (d *Doc) Rewrite(outputs map[*Step]string) []byte {
	type edit struct {
		from, to int
		lines    []string
	}
	var edits []edit
	for _, b := range d.Blocks {
		for _, s := range b.Steps {
			out, ok := outputs[s]
			if !ok {
				continue
			}
			var ls []string
			if out != "" {
				for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
					if l != "" {
						l = b.indent + l
					}
					ls = append(ls, l)
				}
			}
			edits = append(edits, edit{s.out[0], s.out[1], ls})
		}
	}
	lines := append([]string(nil), d.lines...)
	// From the bottom up, so earlier spans keep their indexes.
	for i := len(edits) - 1; i >= 0; i-- {
		e := edits[i]
		lines = append(lines[:e.from], append(e.lines, lines[e.to:]...)...)
	}
	return []byte(strings.Join(lines, "\n"))
}
