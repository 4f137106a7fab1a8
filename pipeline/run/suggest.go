package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/observe"
	"github.com/reachgate/reachgate/pipeline/policy"
	"github.com/reachgate/reachgate/pipeline/reach"
	"github.com/reachgate/reachgate/pipeline/render"
	"github.com/reachgate/reachgate/pipeline/validate"
)

// SuggestParams are the options of `reachgate suggest`.
type SuggestParams struct {
	Common
	Overlay  string
	Workload string // namespace/name
	Flows    FlowParams
	// Out is the file to write, relative to the overlay's directory;
	// default suggested-<namespace>-<name>.yaml.
	Out string
	// DryRun prints the policies without writing anything.
	DryRun bool
	// Force overwrites an existing Out.
	Force bool
}

// Suggest drafts least-privilege NetworkPolicies for a workload from
// observed flows, proves them (reach on the overlay plus the suggestion
// allows every flow it claims to, allows nothing its selectors do not
// imply, and the rules raise nothing new), and writes them into a file of
// the overlay, added to its kustomization. It exits 1 when the proof
// fails, writing nothing.
func Suggest(ctx context.Context, p SuggestParams, w, stderr io.Writer) error {
	if !p.Flows.given() {
		return inputError(errors.New("suggest needs --flows FILE or --hubble-relay ADDR"))
	}
	if p.Workload == "" {
		return inputError(errors.New("suggest needs --workload namespace/name"))
	}
	ws, err := p.open()
	if err != nil {
		return err
	}
	o, err := loadOne(ctx, ws, p.Overlay, stderr)
	if err != nil {
		return err
	}
	if len(o.Problems) > 0 {
		return leftOut(o)
	}
	wl, err := observe.FindWorkload(o.Cluster, p.Workload)
	if err != nil {
		return inputError(err)
	}
	c, err := readFlows(ctx, p.Flows, stderr)
	if err != nil {
		return err
	}
	m, err := reach.ComputeContext(ctx, o.Cluster)
	if err != nil {
		return err
	}
	mf := observe.MapCapture(c, o.Cluster, m)
	out := p.Out
	if out == "" {
		out = "suggested-" + wl.Namespace + "-" + wl.Name + ".yaml"
	}
	if strings.Contains(out, "/") || strings.HasPrefix(out, ".") {
		return inputError(fmt.Errorf("--out %q: a file name in the overlay's directory", out))
	}
	file := path.Join(o.Path, out)
	// Flows the other end's policies deny cannot be allowed from this
	// workload's side: the second round leaves them out of the policies.
	var s *observe.Suggestion
	var yml []byte
	var proof *suggestionProof
	leaveOut := map[string]string{}
	for round := 0; round < 2; round++ {
		if s, err = observe.Suggest(o.Cluster, m, c, mf, wl, dnsSelector(ws.Config.Rules.Params), leaveOut); err != nil {
			return inputError(err)
		}
		var objs []model.Object
		if yml, objs, err = suggestionYAML(s, file); err != nil {
			return err
		}
		if proof, err = prove(ctx, ws, o, s, objs); err != nil {
			return err
		}
		if len(proof.otherSide) == 0 {
			break
		}
		for k, v := range proof.otherSide {
			leaveOut[k] = v
		}
	}
	writeSuggestion(w, s, proof, file)
	if !proof.ok() {
		fmt.Fprintln(w, "\nnot written: the proof failed")
		return &ExitError{Code: ExitFailed, Err: errors.New("the suggestion did not pass its proof")}
	}
	if p.DryRun || len(s.Policies) == 0 {
		fmt.Fprintln(w)
		_, err := w.Write(yml)
		return err
	}
	if err := writeIntoOverlay(ws, o, out, yml, p.Force); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nwrote %s and added it to %s/kustomization.yaml\n", file, o.Path)
	return flowProblems(c)
}

