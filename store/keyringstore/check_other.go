//go:build !linux

package keyringstore

import (
	"context"
	"runtime"

	"github.com/zalando/go-keyring"
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
func accounts(context.Context, string, string) ([]string, error) { return nil, errNotSearched }

// writeItem is the keychain library's Set: nothing searches for an
// environment's items here.
func writeItem(service, _, account, value string) error {
	return librarySet(service, account, value)
}

// librarySet is the keychain library's Set.
func librarySet(service, account, value string) error {
	return keyring.Set(service, account, value)
}

// vanished is err: the Keychain and the Credential Manager look an item up
// and use it in one call.
func vanished(err error) error { return err }

// gone is nil: only a Secret Service can be gone from a bus.
func gone(error) error { return nil }
