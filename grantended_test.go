package freshtoken_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestGrantEndedElsewhereEndsTheTokenInMemory: a Source serving a valid
// token from memory stops serving it once the store notes that the
// provider ended the grant (another process's renewal met invalid_grant),
// at its next look at the store, as it stops after a log-out made
// elsewhere; TokenValidFor and KeepAlive say the same, and a forced renewal
// still tries the kept refresh token. What was wrong: the store check kept
// the token in memory, as its access token was the one stored, until it
// expired.
func TestGrantEndedElsewhereEndsTheTokenInMemory(t *testing.T) {
	r, a := loggedIn(t)
	served := servedThenEnded(t, r, a)
	if _, err := r.source().Renew(context.Background()); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("the other process's forced renewal: %v; want ErrLoginRequired", err)
	}
	if p := r.record().Problem; p == nil || p.Kind != store.ProblemGrantEnded {
		t.Fatalf("problem %+v; want grant_ended noted", p)
	}
	r.clock.Advance(10 * time.Second) // StoreCheckInterval's default
	requests := r.provider.Stats().TokenRequests
	got, err := a.Token()
	if !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), "the grant ended 10s ago: the provider refused the refresh token") {
		t.Fatalf("Token: %v, %v; want ErrLoginRequired saying the grant ended 10s ago, and why", got, err)
	}
	if got != nil {
		t.Fatalf("served %q after the grant ended (was %q)", got.AccessToken, served)
	}
	if _, err := a.TokenValidFor(context.Background(), time.Minute); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("TokenValidFor: %v; want ErrLoginRequired", err)
	}
	if _, err := a.KeepAlive(context.Background()); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("KeepAlive: %v; want ErrLoginRequired", err)
	}
	if n := r.provider.Stats().TokenRequests - requests; n != 0 {
		t.Fatalf("%d token requests for an ended grant; want none", n)
	}
	if _, err := a.Renew(context.Background()); !errors.Is(err, freshtoken.ErrLoginRequired) || r.provider.Stats().TokenRequests != requests+1 {
		t.Fatalf("Renew: %v after %d token requests; want the kept refresh token tried once, and refused", err, r.provider.Stats().TokenRequests-requests)
	}
	r.login(a)
	if again, err := a.Token(); err != nil || again.AccessToken == served {
		t.Fatalf("after a log-in: %v, %v; want a new token", again, err)
	}
}

// TestGrantEndedByAMachineAheadSaysNoNegativeTime: a Source whose clock is
// behind that of the machine that noted the grant's end (a fleet's clocks
// apart) says the grant ended moments ago. It said "the provider ended the
// grant -5m0s ago".
func TestGrantEndedByAMachineAheadSaysNoNegativeTime(t *testing.T) {
	r, a := loggedIn(t)
	servedThenEnded(t, r, a)
	if _, err := r.source().Renew(context.Background()); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("the forced renewal: %v; want ErrLoginRequired", err)
	}
	behind, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: func() time.Time { return r.clock.Now().Add(-5 * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := behind.Token(); !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), "the grant ended 0s ago: the provider refused") {
		t.Fatalf("Token on a machine 5 minutes behind: %v; want ErrLoginRequired saying the grant ended 0s ago", err)
	}
}

// TestGrantEndedAtNoRecordedTimeSaysNoTime: a record noting the grant's
// end without its time (store.Problem.At may be left out: a program of
// your own sharing the store, or a record edited by hand) is told without
// one. It said "the provider ended the grant 2562047h47m17s ago", the
// longest time a Duration holds.
func TestGrantEndedAtNoRecordedTimeSaysNoTime(t *testing.T) {
	r, _ := loggedIn(t)
	rec := r.record()
	rec.Problem = &store.Problem{Kind: store.ProblemGrantEnded, Message: "the provider refused the refresh token (invalid_grant)"}
	if err := r.store.Save(context.Background(), r.settings.Env, rec); err != nil {
		t.Fatal(err)
	}
	_, err := r.source().Token()
	if want := "the grant ended: the provider refused the refresh token (invalid_grant)"; !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Token: %v; want ErrLoginRequired saying %q", err, want)
	}
}

// servedThenEnded has src serve a token, which it keeps in memory, and
// then the provider end the grant; it returns the token's access token.
func servedThenEnded(t *testing.T, r *rig, src *freshtoken.Source) (served string) {
	t.Helper()
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	r.provider.RevokeGrants()
	return tok.AccessToken
}

