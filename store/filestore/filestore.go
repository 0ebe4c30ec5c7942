// Package filestore keeps each environment's tokens in its own JSON file in a
// private folder.
//
// Invariants: the folder is 0700 and every file in it 0600, all owned by the
// user, and anything looser, foreign or a symbolic link is refused rather
// than used or followed; a record is replaced only by writing a temp file,
// syncing it, renaming it over the old one and syncing the folder, so a
// reader sees the old record or the new one, never a mix; a record that
// cannot be parsed is reported and left in place; temp files left by a
// crashed writer are removed by the next writer of that environment, which
// holds its lock, and the lock file by the holder that deleted the record;
// a small reserve file is given up when the disk is full, so that a
// renewal's answer can still be stored, and with the reserve spent the
// record is written over in place when its file's blocks can hold it.
package filestore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofrs/flock"

	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/filemode"
	"github.com/freshtoken/freshtoken/internal/shellquote"
	"github.com/freshtoken/freshtoken/store"
)

const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600
	// lockPoll is how often a waiting renewer retries the lock file.
	lockPoll = 10 * time.Millisecond
	// reserveName is the file given up to make room on a full disk.
	reserveName = ".reserve"
	// reserveSize is many times the size of a record and its temp file.
	reserveSize = 64 << 10
	// recordRoom is more than a record takes.
	recordRoom = 4 << 10
)

// Store is a folder of token files.
type Store struct {
	dir string
	// locksOnly: the store is used for its renewal locks alone, its
	// records kept elsewhere (NewLocks).
	locksOnly bool
	// byDefault: the folder is the command line's default one, which
	// $XDG_STATE_HOME moves too (NewDefault).
	byDefault bool

	mu        sync.Mutex
	forgotten map[string]bool         // environments whose record Delete removed: their lock holder removes the lock file
	held      map[string]*flock.Flock // environments whose lock this Store holds, and the lock taken
}

// New returns a store rooted at dir. The folder is created on first write.
// A relative dir is taken from the working folder now: the store stays
// there when the program changes its working folder, and its Location is
// the one its full path gives.
// An empty dir names no folder (a variable nobody set): every call fails,
// saying so, as every call of the zero Store does, rather than keep the
// tokens wherever the program happens to run.
func New(dir string) *Store {
	if dir == "" {
		return &Store{}
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return &Store{dir: dir}
}

// NewDefault is New(dir) for the command line's default token folder
// ($XDG_STATE_HOME/freshtoken, no [store] url set): the advice to keep the
// tokens in another folder names $XDG_STATE_HOME too, which moves it. A
// folder [store] url names is not moved by $XDG_STATE_HOME, and New's
// advice names [store] url alone.
func NewDefault(dir string) *Store {
	s := New(dir)
	s.byDefault = true
	return s
}

// errNoFolder is every call's error on a Store given no folder.
var errNoFolder = errors.New("the file store was given no folder (filestore.New(\"\"), or the zero filestore.Store), so it keeps no tokens; name the folder to keep them in")

// checkUse refuses env as checkName does, and any use of a Store given no
// folder.
func (s *Store) checkUse(env string) error {
	if s.dir == "" {
		return errNoFolder
	}
	return checkName(env, runtime.GOOS)
}

// NewLocks returns a store rooted at dir whose renewal locks (Lock,
// HoldsLock) are those of a store New(dir) returns, for a store that keeps
// its records elsewhere (the system keychain): it writes no file but the
// empty lock files, so a file size limit (ulimit -f) too small for a record
// does not stop a renewal, as it does a store New returns.
func NewLocks(dir string) *Store {
	s := New(dir)
	s.locksOnly = true
	return s
}

// checkName refuses an environment name the store cannot keep on the
// system goos: any that some store cannot (store.ValidateEnvName), and on
// Windows a device's name, in any case, for Windows opens the device for a
// file of that name whatever its extension: the record would be written
// to NUL and the lock taken on nothing.
func checkName(env, goos string) error {
	if err := store.ValidateEnvName(env); err != nil {
		return err
	}
	if goos != "windows" {
		return nil
	}
	device := strings.ToUpper(env)
	switch {
	case device == "CON", device == "PRN", device == "AUX", device == "NUL",
		len(device) == 4 && (device[:3] == "COM" || device[:3] == "LPT") && device[3] >= '1' && device[3] <= '9':
		return fmt.Errorf("environment name %q is %w on Windows, for the device %s: its token files (%s.json, %s.lock) would open the device; rename the environment",
			env, store.ErrReservedName, device, env, env)
	}
	return nil
}

func (s *Store) path(env string) string { return filepath.Join(s.dir, env+".json") }

// Location implements store.Store.
func (s *Store) Location(env string) string { return s.path(env) }

// Load implements store.Store. It reads the record whole, never while a
// writer is over it in place (see overwrite).
func (s *Store) Load(ctx context.Context, env string) (*store.Record, error) {
	if err := s.checkUse(env); err != nil {
		return nil, err
	}
	if err := s.checkDir(); err != nil {
		return nil, err
	}
	p := s.path(env)
	f, err := openPrivate(p, os.O_RDONLY)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Lstat(s.dir); errors.Is(err, fs.ErrNotExist) {
			if err := s.creatable(); err != nil {
				return nil, err
			}
		}
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// On a file system without file locks, the record is read unlocked.
	if err := lockContent(ctx, f, false); err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %s could not be read (%v); it was left as it is, and a log-in replaces it", store.ErrCorrupt, p, err)
	}
	return store.Unmarshal(data, p)
}