// dnsSelector is the rules' dnsSelector parameter, or its default.
func dnsSelector(params map[string]any) observe.DNSSelector {
	sel := observe.DNSSelector{Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"}}
	raw, ok := params["dnsSelector"].(map[string]any)
	if !ok {
		return sel
	}
	sel = observe.DNSSelector{Labels: map[string]string{}}
	if ns, ok := raw["namespace"].(string); ok {
		sel.Namespace = ns
	}
	if ls, ok := raw["labels"].(map[string]any); ok {
		for k, v := range ls {
			if s, ok := v.(string); ok {
				sel.Labels[k] = s
			}
		}
	}
	return sel
}

// suggestionYAML renders the policies as a YAML stream and as objects of
// the overlay (sourced at file).
func suggestionYAML(s *observe.Suggestion, file string) ([]byte, []model.Object, error) {
	var objs []model.Object
	var buf bytes.Buffer
	buf.WriteString("# Least-privilege NetworkPolicies for " + s.Workload.Key() + ", drafted by `reachgate suggest`\n# from observed flows and proven against the overlay before writing.\n")
	line := 3
	for i, np := range s.Policies {
		b, err := json.Marshal(np)
		if err != nil {
			return nil, nil, err
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, nil, err
		}
		if md, ok := doc["metadata"].(map[string]any); ok {
			delete(md, "creationTimestamp")
		}
		obj := model.Object{ObjectRef: model.ObjectRef{Kind: "NetworkPolicy", Namespace: np.Namespace, Name: np.Name},
			APIVersion: "networking.k8s.io/v1", Source: model.Location{File: file, Line: line}, Doc: doc}
		var one bytes.Buffer
		plain := obj
		plain.Source = model.Location{}
		if err := render.WriteYAML(&one, []model.Object{plain}); err != nil {
			return nil, nil, err
		}
		if i > 0 {
			buf.WriteString("---\n")
			line++
			obj.Source.Line = line
		}
		buf.Write(one.Bytes())
		line += bytes.Count(one.Bytes(), []byte{'\n'})
		objs = append(objs, obj)
	}
	return buf.Bytes(), objs, nil
}

// suggestionProof is what prove found.
type suggestionProof struct {
	// notAllowed are claimed flows the overlay plus the suggestion still
	// denies; beyond are new allowances outside the workload or not from
	// the suggestion; invalid are API-server problems of the policies;
	// findings the rule findings the suggestion causes.
	notAllowed, beyond, invalid []string
	findings                    []model.Finding
	// implied are new allowances the selectors imply beyond the observed
	// flows (another workload with the same labels, ...); removed the
	// allowances of the workload the suggestion takes away.
	implied, removed []string
	// otherSide are claimed flows the other end's own policies deny
	// (flow text to why): left out of the next round.
	otherSide map[string]string
}

func (p *suggestionProof) ok() bool {
	return len(p.notAllowed)+len(p.beyond)+len(p.invalid)+len(p.findings) == 0
}

// prove checks the suggestion against the overlay with the suggestion
// added: reach allows every flow the suggestion claims, allows nothing
// new but what its own rules for the workload grant, and the rules find
// nothing that they did not find before.
func prove(ctx context.Context, ws *Workspace, o *Overlay, s *observe.Suggestion, objs []model.Object) (*suggestionProof, error) {
	pr := &suggestionProof{}
	for _, e := range validate.Objects(objs) {
		pr.invalid = append(pr.invalid, e.Error())
	}
	c2, errs := render.Decode(objs, o.Cluster)
	for _, e := range errs {
		pr.invalid = append(pr.invalid, e.Error())
	}
	c2.Objects = append(slices.Clone(o.Cluster.Objects), objs...)
	ms, err := reach.ComputeAllContext(ctx, o.Cluster, c2)
	if err != nil {
		return nil, err
	}
	m, m2 := ms[0], ms[1]
	idx := map[string]int32{}
	for i := range m2.Peers {
		idx[m2.Peers[i].Key()] = int32(i)
	}
	explain := explainFlows(c2, m2)
	kept := s.Flows[:0]
	for _, f := range s.Flows {
		sp, ok1 := idx[f.Src]
		dp, ok2 := idx[f.Dst]
		if a := m2.Find(sp, dp); ok1 && ok2 && a != nil && a.Ports.Contains(f.Protocol, f.Port) {
			kept = append(kept, f)
			continue
		}
		text := fmt.Sprintf("%s -> %s %s %d", f.SrcLabel, f.DstLabel, f.Protocol, f.Port)
		if ok1 && ok2 {
			// The other end's own policies may deny it: that is theirs to
			// allow, not this suggestion's; list it.
			g := f
			g.SrcPeer, g.DstPeer = sp, dp
			side, reason := explain(&g)
			other := "ingress"
			if f.Dst == s.Workload.Key() {
				other = "egress"
			}
			if side == other {
				if pr.otherSide == nil {
					pr.otherSide = map[string]string{}
				}
				pr.otherSide[observe.FlowText(&f)] = "the other end's " + other + " policies deny it, and a policy of " + s.Workload.Key() + " cannot allow it for them: " + reason
				continue
			}
		}
		kept = append(kept, f)
		pr.notAllowed = append(pr.notAllowed, text)
	}
	s.Flows = kept
	suggested := map[string]bool{}
	for _, np := range s.Policies {
		suggested[np.Namespace+"/"+np.Name] = true
	}
	observed := map[string]model.PortSet{}
	for _, f := range s.Flows {
		k := f.Src + " " + f.Dst
		observed[k] = observed[k].Union(model.SinglePort(f.Protocol, f.Port, f.Port))
	}
	key := s.Workload.Key()
	d, err := reach.DiffContext(ctx, m, m2)
	if err != nil {
		return nil, err
	}
	widened := func(ch model.ConnectionChange, extra model.PortSet) {
		text := ch.Src.String() + " -> " + ch.Dst.String() + " " + extra.String()
		if ch.Src.Key() != key && ch.Dst.Key() != key {
			pr.beyond = append(pr.beyond, text+": does not involve "+key)
			return
		}
		// The grant on the workload's side must come from the suggestion.
		for _, g := range ch.After.Grants {
			if g.Ports.Intersect(extra).IsEmpty() {
				continue
			}
			ref := g.Ingress
			if ch.Src.Key() == key {
				ref = g.Egress
			}
			if !suggested[ref.Policy] {
				pr.beyond = append(pr.beyond, text+": granted by "+ref.String()+", not by the suggestion")
				return
			}
		}
		if rest := extra.Subtract(observed[ch.Src.Key()+" "+ch.Dst.Key()]); !rest.IsEmpty() {
			pr.implied = append(pr.implied, ch.Src.String()+" -> "+ch.Dst.String()+" "+rest.String())
		}
	}
	for _, ch := range d.Added {
		widened(ch, ch.After.Ports)
	}
	for _, ch := range d.Changed {
		if extra := ch.After.Ports.Subtract(ch.Before.Ports); !extra.IsEmpty() {
			widened(ch, extra)
		}
		if gone := ch.Before.Ports.Subtract(ch.After.Ports); !gone.IsEmpty() {
			pr.removed = append(pr.removed, ch.Src.String()+" -> "+ch.Dst.String()+" "+gone.String())
		}
	}
	for _, ch := range d.Removed {
		pr.removed = append(pr.removed, ch.Src.String()+" -> "+ch.Dst.String()+" "+ch.Before.Ports.String())
	}
	// The rules, from the work tree (the built-in pack and the
	// repository's own): nothing new at warning or above.
	engine, _, err := loadRules(ws, time.Now())
	if err != nil {
		return nil, err
	}
	// Together: the rules the suggestion cannot affect run once.
	after, before, err := engine.EvaluatePair(ctx,
		policy.Input{Overlay: o.Name, Environment: o.Environment, Cluster: c2, Matrix: m2},
		policy.Input{Overlay: o.Name, Environment: o.Environment, Cluster: o.Cluster, Matrix: m})
	if err != nil {
		return nil, err
	}
	had := map[string]bool{}
	for _, f := range before {
		had[f.RuleID+"\x00"+f.Object.String()+"\x00"+f.Message] = true
	}
	for _, f := range after {
		if f.Severity >= model.SeverityWarning && !had[f.RuleID+"\x00"+f.Object.String()+"\x00"+f.Message] {
			pr.findings = append(pr.findings, f)
		}
	}
	return pr, nil
}

func writeSuggestion(w io.Writer, s *observe.Suggestion, pr *suggestionProof, file string) {
	fmt.Fprintf(w, "suggest %s: %d NetworkPolicies for %d observed flows -> %s\n", s.Workload, len(s.Policies), len(s.Flows), file)
	for _, f := range s.Flows {
		fmt.Fprintf(w, "  allows %s -> %s %s %d (seen %d times)\n", f.SrcLabel, f.DstLabel, f.Protocol, f.Port, f.Count)
	}
	if s.DNS {
		fmt.Fprintln(w, "  keeps egress to the cluster DNS (UDP and TCP 53), although no DNS flow was seen")
	}
	if s.Dropped > 0 {
		fmt.Fprintf(w, "  left closed: %d dropped flow(s) of the workload\n", s.Dropped)
	}
	section := func(title string, xs []string) {
		if len(xs) == 0 {
			return
		}
		fmt.Fprintf(w, "%s:\n", title)
		for _, x := range xs {
			fmt.Fprintf(w, "  %s\n", x)
		}
	}
	var unexpressed []string
	for _, u := range s.Unexpressed {
		unexpressed = append(unexpressed, fmt.Sprintf("%s (seen %d times): %s", u.Flow, u.Count, u.Reason))
	}
	section("not expressed (listed, not widened)", unexpressed)
	section("also allowed, as the selectors imply", pr.implied)
	section("no longer allowed (never seen: least privilege)", pr.removed)
	fmt.Fprintln(w, "proof:")
	check := func(ok bool, what string, xs []string) {
		mark := "ok  "
		if !ok {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %s\n", mark, what)
		for _, x := range xs {
			fmt.Fprintf(w, "       %s\n", x)
		}
	}
	check(len(pr.invalid) == 0, "the API server would accept the policies", pr.invalid)
	check(len(pr.notAllowed) == 0, "reach on the overlay plus the suggestion allows every observed flow above", pr.notAllowed)
	check(len(pr.beyond) == 0, "it allows nothing the suggestion's selectors do not imply", pr.beyond)
	var fs []string
	for _, f := range pr.findings {
		fs = append(fs, f.String())
	}
	check(len(fs) == 0, "the rules find nothing new", fs)
}

// writeIntoOverlay writes the file into the overlay's directory and adds
// it to the kustomization's resources (a plain directory of manifests
// picks it up by itself).
func writeIntoOverlay(ws *Workspace, o *Overlay, name string, data []byte, force bool) error {
	dir := ws.Abs(o.Path)
	target := path.Join(dir, name)
	if ws.FS.Exists(target) && !force {
		return inputError(fmt.Errorf("%s exists: --force overwrites it", path.Join(o.Path, name)))
	}
	kfile := ""
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if ws.FS.Exists(path.Join(dir, n)) {
			kfile = path.Join(dir, n)
			break
		}
	}
	var kdata []byte
	if kfile != "" {
		raw, err := ws.FS.ReadFile(kfile)
		if err != nil {
			return err
		}
		if kdata, err = addResource(raw, name); err != nil {
			return inputError(fmt.Errorf("%s: %w", kfile, err))
		}
	}
	// The workspace's file system only reads; the files go to the work
	// tree through os.Root, so a symlink cannot take them out of it.
	if ws.Ref.Commit != "" {
		return fmt.Errorf("%s is a commit: suggest writes into a work tree", ws.Ref.Ref)
	}
	root, err := os.OpenRoot(ws.Root)
	if err != nil {
		return err
	}
	defer root.Close()
	rel := func(p string) string { r, _ := filepath.Rel(ws.Root, p); return r }
	if err := root.WriteFile(rel(target), data, 0o644); err != nil {
		return err
	}
	if kdata != nil {
		return root.WriteFile(rel(kfile), kdata, 0o644)
	}
	return nil
}

// addResource appends name to a kustomization's resources, keeping its
// layout and comments: a line after the last entry of a block-style
// top-level resources list, or a new list at the end; nothing changes
// when the name is there already. The result is checked by parsing it.
func addResource(data []byte, name string) ([]byte, error) {
	has := func(d []byte) (bool, error) {
		node, err := kyaml.Parse(string(d))
		if err != nil {
			return false, err
		}
		res, err := node.Pipe(kyaml.Lookup("resources"))
		if err != nil || res == nil {
			return false, err
		}
		items, err := res.Elements()
		if err != nil {
			return false, fmt.Errorf("resources: %w", err)
		}
		for _, it := range items {
			if it.YNode().Value == name {
				return true, nil
			}
		}
		return false, nil
	}
	ok, err := has(data)
	if err != nil {
		return nil, err
	}
	if ok {
		return data, nil
	}
	lines := strings.SplitAfter(string(data), "\n")
	at, indent := -1, ""
	for i, l := range lines {
		if strings.TrimRight(l, " \r\n") != "resources:" {
			continue
		}
		at = i
		for j := i + 1; j < len(lines); j++ {
			t := strings.TrimLeft(lines[j], " ")
			if strings.HasPrefix(t, "- ") {
				indent = lines[j][:len(lines[j])-len(t)]
				at = j
				continue
			}
			if strings.TrimSpace(t) == "" || strings.HasPrefix(t, "#") {
				continue
			}
			break
		}
		break
	}
	var out string
	if at < 0 {
		text := string(data)
		if text != "" && !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		out = text + "resources:\n  - " + name + "\n"
	} else {
		if !strings.HasSuffix(lines[at], "\n") {
			lines[at] += "\n"
		}
		if indent == "" {
			indent = "  "
		}
		lines = append(lines[:at+1], append([]string{indent + "- " + name + "\n"}, lines[at+1:]...)...)
		out = strings.Join(lines, "")
	}
	if ok, err := has([]byte(out)); err != nil || !ok {
		return nil, fmt.Errorf("resources: could not add %s (a flow-style list?): add it by hand", name)
	}
	return []byte(out), nil
}
