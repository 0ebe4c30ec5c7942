package filestore_test

import (
	"errors"
	"os"
	"testing"

	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestStoreRefusesDeviceNames: on Windows, every use of an environment
// named as a device is refused before a file is opened, so no record is
// written to NUL and no lock taken on it; the folder stays empty.
func TestStoreRefusesDeviceNames(t *testing.T) {
	dir := t.TempDir()
	s := filestore.New(dir)
	for _, name := range []string{"nul", "CON", "Com1", "lpt9"} {
		if err := s.Save(ctx, name, sample()); !errors.Is(err, store.ErrReservedName) {
			t.Errorf("Save(%s) = %v; want store.ErrReservedName", name, err)
		}
		if _, err := s.Load(ctx, name); !errors.Is(err, store.ErrReservedName) {
			t.Errorf("Load(%s) = %v; want store.ErrReservedName", name, err)
		}
		if unlock, err := s.Lock(ctx, name); !errors.Is(err, store.ErrReservedName) {
			if err == nil {
				unlock()
			}
			t.Errorf("Lock(%s) = %v; want store.ErrReservedName", name, err)
		}
		if err := s.Delete(ctx, name); !errors.Is(err, store.ErrReservedName) {
			t.Errorf("Delete(%s) = %v; want store.ErrReservedName", name, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the store folder holds %d entries; want none", len(entries))
	}
}
