package redisstore_test

import (
	"context"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// TestStoreNotMadeByNewSaysSo: the zero Store, and a Store written as a
// literal to set LockTTL (its exported fields invite one), reach no Redis:
// each call fails saying to make the store with redisstore.New, and a
// Source built on one fails its Token so. Each panicked on a nil go-redis
// client, the reads in a goroutine of their own, so that the program died
// whatever its caller recovered.
func TestStoreNotMadeByNewSaysSo(t *testing.T) {
	ctx := context.Background()
	for name, st := range map[string]*redisstore.Store{"the zero Store": {}, "a literal": {LockTTL: 5 * time.Second}} {
		said := storetest.RefusesEveryCall(t, name, st, "redisstore.New")
		rec := storetest.Sample()
		said("SaveIf", st.SaveIf(ctx, "sandbox", rec, nil))
		_, _, err := st.Restore(ctx, "sandbox", rec)
		said("Restore", err)
		said("DeleteIf", st.DeleteIf(ctx, "sandbox", nil))
		said("CheckWrite", st.CheckWrite(ctx, "sandbox"))
		said("CheckEviction", st.CheckEviction(ctx))
		said("CheckPersistence", st.CheckPersistence(ctx))
		_, err = st.RunID(ctx)
		said("RunID", err)
		if st.HoldsLockAt(ctx, "sandbox", st) {
			t.Errorf("%s: HoldsLockAt reports a lock held", name)
		}

		src, err := freshtoken.New(freshtoken.Settings{
			Env: "sandbox", ClientID: "c", TokenURL: "https://t.example/token", AuthStyle: oauth2.AuthStyleInHeader,
		}, freshtoken.Options{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Token()
		said("a Source's Token", err)
		said("Close", st.Close())
	}
}
