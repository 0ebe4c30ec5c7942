package configedit_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gofrs/flock"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

func TestWriteEnvKeepsTheRest(t *testing.T) {
	p := testenv.WriteFile(t, "config.toml", `# my freshtoken config
default_env = "sandbox"

[env.sandbox]
# the sandbox app
provider = "freeagent-sandbox"
client_id = "old"

[env.production]   # keep me
provider = "freeagent"
client_id = "prod"
`, 0o600)
	f, err := configedit.WriteEnv(p, "sandbox", config.EnvSettings{Provider: "freeagent-sandbox", ClientID: "new", ClientSecretEnv: "S"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if f.Envs["sandbox"].ClientID != "new" || f.Envs["production"].ClientID != "prod" {
		t.Fatalf("envs after write: %+v %+v", f.Envs["sandbox"], f.Envs["production"])
	}
	text, _ := os.ReadFile(p)
	for _, keep := range []string{"# my freshtoken config", "[env.production]   # keep me", `default_env = "sandbox"`} {
		if !strings.Contains(string(text), keep) {
			t.Errorf("lost %q:\n%s", keep, text)
		}
	}
	if strings.Count(string(text), "default_env") != 1 || strings.Contains(string(text), `"old"`) {
		t.Errorf("bad rewrite:\n%s", text)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode %o, want 600", fi.Mode().Perm())
	}
	if _, err := configedit.WriteEnv(p, "broken", config.EnvSettings{Provider: "freeagent"}, false); err == nil {
		t.Fatal("wrote an environment without a client id")
	}
	if after, _ := os.ReadFile(p); string(after) != string(text) {
		t.Fatal("a rejected write changed the file")
	}
}

// TestRewritesOfFilesFromOtherEditors: init and remove edit a file as
// other editors save it (a byte-order mark, CRLF line ends, a line longer
// than 64 KiB, a comment after default_env, a multi-line string) without losing or keeping
// anything they should not, or failing on what Load reads.
func TestRewritesOfFilesFromOtherEditors(t *testing.T) {
	env := func(name, id string) string {
		return "[env." + name + "]\nprovider = \"freeagent\"\nclient_id = \"" + id + "\"\nclient_secret_env = \"S\"\n"
	}
	for _, tc := range []struct{ name, text string }{
		{"byte-order mark", "\ufeff" + env("dev", "old") + env("other", "keep")},
		{"byte-order mark and CRLF", "\ufeff" + strings.ReplaceAll(env("dev", "old")+env("other", "keep"), "\n", "\r\n")},
		{"CRLF", strings.ReplaceAll(`default_env = "dev"`+"\n"+env("dev", "old")+env("other", "keep"), "\n", "\r\n")},
		{"long line", env("dev", "old") + "# " + strings.Repeat("x", 70<<10) + "\n" + env("other", "keep")},
		{"comment after default_env", `default_env = "dev"  # the one I use` + "\n" + env("dev", "old") + env("other", "keep")},
		{"lines like a header and a comment in a multi-line string", // a shell test in a client_secret_cmd: the edit took it for a table's header and cut the string in two
			"[env.other]\nprovider = \"freeagent\"\nclient_id = \"keep\"\nclient_secret_cmd = \"\"\"\n[ -f ~/.s ] && cat ~/.s\n[env.dev]\n# not a comment\n\"\"\"\n" + env("dev", "old")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testenv.WriteFile(t, "config.toml", tc.text, 0o600)
			if _, err := config.Load(p); err != nil {
				t.Fatal(err)
			}
			f, err := configedit.RemoveEnv(testenv.WriteFile(t, "config.toml", tc.text, 0o600), "dev")
			if err != nil {
				t.Fatalf("RemoveEnv: %v", err)
			}
			if _, ok := f.Envs["dev"]; ok || f.Envs["other"] == nil {
				t.Fatalf("after RemoveEnv of the file as it was: envs %v", f.Names())
			}
			sameLineEnds := func(edit string) {
				t.Helper()
				got, _ := os.ReadFile(p)
				if crlf := strings.Count(string(got), "\r\n"); strings.Contains(tc.text, "\r\n") && crlf != strings.Count(string(got), "\n") || !strings.Contains(tc.text, "\r") && crlf > 0 {
					t.Errorf("after %s, the file's line ends changed:\n%q", edit, got)
				}
				if bom := "\ufeff"; strings.HasPrefix(string(got), bom) != strings.HasPrefix(tc.text, bom) || strings.Count(string(got), bom) > 1 {
					t.Errorf("after %s, the file's byte-order mark changed:\n%.40q", edit, got)
				}
			}
			f, err = configedit.WriteEnv(p, "dev", config.EnvSettings{Provider: "freeagent", ClientID: "new", ClientSecretEnv: "S"}, true)
			if err != nil {
				t.Fatalf("WriteEnv: %v", err)
			}
			if f.Envs["dev"].ClientID != "new" || f.Envs["other"] == nil || f.Envs["other"].ClientID != "keep" {
				t.Fatalf("after WriteEnv: dev %+v, other %+v", f.Envs["dev"], f.Envs["other"])
			}
			sameLineEnds("WriteEnv")
			f, err = configedit.RemoveEnv(p, "dev")
			if err != nil {
				t.Fatalf("RemoveEnv: %v", err)
			}
			sameLineEnds("RemoveEnv")
			if _, ok := f.Envs["dev"]; ok || f.Envs["other"] == nil || f.Envs["other"].ClientID != "keep" {
				t.Fatalf("after RemoveEnv: envs %v", f.Names())
			}
			if text, _ := os.ReadFile(p); strings.Contains(string(text), "default_env") {
				t.Errorf("default_env still names the removed environment:\n%.300s", text)
			}
		})
	}
}

// TestEditsKeepTheCommentsAboveTheNextTable: init and remove rewrite one
// environment's table; the comments written above the table after it
// belong to that one and stay where they are (they went with the table
// before them).
func TestEditsKeepTheCommentsAboveTheNextTable(t *testing.T) {
	const above = "# my live books: careful\n# (ask Sam first)\n[env.other]\n"
	text := "[env.dev]\nprovider = \"freeagent\"\nclient_id = \"old\"\nclient_secret_env = \"S\"\n\n" +
		above + "provider = \"freeagent\"\nclient_id = \"keep\"\nclient_secret_env = \"S\"\n"
	p := testenv.WriteFile(t, "config.toml", text, 0o600)
	if _, err := configedit.WriteEnv(p, "dev", config.EnvSettings{Provider: "freeagent", ClientID: "new", ClientSecretEnv: "S"}, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !strings.Contains(string(got), above) || !strings.Contains(string(got), `client_id = "new"`) {
		t.Fatalf("after WriteEnv of dev:\n%s", got)
	}
	if _, err := configedit.RemoveEnv(p, "dev"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !strings.HasPrefix(string(got), above) {
		t.Fatalf("after RemoveEnv of dev:\n%s", got)
	}
}

// TestEditsKeepTheCommentsAfterTheLastTable: the comments after the last
// table's keys are the file's, not the table's: init rewriting that table
// and remove taking it out both keep them (they went with the table, as
// those above the next table once did). remove takes with a table the
// comments written directly above its header, as those above the next
// table are its own when the table before it is rewritten.
func TestEditsKeepTheCommentsAfterTheLastTable(t *testing.T) {
	const (
		other = "[env.other]\nprovider = \"freeagent\"\nclient_id = \"keep\"\nclient_secret_env = \"S\"\n\n"
		a     = "[env.a]\nprovider = \"freeagent-sandbox\"\nclient_id = \"x\"\nclient_secret_env = \"S\"\n"
		notes = "# my notes about the production app\n# client_id for prod is in 1Password"
	)
	settings := config.EnvSettings{Provider: "freeagent-sandbox", ClientID: "new", ClientSecretEnv: "S"}
	for _, tc := range []struct{ name, text string }{
		{"after another table", other + a + notes + "\n"},
		{"no final newline", other + a + notes},
		{"CRLF", strings.ReplaceAll(other+a+notes+"\n", "\n", "\r\n")},
		{"blank lines around them", other + a + "\n\n" + notes + "\n\n\n"},
		{"the only table", a + notes + "\n"},
		{"the only table, default_env naming it", "default_env = \"a\"\n\n" + a + notes + "\n"},
		{"after a sub-table", other + a + "\n[env.a.token_params]\nfoo = \"bar\"\n" + notes + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keeps := func(edit string, p string) string {
				t.Helper()
				got, _ := os.ReadFile(p)
				if !strings.Contains(strings.ReplaceAll(string(got), "\r\n", "\n"), notes+"\n") {
					t.Errorf("after %s the comments are gone:\n%s", edit, got)
				}
				return string(got)
			}
			p := testenv.WriteFile(t, "config.toml", tc.text, 0o600)
			if _, err := configedit.WriteEnv(p, "a", settings, false); err != nil {
				t.Fatal(err)
			}
			if got := keeps("init -e a", p); !strings.Contains(got, `client_id = "new"`) || strings.Contains(got, "foo") {
				t.Errorf("init -e a did not rewrite the table:\n%s", got)
			}
			f, err := configedit.RemoveEnv(testenv.WriteFile(t, "config.toml", tc.text, 0o600), "a")
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := f.Envs["a"]; ok {
				t.Errorf("remove -e a left it: %v", f.Names())
			}
			if got := keeps("remove -e a", f.Path); strings.Contains(got, "client_id = \"x\"") || strings.Contains(got, "default_env") {
				t.Errorf("remove -e a left some of it:\n%s", got)
			}
		})
	}
	t.Run("comments directly above a removed table", func(t *testing.T) {
		const own = "# a: the sandbox app\n# (its secret is in 1Password)\n"
		p := testenv.WriteFile(t, "config.toml", other+"# about other, apart\n\n"+own+a+notes+"\n", 0o600)
		f, err := configedit.RemoveEnv(p, "a")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(f.Path)
		if want := other + "# about other, apart\n\n" + notes + "\n"; string(got) != want {
			t.Errorf("after remove -e a:\n%s\nwant:\n%s", got, want)
		}
	})
}

// TestEditsOfATableWrittenElsewhere: an environment (or [store]) written
// as an inline table, as dotted keys, or with a sub-table apart from its
// table is not one init, remove or store migrate can edit as a table: the
// edit is refused at the line that holds it, the file left as it was.
// remove said it had removed an environment written inline, deleting its
// tokens and default_env, and left it in the file; init and migrate named
// a line the file did not have.
func TestEditsOfATableWrittenElsewhere(t *testing.T) {
	const b = "[env.b]\nprovider = \"freeagent\"\nclient_id = \"def\"\nclient_secret_env = \"S\"\n"
	settings := config.EnvSettings{Provider: "freeagent", ClientID: "new", ClientSecretEnv: "S"}
	remove := func(p string) error {
		_, err := configedit.RemoveEnvAfter(p, "a", func() error { t.Error("the tokens were to be deleted"); return nil })
		return err
	}
	init := func(p string) error { _, err := configedit.WriteEnv(p, "a", settings, false); return err }
	migrate := func(p string) error { _, err := configedit.SetStoreURL(p, "redis://127.0.0.1:1/0"); return err }
	for _, tc := range []struct {
		name, text, want string
		edit             func(string) error
	}{
		{"inline table, remove", "default_env = \"a\"\n\n[env]\na = { provider = \"freeagent\", client_id = \"abc\", client_secret_env = \"S\" }\n", ":4: env.a: ", remove},
		{"inline table, init", "[env]\na = { provider = \"freeagent\", client_id = \"abc\", client_secret_env = \"S\" }\n", ":2: env.a: ", init},
		{"dotted keys, remove", "env.a.provider = \"freeagent\"\nenv.a.client_id = \"abc\"\nenv.a.client_secret_env = \"S\"\n\n" + b, ":1: env.a: ", remove},
		{"sub-table apart, remove", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"abc\"\nclient_secret_env = \"S\"\n\n" + b + "\n[env.a.token_params]\nfoo = \"bar\"\n", ":11: env.a: ", remove},
		{"sub-table apart, init", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"abc\"\nclient_secret_env = \"S\"\n\n" + b + "\n[env.a.token_params]\nfoo = \"bar\"\n", ":11: env.a: ", init},
		{"store as a dotted key, migrate", "store.url = \"file:///somewhere\"\n\n" + b, ":1: store: ", migrate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testenv.WriteFile(t, "config.toml", tc.text, 0o600)
			if _, err := config.Load(p); err != nil {
				t.Fatal(err)
			}
			err := tc.edit(p)
			if err == nil || !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing was written") {
				t.Errorf("edit: %v; want it refused at %q, nothing written", err, tc.want)
			}
			if got, _ := os.ReadFile(p); string(got) != tc.text {
				t.Errorf("the file changed:\n%s", got)
			}
		})
	}
}

