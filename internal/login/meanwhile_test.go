package login_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/login"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// givingUpStore is a file store whose reads, once armed, wait until their
// context ends, as a program's own store across the network may: arm
// gives up the caller's context as the read begins.
type givingUpStore struct {
	store.Store
	giveUp func()
}

func (g *givingUpStore) Load(ctx context.Context, env string) (*store.Record, error) {
	if g.giveUp != nil {
		g.giveUp()
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return g.Store.Load(ctx, env)
}

// TestLoginStoppedWhileReadingTheStoredTokensBlamesNoTokens: a log-in
// stopped (its context ended: Ctrl-C, the proxy's exchange timeout) while
// it read the tokens stored, under the renewal lock, to check them before
// storing its own, said those tokens "cannot be read (context canceled)"
// and may be a newer freshtoken's or another configuration's. It now says
// the log-in was stopped, or ran out of time, and stored nothing, the
// stored tokens as they were, wrapping the context's error.
func TestLoginStoppedWhileReadingTheStoredTokensBlamesNoTokens(t *testing.T) {
	st := &givingUpStore{Store: filestore.New(filepath.Join(t.TempDir(), "tokens"))}
	src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", TokenURL: "http://127.0.0.1:1/token", AuthStyle: oauth2.AuthStyleInHeader}, freshtoken.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st.giveUp = cancel
	tok := &oauth2.Token{AccessToken: "new-access", RefreshToken: "new-refresh", ExpiresIn: 3600}
	err = src.SaveLoginIf(ctx, tok, time.Now(), login.NewerCheck("dev", src.Location(), false, ""))
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped, or ran out of time") || strings.Contains(err.Error(), "cannot be read") || strings.Contains(err.Error(), "newer freshtoken") {
		t.Fatalf("a log-in stopped as it read the stored tokens: %v; want it said stopped, blaming no tokens", err)
	}
	st.giveUp = nil
	if _, err := st.Load(context.Background(), "dev"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stored after the stopped log-in: %v; want nothing", err)
	}
}
