package e2e_test

import (
	"testing"
	"time"
)

// waitFor polls until cond holds, and fails the test if it does not within
// 30 seconds, which no passing run comes near.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