// openPrivate opens the file at p, never through a symbolic link, and
// refuses it unless it is a regular file of the user's that only the user
// can read and write.
func openPrivate(p string, flag int) (*os.File, error) {
	f, err := os.OpenFile(p, flag|noFollow|noBlock, fileMode)
	if err != nil {
		if fi, lerr := os.Lstat(p); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, linkError(p)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if fi, serr := os.Lstat(p); serr == nil && fi.IsDir() {
			return nil, notRegular(p)
		}
		if atomicfile.DiskFull(err) {
			return nil, fmt.Errorf("%w: %w", store.ErrDiskFull, err)
		}
		if errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EIO) {
			// A disk turned read-only or failing: the disk needs mending,
			// as a refused save's does. err names p.
			return nil, fmt.Errorf("%w: %w", store.ErrWriteFailed, err)
		}
		if atomicfile.OutOfFiles(err) {
			// The process (or the system) has as many files and
			// connections open as it may, a busy proxy's: it passes.
			return nil, fmt.Errorf("%w: %w; %s", store.ErrUnreachable, err, atomicfile.OutOfFilesStep(err))
		}
		return nil, err // a *fs.PathError, which names p
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
	case fi.IsDir(): // opened read-only, as a folder can be
		err = notRegular(p)
	default:
		err = checkFile(p, fi, fileMode, "600")
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Save implements store.Store. It returns only once the record is on disk.
// When the disk is full it gives up the reserve to make room, or else
// writes the record in place (see overwrite), and returns an error wrapping
// store.ErrReserveUsed with the record saved.
func (s *Store) Save(_ context.Context, env string, r *store.Record) error {
	if err := s.checkUse(env); err != nil {
		return err
	}
	if err := s.ensureDir(); err != nil {
		return err
	}
	if !s.stillHeld(env) {
		return fmt.Errorf("could not save the tokens: the lock file %s was removed while this renewer held it, so another renewer may have stored newer tokens; nothing was written", filepath.Join(s.dir, env+".lock"))
	}
	s.removeLitter(env)
	data, err := store.Marshal(env, r)
	if err != nil {
		return err
	}
	err = s.write(env, data)
	if err != nil && atomicfile.DiskFull(err) && os.Remove(filepath.Join(s.dir, reserveName)) == nil {
		full := err
		if err = s.write(env, data); err == nil {
			return s.reserveUsed(full, "; the tokens were saved in space kept in reserve")
		}
	}
	if err != nil && atomicfile.DiskFull(err) && s.overwrite(env, data) == nil {
		return s.reserveUsed(err, ", the reserve spent too; the tokens were saved over the previous ones, in place")
	}
	switch {
	case err == nil:
	case atomicfile.DiskFull(err):
		// With no reserve to give up, nor a record to write over (a first
		// log-in): said as Go's "write /…/.env.json.tmp-53827: no space
		// left on device", it named a temp file and no next step.
		return s.diskFull(err)
	case errors.Is(err, syscall.EROFS): // said as Go's, it named a temp file and no next step
		return s.readOnly(err)
	default: // said as Go's, it named a temp file and no next step
		return s.writeFailed(err)
	}
	s.keepReserve()
	return nil
}

// CheckRoom reports why a save of env's record would fail now for want of
// room (an error wrapping store.ErrDiskFull), or as the token folder's
// disk is read-only (store.ErrWriteFailed), nil if it would not: its disk
// too full for what the save makes, with neither a reserve to give up nor a
// record to write over in place, as at a log-in, which checks before
// the person approves. The save makes the record's temp file, and first, where
// they are missing, the token folder (and any folder above it) and the
// renewal lock's file: each takes a file of the disk's (an inode), and a
// folder a block. A folder not made yet is asked of the nearest folder
// above it (and, as that cannot be written in, refused by Load).
func (s *Store) CheckRoom(env string) error {
	if err := atomicfile.CanWriteIn(s.dir); errors.Is(err, syscall.EROFS) {
		return s.readOnly(err)
	}
	for _, name := range []string{reserveName, env + ".json"} {
		if fi, err := os.Lstat(filepath.Join(s.dir, name)); err == nil && fi.Mode().IsRegular() {
			return nil
		}
	}
	sizes := []int64{recordRoom}
	if _, err := os.Lstat(filepath.Join(s.dir, env+".lock")); errors.Is(err, fs.ErrNotExist) {
		sizes = append(sizes, 0)
	}
	dir := s.dir
	for _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) && dir != filepath.Dir(dir); _, err = os.Stat(dir) {
		sizes = append(sizes, atomicfile.FolderRoom)
		dir = filepath.Dir(dir)
	}
	if err := atomicfile.CheckRoom(filepath.Join(dir, env+".json"), sizes...); err != nil {
		return s.diskFull(err)
	}
	return nil
}

