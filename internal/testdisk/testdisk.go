// Package testdisk gives tests a small disk of their own to fill, so that
// what happens when the disk is full can be tested for real.
package testdisk

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// Small mounts a tmpfs of size (such as "256k") for the test's lifetime and
// returns a folder path on it, not yet created. It needs root: elsewhere
// the test is skipped, and under CI (which runs as root) a failure to mount
// fails the test.
func Small(t testing.TB, size string) string {
	t.Helper()
	testenv.NeedRoot(t, "mounting a small disk")
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", mnt).CombinedOutput(); err != nil {
		testenv.Missing(t, "mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	return filepath.Join(mnt, "tokens")
}

// SmallFile is Small with the folder made (0700), holding a file of that
// name with content (0600), whose path it returns.
func SmallFile(t testing.TB, size, name string, content []byte) string {
	t.Helper()
	dir := Small(t, size)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Fill writes a file beside dir until the disk is full, and returns a
// function that removes it.
func Fill(t testing.TB, dir string) (free func()) {
	t.Helper()
	f, err := os.CreateTemp(filepath.Dir(dir), "filler")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return func() { os.Remove(f.Name()) }
		}
	}
}