// TestGrantEndedInvalidGrantEndsTheTokenInMemory: the Source whose own
// renewal (a 401's) met invalid_grant serves the token it holds no more.
// What was wrong: the token the API had just refused was served from
// memory again, to be refused again, until it expired.
func TestGrantEndedInvalidGrantEndsTheTokenInMemory(t *testing.T) {
	r, src := loggedIn(t)
	served := servedThenEnded(t, r, src)
	api := r.provider.Stats().APIRequests
	if resp, err := src.Client().Get(r.url + "/v2/company"); !errors.Is(err, freshtoken.ErrLoginRequired) {
		if err == nil {
			resp.Body.Close()
		}
		t.Fatalf("the request whose 401's renewal met invalid_grant: %v; want ErrLoginRequired", err)
	}
	if got, err := src.Token(); !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), "the grant ended 0s ago: the provider refused") {
		t.Fatalf("Token: %v, %v; want ErrLoginRequired saying the grant ended (was %q)", got, err, served)
	}
	if resp, err := src.Client().Get(r.url + "/v2/company"); !errors.Is(err, freshtoken.ErrLoginRequired) {
		if err == nil {
			resp.Body.Close()
		}
		t.Fatalf("the next request: %v; want ErrLoginRequired", err)
	}
	if n := r.provider.Stats().APIRequests - api; n != 1 {
		t.Fatalf("%d API requests; want the one refused, and the revoked token never sent again", n)
	}
}

// TestClientCredentialsGrantEndedNoteFetchesNew: a client credentials
// record noting that the grant ended (written by hand, or by another
// tool) serves no token, but needs no log-in either: a new token is
// requested, valid or due, and the note goes with the old token. What was
// wrong: a valid token was served with the note, and once due the call
// failed asking for a log-in that client credentials never need.
func TestClientCredentialsGrantEndedNoteFetchesNew(t *testing.T) {
	for _, due := range []bool{false, true} {
		r := clientRig(t, devprovider.Options{AccessTTL: time.Hour})
		tok, err := r.source().Token()
		if err != nil {
			t.Fatal(err)
		}
		rec := r.record()
		rec.Problem = &store.Problem{Kind: store.ProblemGrantEnded, Message: "the provider refused the refresh token", At: r.clock.Now()}
		if err := r.store.Save(context.Background(), r.settings.Env, rec); err != nil {
			t.Fatal(err)
		}
		if due {
			r.clock.Advance(time.Hour)
		}
		got, err := r.source().Token()
		if err != nil || got.AccessToken == tok.AccessToken {
			t.Fatalf("due %v: %v, %v; want a new token", due, got, err)
		}
		if n := r.provider.Stats().ClientCredentials; n != 2 {
			t.Fatalf("due %v: %d client credentials grants; want 2", due, n)
		}
		if p := r.record().Problem; p != nil {
			t.Fatalf("due %v: problem %+v kept with the new token", due, p)
		}
	}
}

// TestDeviceGrantEndedServesNoToken: a device log-in's grant that the
// provider ended serves its access token no more, as an authorization
// code's does, and the next device log-in brings tokens again.
func TestDeviceGrantEndedServesNoToken(t *testing.T) {
	r, src := deviceRig(t, devprovider.Options{AccessTTL: time.Hour})
	deviceLogin := func() {
		t.Helper()
		d, err := src.StartDeviceLogin(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := r.provider.DecideDevice(d.UserCode, true); err != nil {
			t.Fatal(err)
		}
		if err := d.Wait(context.Background(), func(freshtoken.DevicePoll) {}); err != nil {
			t.Fatal(err)
		}
	}
	deviceLogin()
	served := servedThenEnded(t, r, src)
	if _, err := src.Renew(context.Background()); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("Renew of a revoked grant: %v; want ErrLoginRequired", err)
	}
	for _, s := range []*freshtoken.Source{src, r.source()} {
		if got, err := s.Token(); !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), "the grant ended 0s ago: the provider refused") {
			t.Fatalf("Token: %v, %v; want ErrLoginRequired saying the grant ended (was %q)", got, err, served)
		}
	}
	r.clock.Advance(2 * time.Second)
	deviceLogin()
	if again, err := r.source().Token(); err != nil || again.AccessToken == served {
		t.Fatalf("after a device log-in: %v, %v; want a new token", again, err)
	}
}

// afterLoadStore is the rig's file store behind a program's own
// store.Store whose Load, once when says so, calls then after reading: as
// if another writer stored something the moment after that read.
// With before, then is called before reading instead.
type afterLoadStore struct {
	store.Store
	mu     sync.Mutex
	when   func() bool
	then   func()
	before bool
}

func (h *afterLoadStore) Load(ctx context.Context, env string) (*store.Record, error) {
	h.mu.Lock()
	then := h.then
	if then != nil && h.when != nil && h.when() {
		h.then = nil
	} else {
		then = nil
	}
	before := h.before
	h.mu.Unlock()
	if then != nil && before {
		then()
	}
	rec, err := h.Store.Load(ctx, env)
	if then != nil && !before {
		then()
	}
	return rec, err
}

