package configfile

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/keyringstore"
)

// This file holds what the file says of where tokens are kept: the paths
// it names, compared as the system lands on them, and the folders and
// keychain services its store URLs name.

// Within reports whether path is dir or lies under it, by their names.
func Within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// Landing is the file that writing path, by renaming a file over it,
// replaces: path with the symbolic links of its folders resolved, as far
// as they exist (path's own last name is replaced, not followed).
func Landing(path string) string {
	dir, rest := filepath.Dir(path), filepath.Base(path)
	for {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(real, rest)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return path
		}
		dir, rest = parent, filepath.Join(filepath.Base(dir), rest)
	}
}

// UnderFolder reports whether one of path's folders is dir itself, by
// another name: a symbolic link to it on the way, another case on a file
// system that ignores case, a bind mount.
func UnderFolder(dir, path string) bool {
	want, err := os.Stat(dir)
	if err != nil {
		return false
	}
	for d := filepath.Dir(path); ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && os.SameFile(fi, want) {
			return true
		}
		if filepath.Dir(d) == d {
			return false
		}
	}
}

// BadEscape is why url.Parse refused a URL, when it is a % not beginning
// an escape, as a message shows it; "" otherwise. The URL itself, which
// may hold a password, is not shown.
func BadEscape(err error) string {
	if errors.As(err, new(url.EscapeError)) {
		return " (a % in it must begin an escape such as %25, which stands for % itself)"
	}
	return ""
}

// TokenFileLedger is the folder where freshtoken notes what it wrote to
// each token_file (a fingerprint, never a token), so that a log-out or a
// remove knows a token file of its own from a file of the user's: the
// folder tokens are kept in by default, whatever [store] url names, as
// every configuration's keeper and commands of the user share it.
func TokenFileLedger() string {
	dir, err := DefaultStoreDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "token-files")
}

// DefaultStoreDir is the folder tokens are kept in when [store] url names
// none: $XDG_STATE_HOME/freshtoken, else ~/.local/state/freshtoken.
func DefaultStoreDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "freshtoken"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find your home folder (%v); set [store] url", err)
	}
	return filepath.Join(home, ".local", "state", "freshtoken"), nil
}

// KeyringService returns the service name a keyring:// URL gives: the
// service query parameter, else keyringstore.DefaultService. The URL has no
// host, path or other parameter.
func KeyringService(storeURL string) (string, error) {
	const write = "write keyring://, or keyring://?service=NAME to keep these tokens apart from others"
	u, err := url.Parse(storeURL)
	var q url.Values
	if err == nil {
		// Strictly: u.Query() drops a service=… it cannot read, and the
		// default service's tokens were mixed with these.
		q, err = url.ParseQuery(u.RawQuery)
	}
	if err != nil {
		return "", errors.New("not a valid URL" + BadEscape(err) + "; " + write)
	}
	if u.Opaque != "" || u.Host != "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return "", fmt.Errorf("%q is not a keychain URL; %s", store.RedactURL(storeURL), write)
	}
	for k := range q {
		if k != "service" {
			return "", fmt.Errorf("keyring:// takes one option, service, not %q", k)
		}
	}
	if !q.Has("service") {
		return keyringstore.DefaultService, nil
	}
	svc := strings.TrimSpace(q.Get("service"))
	if svc == "" {
		return "", errors.New("keyring://?service= needs a name, such as keyring://?service=freshtoken-work")
	}
	if !httpx.PrintableASCII(svc) {
		return "", errors.New("keyring://?service= takes a name of printable ASCII characters, such as keyring://?service=freshtoken-work")
	}
	return svc, nil
}

// KeyringLockDir is the folder of the keychain's renewal lock files: the
// home folder's default state folder, whatever $XDG_STATE_HOME says. The
// keychain is one per user, so every process of the user must take the
// same locks; with $XDG_STATE_HOME, a process without the shell's (a cron
// job, a service, a sandboxed terminal) locked elsewhere and renewed with
// the same refresh token at once, and the provider ended the grant.
func KeyringLockDir() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find your home folder (%v), where the keychain's renewal locks are kept; set $HOME", err)
	}
	return filepath.Join(home, ".local", "state", "freshtoken"), nil
}
