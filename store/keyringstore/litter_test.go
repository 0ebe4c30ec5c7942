package keyringstore_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/freshtoken/freshtoken/internal/keyringtest"
	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/store/keyringstore"
)

// TestDeleteUnderTheLockLeavesNoLockFile: a log-out (or remove) of an
// environment whose tokens are in the keychain, under its renewal lock,
// left its lock file (NAME.lock in the lock folder) behind for good, as
// the file store's does not: the folder filled with the lock files of
// environments long gone. The lock file goes as the lock is let go; a
// record of the file store's that shares the folder and the name is kept.
func TestDeleteUnderTheLockLeavesNoLockFile(t *testing.T) {
	keyringtest.Start(t)
	dir := filepath.Join(t.TempDir(), "state")
	s := keyringstore.New(keyringstore.DefaultService, dir)
	for _, env := range []string{"sandbox", "shared"} {
		if err := s.Save(ctx, env, storetest.Sample()); err != nil {
			t.Fatal(err)
		}
	}
	// The file store's record of "shared", another configuration's, in
	// the same folder (the default state folder both use).
	shared := filepath.Join(dir, "shared.json")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shared, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"sandbox", "shared"} {
		unlock, err := s.Lock(ctx, env)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, env); err != nil {
			t.Fatal(err)
		}
		unlock()
	}
	if _, err := os.Lstat(filepath.Join(dir, "sandbox.lock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("sandbox.lock after its tokens were deleted under the lock: %v; want it gone", err)
	}
	if _, err := os.Lstat(shared); err != nil {
		t.Errorf("the file store's record of shared: %v; want it kept", err)
	}
}
