package keeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestRenewalsThatGainNothingAreNotRepeatedAtOnce: a provider whose
// renewals bring an access token that expires no later than the one it
// replaced (one that hands back its cached token until it expires), or
// within a second of its arrival (a token lasting a second, or expired as
// a slow answer arrives), left the token file's plan due again at once:
// the keeper renewed about once a second (the engine's floor), 60 a
// minute where FreeAgent allows 15, and looked several times a second.
// A renewal that gained nothing is repeated a minute later at the soonest,
// and the log says so once.
func TestRenewalsThatGainNothingAreNotRepeatedAtOnce(t *testing.T) {
	for _, tt := range []struct {
		name string
		// answer is the access token's expires_in for a renewal sent at
		// now, the first token expiring at first; slow is how long of the
		// clock the answer takes.
		answer func(now, first time.Time) int
		slow   time.Duration
		// most is the most renewals in the ten minutes after the plan.
		most int
		// step is the next step the warning names.
		step string
	}{
		{"no later than the last", func(now, first time.Time) int {
			if left := int(first.Sub(now) / time.Second); left > 0 {
				return left
			}
			return 3600 // a new token once the cached one has expired
		}, 0, 2, "nothing needs doing"},
		{"lasting a second", func(time.Time, time.Time) int { return 1 }, 0, 11, "raise the access token lifetime in the provider's settings"},
		{"expired as it arrives", func(time.Time, time.Time) int { return 1 }, 2 * time.Second, 11, "--debug shows how long each answer took"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := fakeclock.New()
			first := clock.Now().Add(time.Hour)
			var renewals atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				n := renewals.Add(1)
				expiresIn := tt.answer(clock.Now(), first)
				clock.Advance(tt.slow)
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"access_token":"access-token-renewed-%d","refresh_token":"refresh-token-1234567890","token_type":"bearer","expires_in":%d}`, n, expiresIn)
			}))
			var logs syncBuffer
			k := keepingWith(t, srv, clock, &store.Record{AccessToken: "access-token-1234567890", RefreshToken: "refresh-token-1234567890",
				IssuedAt: clock.Now(), Expiry: first}, true, &logs)
			plan := first.Add(-time.Minute)
			sent := runAsWatches(context.Background(), k, clock, []string{"dev"}, plan.Add(10*time.Minute), func() int { return int(renewals.Load()) })
			t.Logf("renewals in each minute after the plan: %v", perMinute(sent))
			if len(sent) == 0 || len(sent) > tt.most {
				t.Errorf("%d renewals in the ten minutes after the plan (%v a minute); want 1 to %d", len(sent), perMinute(sent), tt.most)
			}
			if n := strings.Count(logs.String(), "gained nothing"); n != 1 {
				t.Errorf("the log says %d times that a renewal gained nothing; want once:\n%s", n, logs.String())
			}
			// It says what to do, or that nothing needs doing: it named no
			// next step.
			if !strings.Contains(logs.String(), tt.step) {
				t.Errorf("the warning does not say %q:\n%s", tt.step, logs.String())
			}
		})
	}
}

// TestAGrantKeptAliveIsNotHeldForItsAccessToken: a grant whose renewals
// bring access tokens lasting a second and refresh tokens lasting 10 s:
// kept alive for its refresh token (no token file), its renewals gain what
// they are for; with a token file, one held a minute for its access token
// would end the grant. Neither is held: judged by its access token, the
// grant was held a minute after each renewal, past its refresh token's
// expiry, and ended (the demo's grant, its refresh tokens lasting 2 s,
// ended so).
func TestAGrantKeptAliveIsNotHeldForItsAccessToken(t *testing.T) {
	for _, tokenFile := range []bool{false, true} {
		t.Run(fmt.Sprintf("token file %v", tokenFile), func(t *testing.T) {
			clock := fakeclock.New()
			var renewals atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				n := renewals.Add(1)
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"access_token":"access-token-renewed-%d","refresh_token":"refresh-token-renewed-%d","token_type":"bearer","expires_in":1,"refresh_token_expires_in":10}`, n, n)
			}))
			t.Cleanup(srv.Close)
			var logs syncBuffer
			k := keepingWith(t, srv, clock, &store.Record{AccessToken: "access-token-1234567890", RefreshToken: "refresh-token-1234567890",
				IssuedAt: clock.Now(), Expiry: clock.Now().Add(time.Second), RefreshExpiry: clock.Now().Add(10 * time.Second)}, tokenFile, &logs)
			runAsWatches(context.Background(), k, clock, []string{"dev"}, clock.Now().Add(2*time.Minute), func() int { return int(renewals.Load()) })
			if n := renewals.Load(); n < 12 {
				t.Errorf("%d renewals in two minutes of refresh tokens lasting 10 s; want one every 9 s at least", n)
			}
			if strings.Contains(logs.String(), "gained nothing") {
				t.Errorf("the log says a renewal gained nothing:\n%s", logs.String())
			}
		})
	}
}

