// Package filestamp tells whether a file is still as it was when a look at
// its path saw it: the configuration file, read again by the proxy and the
// command line once it changes.
package filestamp

import (
	"os"
	"time"
)

// Stamp is what one look at a configuration file's path saw: the file
// there, by its identity, times, size and mode, or none. Taken before the
// file is read, a stamp that is no longer current says the reading may be
// out of date, an edit made while it was read included (taken after, the
// edited file's stamp passed for the reading's, and the edit went unseen).
// The identity counts as well as the time and size: a file renamed into
// place, or restored by `cp -p` or `rsync -a`, may keep both. So does the
// change time (Linux and macOS), which no one can set back: a file written
// in place by `cp -p` or `rsync --inplace` keeps its identity, size and
// time. And the mode, as a chmod decides whether the file may be used at
// all. The zero Stamp was never taken, and is never current.
type Stamp struct {
	path  string
	taken bool
	fi    os.FileInfo // nil: no file there
}

// StampOf looks at the file at path now.
func StampOf(path string) Stamp {
	s := Stamp{path: path, taken: true}
	if fi, err := os.Stat(path); err == nil {
		// Windows' os.Stat leaves the file's identity to be read from its
		// path at its first comparison: read then, it was whichever file
		// was there at that time, and one renamed into place since with
		// the same time and size passed for the file stamped.
		os.SameFile(fi, fi)
		s.fi = fi
	}
	return s
}

// Seen is the stamp of a look at path that saw fi (nil: no file there),
// for a reading that has its file's information already.
func Seen(path string, fi os.FileInfo) Stamp { return Stamp{path: path, taken: true, fi: fi} }

// Path is the path s looked at.
func (s Stamp) Path() string { return s.path }

// Same reports whether s and o, two looks at one path, saw the same file
// unchanged, or both saw none; never if either was not taken.
func (s Stamp) Same(o Stamp) bool {
	a, b := s.fi, o.fi
	switch {
	case !s.taken || !o.taken || s.path != o.path:
		return false
	case a == nil || b == nil:
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && changeTime(a).Equal(changeTime(b)) && a.Size() == b.Size() && a.Mode() == b.Mode()
}

// Current reports whether the file at s's path is still as s saw it.
func (s Stamp) Current() bool { return s.taken && s.Same(StampOf(s.path)) }

// settleTime is how long after a change a file's times tell every later
// change from it: longer than the tick of any file system's clock (2 s
// on FAT, a second on some others, milliseconds on Linux's own).
const settleTime = 2 * time.Second

// SettledAt reports whether s, taken at at or later, saw no file, or one
// last changed 2 seconds or more before at (the later of its change and
// modification times): any later write then shows in its times. A file
// changed moments before may be written again within the same tick of
// its file system's clock, with the same size and times, and a stamp
// taken between the two writes is the same as one taken after (a time
// after at, of a clock set back, is not settled). A file system that
// keeps no change time (a FUSE one, an SMB server's) says 1970 or 1601,
// which is never the file's last change.
func (s Stamp) SettledAt(at time.Time) bool {
	if !s.taken {
		return false
	}
	if s.fi == nil {
		return true
	}
	changed := s.fi.ModTime()
	if c := changeTime(s.fi); c.After(changed) {
		changed = c
	}
	return !changed.After(at.Add(-settleTime))
}
