//go:build race

package redact

// raceDetector: the race detector slows the expressions of a
// single-goroutine test some twentyfold, and finds nothing in it.
const raceDetector = true
