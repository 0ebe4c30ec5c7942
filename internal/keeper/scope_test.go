package keeper

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestAScopeTheTokensLackIsWarnedOnceAcrossRenewals: a scope added to
// the environment's scopes after the log-in is warned of at a renewal,
// once. Each of the keeper's renewals goes through a Source opened anew
// (to fetch the client secret afresh), and each warned again: a proxy
// keeping a token file current warned of the same scope every hour, for
// each environment lacking one (2000 environments: 48,000 lines a day).
// The proxy's own Source, renewing for a request, warned of it a second
// time. One process tells of a scope once.
func TestAScopeTheTokensLackIsWarnedOnceAcrossRenewals(t *testing.T) {
	_, root, clock := devserver.StartOnClock(t, devprovider.Options{AccessTTL: time.Hour})
	st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	scopes := []string{"read"}
	open := func(context.Context, string) (*freshtoken.Source, error) {
		return freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", ClientSecret: "dev-client-secret", Scopes: scopes,
			TokenURL: root + "/v2/token_endpoint", AuthURL: root + "/v2/approve_app", AuthStyle: oauth2.AuthStyleInHeader, KeepAccess: true},
			freshtoken.Options{Store: st, Clock: clock.Now, Logger: log})
	}
	first, err := open(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	devserver.LoginSource(t, first, clock.Now())
	rec, err := st.Load(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	rec.Scope = "read" // as the provider named it at the log-in; its renewals name none
	if err := st.Save(context.Background(), "dev", rec); err != nil {
		t.Fatal(err)
	}
	scopes = []string{"read", "write"} // added to the configuration since
	k := &Keeper{Envs: func() ([]string, error) { return []string{"dev"}, nil },
		Open: open, Settings: func(string) any { return "as read" },
		Logger: slog.New(slog.DiscardHandler), Now: clock.Now,
		TokenFile: func(string) string { return filepath.Join(t.TempDir(), "token") }}
	for range 3 {
		clock.Advance(2 * time.Hour)
		k.round(context.Background(), time.Minute)
	}
	proxys, err := open(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	if _, err := proxys.Renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "not_granted=write"); n != 1 {
		t.Errorf("three of the keeper's renewals and one of another Source's warned %d times of the scope lacking; want once:\n%s", n, logs.String())
	}
}