// keepingWith is a keeper, on clock and logging to logs, of a "dev"
// environment whose token endpoint is srv and whose store holds rec; with
// a token file if tokenFile.
func keepingWith(t *testing.T, srv *httptest.Server, clock *fakeclock.Clock, rec *store.Record, tokenFile bool, logs *syncBuffer) *Keeper {
	t.Helper()
	st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
	rec.Grant = store.Grant{TokenURL: srv.URL + "/token", ClientID: "dev-client-id", Type: freshtoken.GrantAuthorizationCode}
	src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: rec.Grant.ClientID, ClientSecret: "s3cr3t-value",
		TokenURL: rec.Grant.TokenURL, AuthStyle: oauth2.AuthStyleInHeader, KeepAccess: tokenFile},
		freshtoken.Options{Store: st, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(context.Background(), "dev", rec); err != nil {
		t.Fatal(err)
	}
	k := keeping(src, filepath.Join(t.TempDir(), "token"))
	if !tokenFile {
		k.TokenFile = nil
	}
	k.Now, k.Logger = clock.Now, slog.New(slog.NewTextHandler(logs, nil))
	return k
}

// TestACachedTokenHandedBackIsRenewedAsItExpires: a provider that hands
// back its cached access token until it expires, renewed once that token
// has 30 s left (its turn came late, or the machine woke from sleep). The
// renewal gains nothing, but the next is made as the token expires, when
// the provider has a new one to give: held a minute, the token file held
// an expired access token for the 30 s after.
func TestACachedTokenHandedBackIsRenewedAsItExpires(t *testing.T) {
	clock := fakeclock.New()
	cached := clock.Now().Add(30 * time.Second)
	var renewals atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := renewals.Add(1)
		expiresIn := 3600 // a new token once the cached one has expired
		if left := cached.Sub(clock.Now()); left > 0 {
			expiresIn = int(left / time.Second)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"access-token-renewed-%d","refresh_token":"refresh-token-1234567890","token_type":"bearer","expires_in":%d}`, n, expiresIn)
	}))
	t.Cleanup(srv.Close)
	var logs syncBuffer
	k := keepingWith(t, srv, clock, &store.Record{AccessToken: "access-token-1234567890", RefreshToken: "refresh-token-1234567890",
		IssuedAt: clock.Now().Add(-time.Hour), Expiry: cached}, true, &logs)
	sent := runAsWatches(context.Background(), k, clock, []string{"dev"}, clock.Now().Add(5*time.Minute), func() int { return int(renewals.Load()) })
	if len(sent) != 2 || sent[1].After(cached) {
		t.Errorf("renewals at %v; want one now, its cached token handed back, and one as it expires at %v", sent, cached)
	}
}

// TestNextRenewalAfterARenewalThatGainedNothingIsWhenTheKeeperRenews:
// after a renewal that gained nothing (a cached token handed back, held
// until it expires; a token lasting a second, held a minute), status and
// the proxy's page said the renewal was due at the plan, which the keeper,
// holding it in memory, did not follow: "was due 20s ago". The keeper
// notes its hold beside the token file's note (heldUntil), and
// NextRenewal names the time the keeper then renews.
func TestNextRenewalAfterARenewalThatGainedNothingIsWhenTheKeeperRenews(t *testing.T) {
	for _, tt := range []struct {
		name   string
		answer func(now, cached time.Time) int // the access token's expires_in
	}{
		{"a cached token handed back", func(now, cached time.Time) int {
			if left := cached.Sub(now); left > 0 {
				return int(left / time.Second)
			}
			return 3600
		}},
		{"tokens lasting a second", func(time.Time, time.Time) int { return 1 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := fakeclock.New()
			cached := clock.Now().Add(30 * time.Second)
			var renewals atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				n := renewals.Add(1)
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"access_token":"access-token-renewed-%d","refresh_token":"refresh-token-1234567890","token_type":"bearer","expires_in":%d}`, n, tt.answer(clock.Now(), cached))
			}))
			t.Cleanup(srv.Close)
			var logs syncBuffer
			k := keepingWith(t, srv, clock, &store.Record{AccessToken: "access-token-1234567890", RefreshToken: "refresh-token-1234567890",
				IssuedAt: clock.Now().Add(-time.Hour), Expiry: cached}, true, &logs)
			k.Ledger = filepath.Join(t.TempDir(), "freshtoken", "token-files")
			ctx := context.Background()
			k.keep(ctx, "dev", time.Minute)
			if n := renewals.Load(); n != 1 || !strings.Contains(logs.String(), "gained nothing") {
				t.Fatalf("%d renewals at the first look; want one, which gained nothing:\n%s", n, logs.String())
			}
			src, err := k.Open(ctx, "dev")
			if err != nil {
				t.Fatal(err)
			}
			rec, err := src.Record(ctx)
			if err != nil {
				t.Fatal(err)
			}
			now := clock.Now()
			at, then := NextRenewal(src.Plan(rec), rec, now, k.Ledger, k.TokenFile("dev"))
			sent := runAsWatches(ctx, k, clock, []string{"dev"}, now.Add(3*time.Minute), func() int { return int(renewals.Load()) - 1 })
			if len(sent) == 0 || !sent[0].Equal(at) {
				t.Fatalf("NextRenewal said %v (%q), the plan %v; the keeper renewed at %v", at, then, src.Plan(rec).At, sent)
			}
		})
	}
}