// write replaces env's record with data: temp file, sync, rename, sync the
// folder.
func (s *Store) write(env string, data []byte) error {
	return atomicfile.Write(s.path(env), data, atomicfile.Options{Perm: fileMode, TempPrefix: tempPrefix(env), Sync: syncFile})
}

// overwrite writes data over env's record file in place, the last resort
// when the disk is too full for a temp file even with the reserve given
// up. Refusing the answer instead would leave the record holding the
// refresh token that the answer replaced, already spent: another process
// (the next cron run) would take the lock, send it, and a provider that
// detects reuse would end the grant. Writing in place needs no new space
// where the file's blocks already hold the new content (ext4, xfs, tmpfs),
// so it is tried only then; on a copy-on-write file system (btrfs, zfs) it
// fails like the temp file did. It is not atomic: a power loss or a failure
// mid-write can leave a torn record, which Load reports as unreadable and
// keeps, asking for a log-in, but never a revoked grant; readers wait for
// the write to end (an exclusive lock on the file, which Load's shared one
// waits for), so they never read it half written. A shorter record is
// padded with spaces, which JSON ignores, to the old one's length, so that
// one write replaces it with no truncation after it.
func (s *Store) overwrite(env string, data []byte) error {
	p := s.path(env)
	f, err := openPrivate(p, os.O_WRONLY)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if pad := fi.Size() - int64(len(data)); pad > 0 {
		data = append(data, bytes.Repeat([]byte{' '}, int(pad))...)
	}
	if room := allocated(fi); room < int64(len(data)) {
		return fmt.Errorf("%s has %d bytes on disk, too few for the %d of the new record", p, room, len(data))
	}
	// Written unlocked on a file system without file locks: refusing the
	// answer for that would be worse than a reader finding it torn.
	lockContent(context.Background(), f, true)
	if _, err := f.WriteAt(data, 0); err != nil {
		return err
	}
	return syncFile(f)
}

// fullDiskError is a Save that succeeded only by giving up the reserve, or
// by writing the record in place, on a full disk; it wraps
// store.ErrReserveUsed, as the record is saved but there is no room left.
type fullDiskError struct{ msg string }

func (e *fullDiskError) Error() string { return e.msg }
func (e *fullDiskError) Unwrap() error { return store.ErrReserveUsed }

// reserveUsed is a Save that succeeded only by giving up the reserve, or
// by writing the record in place (spent says which), for err, the want of
// room met: the disk full, or the user's quota on it spent, which `df -h`
// does not show, and which a renewal's warning said as a full disk.
func (s *Store) reserveUsed(err error, spent string) error {
	full := "the disk is full"
	if atomicfile.QuotaSpent(err) {
		full = "your disk quota is spent"
	}
	return &fullDiskError{msg: fmt.Sprintf("%s%s: %s; %s", full, spent, s.dir, atomicfile.FreeSome(err, s.dir, ""))}
}

// keepReserve makes the reserve file whole: made if it is missing, grown if
// it is short (a writer killed while it made one leaves it so, and it would
// free less than a full disk's save needs), when the disk has room for it
// and a reserve's size more beside it: made in the room a reserve given up
// on a full disk freed, it filled that disk again, for every other writer
// there, until a person freed space. One that held something is
// grown in place and never removed, so that a disk with no room for the
// rest keeps what it holds; one made now that the disk has no room for is
// removed, leaving the space it took free. A disk too full for it is no
// failure: the record is already saved. It holds random bytes, not zeros:
// a file system that compresses (ZFS with lz4, as Ubuntu installs it;
// btrfs with compress) keeps zeros in no space, and giving such a reserve
// up freed nothing; one the disk holds in less than half its size (zeros
// an older freshtoken wrote, or a sparse file) is written anew. What stands
// at its place and is no file (a link, never followed; a FIFO; an empty
// folder) is removed and the reserve made: kept, it was never remade. A
// folder holding something is left with it, and no reserve made.
func (s *Store) keepReserve() {
	p := filepath.Join(s.dir, reserveName)
	if fi, err := os.Lstat(p); err == nil && !fi.Mode().IsRegular() && os.Remove(p) != nil {
		return
	}
	f, err := openPrivate(p, os.O_WRONLY|os.O_CREATE)
	if err != nil {
		return
	}
	fi, err := f.Stat()
	if err != nil || fi.Size() >= reserveSize && !unstored(fi) {
		f.Close()
		return
	}
	from := fi.Size()
	if unstored(fi) {
		from = 0
	}
	removeCheckLitter(s.dir)
	if atomicfile.CheckRoom(p, reserveSize-from+reserveSize) != nil {
		giveUpReserve(f, p, 0)
		return
	}
	roomFound()
	noise := make([]byte, reserveSize-from)
	rand.Read(noise)
	n, err := f.WriteAt(noise, from)
	if err == nil {
		err = f.Sync()
	}
	if err != nil && fi.Size() == 0 {
		giveUpReserve(f, p, int64(n))
		return
	}
	f.Close()
}

