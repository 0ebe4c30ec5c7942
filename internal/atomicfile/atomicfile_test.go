package atomicfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

func TestWriteReplacesDurablyWithTheGivenMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var synced []string
	err := atomicfile.Write(path, []byte("new\n"), atomicfile.Options{Sync: func(f *os.File) error {
		synced = append(synced, f.Name())
		return f.Sync()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new\n" {
		t.Errorf("content %q, want the new one", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	// The temp file is synced before the rename, the folder after it.
	if len(synced) != 2 || filepath.Dir(synced[0]) != dir || synced[1] != dir {
		t.Errorf("synced %q, want the temp file in %s, then the folder", synced, dir)
	}
	if names := testenv.Names(t, dir); !slices.Equal(names, []string{"token"}) {
		t.Errorf("folder holds %q, want only the file", names)
	}
}

func TestWriteFailureLeavesTheFileAndNoLitter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	refused := errors.New("refused")
	for name, o := range map[string]atomicfile.Options{
		"check refuses": {Check: func(tmp string) error {
			if b, _ := os.ReadFile(tmp); string(b) != "new\n" {
				t.Errorf("check saw %q, want the new content", b)
			}
			return refused
		}},
		"sync fails": {Sync: func(*os.File) error { return refused }},
	} {
		t.Run(name, func(t *testing.T) {
			if err := atomicfile.Write(path, []byte("new\n"), o); !errors.Is(err, refused) {
				t.Fatalf("err = %v, want the failure itself", err)
			}
			if b, _ := os.ReadFile(path); string(b) != "old\n" {
				t.Errorf("content %q, want the old one kept", b)
			}
			if names := testenv.Names(t, dir); !slices.Equal(names, []string{"config.toml"}) {
				t.Errorf("folder holds %q, want the temp file removed", names)
			}
		})
	}
}
