package freshtoken_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
)

// TestReuseTokenSourceKeepsWhatTheSourceNoLongerServes: as docs/library.md
// says, oauth2.ReuseTokenSource wrapping a Source (as oauth2.NewClient
// does) asks it for a token once, and keeps that token until its Expiry:
// after the grant ended (a logout elsewhere here), when the Source itself
// answers ErrLoginRequired, the wrapper still serves the old token. The
// Source is on the real clock, which x/oauth2 reads.
func TestReuseTokenSourceKeepsWhatTheSourceNoLongerServes(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.StoreCheckInterval = time.Nanosecond // every Token looks at the store
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store})
	if err != nil {
		t.Fatal(err)
	}
	r.login(src)
	reuse := oauth2.ReuseTokenSource(nil, src)
	kept, err := reuse.Token()
	if err != nil || kept.Expiry.IsZero() {
		t.Fatalf("ReuseTokenSource's first token: %v, %v; want one with its expiry", kept, err)
	}
	if err := r.source().Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Token(); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("the Source after a logout: %v; want ErrLoginRequired", err)
	}
	if again, err := reuse.Token(); err != nil || again.AccessToken != kept.AccessToken {
		t.Fatalf("ReuseTokenSource after the logout: %v, %v; want the token it kept, as the docs warn", again, err)
	}
}
