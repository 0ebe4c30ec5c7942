//go:build unix

package config_test

import (
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/corpnet"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

const (
	withSecret    = "[env.dev]\nprovider = \"freeagent\"\nclient_id = \"id\"\nclient_secret = \"plain-secret\"\n"
	withSecretCmd = "[env.dev]\nprovider = \"freeagent\"\nclient_id = \"id\"\nclient_secret_cmd = \"pass show freeagent\"\n"
	withSecretEnv = "[env.dev]\nprovider = \"freeagent\"\nclient_id = \"id\"\nclient_secret_env = \"FA_SECRET\"\n"
	// A Redis password in the store URL opens every environment's tokens.
	withStorePassword = "[store]\nurl = \"redis://:plain-secret@127.0.0.1:6379/0\"\n\n" + withSecretEnv
	withStoreUser     = "[store]\nurl = \"redis://127.0.0.1:6379/0\"\n\n" + withSecretEnv
	// A webhook's address is often its only password (Slack's, ntfy's topic).
	withWebhook = withSecretEnv + "\n[notify]\nwebhook = \"https://hooks.example.com/services/T0/B0/plain-secret\"\n"
)

func TestLoadRefusesFilesOthersCouldChangeOrRead(t *testing.T) {
	tests := []struct {
		name, file, text string
		mode             os.FileMode
		want             string // the fix the error names, with PATH for the file; "" loads
	}{
		{"private, plain secret", "config.toml", withSecret, 0o600, ""},
		{"readable, secret from the environment", "config.toml", withSecretEnv, 0o644, ""},
		{"readable, secret from a command", "config.toml", withSecretCmd, 0o444, ""},
		{"group-writable, secret command", "config.toml", withSecretCmd, 0o620, "`chmod 600 PATH`"},
		{"world-writable", "config.toml", withSecretEnv, 0o602, "`chmod 600 PATH`"},
		// Ubuntu's and Fedora's umask of 002: one chmod, not one then another.
		{"group-writable, plain secret", "config.toml", withSecret, 0o664, "`chmod 600 PATH`"},
		{"world-writable, plain secret", "config.toml", withSecret, 0o666, "`chmod 600 PATH`"},
		{"world-readable, plain secret", "config.toml", withSecret, 0o604, "`chmod 600 PATH`"},
		{"group-readable, plain secret", "config.toml", withSecret, 0o640, "`chmod 600 PATH`"},
		{"a path the shell must see quoted", "my config.toml", withSecret, 0o644, "`chmod 600 'PATH'`"},
		{"world-readable, store password", "config.toml", withStorePassword, 0o644, "`chmod 600 PATH`"},
		{"private, store password", "config.toml", withStorePassword, 0o600, ""},
		{"world-readable, store without password", "config.toml", withStoreUser, 0o644, ""},
		{"world-readable, webhook", "config.toml", withWebhook, 0o644, "`chmod 600 PATH`"},
		{"group-readable, webhook", "config.toml", withWebhook, 0o640, "`chmod 600 PATH`"},
		{"private, webhook", "config.toml", withWebhook, 0o600, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testenv.WriteFile(t, tt.file, tt.text, tt.mode)
			f, err := config.Load(p)
			if tt.want == "" {
				if err != nil || f.Envs["dev"] == nil {
					t.Fatalf("Load = %v, want the file loaded", err)
				}
				return
			}
			if f != nil || !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("Load = %v, %v; want a configuration error", f, err)
			}
			if msg := err.Error(); !strings.Contains(msg, strings.ReplaceAll(tt.want, "PATH", p)) || strings.Contains(msg, "\n") || strings.Contains(msg, "plain-secret") {
				t.Fatalf("error %q; want one line naming %s and no secret", msg, tt.want)
			}
		})
	}
}

func TestLoadNamesTheSecretsLine(t *testing.T) {
	p := testenv.WriteFile(t, "config.toml", withSecret, 0o644)
	_, err := config.Load(p)
	if err == nil || !strings.HasPrefix(err.Error(), p+":4: client_secret: ") {
		t.Fatalf("error %v; want it at %s:4", err, p)
	}
}

