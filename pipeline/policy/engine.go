// Package policy loads the Rego compliance rules, evaluates them against one
// overlay's cluster model and reachability matrix, checks connectivity
// expectations and applies waivers. Rules run in an embedded OPA with
// restricted capabilities: no network, no process environment, no
// randomness, and time pinned by the caller.
package policy

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/pipeline/model"
)

// RulesPackage is the package prefix under which rule packages live; a rule
// is a package below it that defines a deny or violation set.
const RulesPackage = "reachgate.rules"

// Options configures the rules.
type Options struct {
	// Params is handed to every rule as data.reachgate.params (the
	// rules.params map of reachgate.yaml).
	Params map[string]any
	// Now is the evaluation time rules see through time.now_ns; the zero
	// value means the time of each Evaluate call.
	Now time.Time
	// Builtin is a pack of rules compiled in with those of the
	// directories (the built-in pack); nil for none.
	Builtin *Pack
	// Disable lists rule ids that are loaded but not evaluated (the
	// rules.disable list of reachgate.yaml). An id no rule has is an
	// error.
	Disable []string
}

// InputVersion is the version of the input document this reachgate
// builds (input.version). It grows by one whenever the document gains
// fields; no field is ever removed or changes its meaning, so a rule
// written for version N runs on every reachgate that builds N or later.
// docs/rules.md lists what each version added.
const InputVersion = 9

// RuleInfo describes one rule from its METADATA annotations: what a
// report says of it (model.Rule), and where it is written.
type RuleInfo struct {
	model.Rule
	Source model.Location `json:"source"`
	// InputVersion is the oldest input document the rule can read
	// (METADATA custom.inputVersion; 1 when not given).
	InputVersion int `json:"inputVersion"`

	// Package is the rule's package path, e.g. data.reachgate.rules.default_deny.
	Package string `json:"package"`
	// Origin is the name of the pack the rule comes from ("built-in
	// v1.2.3"); "" for a rule of the repository's own directories.
	Origin string `json:"origin,omitempty"`
	// Disabled is set for a rule that rules.disable turns off.
	Disabled bool `json:"disabled,omitempty"`
	// sets are the refs of the package's deny/violation rules.
	sets []ast.Ref
}

// Promotion is the overlay whose changes are promoted into the one being
// checked (staging for prod), with its reachability.
type Promotion struct {
	From   string
	Matrix *model.Matrix
}

// Input is what rules are evaluated against: one overlay's cluster model
// and reachability.
type Input struct {
	Overlay, Environment string
	Cluster              *model.Cluster
	Matrix               *model.Matrix
	Promotion            *Promotion
	// Observed is what a change does to observed traffic (check
	// --flows); nil without flows.
	Observed *model.TrafficImpact
}

// Engine holds compiled rules, ready to evaluate.
type Engine struct {
	rules []RuleInfo
	// disabled are the rules loaded and not evaluated.
	disabled []RuleInfo
	now      time.Time
	queries  []rego.PreparedEvalQuery // one per rule
	// footprints are what each rule reads of the input.
	footprints []footprint
	// cost is how long each rule took last time, to start the slow ones
	// first.
	cost []atomic.Int64
}

// RuleErrorID is the rule id of findings reporting that a rule could not
// be evaluated or returned a malformed result.
const RuleErrorID = "rule/error"

// forbidden lists the builtins rules may not call, and why. Everything else
// in OPA's capabilities is pure, or deterministic once time is pinned.
var forbidden = map[string]string{
	"http.send":              "it reaches the network",
	"net.lookup_ip_addr":     "it reaches the network (DNS)",
	"opa.runtime":            "it reads the process environment and configuration",
	"providers.aws.sign_req": "it only serves http.send",
	"rand.intn":              "it is random",
	"uuid.rfc4122":           "it is random",
	"io.jwt.encode_sign":     "it is random",
	"io.jwt.encode_sign_raw": "it is random",
	"json.verify_schema":     "it may fetch remote schema references",
	"json.match_schema":      "it may fetch remote schema references",
	"net.cidr_expand":        "it can exhaust memory; use net.cidr_contains, net.cidr_intersects or net.cidr_merge",
}

