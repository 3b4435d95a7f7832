//go:build race

package trainer

// raceEnabled reports that the race detector is on: it makes sync.Pool drop
// items and adds allocations, so allocation counts are checked in the
// non-race runs of `make test`.
const raceEnabled = true
