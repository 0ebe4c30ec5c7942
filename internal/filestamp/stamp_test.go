package filestamp_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/freshtoken/freshtoken/internal/filestamp"
)

// TestStamp: a stamp of the configuration file, taken before a reading,
// stays current while the file is as it was, and no longer once it is
// edited, renamed into place with the same size and time (a restore by
// cp -p or rsync -a), made readable or writable by others, deleted or
// created, or written in place with the same size and time (cp -p or
// rsync --inplace over it: the proxy never read such an edit). The proxy
// and the CLI's kept reading each had a check of their own, the proxy's
// blind to the mode.
func TestStamp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(p, []byte("a = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if (filestamp.Stamp{}).Current() || (filestamp.Stamp{}).Same(filestamp.Stamp{}) {
		t.Fatal("a stamp never taken is current")
	}
	s := filestamp.StampOf(p)
	if !s.Current() || !s.Same(filestamp.StampOf(p)) || s.Path() != p {
		t.Fatal("a stamp of an unchanged file is not current")
	}
	if s.Same(filestamp.StampOf(p + ".other")) {
		t.Fatal("stamps of two paths are the same")
	}
	was, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	changes := []struct {
		name   string
		change func() error
	}{
		{"renamed into place", func() error {
			next := filepath.Join(dir, "next")
			if err := os.WriteFile(next, []byte("b = 2\n"), 0o600); err != nil {
				return err
			}
			if err := os.Chtimes(next, was.ModTime(), was.ModTime()); err != nil {
				return err
			}
			return os.Rename(next, p)
		}},
		{"written in place with the same size and time", func() error {
			afterTheLastChange(t, p)
			if err := os.WriteFile(p, []byte("c = 3\n"), 0o600); err != nil {
				return err
			}
			return os.Chtimes(p, was.ModTime(), was.ModTime())
		}},
		{"made writable by others", func() error { return os.Chmod(p, 0o666) }},
		{"edited", func() error { return os.WriteFile(p, []byte("a = 100\n"), 0o600) }},
		{"deleted", func() error { return os.Remove(p) }},
		{"created", func() error { return os.WriteFile(p, []byte("a = 1\n"), 0o600) }},
	}
	for _, c := range changes {
		s := filestamp.StampOf(p)
		if err := c.change(); err != nil {
			t.Fatal(err)
		}
		if s.Current() {
			t.Errorf("a stamp is current after the file was %s", c.name)
		}
		if c.name == "deleted" && !filestamp.StampOf(p).Current() {
			t.Error("a stamp of no file is not current while there is none")
		}
	}
}

// afterTheLastChange returns once a change made now gives the file at p a
// change time later than its last (where the system keeps one). Linux
// before 6.13 takes it from a clock that moves on every few milliseconds,
// and a write within the same tick as the file's last change (the step
// before) kept its change time, size and time: the stamp was current,
// and the test failed or passed as the scheduler went.
func afterTheLastChange(t *testing.T, p string) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	last := filestamp.ChangeTime(fi)
	if last.IsZero() {
		return
	}
	probe := p + ".probe"
	defer os.Remove(probe)
	for {
		if err := os.WriteFile(probe, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		now, err := os.Stat(probe)
		if err != nil {
			t.Fatal(err)
		}
		if filestamp.ChangeTime(now).After(last) {
			return
		}
	}
}
