package filestore_test

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

var ctx = context.Background()

func sample() *store.Record {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	return &store.Record{AccessToken: "access-1", TokenType: "Bearer", Expiry: now.Add(time.Hour),
		RefreshToken: "refresh-1", RefreshExpiry: now.Add(20 * 24 * time.Hour), IssuedAt: now, Renewals: 2, RenewedAt: now}
}

// saved is a store in a folder of its own, holding the sample for sandbox,
// and the folder.
func saved(t *testing.T) (string, *filestore.Store) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tokens")
	s := filestore.New(dir)
	if err := s.Save(ctx, "sandbox", sample()); err != nil {
		t.Fatal(err)
	}
	return dir, s
}

// savedWithLock is saved, with the sandbox's lock file made by a lock taken
// and let go.
func savedWithLock(t *testing.T) (string, *filestore.Store) {
	t.Helper()
	dir, s := saved(t)
	unlock, err := s.Lock(ctx, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	return dir, s
}

// TestTheFirstFreshtokenReadsTodaysRecords: the record this freshtoken
// writes is read, with the first layout's fields, by every freshtoken since
// the first (an upgrade rolled back; an older proxy or fleet machine on the
// same store): those keys keep their names and types, and the format stays
// 1, which the first one requires, until a field an older one would drop
// must not be lost (store.go). The layout is the first freshtoken's, written
// out here, not today's types.
func TestTheFirstFreshtokenReadsTodaysRecords(t *testing.T) {
	r := sample()
	r.RenewedFor = store.RenewedForExpiry
	r.Grant = store.Grant{TokenURL: "https://api.freeagent.com/v2/token_endpoint", ClientID: "client-1", Type: "authorization_code"}
	r.Rest = &store.Rest{Until: r.IssuedAt.Add(time.Minute), Message: "the token endpoint asked to wait"}
	r.LoggedInWith = store.ConfigFile{Host: "laptop", Path: "/home/me/.config/freshtoken/work.toml"}
	dir := filepath.Join(t.TempDir(), "tokens")
	if err := filestore.New(dir).Save(ctx, "sandbox", r); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "sandbox.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The first freshtoken's record (store.Record and filestore's
	// fileRecord of 28 November 2026), key by key, each with the JSON it
	// decodes: a key renamed, or its value written as another JSON type,
	// is lost to it.
	var got map[string]json.RawMessage
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("the first freshtoken cannot decode today's record: %v\n%s", err, data)
	}
	for key, value := range map[string]any{
		"version": 1, "env": "sandbox",
		"access_token": r.AccessToken, "token_type": r.TokenType, "expiry": r.Expiry,
		"refresh_token": r.RefreshToken, "refresh_token_expiry": r.RefreshExpiry,
		"issued_at": r.IssuedAt, "renewed_at": r.RenewedAt, "renewals": r.Renewals, "renewed_for": r.RenewedFor,
	} {
		if want, _ := json.Marshal(value); string(got[key]) != string(want) {
			t.Errorf("the first freshtoken reads %q in today's record as %s; want %s", key, got[key], want)
		}
	}
}

// TestModes: the folder and every file in it, lock and reserve included,
// are its owner's alone. (That a record round trips is the contract's,
// TestContract.)
func TestModes(t *testing.T) {
	dir, _ := savedWithLock(t)
	checkPerm(t, dir, 0o700)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		checkPerm(t, filepath.Join(dir, e.Name()), 0o600)
	}
	if len(entries) != 3 {
		t.Fatalf("store folder holds %d files, want the record, its lock and the reserve", len(entries))
	}
}

func checkPerm(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != want {
		t.Fatalf("%s has mode %o, want %o", path, fi.Mode().Perm(), want)
	}
}

func TestLooseModesRefused(t *testing.T) {
	dir, s := saved(t)
	file := s.Location("sandbox")
	os.Chmod(file, 0o644)
	_, err := s.Load(ctx, "sandbox")
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+file) {
		t.Fatalf("0644 file: %v; want a message saying chmod 600 FILE", err)
	}
	os.Chmod(file, 0o600)
	os.Chmod(dir, 0o755)
	_, err = s.Load(ctx, "sandbox")
	if err == nil || !strings.Contains(err.Error(), "chmod 700 "+dir) {
		t.Fatalf("0755 folder: %v; want a message saying chmod 700 DIR", err)
	}
	if err := s.Save(ctx, "sandbox", sample()); err == nil {
		t.Fatal("Save wrote into a folder others can read")
	}
	// The mode as chmod set it and ls shows it, sticky bit included: it
	// was said to be 0777.
	os.Chmod(dir, 0o777|os.ModeSticky)
	if _, err := s.Load(ctx, "sandbox"); err == nil || !strings.Contains(err.Error(), dir+" has mode 1777,") {
		t.Fatalf("folder chmod 1777: %v; want a message saying mode 1777", err)
	}
}

func TestCorruptFileReportedAndKept(t *testing.T) {
	for name, content := range map[string]string{
		"truncated": `{"version":1,"env":"sandbox","access_token":"abc`,
		"no tokens": `{"version":1,"env":"sandbox"}`,
		"empty":     ``,
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "tokens")
			os.MkdirAll(dir, 0o700)
			s := filestore.New(dir)
			file := s.Location("sandbox")
			os.WriteFile(file, []byte(content), 0o600)
			_, err := s.Load(ctx, "sandbox")
			if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), file) {
				t.Fatalf("err = %v; want ErrCorrupt naming %s", err, file)
			}
			if b, _ := os.ReadFile(file); string(b) != content {
				t.Fatal("the corrupt file was changed")
			}
		})
	}
}

