//go:build !linux || race || msan || asan

package hugeheap

// Prepare does nothing on systems other than Linux, and in builds with
// the race detector or a sanitizer, whose shadow memory of the stretch
// it would touch.
func Prepare() int64 { return 0 }
