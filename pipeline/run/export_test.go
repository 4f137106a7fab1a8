package run

import (
	"context"
	"reflect"
	"time"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Stages exposes the stages of check to the tests, one call each.
type Stages struct {
	rs   *refs
	j    *judge
	sel  selection
	prs  []pair
	comp computed
	Now  time.Time
}

func OpenStages(p CheckParams) (*Stages, error) {
	rs, err := openRefs(p)
	if err != nil {
		return nil, err
	}
	return &Stages{rs: rs, Now: p.Now}, nil
}

func (s *Stages) Report() *model.Report { return newReport(s.rs, s.Now) }

func (s *Stages) Judge(rulesFrom string) (from string, rules []model.Rule, err error) {
	if s.j, err = s.rs.judge(rulesFrom, s.Now); err != nil {
		return "", nil, err
	}
	return s.j.from, s.j.rules(), nil
}

func (s *Stages) Choose(names ...string) (selected, dropped []string, err error) {
	if s.sel, err = s.rs.chooseOverlays(context.Background(), names); err != nil {
		return nil, nil, err
	}
	for _, n := range s.sel.names {
		if _, ok := s.sel.dropped[n]; ok {
			dropped = append(dropped, n)
		}
	}
	return s.sel.names, dropped, nil
}

// Render renders the chosen overlays; reused[i] says whether overlay i's
// base is the head's render.
func (s *Stages) Render() (reused, removed []bool) {
	s.prs = s.rs.render(context.Background(), s.sel)
	for _, pr := range s.prs {
		reused = append(reused, pr.base != nil && pr.base == pr.head)
		removed = append(removed, pr.removed)
	}
	return reused, removed
}

// SharedObjects counts the objects of overlay i's base render that are
// the head's (the same documents, not copies), and the base's objects.
func (s *Stages) SharedObjects(i int) (shared, total int) {
	pr := s.prs[i]
	head := map[*map[string]any]bool{}
	for j := range pr.head.Objects {
		head[docID(pr.head.Objects[j].Doc)] = true
	}
	for j := range pr.base.Objects {
		if head[docID(pr.base.Objects[j].Doc)] {
			shared++
		}
	}
	return shared, len(pr.base.Objects)
}

// docID is a map's identity.
func docID(m map[string]any) *map[string]any {
	return (*map[string]any)(reflect.ValueOf(m).UnsafePointer())
}

// SharesMatrix reports whether overlay i's base has its head's matrix
// (computed once), after Compute.
func (s *Stages) SharesMatrix(i int) bool {
	pr := s.prs[i]
	return s.comp.matrices[pr.head.Cluster] == s.comp.matrices[pr.base.Cluster]
}

// Compute returns how many distinct matrices were computed and the head
// matrix of each chosen overlay.
func (s *Stages) Compute() (int, map[string]*model.Matrix) {
	s.comp, _ = compute(context.Background(), s.prs)
	return len(s.comp.matrices), s.comp.heads
}

// Compare diffs overlay i's head with its base, giving up (nil) when ctx
// ends.
func (s *Stages) Compare(ctx context.Context, i int) *model.Diff {
	pr := s.prs[i]
	var head *model.Matrix
	if pr.head.Cluster != nil {
		head = s.comp.matrices[pr.head.Cluster]
	}
	return s.comp.compare(ctx, pr.base, head)
}

// JudgeOverlay judges overlay i's head: its findings and how many
// expectations were checked.
func (s *Stages) JudgeOverlay(i int) ([]model.Finding, int, error) {
	o := s.prs[i].head
	m := s.comp.matrices[o.Cluster]
	fs, err := s.j.engine.Evaluate(context.Background(), s.j.headInput(o, m, s.comp.promotion(s.rs.head, o.Name)))
	if err != nil {
		return nil, 0, err
	}
	findings, checked := s.j.judgeOverlay(s.rs, o, m, fs, s.rs.head.fieldLines())
	return findings, checked, nil
}

// Assemble builds overlay i's report.
func (s *Stages) Assemble(i int) (model.OverlayReport, error) {
	return s.j.overlay(context.Background(), s.rs, s.prs[i], s.comp, "", s.rs.head.fieldLines(), false)
}
