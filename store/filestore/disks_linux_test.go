package filestore_test

import (
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestFailingDiskRefusesOneLine: a save on a disk that fails its writes
// (EIO at the sync, as a dying disk's) fails as a failed write (exit 5,
// the disk needs mending), says so of the token folder, not of the temp
// file the system named, and what to do, and leaves the record as it was
// and no temp file. It said "token store could not write: save tokens in
// DIR: sync DIR/.sandbox.json.tmp-1234: input/output error".
func TestFailingDiskRefusesOneLine(t *testing.T) {
	dir, fail := testdisk.Failing(t)
	s := filestore.New(dir)
	if err := s.Save(ctx, "sandbox", sample()); err != nil {
		t.Fatal(err)
	}
	unlock, err := s.Lock(ctx, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	fail()
	err = saveRefused(t, s)
	if !errors.Is(err, store.ErrWriteFailed) || errors.Is(err, store.ErrDiskFull) || errors.Is(err, store.ErrDenied) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("save on a failing disk: %v; want a failed write saying the disk failed it", err)
	}
	if want := "token store could not write: the disk holding the token folder " + dir + " failed the write (input/output error); check the disk (the system's log tells of its errors), then try again"; err.Error() != want {
		t.Errorf("save on a failing disk said:\n%v\nwant:\n%s", err, want)
	}
	for _, name := range testenv.Names(t, dir) {
		if name != "sandbox.json" && name != "sandbox.lock" && name != ".reserve" {
			t.Errorf("the failed save left %s", name)
		}
	}
}

// TestImmutableFolderRefusesOneLine: a save into a token folder made
// immutable (chattr +i: no file can be made in it, root's neither) is
// access denied (exit 2, a set-up to change), said of the folder, with
// what to do; the record is left as it was. It said "token store denied
// access: save tokens in DIR: open DIR/.sandbox.json.tmp-1234: operation
// not permitted".
func TestImmutableFolderRefusesOneLine(t *testing.T) {
	dir, s := onSmallDisk(t)
	unlock, err := s.Lock(ctx, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
		testenv.Missing(t, "chattr +i: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", dir).Run() })
	err = saveRefused(t, s)
	if !errors.Is(err, store.ErrDenied) || !errors.Is(err, syscall.EPERM) {
		t.Fatalf("save into an immutable folder: %v; want access denied", err)
	}
	if want := "token store denied access: the token folder " + dir + " cannot be written in (operation not permitted); make it a folder you can write in, or set [store] url to one"; err.Error() != want {
		t.Errorf("save into an immutable folder said:\n%v\nwant:\n%s", err, want)
	}
}

// TestQuotaSpentSaysSo: where the user's disk quota is spent (EDQUOT), on
// a disk with room to spare, a renewal's answer is saved as on a full disk
// (over the previous record, in place: the reserve frees too little there),
// saying the quota is spent, and a first save, with no reserve to give up, is refused saying the
// quota is spent and what to do: it was said as the disk being full, to
// free some space, which `df -h` showed free.
func TestQuotaSpentSaysSo(t *testing.T) {
	dir := testdisk.Quota(t)
	s := filestore.New(dir)
	if err := s.Save(ctx, "sandbox", sample()); err != nil {
		t.Fatal(err)
	}
	testdisk.Fill(t, dir)
	rotated := sample()
	rotated.RefreshToken = "refresh-2-rotated"
	err := s.Save(ctx, "sandbox", rotated)
	if !errors.Is(err, store.ErrReserveUsed) {
		t.Fatalf("save with the quota spent: %v; want it saved from the reserve", err)
	}
	// The warning a renewal logs says the quota is spent, as the refusal
	// below does: it said "the disk is full", which `df -h` did not show.
	// (btrfs counts a new file's metadata against the quota group, more
	// than the reserve frees: the record is written over in place.)
	if said := err.Error(); !strings.HasPrefix(said, "your disk quota is spent, the reserve spent too; the tokens were saved over the previous ones, in place: "+dir+"; ") || !strings.HasSuffix(said, "; free some of your space (your disk quota is spent; an administrator can raise it)") {
		t.Errorf("save with the quota spent said:\n%s\nwant it to say the quota is spent, how the tokens were saved, and what to do", said)
	}
	if got, err := s.Load(ctx, "sandbox"); err != nil || got.RefreshToken != rotated.RefreshToken {
		t.Fatalf("after the save with the quota spent: %+v, %v; want the rotated token", got, err)
	}
	err = s.Save(ctx, "production", sample())
	if !errors.Is(err, store.ErrDiskFull) || !errors.Is(err, syscall.EDQUOT) {
		t.Fatalf("a first save with the quota spent: %v; want it refused for want of room", err)
	}
	if want := "token store could not write: the disk holding the token folder " + dir + " has no room left under your disk quota (disk quota exceeded); free some of your space (your disk quota is spent; an administrator can raise it), or set [store] url to a folder on another disk"; err.Error() != want {
		t.Errorf("a first save with the quota spent said:\n%v\nwant:\n%s", err, want)
	}
}
