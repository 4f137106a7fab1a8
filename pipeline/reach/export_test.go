package reach

// SetClassBlock sets how many destinations the egress classes take at
// once, and returns what undoes it.
func SetClassBlock(n int) (undo func()) {
	old := classBlock
	classBlock = n
	return func() { classBlock = old }
}
