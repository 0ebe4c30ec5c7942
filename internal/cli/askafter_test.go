package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/testdisk"
)

// TestUneditableConfigIsRefusedBeforeAnyQuestion: `remove` and interactive
// `init`, given a configuration file freshtoken does not edit (read-only,
// or one of several hard links), asked their questions first (remove's
// "delete its stored tokens?", init's provider, name, client ID…, `init
// --default`'s which environment) and
// refused it only once the person had answered them all. They now refuse
// it first, in one line, asking nothing, and change nothing. So for a file
// in a folder it cannot write in (a read-only disk), where the edit's new
// file would be made, and for one on a disk too full for that file, of
// data or of files (every inode taken).
func TestUneditableConfigIsRefusedBeforeAnyQuestion(t *testing.T) {
	for _, tc := range []struct {
		name, why string
		make      func(t *testing.T, e *devEnv)
	}{
		{"read-only", "is read-only", func(t *testing.T, e *devEnv) {
			if err := os.Chmod(e.config, 0o400); err != nil {
				t.Fatal(err)
			}
		}},
		{"a hard link", "is one of 2 names of one file", func(t *testing.T, e *devEnv) {
			if err := os.Link(e.config, e.config+".bak"); err != nil {
				t.Fatal(err)
			}
		}},
		{"in a read-only folder", "read-only file system", func(t *testing.T, e *devEnv) {
			e.config = configOnAReadOnlyDisk(t, e.config)
		}},
		{"on a full disk", "the disk holding it is full", func(t *testing.T, e *devEnv) {
			e.config = configOnAFullDisk(t, e.config, false)
		}},
		{"on a disk out of files", "the disk holding it is full", func(t *testing.T, e *devEnv) {
			e.config = configOnAFullDisk(t, e.config, true)
		}},
	} {
		for _, cmd := range [][]string{{"-e", "dev", "remove"}, {"init"}, {"init", "--default"}} {
			t.Run(tc.name+" "+strings.Join(cmd, " "), func(t *testing.T) {
				e := newDevEnv(t)
				e.login(t)
				tc.make(t, e)
				kept := e.configKept(t)
				ios, stdout, stderr := testStreams(true, true)
				ios.In, ios.InTTY = strings.NewReader(strings.Repeat("y\n", 20)), true
				code := e.run(ios, cmd...)
				said := stderr.String()
				if code != 2 || !strings.Contains(said, tc.why) || strings.Count(said, "\n") != 1 || strings.Contains(said, "?") {
					t.Fatalf("%s: exit %d, said:\n%s%s\nwant exit 2, one line saying the file %s, and no question before it", cmd, code, stdout, said, tc.why)
				}
				kept("the file is not to be edited")
				ios, stdout, stderr = testStreams(false, false)
				if code := e.run(ios, "-e", "dev", "token"); code != 0 {
					t.Errorf("token after the refusal: exit %d; want the tokens kept\n%s%s", code, stdout, stderr)
				}
			})
		}
	}
}

// TestInitOfANewConfigInAReadOnlyFolderAsksNothing: interactive `init`
// with no configuration file yet, where its folder cannot be made or
// written in (a read-only disk), asked for the provider, the name, the
// client ID… and only then said the file could not be written. It says so
// first, in one line, asking nothing.
func TestInitOfANewConfigInAReadOnlyFolderAsksNothing(t *testing.T) {
	for _, missing := range []string{"the file", "its folder"} {
		t.Run(missing, func(t *testing.T) {
			dir := testdisk.SmallFolder(t, "256k")
			config := filepath.Join(dir, "config.toml")
			if missing == "its folder" {
				config = filepath.Join(dir, "freshtoken", "config.toml")
			}
			testdisk.ReadOnly(t, dir)
			ios, stdout, stderr := testStreams(true, true)
			ios.In, ios.InTTY = strings.NewReader(strings.Repeat("\n", 20)), true
			code := cli.Main([]string{"--config", config, "init"}, ios)
			said := stderr.String()
			if code != 2 || !strings.Contains(said, "read-only file system") || strings.Count(said, "\n") != 1 || strings.Contains(said, "?") {
				t.Fatalf("init: exit %d, said:\n%s%s\nwant exit 2, one line saying the folder cannot be written, and no question before it", code, stdout, said)
			}
		})
	}
}

// configOnAReadOnlyDisk moves the configuration file at config to a disk
// of its own, read-only for the rest of the test, and returns its path
// there.
func configOnAReadOnlyDisk(t *testing.T, config string) string {
	t.Helper()
	data, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	moved := testdisk.SmallFile(t, "256k", "config.toml", data)
	testdisk.ReadOnly(t, filepath.Dir(moved))
	return moved
}

// configOnAFullDisk moves the configuration file at config to a disk of its
// own, full for the rest of the test (of files, every inode taken, if
// files; else of data), and returns its path there.
func configOnAFullDisk(t *testing.T, config string, files bool) string {
	t.Helper()
	data, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	if !files {
		moved := testdisk.SmallFile(t, "256k", "config.toml", data)
		testdisk.Fill(t, filepath.Dir(moved))
		return moved
	}
	moved := filepath.Join(testdisk.FilesLeft(t, 1), "config.toml")
	if err := os.WriteFile(moved, data, 0o600); err != nil {
		t.Fatal(err)
	}
	testdisk.FillFiles(t, filepath.Dir(filepath.Dir(moved)))
	return moved
}
