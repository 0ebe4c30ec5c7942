package configedit_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

func TestStoreIDs(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/state")
	same := [][2]string{
		{"", "file:///state/freshtoken"},
		{"keyring://", "keyring://?service=freshtoken"},
		{"redis://:a@h:6379/0", "redis://:b@h:6379/0"},
		// One Redis database, however the URL is written: a port or a
		// database left out, a host in capitals, TLS or not, the database
		// given as ?db= (go-redis reads it, and it wins over the path).
		{"redis://h:6379", "redis://h:6379/0"},
		{"redis://h/0", "redis://h:6379/0"},
		{"redis://H:6379/0", "redis://h:6379/0"},
		{"rediss://h:6379/0", "redis://h:6379/0"},
		{"redis://h:6379/0?db=3", "redis://h:6379/3"},
		{"redis://h:6379/3?db=0", "redis://h:6379"},
	}
	other := [][2]string{
		{"", "keyring://"},
		{"redis://h:6379/0?db=3", "redis://h:6379/0"},
		{"redis://h:6379/0", "redis://h:6380/0"},
		{"redis://h:6379/0", "redis://g:6379/0"},
	}
	for _, c := range []struct {
		pairs [][2]string
		one   bool // one store: the same ID and lock domain; else both differ
		are   string
	}{{same, true, "one store"}, {other, false, "two stores"}} {
		for _, p := range c.pairs {
			a, _ := configedit.StoreID(p[0])
			b, _ := configedit.StoreID(p[1])
			la, _ := configedit.LockDomain(p[0])
			lb, _ := configedit.LockDomain(p[1])
			if (a == b) != c.one || (la == lb) != c.one {
				t.Errorf("%q and %q are %s, but their IDs are %q and %q, their lock domains %q and %q", p[0], p[1], c.are, a, b, la, lb)
			}
		}
	}
	// The keychain is one per user: its locks are the home folder's
	// default state folder's, whatever $XDG_STATE_HOME says.
	t.Setenv("HOME", "/home/me")
	la, _ := configedit.LockDomain("file:///home/me/.local/state/freshtoken")
	lb, _ := configedit.LockDomain("keyring://")
	if la != lb {
		t.Errorf("the keychain's locks (%s) are not the home folder's state folder's (%s)", lb, la)
	}
}

// TestStoreIDOfAFolderNotMadeYet: a folder not made yet under a symbolic
// link (as /home is one to /var/home on Fedora Silverblue) has the ID and
// lock domain it has once made, and the ones of the path the link leads
// to: it was named as written until made, and by where the link leads
// after, so a store migrate into it did not know the copies it had noted
// there before it made the folder.
func TestStoreIDOfAFolderNotMadeYet(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "real"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(dir, "link")); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	ids := func() (id, domain string) {
		id, _ = configedit.StoreID("file://" + dir + "/link/new/tokens")
		domain, _ = configedit.LockDomain("file://" + dir + "/link/new/tokens")
		return id, domain
	}
	id, domain := ids()
	if err := os.MkdirAll(filepath.Join(dir, "real", "new", "tokens"), 0o700); err != nil {
		t.Fatal(err)
	}
	if madeID, madeDomain := ids(); id != madeID || domain != madeDomain {
		t.Errorf("before the folder is made its ID is %q and lock domain %q; once made, %q and %q", id, domain, madeID, madeDomain)
	}
	if real, _ := configedit.StoreID("file://" + dir + "/real/new/tokens"); id != real {
		t.Errorf("through the link its ID is %q; where the link leads, %q", id, real)
	}
}

func TestSetStoreURLKeepsTheRest(t *testing.T) {
	for name, text := range map[string]string{
		"no table":  "# mine\ndefault_env = \"a\"\n\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n",
		"table":     "# mine\ndefault_env = \"a\"\n\n[store]\n# where\nurl = \"file:///tmp/x\"\n\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n",
		"table end": "# mine\ndefault_env = \"a\"\n\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n\n[store]\nurl = \"file:///tmp/x\"\n",
	} {
		t.Run(name, func(t *testing.T) {
			p := testenv.WriteFile(t, "config.toml", text, 0o600)
			f, err := configedit.SetStoreURL(p, "keyring://")
			if err != nil {
				t.Fatal(err)
			}
			if f.StoreURL != "keyring://" || f.DefaultEnv != "a" || f.Envs["a"] == nil {
				t.Fatalf("after SetStoreURL: store %q, default %q, envs %v", f.StoreURL, f.DefaultEnv, f.Names())
			}
			b, _ := os.ReadFile(p)
			if !strings.Contains(string(b), "# mine") || strings.Count(string(b), "[store]") != 1 {
				t.Fatalf("the file became:\n%s", b)
			}
		})
	}
}