// TestARenewalWithinTheEnginesSecondIsAwaitedOnce: a token file's renewal
// falls due under a second after the last renewal (another process's,
// whose token expired as it arrived), which the engine does not repeat
// within a second. The keeper looked again every 100 ms until the second
// was over, ten looks for one renewal; it looks once, as the second ends,
// and renews then.
func TestARenewalWithinTheEnginesSecondIsAwaitedOnce(t *testing.T) {
	clock := fakeclock.New()
	var renewals atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := renewals.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"access-token-renewed-%d","refresh_token":"refresh-token-1234567890","token_type":"bearer","expires_in":3600}`, n)
	}))
	t.Cleanup(srv.Close)
	renewed := clock.Now().Add(-100 * time.Millisecond)
	var logs syncBuffer
	k := keepingWith(t, srv, clock, &store.Record{AccessToken: "access-token-1234567890", RefreshToken: "refresh-token-1234567890",
		IssuedAt: renewed, RenewedAt: renewed, Expiry: clock.Now()}, true, &logs)
	wait := k.keep(context.Background(), "dev", time.Minute)
	if n := renewals.Load(); n != 0 {
		t.Fatalf("%d renewals within a second of the last; want none", n)
	}
	if floor := renewed.Add(time.Second).Sub(clock.Now()); wait != floor {
		t.Fatalf("the next look in %s; want one, as the engine's second ends, in %s", wait, floor)
	}
	clock.Advance(wait)
	k.keep(context.Background(), "dev", time.Minute)
	if n := renewals.Load(); n != 1 {
		t.Fatalf("%d renewals as the second ended; want 1", n)
	}
}

// TestRenewalsMoreThanOnceAMinuteAreWarnedOfOnce: a token file whose
// access tokens last 2 s is renewed once a second, and a grant whose
// refresh tokens last a second, kept alive with no token file, at the
// engine's floor, once a second too: the keeper did so without a word,
// 60 renewals a minute where FreeAgent allows 15. It still renews them
// (holding them back would leave the file holding an expired token, or
// end the grant), and warns once, naming the lifetime that sets the pace
// and what to do. Tokens lasting two minutes, renewed once a minute, are
// not warned of. The pace is told as a person reads it, from the start of
// one renewal to the start of the next: answers taking 100 ms, renewals a
// second apart were said to come "every 900ms".
func TestRenewalsMoreThanOnceAMinuteAreWarnedOfOnce(t *testing.T) {
	for _, tt := range []struct {
		name               string
		access, refresh    int // the answer's expires_in and refresh_token_expires_in
		tokenFile          bool
		warned             bool
		every, cause, step string
	}{
		{"a token file, access tokens lasting 2 s", 2, 0, true, true, "renewed once a second", "the provider's access tokens last 2s", "take token_file out"},
		{"a token file, access tokens lasting 10 s", 10, 0, true, true, "renewed every 5 seconds", "the provider's access tokens last 10s", "take token_file out"},
		{"no token file, refresh tokens lasting 1 s", 3600, 1, false, true, "renewed once a second", "the provider's refresh tokens last 1s", "raise the refresh token lifetime in the provider's settings"},
		{"a token file, access tokens lasting 2 minutes", 120, 0, true, false, "", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := fakeclock.New()
			var renewals atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				n := renewals.Add(1)
				clock.Advance(100 * time.Millisecond) // the answer takes this long
				w.Header().Set("Content-Type", "application/json")
				refresh := ""
				if tt.refresh > 0 {
					refresh = fmt.Sprintf(`,"refresh_token_expires_in":%d`, tt.refresh)
				}
				fmt.Fprintf(w, `{"access_token":"access-token-renewed-%d","refresh_token":"refresh-token-renewed-%d","token_type":"bearer","expires_in":%d%s}`, n, n, tt.access, refresh)
			}))
			t.Cleanup(srv.Close)
			rec := &store.Record{AccessToken: "access-token-1234567890", RefreshToken: "refresh-token-1234567890",
				IssuedAt: clock.Now(), Expiry: clock.Now().Add(time.Duration(tt.access) * time.Second)}
			if tt.refresh > 0 {
				rec.RefreshExpiry = clock.Now().Add(time.Duration(tt.refresh) * time.Second)
			}
			var logs syncBuffer
			k := keepingWith(t, srv, clock, rec, tt.tokenFile, &logs)
			sent := runAsWatches(context.Background(), k, clock, []string{"dev"}, clock.Now().Add(3*time.Minute), func() int { return int(renewals.Load()) })
			t.Logf("renewals in each minute: %v", perMinute(sent))
			n := strings.Count(logs.String(), "more than once a minute")
			switch {
			case !tt.warned && n != 0:
				t.Fatalf("warned %d times of renewals once a minute:\n%s", n, logs.String())
			case tt.warned && n != 1:
				t.Fatalf("warned %d times of renewals more than once a minute; want once:\n%s", n, logs.String())
			case tt.warned && (!strings.Contains(logs.String(), tt.every) || !strings.Contains(logs.String(), tt.cause) || !strings.Contains(logs.String(), tt.step)):
				t.Fatalf("the warning does not say %q, %q and %q:\n%s", tt.every, tt.cause, tt.step, logs.String())
			}
		})
	}
}

// TestNextRenewalIsWhenTheKeeperRenews: after the provider refused a
// renewal (a command's, the client rejected), status and the proxy's page
// say when the keeper next renews (NextRenewal): 5 minutes after the
// refusal, as the keeper does, whether its plan is due sooner (status said
// "was due 3m ago") or days later (status said "due in 18d"; the keeper
// waited that long, and a secret fixed in the keychain meanwhile was not
// seen until then, nor told). The keeper's first token request after the
// refusal comes when NextRenewal said, within a look, and, the client
// fixed meanwhile, renews as a keep-alive: the refusal noted is cleared.
func TestNextRenewalIsWhenTheKeeperRenews(t *testing.T) {
	for _, tt := range []struct {
		name      string
		opts      devprovider.Options
		tokenFile bool
	}{
		{"a token file due at once", devprovider.Options{AccessTTL: 10 * time.Minute, RefreshTTL: 30 * 24 * time.Hour}, true},
		{"a grant due days later", devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 48 * time.Hour}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, clock, _, src := loggedInOnClock(t, tt.opts, tt.tokenFile)
			clock.Advance(9*time.Minute + 10*time.Second)
			p.Fault(devprovider.FaultInvalidClient, 1) // then fixed, in the keychain say
			if _, err := src.Renew(context.Background()); !errors.Is(err, freshtoken.ErrClientRejected) {
				t.Fatalf("renewal: %v; want the client rejected", err)
			}
			rec, err := src.Record(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			at, then := NextRenewal(src.Plan(rec), rec, clock.Now(), "", "")
			if want := "5 minutes after the provider's last refusal"; !strings.HasPrefix(then, want) || !at.Equal(rec.Problem.At.Add(5*time.Minute)) {
				t.Fatalf("NextRenewal says %v, %q; want 5 minutes after the refusal at %v, saying %q", at, then, rec.Problem.At, want)
			}
			file := ""
			if tt.tokenFile {
				file = filepath.Join(t.TempDir(), "token")
			}
			k, _ := keepingTold(src, file, clock)
			k.refusedHere("dev") // the keeper's own renewal met it: see TestARefusalOnlyACommandMetHoldsNoTokenFileBack
			before := p.Stats().TokenRequests
			sent := runAsWatches(context.Background(), k, clock, []string{"dev"}, at.Add(2*time.Minute), func() int { return p.Stats().TokenRequests - before })
			t.Logf("NextRenewal %v, %q; token requests at %v", at, then, sent)
			if len(sent) == 0 || sent[0].Before(at) || sent[0].After(at.Add(time.Minute)) {
				t.Fatalf("the keeper's token requests at %v; want the first at %v, as NextRenewal said, within a look", sent, at)
			}
			// The retry is no one's request: it was stored as `token
			// --force`'s, and status said it was made as asked.
			if rec, err := src.Record(context.Background()); err != nil || rec.Problem != nil || rec.RenewedFor != store.RenewedToKeepAlive {
				t.Fatalf("the record once the keeper tried the client fixed: %+v, %v; want renewed as a keep-alive, no problem noted", rec, err)
			}
		})
	}
}

