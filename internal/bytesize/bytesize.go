// Package bytesize writes byte counts the way reachgate's limits are
// documented (docs/security.md#bounds): "16 MiB", "15.8 MiB", "256 KiB".
package bytesize

import (
	"fmt"
	"math"
)

// Format writes n in MiB, KiB or bytes. A fraction is rounded up to one
// decimal, so that a size over a limit never reads as the limit.
func Format(n int64) string {
	up := func(unit int64) float64 { return math.Ceil(float64(n)*10/float64(unit)) / 10 }
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", up(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", up(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