// giveUpReserve closes f, the reserve at p that keepReserve opened empty
// and could not make whole, having written wrote bytes of it, and removes
// it if it holds no more than that: a writer of another environment that
// found it empty too may have made it whole meanwhile. It is looked at
// before it is closed, and closed before it is removed (Windows removes no
// open file).
func giveUpReserve(f *os.File, p string, wrote int64) {
	givingUpReserve()
	fi, err := f.Stat()
	f.Close()
	if err == nil && fi.Size() <= wrote {
		os.Remove(p)
	}
}

// roomFound is called once keepReserve found room to make the reserve,
// before it writes it (a test fills the disk there); givingUpReserve once
// it could not, before giveUpReserve looks at the reserve again (a test's
// writer makes it whole there).
var roomFound, givingUpReserve = func() {}, func() {}

// removeCheckLitter removes the files a room check for the reserve killed
// midway left in the token folder dir (CheckRoom's, named after the reserve).
// One of a check under way elsewhere is removed harmlessly: the check
// writes through its open file, and the room is freed as it closes it.
func removeCheckLitter(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "."+reserveName+".tmp-") {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// RemoveEmpty removes the token folder dir if it holds no file but the
// reserve, which it removes first: a folder made for tokens that never
// stayed there (a store migrate taken back) is not left behind, holding
// the reserve alone. A folder holding any other file is left as it is;
// one holding a folder keeps it, and loses the reserve.
func RemoveEmpty(dir string) error {
	alone, err := removeLoneReserve(dir)
	if err != nil || !alone {
		return err
	}
	return os.Remove(dir)
}

// RemoveUnusedReserve removes the reserve from the token folder dir when
// the folder holds no other file: the reserve serves the renewals of
// records there, and with none left (every record moved to another store)
// it is 64 KiB left in the folder for nothing. A folder in it (the
// token-file ledger, in the default token folder) holds no record. A
// writer that comes later makes it again as it saves.
func RemoveUnusedReserve(dir string) error {
	_, err := removeLoneReserve(dir)
	return err
}

// removeLoneReserve removes the reserve from the token folder dir if the
// folder holds no other file (folders in it hold no record), and says
// whether it held none (the reserve may have been missing already). A room
// check's file that a writer killed while making the reserve left (128 KiB)
// goes first: it kept the reserve, the folder and itself there for good. A
// writer that took a lock there (a first log-in) as the reserve went, its
// lock file made before it looked for the reserve, finds it missing and
// makes it, or is found here, and the reserve made again.
func removeLoneReserve(dir string) (alone bool, err error) {
	removeCheckLitter(dir)
	lone := func() (bool, error) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return false, err
		}
		for _, e := range entries {
			if e.Name() != reserveName && !e.IsDir() || e.Name() == reserveName && !e.Type().IsRegular() {
				return false, nil
			}
		}
		return true, nil
	}
	if alone, err := lone(); err != nil || !alone {
		return false, err
	}
	lookedAtFolder()
	if err := os.Remove(filepath.Join(dir, reserveName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if alone, err := lone(); err == nil && !alone {
		(&Store{dir: dir}).keepReserve()
		return false, nil
	}
	return true, nil
}

// lookedAtFolder is called between removeLoneReserve's look at the folder
// and its removal of the reserve (a test's writer lands there).
var lookedAtFolder = func() {}

// Delete implements store.Store.
func (s *Store) Delete(_ context.Context, env string) error {
	if err := s.checkUse(env); err != nil {
		return err
	}
	// A folder at the record's place is no record (see Load): removed,
	// an empty one was said to be the tokens deleted.
	if fi, err := os.Lstat(s.path(env)); err == nil && fi.IsDir() {
		return notRegular(s.path(env))
	}
	err := os.Remove(s.path(env))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", s.path(env), err)
	}
	s.ForgetLock(env)
	if err == nil {
		return syncDir(s.dir)
	}
	return nil
}

// ForgetLock has env's lock file removed as its holder lets go, as Delete
// does, unless a record of env's is in the folder then: a Store of
// NewLocks, whose records are kept elsewhere (the keychain), calls it once
// it deleted env's, so that forgotten environments leave no lock files.
func (s *Store) ForgetLock(env string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.forgotten == nil {
		s.forgotten = map[string]bool{}
	}
	s.forgotten[env] = true
}