// Capabilities returns the restricted OPA capabilities rules compile
// against: this OPA's builtins minus the forbidden ones, and no network.
func Capabilities() *ast.Capabilities {
	c := ast.CapabilitiesForThisVersion()
	kept := make([]*ast.Builtin, 0, len(c.Builtins))
	for _, b := range c.Builtins {
		if _, bad := forbidden[b.Name]; !bad {
			kept = append(kept, b)
		}
	}
	c.Builtins = kept
	c.AllowNet = []string{}
	return c
}

func newCompiler() *ast.Compiler {
	return ast.NewCompiler().
		WithCapabilities(Capabilities()).
		WithDefaultRegoVersion(ast.RegoV1).
		WithEnablePrintStatements(false)
}

// Load reads the *.rego files (not *_test.rego) under dirs of fsys,
// compiles them once with restricted capabilities and prepares them for
// evaluation. Problems in the rules are returned as model.InputErrors
// naming file and line.
func Load(fsys filesys.FileSystem, dirs []string, opts Options) (*Engine, error) {
	modules, err := readModules(fsys, dirs, false)
	if err != nil {
		return nil, err
	}
	if modules, err = withPack(modules, opts.Builtin, false); err != nil {
		return nil, err
	}
	compiler := newCompiler()
	if compiler.Compile(modules); compiler.Failed() {
		return nil, astErrors(compiler.Errors)
	}
	rules, err := discoverRules(compiler)
	if err != nil {
		return nil, err
	}
	rules, disabled, err := disable(rules, opts.Builtin, opts.Disable)
	if err != nil {
		return nil, err
	}
	store, err := paramsStore(opts.Params)
	if err != nil {
		return nil, err
	}
	e := &Engine{rules: rules, disabled: disabled, now: opts.Now, cost: make([]atomic.Int64, len(rules))}
	ctx := context.Background()
	for _, r := range rules {
		pq, err := rego.New(rego.ParsedQuery(ruleQuery(r)), rego.Compiler(compiler), rego.Store(store)).PrepareForEval(ctx)
		if err != nil {
			return nil, fmt.Errorf("prepare rule %s: %w", r.ID, err)
		}
		e.queries = append(e.queries, pq)
		e.footprints = append(e.footprints, ruleFootprint(compiler, r.sets))
	}
	return e, nil
}

// ruleQuery binds r<j> to each deny/violation set of a rule.
func ruleQuery(r RuleInfo) ast.Body {
	var body ast.Body
	for j, ref := range r.sets {
		v := ast.VarTerm(fmt.Sprintf("r%d", j))
		body = append(body, ast.Equality.Expr(v, ast.NewTerm(ref)))
	}
	return body
}

func paramsStore(params map[string]any) (storage.Store, error) {
	if params == nil {
		params = map[string]any{}
	}
	v, err := ast.InterfaceToValue(params)
	if err != nil {
		return nil, fmt.Errorf("rules params: %w", err)
	}
	var doc any
	if doc, err = ast.JSON(v); err != nil {
		return nil, fmt.Errorf("rules params: %w", err)
	}
	// Reads return the AST values themselves: a lazily converted object
	// caches its conversions in place, and check evaluates the base and
	// the head at once on one Engine.
	return inmem.NewFromObjectWithOpts(map[string]any{"reachgate": map[string]any{"params": doc}}, inmem.OptReturnASTValuesOnRead(true)), nil
}

