// Package storetest is the contract every store.Store keeps, as one suite
// that the file, Redis and keychain stores each run unchanged: records round
// trip whole (a large one included), environments are separate, deleting
// forgets, bad names are refused, and the renewal lock excludes every other
// holder, so no read-modify-write under it is ever lost; a store that is a
// store.Swapper saves only over the record the caller read, and
// store.DeleteIf deletes only the record the caller read. Beside the
// suite, WriteNewerFormat makes the file store's record one a newer
// freshtoken wrote, for the tests in several packages of what meets one,
// StalledCall checks that a call a store's server leaves unanswered tells
// its stall and its end, and RefusesEveryCall that a Store not made as it
// must be refuses every call.
package storetest

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/store"
)

// Opener makes an empty store for one test and returns a function that
// opens it: each call is another Store value on the same records, as
// another process or machine would have.
type Opener func(t *testing.T) (open func() store.Store)

// Run runs the contract against the stores newStore makes.
func Run(t *testing.T, newStore Opener) {
	t.Run("RoundTrip", func(t *testing.T) { roundTrip(t, newStore(t)) })
	t.Run("LargeRecord", func(t *testing.T) { largeRecord(t, newStore(t)) })
	t.Run("EnvironmentsAreSeparate", func(t *testing.T) { separate(t, newStore(t)) })
	t.Run("BadNames", func(t *testing.T) { badNames(t, newStore(t)) })
	t.Run("LockExcludesOtherHolders", func(t *testing.T) { lockExcludes(t, newStore(t)) })
	t.Run("NoUpdateLostUnderTheLock", func(t *testing.T) { noUpdateLost(t, newStore(t)) })
	if _, ok := newStore(t)().(store.Swapper); ok {
		t.Run("SaveIfOnlyOverWhatWasRead", func(t *testing.T) { saveIf(t, newStore) })
	}
	t.Run("DeleteIfOnlyWhatWasRead", func(t *testing.T) { deleteIf(t, newStore) })
}

var ctx = context.Background()

// LaterLogIn is what a log-in made after the one rec holds stores for
// the same grant: other tokens ("later-access-token", "later-refresh-token"),
// logged in a minute later.
func LaterLogIn(rec *store.Record) *store.Record {
	later := *rec
	later.AccessToken, later.RefreshToken = "later-access-token", "later-refresh-token"
	later.LoggedInAt = rec.LoggedInAt.Add(time.Minute)
	return &later
}

// Sample is a record with every field set.
func Sample() *store.Record {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	return &store.Record{AccessToken: "access-1", TokenType: "Bearer", Expiry: now.Add(time.Hour),
		RefreshToken: "refresh-1", RefreshExpiry: now.Add(20 * 24 * time.Hour), IssuedAt: now,
		LoggedInAt: now.Add(-time.Hour), RenewedAt: now, Renewals: 2, RenewedFor: store.RenewedForRejection, RejectedInARow: 2, RefreshNotExtended: true, Scope: "read write",
		LoggedInWith: store.ConfigFile{Host: "pc", Path: "/c.toml"},
		Grant: store.Grant{TokenURL: "https://api.example.com/v2/token_endpoint", ClientID: "client-1", Type: "authorization_code",
			Audience: "https://api.example.com/", Resource: "https://api.example.com/v2/", Bound: true,
			IssuerTokenURL: "https://gw.example.com/token", ScopeResource: "api://x"},
		Problem: &store.Problem{Kind: store.ProblemGrantEnded, Message: "the grant ended — log in again", At: now}}
}

// Full is Sample with every field of a record set, its rest, its
// problem's first time and its grant's issuer too, and a key in a URL of
// its grant. FullStored is how every store keeps it for the environment
// "sandbox", byte for byte as every version of freshtoken since the
// layout's version 1 wrote it: a record written now must load in those
// versions, and theirs in this one.
func Full() *store.Record {
	r := Sample()
	r.Grant.Issuer = "https://idp.example.com/realms/x"
	r.Grant.IssuerTokenURL += "?subscription-key=gw-key-0123456789abcdef"
	r.Rest = &store.Rest{Until: r.IssuedAt.Add(time.Minute), Message: "the token endpoint kept failing", RateLimited: true, PutBack: true}
	r.Problem.Since = r.Problem.At.Add(-time.Hour)
	return r
}