// Lock implements store.Store with an advisory lock on ENV.lock, which excludes
// other processes and other Lock calls in this one alike.
//
// The lock file is removed with the record (Delete), by the holder before
// it lets go, so that forgotten environments leave no litter. A lock is therefore
// held only once the file it was taken on is still the one at ENV.lock: a
// renewer that waited on a file since removed takes the lock again on the
// new one, so two holders never overlap.
func (s *Store) Lock(ctx context.Context, env string) (func(), error) {
	if err := s.checkUse(env); err != nil {
		return nil, err
	}
	if err := s.ensureDir(); err != nil {
		return nil, err
	}
	if !s.locksOnly && !store.WritesNone(ctx) { // a log-out deletes only; NewLocks' records are not files
		if err := fileSizeLimited(); err != nil { // before a renewal whose answer could not be stored
			return nil, err
		}
	}
	p := filepath.Join(s.dir, env+".lock")
	for again := false; ; again = true {
		if again && ctx.Err() != nil { // given up as the holder removed the file: a new one would outlast its log-out
			return nil, fmt.Errorf("waiting for the renewal lock %s: %w", p, ctx.Err())
		}
		// Made and checked here, never by flock, which opens it the same
		// way (never through a link) but would make it again once its
		// holder removed it, given up or not.
		f, err := openPrivate(p, os.O_CREATE|os.O_RDWR)
		if atomicfile.DiskFull(err) { // no file can be made: said as Save says it
			return nil, s.diskFull(err)
		}
		if errors.Is(err, syscall.EROFS) {
			return nil, s.readOnlyLock(p, err)
		}
		if err != nil {
			return nil, err
		}
		f.Close()
		l := flock.New(p, flock.SetFlag(os.O_RDWR|noFollow))
		ok, err := l.TryLock()
		if err == nil && !ok { // another holder's: a wait that may last
			store.Waiting(ctx)
			ok, err = l.TryLockContext(ctx, lockPoll)
		}
		if !ok && ctx.Err() != nil { // given up (Ctrl-C): said as the Redis store says it
			return nil, fmt.Errorf("waiting for the renewal lock %s: %w", p, ctx.Err())
		}
		if errors.Is(err, fs.ErrNotExist) { // removed by its holder before flock opened it
			continue
		}
		if err != nil { // not taken, and not given up: TryLockContext says why
			return nil, fmt.Errorf("lock %s: %w", p, err)
		}
		if sameFile(l, p) {
			s.mu.Lock()
			if s.held == nil {
				s.held = map[string]*flock.Flock{}
			}
			s.held[env] = l
			s.mu.Unlock()
			return func() { s.unlock(l, env) }, nil
		}
		l.Unlock() // taken on a lock file its last holder removed: take it again
	}
}

// unlock lets go of env's lock, first removing the lock file when Delete
// forgot env's record (logged out, removed) and no record came back, as
// only a holder may.
func (s *Store) unlock(l *flock.Flock, env string) {
	s.mu.Lock()
	forgotten := s.forgotten[env]
	delete(s.forgotten, env)
	if s.held[env] == l {
		delete(s.held, env)
	}
	s.mu.Unlock()
	if _, err := os.Lstat(s.path(env)); forgotten && errors.Is(err, fs.ErrNotExist) {
		os.Remove(l.Path())
	}
	l.Unlock()
}

// sameFile reports whether the lock l holds is on the file at path p.
func sameFile(l *flock.Flock, p string) bool {
	held, err := l.Stat()
	if err != nil {
		return false
	}
	now, err := os.Lstat(p)
	return err == nil && os.SameFile(held, now)
}

// HoldsLock implements store.LockChecker. A lock file removed while its lock
// is held (someone clearing stale-looking .lock files) lets the next renewer
// take a lock on a new file, and both would spend one refresh token: the
// holder learns here that its lock is no longer the store's.
func (s *Store) HoldsLock(_ context.Context, env string) (bool, error) {
	s.mu.Lock()
	l := s.held[env]
	s.mu.Unlock()
	return l != nil && sameFile(l, filepath.Join(s.dir, env+".lock")), nil
}

// StuckHolders implements store.StuckHolderTeller: on Linux, a stopped
// process that holds an environment's lock file is named, with how to
// resume it.
func (s *Store) StuckHolders() func(env string) string {
	holder := stoppedHolders()
	return func(env string) string {
		pid, name := holder(filepath.Join(s.dir, env+".lock"))
		if pid == 0 {
			return ""
		}
		return fmt.Sprintf("the renewal lock of %s: process %d (%s) holds it and is stopped (Ctrl-Z?): resume it (`fg`, or `kill -CONT %d`) or end it", env, pid, name, pid)
	}
}

