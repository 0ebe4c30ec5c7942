package keyringstore_test

import (
	"path/filepath"
	"testing"

	"github.com/freshtoken/freshtoken/internal/keyringtest"
	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/store/keyringstore"
)

// TestStoreNotMadeByNewSaysSo: the zero Store, and one New made with no
// service name, keep nothing, with a keychain there to keep it: each call
// fails saying to make the store with keyringstore.New and a service name.
// The zero Store's Lock panicked on its missing lock files, and a Store of
// no service kept the tokens under an empty one.
func TestStoreNotMadeByNewSaysSo(t *testing.T) {
	keyringtest.Start(t)
	for name, st := range map[string]*keyringstore.Store{
		"the zero Store":   {},
		"no service named": keyringstore.New("", filepath.Join(t.TempDir(), "state")),
	} {
		said := storetest.RefusesEveryCall(t, name, st, "keyringstore.New")
		_, err := st.HoldsLock(ctx, "sandbox")
		said("HoldsLock", err)
		if tell := st.StuckHolders(); tell != nil && tell("sandbox") != "" {
			t.Errorf("%s: StuckHolders names a holder: %s", name, tell("sandbox"))
		}
	}
}