// readModules parses every .rego file under dirs; test files only when
// withTests is set.
func readModules(fsys filesys.FileSystem, dirs []string, withTests bool) (map[string]*ast.Module, error) {
	var files []string
	for _, dir := range dirs {
		if !fsys.Exists(dir) {
			return nil, fmt.Errorf("rules directory %s: %w", dir, fs.ErrNotExist)
		}
		if err := walkRego(fsys, dir, 0, &files); err != nil {
			return nil, err
		}
	}
	sort.Strings(files)
	modules := map[string]*ast.Module{}
	var errs model.InputErrors
	for _, f := range files {
		if !withTests && strings.HasSuffix(f, "_test.rego") {
			continue
		}
		if _, seen := modules[f]; seen {
			continue
		}
		src, err := fsys.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read rule %s: %w", f, err)
		}
		m, err := ast.ParseModuleWithOpts(f, string(src), ast.ParserOptions{
			ProcessAnnotation: true,
			RegoVersion:       ast.RegoV1,
			Capabilities:      Capabilities(),
		})
		if err != nil {
			var aerrs ast.Errors
			if errors.As(err, &aerrs) {
				errs = append(errs, astErrors(aerrs)...)
				continue
			}
			return nil, fmt.Errorf("parse rule %s: %w", f, err)
		}
		errs = append(errs, forbiddenCalls(f, m)...)
		modules[f] = m
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return modules, nil
}

const maxRuleDirDepth = 16

func walkRego(fsys filesys.FileSystem, dir string, depth int, out *[]string) error {
	if depth > maxRuleDirDepth {
		return fmt.Errorf("rules directory %s: nested too deep", dir)
	}
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("rules directory %s: %w", dir, err)
	}
	sort.Strings(names)
	for _, name := range names {
		p := path.Join(dir, name)
		if fsys.IsDir(p) {
			if strings.HasPrefix(name, ".") {
				continue
			}
			if err := walkRego(fsys, p, depth+1, out); err != nil {
				return err
			}
			continue
		}
		if strings.HasSuffix(name, ".rego") {
			*out = append(*out, p)
		}
	}
	return nil
}

// forbiddenCalls names each call of a forbidden builtin with its file and
// line, so the rule author reads why instead of "undefined function".
func forbiddenCalls(file string, m *ast.Module) model.InputErrors {
	var errs model.InputErrors
	report := func(op string, loc *ast.Location) {
		why, bad := forbidden[op]
		if !bad {
			return
		}
		line := 0
		if loc != nil {
			line = loc.Row
		}
		errs = append(errs, &model.InputError{
			Location: model.Location{File: file, Line: line},
			Message:  fmt.Sprintf("builtin %s is not allowed in reachgate rules: %s (rules run with restricted capabilities)", op, why),
		})
	}
	ast.WalkExprs(m, func(x *ast.Expr) bool {
		if x.IsCall() {
			report(x.Operator().String(), x.Location)
		}
		return false
	})
	ast.WalkTerms(m, func(t *ast.Term) bool {
		if c, ok := t.Value.(ast.Call); ok && len(c) > 0 {
			report(c[0].String(), t.Location)
		}
		return false
	})
	return errs
}

func astErrors(es ast.Errors) model.InputErrors {
	out := make(model.InputErrors, 0, len(es))
	for _, e := range es {
		loc := model.Location{}
		if e.Location != nil {
			loc = model.Location{File: e.Location.File, Line: e.Location.Row}
		}
		out = append(out, &model.InputError{Location: loc, Message: e.Code + ": " + e.Message})
	}
	return out
}

