package configedit_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// Root (sudo keeping the user's HOME) never writes a new config into
// another user's folder: `sudo -E freshtoken init` left a root-owned
// ~/.config/freshtoken that the user could no longer read. It is told to run
// freshtoken as that user, and nothing is written.
func TestWriteEnvAsRootWritesNothingInAnotherUsersFolder(t *testing.T) {
	home := testenv.NobodysFolder(t, "home")
	for _, p := range []string{filepath.Join(home, ".config", "freshtoken", "config.toml"), filepath.Join(home, "config.toml")} {
		_, err := configedit.WriteEnv(p, "dev", config.EnvSettings{Provider: "freeagent", ClientID: "id", ClientSecretEnv: "SECRET"}, true)
		if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "sudo -u nobody freshtoken") || !strings.Contains(err.Error(), "configuration file of its own") {
			t.Errorf("WriteEnv(%s) as root = %v; want a refusal saying to run freshtoken as that user, or to give root a configuration of its own", p, err)
		}
	}
	if entries, _ := os.ReadDir(home); len(entries) != 0 {
		t.Errorf("root wrote %v in another user's folder", entries)
	}
}

func TestWriteEnvWritesPrivateFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.toml")
	if _, err := configedit.WriteEnv(p, "dev", config.EnvSettings{Provider: "freeagent", ClientID: "id", ClientSecret: "plain-secret"}, true); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config written as %v (%v), want mode 0600", fi.Mode(), err)
	}
}

// TestWriteEnvKeepsNothingFromAnUntrustedFile: rewriting a file others
// could write would launder what they put in it.
func TestWriteEnvKeepsNothingFromAnUntrustedFile(t *testing.T) {
	p := testenv.WriteFile(t, "config.toml", "[env.dev]\nprovider = \"freeagent\"\nclient_id = \"id\"\nclient_secret_cmd = \"pass show freeagent\"\n", 0o666)
	_, err := configedit.WriteEnv(p, "other", config.EnvSettings{Provider: "freeagent", ClientID: "id2"}, false)
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("WriteEnv = %v; want the file refused", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "[env.dev]\nprovider = \"freeagent\"\nclient_id = \"id\"\nclient_secret_cmd = \"pass show freeagent\"\n" {
		t.Fatalf("the refused file was changed:\n%s", b)
	}
}

// TestWriteEnvThroughASymlink: a symlinked config (a dotfile manager's) is
// written where the link points and stays a link, also when the file it
// points to is not made yet, through a relative link and a chain of them.
func TestWriteEnvThroughASymlink(t *testing.T) {
	target := testenv.WriteFile(t, "real.toml", "[env.dev]\nprovider = \"freeagent\"\nclient_id = \"id\"\nclient_secret_env = \"FA_SECRET\"\n", 0o600)
	dir := t.TempDir()
	links := map[string]string{ // link → where it points
		"config.toml": target,
		"new.toml":    "dotfiles/freshtoken.toml", // a folder and a file not made yet
		"chain.toml":  "hop.toml",
		"hop.toml":    filepath.Join(dir, "dotfiles/chained.toml"),
	}
	for link, to := range links {
		if err := os.Symlink(to, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	for link, want := range map[string][]string{"config.toml": {"other", "dev"}, "new.toml": {"other"}, "chain.toml": {"other"}} {
		path := filepath.Join(dir, link)
		if _, err := configedit.WriteEnv(path, "other", config.EnvSettings{Provider: "freeagent", ClientID: "id2"}, false); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("%s is no longer a symlink: %v %v", link, fi, err)
		}
		f, err := config.Load(path)
		if err != nil {
			t.Fatalf("Load(%s): %v", link, err)
		}
		for _, env := range want {
			if f.Envs[env] == nil {
				t.Errorf("Load(%s) has no environment %s through the link", link, env)
			}
		}
	}
	for _, made := range []string{"dotfiles/freshtoken.toml", "dotfiles/chained.toml"} {
		if _, err := os.Stat(filepath.Join(dir, made)); err != nil {
			t.Errorf("the file the link points to was not made: %v", err)
		}
	}
	// Links in a loop point nowhere: the edit fails and leaves them links.
	loop := filepath.Join(dir, "loop.toml")
	os.Symlink("loop2.toml", loop)
	os.Symlink("loop.toml", filepath.Join(dir, "loop2.toml"))
	if _, err := configedit.WriteEnv(loop, "other", config.EnvSettings{Provider: "freeagent", ClientID: "id2"}, false); err == nil {
		t.Error("an edit through links in a loop succeeded")
	}
	if fi, err := os.Lstat(loop); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the looping link was replaced: %v %v", fi, err)
	}
}

// TestWriteEnvRefusesALinkOfAnotherUsers: a config named through a
// symbolic link that another user owns (one in a team's folder of theirs)
// was written where the link pointed, a file of this user's they chose,
// made or replaced, when it did not exist yet or was empty. Refused,
// naming the link and its owner, by CheckEditable too; nothing is written.
func TestWriteEnvRefusesALinkOfAnotherUsers(t *testing.T) {
	testenv.NeedRoot(t, "giving a symbolic link to another user")
	mine := t.TempDir()
	for name, target := range map[string]string{
		"a file not made yet": filepath.Join(mine, "new.toml"),
		"an empty file":       testenv.WriteFile(t, "empty.toml", "", 0o600),
	} {
		t.Run(name, func(t *testing.T) {
			link := filepath.Join(t.TempDir(), "config.toml")
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			if err := os.Lchown(link, 12345, 12345); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(target)
			// CheckEditable, which init, remove and store migrate ask
			// before their questions and their work, refuses it too: it
			// followed the link to a file of this user's and found nothing
			// wrong, so init asked all its questions before refusing.
			if err := configedit.CheckEditable(link); !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "the symbolic link "+link+", which belongs to uid 12345") {
				t.Errorf("CheckEditable through another user's link = %v; want a refusal naming the link and its owner", err)
			}
			_, err := configedit.WriteEnv(link, "dev", config.EnvSettings{Provider: "freeagent", ClientID: "id", ClientSecretEnv: "SECRET"}, true)
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "the symbolic link "+link+", which belongs to uid 12345") {
				t.Errorf("WriteEnv through another user's link = %v; want a refusal naming the link and its owner", err)
			}
			if now, _ := os.ReadFile(target); string(now) != string(before) {
				t.Errorf("the file the link points to was written:\n%s", now)
			}
		})
	}
}