// FullStored is Full as stored (see Full).
const FullStored = `{
  "version": 1,
  "env": "sandbox",
  "access_token": "access-1",
  "token_type": "Bearer",
  "expiry": "2026-11-28T10:00:00Z",
  "refresh_token": "refresh-1",
  "refresh_token_expiry": "2026-12-18T09:00:00Z",
  "issued_at": "2026-11-28T09:00:00Z",
  "logged_in_at": "2026-11-28T08:00:00Z",
  "renewed_at": "2026-11-28T09:00:00Z",
  "renewals": 2,
  "renewed_for": "rejection",
  "rejected_in_a_row": 2,
  "refresh_not_extended": true,
  "scope": "read write",
  "logged_in_with": {
    "host": "pc",
    "path": "/c.toml"
  },
  "grant": {
    "token_url": "https://api.example.com/v2/token_endpoint",
    "issuer": "https://idp.example.com/realms/x",
    "client_id": "client-1",
    "type": "authorization_code",
    "audience": "https://api.example.com/",
    "resource": "https://api.example.com/v2/",
    "issuer_token_url": "https://gw.example.com/token?subscription-key=gw-key-0123456789abcdef",
    "scope_resource": "api://x",
    "bound": true
  },
  "problem": {
    "kind": "grant_ended",
    "message": "the grant ended — log in again",
    "at": "2026-11-28T09:00:00Z",
    "since": "2026-11-28T08:00:00Z"
  },
  "rest": {
    "until": "2026-11-28T09:01:00Z",
    "message": "the token endpoint kept failing",
    "rate_limited": true,
    "put_back": true
  }
}
`

