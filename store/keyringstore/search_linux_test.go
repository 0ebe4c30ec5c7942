package keyringstore_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/freshtoken/freshtoken/internal/keyringtest"
	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/store/keyringstore"
)

// TestSaveReadsOnlyItsOwnItems: a save reads the attributes of its own
// environment's items alone, however many other environments the keychain
// holds: it read every freshtoken item's, one call each, most of a second
// per save for an accountant's 2000 environments. Nor does it write them
// again once they are marked as its own: each write of an item kept its
// marks, where the keychain library's drops them.
func TestSaveReadsOnlyItsOwnItems(t *testing.T) {
	keyringtest.Start(t)
	s := keyringstore.New("freshtoken-test", filepath.Join(t.TempDir(), "state"))
	save := func() (reads, writes int64) {
		t.Helper()
		r0, w0 := keyringstore.AttributeCalls()
		if err := s.Save(ctx, "sandbox", bigRecord(1)); err != nil {
			t.Fatal(err)
		}
		r1, w1 := keyringstore.AttributeCalls()
		return r1 - r0, w1 - w0
	}
	save()
	alone, marked := save()
	for i := range 30 {
		if err := s.Save(ctx, fmt.Sprintf("client-%d", i), bigRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	if among, _ := save(); among != alone {
		t.Fatalf("a save read %d items' attributes among 30 other environments (150 items), %d alone; want as many", among, alone)
	}
	if alone > 10 || marked > 0 {
		t.Fatalf("a save of a record of 4 items read %d items' attributes and wrote %d; want its own read alone, and none written", alone, marked)
	}
}

// TestRecordsOfOlderFreshtokensAreFound: items written as an older
// freshtoken writes them (the keychain library's two attributes alone,
// over a newer record's items or beside them) are found and cleared by
// the next save and delete, and another environment's older items are
// left as they are, readable; a newer record stays readable and writable
// by an older freshtoken, with no second item for any account.
func TestRecordsOfOlderFreshtokensAreFound(t *testing.T) {
	kr := keyringtest.Start(t)
	s := keyringstore.New("freshtoken-test", filepath.Join(t.TempDir(), "state"))
	for _, env := range []string{"sandbox", "production"} {
		if err := s.Save(ctx, env, bigRecord(2)); err != nil {
			t.Fatal(err)
		}
	}
	items := kr.Items(t, "freshtoken-test")
	// An older freshtoken rewrites every item, and leaves a part of an
	// older record beyond a gap.
	for _, account := range items {
		v, err := keyring.Get("freshtoken-test", account)
		if err != nil {
			t.Fatalf("an older freshtoken reading %s: %v", account, err)
		}
		if err := keyring.Set("freshtoken-test", account, v); err != nil {
			t.Fatal(err)
		}
	}
	if again := kr.Items(t, "freshtoken-test"); len(again) != len(items) {
		t.Fatalf("an older freshtoken's writes over %v left %v", items, again)
	}
	if err := keyring.Set("freshtoken-test", "sandbox.b.7", "stale token part"); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, "sandbox", storetest.Sample()); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, "sandbox", bigRecord(3)); err != nil {
		t.Fatal(err)
	}
	var mine int
	for _, account := range kr.Items(t, "freshtoken-test") {
		if strings.HasPrefix(account, "sandbox") {
			mine++
		}
	}
	if mine != 5 {
		t.Fatalf("the keychain holds %v; want sandbox's head and 4 parts (and production's items)", kr.Items(t, "freshtoken-test"))
	}
	if got, err := s.Load(ctx, "production"); err != nil || got.AccessToken != bigRecord(2).AccessToken {
		t.Fatalf("another environment's record written by an older freshtoken: %v", err)
	}
	for _, env := range []string{"sandbox", "production"} {
		if err := s.Delete(ctx, env); err != nil {
			t.Fatal(err)
		}
	}
	if left := kr.Items(t, "freshtoken-test"); len(left) != 0 {
		t.Fatalf("Delete left %v in the keychain", left)
	}
}
