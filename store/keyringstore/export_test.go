package keyringstore

import (
	"testing"
	"time"
)

// SetAnswerTimeout makes the keychain's calls give up after d for the rest
// of the test, and those made while it has not answered since one went
// unanswered after again. The keychain is taken to have answered, at the
// start and at the end.
func SetAnswerTimeout(t *testing.T, d time.Duration, again ...time.Duration) {
	old, oldAgain := answerTimeout, againTimeout
	answerTimeout = d
	if len(again) > 0 {
		againTimeout = again[0]
	}
	unanswered.Store(false)
	t.Cleanup(func() { answerTimeout, againTimeout = old, oldAgain; unanswered.Store(false) })
}