func TestCrashLitterRemovedByNextWriter(t *testing.T) {
	dir, s := saved(t)
	litter := filepath.Join(dir, ".sandbox.json.tmp-12345")
	os.WriteFile(litter, []byte(`{"version":1,"env":"sandbox","access_token":"half`), 0o600)
	other := filepath.Join(dir, ".production.json.tmp-999")
	os.WriteFile(other, []byte(`x`), 0o600)
	if got, err := s.Load(ctx, "sandbox"); err != nil || got.AccessToken != "access-1" {
		t.Fatalf("litter mistaken for the store: %+v, %v", got, err)
	}
	if err := s.Save(ctx, "sandbox", sample()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(litter); !os.IsNotExist(err) {
		t.Fatal("the next writer left a crashed writer's temp file behind")
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatal("a writer removed another environment's temp file, which it holds no lock for")
	}
}

// TestLockExcludesOtherStores: two Store values on one folder (two processes)
// never hold an environment's lock at once. Each holder does a
// read-modify-write of a counter file, as a renewal does of the record, and
// yields in the middle: without the lock, increments are lost. Each holder
// also deletes the record, as a log-out does, and so removes the lock file
// as it lets go: waiters keep meeting lock files removed under them, and
// must not take a lock on one while another holder has the new one.
func TestLockExcludesOtherStores(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokens")
	counter := filepath.Join(t.TempDir(), "counter")
	if err := os.WriteFile(counter, []byte("0"), 0o600); err != nil {
		t.Fatal(err)
	}
	const holders, rounds = 8, 400
	var inside, overlaps atomic.Int32
	var wg sync.WaitGroup
	for range holders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := filestore.New(dir)
			for range rounds {
				unlock, err := s.Lock(ctx, "sandbox")
				if err != nil {
					t.Error(err)
					return
				}
				if inside.Add(1) > 1 {
					overlaps.Add(1)
				}
				err = errors.Join(increment(counter), s.Delete(ctx, "sandbox"))
				inside.Add(-1)
				unlock()
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b, err := os.ReadFile(counter)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != strconv.Itoa(holders*rounds) || overlaps.Load() != 0 {
		t.Fatalf("counter %s after %d increments, %d overlapping lock holders; the lock let holders in together", got, holders*rounds, overlaps.Load())
	}
}

// increment adds one to the number in the file at p, letting other
// goroutines run between the read and the write.
func increment(p string) error {
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(string(b))
	if err != nil {
		return err
	}
	runtime.Gosched()
	return os.WriteFile(p, []byte(strconv.Itoa(n+1)), 0o600)
}

// TestForgettingRemovesTheLock: the holder that deletes the record removes
// the lock file before letting go, so no litter stays; the lock file of a
// record that stays is kept. (That holders never overlap while lock files
// come and go is TestLockExcludesOtherStores.)
func TestForgettingRemovesTheLock(t *testing.T) {
	dir, s := savedWithLock(t)
	lockFile := filepath.Join(dir, "sandbox.lock")
	if _, err := os.Stat(lockFile); err != nil {
		t.Fatalf("the lock file of a kept record was removed: %v", err)
	}
	unlock, err := s.Lock(ctx, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "sandbox"); err != nil {
		t.Fatal(err)
	}
	unlock()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != ".reserve" {
			t.Errorf("%s is left in the store folder after the record was deleted", e.Name())
		}
	}
}

func TestLockHonoursContext(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokens")
	unlock, err := filestore.New(dir).Lock(ctx, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	c, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := filestore.New(dir).Lock(c, "sandbox"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
}

// TestLockGivenUpAsTheFileGoesMakesNoFile: a caller that stops waiting
// for the lock (its context ended) just as the holder deletes the record,
// and with it the lock file, gets the context's error and leaves the
// folder as the holder left it. It took the lock on the removed file,
// found it removed, and made a new lock file to take the lock again, its
// context unchecked: a program's goroutine that a log-out had told to stop
// left sandbox.lock behind the log-out. Here the holder lets go as the
// waiter begins to wait (store.Waiting), and the waiter's context ends
// just after its wait checks it once more and takes the removed file's
// lock, whatever the timing.
func TestLockGivenUpAsTheFileGoesMakesNoFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokens")
	holder := filestore.New(dir)
	unlock, err := holder.Lock(ctx, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Delete(ctx, "sandbox"); err != nil { // as a log-out does
		t.Fatal(err)
	}
	c := &endsAfterOneCheck{done: make(chan struct{})}
	c.Context = store.WithWaiting(ctx, func() {
		unlock()
		c.armed.Store(true)
	})
	if release, err := filestore.New(dir).Lock(c, "sandbox"); !errors.Is(err, context.Canceled) {
		if err == nil {
			release()
		}
		t.Fatalf("err = %v, want the context's end", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "sandbox.lock")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("sandbox.lock is there after the only holder deleted the record and a waiter gave up (%v)", err)
	}
}

// endsAfterOneCheck is a context that, once armed, ends just after it is
// next checked (Err), as that of a caller who gives up at that moment.
type endsAfterOneCheck struct {
	context.Context
	armed, checked atomic.Bool
	done           chan struct{}
}

func (c *endsAfterOneCheck) Err() error {
	switch {
	case !c.armed.Load():
		return nil
	case c.checked.Swap(true):
		return context.Canceled
	}
	close(c.done)
	return nil
}

func (c *endsAfterOneCheck) Done() <-chan struct{} { return c.done }

// TestSymbolicLinksNeverFollowed: links planted in the store, dangling or
// not, are refused, and nothing is created or read where they point.
func TestSymbolicLinksNeverFollowed(t *testing.T) {
	elsewhere := t.TempDir()
	tests := []struct {
		name  string
		plant func(t *testing.T, dir string) // dir exists, 0700
		call  func(s *filestore.Store) error
	}{
		{"dangling lock link", func(t *testing.T, dir string) {
			symlink(t, filepath.Join(elsewhere, "created-by-lock"), filepath.Join(dir, "sandbox.lock"))
		}, func(s *filestore.Store) error { _, err := s.Lock(ctx, "sandbox"); return err }},
		{"record link", func(t *testing.T, dir string) {
			target := filepath.Join(elsewhere, "theirs.json")
			data, _ := store.Marshal("sandbox", sample())
			if err := os.WriteFile(target, data, 0o600); err != nil {
				t.Fatal(err)
			}
			symlink(t, target, filepath.Join(dir, "sandbox.json"))
		}, func(s *filestore.Store) error { _, err := s.Load(ctx, "sandbox"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "tokens")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			tt.plant(t, dir)
			err := tt.call(filestore.New(dir))
			if err == nil || !strings.Contains(err.Error(), "symbolic link") {
				t.Fatalf("err = %v; want a refusal naming the symbolic link", err)
			}
			if _, err := os.Stat(filepath.Join(elsewhere, "created-by-lock")); err == nil {
				t.Fatal("a file was created through the link")
			}
		})
	}
	t.Run("store folder is a link", func(t *testing.T) {
		real := t.TempDir()
		link := filepath.Join(t.TempDir(), "tokens")
		symlink(t, real, link)
		if err := filestore.New(link).Save(ctx, "sandbox", sample()); err == nil || !strings.Contains(err.Error(), "symbolic link") {
			t.Fatalf("err = %v; want a refusal naming the symbolic link", err)
		}
		if entries, _ := os.ReadDir(real); len(entries) != 0 {
			t.Fatalf("files written through the link: %v", entries)
		}
	})
	// It said "cannot be made (mkdir …: file exists)", naming no link.
	t.Run("store folder is a link to nothing", func(t *testing.T) {
		gone := filepath.Join(t.TempDir(), "gone")
		link := filepath.Join(t.TempDir(), "tokens")
		symlink(t, gone, link)
		if err := filestore.New(link).Save(ctx, "sandbox", sample()); !errors.Is(err, store.ErrInsecure) || !strings.Contains(err.Error(), link+" is a symbolic link") {
			t.Fatalf("err = %v; want a refusal naming the symbolic link", err)
		}
		if _, err := os.Lstat(gone); err == nil {
			t.Fatal("the folder the link leads to was made")
		}
	})
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestForeignFilesRefused: a store folder or file that belongs to another
// user is refused, even with private modes.
func TestForeignFilesRefused(t *testing.T) {
	testenv.NeedRoot(t, "giving a file to another user")
	for _, what := range []string{"folder", "record", "lock"} {
		t.Run(what, func(t *testing.T) {
			dir, s := savedWithLock(t)
			target := map[string]string{"folder": dir, "record": s.Location("sandbox"), "lock": filepath.Join(dir, "sandbox.lock")}[what]
			if err := os.Chown(target, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			_, lerr := s.Load(ctx, "sandbox")
			_, kerr := s.Lock(ctx, "sandbox")
			err := errors.Join(lerr, kerr)
			if err == nil || !strings.Contains(err.Error(), "belongs to another user") {
				t.Fatalf("err = %v; want a refusal saying it belongs to another user", err)
			}
			// Root (sudo with the user's HOME) must not take the user's
			// tokens with chown, which would lock the user out of them.
			if msg := err.Error(); strings.Contains(msg, "chown") || !strings.Contains(msg, "sudo -u nobody freshtoken") {
				t.Fatalf("err as root = %v; want it to say to run freshtoken as that user, not to chown", err)
			}
		})
	}
}

// Root (sudo keeping the user's HOME) never makes the token folder inside
// a folder of another user: a root-owned folder there locked that user out
// of their own tokens. It is told to run freshtoken as that user.
func TestRootMakesNoFolderInAnotherUsersFolder(t *testing.T) {
	home := testenv.NobodysFolder(t, "home")
	dir := filepath.Join(home, ".local", "state", "freshtoken")
	s := filestore.New(dir)
	_, loadErr := s.Load(ctx, "sandbox")
	_, lockErr := s.Lock(ctx, "sandbox")
	saveErr := s.Save(ctx, "sandbox", sample())
	for what, err := range map[string]error{"Load": loadErr, "Lock": lockErr, "Save": saveErr} {
		if !errors.Is(err, store.ErrInsecure) || !strings.Contains(err.Error(), "sudo -u nobody freshtoken") || !strings.Contains(err.Error(), "[store] url") {
			t.Errorf("%s as root in another user's folder: %v; want a refusal saying to run freshtoken as that user, or to set [store] url", what, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(home, ".local")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("root made a folder in another user's folder (%v)", err)
	}
}

// TestFullDiskUsesTheReserve: on a disk with no room left, the reserve is
// given up so that the record is still saved.
func TestFullDiskUsesTheReserve(t *testing.T) {
	fullWithReserveSpent(t)
}

// onSmallDisk is a store on a small disk of its own, holding the sample for
// sandbox, and its folder.
func onSmallDisk(t *testing.T) (string, *filestore.Store) {
	t.Helper()
	dir := testdisk.Small(t, "256k")
	s := filestore.New(dir)
	if err := s.Save(ctx, "sandbox", sample()); err != nil {
		t.Fatal(err)
	}
	return dir, s
}

// saveRefused saves a renewal's answer (the sample's refresh token
// rotated) over sandbox's record in s, and returns the error that refused
// it; the record must be left as it was.
func saveRefused(t *testing.T, s *filestore.Store) error {
	t.Helper()
	rotated := sample()
	rotated.RefreshToken = "refresh-2-rotated"
	err := s.Save(ctx, "sandbox", rotated)
	if err == nil {
		t.Fatal("the rotated answer was saved; want it refused")
	}
	if got, err := s.Load(ctx, "sandbox"); err != nil || got.RefreshToken != "refresh-1" {
		t.Errorf("a refused save damaged the record: %+v, %v", got, err)
	}
	return err
}

// fullWithReserveSpent is a store on a small disk that is full, its reserve
// given up for a rotated refresh token the record now holds.
func fullWithReserveSpent(t *testing.T) (*filestore.Store, *store.Record) {
	t.Helper()
	dir, s := onSmallDisk(t)
	testdisk.Fill(t, dir)
	second := sample()
	second.RefreshToken = "refresh-2-rotated"
	if err := s.Save(ctx, "sandbox", second); !errors.Is(err, store.ErrReserveUsed) || !strings.Contains(err.Error(), "kept in reserve") {
		t.Fatalf("save on a full disk: %v; want it saved from the reserve", err)
	}
	if got, err := s.Load(ctx, "sandbox"); err != nil || got.RefreshToken != second.RefreshToken {
		t.Fatalf("after the save on a full disk: %+v, %v; want the rotated token", got, err)
	}
	testdisk.Fill(t, dir)
	return s, second
}

// TestFullDiskWithTheReserveSpentWritesInPlace: with the reserve spent, a
// rotated refresh token is written over the record, in the same file, and
// the save says the disk is full, as one from the reserve does; a shorter
// record after it reads back whole. Refusing it left the spent refresh
// token stored, for the next process to send and end the grant.
func TestFullDiskWithTheReserveSpentWritesInPlace(t *testing.T) {
	s, _ := fullWithReserveSpent(t)
	file, err := os.Stat(s.Location("sandbox"))
	if err != nil {
		t.Fatal(err)
	}
	longer, shorter := sample(), sample()
	longer.AccessToken, longer.RefreshToken = "access-3-"+strings.Repeat("x", 1000), "refresh-3-rotated"
	shorter.AccessToken, shorter.RefreshToken = "a4", "r4"
	for _, r := range []*store.Record{longer, shorter} {
		err := s.Save(ctx, "sandbox", r)
		if !errors.Is(err, store.ErrReserveUsed) || !strings.HasPrefix(err.Error(), "the disk is full") || !strings.Contains(err.Error(), "in place") || !strings.HasSuffix(err.Error(), "free some space") {
			t.Fatalf("save with the reserve spent: %v; want it saved in place, saying the disk is full", err)
		}
		got, err := s.Load(ctx, "sandbox")
		if err != nil || got.AccessToken != r.AccessToken || got.RefreshToken != r.RefreshToken {
			t.Fatalf("after the save in place: %+v, %v; want the new tokens", got, err)
		}
		if now, err := os.Stat(s.Location("sandbox")); err != nil || !os.SameFile(file, now) {
			t.Fatalf("the record is another file (%v): not written in place", err)
		}
	}
}

// TestInPlaceWriteNeverReadTorn: readers that do not hold the renewal lock
// (token, status, the proxy) never find the record unreadable while a
// renewer writes over it in place on a full disk: they read the record
// before the write or after it. A torn read was reported as stored tokens
// that are unreadable, and `token` said to log in though the grant was fine.
func TestInPlaceWriteNeverReadTorn(t *testing.T) {
	s, _ := fullWithReserveSpent(t)
	var (
		stop atomic.Bool
		torn atomic.Value
		wg   sync.WaitGroup
	)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if _, err := s.Load(ctx, "sandbox"); err != nil {
					torn.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	for i := range 3000 {
		r := sample()
		r.AccessToken = "access-" + strings.Repeat("a", 50+i%400)
		r.RefreshToken = "refresh-" + strings.Repeat("r", 50+(i*7)%400)
		if err := s.Save(ctx, "sandbox", r); !errors.Is(err, store.ErrReserveUsed) {
			t.Fatalf("save %d with the reserve spent: %v; want it saved in place", i, err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if err := torn.Load(); err != nil {
		t.Fatalf("a reader found the record torn by a write in place: %v", err)
	}
}

// TestFullDiskRefusesWhatCannotBeWrittenInPlace: with the reserve spent, a
// record larger than the disk space its file holds, and the first record of
// an environment, are refused as a failed write, leaving what is stored
// whole.
func TestFullDiskRefusesWhatCannotBeWrittenInPlace(t *testing.T) {
	s, stored := fullWithReserveSpent(t)
	big := sample()
	big.AccessToken = strings.Repeat("a", 8<<10)
	err := s.Save(ctx, "sandbox", big)
	if !errors.Is(err, store.ErrWriteFailed) || errors.Is(err, store.ErrReserveUsed) || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("save of a record too big to write in place: %v; want a failed write on a full disk", err)
	}
	if got, err := s.Load(ctx, "sandbox"); err != nil || got.RefreshToken != stored.RefreshToken || got.AccessToken != stored.AccessToken {
		t.Fatalf("a refused save damaged the record: %+v, %v", got, err)
	}
	if err := s.Save(ctx, "other", sample()); !errors.Is(err, store.ErrWriteFailed) || errors.Is(err, store.ErrReserveUsed) {
		t.Fatalf("first save of an environment on a full disk: %v; want a failed write", err)
	}
	if _, err := s.Load(ctx, "other"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after the refused first save: %v; want nothing stored", err)
	}
}

// TestAReserveCutShortIsMadeWhole: a writer killed while it made the
// reserve (a first save, or the one after a full disk) leaves it short, an
// empty file at worst. The next save makes it whole again, so that on a full
// disk a renewal's answer too large to write over the record in place is
// still stored: a short reserve was kept as it was, freed nothing when the
// disk filled, and that answer was refused.
func TestAReserveCutShortIsMadeWhole(t *testing.T) {
	dir, s := onSmallDisk(t)
	reserve := filepath.Join(dir, ".reserve")
	if err := os.Truncate(reserve, 0); err != nil { // its writer killed before it wrote
		t.Fatal(err)
	}
	bigAnswerSavedFromTheReserve(t, dir, s, "a short reserve")
}

// TestAShortReserveIsKeptWhenTheDiskHasNoRoomToMakeItWhole: a reserve left
// short by a killed writer, on a disk with room for a renewal's answer but
// not for the rest of the reserve. The save that cannot make it whole keeps
// what it holds, and the next save on a full disk gives that up for an
// answer too large to write over the record in place. The remake removed
// the short reserve before it wrote a whole one, gave up that one when the
// disk filled midway, and left none: the answer was refused.
func TestAShortReserveIsKeptWhenTheDiskHasNoRoomToMakeItWhole(t *testing.T) {
	dir, s := onSmallDisk(t)
	if err := os.Truncate(filepath.Join(dir, ".reserve"), 16<<10); err != nil { // its writer killed midway
		t.Fatal(err)
	}
	fillBut(t, dir, 8<<10) // room for a record, not for 48 KiB more of reserve
	bigAnswerSavedFromTheReserve(t, dir, s, "a remake of the reserve the disk had no room for")
}

// TestAReserveTheDiskKeepsInNoSpaceIsWrittenAnew: a file system that
// compresses (ZFS with lz4, btrfs with compress) keeps a reserve of zeros,
// as freshtoken wrote it, in no space, and giving it up on a full disk freed
// nothing. A sparse reserve stands for one here (tmpfs stores zeros
// written); the next save writes it anew, and a reserve holds bytes no file
// system can keep in less than their size.
func TestAReserveTheDiskKeepsInNoSpaceIsWrittenAnew(t *testing.T) {
	dir, s := onSmallDisk(t)
	reserve := filepath.Join(dir, ".reserve")
	made, err := os.ReadFile(reserve)
	if err != nil {
		t.Fatal(err)
	}
	var packed bytes.Buffer
	w, _ := flate.NewWriter(&packed, flate.BestCompression)
	w.Write(made)
	w.Close()
	if len(made) != 64<<10 || packed.Len() < len(made)*9/10 {
		t.Fatalf("the reserve made holds %d bytes that compress to %d; want 64 KiB that do not compress", len(made), packed.Len())
	}
	for _, size := range []int64{0, 64 << 10} { // its size, and no space
		if err := os.Truncate(reserve, size); err != nil {
			t.Fatal(err)
		}
	}
	bigAnswerSavedFromTheReserve(t, dir, s, "a reserve the disk kept in no space")
}

// TestAReserveTheDiskHasNoRoomForIsNotMade: a save on a disk with room for
// the record but not for a reserve (none left, after a full disk) makes
// none: the part of one it could write is removed, leaving that space free
// for the saves that need it, rather than kept, taking the last of it.
func TestAReserveTheDiskHasNoRoomForIsNotMade(t *testing.T) {
	dir, s := onSmallDisk(t)
	reserve := filepath.Join(dir, ".reserve")
	if err := os.Remove(reserve); err != nil {
		t.Fatal(err)
	}
	fillBut(t, dir, 8<<10)
	if err := s.Save(ctx, "sandbox", sample()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(reserve); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after a save on a disk with no room for a reserve, a part of one was kept (%v); want none made", err)
	}
}

// fillBut fills the disk of dir but for about n bytes.
func fillBut(t *testing.T, dir string, n int) {
	t.Helper()
	room := filepath.Join(filepath.Dir(dir), "room")
	if err := os.WriteFile(room, make([]byte, n), 0o600); err != nil {
		t.Fatal(err)
	}
	testdisk.Fill(t, dir)
	if err := os.Remove(room); err != nil {
		t.Fatal(err)
	}
}

// bigAnswerSavedFromTheReserve saves a renewal's answer (the next save,
// which keeps the reserve), then fills the disk of dir, s's token folder,
// and checks that an answer too large to write over the record in place is
// saved all the same, the reserve given up for it (after says what came
// before).
func bigAnswerSavedFromTheReserve(t *testing.T, dir string, s *filestore.Store, after string) {
	t.Helper()
	if err := s.Save(ctx, "sandbox", sample()); err != nil {
		t.Fatal(err)
	}
	testdisk.Fill(t, dir)
	big := sample()
	big.RefreshToken = "refresh-2-rotated"
	big.AccessToken = strings.Repeat("a", 8<<10) // more than the record's file holds on disk
	if err := s.Save(ctx, "sandbox", big); !errors.Is(err, store.ErrReserveUsed) {
		t.Fatalf("save on a full disk after %s: %v; want it saved from the reserve", after, err)
	}
	if got, err := s.Load(ctx, "sandbox"); err != nil || got.RefreshToken != big.RefreshToken {
		t.Fatalf("after the save on a full disk: %+v, %v; want the rotated token", got, err)
	}
}

// TestReadOnlyDiskRefuses: on a disk turned read-only a save fails as a
// failed write (exit 5, store_unreachable: the disk needs mending), not as
// access denied (a configuration problem), and the record is left whole.
// It says the disk holding the token folder is read-only and to make it
// writable again, as the renewal lock's refusal does: a renewal whose
// answer the store refused, a proxy's, said "save tokens in …: open
// …/.sandbox.json.tmp-20218103: read-only file system", naming a temp
// file and nothing to do.
func TestReadOnlyDiskRefuses(t *testing.T) {
	dir, s := onSmallDisk(t)
	testdisk.ReadOnly(t, dir)
	err := saveRefused(t, s)
	if !errors.Is(err, store.ErrWriteFailed) || errors.Is(err, store.ErrDenied) || errors.Is(err, store.ErrReserveUsed) || !errors.Is(err, syscall.EROFS) {
		t.Fatalf("save on a read-only disk: %v; want a failed write saying the file system is read-only", err)
	}
	if want := "token store could not write: the disk holding the token folder " + dir + " is read-only (read-only file system); make the disk writable again (a system turns a disk read-only after errors on it: check the disk)"; err.Error() != want {
		t.Errorf("save on a read-only disk said:\n%v\nwant:\n%s", err, want)
	}
}

// TestCheckRoomFindsAReadOnlyDisk: a log-in's check before the person
// approves finds a token folder whose disk is read-only, for a first
// log-in and one that would replace a record alike, saying so and what to
// do, as the save would: it looked for room alone, so the person approved,
// and the save refused the tokens, the code spent.
func TestCheckRoomFindsAReadOnlyDisk(t *testing.T) {
	dir, s := onSmallDisk(t)
	testdisk.ReadOnly(t, dir)
	want := "token store could not write: the disk holding the token folder " + dir + " is read-only (read-only file system); make the disk writable again (a system turns a disk read-only after errors on it: check the disk)"
	for _, env := range []string{"dev", "sandbox"} {
		if err := s.CheckRoom(env); !errors.Is(err, store.ErrWriteFailed) || err.Error() != want {
			t.Errorf("CheckRoom(%q) on a read-only disk: %v; want %s", env, err, want)
		}
	}
}

// TestReadOnlyDiskRefusesTheLock: the renewal lock, in a token folder on a
// disk turned read-only, is refused as a failed write (exit 5, the disk
// needs mending) naming the lock file once, in one line saying the disk is
// read-only and what to do; it was an unexpected failure (exit 1) saying
// "open PATH: open PATH: read-only file system", and then "open PATH:
// read-only file system" alone. So whether the lock file is there (a disk
// remounted read-only in the middle of a proxy's life) or still to be made.
func TestReadOnlyDiskRefusesTheLock(t *testing.T) {
	for _, there := range []bool{true, false} {
		dir, s := onSmallDisk(t)
		p := filepath.Join(dir, "sandbox.lock")
		if !there {
			os.Remove(p)
		}
		testdisk.ReadOnly(t, dir)
		_, err := s.Lock(ctx, "sandbox")
		want := "token store could not write: the renewal lock " + p + " cannot be opened, as the disk holding it is read-only (read-only file system); make the disk writable again (a system turns a disk read-only after errors on it: check the disk)"
		if !errors.Is(err, store.ErrWriteFailed) || !errors.Is(err, syscall.EROFS) || err.Error() != want {
			t.Fatalf("lock on a read-only disk (the lock file there: %v): %v; want a failed write: %s", there, err, want)
		}
	}
}

// TestFullDiskRefusesTheLockSayingSo: a renewal lock that cannot be made
// as the disk is full (here, of files: every inode taken) is said as the
// disk holding the token folder being full, with what to do, as a save
// there is; it was "open …/sandbox.lock: no space left on device" alone,
// which a first login ended with "then log in again" and no step before.
// What to free is files: "free some space" sent the person to `df -h`,
// which shows space free. $XDG_STATE_HOME is named only for the default
// folder (NewDefault), which it moves: it was named for a folder [store]
// url names too, which it does not move.
func TestFullDiskRefusesTheLockSayingSo(t *testing.T) {
	dir := testdisk.NoFilesLeft(t)
	for s, set := range map[*filestore.Store]string{filestore.New(dir): "[store] url", filestore.NewDefault(dir): "[store] url (or $XDG_STATE_HOME)"} {
		_, err := s.Lock(ctx, "sandbox")
		want := "token store could not write: the disk holding the token folder " + dir + " is full (no space left on device); remove some files (every inode on that disk is taken: see `df -i`), or set " + set + " to a folder on another disk"
		if !errors.Is(err, store.ErrDiskFull) || err.Error() != want {
			t.Errorf("lock on a full disk: %v; want %q", err, want)
		}
	}
}

// TestDirectoryRefused: a folder where the lock file belongs is refused as
// not a regular file, with what to do (exit 2), as a FIFO is. It was an
// unexpected failure (exit 1) saying "is a directory" twice.
func TestDirectoryRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokens")
	if err := os.MkdirAll(filepath.Join(dir, "sandbox.lock"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := filestore.New(dir).Lock(ctx, "sandbox")
	if !errors.Is(err, store.ErrInsecure) || !strings.Contains(err.Error(), "is not a regular file; remove it") {
		t.Errorf("a folder at the lock file's place: %v; want it refused as not a regular file", err)
	}
}

// TestDirectoryAtTheRecordRefused: a folder where the record belongs
// (mkdir'd by mistake, of any mode) is refused by Load as not a regular
// file, saying to remove it, so that login says so before the browser
// round trip. Opened read-only, as a folder can be, it was taken for the
// record: a folder of mode 0755 was said to let others read the tokens,
// with `chmod 600` to run on it; once chmod'ed, it was an unreadable record
// that "a log-in replaces", and the log-in, approved in the browser, failed
// to store its tokens (exit 5, "rename …: file exists").
func TestDirectoryAtTheRecordRefused(t *testing.T) {
	for _, mode := range []os.FileMode{0o755, 0o700, 0o600} {
		dir, rec := folderAtTheRecord(t)
		if err := os.Chmod(rec, mode); err != nil {
			t.Fatal(err)
		}
		_, err := filestore.New(dir).Load(ctx, "sandbox")
		if !errors.Is(err, store.ErrInsecure) || !strings.Contains(err.Error(), rec+" is not a regular file; remove it") {
			t.Errorf("a folder of mode %04o at the record's place: %v; want it refused as not a regular file", mode, err)
		}
	}
}

// folderAtTheRecord makes a token folder, dir, with a folder, rec, where
// the record of "sandbox" belongs.
func folderAtTheRecord(t *testing.T) (dir, rec string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "tokens")
	rec = filepath.Join(dir, "sandbox.json")
	if err := os.MkdirAll(rec, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir, rec
}

// TestDeleteLeavesAFolderAtTheRecord: a folder where a record belongs
// (mkdir'd by mistake) is not the environment's tokens, and Delete (a
// log-out) refuses it as Load does, leaving it and what it holds: it
// removed an empty one and said the tokens were deleted, and failed on
// one with files in it with "directory not empty", exit 1.
func TestDeleteLeavesAFolderAtTheRecord(t *testing.T) {
	for _, full := range []bool{false, true} {
		dir, rec := folderAtTheRecord(t)
		if full {
			if err := os.WriteFile(filepath.Join(rec, "notes"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		err := filestore.New(dir).Delete(ctx, "sandbox")
		if !errors.Is(err, store.ErrInsecure) || !strings.Contains(err.Error(), rec+" is not a regular file; remove it") {
			t.Errorf("Delete of a folder at the record's place (files in it: %v): %v; want it refused as not a regular file", full, err)
		}
		if fi, err := os.Stat(rec); err != nil || !fi.IsDir() {
			t.Errorf("the folder at the record's place is gone: %v", err)
		}
	}
}

// A token folder that cannot be made (a file where a folder of its path
// should be, as with $XDG_STATE_HOME set to a file; a folder the user may not
// write in, as with cron's HOME=/) is a configuration error naming the folder
// and what to set, from Load already, so that login says so before the
// browser round trip rather than after, when the tokens are lost.
func TestFolderThatCannotBeMadeSaysWhatToSet(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := filestore.New(filepath.Join(file, "freshtoken"))
	_, loadErr := s.Load(ctx, "sandbox")
	_, lockErr := s.Lock(ctx, "sandbox")
	saveErr := s.Save(ctx, "sandbox", sample())
	for what, err := range map[string]error{"Load": loadErr, "Lock": lockErr, "Save": saveErr} {
		if !errors.Is(err, store.ErrDenied) || !strings.Contains(err.Error(), "[store] url") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s under a file: %v; want a configuration error saying to set [store] url", what, err)
		}
	}
}

// TestRelativeFolderStaysPut: a program that names its token folder
// relative to its working folder, and then changes working folder (a
// daemon moving to /), still finds its tokens there: the store read and
// wrote wherever the working folder was at each call, so it told the
// program to log in, and two spellings of one folder (relative and
// absolute) gave two Locations, which the engine takes for two stores.
func TestRelativeFolderStaysPut(t *testing.T) {
	home := t.TempDir()
	t.Chdir(home)
	s := filestore.New("tokens")
	if err := s.Save(ctx, "sandbox", sample()); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	if r, err := s.Load(ctx, "sandbox"); err != nil || r.RefreshToken != sample().RefreshToken {
		t.Fatalf("Load after a change of working folder: %+v, %v; want the record saved before it", r, err)
	}
	if got, want := s.Location("sandbox"), filestore.New(filepath.Join(home, "tokens")).Location("sandbox"); got != want {
		t.Fatalf("Location = %q; want %q, as for the folder's full path", got, want)
	}
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() store.Store {
		dir := filepath.Join(t.TempDir(), "tokens")
		return func() store.Store { return filestore.New(dir) }
	})
}

// TestReadOnlyHomeSaysWhatToSet: a token folder still to be made where the
// disk is read-only (a container's or CI runner's read-only HOME) is a
// failed write, as a disk turned read-only is, and the one line says what
// to set; it said only "read-only file system", leaving a person reading a
// CI log to guess.
func TestReadOnlyHomeSaysWhatToSet(t *testing.T) {
	home := testdisk.SmallFolder(t, "256k")
	testdisk.ReadOnly(t, home)
	dir := filepath.Join(home, ".local", "state", "freshtoken")
	for s, set := range map[*filestore.Store]string{filestore.NewDefault(dir): "[store] url (or $XDG_STATE_HOME)", filestore.New(dir): "[store] url"} {
		_, loadErr := s.Load(ctx, "sandbox")
		_, lockErr := s.Lock(ctx, "sandbox")
		for what, err := range map[string]error{"Load": loadErr, "Lock": lockErr} {
			if !errors.Is(err, store.ErrWriteFailed) || !errors.Is(err, syscall.EROFS) || !strings.Contains(err.Error(), "; set "+set+" to a folder you can write in") {
				t.Errorf("%s on a read-only disk: %v; want a failed write saying to set %s", what, err, set)
			}
		}
	}
}

// TestNoFolderGiven: filestore.New("") (a folder read from a variable
// nobody set) and the zero Store keep nothing: each call fails, saying
// that no folder was given. They kept the tokens in the working folder,
// wherever the program happened to run, and the zero Store in whichever
// working folder each call found.
func TestNoFolderGiven(t *testing.T) {
	wd := t.TempDir()
	if err := os.Chmod(wd, 0o700); err != nil { // a folder the store would take
		t.Fatal(err)
	}
	t.Chdir(wd)
	for name, st := range map[string]*filestore.Store{"New(\"\")": filestore.New(""), "the zero Store": {}} {
		storetest.RefusesEveryCall(t, name, st, "no folder")
	}
	if entries, _ := os.ReadDir(wd); len(entries) != 0 {
		t.Errorf("the working folder holds %v; want nothing written there", entries)
	}
}

// TestDeleteIfOfNoneReadKeepsANewerFreshtokensRecord: store.DeleteIf with
// no record read (a log-out that found none, or one it could not read)
// deleted, as unreadable, a record a newer freshtoken stored, which that
// freshtoken reads, and which a log-out that finds it first keeps. A
// record that cannot be read at all still goes.
func TestDeleteIfOfNoneReadKeepsANewerFreshtokensRecord(t *testing.T) {
	dir, s := saved(t)
	path := filepath.Join(dir, "sandbox.json")
	newer := storetest.WriteNewerFormat(t, path, 99)
	if err := store.DeleteIf(ctx, s, "sandbox", nil); !errors.Is(err, store.ErrChanged) {
		t.Fatalf("DeleteIf, none read, of a newer freshtoken's record: %v; want store.ErrChanged", err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != newer {
		t.Fatalf("after DeleteIf, the record file holds %q (%v); want the newer freshtoken's kept", got, err)
	}
	if err := os.WriteFile(path, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteIf(ctx, s, "sandbox", nil); err != nil {
		t.Fatalf("DeleteIf, none read, of an unreadable record: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the unreadable record after DeleteIf: %v; want it deleted", err)
	}
}

// TestReserveRemovedAsAFirstRecordLandsIsMadeAgain: `remove` of the last
// environment (RemoveUnusedReserve) and a `store migrate` taken back
// (RemoveEmpty) look at the token folder, then remove its reserve: a
// first log-in of another environment storing its record in between kept
// its record with no reserve, until its next renewal, so a disk that
// filled meanwhile had nothing to give up for that renewal's answer. The
// reserve is made again when a record is found there after its removal.
func TestReserveRemovedAsAFirstRecordLandsIsMadeAgain(t *testing.T) {
	for name, remove := range map[string]func(dir string) error{
		"RemoveUnusedReserve": filestore.RemoveUnusedReserve,
		"RemoveEmpty":         filestore.RemoveEmpty,
	} {
		t.Run(name, func(t *testing.T) {
			dir, s := saved(t)
			if err := s.Delete(ctx, "sandbox"); err != nil {
				t.Fatal(err)
			}
			if names := testenv.Names(t, dir); len(names) != 1 || names[0] != ".reserve" {
				t.Fatalf("the folder holds %q; want the reserve alone", names)
			}
			filestore.LandAfterLook(t, func() {
				login := filestore.New(dir)
				unlock, err := login.Lock(ctx, "production")
				if err != nil {
					t.Fatal(err)
				}
				defer unlock()
				if err := login.Save(ctx, "production", sample()); err != nil {
					t.Fatal(err)
				}
			})
			if err := remove(dir); err != nil && name == "RemoveUnusedReserve" {
				t.Fatal(err)
			}
			fi, err := os.Stat(filepath.Join(dir, ".reserve"))
			if err != nil || fi.Size() < 64<<10 {
				t.Fatalf("the reserve, with production's record stored as it was removed: %v, %v; want it made again, whole", fi, err)
			}
		})
	}
}

// TestAReserveAnotherWriterMadeIsNotRemoved: two writers of one token
// folder (two environments' renewals) find the reserve missing at once; one
// finds room and makes it, the other, checking after that, finds none: it
// removed the reserve the first had just made, which it had opened empty,
// leaving none for the next full disk.
func TestAReserveAnotherWriterMadeIsNotRemoved(t *testing.T) {
	dir, s := onSmallDisk(t)
	reserve := filepath.Join(dir, ".reserve")
	testdisk.Fill(t, dir)
	if err := os.Remove(reserve); err != nil {
		t.Fatal(err)
	}
	made := anotherWriterMakesReserve(t, reserve, func() {})
	saveKeepsReserve(t, s, reserve, made, "as this one found no room for it")
}

// TestAReserveAnotherWriterMadeAsThisOnesWriteFailedIsNotRemoved: two
// writers of one token folder find the reserve missing at once, and room
// for it; the disk fills before this one writes it, and the other makes it
// whole once there is room again: this one's failed write removed the
// reserve the other had just made, judging it by its size before the write.
func TestAReserveAnotherWriterMadeAsThisOnesWriteFailedIsNotRemoved(t *testing.T) {
	dir, s := onSmallDisk(t)
	reserve := filepath.Join(dir, ".reserve")
	if err := os.Remove(reserve); err != nil {
		t.Fatal(err)
	}
	var free func()
	filestore.BeforeWritingReserve(t, func() { free = testdisk.Fill(t, dir) })
	made := anotherWriterMakesReserve(t, reserve, func() { free() })
	saveKeepsReserve(t, s, reserve, made, "as this one failed to write it")
}

// anotherWriterMakesReserve has another writer make the reserve whole, just
// after this one's room check for it and its own first step, before; it
// returns what that writer put there.
func anotherWriterMakesReserve(t *testing.T, reserve string, before func()) []byte {
	t.Helper()
	made := make([]byte, 64<<10)
	rand.Read(made)
	filestore.LandAfterRoomCheck(t, func() {
		before()
		if err := os.WriteFile(reserve, made, 0o600); err != nil {
			t.Fatalf("the other writer's reserve: %v", err)
		}
	})
	return made
}

// saveKeepsReserve saves a record with s, and checks that the reserve is
// still the one another writer made (when: as this one did what).
func saveKeepsReserve(t *testing.T, s *filestore.Store, reserve string, made []byte, when string) {
	t.Helper()
	if err := s.Save(ctx, "sandbox", sample()); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(reserve); err != nil || !bytes.Equal(got, made) {
		t.Fatalf("the reserve another writer made %s: %d bytes, %v; want it kept", when, len(got), err)
	}
}

// TestACheckLeftByAKilledWriterGoesWithTheReserve: the file a room check
// for the reserve leaves when its writer is killed midway (128 KiB) goes
// with the reserve once no record is left in the folder (`remove` of the
// last environment, a `store migrate` away): it kept the reserve, the
// folder and itself there for good, no save coming to remove it.
func TestACheckLeftByAKilledWriterGoesWithTheReserve(t *testing.T) {
	for name, remove := range map[string]func(dir string) error{
		"RemoveUnusedReserve": filestore.RemoveUnusedReserve,
		"RemoveEmpty":         filestore.RemoveEmpty,
	} {
		t.Run(name, func(t *testing.T) {
			dir, s := saved(t)
			if err := s.Delete(ctx, "sandbox"); err != nil {
				t.Fatal(err)
			}
			litter := filepath.Join(dir, "..reserve.tmp-12345") // CheckRoom's name for .reserve
			if err := os.WriteFile(litter, make([]byte, 4096), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := remove(dir); err != nil {
				t.Fatal(err)
			}
			if name == "RemoveEmpty" {
				if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("the folder after RemoveEmpty: %v, holding %q; want it removed", err, testenv.Names(t, dir))
				}
				return
			}
			if names := testenv.Names(t, dir); len(names) != 0 {
				t.Fatalf("the folder after RemoveUnusedReserve holds %q; want nothing", names)
			}
		})
	}
}

// TestCheckRoomRefusesOnlyWhatNoSaveCouldStore: on a full disk, a first
// save (no reserve to give up, no record to write over) is found to have
// no room before it is tried, as a first log-in asks before the person
// approves; one that the reserve, or a record to write over, would let
// through is not refused. Nothing is left behind.
func TestCheckRoomRefusesOnlyWhatNoSaveCouldStore(t *testing.T) {
	dir, s := onSmallDisk(t)
	testdisk.Fill(t, dir)
	if err := s.CheckRoom("sandbox"); err != nil {
		t.Errorf("CheckRoom with a record and the reserve there: %v; want nil", err)
	}
	if err := s.CheckRoom("other"); err != nil {
		t.Errorf("CheckRoom with the reserve there: %v; want nil", err)
	}
	if err := os.Remove(filepath.Join(dir, ".reserve")); err != nil {
		t.Fatal(err)
	}
	testdisk.Fill(t, dir)
	if err := s.CheckRoom("sandbox"); err != nil {
		t.Errorf("CheckRoom with a record there: %v; want nil", err)
	}
	if err := s.CheckRoom("other"); !errors.Is(err, store.ErrDiskFull) || !strings.Contains(err.Error(), "the disk holding the token folder "+dir+" is full") {
		t.Errorf("CheckRoom of a first record on a full disk: %v; want the disk said to be full", err)
	}
	if names := testenv.Names(t, dir); !slices.Equal(names, []string{"sandbox.json"}) {
		t.Errorf("the folder holds %q after CheckRoom; want only the record", names)
	}
}

// TestCheckRoomCountsTheFilesAFirstSaveMakes: a first log-in's save makes
// the renewal lock's file and the record's temp file, and first the token
// folder when it is missing: each takes one of the disk's files (inodes).
// With one file fewer left, the check refuses, saying to remove some
// files; with as many, it lets the log-in through and the save stores the
// record. The check made one file and passed with one left: the person
// approved, and the save, out of files, refused the tokens.
func TestCheckRoomCountsTheFilesAFirstSaveMakes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sub    string // the token folder, below the disk's folder
		needed int
	}{
		{"the folder made", "", 2},
		{"the folder missing", "freshtoken", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, left := range []int{tc.needed - 1, tc.needed} {
				disk := testdisk.FilesLeft(t, left)
				dir := filepath.Join(disk, tc.sub)
				s := filestore.New(dir)
				err := s.CheckRoom("dev")
				if left < tc.needed {
					if !errors.Is(err, store.ErrDiskFull) || !strings.Contains(err.Error(), "the disk holding the token folder "+dir+" is full") || !strings.Contains(err.Error(), "remove some files (every inode on that disk is taken") {
						t.Errorf("CheckRoom with %d files left, %d needed: %v; want the disk said to be out of files", left, tc.needed, err)
					}
					if names := testenv.Names(t, disk); len(names) != 0 {
						t.Errorf("CheckRoom left %q", names)
					}
					continue
				}
				if err != nil {
					t.Fatalf("CheckRoom with the %d files a first save needs: %v", left, err)
				}
				unlock, err := s.Lock(ctx, "dev")
				if err != nil {
					t.Fatalf("the lock, with the check passed: %v", err)
				}
				err = s.Save(ctx, "dev", sample())
				unlock()
				if err != nil {
					t.Fatalf("the save, with the check passed: %v", err)
				}
			}
		})
	}
}

// TestFileHoldsTheStoredLayout: a record saved is written byte for byte in
// the stored layout of every earlier version (storetest.FullStored).
func TestFileHoldsTheStoredLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokens")
	if err := filestore.New(dir).Save(ctx, "sandbox", storetest.Full()); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "sandbox.json")); err != nil || string(b) != storetest.FullStored {
		t.Fatalf("stored as\n%s\n(%v); want\n%s", b, err, storetest.FullStored)
	}
}

// TestASpentReserveIsNotTakenBackFromAFullDisk: the reserve given up for a
// renewal's answer on a full disk is made again only once the disk has room
// for it and as much again beside it: the next save made it at once in the
// room giving it up had freed, so the disk was full again, every other
// renewal warning of it and the rest saying nothing, and every other
// program writing there (a configuration edit, `remove`, a log) failing
// between them. Once space is freed, the next save makes it.
func TestASpentReserveIsNotTakenBackFromAFullDisk(t *testing.T) {
	dir, s := onSmallDisk(t)
	reserve := filepath.Join(dir, ".reserve")
	free := testdisk.Fill(t, dir)
	if err := s.Save(ctx, "sandbox", sample()); !errors.Is(err, store.ErrReserveUsed) {
		t.Fatalf("save on a full disk: %v; want it saved from the reserve", err)
	}
	for i := range 3 {
		if err := s.Save(ctx, "sandbox", sample()); err != nil {
			t.Fatalf("save %d after the reserve was spent: %v", i+1, err)
		}
		if _, err := os.Lstat(reserve); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("save %d after the reserve was spent made it again in the room it freed (%v); want the room left free", i+1, err)
		}
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(dir), "another-program"), make([]byte, 32<<10), 0o600); err != nil {
		t.Fatalf("another program's write after the saves: %v; want the room the reserve freed", err)
	}
	os.Remove(filepath.Join(filepath.Dir(dir), "another-program"))
	free()
	// The check for room a writer killed midway left (128 KiB) goes with
	// the next save.
	litter := filepath.Join(dir, "..reserve.tmp-12345") // CheckRoom's name for .reserve
	if err := os.WriteFile(litter, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, "sandbox", sample()); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(reserve); err != nil || fi.Size() != 64<<10 {
		t.Fatalf("the reserve after space was freed: %v; want it made again", err)
	}
	if _, err := os.Lstat(litter); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the check for room a killed writer left is still there (%v)", err)
	}
}
