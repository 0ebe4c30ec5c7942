package filestore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

var ctx = context.Background()

func sample() *store.Record {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	return &store.Record{AccessToken: "access-1", TokenType: "Bearer", Expiry: now.Add(time.Hour),
		RefreshToken: "refresh-1", RefreshExpiry: now.Add(20 * 24 * time.Hour), IssuedAt: now, Renewals: 2, RenewedAt: now}
}

func TestRoundTripAndModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokens")
	s := filestore.New(dir)
	if _, err := s.Load(ctx, "sandbox"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty store: %v, want ErrNotFound", err)
	}
	want := sample()
	if err := s.Save(ctx, "sandbox", want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	if *got != *want {
		t.Fatalf("loaded %+v, want %+v", got, want)
	}
	unlock, err := s.Lock(ctx, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	checkPerm(t, dir, 0o700)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		checkPerm(t, filepath.Join(dir, e.Name()), 0o600)
	}
	if len(entries) != 2 {
		t.Fatalf("store folder holds %d files, want the record and its lock", len(entries))
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
	dir := filepath.Join(t.TempDir(), "tokens")
	s := filestore.New(dir)
	if err := s.Save(ctx, "sandbox", sample()); err != nil {
		t.Fatal(err)
	}
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
	dir := filepath.Join(t.TempDir(), "tokens")
	s := filestore.New(dir)
	if err := s.Save(ctx, "sandbox", sample()); err != nil {
		t.Fatal(err)
	}
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
// never hold an environment's lock at once.
func TestLockExcludesOtherStores(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokens")
	var inside, overlaps atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := filestore.New(dir)
			for j := 0; j < 20; j++ {
				unlock, err := s.Lock(ctx, "sandbox")
				if err != nil {
					t.Error(err)
					return
				}
				if inside.Add(1) > 1 {
					overlaps.Add(1)
				}
				inside.Add(-1)
				unlock()
			}
		}()
	}
	wg.Wait()
	if overlaps.Load() != 0 {
		t.Fatalf("%d overlapping lock holders", overlaps.Load())
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

func TestDeleteAndBadNames(t *testing.T) {
	s := filestore.New(filepath.Join(t.TempDir(), "tokens"))
	s.Save(ctx, "sandbox", sample())
	if err := s.Delete(ctx, "sandbox"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "sandbox"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after Delete: %v", err)
	}
	if err := s.Delete(ctx, "sandbox"); err != nil {
		t.Fatalf("deleting nothing: %v", err)
	}
	if err := s.Save(ctx, "../escape", sample()); err == nil {
		t.Fatal("an environment name with a path in it was accepted")
	}
}
