package atomicfile_test

import (
	"path/filepath"
	"testing"

	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestDiskFullKnowsAFullDisk: a write to a disk full of data, or of files
// (every inode taken), or under a quota spent (EDQUOT), is said to be for
// want of room; a write refused for another reason (a folder that does
// not exist) is not.
func TestDiskFullKnowsAFullDisk(t *testing.T) {
	full := testdisk.SmallFolder(t, "64k")
	testdisk.Fill(t, full)
	quota := testdisk.Quota(t)
	testdisk.Fill(t, quota)
	for name, path := range map[string]string{
		"full of data":        filepath.Join(full, "token"),
		"full of files":       filepath.Join(testdisk.NoFilesLeft(t), "token"),
		"under a quota spent": filepath.Join(quota, "token"),
	} {
		err := atomicfile.Write(path, []byte("new\n"), atomicfile.Options{})
		if err == nil || !atomicfile.DiskFull(err) {
			t.Errorf("a write to a disk %s: %v; want it said to be for want of room", name, err)
		}
	}
	err := atomicfile.Write(filepath.Join(t.TempDir(), "missing", "token"), []byte("new\n"), atomicfile.Options{})
	if err == nil || atomicfile.DiskFull(err) {
		t.Errorf("a write to a folder that does not exist: %v; want it not said to be for want of room", err)
	}
}

// TestCheckRoomFindsAFullDiskAndLeavesNothing: CheckRoom says a disk too
// full for the write, of data or of files, and nothing else; it leaves no
// file behind either way.
func TestCheckRoomFindsAFullDiskAndLeavesNothing(t *testing.T) {
	roomy := t.TempDir()
	full := testdisk.SmallFolder(t, "64k")
	if err := atomicfile.CheckRoom(filepath.Join(full, "config.toml"), 32<<10); err != nil {
		t.Errorf("CheckRoom on a disk with room: %v", err)
	}
	testdisk.Fill(t, full)
	noFiles := testdisk.NoFilesLeft(t)
	for dir, want := range map[string]bool{roomy: false, full: true, noFiles: true} {
		err := atomicfile.CheckRoom(filepath.Join(dir, "config.toml"), 1<<10)
		if got := err != nil && atomicfile.DiskFull(err); got != want {
			t.Errorf("CheckRoom in %s: %v; want said full: %v", dir, err, want)
		}
		if names := testenv.Names(t, dir); len(names) != 0 {
			t.Errorf("CheckRoom left %q in %s", names, dir)
		}
	}
}

// TestFreeSomeSaysWhatToFree: a disk full of data needs some space freed;
// one with every file it can hold taken (its inodes), though space is left,
// needs some files removed: told to free space, a person saw with `df -h`
// that space was free; so does one CheckRoom found so, though it freed the
// files it took as it returned. Where the user's quota is spent (EDQUOT), on
// a disk with room to spare, some of their own space, and the quota is
// named: it was told as a full disk, to free some space, which `df -h`
// showed free. A path not made yet is asked of the folder above.
func TestFreeSomeSaysWhatToFree(t *testing.T) {
	full := testdisk.SmallFolder(t, "64k")
	testdisk.Fill(t, full)
	noFiles := testdisk.NoFilesLeft(t)
	quota := testdisk.Quota(t)
	testdisk.Fill(t, quota)
	written := func(path string) error {
		t.Helper()
		err := atomicfile.Write(filepath.Join(path, "token"), []byte("new\n"), atomicfile.Options{})
		if !atomicfile.DiskFull(err) {
			t.Fatalf("a write in %s: %v; want it refused for want of room", path, err)
		}
		return err
	}
	checked := func(path string) error {
		t.Helper()
		err := atomicfile.CheckRoom(filepath.Join(path, "token"), 0, 0)
		if !atomicfile.DiskFull(err) {
			t.Fatalf("CheckRoom in %s: %v; want it refused for want of room", path, err)
		}
		return err
	}
	const files = "remove some files there (every inode on that disk is taken: see `df -i`)"
	for _, c := range []struct {
		name, path, want string
		err              error
	}{
		{"full of data", full, "free some space there", written(full)},
		{"full of files", noFiles, files, written(noFiles)},
		{"full of files, not made yet", filepath.Join(noFiles, "freshtoken", "config"), files, written(noFiles)},
		{"full of files but one, as CheckRoom found it", testdisk.FilesLeft(t, 1), files, nil},
		{"quota spent", quota, "free some of your space there (your disk quota is spent; an administrator can raise it)", written(quota)},
	} {
		if c.err == nil {
			c.err = checked(c.path)
		}
		if got := atomicfile.FreeSome(c.err, c.path, " there"); got != c.want {
			t.Errorf("%s: FreeSome(%v, %s) = %q, want %q", c.name, c.err, c.path, got, c.want)
		}
	}
}

// TestCheckRoomFindsADiskThatFailsOnlyAtTheSync: a disk that takes a write
// it has no room for and fails it only as it is synced (thin-provisioned
// storage; NFS and some FUSE file systems at the sync or the close) is
// found full, as the Write, which syncs, finds it. The check wrote and
// closed its file unsynced, and passed: the person approved a log-in whose
// tokens the save then refused.
func TestCheckRoomFindsADiskThatFailsOnlyAtTheSync(t *testing.T) {
	dir := testdisk.Thin(t)
	path := filepath.Join(dir, "dev.json")
	err := atomicfile.CheckRoom(path, 4<<10)
	if err == nil || !atomicfile.DiskFull(err) {
		t.Errorf("CheckRoom on a disk that fails at the sync: %v; want it said to be for want of room", err)
	}
	if werr := atomicfile.Write(path, []byte("new\n"), atomicfile.Options{}); werr == nil || !atomicfile.DiskFull(werr) {
		t.Errorf("the Write CheckRoom stands for: %v; want it to fail for want of room, as the check says", werr)
	}
	if names := testenv.Names(t, dir); len(names) != 0 {
		t.Errorf("CheckRoom and the Write left %q", names)
	}
}
