package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	execAsReachgate()
	testscript.Main(m, map[string]func(){
		"reachgate": main,
	})
}

// TestScripts runs the CLI scenarios in testdata/script. $REPO is this
// repository, for scripts that use its overlays and rules.
func TestScripts(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"baseline": cmdBaseline,
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", repo)
			env.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
			env.Setenv("GIT_AUTHOR_NAME", "t")
			env.Setenv("GIT_AUTHOR_EMAIL", "t@example.com")
			env.Setenv("GIT_COMMITTER_NAME", "t")
			env.Setenv("GIT_COMMITTER_EMAIL", "t@example.com")
			return nil
		},
	})
}

// cmdBaseline checks a report written by check --output json=FILE:
// "baseline FILE RULE new|existing" passes when every finding of RULE is
// marked so, and there is at least one.
func cmdBaseline(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: baseline FILE RULE new|existing")
	}
	var r struct {
		Overlays []struct {
			Findings []struct {
				RuleID   string `json:"ruleId"`
				Baseline string `json:"baseline"`
			} `json:"findings"`
		} `json:"overlays"`
	}
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &r))
	n, ok := 0, true
	for _, o := range r.Overlays {
		for _, f := range o.Findings {
			if f.RuleID == args[1] {
				n++
				ok = ok && f.Baseline == args[2]
			}
		}
	}
	if (n > 0 && ok) == neg {
		ts.Fatalf("%s: %d finding(s) of %s, all %s: %v (want %v)", args[0], n, args[1], args[2], n > 0 && ok, !neg)
	}
}

// TestAdoptionDocMatchesScript: every reachgate command docs/adoption.md
// tells the reader to run is run by the adoption script, in the same
// order, so the page cannot drift from what is tested.
func TestAdoptionDocMatchesScript(t *testing.T) {
	doc, err := os.ReadFile("../../docs/adoption.md")
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("testdata/script/adoption.txtar")
	if err != nil {
		t.Fatal(err)
	}
	var docCmds []string
	for _, block := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		for _, l := range strings.Split(block[1], "\n") {
			l = strings.TrimSpace(strings.SplitN(l, "#", 2)[0])
			if strings.HasPrefix(l, "reachgate ") {
				docCmds = append(docCmds, l)
			}
		}
	}
	var scriptCmds []string
	for _, l := range strings.Split(string(script), "\n") {
		if _, cmd, ok := strings.Cut(l, "exec reachgate "); ok && !strings.HasPrefix(strings.TrimSpace(l), "#") {
			scriptCmds = append(scriptCmds, "reachgate "+strings.TrimSpace(cmd))
		}
	}
	if len(docCmds) < 5 {
		t.Fatalf("docs/adoption.md names %d reachgate commands: %q", len(docCmds), docCmds)
	}
	i := 0
	for _, c := range scriptCmds {
		// The script may add outputs to a command of the page.
		if i < len(docCmds) && (c == docCmds[i] || strings.HasPrefix(c, docCmds[i]+" --output")) {
			i++
		}
	}
	if i != len(docCmds) {
		t.Errorf("docs/adoption.md's command %q is not run by adoption.txtar in the page's order\npage: %q\nscript: %q", docCmds[i], docCmds, scriptCmds)
	}
}
