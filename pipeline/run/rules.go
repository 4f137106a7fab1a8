package run

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/reachgate/reachgate/internal/buildinfo"
	"github.com/reachgate/reachgate/pipeline/config"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/policy"
	rulepack "github.com/reachgate/reachgate/rego"
)

// builtinPack is the rule pack compiled into this binary, named after
// its version.
func builtinPack() *policy.Pack {
	return &policy.Pack{FS: rulepack.FS, Name: "built-in " + buildinfo.Version()}
}

// adopted reports whether a workspace has adopted reachgate: it has a
// reachgate.yaml. The built-in rules are in the binary, so a rules
// directory says nothing; a base without the file is judged by the head's
// configuration (first adoption), and every finding is new.
func adopted(ws *Workspace) bool {
	return ws.ConfigData != nil || ws.ConfigErr != nil
}

// ruleDirs are the workspace's own rule directories inside its file
// system.
func ruleDirs(ws *Workspace) []string {
	dirs := make([]string, len(ws.Config.Rules.Paths))
	for i, d := range ws.Config.Rules.Paths {
		dirs[i] = ws.Abs(d)
	}
	return dirs
}

// pack is the built-in pack unless the configuration turns it off.
func pack(ws *Workspace) *policy.Pack {
	if !ws.Config.Rules.UseBuiltin() {
		return nil
	}
	return builtinPack()
}

// compileRules compiles the built-in pack (unless turned off) with the
// workspace's own rules, with its params, and turns off the rules it
// disables.
func compileRules(ws *Workspace, now time.Time) (*policy.Engine, error) {
	cfg := ws.Config
	var missing model.InputErrors
	for i, d := range cfg.Rules.Paths {
		if !ws.FS.IsDir(ws.Abs(d)) {
			missing = append(missing, &model.InputError{
				Field:   fmt.Sprintf("rules.paths[%d]", i),
				Message: fmt.Sprintf("rules directory %s does not exist (at %s)", d, ws.Ref.Ref),
			})
		}
	}
	if len(missing) > 0 {
		return nil, inputError(fmt.Errorf("load rules from %s: %w", ws.Ref.Ref, locateConfig(cfg, missing)))
	}
	engine, err := policy.Load(ws.FS, ruleDirs(ws), policy.Options{
		Params:  cfg.Rules.Params,
		Now:     now,
		Builtin: pack(ws),
		Disable: cfg.Rules.Disable,
	})
	if err != nil {
		return nil, inputError(fmt.Errorf("load rules from %s: %w", ws.Ref.Ref, locateConfig(cfg, ws.relative(err))))
	}
	return engine, nil
}

// locateConfig points errors about a field of the configuration
// (rules.disable[2]) at its file and line.
func locateConfig(cfg *config.Config, err error) error {
	var ies model.InputErrors
	if !errors.As(err, &ies) {
		return err
	}
	file := cfg.File
	if file == "" {
		file = config.FileName
	}
	for _, e := range ies {
		if e.Location.File == "" && strings.HasPrefix(e.Field, "rules.") {
			path := strings.NewReplacer("[", ".", "]", "").Replace(e.Field)
			e.Location = model.Location{File: file, Line: cfg.Line(path)}
		}
	}
	return ies
}

// relative rewrites the locations of input errors inside the workspace to
// repository-relative paths, as every other report names files.
func (ws *Workspace) relative(err error) error {
	var ies model.InputErrors
	if !errors.As(err, &ies) {
		return err
	}
	for _, e := range ies {
		e.Location.File = ws.Rel(e.Location.File)
	}
	return ies
}

// Rel turns a path inside FS into a repository-relative one; a path
// outside the root, or a built-in one, is returned as it is.
func (ws *Workspace) Rel(p string) string {
	if p == "" || strings.HasPrefix(p, policy.BuiltinPrefix) {
		return p
	}
	root := strings.TrimSuffix(ws.Root, "/") + "/"
	if rel, ok := strings.CutPrefix(p, root); ok {
		return rel
	}
	return p
}