// stillHeld reports whether a Save of env may write: when this Store holds
// env's lock, only while its lock file is still the one locked, as another
// renewer may have stored newer tokens under a lock on a new one.
func (s *Store) stillHeld(env string) bool {
	s.mu.Lock()
	l := s.held[env]
	s.mu.Unlock()
	return l == nil || sameFile(l, filepath.Join(s.dir, env+".lock"))
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
	fi, err := os.Lstat(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := s.creatable(); err != nil {
			return err
		}
	}
	if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		// Said as a link, even one that leads nowhere: MkdirAll's "file
		// exists" named none.
		return s.checkDir()
	}
	if err := os.MkdirAll(s.dir, dirMode); err != nil {
		return s.folderError(err)
	}
	return s.checkDir()
}

// creatable returns why the missing folder s.dir could not be made, if it
// could not: the nearest folder above it that exists must be one the user
// may write in, and for root not another user's (root, with sudo keeping
// the user's HOME, would leave a folder there that locks the user out).
func (s *Store) creatable() error {
	for parent := filepath.Dir(s.dir); ; parent = filepath.Dir(parent) {
		fi, err := os.Stat(parent)
		if errors.Is(err, fs.ErrNotExist) && parent != filepath.Dir(parent) {
			continue
		}
		if err == nil && !fi.IsDir() {
			err = &fs.PathError{Op: "mkdir", Path: parent, Err: syscall.ENOTDIR}
		}
		if err == nil {
			err = atomicfile.CanWriteIn(parent)
		}
		if err != nil {
			return s.folderError(err)
		}
		if foreignOwner(fi) && os.Geteuid() == 0 {
			// A FolderError, as checkDir's: store migrate names the folder
			// with --to, not [store] url.
			return &FolderError{
				kind:   store.ErrInsecure,
				reason: fmt.Sprintf("the token folder %s would be made in %s, which belongs to another user", s.dir, parent),
				fix:    fmt.Sprintf("run freshtoken as its owner (`%s …`), not as root, whose files that user could not use, or set [store] url to a folder of root's own", shellquote.AsUser(owner(fi))),
				locks:  s.locksOnly,
			}
		}
		return nil
	}
}

// Usable reports whether a token store could be kept in dir as it is:
// a folder of the user's own that no other user may use, or a missing one
// that freshtoken could make there for the user alone. It changes nothing.
func Usable(dir string) bool {
	s := New(dir)
	if _, err := os.Lstat(s.dir); errors.Is(err, fs.ErrNotExist) {
		return s.creatable() == nil
	}
	return s.checkDir() == nil
}

// spaceFix is what to do when the disk of the token folder is full, as
// err says it.
func (s *Store) spaceFix(err error) string {
	return atomicfile.FreeSome(err, s.dir, "") + ", or set " + s.movedBy() + " to a folder on another disk"
}

// movedBy is what names the token folder, which a person sets to keep the
// tokens elsewhere: [store] url, or for the default folder $XDG_STATE_HOME
// too.
func (s *Store) movedBy() string {
	if s.byDefault {
		return "[store] url (or $XDG_STATE_HOME)"
	}
	return "[store] url"
}

// diskFull is err, a file in the store's folder that could not be written
// or made as its disk is full, said as that disk being full, with what to
// do: a FolderError wrapping store.ErrDiskFull and the system's error.
func (s *Store) diskFull(err error) error {
	what, fix := "token folder", s.spaceFix(err)
	if s.locksOnly {
		what, fix = "folder of the keychain's renewal locks", atomicfile.FreeSome(err, s.dir, " there")
	}
	full := atomicfile.FullWords(err)
	var errno syscall.Errno
	if errors.As(err, &errno) {
		err = errno // the file's name says nothing the folder's does not
	}
	return &FolderError{kind: store.ErrDiskFull, cause: err, reason: fmt.Sprintf("%v: the disk holding the %s %s %s (%v)", store.ErrDiskFull, what, s.dir, full, err), fix: fix, locks: s.locksOnly}
}

// readOnlyLock is err, the renewal lock file p that could not be opened
// (nor made) as the disk holding it is read-only, said so, with what to
// do: a disk turned read-only under a running proxy was "open p: read-only
// file system" alone. Moving the store elsewhere is not advised: the
// tokens would stay behind, where a log-out no longer finds them.
func (s *Store) readOnlyLock(p string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		err = errno // p is named once
	}
	return &FolderError{kind: store.ErrWriteFailed, cause: err, reason: fmt.Sprintf("%v: the renewal lock %s cannot be opened, as the disk holding it is read-only (%v)", store.ErrWriteFailed, p, err), fix: writableAgain, locks: s.locksOnly}
}

