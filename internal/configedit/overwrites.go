package configedit

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/configfile"
)

// Overwrites says which of freshtoken's own files writing to path (a log
// file) would destroy: one in the token store's folder that the
// configuration at configPath names (the default folder when it names
// none, or cannot be read), that configuration file itself, or a file it
// names (a key_file, a ca_file, a token_file); "" when none. Paths are compared by name and as they land, through symbolic
// links to folders and to the file itself and a ".." after a link, and an
// existing file by what it is: a hard link to a record is that record.
func Overwrites(path, configPath string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	real := opensAt(path)
	target, err := os.Stat(path) // the file the system opens, by path as given
	if err != nil {
		target = nil
	}
	storeURL := ""
	c, err := config.Load(configPath)
	if err == nil {
		storeURL = c.StoreURL
	}
	if !config.IsKeyringURL(storeURL) && !config.IsRedisURL(storeURL) {
		if dir, err := config.StoreDir(storeURL); err == nil {
			if configfile.Within(dir, abs) || configfile.UnderFolder(dir, abs) || configfile.Within(dir, real) || configfile.UnderFolder(dir, real) {
				return fmt.Sprintf("is inside the token store's folder (%s), where it would destroy the stored tokens; name a file of its own outside it", dir)
			}
			if target != nil && inFolder(dir, target) {
				return fmt.Sprintf("is one of the token store's files (in %s), by another name, where it would destroy the stored tokens; name a file of its own", dir)
			}
		}
	}
	// names reports whether path names other: by name, as the system
	// lands on it, or, both existing, as the same file (a hard link).
	names := func(other string) bool {
		o, err := filepath.Abs(other)
		if err != nil {
			return false
		}
		if abs == o || configfile.Landing(abs) == configfile.Landing(o) || real == opensAt(other) {
			return true
		}
		b, err := os.Stat(other)
		return err == nil && target != nil && os.SameFile(target, b)
	}
	if names(configPath) {
		return "is the configuration file, which it would destroy; name a file of its own"
	}
	if c == nil {
		return ""
	}
	// The files it names: a key or certificates no longer parse once a log
	// is appended, and a token file's readers would send the log.
	named := map[string]string{}
	if c.CAFile != "" {
		named[c.CAFile] = "the ca_file"
	}
	for _, name := range c.Names() {
		e := c.Envs[name]
		for f, what := range map[string]string{e.KeyFile: "key_file", e.CAFile: "ca_file", e.TokenFile: "token_file"} {
			if f != "" && named[f] == "" {
				named[f] = fmt.Sprintf("env.%s's %s", name, what)
			}
		}
	}
	for f, what := range named {
		if names(f) {
			return fmt.Sprintf("is %s, which it would destroy; name a file of its own", what)
		}
	}
	return ""
}

// opensAt is the file that opening path writes, as the system finds it:
// its folder's symbolic links resolved in the order they come, so that a
// ".." after a link leaves the folder the link leads to (filepath.Abs
// takes it away by name first), and path itself followed when it is a
// link. It is path made absolute where a folder on the way does not exist.
func opensAt(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		if abs, err := filepath.Abs(real); err == nil {
			return abs
		}
	}
	i := strings.LastIndexAny(path, string(filepath.Separator)+"/")
	dir, base := ".", path
	if i >= 0 {
		dir, base = path[:i+1], path[i+1:]
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		if abs, err := filepath.Abs(filepath.Join(real, base)); err == nil {
			return abs
		}
	}
	abs, _ := filepath.Abs(path)
	return abs
}

// inFolder reports whether fi is one of the files in dir: a hard link to
// it has another name and folder, but is the same file.
func inFolder(dir string, fi fs.FileInfo) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if other, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && os.SameFile(fi, other) {
			return true
		}
	}
	return false
}
