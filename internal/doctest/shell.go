package doctest

import (
	"strings"
)

// SimpleCommands splits shell text into its simple commands, each as its
// words: comments, redirections and the operators between commands
// (| || && ; &) are dropped, quotes are removed, and nothing is expanded
// ($ENV stays "$ENV"). It understands enough of the shell to find the
// reachgate commands of a documentation block; the shell itself checks
// the syntax.
func SimpleCommands(script string) [][]string {
	var cmds [][]string
	var words []string
	var word strings.Builder
	inWord, skipNext := false, false
	flushWord := func() {
		if !inWord {
			return
		}
		if skipNext {
			skipNext = false
		} else {
			words = append(words, word.String())
		}
		word.Reset()
		inWord = false
	}
	flushCmd := func() {
		flushWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	s := strings.ReplaceAll(script, "\\\n", "")
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			word.WriteByte(s[i])
			inWord = true
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				j = len(s) - i - 1
			}
			word.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				word.WriteByte(s[j])
				j++
			}
			i = j
			inWord = true
		case c == '#' && !inWord:
			for i < len(s) && s[i] != '\n' {
				i++
			}
			flushCmd()
		case c == '\n' || c == ';' || c == '|' || c == '&' || c == '(' || c == ')':
			flushCmd()
		case c == '>' || c == '<':
			// A redirection: drop the file descriptor before it and the
			// target after it.
			if inWord && isDigits(word.String()) {
				word.Reset()
				inWord = false
			} else {
				flushWord()
			}
			for i+1 < len(s) && (s[i+1] == '>' || s[i+1] == '&') {
				i++
			}
			if i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' && s[i] == '&' {
				i++ // 2>&1
				continue
			}
			skipNext = true
		case c == ' ' || c == '\t':
			flushWord()
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	flushCmd()
	return cmds
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Invocations returns the argument lists of the commands that run prog
// (by name or by a path ending in it), leading VAR=value assignments
// skipped.
func Invocations(script, prog string) [][]string {
	var out [][]string
	for _, words := range SimpleCommands(script) {
		for len(words) > 0 && isAssignment(words[0]) {
			words = words[1:]
		}
		if len(words) > 0 && (words[0] == prog || strings.HasSuffix(words[0], "/"+prog)) {
			out = append(out, words[1:])
		}
	}
	return out
}

// isAssignment reports whether a word is NAME=value.
func isAssignment(w string) bool {
	name, _, ok := strings.Cut(w, "=")
	if !ok || name == "" {
		return false
	}
	for i, c := range name {
		if c != '_' && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// Assignment splits "NAME=value" (a plain word, no quotes or spaces),
// which a session keeps for the commands after it.
func Assignment(cmd string) (name, value string, ok bool) {
	cmd = strings.TrimSpace(cmd)
	if strings.ContainsAny(cmd, " \t'\"$`;|&<>()\\#") || !isAssignment(cmd) {
		return "", "", false
	}
	name, value, _ = strings.Cut(cmd, "=")
	return name, value, true
}