// TestAnAbandonedClientIsTriedHourlyAfterAnHour: a client nobody fixes
// (its app deleted at the provider), refused first by a command's renewal,
// its grant due days later. The keeper tried it again 5 minutes after each
// refusal, for ever: 288 token requests a day. It still tries every 5
// minutes in the first hour, then hourly, each try when NextRenewal says,
// which reads the record alone, as status and another keeper do.
func TestAnAbandonedClientIsTriedHourlyAfterAnHour(t *testing.T) {
	p, clock, _, src := loggedInOnClock(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 30 * 24 * time.Hour}, false)
	p.Fault(devprovider.FaultInvalidClient, 1<<20)
	ctx := context.Background()
	first := clock.Now()
	if _, err := src.Renew(ctx); !errors.Is(err, freshtoken.ErrClientRejected) {
		t.Fatalf("the command's renewal: %v; want the client rejected", err)
	}
	k, _ := keepingTold(src, "", clock)
	before := p.Stats().TokenRequests
	day := first.Add(24 * time.Hour)
	var sent []time.Time
	for {
		rec, err := src.Record(ctx)
		if err != nil {
			t.Fatal(err)
		}
		told, _ := NextRenewal(src.Plan(rec), rec, clock.Now(), "", "")
		if told.After(day) {
			break
		}
		tries := runAsWatches(ctx, k, clock, []string{"dev"}, told, func() int { return p.Stats().TokenRequests - before })
		if len(tries) != 1 || !tries[0].Equal(told) {
			t.Fatalf("the keeper's token requests until %v: %v; want one, then, as NextRenewal said", told, tries)
		}
		sent = append(sent, tries...)
	}
	inTheFirstHour := 0
	for _, at := range sent {
		if !at.After(first.Add(time.Hour)) {
			inTheFirstHour++
		}
	}
	t.Logf("%d token requests in a day, %d in its first hour", len(sent), inTheFirstHour)
	if inTheFirstHour != 12 || len(sent) > 12+24 {
		t.Fatalf("%d token requests in the day after the refusal, %d in its first hour; want one every 5 minutes in the first hour (12), then one an hour", len(sent), inTheFirstHour)
	}
	rec, err := src.Record(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Problem == nil || !rec.Problem.Since.Equal(first) || !rec.Problem.At.Equal(sent[len(sent)-1]) {
		t.Fatalf("the refusal noted: %+v; want the first at %v, the last at the keeper's last try %v", rec.Problem, first, sent[len(sent)-1])
	}
}