// discoverRules finds the rule packages below RulesPackage and reads their
// METADATA.
func discoverRules(c *ast.Compiler) ([]RuleInfo, error) {
	prefix := ast.MustParseRef("data." + RulesPackage)
	byPkg := map[string]*RuleInfo{}
	var errs model.InputErrors
	// Modules iterate in file order for deterministic errors.
	files := make([]string, 0, len(c.Modules))
	for f := range c.Modules {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		m := c.Modules[f]
		if !m.Package.Path.HasPrefix(prefix) || len(m.Package.Path) <= len(prefix) {
			continue
		}
		pkg := m.Package.Path.String()
		info := byPkg[pkg]
		if info == nil {
			info = &RuleInfo{Package: pkg, Source: model.Location{File: f}}
			if m.Package.Location != nil {
				info.Source.Line = m.Package.Location.Row
			}
			byPkg[pkg] = info
		}
		for _, r := range m.Rules {
			name := r.Head.Name.String()
			if len(r.Head.Reference) > 0 {
				name = r.Head.Reference[0].String()
			}
			if name != "deny" && name != "violation" {
				continue
			}
			ref := m.Package.Path.Append(ast.StringTerm(name))
			if !containsRef(info.sets, ref) {
				info.sets = append(info.sets, ref)
			}
		}
		for _, a := range m.Annotations {
			if a.Scope != "package" && a.Scope != "subpackages" {
				continue
			}
			if err := info.fromAnnotations(f, a); err != nil {
				errs = append(errs, err)
			}
		}
	}
	var rules []RuleInfo
	ids := map[string]string{}
	for _, pkg := range sortedKeys(byPkg) {
		info := byPkg[pkg]
		if len(info.sets) == 0 {
			continue
		}
		sort.Slice(info.sets, func(i, j int) bool { return info.sets[i].Compare(info.sets[j]) < 0 })
		if info.ID == "" {
			errs = append(errs, &model.InputError{
				Location: info.Source,
				Message:  fmt.Sprintf("rule package %s has no METADATA with custom.id: add a \"# METADATA\" block above its package line", strings.TrimPrefix(pkg, "data.")),
			})
			continue
		}
		if other, dup := ids[info.ID]; dup {
			errs = append(errs, &model.InputError{
				Location: info.Source,
				Message:  fmt.Sprintf("rule id %s is used by %s and %s", info.ID, strings.TrimPrefix(other, "data."), strings.TrimPrefix(pkg, "data.")),
			})
			continue
		}
		ids[info.ID] = pkg
		if info.Controls == nil {
			info.Controls = []string{}
		}
		rules = append(rules, *info)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
	return rules, nil
}

func containsRef(refs []ast.Ref, r ast.Ref) bool {
	for _, x := range refs {
		if x.Equal(r) {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (info *RuleInfo) fromAnnotations(file string, a *ast.Annotations) *model.InputError {
	loc := model.Location{File: file}
	if a.Location != nil {
		loc.Line = a.Location.Row
	}
	bad := func(field, format string, args ...any) *model.InputError {
		return &model.InputError{Location: loc, Field: "METADATA." + field, Message: fmt.Sprintf(format, args...)}
	}
	id, _ := a.Custom["id"].(string)
	if id == "" {
		return bad("custom.id", "rule METADATA needs custom.id, e.g. NP001")
	}
	if info.ID != "" && info.ID != id {
		return bad("custom.id", "package %s already has rule id %s (from %s)", strings.TrimPrefix(info.Package, "data."), info.ID, info.Source)
	}
	info.ID = id
	info.Source = loc
	info.Title = a.Title
	if info.Title == "" {
		return bad("title", "rule %s needs a title", id)
	}
	info.Description = strings.TrimSpace(a.Description)
	sev, _ := a.Custom["severity"].(string)
	s, err := model.ParseSeverity(sev)
	if err != nil {
		return bad("custom.severity", "rule %s: %v", id, err)
	}
	info.Severity = s
	if rem, ok := a.Custom["remediation"]; ok {
		str, isStr := rem.(string)
		if !isStr {
			return bad("custom.remediation", "rule %s: remediation must be a string", id)
		}
		info.Remediation = strings.TrimSpace(str)
	}
	info.InputVersion = 1
	if v, ok := a.Custom["inputVersion"]; ok {
		n, isInt := wholeNumber(v)
		switch {
		case !isInt || n < 1:
			return bad("custom.inputVersion", "rule %s: inputVersion must be a whole number, 1 or more, got %v", id, v)
		case n > InputVersion:
			return bad("custom.inputVersion", "rule %s needs input version %d, and this reachgate builds version %d: run a newer reachgate (in a pull request's check, the one built from the base)", id, n, InputVersion)
		}
		info.InputVersion = n
	}
	if cs, ok := a.Custom["controls"]; ok {
		list, isList := cs.([]any)
		if !isList {
			return bad("custom.controls", "rule %s: controls must be a list of strings", id)
		}
		for _, c := range list {
			str, isStr := c.(string)
			if !isStr {
				return bad("custom.controls", "rule %s: controls must be a list of strings", id)
			}
			info.Controls = append(info.Controls, str)
		}
	}
	return nil
}

// wholeNumber reads a YAML number that is an integer.
func wholeNumber(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case uint64:
		return int(n), true
	case float64:
		if n == float64(int(n)) {
			return int(n), true
		}
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return int(i), true
		}
	}
	return 0, false
}

// Rules lists the rules that are evaluated, sorted by id.
func (e *Engine) Rules() []RuleInfo { return copyRules(e.rules) }

// Disabled lists the rules loaded and turned off, sorted by id.
func (e *Engine) Disabled() []RuleInfo { return copyRules(e.disabled) }

func copyRules(rules []RuleInfo) []RuleInfo {
	out := make([]RuleInfo, len(rules))
	copy(out, rules)
	for i := range out {
		out[i].Controls = append([]string{}, out[i].Controls...)
	}
	return out
}

// Evaluate runs every rule against one overlay and returns the findings,
// sorted by rule, object and message. A rule that fails at run time yields
// a RuleErrorID finding; the other rules still report.
func (e *Engine) Evaluate(ctx context.Context, in Input) ([]model.Finding, error) {
	fs, _, err := e.evaluate(ctx, []Input{in})
	if err != nil {
		return nil, err
	}
	return fs[0], nil
}

// EvaluatePair runs every rule against a pull request's head and its base,
// as Evaluate does on each. A rule that reads the same values in both
// input documents (see footprint) is evaluated once, on the head: its
// findings are the base's too, located in the base's files. A pull
// request changes a few objects, so most rules it leaves alone.
func (e *Engine) EvaluatePair(ctx context.Context, head, base Input) (h, b []model.Finding, err error) {
	fs, _, err := e.evaluate(ctx, []Input{head, base})
	if err != nil {
		return nil, nil, err
	}
	return fs[0], fs[1], nil
}

// side is one input document under evaluation.
type side struct {
	doc     ast.Value
	idx     *sourceIndex
	cache   *sharedCache
	results [][]model.Finding
	// reuse[i]: rule i reads what it reads on side 0, so it is not
	// evaluated again.
	reuse []bool
}

// evaluate runs the rules on each input; inputs after the first reuse the
// first's results where a rule's footprint holds equal values. reused
// counts the evaluations saved so.
func (e *Engine) evaluate(ctx context.Context, ins []Input) (out [][]model.Finding, reused int, err error) {
	out = make([][]model.Finding, len(ins))
	if len(e.rules) == 0 {
		for i := range out {
			out[i] = []model.Finding{}
		}
		return out, 0, nil
	}
	now := e.now
	if now.IsZero() {
		now = time.Now()
	}
	sides := make([]*side, len(ins))
	errs := make([]error, len(ins))
	first := make(chan struct{}) // closed when the first input is built
	q := newJobQueue(len(ins))
	sh := newShared(ins)
	var wg sync.WaitGroup
	// Each input is built on its own while the rules of those already
	// built run: building one has parts that use one core.
	for k, in := range ins {
		wg.Go(func() {
			defer q.done()
			doc, idx, err := buildInputWith(in, sh, k%2 == 1)
			if k == 0 {
				defer close(first)
			}
			if err != nil {
				errs[k] = err
				return
			}
			s := &side{doc: doc, idx: idx, cache: newSharedCache(), results: make([][]model.Finding, len(e.rules)), reuse: make([]bool, len(e.rules))}
			sides[k] = s
			if k > 0 {
				<-first
				if sides[0] == nil {
					return // the first failed: evaluate returns its error
				}
				c := newComparison(sides[0].doc, s.doc)
				for i, fp := range e.footprints {
					s.reuse[i] = c.same(fp)
				}
			}
			var jobs []ruleJob
			for i := range e.rules {
				if !s.reuse[i] {
					jobs = append(jobs, ruleJob{side: k, rule: i, cost: e.cost[i].Load()})
				}
			}
			q.add(jobs)
		})
	}
	// Rules are independent queries over read-only inputs: evaluate them
	// on every core, slowest first, sharing each input's library indexes
	// (sharedCache). A rule that fails is reported; the others still run.
	for range min(len(ins)*runtime.GOMAXPROCS(0), maxWorkers) {
		wg.Go(func() {
			for j, ok := q.next(); ok; j, ok = q.next() {
				s := sides[j.side]
				opts := []rego.EvalOption{rego.EvalParsedInput(s.doc), rego.EvalTime(now), rego.EvalVirtualCache(s.cache.query())}
				s.results[j.rule] = e.evalRule(ctx, j.rule, opts, s.idx)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, 0, fmt.Errorf("build rule input: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	for k, s := range sides {
		var findings []model.Finding
		for i, fs := range s.results {
			if s.reuse[i] {
				fs = relocate(sides[0].results[i], s.idx)
				reused++
			}
			findings = append(findings, fs...)
		}
		SortFindings(findings)
		if findings == nil {
			findings = []model.Finding{}
		}
		out[k] = findings
	}
	return out, reused, nil
}

// ruleJob is one rule to evaluate on one input; cost is how long it took
// last time.
type ruleJob struct {
	side, rule int
	cost       int64
}

// jobQueue hands out rule jobs, the costliest first, as inputs add them.
type jobQueue struct {
	mu      sync.Mutex
	ready   *sync.Cond
	jobs    []ruleJob
	pending int // inputs still to add their jobs
}

func newJobQueue(inputs int) *jobQueue {
	q := &jobQueue{pending: inputs}
	q.ready = sync.NewCond(&q.mu)
	return q
}

// add queues the jobs of one input.
func (q *jobQueue) add(jobs []ruleJob) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, jobs...)
	// Ties (every rule, the first time) go by rule, the inputs taking
	// turns: rules of one input starting together would each compute the
	// library indexes they share.
	slices.SortFunc(q.jobs, func(a, b ruleJob) int {
		return cmp.Or(cmp.Compare(b.cost, a.cost), cmp.Compare(a.rule, b.rule), cmp.Compare(a.side, b.side))
	})
	q.ready.Broadcast()
}

// done says one input has added its jobs, or never will.
func (q *jobQueue) done() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending--
	q.ready.Broadcast()
}

// next waits for a job; false when there are none left to come.
func (q *jobQueue) next() (ruleJob, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.jobs) == 0 && q.pending > 0 {
		q.ready.Wait()
	}
	if len(q.jobs) == 0 {
		return ruleJob{}, false
	}
	j := q.jobs[0]
	q.jobs = q.jobs[1:]
	return j, true
}

// relocate copies findings into another input's files.
func relocate(fs []model.Finding, idx *sourceIndex) []model.Finding {
	out := make([]model.Finding, len(fs))
	for i, f := range fs {
		f.Controls = slices.Clone(f.Controls)
		if f.RuleID != RuleErrorID {
			f.Location = idx.locate(f.Object)
		}
		out[i] = f
	}
	return out
}

// maxWorkers bounds how many rules evaluate at once.
const maxWorkers = 8

func (e *Engine) evalRule(ctx context.Context, i int, opts []rego.EvalOption, idx *sourceIndex) []model.Finding {
	r := e.rules[i]
	start := time.Now()
	rs, err := e.queries[i].Eval(ctx, opts...)
	e.cost[i].Store(int64(time.Since(start)))
	switch {
	case ctx.Err() != nil:
		return nil
	case err != nil:
		return []model.Finding{ruleError(r, fmt.Sprintf("rule %s failed: %v", r.ID, err))}
	case len(rs) != 1:
		return []model.Finding{ruleError(r, fmt.Sprintf("rule %s: deny is undefined", r.ID))}
	}
	return e.collect(r, rs[0].Bindings, idx)
}

func ruleError(r RuleInfo, msg string) model.Finding {
	return model.Finding{
		RuleID:   RuleErrorID,
		Title:    "Rule failed",
		Severity: model.SeverityError,
		Message:  msg,
		Location: r.Source,
		Controls: []string{},
	}
}

// collect turns the deny/violation sets of a rule into findings.
func (e *Engine) collect(r RuleInfo, b rego.Vars, idx *sourceIndex) []model.Finding {
	var out []model.Finding
	for j := range r.sets {
		set, ok := b[fmt.Sprintf("r%d", j)].([]any)
		if !ok {
			out = append(out, ruleError(r, fmt.Sprintf("rule %s: %s is not a set", r.ID, r.sets[j])))
			continue
		}
		for _, v := range set {
			f, err := r.finding(v)
			if err != nil {
				out = append(out, ruleError(r, fmt.Sprintf("rule %s: %v", r.ID, err)))
				continue
			}
			f.Location = idx.locate(f.Object)
			out = append(out, f)
		}
	}
	return out
}

func (r RuleInfo) finding(v any) (model.Finding, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return model.Finding{}, fmt.Errorf("result %v is not an object with msg and object", v)
	}
	msg, _ := obj["msg"].(string)
	if msg == "" {
		return model.Finding{}, fmt.Errorf("result %v has no msg string", v)
	}
	f := model.Finding{
		RuleID:      r.ID,
		Title:       r.Title,
		Severity:    r.Severity,
		Message:     msg,
		Controls:    append([]string{}, r.Controls...),
		Remediation: r.Remediation,
	}
	if o, ok := obj["object"].(map[string]any); ok {
		f.Object.Kind, _ = o["kind"].(string)
		f.Object.Namespace, _ = o["namespace"].(string)
		f.Object.Name, _ = o["name"].(string)
	}
	if f.Object.Kind == "" || f.Object.Name == "" {
		return model.Finding{}, fmt.Errorf("result %q has no object {kind, namespace, name}", msg)
	}
	f.Field, _ = obj["field"].(string)
	// A finding may lower or raise its rule's severity, for a rule whose
	// cases differ in harm (a named port that resolves nowhere is an
	// error, a numeric one nobody declares a warning).
	if sev, ok := obj["severity"]; ok {
		str, _ := sev.(string)
		s, err := model.ParseSeverity(str)
		if err != nil {
			return model.Finding{}, fmt.Errorf("result %q: severity: %v", msg, err)
		}
		f.Severity = s
	}
	return f, nil
}

// SortFindings orders findings by rule, object, field and message.
func SortFindings(fs []model.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := &fs[i], &fs[j]
		if a.RuleID != b.RuleID {
			return a.RuleID < b.RuleID
		}
		if a.Object.Namespace != b.Object.Namespace {
			return a.Object.Namespace < b.Object.Namespace
		}
		if a.Object.Kind != b.Object.Kind {
			return a.Object.Kind < b.Object.Kind
		}
		if a.Object.Name != b.Object.Name {
			return a.Object.Name < b.Object.Name
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		return a.Message < b.Message
	})
}