// readOnly is err, a record that could not be written in the token folder
// as the disk holding it is read-only, said so, with what to do, as
// readOnlyLock says it.
func (s *Store) readOnly(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		err = errno // the temp file's name says nothing the folder's does not
	}
	return &FolderError{kind: store.ErrWriteFailed, cause: err, reason: fmt.Sprintf("%v: the disk holding the token folder %s is read-only (%v)", store.ErrWriteFailed, s.dir, err), fix: writableAgain, locks: s.locksOnly}
}

// writeFailed is err, a record that could not be written in the token
// folder for a reason other than a full or read-only disk, said of the
// folder, with what to do: a disk failing the write (EIO), or a folder the
// user may not write in, or a record past the file size limit (ulimit -f),
// which wrap store.ErrDenied.
func (s *Store) writeFailed(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		err = errno // the temp file's name says nothing the folder's does not
	}
	kind, reason, fix := store.ErrWriteFailed, fmt.Sprintf("the token folder %s could not be written (%v)", s.dir, err), "check the disk (the system's log tells of its errors), then try again"
	switch {
	case errors.Is(err, syscall.EIO):
		reason = fmt.Sprintf("the disk holding the token folder %s failed the write (%v)", s.dir, err)
	case errors.Is(err, fs.ErrPermission):
		kind, reason, fix = store.ErrDenied, fmt.Sprintf("the token folder %s cannot be written in (%v)", s.dir, err), "make it a folder you can write in, or set "+s.movedBy()+" to one"
	case atomicfile.TooLarge(err):
		than, next := atomicfile.TooLargeWords()
		kind, reason, fix = store.ErrDenied, fmt.Sprintf("the tokens' file in the token folder %s would be larger than %s", s.dir, than), next+", then try again"
	}
	return &FolderError{kind: kind, cause: err, reason: fmt.Sprintf("%v: %s", kind, reason), fix: fix, locks: s.locksOnly}
}

// writableAgain is what to do about a token folder's disk turned read-only.
const writableAgain = "make the disk writable again (a system turns a disk read-only after errors on it: check the disk)"

// folderError is why the token folder s.dir cannot be made or used: a
// failing or read-only disk is a failed write, anything else (a file in
// its path, a folder the user may not write in) a configuration to change.
// For NewLocks' folder, which holds renewal locks alone, whose records are
// elsewhere, neither [store] url (which would move the records) nor
// $XDG_STATE_HOME (which does not move those locks) is what to change.
func (s *Store) folderError(err error) error {
	what, fix, spaceFix := "token folder", "set "+s.movedBy()+" to a folder you can write in", s.spaceFix(err)
	if s.locksOnly {
		what = "folder of the keychain's renewal locks"
		fix = "make it a folder you can write in: the keychain's renewal locks are kept there whatever $XDG_STATE_HOME says"
		spaceFix = atomicfile.FreeSome(err, s.dir, " there")
	}
	failed := func(kind error, fix string) error {
		return &FolderError{kind: kind, cause: err, reason: fmt.Sprintf("%v: create %s %s: %v", kind, what, s.dir, err), fix: fix, locks: s.locksOnly}
	}
	switch {
	case errors.Is(err, syscall.EROFS): // a read-only HOME, as containers and CI runners have, too
		return failed(store.ErrWriteFailed, fix)
	case atomicfile.DiskFull(err):
		return failed(store.ErrDiskFull, spaceFix)
	case errors.Is(err, syscall.EIO):
		return failed(store.ErrWriteFailed, "")
	}
	return &FolderError{kind: store.ErrDenied, cause: err, reason: fmt.Sprintf("%v: the %s %s cannot be made (%v)", store.ErrDenied, what, s.dir, err), fix: fix, locks: s.locksOnly}
}

// KeptInPlace is err, env's failure, advising only to free some space
// when the token folder's disk is full: for a caller whose tokens must
// stay where they are (a log-out), as the folder's own advice, to set
// [store] url (or $XDG_STATE_HOME) to a folder on another disk, would
// leave them behind, where no log-out finds them, their grant alive at
// the provider. Any other failure is err as it is.
func KeptInPlace(env string, err error) error {
	var fe *FolderError
	if !errors.As(err, &fe) || fe.locks || !errors.Is(fe, store.ErrDiskFull) {
		return err
	}
	return fmt.Errorf("%s: %w", env, fe.WithFix("free some space there"))
}

// FolderError is a token folder that cannot be made or used, or whose
// disk is full. Its message ends with what to do for the folder [store]
// url names (or the default one); WithFix gives the same error with other
// advice, for a caller that knows better (store migrate, whose --to names
// the folder; logout, whose tokens stay where they are). It wraps
// store.ErrWriteFailed (a full, read-only or failing disk),
// store.ErrDenied, or store.ErrInsecure (the folder itself a link, or
// others' to use), and the system's error.
type FolderError struct {
	kind, cause error
	reason      string // what happened, naming the folder
	fix         string // what to do; "" for nothing to say
	locks       bool   // the folder of the keychain's renewal locks
}

