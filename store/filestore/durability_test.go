package filestore_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// syncSeen is one sync, with what the record file and the synced file held
// at that moment.
type syncSeen struct {
	name, synced, record string
}

// TestSaveSyncsBeforeAndAfterTheRename: a Save syncs the temp file, holding
// the whole new record, while the record file still holds the old one, and
// then syncs the folder once the record file holds the new one; a Delete
// syncs the folder once the file is gone. Without the first sync a power
// loss can leave an empty record; without the second, the old one.
func TestSaveSyncsBeforeAndAfterTheRename(t *testing.T) {
	dir, s := saved(t)
	old := readOrMissing(t, s.Location("sandbox"))
	var seen []syncSeen
	filestore.WatchSyncs(t, func(name string) {
		seen = append(seen, syncSeen{name, readOrMissing(t, name), readOrMissing(t, s.Location("sandbox"))})
	})
	rotated := sample()
	rotated.RefreshToken = "refresh-2-rotated"
	if err := s.Save(ctx, "sandbox", rotated); err != nil {
		t.Fatal(err)
	}
	want, err := store.Marshal("sandbox", rotated)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 {
		t.Fatalf("Save synced %d times (%+v); want the temp file, then the folder", len(seen), seen)
	}
	tmp, folder := seen[0], seen[1]
	if filepath.Dir(tmp.name) != dir || !strings.HasPrefix(filepath.Base(tmp.name), ".sandbox.json.tmp-") {
		t.Errorf("first sync: %s; want the temp file in %s", tmp.name, dir)
	}
	if tmp.synced != string(want) || tmp.record != old {
		t.Errorf("when the temp file was synced it held %q and the record %q; want the new record in the temp file and the old one still in place", tmp.synced, tmp.record)
	}
	if folder.name != dir || folder.record != string(want) {
		t.Errorf("second sync: %s with the record holding %q; want the folder %s, after the rename", folder.name, folder.record, dir)
	}

	seen = nil
	if err := s.Delete(ctx, "sandbox"); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0].name != dir || seen[0].record != "(missing)" {
		t.Fatalf("Delete synced %+v; want the folder, after the removal", seen)
	}
}

// readOrMissing is the content of the file at p, "(missing)" if there is
// none, and "(folder)" for a folder.
func readOrMissing(t *testing.T, p string) string {
	t.Helper()
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "(missing)"
	}
	if err != nil {
		t.Fatal(err)
	}
	if fi.IsDir() {
		return "(folder)"
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
