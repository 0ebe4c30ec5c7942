//go:build unix

package configfile

import (
	"os"
	"path/filepath"
	"testing"
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
