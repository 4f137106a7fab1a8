package main

import (
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// useFlagUsages makes root's help (and its commands') list boolean flags
// as "--help", not pflag's "--help[=true|false]": the value is optional,
// and nobody needs to be told that --dry-run=false exists.
func useFlagUsages(root *cobra.Command) {
	// cobra's template functions are one global map: registered once,
	// not per root, which tests make on many goroutines at a time.
	addFlagUsages()
	t := root.UsageTemplate()
	t = strings.ReplaceAll(t, ".LocalFlags.FlagUsages", "flagUsages .LocalFlags")
	t = strings.ReplaceAll(t, ".InheritedFlags.FlagUsages", "flagUsages .InheritedFlags")
	root.SetUsageTemplate(t)
}

var addFlagUsages = sync.OnceFunc(func() { cobra.AddTemplateFunc("flagUsages", flagUsages) })

// flagUsages is fs.FlagUsages with every boolean flag shown bare.
func flagUsages(fs *pflag.FlagSet) string {
	view := pflag.NewFlagSet("", pflag.ContinueOnError)
	view.SortFlags = fs.SortFlags
	fs.VisitAll(func(f *pflag.Flag) {
		c := *f
		if f.Value.Type() == "bool" {
			// Without IsBoolFlag the value is not marked optional; its
			// NoOptDefVal "true" still says it needs none.
			c.Value = plainValue{f.Value}
		}
		view.AddFlag(&c)
	})
	return view.FlagUsages()
}

// plainValue hides the IsBoolFlag method of a flag's value.
type plainValue struct{ pflag.Value }
