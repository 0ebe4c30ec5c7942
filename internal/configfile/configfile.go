// Package configfile is freshtoken's configuration file as text: reading
// it only once it is trusted (its owner, its mode, its size), finding the
// line of a key or table, the tables and lines an edit rewrites, and the
// paths and names it is checked against. Package config loads it from
// here; the command line's editors (internal/configedit) edit it with it.
package configfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/freshtoken/freshtoken/internal/atomicfile"
)

// PathFlag names another configuration file on freshtoken's command line.
const PathFlag = "--config PATH, or $FRESHTOKEN_CONFIG"

// Error is a refusal of the file at a place in it: package config's Error
// (which matches its ErrInvalid) has the same fields, and is made of it by
// a conversion, (*config.Error)(e), which gives its text as Error does.
type Error struct {
	Path string
	Line int
	Key  string
	Msg  string
	// FlagHint is the command-line flag that does what Msg ends by asking,
	// or "".
	FlagHint string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// IsEnvVarName reports whether s can name an environment variable: a letter
// or underscore, then letters, digits and underscores (ASCII).
func IsEnvVarName(s string) bool {
	for i, c := range s {
		letter := c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return s != ""
}

// Read reads the file at path, following a symlink (dotfile managers
// link configs), once CheckFile has accepted the file it opened and
// checkLinks the links on the way to it.
func Read(path string) ([]byte, fs.FileInfo, error) {
	file, err := os.OpenFile(path, os.O_RDONLY|OpenNonblocking, 0)
	// A name ending in a separator is a folder's, even one that is not
	// there: init made that folder and then failed, the file never written.
	if errors.Is(err, os.ErrNotExist) && path != "" && os.IsPathSeparator(path[len(path)-1]) {
		return nil, nil, &Error{Path: path, Msg: fmt.Sprintf("names a folder (it ends in %c), not the configuration file; name the file, such as %s", path[len(path)-1], filepath.Join(path, "config.toml")), FlagHint: PathFlag}
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	if errors.Is(err, syscall.ELOOP) {
		return nil, nil, &Error{Path: path, Msg: fmt.Sprintf("is a symbolic link that leads round in a loop (%v); point it at the configuration file, or name that file", errors.Unwrap(err)), FlagHint: PathFlag}
	}
	if atomicfile.OutOfFiles(err) {
		// Not the file's fault: it passes (see internal/failure).
		return nil, nil, fmt.Errorf("%s: cannot read it: %w", path, errors.Unwrap(err))
	}
	if err != nil {
		return nil, nil, &Error{Path: path, Msg: fmt.Sprintf("cannot read it (%v)", errors.Unwrap(err))}
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return nil, nil, &Error{Path: path, Msg: fmt.Sprintf("cannot read it (%v)", errors.Unwrap(err))}
	}
	if info.IsDir() {
		return nil, nil, &Error{Path: path, Msg: fmt.Sprintf("is a folder, not the configuration file; name the file, such as %s", filepath.Join(path, "config.toml")), FlagHint: PathFlag}
	}
	if !info.Mode().IsRegular() {
		return nil, nil, &Error{Path: path, Msg: "is not a regular file; name the configuration file, a TOML file", FlagHint: PathFlag}
	}
	if err := CheckFile(path, info); err != nil {
		return nil, nil, err
	}
	if msg := checkLinks(path, info); msg != "" {
		return nil, nil, &Error{Path: path, Msg: msg}
	}
	data, err := io.ReadAll(io.LimitReader(file, MaxSize+1))
	if err != nil {
		return nil, nil, &Error{Path: path, Msg: fmt.Sprintf("cannot read it (%v)", errors.Unwrap(err))}
	}
	if len(data) > MaxSize {
		return nil, nil, &Error{Path: path, Msg: fmt.Sprintf("is larger than any configuration file (%d MiB at most): is it the configuration file? Name that file", MaxSize>>20), FlagHint: PathFlag}
	}
	if line := tooDeep(data); line > 0 {
		return nil, nil, &Error{Path: path, Line: line, Msg: fmt.Sprintf("tables or lists are nested more than %d deep here, as no setting is; mend the TOML syntax there", maxNesting)}
	}
	return data, info, nil
}

// Cause is what the operating system said of a file operation that failed
// (no space left on device), without the operation and path err names.
func Cause(err error) error {
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		return pe.Err
	}
	if c := errors.Unwrap(err); c != nil {
		return c
	}
	return err
}