// TestLoadRefusesAnotherUsersFile needs root to give a file away.
func TestLoadRefusesAnotherUsersFile(t *testing.T) {
	testenv.NeedRoot(t, "giving a file to another user")
	p := testenv.WriteFile(t, "config.toml", withSecretCmd, 0o600)
	if err := os.Chown(p, 12345, 12345); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(p)
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "belongs to uid 12345, not to you (uid 0)") {
		t.Fatalf("Load = %v; want a refusal naming the owner", err)
	}
	// Root (sudo with the user's HOME) is told to run freshtoken as that
	// user, never to take the user's file with chown, which would lock the
	// user out of their own configuration.
	if msg := err.Error(); strings.Contains(msg, "chown") || !strings.Contains(msg, "sudo -u '#12345' freshtoken") {
		t.Fatalf("Load as root = %v; want it to say to run freshtoken as uid 12345, not to chown the file", err)
	}
}

// TestLoadChecksASymlinksTarget: a symlinked config (as dotfile managers
// make) is followed, and the file it leads to is the one checked.
func TestLoadChecksASymlinksTarget(t *testing.T) {
	for _, tt := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o600, true}, {0o622, false}} {
		target := testenv.WriteFile(t, "real.toml", withSecretCmd, tt.mode)
		link := filepath.Join(t.TempDir(), "config.toml")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		_, err := config.Load(link)
		if (err == nil) != tt.ok {
			t.Errorf("a link to a %04o file: Load = %v, want ok=%v", tt.mode, err, tt.ok)
		}
	}
}

// TestLoadRefusesALinkOfAnotherUsers: a config reached through a
// symbolic link that another user owns (the config itself, or a folder on
// the way, in a folder that user owns: a team's) was followed, and its
// target, a file of this user's, checked alone: that user could point the
// link at another file of this user's (a production configuration in place
// of the sandbox's), and init wrote through it over that file. Refused,
// naming the link and its owner; a link of this user's or root's is
// followed as before.
func TestLoadRefusesALinkOfAnotherUsers(t *testing.T) {
	testenv.NeedRoot(t, "giving a symbolic link to another user")
	target := testenv.WriteFile(t, "real.toml", withSecretCmd, 0o600)
	for _, tt := range []struct {
		name  string
		owner int
		ok    bool
	}{{"root's", 0, true}, {"another user's", 12345, false}} {
		t.Run(tt.name, func(t *testing.T) {
			team := t.TempDir()
			link := filepath.Join(team, "config.toml")
			folderLink := filepath.Join(team, "configs")
			for _, l := range []struct{ name, to string }{{link, target}, {folderLink, filepath.Dir(target)}} {
				if err := os.Symlink(l.to, l.name); err != nil {
					t.Fatal(err)
				}
				if err := os.Lchown(l.name, tt.owner, tt.owner); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range []string{link, filepath.Join(folderLink, filepath.Base(target))} {
				f, err := config.Load(p)
				if tt.ok {
					if err != nil || f.Envs["dev"] == nil {
						t.Errorf("Load(%s) = %v; want it loaded", p, err)
					}
					continue
				}
				if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "belongs to uid 12345, not to you (uid 0)") || strings.Count(err.Error(), "\n") != 0 {
					t.Errorf("Load(%s) = %v; want one line naming the link's owner", p, err)
				}
			}
		})
	}
}

// TestLoadRefusesACAFileOthersCouldChange: whoever can write ca_file can
// add an authority and read every token request; such a file is refused,
// at the top level and in an environment, with the chmod that fixes it.
func TestLoadRefusesACAFileOthersCouldChange(t *testing.T) {
	ca := corpnet.NewCA(t)
	for _, where := range []string{"top", "env"} {
		t.Run(where, func(t *testing.T) {
			if err := os.Chmod(ca.File, 0o666); err != nil {
				t.Fatal(err)
			}
			line := "ca_file = \"" + ca.File + "\"\n"
			text := line + withSecretEnv
			if where == "env" {
				text = withSecretEnv + line
			}
			p := testenv.WriteFile(t, "config.toml", text, 0o600)
			if _, err := config.Load(p); !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "ca_file") || !strings.Contains(err.Error(), "`chmod go-w "+ca.File+"`") {
				t.Fatalf("Load = %v; want a configuration error at ca_file saying to chmod go-w it", err)
			}
			if err := os.Chmod(ca.File, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := config.Load(p); err != nil {
				t.Fatalf("a ca_file only its owner can change: %v", err)
			}
		})
	}
}

