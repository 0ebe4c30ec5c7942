//go:build race

package apiclient

// raceDetector: the race detector's own allocations count in
// runtime.MemStats, some twice those of the code measured.
const raceDetector = true