// TestRootToldToRunAsTheUserWhoseConfigLinkItIs: root (sudo keeping HOME)
// making a config under a ~/.config that a dotfile manager made the user's
// link was told the link belongs to another user and to name the file
// itself, which then met the refusal of a new config in another user's
// folder: it is told at once to run freshtoken as that user, by
// CheckEditable and WriteEnv; nothing is written.
func TestRootToldToRunAsTheUserWhoseConfigLinkItIs(t *testing.T) {
	home := testenv.NobodysFolder(t, "home")
	dotfiles := filepath.Join(home, "dotfiles")
	if err := os.Mkdir(dotfiles, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(home, ".config")
	if err := os.Symlink(dotfiles, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dotfiles, link} {
		if err := os.Lchown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(link, "freshtoken", "config.toml")
	for name, err := range map[string]error{
		"CheckEditable": configedit.CheckEditable(p),
		"WriteEnv": func() error {
			_, err := configedit.WriteEnv(p, "dev", config.EnvSettings{Provider: "freeagent", ClientID: "id", ClientSecretEnv: "SECRET"}, true)
			return err
		}(),
	} {
		if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "sudo -u nobody freshtoken") {
			t.Errorf("%s(%s) as root = %v; want a refusal saying to run freshtoken as that user", name, p, err)
		}
	}
	if entries, _ := os.ReadDir(dotfiles); len(entries) != 0 {
		t.Errorf("root wrote %v in another user's folder", entries)
	}
}
