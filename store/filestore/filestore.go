// Package filestore keeps each environment's tokens in its own JSON file in a
// private folder.
//
// Invariants: the folder is 0700 and every file in it 0600, and a looser mode
// is refused rather than used; a record is replaced only by writing a temp
// file, syncing it, renaming it over the old one and syncing the folder, so a
// reader sees the old record or the new one, never a mix; a record that cannot
// be parsed is reported and left in place; temp files left by a crashed writer
// are removed by the next writer of that environment, which holds its lock.
package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/freshtoken/freshtoken/store"
)

const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600
	// lockPoll is how often a waiting renewer retries the lock file.
	lockPoll = 10 * time.Millisecond
)

// Store is a folder of token files.
type Store struct {
	dir string
}

// New returns a store rooted at dir. The folder is created on first write.
func New(dir string) *Store {
	return &Store{dir: dir}
}

func (s *Store) path(env string) string { return filepath.Join(s.dir, env+".json") }

// Location implements store.Store.
func (s *Store) Location(env string) string { return s.path(env) }

// Load implements store.Store.
func (s *Store) Load(_ context.Context, env string) (*store.Record, error) {
	if err := store.ValidateEnvName(env); err != nil {
		return nil, err
	}
	if err := s.checkDir(); err != nil {
		return nil, err
	}
	p := s.path(env)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if err := checkMode(p, fi.Mode(), fileMode, "600"); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %s could not be read (%v); it was left as it is: fix it, or run `freshtoken login -e %s` to replace it", store.ErrCorrupt, p, err, env)
	}
	return store.Unmarshal(data, p, env)
}

// Save implements store.Store. It returns only once the record is on disk.
func (s *Store) Save(_ context.Context, env string, r *store.Record) error {
	if err := store.ValidateEnvName(env); err != nil {
		return err
	}
	if err := s.ensureDir(); err != nil {
		return err
	}
	s.removeLitter(env)
	data, err := store.Marshal(env, r)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, tempPrefix(env)+"*")
	if err != nil {
		return fmt.Errorf("save tokens in %s: %w", s.dir, err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(fileMode); err != nil {
		return fmt.Errorf("save tokens in %s: %w", s.dir, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("save tokens in %s: %w", s.dir, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("save tokens in %s: %w", s.dir, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save tokens in %s: %w", s.dir, err)
	}
	if err := os.Rename(tmp.Name(), s.path(env)); err != nil {
		return fmt.Errorf("save tokens in %s: %w", s.dir, err)
	}
	committed = true
	// The record is in place; a folder that cannot be synced makes it less
	// durable against power loss, not unsaved, so that is not a failure.
	syncDir(s.dir)
	return nil
}

// Delete implements store.Store.
func (s *Store) Delete(_ context.Context, env string) error {
	if err := store.ValidateEnvName(env); err != nil {
		return err
	}
	err := os.Remove(s.path(env))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", s.path(env), err)
	}
	if err == nil {
		return syncDir(s.dir)
	}
	return nil
}

// Lock implements store.Store with an advisory lock on ENV.lock, which excludes
// other processes and other Lock calls in this one alike.
func (s *Store) Lock(ctx context.Context, env string) (func(), error) {
	if err := store.ValidateEnvName(env); err != nil {
		return nil, err
	}
	if err := s.ensureDir(); err != nil {
		return nil, err
	}
	p := filepath.Join(s.dir, env+".lock")
	if fi, err := os.Stat(p); err == nil {
		if err := checkMode(p, fi.Mode(), fileMode, "600"); err != nil {
			return nil, err
		}
	}
	l := flock.New(p, flock.SetPermissions(fileMode))
	ok, err := l.TryLockContext(ctx, lockPoll)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	if !ok {
		return nil, fmt.Errorf("lock %s: %w", p, ctx.Err())
	}
	return func() { l.Unlock() }, nil
}

func tempPrefix(env string) string { return "." + env + ".json.tmp-" }

// removeLitter deletes temp files a crashed writer of env left behind. Only
// a lock holder calls Save, so no live writer owns them.
func (s *Store) removeLitter(env string) {
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix(env)) {
			os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
}

func (s *Store) ensureDir() error {
	if err := os.MkdirAll(s.dir, dirMode); err != nil {
		return fmt.Errorf("create token folder: %w", err)
	}
	return s.checkDir()
}

// checkDir refuses a folder others can read; a missing folder is fine.
func (s *Store) checkDir() error {
	fi, err := os.Stat(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("token folder: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("token store %s is not a folder", s.dir)
	}
	return checkMode(s.dir, fi.Mode(), dirMode, "700")
}

func checkMode(path string, got, want fs.FileMode, chmod string) error {
	if got.Perm()&^want != 0 {
		return fmt.Errorf("%s has mode %04o, which lets other users read your tokens; run `chmod %s %s`", path, got.Perm(), chmod, shellQuote(path))
	}
	return nil
}

func shellQuote(s string) string {
	if strings.ContainsAny(s, " '\"$`\\") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