// TestTokenFileInAFolderOthersCanWrite: a token_file in a folder others
// may write (/tmp, a folder another group may write) is refused at its
// line: another user could put a file of theirs there first, which the
// keeper cannot replace (the sticky bit) and the user's scripts would read
// as the user's token, sending their requests to that user's account. A
// folder only the user's own private group may write (0775, as a umask of
// 002 makes every folder on Ubuntu and Fedora) is the user's alone: it was
// refused too.
func TestTokenFileInAFolderOthersCanWrite(t *testing.T) {
	shared := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	text := withSecretEnv + "token_file = \"" + filepath.Join(shared, "token") + "\"\n"
	p := testenv.WriteFile(t, "config.toml", text, 0o600)
	if _, err := config.Load(p); err != nil {
		t.Fatalf("a token file in a folder of the user's own: %v", err)
	}
	refused := func(t *testing.T, shown string) {
		t.Helper()
		_, err := config.Load(p)
		if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), ":5: env.dev.token_file: its folder "+shared+" may be written by group or others (mode "+shown+")") ||
			!strings.Contains(err.Error(), "a folder of your own") || strings.Contains(err.Error(), "chmod") {
			t.Errorf("Load = %v; want a configuration error at token_file saying to use a folder of one's own", err)
		}
	}
	t.Run("anyone's, sticky", func(t *testing.T) {
		// The mode as chmod set it, the sticky bit included: /tmp was said
		// to have mode 0777.
		if err := os.Chmod(shared, 0o777|os.ModeSticky); err != nil {
			t.Fatal(err)
		}
		refused(t, "1777")
	})
	t.Run("the user's private group", func(t *testing.T) {
		skipUnlessPrivateGroup(t)
		if err := errors.Join(os.Chmod(shared, 0o775), os.Chown(shared, -1, os.Getegid())); err != nil {
			t.Fatal(err)
		}
		if _, err := config.Load(p); err != nil {
			t.Errorf("a token file in a folder only the user's private group may write: %v", err)
		}
	})
	t.Run("another group", func(t *testing.T) {
		group := testenv.AnotherGroup(t)
		if group == -1 {
			testenv.Missing(t, "a folder of a group of the user's needs a supplementary group, or root")
		}
		if err := errors.Join(os.Chmod(shared, 0o770), os.Chown(shared, -1, group)); err != nil {
			t.Fatal(err)
		}
		refused(t, "0770")
	})
}

// skipUnlessPrivateGroup skips a test of the user's private group where
// the user's group is not one (named as the user is).
func skipUnlessPrivateGroup(t *testing.T) {
	t.Helper()
	u, uerr := user.Current()
	g, gerr := user.LookupGroupId(strconv.Itoa(os.Getegid()))
	if uerr != nil || gerr != nil || u.Username != g.Name {
		t.Skipf("the user's group is no private group (user %v, group %v): %v", u, g, errors.Join(uerr, gerr))
	}
}

// TestDiscoveryCacheInAFolderOfYourOwnGroup: a folder made with a umask
// of 002 (Ubuntu's, Fedora's) is 0775, writable by the user's private
// group, which no one else is in: it is the user's alone, and the
// discovery cache beside a configuration there is read and written, its
// stale copy used when the provider cannot be reached. It was neither: in
// such folders, renewals that needed the document failed for as long as
// the provider's discovery address was down. A folder another group may
// write (a team's) still has its cache unused.
func TestDiscoveryCacheInAFolderOfYourOwnGroup(t *testing.T) {
	t.Run("the user's private group", func(t *testing.T) {
		skipUnlessPrivateGroup(t)
		clock := fakeclock.New()
		m := newMetadataServer(t, "/realms/x", oidc, nil)
		dir := t.TempDir()
		path := issuerConfig(t, dir, m.issuer, "")
		if err := errors.Join(os.Chmod(dir, 0o775), os.Chown(dir, -1, os.Getegid())); err != nil {
			t.Fatal(err)
		}
		if _, err := openIdP(t, path, clock.Now, nil).Endpoints(t.Context()); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "discovery", "*.json"))
		if len(files) != 1 {
			t.Fatalf("cache files: %v; want the document cached", files)
		}
		if err := os.Chmod(filepath.Dir(files[0]), 0o775); err != nil { // as mkdir -p makes it
			t.Fatal(err)
		}
		clock.Advance(config.DefaultDiscoveryLifetime + time.Second)
		m.Close()
		ep, err := openIdP(t, path, clock.Now, nil).Endpoints(t.Context())
		if err != nil || ep.TokenURL != m.issuer+"/token" {
			t.Fatalf("with the provider down, Endpoints = %+v, %v; want the stale cached token endpoint %s/token", ep, err, m.issuer)
		}
	})
	t.Run("another group", func(t *testing.T) {
		group := testenv.AnotherGroup(t)
		if group == -1 {
			testenv.Missing(t, "a folder of a group of the user's needs a supplementary group, or root")
		}
		m, dir, path, _ := forgedCache(t)
		if err := errors.Join(os.Chmod(dir, 0o775), os.Chown(dir, -1, group)); err != nil {
			t.Fatal(err)
		}
		ep, err := openIdP(t, path, nil, nil).Endpoints(t.Context())
		if err != nil || ep.TokenURL != m.issuer+"/token" {
			t.Fatalf("Endpoints = %+v, %v; want the fetched token endpoint %s/token", ep, err, m.issuer)
		}
	})
}

