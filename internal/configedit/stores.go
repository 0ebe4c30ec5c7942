package configedit

// This file holds what store migrate and a log-in ask of the store a
// configuration names.

import (
	"os"
	"path/filepath"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/configfile"
	"github.com/freshtoken/freshtoken/store/filestore"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// StoreID names the records a store URL's store holds: two URLs with the
// same ID are one store, however they are written.
func StoreID(storeURL string) (string, error) {
	switch {
	case config.IsRedisURL(storeURL):
		return redisstore.ID(storeURL)
	case config.IsKeyringURL(storeURL):
		svc, err := configfile.KeyringService(storeURL)
		return "keyring:" + svc, err
	}
	dir, err := config.StoreDir(storeURL)
	return "file:" + resolved(dir), err
}

// LockDomain says which renewal locks a store URL's store takes: two URLs
// with the same domain share their locks, so one process must not take an
// environment's lock through both.
func LockDomain(storeURL string) (string, error) {
	switch {
	case config.IsRedisURL(storeURL):
		return redisstore.ID(storeURL) // the lock is a key beside the record
	case config.IsKeyringURL(storeURL):
		if _, err := configfile.KeyringService(storeURL); err != nil {
			return "", err
		}
		dir, err := configfile.KeyringLockDir()
		return resolved(dir), err
	}
	dir, err := config.StoreDir(storeURL)
	return resolved(dir), err
}

// resolved is the folder dir with the symbolic links on its path followed
// (as macOS's /tmp is /private/tmp), so that one folder has one name
// however it is reached; a folder not yet made, those on the path to the
// nearest folder above it that is, so that it keeps its name once made (a
// move into it noted it before it was made).
func resolved(dir string) string {
	below := ""
	for at := dir; ; at = filepath.Dir(at) {
		if real, err := filepath.EvalSymlinks(at); err == nil {
			return filepath.Join(real, below)
		}
		if at == filepath.Dir(at) {
			return dir
		}
		below = filepath.Join(filepath.Base(at), below)
	}
}

// SameStore reports whether store URLs a and b name one store: one StoreID,
// or one folder, made, that StoreID names apart (see sameFolder). Two URLs
// of one store share their records and their renewal locks, so one process
// must not take an environment's lock through both.
func SameStore(a, b string) bool {
	idA, errA := StoreID(a)
	idB, errB := StoreID(b)
	if errA == nil && errB == nil && idA == idB {
		return true
	}
	return sameFolder(a, b)
}

// sameFolder reports whether the file stores at storeURLs a and b keep
// their records in one folder, made: reached through a bind mount, or spelt
// in another case on a disk that ignores case (macOS's, Windows').
func sameFolder(a, b string) bool {
	if config.IsRedisURL(a) || config.IsKeyringURL(a) || config.IsRedisURL(b) || config.IsKeyringURL(b) {
		return false
	}
	da, errA := config.StoreDir(a)
	db, errB := config.StoreDir(b)
	if errA != nil || errB != nil {
		return false
	}
	fa, errA := os.Stat(da)
	fb, errB := os.Stat(db)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// LogInRoom is why the file store at storeURL could not store env's first
// tokens now, its disk full or read-only (see filestore.Store.CheckRoom);
// nil for any other store. A log-in asks before the person approves, whose
// approval's tokens the store would then refuse, the code spent.
func LogInRoom(storeURL, env string) error {
	if config.IsKeyringURL(storeURL) || config.IsRedisURL(storeURL) {
		return nil // no folder to fill
	}
	st, err := config.OpenStore(storeURL)
	files, ok := st.(*filestore.Store)
	if err != nil || !ok {
		return nil
	}
	return files.CheckRoom(env)
}
