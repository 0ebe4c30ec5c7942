//go:build !linux

package keyringstore

import (
	"context"
	"runtime"
)

// systemName names the keychain in messages.
var systemName = func() string {
	switch runtime.GOOS {
	case "darwin":
		return "system keychain (macOS Keychain)"
	case "windows":
		return "system keychain (Windows Credential Manager)"
	}
	return "system keychain"
}()

// check finds nothing to check ahead: the Keychain and the Credential
// Manager are always there, and report a locked or missing keychain on the
// first use, as failed words it.
func check(context.Context) error { return nil }

// accounts searches nothing: the keychain library searches neither the
// Keychain nor the Credential Manager.
func accounts(context.Context, string) ([]string, error) { return nil, errNotSearched }

// vanished is err: the Keychain and the Credential Manager look an item up
// and use it in one call.
func vanished(err error) error { return err }
