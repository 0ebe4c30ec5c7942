package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/store"
)

// RefusesEveryCall checks that each of st's calls (Save, Load, Lock and
// Delete) fails, on an error that contains says: a Store not made as it
// must be keeps nothing, and says why. name names st in what it reports.
// It returns the check, for the calls of the other interfaces st has.
func RefusesEveryCall(t testing.TB, name string, st store.Store, says string) (said func(call string, err error)) {
	t.Helper()
	said = func(call string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%s: %s: %v; want an error saying %q", name, call, err, says)
		}
	}
	ctx := context.Background()
	said("Save", st.Save(ctx, "sandbox", Sample()))
	_, err := st.Load(ctx, "sandbox")
	said("Load", err)
	unlock, err := st.Lock(ctx, "sandbox")
	if err == nil {
		unlock()
	}
	said("Lock", err)
	said("Delete", st.Delete(ctx, "sandbox"))
	return said
}
