package freshtoken_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/keyringtest"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
	"github.com/freshtoken/freshtoken/store/keyringstore"
)

// TestSaveLoginIfChecksTheRecordStoredMeanwhile: a log-in's check, which
// passed over the record stored as its code went out, is asked again
// under the renewal lock as its tokens are stored, over the record stored
// then: another configuration's, stored as the provider answered the
// code, is kept, and the check's refusal is SaveLoginIf's, on the file,
// Redis and keychain stores alike. The log-in's tokens replaced them,
// asked of the record found before the code went out alone.
func TestSaveLoginIfChecksTheRecordStoredMeanwhile(t *testing.T) {
	for _, kind := range []string{"file", "redis", "keyring"} {
		t.Run(kind, func(t *testing.T) {
			newStore := sharedStore(t, kind)
			r := newRig(t, devprovider.Options{})
			src := r.sourceOn(newStore())
			r.login(src)
			otherSet := r.settings
			otherSet.ClientID = "other-client-id"
			other, err := freshtoken.New(otherSet, freshtoken.Options{Store: newStore(), Clock: r.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			theirs := &oauth2.Token{AccessToken: "their-access", RefreshToken: "their-refresh", ExpiresIn: 3600}
			refused := errors.New("another configuration's tokens")
			check := func(rec *store.Record, err error) error {
				if err == nil && src.CheckGrant(rec) != nil {
					return refused
				}
				return err
			}
			if rec, err := src.Record(t.Context()); check(rec, err) != nil {
				t.Fatalf("the check refuses the record stored before the log-in: %v", check(rec, err))
			}
			ctx := context.Background()
			conf, err := src.OAuth2Config(ctx, "http://127.0.0.1:1/callback")
			if err != nil {
				t.Fatal(err)
			}
			answered := &http.Client{Transport: afterAnswer(func() {
				// The other configuration logs in as the provider answers.
				if err := other.SaveLogin(ctx, theirs, r.clock.Now()); err != nil {
					t.Error(err)
				}
			})}
			tok, err := devserver.Login(context.WithValue(ctx, oauth2.HTTPClient, answered), conf)
			if err != nil {
				t.Fatal(err)
			}
			if err := src.SaveLoginIf(ctx, tok, r.clock.Now(), check); !errors.Is(err, refused) {
				t.Fatalf("SaveLoginIf over another configuration's tokens stored meanwhile: %v; want the check's refusal", err)
			}
			if rec, err := other.Record(ctx); err != nil || rec.AccessToken != theirs.AccessToken {
				t.Errorf("the other configuration's record: %v, %v; want theirs kept", rec, err)
			}
		})
	}
}

// TestKeychainRefusingALogInsTokensSaysNothingWaits: a log-in's tokens,
// stored over the record the keychain holds (compared and set, as a
// renewal's answer is), that the keychain then cannot take are the log-in's
// loss: the error says to log in again once the keychain is fixed, or to
// keep the tokens in files. It said, as of a renewal's answer kept in
// memory, that "the new tokens waiting to be stored go only there", and
// to keep keyring:// in [store] for them: nothing waits, and a person who
// did so waited for tokens no process held.
func TestKeychainRefusingALogInsTokensSaysNothingWaits(t *testing.T) {
	keyringtest.Start(t)
	r := newRig(t, devprovider.Options{})
	src := r.sourceOn(keyringstore.New(keyringstore.DefaultService, filepath.Join(t.TempDir(), "tokens")))
	r.login(src)
	gone := func(*store.Record, error) error {
		// The keychain goes away as the log-in's tokens are stored.
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
		t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
		return nil
	}
	tok := &oauth2.Token{AccessToken: "new-access", RefreshToken: "new-refresh", ExpiresIn: 3600}
	err := src.SaveLoginIf(context.Background(), tok, r.clock.Now(), gone)
	if err == nil || strings.Contains(err.Error(), "waiting to be stored") || !strings.Contains(err.Error(), "out of [store]") || !strings.Contains(err.Error(), "log in again") {
		t.Fatalf("a log-in's tokens the keychain could not take: %v; want what to do for a log-in, and no tokens said to wait", err)
	}
}

// TestLoginCheckGetsACopy: a LoginCheck that changed the record it was
// given (blanked its tokens, to log it) changed the very record the
// log-in's tokens are stored over only if unchanged: every try was refused
// as the store changed meanwhile, and the log-in's tokens, their code
// spent, were lost. The check is given a copy, as Record gives one.
func TestLoginCheckGetsACopy(t *testing.T) {
	for _, kind := range []string{"file", "redis"} {
		t.Run(kind, func(t *testing.T) {
			newStore := func() store.Store { return filestore.New(filepath.Join(t.TempDir(), "tokens")) }
			if kind == "redis" {
				_, newStore = sharedRedis(t)
			}
			r := newRig(t, devprovider.Options{})
			src := r.sourceOn(newStore())
			r.login(src)
			blank := func(rec *store.Record, err error) error {
				if rec != nil {
					rec.AccessToken, rec.RefreshToken = "", ""
				}
				return err
			}
			tok := &oauth2.Token{AccessToken: "new-access", RefreshToken: "new-refresh", ExpiresIn: 3600}
			if err := src.SaveLoginIf(context.Background(), tok, r.clock.Now(), blank); err != nil {
				t.Fatalf("a log-in whose check blanked the record it was given: %v; want its tokens stored", err)
			}
			if rec, err := src.Record(context.Background()); err != nil || rec.AccessToken != "new-access" {
				t.Fatalf("stored after the log-in: %+v, %v; want its tokens", rec, err)
			}
		})
	}
}
