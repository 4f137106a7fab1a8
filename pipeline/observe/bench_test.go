package observe

import (
	"bytes"
	"context"
	"os"
	"testing"
)

// BenchmarkRead decodes the recorded export (1,405 lines) from memory on
// every core: the per-line cost of `observe` before mapping.
func BenchmarkRead(b *testing.B) {
	data, err := os.ReadFile(fixture)
	if err != nil {
		b.Fatal(err)
	}
	data = bytes.Repeat(data, 20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		c, err := Read(context.Background(), Source{Name: "fixture", R: bytes.NewReader(data)})
		if err != nil || c.Input.MalformedCount > 0 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(bytes.Count(data, []byte{'\n'})), "ns/line")
}
