//go:build unix && !linux

package e2e_test

import (
	"net"
	"testing"
)

// listenAs needs Linux's per-thread file-system user (setfsuid) to make a
// socket of another user; elsewhere the test that uses it is skipped.
func listenAs(t *testing.T, _ int, _ string) net.Listener {
	t.Skip("a socket of another user needs Linux's setfsuid")
	return nil
}
