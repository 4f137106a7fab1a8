//go:build !linux || race || msan || asan

package heaptune

// hugePages marks nothing on systems other than Linux, nor in builds with
// the race detector or a sanitizer, whose shadow memory of the stretch it
// would touch.
func hugePages() int64 { return 0 }
