package freshtoken

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/store"
)

// LoggedInWithOther is the configuration file, on this machine, whose
// log-in began the grant of r's tokens, when it is not this Source's own
// (Settings.ConfigFile); "" otherwise. Two configurations that keep tokens
// in one store under one environment name, for one grant (a work setup
// and a personal one with the same app's sandbox), share the record, and
// a log-in with either chooses the account both then use. It is "" for a
// log-in with this configuration (by another path to the same file, too),
// one that named no file (a record written before log-ins named it,
// settings of no file, tokens fetched with client credentials), one made
// on another host (a fleet's machines share one record on purpose, each
// with its own file), one with a file no longer there, through which
// nothing uses the tokens, and one of a path no file has (not absolute
// and clean, or holding a character that would act on a terminal: a
// shared store's record may come from anywhere).
func (s *Source) LoggedInWithOther(r *store.Record) string {
	return s.LoggedInWithOtherThan(r, s.settings().ConfigFile)
}

// LoggedInWithOtherThan is LoggedInWithOther for a log-in made for the
// configuration file ours rather than this Source's own (see SaveLoginOf).
func (s *Source) LoggedInWithOtherThan(r *store.Record, ours store.ConfigFile) string {
	theirs := r.LoggedInWith
	if theirs.Path == "" || ours.Path == "" || theirs.Host != ours.Host || theirs.Path == ours.Path || !fileName(theirs.Path) {
		return ""
	}
	// A file this user may not look at (another user's, sharing the
	// store) may be there; one the system cannot find is not.
	them, err := os.Stat(theirs.Path)
	if err != nil && !errors.Is(err, fs.ErrPermission) {
		return ""
	}
	if us, uerr := os.Stat(ours.Path); err == nil && uerr == nil && os.SameFile(them, us) {
		return ""
	}
	return theirs.Path
}

// fileName reports whether path may name a file that a log-in recorded
// (see config.Open): absolute, clean, UTF-8 text with nothing in it that a
// terminal would act on.
func fileName(path string) bool {
	return filepath.IsAbs(path) && filepath.Clean(path) == path && utf8.ValidString(path) && strings.IndexFunc(path, redact.Unsafe) < 0
}
