package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"reachgate": func() { os.Exit(execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) },
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
