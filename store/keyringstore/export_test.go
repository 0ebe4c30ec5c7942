package keyringstore

import (
	"testing"
	"time"
)

// SetAnswerTimeout makes the keychain's calls give up after d for the rest
// of the test.
func SetAnswerTimeout(t *testing.T, d time.Duration) {
	old := answerTimeout
	answerTimeout = d
	t.Cleanup(func() { answerTimeout = old })
}
