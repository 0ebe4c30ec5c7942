package redisstore

import (
	"errors"
	"testing"
)

// TestWrongTypeInEveryRedisWording: the local redis-server words a
// script's WRONGTYPE as Redis 7 does; Redis 6, which freshtoken supports,
// wraps it in its own error running the script, and the lock key of
// another type was then not told as such.
func TestWrongTypeInEveryRedisWording(t *testing.T) {
	for msg, want := range map[string]bool{
		"WRONGTYPE Operation against a key holding the wrong kind of value script: 4ef4…, on @user_script:14.":                           true,
		"ERR Error running script (call to f_4ef4…): @user_script:14: WRONGTYPE Operation against a key holding the wrong kind of value": true,
		"NOPERM this user has no permissions to run the 'pttl' command":                                                                  false,
	} {
		if got := isWrongType(errors.New(msg)); got != want {
			t.Errorf("isWrongType(%q) = %t, want %t", msg, got, want)
		}
	}
	if isWrongType(nil) {
		t.Error("isWrongType(nil) = true")
	}
}