// same reports whether two records hold the same values.
func same(t *testing.T, env string, got, want *store.Record) bool {
	t.Helper()
	g, err := store.Marshal(env, got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := store.Marshal(env, want)
	if err != nil {
		t.Fatal(err)
	}
	return string(g) == string(w)
}

func roundTrip(t *testing.T, open func() store.Store) {
	a, b := open(), open()
	if _, err := a.Load(ctx, "sandbox"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Load before any Save: %v, want ErrNotFound", err)
	}
	want := Sample()
	if err := a.Save(ctx, "sandbox", want); err != nil {
		t.Fatal(err)
	}
	got, err := b.Load(ctx, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	if !same(t, "sandbox", got, want) {
		t.Fatalf("another store value loaded %+v, want %+v", got, want)
	}
	next := Sample()
	next.AccessToken, next.RefreshToken, next.Renewals, next.Problem = "access-2", "refresh-2", 3, nil
	if err := b.Save(ctx, "sandbox", next); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Load(ctx, "sandbox"); err != nil || !same(t, "sandbox", got, next) {
		t.Fatalf("after a second Save: %+v, %v; want %+v", got, err, next)
	}
	if loc := a.Location("sandbox"); !strings.Contains(loc, "sandbox") {
		t.Fatalf("Location %q does not name the environment", loc)
	}
	if err := a.Delete(ctx, "sandbox"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Load(ctx, "sandbox"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Load after Delete: %v, want ErrNotFound", err)
	}
	if err := b.Delete(ctx, "sandbox"); err != nil {
		t.Fatalf("deleting nothing: %v", err)
	}
}

// largeRecord: Microsoft's and Google's access tokens are JWTs of 2-4 KB,
// beyond what some keychains take in one item.
func largeRecord(t *testing.T, open func() store.Store) {
	s := open()
	want := Sample()
	want.AccessToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + strings.Repeat("eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20i", 80) + ".c2lnbmF0dXJl"
	want.RefreshToken = "0.AVYA" + strings.Repeat("r3fr35h-", 200)
	want.Problem.Message = strings.Repeat("ünïcödé ", 300) // characters of two bytes across every part boundary
	for range 2 {
		if err := s.Save(ctx, "sandbox", want); err != nil {
			t.Fatalf("saving a record of %d bytes: %v", len(want.AccessToken)+len(want.RefreshToken), err)
		}
		got, err := open().Load(ctx, "sandbox")
		if err != nil {
			t.Fatal(err)
		}
		if !same(t, "sandbox", got, want) {
			t.Fatal("the large record came back changed")
		}
		want.AccessToken = want.AccessToken[:len(want.AccessToken)/2] // then a smaller one replaces it
	}
}

func separate(t *testing.T, open func() store.Store) {
	s := open()
	one, two := Sample(), Sample()
	two.AccessToken = "access-production"
	if err := s.Save(ctx, "sandbox", one); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "production"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another environment: %v, want ErrNotFound", err)
	}
	if err := s.Save(ctx, "production", two); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "sandbox"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Load(ctx, "production"); err != nil || got.AccessToken != "access-production" {
		t.Fatalf("deleting sandbox changed production: %+v, %v", got, err)
	}
}

func badNames(t *testing.T, open func() store.Store) {
	s := open()
	longest := strings.Repeat("n", store.MaxEnvNameLength)
	if err := s.Save(ctx, longest, Sample()); err != nil {
		t.Fatalf("Save of a name of the longest length allowed: %v", err)
	}
	if _, err := s.Load(ctx, longest); err != nil {
		t.Fatalf("Load of a name of the longest length allowed: %v", err)
	}
	unlock, err := s.Lock(ctx, longest)
	if err != nil {
		t.Fatalf("Lock of a name of the longest length allowed: %v", err)
	}
	unlock()
	for _, name := range []string{"", "../escape", "a/b", "a.b", "a:b", longest + "n"} {
		if _, err := s.Load(ctx, name); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("Load(%q): %v, want the name refused", name, err)
		}
		if err := s.Save(ctx, name, Sample()); err == nil {
			t.Errorf("Save(%q) accepted the name", name)
		}
		if err := s.Delete(ctx, name); err == nil {
			t.Errorf("Delete(%q) accepted the name", name)
		}
		if _, err := s.Lock(ctx, name); err == nil {
			t.Errorf("Lock(%q) accepted the name", name)
		}
	}
}

// lockExcludes: while one holder has an environment's lock, another's Lock
// waits until its context ends; another environment's lock is free; once
// the holder lets go, the lock can be had.
func lockExcludes(t *testing.T, open func() store.Store) {
	a, b := open(), open()
	unlock, err := a.Lock(ctx, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := b.Lock(wait, "sandbox"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second Lock while the first is held: %v, want it to wait until its deadline", err)
	}
	other, err := b.Lock(ctx, "production")
	if err != nil {
		t.Fatalf("another environment's lock: %v", err)
	}
	other()
	unlock()
	wait, cancel = context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	unlockB, err := b.Lock(wait, "sandbox")
	if err != nil {
		t.Fatalf("Lock after the holder let go: %v", err)
	}
	unlockB()
}

// noUpdateLost: holders on separate store values each add to the record's
// renewal count under the lock, as renewals do; without mutual exclusion
// some additions are lost.
func noUpdateLost(t *testing.T, open func() store.Store) {
	if err := open().Save(ctx, "sandbox", Sample()); err != nil {
		t.Fatal(err)
	}
	const holders, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, holders*each)
	for range holders {
		s := open()
		wg.Go(func() {
			for range each {
				errs <- increment(s)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := open().Load(ctx, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	if want := Sample().Renewals + holders*each; got.Renewals != want {
		t.Fatalf("renewal count %d after %d locked increments, want %d: the lock let holders overlap", got.Renewals, holders*each, want)
	}
}

func increment(s store.Store) error {
	unlock, err := s.Lock(ctx, "sandbox")
	if err != nil {
		return err
	}
	defer unlock()
	r, err := s.Load(ctx, "sandbox")
	if err != nil {
		return err
	}
	runtime.Gosched() // let another holder in, if the lock would
	r.Renewals++
	return s.Save(ctx, "sandbox", r)
}

// otherWrites are what another writer may have done to a record since a
// caller read it: changed, when store.Unchanged tells it.
var otherWrites = []struct {
	name    string
	change  func(r *store.Record) // nil: delete the record
	changed bool
}{
	{"nothing", func(r *store.Record) {}, false},
	{"a rest noted", func(r *store.Record) { r.Rest = &store.Rest{Until: r.IssuedAt.Add(time.Minute), Message: "resting"} }, false},
	{"the grant adopted", func(r *store.Record) { r.Grant.Audience = "other" }, false},
	{"renewed", func(r *store.Record) { r.Renewals++ }, true},
	{"issued again", func(r *store.Record) { r.IssuedAt = r.IssuedAt.Add(time.Nanosecond) }, true},
	{"the grant ended", func(r *store.Record) {
		r.Problem = &store.Problem{Kind: store.ProblemGrantEnded, Message: "refused", At: r.IssuedAt.Add(time.Second)}
	}, true},
	{"the problem cleared", func(r *store.Record) { r.Problem = nil }, true},
	{"another refresh token", func(r *store.Record) { r.RefreshToken = "refresh-2" }, true},
	{"another access token", func(r *store.Record) { r.AccessToken = "access-2" }, true},
	{"logged out", nil, true},
}

// saveIf: a store.Swapper's SaveIf, under the lock, saves over the record
// read, whatever else changed that a renewal's answer replaces anyway (a
// rest, the grant's fields), and over nothing that another writer changed
// since in what store.Unchanged compares: that record stays. Issue times
// in a zone other than UTC, with nanoseconds, compare as written.
func saveIf(t *testing.T, newStore Opener) {
	zone := time.FixedZone("", 90*60)
	for _, tt := range otherWrites {
		t.Run(tt.name, func(t *testing.T) {
			open := newStore(t)
			s := open().(store.Swapper)
			first := Sample()
			first.IssuedAt = time.Date(2026, 11, 28, 10, 30, 0, 123456700, zone)
			first.Problem.At = first.IssuedAt.Add(-time.Minute)
			if err := open().Save(ctx, "sandbox", first); err != nil {
				t.Fatal(err)
			}
			unlock, err := s.(store.Store).Lock(ctx, "sandbox")
			if err != nil {
				t.Fatal(err)
			}
			defer unlock()
			read, err := s.(store.Store).Load(ctx, "sandbox")
			if err != nil {
				t.Fatal(err)
			}
			theirs := changeElsewhere(t, open(), read, tt.change)
			mine := *read
			mine.AccessToken, mine.RefreshToken, mine.Renewals, mine.Problem = "access-mine", "refresh-mine", read.Renewals+1, nil
			err = s.SaveIf(ctx, "sandbox", &mine, read)
			got, lerr := s.(store.Store).Load(ctx, "sandbox")
			switch {
			case tt.changed && !errors.Is(err, store.ErrChanged):
				t.Fatalf("SaveIf over a record %s since it was read: %v; want store.ErrChanged", tt.name, err)
			case tt.changed && tt.change == nil && !errors.Is(lerr, store.ErrNotFound):
				t.Fatalf("SaveIf refused wrote a record anyway: %v, %v", got, lerr)
			case tt.changed && tt.change != nil && (lerr != nil || !same(t, "sandbox", got, &theirs)):
				t.Fatalf("SaveIf refused left %v (%v); want the other writer's record", got, lerr)
			case !tt.changed && err != nil:
				t.Fatalf("SaveIf over the record read, with %s since: %v", tt.name, err)
			case !tt.changed && (lerr != nil || !same(t, "sandbox", got, &mine)):
				t.Fatalf("SaveIf left %v (%v); want the record it saved", got, lerr)
			}
		})
	}
}

// changeElsewhere has other, another writer, store read changed by change,
// which it returns, or delete the record for a nil change.
func changeElsewhere(t *testing.T, other store.Store, read *store.Record, change func(*store.Record)) store.Record {
	t.Helper()
	theirs := *read
	var err error
	if change == nil {
		err = other.Delete(ctx, "sandbox")
	} else {
		change(&theirs)
		err = other.Save(ctx, "sandbox", &theirs)
	}
	if err != nil {
		t.Fatal(err)
	}
	return theirs
}

// deleteIf: store.DeleteIf, under the lock, deletes the record read,
// whatever else changed that store.Unchanged does not compare (a rest),
// and nothing that another writer changed since in what it compares (a
// renewal, a log-in): that record stays. No record left is nothing to
// delete.
func deleteIf(t *testing.T, newStore Opener) {
	for _, tt := range otherWrites {
		tt.changed = tt.changed && tt.change != nil
		t.Run(tt.name, func(t *testing.T) {
			open := newStore(t)
			s := open()
			if err := s.Save(ctx, "sandbox", Sample()); err != nil {
				t.Fatal(err)
			}
			unlock, err := s.Lock(ctx, "sandbox")
			if err != nil {
				t.Fatal(err)
			}
			defer unlock()
			read, err := s.Load(ctx, "sandbox")
			if err != nil {
				t.Fatal(err)
			}
			theirs := changeElsewhere(t, open(), read, tt.change)
			err = store.DeleteIf(ctx, s, "sandbox", read)
			got, lerr := s.Load(ctx, "sandbox")
			switch {
			case tt.changed && !errors.Is(err, store.ErrChanged):
				t.Fatalf("DeleteIf of a record %s since it was read: %v; want store.ErrChanged", tt.name, err)
			case tt.changed && (lerr != nil || !same(t, "sandbox", got, &theirs)):
				t.Fatalf("DeleteIf refused left %v (%v); want the other writer's record", got, lerr)
			case !tt.changed && err != nil:
				t.Fatalf("DeleteIf of the record read, with %s since: %v", tt.name, err)
			case !tt.changed && !errors.Is(lerr, store.ErrNotFound):
				t.Fatalf("DeleteIf of the record read left %v (%v); want it deleted", got, lerr)
			}
		})
	}
}

// LandsAfterLoad is a Store whose next Load once Armed, having read the
// record, runs Land: another machine's write landing in the gap between a
// caller's look at a record and its write, as while the caller is paused
// past its renewal lock (a Redis lock expires). Its DeleteIf is the inner
// Store's (see store.DeleteIf).
type LandsAfterLoad struct {
	store.Store
	Armed atomic.Bool
	Land  func()
}

// Load implements store.Store.
func (s *LandsAfterLoad) Load(ctx context.Context, env string) (*store.Record, error) {
	r, err := s.Store.Load(ctx, env)
	if s.Armed.CompareAndSwap(true, false) {
		s.Land()
	}
	return r, err
}

// DeleteIf implements store.CheckedDeleter.
func (s *LandsAfterLoad) DeleteIf(ctx context.Context, env string, read *store.Record) error {
	return store.DeleteIf(ctx, s.Store, env, read)
}