// TestAnAbandonedClientWithNoRecordIsTriedHourlyAfterAnHour: a client
// credentials environment with a token file, its client refused before any
// token was had (its app deleted at the provider), has no record to note
// the first refusal in: the keeper's own note of it kept only the last,
// and it was tried every 5 minutes for ever, 288 token requests a day.
func TestAnAbandonedClientWithNoRecordIsTriedHourlyAfterAnHour(t *testing.T) {
	p, root, clock := devserver.StartOnClock(t, devprovider.Options{})
	src, err := freshtoken.New(freshtoken.Settings{Env: "machine", ClientID: "dev-client-id", ClientSecret: "a-wrong-client-secret",
		TokenURL: root + "/v2/token_endpoint", AuthStyle: oauth2.AuthStyleInHeader,
		Grant: freshtoken.GrantClientCredentials, KeepAccess: true},
		freshtoken.Options{Store: filestore.New(filepath.Join(t.TempDir(), "tokens")), Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := keepingTold(src, filepath.Join(t.TempDir(), "token"), clock)
	first := clock.Now()
	sent := runAsWatches(context.Background(), k, clock, []string{"machine"}, first.Add(24*time.Hour), func() int { return p.Stats().TokenRequests })
	inTheFirstHour := 0
	for _, at := range sent {
		if !at.After(first.Add(time.Hour)) {
			inTheFirstHour++
		}
	}
	t.Logf("%d token requests in a day, %d in its first hour", len(sent), inTheFirstHour)
	if inTheFirstHour < 12 || inTheFirstHour > 13 || len(sent) > 13+24 {
		t.Fatalf("%d token requests in the day, %d in its first hour; want one every 5 minutes in the first hour, then one an hour", len(sent), inTheFirstHour)
	}
}

// TestARefusalOnlyACommandMetHoldsNoTokenFileBack: a command given
// another client secret than the keeper's (another $FREEAGENT_SECRET in
// its shell) is refused, before the token file's renewal falls due or as
// it does. The keeper's own renewal, which works, waited for its retry
// after the refusal (an hour on), and the token file held an expired
// token meanwhile; it is made at its plan, and the file never holds an
// expired token.
func TestARefusalOnlyACommandMetHoldsNoTokenFileBack(t *testing.T) {
	for _, refusedAt := range []time.Duration{5 * time.Minute, 9*time.Minute + 10*time.Second} {
		t.Run(refusedAt.String(), func(t *testing.T) {
			p, clock, st, src := loggedInOnClock(t, devprovider.Options{AccessTTL: 10 * time.Minute, RefreshTTL: 30 * 24 * time.Hour}, true)
			logged, err := st.Load(context.Background(), "dev")
			if err != nil {
				t.Fatal(err)
			}
			command, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", ClientSecret: "a-wrong-client-secret",
				TokenURL: src.OwnGrant().TokenURL, AuthStyle: oauth2.AuthStyleInHeader}, freshtoken.Options{Store: st, Clock: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(refusedAt)
			if _, err := command.Renew(context.Background()); !errors.Is(err, freshtoken.ErrClientRejected) {
				t.Fatalf("the command's renewal: %v; want the client rejected", err)
			}
			k, _ := keepingTold(src, filepath.Join(t.TempDir(), "token"), clock)
			before := p.Stats().Refreshes
			runAsWatches(context.Background(), k, clock, []string{"dev"}, logged.Expiry, func() int { return p.Stats().Refreshes - before })
			if n := p.Stats().Refreshes - before; n != 1 {
				t.Fatalf("%d renewals by the keeper before the token file's token expired at %v; want its own, at its plan", n, logged.Expiry)
			}
		})
	}
}

// TestARefusalOnlyACommandMetAfterACommandFixedTheKeepersHoldsNoTokenFileBack:
// the keeper's own renewal was refused, then a command (`token --force`)
// renewed, which cleared the refusal, and the keeper's next look only read
// the record. It still took its own renewal for refused, so a later
// refusal only a command met (another client secret in its shell) held
// the token file's renewal back until the retry 5 minutes on, the file
// expired meanwhile. A look that finds no refusal noted forgets the
// keeper's own.
func TestARefusalOnlyACommandMetAfterACommandFixedTheKeepersHoldsNoTokenFileBack(t *testing.T) {
	p, clock, st, src := loggedInOnClock(t, devprovider.Options{AccessTTL: 10 * time.Minute, RefreshTTL: 30 * 24 * time.Hour}, true)
	ctx := context.Background()
	command := func(secret string) *freshtoken.Source {
		c, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", ClientSecret: secret,
			TokenURL: src.OwnGrant().TokenURL, AuthStyle: oauth2.AuthStyleInHeader}, freshtoken.Options{Store: st, Clock: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	k, _ := keepingTold(src, filepath.Join(t.TempDir(), "token"), clock)
	clock.Advance(9*time.Minute + 10*time.Second) // the token file's renewal is due
	p.Fault(devprovider.FaultInvalidClient, 1)
	k.round(ctx, time.Minute)
	if rec, err := st.Load(ctx, "dev"); err != nil || rec.Problem == nil {
		t.Fatalf("the record after the keeper's renewal: %+v, %v; want its refusal noted", rec, err)
	}
	clock.Advance(time.Minute)
	if _, err := command("dev-client-secret").Renew(ctx); err != nil {
		t.Fatalf("the command's renewal: %v", err)
	}
	k.round(ctx, time.Minute) // reads the command's tokens
	renewed, err := st.Load(ctx, "dev")
	if err != nil || renewed.Problem != nil {
		t.Fatalf("the record after the command's renewal: %+v, %v; want no refusal noted", renewed, err)
	}
	clock.Advance(8*time.Minute + 30*time.Second)
	if _, err := command("a-wrong-client-secret").Renew(ctx); !errors.Is(err, freshtoken.ErrClientRejected) {
		t.Fatalf("the other command's renewal: %v; want the client rejected", err)
	}
	before := p.Stats().Refreshes
	runAsWatches(ctx, k, clock, []string{"dev"}, renewed.Expiry, func() int { return p.Stats().Refreshes - before })
	if n := p.Stats().Refreshes - before; n != 1 {
		t.Fatalf("%d renewals by the keeper before the token file's token expired at %v; want its own, at its plan", n, renewed.Expiry)
	}
}

// TestNextRenewalOfEachRecord: NextRenewal of a plan due in a minute, for
// each record: nothing noted, the plan; a refusal noted by a clock ahead of
// this one, the plan (the keeper tries at once, see due); renewals
// resting 5 minutes, their end; a refusal, 5 minutes after it, or an hour
// after it once refusals have lasted an hour.
func TestNextRenewalOfEachRecord(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	plan := freshtoken.KeepAlivePlan{At: now.Add(time.Minute), Because: "its token file is kept fresh"}
	refused := func(at time.Time) *store.Problem {
		return &store.Problem{Kind: store.ProblemRefused, Message: "refused", At: at}
	}
	refusedSince := func(at, since time.Time) *store.Problem {
		p := refused(at)
		p.Since = since
		return p
	}
	for _, tt := range []struct {
		name string
		rec  store.Record
		at   time.Time
		then string
	}{
		{"nothing noted", store.Record{}, plan.At, ""},
		{"a refusal noted ahead", store.Record{Problem: refused(now.Add(time.Hour))}, plan.At, ""},
		{"renewals resting", store.Record{Rest: &store.Rest{Until: now.Add(5 * time.Minute)}}, now.Add(5 * time.Minute), "once renewals rest no more"},
		{"a refusal", store.Record{Problem: refused(now.Add(-time.Minute))}, now.Add(4 * time.Minute), "5 minutes after the provider's last refusal"},
		{"refusals for under an hour", store.Record{Problem: refusedSince(now.Add(-time.Minute), now.Add(-59*time.Minute))}, now.Add(4 * time.Minute), "5 minutes after the provider's last refusal"},
		{"refusals for an hour", store.Record{Problem: refusedSince(now.Add(-time.Minute), now.Add(-61*time.Minute))}, now.Add(59 * time.Minute), "an hour after the provider's last refusal"},
		{"a first refusal noted ahead of the last", store.Record{Problem: refusedSince(now.Add(-time.Minute), now.Add(time.Hour))}, now.Add(4 * time.Minute), "5 minutes after the provider's last refusal"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			at, then := NextRenewal(plan, &tt.rec, now, "", "")
			if !at.Equal(tt.at) || !strings.HasPrefix(then, tt.then) || (tt.then == "") != (then == "") {
				t.Fatalf("NextRenewal: %v, %q; want %v, %q", at, then, tt.at, tt.then)
			}
		})
	}
}

// TestARefusedClientsRetryHonoursARest: the provider refused the client
// (a command's renewal), and the keeper's try 5 minutes later was answered
// 429 Retry-After: 3600, its grant due days later. The keeper's retries
// are forced renewals, which the engine makes whatever rests: it tried
// again at every look, a token request a minute for the hour the provider
// asked it to wait. It waits out the rest, as status and the proxy's page
// say it does (NextRenewal: "once renewals rest no more").
func TestARefusedClientsRetryHonoursARest(t *testing.T) {
	clock := fakeclock.New()
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if requests.Add(1) == 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		w.Header().Set("Retry-After", "3600")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, "Too many requests")
	}))
	t.Cleanup(srv.Close)
	var logs syncBuffer
	k := keepingWith(t, srv, clock, &store.Record{AccessToken: "access-token-1234567890", RefreshToken: "refresh-token-1234567890",
		IssuedAt: clock.Now(), Expiry: clock.Now().Add(time.Hour), RefreshExpiry: clock.Now().Add(30 * 24 * time.Hour)}, false, &logs)
	ctx := context.Background()
	src, err := k.Open(ctx, "dev")
	if err != nil {
		t.Fatal(err)
	}
	refused := clock.Now()
	if _, err := src.Renew(ctx); !errors.Is(err, freshtoken.ErrClientRejected) {
		t.Fatalf("the command's renewal: %v; want the client rejected", err)
	}
	sent := runAsWatches(ctx, k, clock, []string{"dev"}, refused.Add(time.Hour), func() int { return int(requests.Load()) - 1 })
	if len(sent) != 1 || !sent[0].Equal(refused.Add(rejectedRetry)) {
		t.Fatalf("the keeper's token requests in the hour after the refusal at %v: %v (%v a minute); want one, 5 minutes after it, then none while the provider's Retry-After lasts",
			refused, len(sent), perMinute(sent))
	}
}