// TestGrantEndedNoteKeepsALogInStoredMeanwhile: a log-in stored while a
// renewal whose refresh token the provider refused was noting that the
// grant ended (after its read of the store, the lock having passed, as a
// Redis lock does from a renewer paused past it) is kept, and served. What
// was wrong: the note was written over whatever the store held, so the
// refused record, noted, replaced the log-in's tokens, which were lost, and
// the user was told to log in again, which they just had.
func TestGrantEndedNoteKeepsALogInStoredMeanwhile(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	h := &afterLoadStore{Store: r.store}
	src := r.sourceOn(h)
	r.login(src)
	r.provider.RevokeGrants()
	r.clock.Advance(2 * time.Second)
	elsewhere := r.sourceOn(filestore.New(t.TempDir() + "/tokens"))
	var login *store.Record
	requests := r.provider.Stats().TokenRequests
	h.mu.Lock()
	h.when = func() bool { return r.provider.Stats().TokenRequests > requests } // the refresh token was sent, and refused
	h.then = func() {
		r.login(elsewhere)
		rec, err := elsewhere.Record(context.Background())
		if err == nil {
			err = r.store.Save(context.Background(), r.settings.Env, rec)
		}
		if err != nil {
			t.Error(err)
		}
		login = rec
	}
	h.mu.Unlock()
	src.Renew(context.Background()) // the refused refresh token; the log-in's tokens, or a log-in needed, both do
	if login == nil {
		t.Fatal("no log-in was stored after the refused renewal read the store")
	}
	if rec := r.record(); rec.Problem != nil || rec.AccessToken != login.AccessToken {
		t.Fatalf("the store holds problem %+v, the log-in's access token %v; want the log-in's tokens, no problem noted", rec.Problem, rec.AccessToken == login.AccessToken)
	}
	for _, s := range []*freshtoken.Source{src, r.source()} {
		if tok, err := s.Token(); err != nil || tok.AccessToken != login.AccessToken {
			t.Fatalf("Token: %v, %v; want the log-in's", tok, err)
		}
	}
}

// TestGrantEndedNotedMeanwhileServesNoToken: a renewal whose refresh token
// the provider refused finds in the store, read again, a record of another
// refresh token noting that the grant ended (another renewer renewed, its
// lock having passed, and its next renewal was refused): its access token
// is not served, and its refresh token is not spent but by a forced
// renewal. What was wrong: that token, fresh, was served, as if renewed.
// A keep-alive made now (KeepAliveNow, the keeper's retry of a refused
// client), as a renewal nobody forced, sends it no more than one for
// expiry does.
func TestGrantEndedNotedMeanwhileServesNoToken(t *testing.T) {
	for _, caller := range []struct {
		name  string
		renew func(*freshtoken.Source) (string, error)
	}{
		{"Token", func(src *freshtoken.Source) (string, error) {
			tok, err := src.Token()
			if err != nil {
				return "", err
			}
			return tok.AccessToken, nil
		}},
		{"KeepAliveNow", func(src *freshtoken.Source) (string, error) {
			rec, err := src.KeepAliveNow(context.Background())
			if err != nil {
				return "", err
			}
			return rec.AccessToken, nil
		}},
	} {
		t.Run(caller.name, func(t *testing.T) { grantEndedNotedMeanwhile(t, caller.renew) })
	}
}

// grantEndedNotedMeanwhile is TestGrantEndedNotedMeanwhileServesNoToken
// for a renewal that renew makes.
func grantEndedNotedMeanwhile(t *testing.T, renew func(*freshtoken.Source) (string, error)) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	h := &afterLoadStore{Store: r.store, before: true}
	src := r.sourceOn(h)
	r.login(src)
	r.provider.RevokeGrants()
	r.clock.Advance(time.Hour) // due
	elsewhere := r.sourceOn(filestore.New(t.TempDir() + "/tokens"))
	var noted *store.Record
	requests := r.provider.Stats().TokenRequests
	sent := 0 // the token requests made by the time the grant was noted as ended
	h.mu.Lock()
	h.when = func() bool { return r.provider.Stats().TokenRequests > requests }
	h.then = func() {
		r.login(elsewhere)
		sent = r.provider.Stats().TokenRequests
		rec, err := elsewhere.Record(context.Background())
		if err == nil {
			rec.Problem = &store.Problem{Kind: store.ProblemGrantEnded, Message: "the provider refused the refresh token", At: r.clock.Now()}
			err = r.store.Save(context.Background(), r.settings.Env, rec)
		}
		if err != nil {
			t.Error(err)
		}
		noted = rec
	}
	h.mu.Unlock()
	got, err := renew(src)
	if noted == nil {
		t.Fatal("nothing was noted after the refused renewal was sent")
	}
	if !errors.Is(err, freshtoken.ErrLoginRequired) || r.provider.Stats().TokenRequests != sent {
		t.Fatalf("the renewal: %v (the noted record's token: %v) with %d token requests after the one refused; want ErrLoginRequired and none",
			err, got == noted.AccessToken, r.provider.Stats().TokenRequests-sent)
	}
	after := r.provider.Stats().TokenRequests
	if _, err := renew(src); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("the renewal again: %v; want ErrLoginRequired", err)
	}
	if n := r.provider.Stats().TokenRequests - after; n != 0 {
		t.Fatalf("%d token requests for the noted record; want none", n)
	}
	if tok, err := src.Renew(context.Background()); err != nil || tok.AccessToken == noted.AccessToken {
		t.Fatalf("Renew: %v, %v; want the noted record's refresh token, still good, renewed", tok, err)
	}
}