// TestOpenRefusesACAFileMadeWritableSince: a ca_file made writable by
// others after the configuration was read is refused when a source is
// opened from that reading: a long-running proxy keeps its reading while
// the configuration file is unchanged, and its keeper's renewals, each
// through a source opened anew, trusted whatever authority was added.
func TestOpenRefusesACAFileMadeWritableSince(t *testing.T) {
	ca := corpnet.NewCA(t)
	p := testenv.WriteFile(t, "config.toml", withSecretEnv+"ca_file = \""+ca.File+"\"\n", 0o600)
	f, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Open(context.Background(), config.OpenOptions{}); err != nil {
		t.Fatalf("a ca_file only its owner can change: %v", err)
	}
	if err := os.Chmod(ca.File, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Open(context.Background(), config.OpenOptions{}); !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "ca_file") || !strings.Contains(err.Error(), "`chmod go-w "+ca.File+"`") {
		t.Fatalf("Open with a ca_file made writable by others since the reading = %v; want a configuration error at ca_file saying to chmod go-w it", err)
	}
}

// TestSecretWrittenInItsCommandIsRefusedWhereOthersCanRead: a
// client_secret_cmd that prints a secret written in the command itself
// (echo, printf, a here-document) holds the secret in the file as much as a
// plain client_secret does, which a file that group or others can read
// may not hold; it was accepted. It is refused when the secret is fetched,
// in one line saying what to do and never the secret; a command that
// gets the secret from elsewhere, or the same command in a private file,
// is accepted, and a chmod is enough, with no new load.
func TestSecretWrittenInItsCommandIsRefusedWhereOthersCanRead(t *testing.T) {
	const secret = "s3cr3t-Written-In-The-File"
	tests := []struct {
		name, cmd string
		mode      os.FileMode
		refused   bool
	}{
		{"echo, readable by others", "echo " + secret, 0o644, true},
		{"printf, readable by the group", "printf '%s\\n' '" + secret + "'", 0o640, true},
		{"a here-document, readable by others", "cat <<EOF\n" + secret + "\nEOF", 0o604, true},
		{"echo, private", "echo " + secret, 0o600, false},
		{"a file it reads, readable by others", "cat SECRETFILE", 0o644, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			secretFile := testenv.WriteFile(t, "secret", secret+"\n", 0o600)
			cmd := strings.ReplaceAll(tt.cmd, "SECRETFILE", secretFile)
			p := filepath.Join(dir, "config.toml")
			text := "[env.dev]\nprovider = \"freeagent\"\nclient_id = \"id\"\nclient_secret_cmd = '''" + cmd + "'''\n"
			if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tt.mode); err != nil {
				t.Fatal(err)
			}
			f, err := config.Load(p)
			if err != nil {
				t.Fatalf("Load = %v; want it loaded (the secret is not known before the command runs)", err)
			}
			got, err := f.Envs["dev"].ClientSecretValue(context.Background())
			if !tt.refused {
				if err != nil || got != secret {
					t.Fatalf("ClientSecretValue = %q, %v; want the secret", got, err)
				}
				return
			}
			if got != "" || !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("ClientSecretValue = %q, %v; want a configuration error", got, err)
			}
			msg := err.Error()
			if want := p + ":4: env.dev.client_secret_cmd: "; !strings.HasPrefix(msg, want) || !strings.Contains(msg, "`chmod 600 "+p+"`") ||
				strings.Contains(msg, "\n") || strings.Contains(msg, secret) {
				t.Fatalf("error %q; want one line at %s naming `chmod 600 %s`, and no secret", msg, want, p)
			}
			if err := os.Chmod(p, 0o600); err != nil {
				t.Fatal(err)
			}
			if got, err := f.Envs["dev"].ClientSecretValue(context.Background()); err != nil || got != secret {
				t.Fatalf("after chmod 600, ClientSecretValue = %q, %v; want the secret", got, err)
			}
		})
	}
}