// TestARefusalInOtherWordsEachTimeIsWarnedOfOnce: a provider whose every
// refusal words its description anew (Entra's carries a new Trace ID in
// each answer). A refusal tried again was taken for the one noted only
// when its words ended as the noted one's, so every retry, 12 an hour,
// was warned of; it is warned of once, by its kind.
func TestARefusalInOtherWordsEachTimeIsWarnedOfOnce(t *testing.T) {
	for _, code := range []string{"invalid_client", "app_suspended"} {
		t.Run(code, func(t *testing.T) {
			clock := fakeclock.New()
			var answers atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprintf(w, `{"error":%q,"error_description":"AADSTS7000215: Invalid client secret provided. Trace ID: %d"}`, code, answers.Add(1))
			}))
			t.Cleanup(srv.Close)
			var logs syncBuffer
			k := keepingWith(t, srv, clock, &store.Record{AccessToken: "access-token-1234567890", RefreshToken: "refresh-token-1234567890",
				IssuedAt: clock.Now(), Expiry: clock.Now().Add(time.Minute), RefreshExpiry: clock.Now().Add(30 * 24 * time.Hour)}, true, &logs)
			for range 30 { // half an hour of looks, a minute apart
				k.round(context.Background(), time.Minute)
				clock.Advance(time.Minute)
			}
			if n := answers.Load(); n < 3 {
				t.Fatalf("%d token requests in half an hour; want one every 5 minutes", n)
			}
			if n := strings.Count(logs.String(), "level=WARN msg=\"keeper: renewal failed\""); n != 1 {
				t.Fatalf("%d refusals in other words were warned of %d times; want once:\n%s", answers.Load(), n, logs.String())
			}
		})
	}
}

