//go:build unix

package configfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestFollowLinksLeadsWhereTheKernelDoes: Read compares the file the way
// to the config leads to, followed one name at a time (followLinks), with
// the file it opened, and refuses the config as changed while it was read
// when they differ; so each way must lead where the kernel's does, or a
// config reached through a link is refused for nothing: a link relative to
// its folder, one to an absolute path, a chain, `..` after a folder's link
// (the kernel goes up from where the link led, not from the link), a
// relative path.
func TestFollowLinksLeadsWhereTheKernelDoes(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"real/sub", "other"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"real/config.toml", "other/config.toml", "real/sub/config.toml"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte(f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for name, to := range map[string]string{
		"rel.toml":  "real/config.toml",
		"abs.toml":  filepath.Join(root, "real/config.toml"),
		"chain":     "rel.toml",
		"subdir":    "real/sub",
		"other/up":  "../real/sub",
		"real/back": "..",
	} {
		if err := os.Symlink(to, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(root)
	// Not filepath.Join, which would take out the .. before a link.
	for _, path := range []string{
		root + "/rel.toml",
		root + "/abs.toml",
		root + "/chain",
		root + "/subdir/config.toml",
		root + "/subdir/../config.toml",
		root + "/other/up/../config.toml",
		root + "/real/back/other/config.toml",
		"subdir/../config.toml",
		"./chain",
	} {
		opened, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if msg := checkLinks(path, opened); msg != "" {
			t.Errorf("checkLinks(%s) = %q; want it to lead to the file the kernel opened", path, msg)
		}
	}
	// A way that leads to another file than the one opened (the link
	// pointed elsewhere meanwhile) is refused.
	other, err := os.Stat(filepath.Join(root, "other/config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if msg := checkLinks(filepath.Join(root, "chain"), other); msg == "" {
		t.Errorf("checkLinks of a way to real/config.toml, other/config.toml opened = \"\"; want it refused as changed while it was read")
	}
}

// TestConfigInAFolderEnteredThroughAnotherUsersLink: a config named
// relative to the current folder, entered with `cd` through a link another
// user owns (a team's), was refused as reached through that link: the way
// was followed from $PWD, which names the link, where the kernel opens it
// from the folder itself, which that user cannot change. It is read; the
// same link named in the path is refused still.
func TestConfigInAFolderEnteredThroughAnotherUsersLink(t *testing.T) {
	testenv.NeedRoot(t, "giving a symbolic link to another user")
	root := t.TempDir()
	mine := filepath.Join(root, "mine")
	if err := os.Mkdir(mine, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mine, "config.toml"), []byte("[env.dev]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "team")
	if err := os.Symlink(mine, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, 12345, 12345); err != nil {
		t.Fatal(err)
	}
	t.Chdir(link)
	if _, _, err := Read("config.toml"); err != nil {
		t.Errorf("Read(config.toml) in a folder entered through another user's link = %v; want it read", err)
	}
	if _, _, err := Read(filepath.Join(link, "config.toml")); err == nil || !strings.Contains(err.Error(), "the symbolic link "+link+", which belongs to uid 12345") {
		t.Errorf("Read through another user's link = %v; want it refused, naming the link", err)
	}
}