// TestConcurrentEditsAreAllKept: init, remove and store migrate, run at
// once (two scripts, two terminals), each read the file, edit it and write
// it back; no edit may undo another's.
func TestConcurrentEditsAreAllKept(t *testing.T) {
	p := testenv.WriteFile(t, "config.toml", "# mine\n", 0o600)
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Go(func() {
			if _, err := configedit.WriteEnv(p, n, config.EnvSettings{Provider: "freeagent", ClientID: n, ClientSecretEnv: "S"}, false); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	f, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Names(); !slices.Equal(got, names) {
		t.Fatalf("after %d edits at once the file has %v", len(names), got)
	}
}

// TestEditsRemoveTheLitterOfCrashedEditsAndKilledImports: the next edit of
// a configuration removes the temp file of an edit killed before its rename
// and the staged copy an older freshtoken's import killed before it could
// remove it (either may hold a client secret); it leaves other files' temp
// files and a copy still in use (locked) alone.
func TestEditsRemoveTheLitterOfCrashedEditsAndKilledImports(t *testing.T) {
	p := testenv.WriteFile(t, "config.toml", "# mine\n", 0o600)
	dev := config.EnvSettings{Provider: "freeagent", ClientID: "x", ClientSecretEnv: "S"}
	dir := filepath.Dir(p)
	litter := filepath.Join(dir, ".config.toml.tmp-123456")
	killed := filepath.Join(dir, ".config.toml.import-123456")
	inUse := filepath.Join(dir, ".config.toml.import-654321")
	other := filepath.Join(dir, ".other.toml.tmp-123456")
	for _, f := range []string{litter, killed, inUse, other} {
		if err := os.WriteFile(f, []byte("client_secret = \"s\"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	lock := flock.New(inUse)
	if ok, err := lock.TryLock(); !ok || err != nil {
		t.Fatalf("locking the copy in use: %v, %v", ok, err)
	}
	defer lock.Unlock()
	if _, err := configedit.WriteEnv(p, "dev", dev, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(litter); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the crashed edit's temp file is still there: %v", err)
	}
	if _, err := os.Stat(killed); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the killed import's copy is still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another file's temp file was removed: %v", err)
	}
	if _, err := os.Stat(inUse); err != nil {
		t.Errorf("the copy in use was removed: %v", err)
	}
}

// TestPreviewEnvsWritesNothing: an import opens the stores of the
// environments it is about to write from the configuration as it will be,
// which PreviewEnvs gives with nothing written (a staged copy of it, with
// the client secret, used to be written beside it), and refuses, saying
// nothing was written, what the file would not load with.
func TestPreviewEnvsWritesNothing(t *testing.T) {
	p := testenv.WriteFile(t, "config.toml", "# mine\n", 0o600)
	dev := config.EnvSettings{Provider: "freeagent", ClientID: "x", ClientSecret: "s3cr3t"}
	f, err := configedit.PreviewEnvs(p, []configedit.NamedEnv{{Name: "dev", Settings: dev}}, "dev")
	if err != nil || f.Envs["dev"] == nil || f.DefaultEnv != "dev" || f.Path != p {
		t.Fatalf("PreviewEnvs: %v, %+v; want dev, the default, at %s", err, f, p)
	}
	if b, _ := os.ReadFile(p); string(b) != "# mine\n" {
		t.Errorf("the preview changed the configuration: %q", b)
	}
	if entries, _ := os.ReadDir(filepath.Dir(p)); len(entries) != 1 {
		t.Errorf("the preview left files beside the configuration: %v", entries)
	}
	bad := dev
	bad.TokenURL = "ftp://example.com/token"
	if _, err := configedit.PreviewEnvs(p, []configedit.NamedEnv{{Name: "dev", Settings: bad}}, "dev"); err == nil || !strings.Contains(err.Error(), "token_url") || !strings.Contains(err.Error(), "nothing was written") {
		t.Errorf("PreviewEnvs of a bad token_url: %v; want it refused at token_url, nothing written", err)
	}
}

// TestAnEditThatCannotBeWrittenSaysSo: a configuration that cannot be
// written on a full disk (of data, or with no file left; its folder not
// made yet) is a configuration error naming the file, not the temp file's,
// saying the disk is full, what to do and that nothing was written, and
// the file is left as it was. It said "cannot write it (no space left on
// device); nothing was written", with no next step. One with no file left
// says to remove some files, not to free space, which `df -h` shows free.
// One on a read-only disk says so, and where to keep it instead.
func TestAnEditThatCannotBeWrittenSaysSo(t *testing.T) {
	const fix = ", as the disk holding it is full (no space left on device); free some space there, or keep the configuration on another disk (--config PATH), and run the command again (nothing was written)"
	// With no file left, that is what to free: `df -h` shows space free.
	const filesFix = ", as the disk holding it is full (no space left on device); remove some files there (every inode on that disk is taken: see `df -i`), or keep the configuration on another disk (--config PATH), and run the command again (nothing was written)"
	s := config.EnvSettings{Provider: "freeagent", ClientID: "x", ClientSecretEnv: "S"}
	t.Run("of data", func(t *testing.T) {
		p := testdisk.SmallFile(t, "64k", "config.toml", []byte("# mine\n"))
		defer testdisk.Fill(t, filepath.Dir(p))()
		_, err := configedit.WriteEnv(p, "dev", s, false)
		if want := p + ": cannot write it" + fix; !errors.Is(err, config.ErrInvalid) || err.Error() != want {
			t.Errorf("WriteEnv on a full disk: %v; want a configuration error: %s", err, want)
		}
		if b, _ := os.ReadFile(p); string(b) != "# mine\n" {
			t.Errorf("the file holds %q, want it as it was", b)
		}
	})
	t.Run("of files", func(t *testing.T) {
		dir := testdisk.FilesLeft(t, 1)
		p := filepath.Join(dir, "config.toml")
		if err := os.WriteFile(p, []byte("# mine\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		testdisk.FillFiles(t, dir)
		_, err := configedit.RemoveEnv(p, "dev")
		if want := p + ": cannot write it" + filesFix; err == nil || err.Error() != want {
			t.Errorf("RemoveEnv on a disk with no file left: %v; want %s", err, want)
		}
		if b, _ := os.ReadFile(p); string(b) != "# mine\n" {
			t.Errorf("the file holds %q, want it as it was", b)
		}
	})
	t.Run("a quota spent", func(t *testing.T) {
		// `df -h` shows room on the disk: it said the disk was full.
		dir := testdisk.Quota(t)
		p := filepath.Join(dir, "config.toml")
		if err := os.WriteFile(p, []byte("# mine\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		testdisk.Fill(t, dir)
		_, err := configedit.WriteEnv(p, "dev", s, false)
		if want := p + ": cannot write it, as the disk holding it has no room left under your disk quota (disk quota exceeded); free some of your space there (your disk quota is spent; an administrator can raise it), or keep the configuration on another disk (--config PATH), and run the command again (nothing was written)"; !errors.Is(err, config.ErrInvalid) || err.Error() != want {
			t.Errorf("WriteEnv with the quota spent: %v; want a configuration error: %s", err, want)
		}
		if b, _ := os.ReadFile(p); string(b) != "# mine\n" {
			t.Errorf("the file holds %q, want it as it was", b)
		}
	})
	t.Run("read-only", func(t *testing.T) {
		p := testdisk.SmallFile(t, "64k", "config.toml", []byte("# mine\n"))
		testdisk.ReadOnly(t, filepath.Dir(p))
		_, err := configedit.WriteEnv(p, "dev", s, false)
		if want := p + ": cannot write it, as the disk holding it is read-only (read-only file system); keep the configuration on a disk you can write to (--config PATH), and run the command again (nothing was written)"; err == nil || err.Error() != want {
			t.Errorf("WriteEnv on a read-only disk: %v; want %s", err, want)
		}
	})
	t.Run("its folder to be made", func(t *testing.T) {
		dir := testdisk.NoFilesLeft(t)
		p := filepath.Join(dir, "freshtoken", "config.toml")
		_, err := configedit.WriteEnv(p, "dev", s, false)
		if want := p + ": cannot create its folder" + filesFix; err == nil || err.Error() != want {
			t.Errorf("WriteEnv of a new file on a disk with no file left: %v; want %s", err, want)
		}
	})
}

// TestCheckEditableCountsTheFolderAnEditMakes: the first edit of a
// configuration whose folder is missing makes the folder, then its new
// file: two of the disk's files (inodes). With one left, the check before
// any question refuses, saying to remove some files; with two, it passes
// and the edit writes the file. The check made one file and passed with
// one left: init asked every question, and then could not write.
func TestCheckEditableCountsTheFolderAnEditMakes(t *testing.T) {
	for _, left := range []int{1, 2} {
		dir := testdisk.FilesLeft(t, left)
		p := filepath.Join(dir, "freshtoken", "config.toml")
		err := configedit.CheckEditable(p)
		if left == 1 {
			if want := p + ": cannot write it, as the disk holding it is full (no space left on device); remove some files there (every inode on that disk is taken: see `df -i`), or keep the configuration on another disk (--config PATH), and run the command again (nothing was written)"; err == nil || err.Error() != want {
				t.Errorf("CheckEditable with one file left for the folder and the file: %v; want %s", err, want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("CheckEditable with the two files the edit needs: %v", err)
		}
		if _, err := configedit.WriteEnv(p, "dev", config.EnvSettings{Provider: "freeagent", ClientID: "x", ClientSecretEnv: "S"}, false); err != nil {
			t.Errorf("the edit, with the check passed: %v", err)
		}
	}
}

// TestAReadOnlyFileIsNotEdited: a configuration file its owner made
// read-only (chmod 400) is refused by every edit (init, init --default,
// remove, store migrate), naming the file and how to make it writable,
// and is left as it was, mode included: the edit replaced it, made
// writable again (0600), without a word.
func TestAReadOnlyFileIsNotEdited(t *testing.T) {
	const text = "default_env = \"a\"\n\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"id\"\nclient_secret_env = \"S\"\n\n[env.b]\nprovider = \"freeagent\"\nclient_id = \"id\"\nclient_secret_env = \"S\"\n"
	s := config.EnvSettings{Provider: "freeagent", ClientID: "other", ClientSecretEnv: "S"}
	for name, edit := range map[string]func(p string) (*config.File, error){
		"WriteEnv":      func(p string) (*config.File, error) { return configedit.WriteEnv(p, "c", s, true) },
		"SetDefaultEnv": func(p string) (*config.File, error) { return configedit.SetDefaultEnv(p, "b") },
		"RemoveEnv":     func(p string) (*config.File, error) { return configedit.RemoveEnv(p, "a") },
		"SetStoreURL":   func(p string) (*config.File, error) { return configedit.SetStoreURL(p, "file:///tmp/elsewhere") },
	} {
		t.Run(name, func(t *testing.T) {
			p := testenv.WriteFile(t, "config.toml", text, 0o600)
			if err := os.Chmod(p, 0o400); err != nil {
				t.Fatal(err)
			}
			before, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			_, err = edit(p)
			want := p + ": is read-only (mode 0400), so freshtoken does not edit it; make it writable (`chmod u+w " + p + "`)"
			if runtime.GOOS == "windows" {
				want = p + ": is read-only (mode 0444), so freshtoken does not edit it; clear its read-only attribute"
			}
			if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "nothing was written") {
				t.Errorf("%s of a read-only file: %v; want %s …, nothing was written", name, err, want)
			}
			fi, err := os.Stat(p)
			if b, _ := os.ReadFile(p); err != nil || string(b) != text || fi.Mode() != before.Mode() {
				t.Errorf("the file was changed: %v, mode %v:\n%s", err, fi.Mode(), b)
			}
		})
	}
}

// TestAnEditKeepsAChangeMadeMeanwhile: the file written by another
// program (an editor saving it; an edit on a system where edits do not
// take turns) while remove deleted the tokens (waiting for the renewal
// lock, then a keychain or Redis) is kept, and the edit refused, saying to
// run it again; the edit replaced it with its own text, which lacked the
// change.
func TestAnEditKeepsAChangeMadeMeanwhile(t *testing.T) {
	env := func(name string) string {
		return "[env." + name + "]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret_env = \"S\"\n\n"
	}
	p := testenv.WriteFile(t, "config.toml", env("a")+env("b"), 0o600)
	saved := env("a") + env("b") + env("added-meanwhile")
	_, err := configedit.RemoveEnvAfter(p, "a", func() error { return os.WriteFile(p, []byte(saved), 0o600) })
	if err == nil || !strings.Contains(err.Error(), "run the command again") {
		t.Errorf("RemoveEnvAfter: %v; want a refusal saying to run it again", err)
	}
	if got, _ := os.ReadFile(p); string(got) != saved {
		t.Errorf("the file is\n%s\nwant the other program's\n%s", got, saved)
	}
}

// TestRemovingTheDefaultWrittenWithASpace: remove takes out a default_env
// naming the environment with a space after its name, as Load reads it.
func TestRemovingTheDefaultWrittenWithASpace(t *testing.T) {
	p := testenv.WriteFile(t, "config.toml", "default_env = \"a \"\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n[env.b]\nprovider = \"freeagent\"\nclient_id = \"y\"\n", 0o600)
	if _, err := configedit.RemoveEnvAfter(p, "a", nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "default_env") {
		t.Fatalf("default_env kept:\n%s", b)
	}
}

// TestEditsKeepTheTableAsWritten: init changing one setting of an
// environment (its redirect URI, where its client secret is read from)
// changes those lines alone: the comments in the table, inline ones too,
// stay, and so does how each other value was written (60d, a multi-line
// array, a resource as one string); a key set anew keeps its line's
// comment, one no longer set goes, one new comes after the last key. The
// whole table was written anew: every comment in it was lost, 60d became
// 1440h0m0s and the keys came in another order.
func TestEditsKeepTheTableAsWritten(t *testing.T) {
	const before = `# the identity provider
[env.idp] # ask Sam before changing
api_url = "https://api.example.com/"   # API root
auth_url = "https://login.example.com/authorize"
token_url = "https://login.example.com/token"
# Ask for offline access, or no refresh token comes
scopes = [
  "read",  # the books
  "offline_access",
]
client_id = "my-id"
client_secret_env = "IDP_SECRET" # from the team's vault
redirect_uri = "http://127.0.0.1:8787/callback" # registered 2024
resource = "https://api.example.com"
refresh_idle_limit = "60d"

# notes on other
[env.other]
provider = "freeagent"
client_id = "keep"
client_secret_env = "S"
`
	// What changes, and nothing else: the secret's source, the redirect
	// URI (its comment kept), and the new key after the last.
	after := strings.NewReplacer(
		`client_secret_env = "IDP_SECRET" # from the team's vault`+"\n", "",
		`redirect_uri = "http://127.0.0.1:8787/callback" # registered 2024`, `redirect_uri = "http://127.0.0.1:9000/callback"  # registered 2024`,
		`refresh_idle_limit = "60d"`+"\n", `refresh_idle_limit = "60d"`+"\n"+`client_secret_cmd = "pass show idp"`+"\n",
	).Replace(before)
	p := testenv.WriteFile(t, "config.toml", before, 0o600)
	f, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	s := f.Settings["idp"] // as init merges its flags into them
	s.ClientSecretEnv, s.ClientSecretCmd, s.RedirectURI = "", "pass show idp", "http://127.0.0.1:9000/callback"
	if _, err := configedit.WriteEnv(p, "idp", s, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != after || after == before {
		t.Fatalf("after init -e idp:\n%s\nwant:\n%s", got, after)
	}
}

// TestEditsTheMergeMisreadsWriteTheTableAnew: a value the line-by-line
// merge misreads (an array whose multi-line string closes before its
// bracket, so that the array seemed to run on, swallowing the next key)
// gets the table written anew, meaning what init was asked to write. The
// merge kept the swallowed `client_secret_keyring = false` and added
// `client_secret_keyring = true`: init failed on a key written twice,
// in a file it had written itself.
func TestEditsTheMergeMisreadsWriteTheTableAnew(t *testing.T) {
	p := testenv.WriteFile(t, "config.toml", `[env.a]
provider = "freeagent"
client_id = "id" # from the dashboard
scopes = ["a", """
b"""]
client_secret_keyring = false
`, 0o600)
	f, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	s := f.Settings["a"]
	s.ClientSecretKeyring = true
	if _, err := configedit.WriteEnv(p, "a", s, false); err != nil {
		t.Fatalf("init -e a: %v", err)
	}
	g, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Settings["a"]; !reflect.DeepEqual(got, s) {
		t.Fatalf("after init -e a: %+v, want %+v", got, s)
	}
}

// TestEditsKeepTheLinesAroundAStringOfQuotes: a string in triple quotes
// that ends in a quote (the string a", closed by four quotes) is read to
// its end, so the keys after it stay as they were written, each with its
// comment. The quote was read as opening another string, the array as
// running on over the next key: the redirect URI's comment was moved onto
// the scopes line and the scopes' own lost.
func TestEditsKeepTheLinesAroundAStringOfQuotes(t *testing.T) {
	const before = `[env.a]
provider = "freeagent"
client_id = "id"
scopes = ['''a'''', """b""""", "c"] # the books
redirect_uri = "http://127.0.0.1:8787/callback" # registered 2024
`
	after := strings.Replace(before, ":8787/callback\" #", ":9000/callback\"  #", 1)
	p := testenv.WriteFile(t, "config.toml", before, 0o600)
	f, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	s := f.Settings["a"]
	s.RedirectURI = "http://127.0.0.1:9000/callback"
	if _, err := configedit.WriteEnv(p, "a", s, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != after {
		t.Fatalf("after init -e a:\n%s\nwant:\n%s", got, after)
	}
}

// TestEditsOfAFileOfMixedLineEndsKeepOtherValues: init editing a file of
// LF lines holding one CRLF line (a line pasted from a Windows editor)
// leaves another environment's multi-line client_secret_cmd as it was.
// The one CRLF made the edit write every line with CRLF, the lines of
// that script too: each command of it then ended in a carriage return,
// which the shell took as part of the command's name.
func TestEditsOfAFileOfMixedLineEndsKeepOtherValues(t *testing.T) {
	p := testenv.WriteFile(t, "config.toml", "# pasted from the wiki\r\n[env.other]\nprovider = \"freeagent\"\nclient_id = \"keep\"\nclient_secret_cmd = \"\"\"\ntest -f ~/.s\ncat ~/.s\n\"\"\"\n\n[env.dev]\nprovider = \"freeagent\"\nclient_id = \"old\"\nclient_secret_env = \"S\"\n", 0o600)
	f, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	want := f.Settings["other"]
	if _, err := configedit.WriteEnv(p, "dev", config.EnvSettings{Provider: "freeagent", ClientID: "new", ClientSecretEnv: "S"}, false); err != nil {
		t.Fatal(err)
	}
	g, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Settings["other"]; !reflect.DeepEqual(got, want) || g.Settings["dev"].ClientID != "new" {
		t.Fatalf("after init -e dev, other's client_secret_cmd is %q, want %q", got.ClientSecretCmd, want.ClientSecretCmd)
	}
}

// TestSetDefaultEnvChangesOnlyThatLine: `init -e NAME --default` changes
// default_env where it is written, keeping its comment, its indentation and
// every other line; a file without one gets it first; with an environment
// to write, both land in one edit. A name the file does not configure
// leaves the file as it was (no command set default_env: the user edited
// it by hand).
func TestSetDefaultEnvChangesOnlyThatLine(t *testing.T) {
	const env = "provider = \"freeagent\"\nclient_id = \"id\"\nclient_secret_env = \"S\"\n"
	const crlfCmd = "provider = \"freeagent\"\nclient_id = \"id\"\nclient_secret_cmd = \"\"\"\r\ntest -f ~/.s\r\ncat ~/.s\r\n\"\"\"\n"
	for _, tt := range []struct {
		name, text, to, want string
		with                 []configedit.NamedEnv
	}{
		{"replaced in place", "# mine\n  default_env = 'a'   # the safe one\n\n[env.a]\n" + env + "\n[env.b]\n" + env, "b",
			"# mine\n  default_env = \"b\"  # the safe one\n\n[env.a]\n" + env + "\n[env.b]\n" + env, nil},
		{"none yet", "# mine\n[env.a]\n" + env + "\n[env.b]\n" + env, "b",
			"default_env = \"b\"\n\n# mine\n[env.a]\n" + env + "\n[env.b]\n" + env, nil},
		{"with an environment", "default_env = \"a\"\n\n[env.a]\n" + env, "c",
			"default_env = \"c\"\n\n[env.a]\n" + env + "\n[env.c]\n" + env, []configedit.NamedEnv{{Name: "c", Settings: config.EnvSettings{Provider: "freeagent", ClientID: "id", ClientSecretEnv: "S"}}}},
		{"written over lines", "default_env = \"\"\"\na\"\"\"\n[env.a]\n" + env + "\n[env.b]\n" + env, "b",
			"default_env = \"b\"\n[env.a]\n" + env + "\n[env.b]\n" + env, nil},
		// A file of LF lines with a few CRLF ones (pasted from a Windows
		// editor): the other lines keep their ends, and a multi-line
		// string of CRLF lines its value. The edit was refused as
		// "written in a way freshtoken cannot change line by line", and
		// the CRLF of a line it kept was dropped.
		{"other lines' ends kept", "default_env = \"a\"  # x\r\n[env.a]\r\n" + env + "\n[env.b]\n" + crlfCmd, "b",
			"default_env = \"b\"  # x\r\n[env.a]\r\n" + env + "\n[env.b]\n" + crlfCmd, nil},
		{"none yet, a blank line first", "\n# mine\n[env.a]\n" + env + "\n[env.b]\n" + env, "b",
			"default_env = \"b\"\n\n# mine\n[env.a]\n" + env + "\n[env.b]\n" + env, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := testenv.WriteFile(t, "config.toml", tt.text, 0o600)
			f, err := configedit.SetDefaultEnv(p, tt.to, tt.with...)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(p); string(got) != tt.want || f.DefaultEnv != tt.to {
				t.Fatalf("default_env %q, file:\n%s\nwant:\n%s", f.DefaultEnv, got, tt.want)
			}
		})
	}
	text := "default_env = \"a\"\n[env.a]\n" + env
	p := testenv.WriteFile(t, "config.toml", text, 0o600)
	if _, err := configedit.SetDefaultEnv(p, "nope"); err == nil || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("default_env of an environment not configured: %v", err)
	}
	if got, _ := os.ReadFile(p); string(got) != text {
		t.Fatalf("a refused edit changed the file:\n%s", got)
	}
}
