//go:build !race

package apiclient

const raceDetector = false
