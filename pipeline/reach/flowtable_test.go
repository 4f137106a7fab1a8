package reach

import "testing"

// TestFlowTableTellsKeysApart holds flowTable.find to its contract when
// keys collide: flows of different allowances whose sources hash so that
// their keys are equal, and flows of one allowance with different sources
// of one hash, are each found as themselves, and only an equal flow is.
func TestFlowTableTellsKeysApart(t *testing.T) {
	tab := flowTable{first: map[uint64]int32{}}
	const h = 0x1234_5678_9abc_def0
	// Each flow's hash is made so that its key is h: colKey(a, h ^
	// colKey(a, 0)) == h.
	type flow struct {
		a    int32
		hash uint64
		srcs []int32
	}
	flows := []flow{
		{1, h ^ colKey(1, 0), []int32{1, 2}},
		{2, h ^ colKey(2, 0), []int32{1, 2}},
		{3, h ^ colKey(3, 0), []int32{1, 2, 3}},
		{1, h ^ colKey(1, 0), []int32{4}}, // same allowance and hash, other sources
	}
	for i := range flows {
		if k := colKey(flows[i].a, flows[i].hash); k != h {
			t.Fatalf("flow %d: key %x, want the colliding %x", i, k, h)
		}
	}
	for i, f := range flows {
		got, added := tab.find(f.a, f.hash, f.srcs)
		if got != i || !added {
			t.Fatalf("flow %d: find = %d, %v; want %d, added", i, got, added, i)
		}
	}
	for i, f := range flows {
		got, added := tab.find(f.a, f.hash, append([]int32(nil), f.srcs...))
		if got != i || added {
			t.Fatalf("flow %d again: find = %d, %v; want %d, found", i, got, added, i)
		}
	}
	if len(tab.first) != 1 {
		t.Fatalf("%d keys, want the one they share", len(tab.first))
	}
}
