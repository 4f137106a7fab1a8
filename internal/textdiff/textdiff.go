// Package textdiff writes the line difference of two small texts in the
// unified format, for showing a reviewer what a pull request changed in a
// configuration file.
package textdiff

import (
	"fmt"
	"strings"
)

// maxCells bounds the work of one diff (lines of a times lines of b):
// beyond it the texts are shown as wholly replaced.
const maxCells = 4 << 20

type op struct {
	kind byte // ' ', '-', '+'
	line string
}

// Unified returns the unified diff of a and b with n lines of context,
// headed by "--- aName" and "+++ bName"; "" when they are equal.
func Unified(aName, bName, a, b string, n int) string {
	if a == b {
		return ""
	}
	al, bl := lines(a), lines(b)
	ops := diff(al, bl)
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", aName, bName)
	// Walk the ops in hunks: runs of changes with n lines of context.
	ai, bi := 0, 0 // line numbers (0-based) before ops[i]
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			ai, bi, i = ai+1, bi+1, i+1
			continue
		}
		start := max(i-n, 0)
		for start < i && ops[start].kind != ' ' {
			start++
		}
		// Extend the hunk while the next change is within 2n lines.
		end, same := i, 0
		for j := i; j < len(ops); j++ {
			if ops[j].kind == ' ' {
				same++
				if same > 2*n {
					break
				}
				continue
			}
			same, end = 0, j+1
		}
		end = min(end+n, len(ops))
		// Line numbers at start.
		as, bs := ai-(i-start), bi-(i-start)
		var ac, bc int
		for _, o := range ops[start:end] {
			if o.kind != '+' {
				ac++
			}
			if o.kind != '-' {
				bc++
			}
		}
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n", rangeOf(as, ac), rangeOf(bs, bc))
		for _, o := range ops[start:end] {
			sb.WriteByte(o.kind)
			sb.WriteString(o.line)
			sb.WriteByte('\n')
		}
		for _, o := range ops[i:end] {
			if o.kind != '+' {
				ai++
			}
			if o.kind != '-' {
				bi++
			}
		}
		i = end
	}
	return sb.String()
}

func rangeOf(start, count int) string {
	if count == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if count == 1 {
		return fmt.Sprint(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, count)
}

func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// diff is the edit script from a to b by longest common subsequence.
func diff(a, b []string) []op {
	// Common prefix and suffix cost nothing.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var out []op
	for _, l := range a[:pre] {
		out = append(out, op{' ', l})
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	if len(ma)*len(mb) > maxCells {
		for _, l := range ma {
			out = append(out, op{'-', l})
		}
		for _, l := range mb {
			out = append(out, op{'+', l})
		}
	} else {
		out = append(out, lcs(ma, mb)...)
	}
	for _, l := range a[len(a)-suf:] {
		out = append(out, op{' ', l})
	}
	return out
}

func lcs(a, b []string) []op {
	n, m := len(a), len(b)
	// t[i][j] is the LCS length of a[i:] and b[j:].
	t := make([][]int32, n+1)
	for i := range t {
		t[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				t[i][j] = t[i+1][j+1] + 1
			} else {
				t[i][j] = max(t[i+1][j], t[i][j+1])
			}
		}
	}
	var out []op
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			out = append(out, op{' ', a[i]})
			i, j = i+1, j+1
		case t[i+1][j] >= t[i][j+1]:
			out = append(out, op{'-', a[i]})
			i++
		default:
			out = append(out, op{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, op{'-', a[i]})
	}
	for ; j < m; j++ {
		out = append(out, op{'+', b[j]})
	}
	return out
}