// TestKeepersSharingAStoreDoNotTakeEachOthersRefusalForACommands: two
// keepers sharing one store (two machines of a fleet, or the per-user
// service and a proxy started by hand), each keeping a token file, whose
// client the provider rejects (its secret rotated at the provider). Each
// took the other's refusal, newer than its own, for one only a command
// met, which holds back no renewal due at its plan: the plan long past,
// each tried again at its next look, and the two sent a token request a
// minute between them. Each waits 5 minutes after the last refusal once
// its own renewal was refused.
func TestKeepersSharingAStoreDoNotTakeEachOthersRefusalForACommands(t *testing.T) {
	p, clock, st, src := loggedInOnClock(t, devprovider.Options{AccessTTL: 10 * time.Minute, RefreshTTL: 30 * 24 * time.Hour}, true)
	other, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
		TokenURL: src.OwnGrant().TokenURL, AuthStyle: oauth2.AuthStyleInHeader, KeepAccess: true}, freshtoken.Options{Store: st, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := keepingTold(src, filepath.Join(t.TempDir(), "token"), clock)
	b, _ := keepingTold(other, filepath.Join(t.TempDir(), "token"), clock)
	p.Fault(devprovider.FaultInvalidClient, 1<<20)
	clock.Advance(10 * time.Minute) // the token files' renewals are due
	before := p.Stats().TokenRequests
	from := clock.Now()
	sent := runWatches(context.Background(), clock, []watched{{a, "dev", from}, {b, "dev", from.Add(20 * time.Second)}}, from.Add(30*time.Minute),
		func() int { return p.Stats().TokenRequests - before })
	t.Logf("token requests a minute: %v", perMinute(sent))
	// Each tries at once, then 5 minutes after the last refusal: 2 then 2
	// every 5 minutes at most.
	if len(sent) > 2+2*6 {
		t.Fatalf("%d token requests in 30 minutes from two keepers of a rejected client (%v a minute); want two every 5 minutes at most", len(sent), perMinute(sent))
	}
}