// Locks reports whether the folder is the one of the keychain's renewal
// locks, which no store URL names: its own advice is the one to give.
func (e *FolderError) Locks() bool { return e.locks }

func (e *FolderError) Error() string {
	if e.fix == "" {
		return e.reason
	}
	return e.reason + "; " + e.fix
}

func (e *FolderError) Unwrap() []error { return []error{e.kind, e.cause} }

// WithFix is e ending with fix instead.
func (e *FolderError) WithFix(fix string) *FolderError {
	return &FolderError{kind: e.kind, cause: e.cause, reason: e.reason, fix: fix, locks: e.locks}
}

// checkDir refuses a folder that is a link, belongs to someone else or that
// others can use; a missing folder is fine.
func (s *Store) checkDir() error {
	fi, err := os.Lstat(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return s.folderError(err)
	}
	if !fi.IsDir() && fi.Mode()&fs.ModeSymlink == 0 {
		return fmt.Errorf("token store %s is not a folder", s.dir)
	}
	// A FolderError, whose advice (to chmod or remove it) a caller that
	// named the folder itself may replace: `chmod 700 /tmp` is no advice
	// for `store migrate --to file:///tmp`.
	if reason, fix := fileProblem(s.dir, fi, dirMode, "700"); reason != "" {
		return &FolderError{kind: store.ErrInsecure, reason: reason, fix: fix, locks: s.locksOnly}
	}
	return nil
}

// checkFile refuses what is not the user's, or what others may use.
func checkFile(path string, fi fs.FileInfo, want fs.FileMode, chmod string) error {
	if reason, fix := fileProblem(path, fi, want, chmod); reason != "" {
		return insecure("%s; %s", reason, fix)
	}
	return nil
}

// fileProblem says why path (fi its Lstat) is refused, and what to do,
// when it is not the user's, or others may use it; "" for none.
func fileProblem(path string, fi fs.FileInfo, want fs.FileMode, chmod string) (reason, fix string) {
	if fi.Mode()&fs.ModeSymlink != 0 {
		return linkProblem(path)
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return notRegularProblem(path)
	}
	if foreignOwner(fi) && os.Geteuid() == 0 {
		return path + " belongs to another user", fmt.Sprintf("run freshtoken as its owner (`%s …`), not as root, whose files that user could not use, or set [store] url to a folder of root's own", shellquote.AsUser(owner(fi)))
	}
	if foreignOwner(fi) {
		return path + " belongs to another user, who could read or replace your tokens", "remove it, or give it to yourself with `chown`"
	}
	if fi.Mode().Perm()&^want != 0 {
		return fmt.Sprintf("%s has mode %04o, which lets other users read your tokens", path, filemode.Octal(fi.Mode())), fmt.Sprintf("run `chmod %s %s`", chmod, shellquote.Word(path))
	}
	return "", ""
}

func notRegular(path string) error {
	reason, fix := notRegularProblem(path)
	return insecure("%s; %s", reason, fix)
}

func notRegularProblem(path string) (reason, fix string) {
	return path + " is not a regular file", "remove it, and freshtoken will make its own"
}

func linkError(path string) error {
	reason, fix := linkProblem(path)
	return insecure("%s; %s", reason, fix)
}

func linkProblem(path string) (reason, fix string) {
	return path + " is a symbolic link, which freshtoken never follows in its token store", "remove it (and set [store] url to the real folder if that is where tokens belong)"
}

// insecure is a refusal wrapping store.ErrInsecure, worded as format says.
func insecure(format string, args ...any) error {
	return &insecureError{msg: fmt.Sprintf(format, args...)}
}

type insecureError struct{ msg string }

func (e *insecureError) Error() string { return e.msg }
func (e *insecureError) Unwrap() error { return store.ErrInsecure }

// syncFile makes a file's content, or a folder's entries, durable. Tests
// watch it to see that every write syncs the temp file before the rename and
// the folder after it.
var syncFile = (*os.File).Sync

func syncDir(dir string) error {
	if err := atomicfile.SyncDir(dir, syncFile); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// minFileSize is the least file size limit (ulimit -f) a record, its temp
// file and the reserve are written under.
const minFileSize = reserveSize

// fileSizeLimited says why this process could not store the tokens a
// renewal brings, if it could not: a file size limit (ulimit -f) too small
// for a record, which a write past gets EFBIG for as long as the process
// lives. A renewal sent would have its rotated answer refused until
// SIGKILL, and the refresh token lost, so none is sent.
func fileSizeLimited() error {
	limit, ok := atomicfile.SizeLimit()
	if !ok || limit >= minFileSize {
		return nil
	}
	return fmt.Errorf("%w: the file size limit (ulimit -f) is %d bytes, too small to store the tokens a renewal brings, so none was sent; %s", store.ErrDenied, limit, atomicfile.RaiseSizeLimit)
}
