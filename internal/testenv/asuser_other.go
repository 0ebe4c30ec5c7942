//go:build !linux

package testenv

import "testing"

// AsUser needs Linux's per-thread file-system user (setfsuid) to act as
// another user; elsewhere the test that calls it is skipped.
func AsUser(t testing.TB, _ int, _ func()) {
	t.Helper()
	t.Skip("acting as another user needs Linux's setfsuid")
}
