package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// commands lists every command of the CLI but cobra's own (help,
// completion), by path: "reachgate expect record".
func commands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, s := range c.Commands() {
		if s.Name() == "help" || s.Name() == "completion" {
			continue
		}
		out = append(out, commands(s)...)
	}
	return out
}

// TestEveryCommandHasAnExample: each command's help carries an example,
// and each of its reachgate invocations names that command with flags it
// has (so an example cannot outlive a renamed flag).
func TestEveryCommandHasAnExample(t *testing.T) {
	t.Parallel()
	all := commands(newRootCmd())
	require.Greater(t, len(all), 20)
	for _, c := range all {
		path := c.CommandPath()
		if !c.HasParent() {
			continue // the root's help lists the commands
		}
		if !assert.NotEmpty(t, c.Example, "%s: no example", path) {
			continue
		}
		invocations := 0
		for _, line := range strings.Split(c.Example, "\n") {
			_, call, ok := strings.Cut(line, "reachgate ")
			if !ok {
				continue
			}
			for _, end := range []string{" #", " |", " &&", " >", ";"} {
				call, _, _ = strings.Cut(call, end)
			}
			args := strings.Fields(strings.NewReplacer(`"`, "", `'`, "").Replace(call))
			root := newRootCmd()
			found, rest, err := root.Find(args)
			require.NoError(t, err, "%s: example %q", path, line)
			if found.CommandPath() != path && (c.Runnable() || found.Parent().CommandPath() != path) {
				continue // an example may run another command first
			}
			invocations++
			assert.NoError(t, found.ParseFlags(rest), "%s: example %q", path, line)
		}
		// A group's example runs one of its commands.
		assert.Positive(t, invocations, "%s: the example never runs it", path)
	}
}

// TestHelpShowsBooleanFlagsBare: boolean flags read "--dry-run", not
// pflag's "--dry-run[=true|false]", and still work without a value.
func TestHelpShowsBooleanFlagsBare(t *testing.T) {
	t.Parallel()
	for _, c := range commands(newRootCmd()) {
		var out bytes.Buffer
		root := newRootCmd()
		root.SetOut(&out)
		root.SetArgs(append(strings.Fields(strings.TrimPrefix(c.CommandPath(), "reachgate")), "--help"))
		require.NoError(t, root.Execute())
		help := out.String()
		assert.NotContains(t, help, "[=true|false]", c.CommandPath())
		assert.Regexp(t, `(?m)^  -h, --help +help for `, help, c.CommandPath())
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Value.Type() == "bool" && !f.Hidden {
				assert.Regexp(t, `--`+f.Name+` {2,}`, help, "%s --%s", c.CommandPath(), f.Name)
			}
		})
	}
	initCmd, _, err := newRootCmd().Find([]string{"init"})
	require.NoError(t, err)
	require.NoError(t, initCmd.ParseFlags([]string{"--dry-run"}))
	dry, err := initCmd.Flags().GetBool("dry-run")
	require.NoError(t, err)
	assert.True(t, dry, "--dry-run without a value is true")
}
