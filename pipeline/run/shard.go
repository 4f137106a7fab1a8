package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"path"
	"slices"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
)

// A shard is one overlay of a whole check, run on its own (check --shard
// NAME) so that a CI matrix can run one job per overlay; merge joins the
// shards' reports into the report of the whole check.
//
// A shard renders every overlay at the base and the head, as the whole
// check does: the external address ranges (and FQDN endpoints) of every
// overlay split the address space of all of them, so an overlay's
// matrix, its diff and its evidence are those of the whole check only
// with all of them rendered. It computes the reachability of its own
// overlay and of those promoted to it, and evaluates the rules, the
// expectations and the baseline for its own overlay only. The shard of the first overlay also judges
// the deployed directories no overlay covers; every shard carries the
// findings about the run as a whole (waivers, configuration), which merge
// keeps once.

// shardPairs reports which pairs a shard judges: the overlay named, and
// for the first overlay's shard the directories Argo CD deploys that no
// overlay covers. An empty shard judges every pair.
func shardPairs(pairs []pair, shard string) ([]bool, error) {
	judged := make([]bool, len(pairs))
	if shard == "" {
		for i := range judged {
			judged[i] = true
		}
		return judged, nil
	}
	found := false
	for i, pr := range pairs {
		if pr.unjudged == nil && pr.head.Name == shard {
			judged[i], found = true, true
		}
	}
	if !found {
		var names []string
		for _, pr := range pairs {
			if pr.unjudged == nil {
				names = append(names, pr.head.Name)
			}
		}
		return nil, inputError(fmt.Errorf("--shard %s: not an overlay the check judges (have %s)", shard, joinNames(names)))
	}
	if pairs[0].head.Name == shard {
		for i, pr := range pairs {
			if pr.unjudged != nil {
				judged[i] = true
			}
		}
	}
	return judged, nil
}

// computeJudged computes the reachability the judged pairs need: their
// own, and that of the overlays promoted to them (the promotion rules
// compare the two), each split at the address boundaries of every
// rendered overlay as compute splits it. Judging every pair is compute.
func computeJudged(ctx context.Context, rs *refs, pairs []pair, judged []bool) (computed, error) {
	if !slices.Contains(judged, false) {
		return compute(ctx, pairs)
	}
	need := map[string]bool{}
	for i, pr := range pairs {
		if !judged[i] {
			continue
		}
		need[pr.head.Name] = true
		for _, ws := range []*Workspace{rs.head, rs.base} {
			if ws == nil {
				continue
			}
			for _, o := range ws.Config.Overlays {
				if o.PromotesTo == pr.head.Name {
					need[o.Name] = true
				}
			}
		}
	}
	// The clusters in compute's order, so each is aligned as there.
	var clusters []*model.Cluster
	var want []bool
	seen := map[*model.Cluster]int{}
	for _, pr := range pairs {
		for _, o := range []*Overlay{pr.head, pr.base} {
			if o == nil || o.Cluster == nil {
				continue
			}
			k, ok := seen[o.Cluster]
			if !ok {
				k = len(clusters)
				seen[o.Cluster] = k
				clusters = append(clusters, o.Cluster)
				want = append(want, false)
			}
			want[k] = want[k] || need[pr.head.Name]
		}
	}
	c := computed{matrices: map[*model.Cluster]*model.Matrix{}, heads: map[string]*model.Matrix{}, bases: map[string]*model.Matrix{}}
	ms, err := reach.ComputeSomeContext(ctx, want, clusters...)
	if err != nil {
		return c, err
	}
	for i, m := range ms {
		if m != nil {
			c.matrices[clusters[i]] = m
		}
	}
	for _, pr := range pairs {
		if pr.head.Cluster != nil && c.matrices[pr.head.Cluster] != nil {
			c.heads[pr.head.Name] = c.matrices[pr.head.Cluster]
		}
		if pr.base != nil && pr.base.Cluster != nil && c.matrices[pr.base.Cluster] != nil {
			c.bases[pr.head.Name] = c.matrices[pr.base.Cluster]
		}
	}
	return c, nil
}

// shardInfo is what a shard's report says about the whole check it is a
// part of.
func shardInfo(shard string, pairs []pair, j *judge, version string) (*model.Shard, error) {
	s := &model.Shard{Overlay: shard, Overlays: []string{}}
	for _, pr := range pairs {
		s.Overlays = append(s.Overlays, pr.head.Name)
	}
	s.ConfigDigest = digestOf(j.ws.ConfigData)
	rd, err := rulesDigest(j, version)
	if err != nil {
		return nil, err
	}
	s.RulesDigest = rd
	return s, nil
}

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// rulesDigest digests what judges: the reachgate version (it carries the
// built-in pack), whether the pack is used, the rules the engine loaded,
// every file of the configured rule directories and the waivers file.
func rulesDigest(j *judge, version string) (string, error) {
	h := sha256.New()
	meta, err := json.Marshal(struct {
		Version string       `json:"version"`
		Builtin bool         `json:"builtin"`
		Rules   []model.Rule `json:"rules"`
	}{version, j.ws.Config.Rules.UseBuiltin(), j.rules()})
	if err != nil {
		return "", err
	}
	writeDigestPart(h, "meta", meta)
	for _, d := range ruleDirs(j.ws) {
		if err := digestDir(h, j.ws, d, 0); err != nil {
			return "", err
		}
	}
	wf := waiverFile(j.ws)
	data, _, err := j.ws.ReadFile(wf)
	if err != nil {
		return "", inputError(err)
	}
	writeDigestPart(h, wf, data)
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// writeDigestPart writes a name and its data, each length-prefixed, so
// no two sets of parts digest the same.
func writeDigestPart(h hash.Hash, name string, data []byte) {
	fmt.Fprintf(h, "%d:%s%d:", len(name), name, len(data))
	h.Write(data)
}

// digestDir digests the .rego files under dir, in name order, as the
// engine loads them (hidden directories left out).
func digestDir(h hash.Hash, ws *Workspace, dir string, depth int) error {
	if depth > 16 {
		return inputError(fmt.Errorf("rules directory %s: nested too deep", dir))
	}
	names, err := ws.FS.ReadDir(dir)
	if err != nil {
		return inputError(fmt.Errorf("rules directory %s: %w", dir, err))
	}
	slices.Sort(names)
	for _, name := range names {
		p := path.Join(dir, name)
		switch {
		case ws.FS.IsDir(p):
			if strings.HasPrefix(name, ".") {
				continue
			}
			if err := digestDir(h, ws, p, depth+1); err != nil {
				return err
			}
		case strings.HasSuffix(name, ".rego"):
			data, err := ws.FS.ReadFile(p)
			if err != nil {
				return inputError(err)
			}
			writeDigestPart(h, p, data)
		}
	}
	return nil
}
