package freshtoken_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
)

// clientRig is a rig whose environment uses client credentials.
func clientRig(t *testing.T, popts devprovider.Options) *rig {
	t.Helper()
	r := newRig(t, popts)
	r.settings.Grant = freshtoken.GrantClientCredentials
	return r
}

func TestClientCredentialsFetchWhenDueAndStoreFirst(t *testing.T) {
	r := clientRig(t, devprovider.Options{AccessTTL: time.Hour})
	src := r.source()
	tok, err := src.Token() // no log-in: the first token is fetched
	if err != nil {
		t.Fatal(err)
	}
	rec := r.record()
	if rec.AccessToken != tok.AccessToken || rec.RefreshToken != "" {
		t.Fatalf("the store holds %+v; want the token served, and no refresh token", rec)
	}
	if rec.Grant.Type != freshtoken.GrantClientCredentials {
		t.Fatalf("the record's grant is %+v; want type client_credentials", rec.Grant)
	}
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}
	if n := r.provider.Stats().ClientCredentials; n != 1 {
		t.Fatalf("%d client credentials requests for a token still valid; want 1", n)
	}
	r.clock.Advance(time.Hour - 30*time.Second) // within refresh_before of expiry
	again, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if again.AccessToken == tok.AccessToken || r.record().AccessToken != again.AccessToken {
		t.Fatal("a token due for renewal was not replaced by a new one, stored")
	}
	if st := r.provider.Stats(); st.ClientCredentials != 2 || st.Refreshes != 0 {
		t.Fatalf("stats %+v: want two client credentials grants and no refresh", st)
	}
}

// TestClientCredentialsOneFetchAcrossSources: goroutines over two Sources
// sharing a store (two processes) at expiry cause one token request.
func TestClientCredentialsOneFetchAcrossSources(t *testing.T) {
	r := clientRig(t, devprovider.Options{AccessTTL: time.Hour})
	a, b := r.source(), r.source()
	if _, err := a.Token(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Token(); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(time.Hour)
	tokenAtOnce(t, 40, a, b)
	if n := r.provider.Stats().ClientCredentials; n != 2 {
		t.Fatalf("%d client credentials grants; want 2 (the first token and one renewal)", n)
	}
}

func TestClientCredentials401FetchesOnceAndRetries(t *testing.T) {
	r := clientRig(t, devprovider.Options{AccessTTL: time.Hour})
	src := r.source()
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}
	r.provider.RevokeAccessTokens()
	if status := getStatus(t, src, r.url+"/v2/company"); status != http.StatusOK {
		t.Fatalf("status %d after a 401; want the retry's 200", status)
	}
	if st := r.provider.Stats(); st.ClientCredentials != 2 || st.Unauthorized != 1 {
		t.Fatalf("stats %+v: want one 401 and one new token", st)
	}
}

// TestClientCredentialsBackOffAnAPIThatRefusesEveryToken: the 401 back-off
// (15 s, doubling with each renewal a 401 caused in a row) holds for client
// credentials too. Their records never counted the row, so an API refusing
// every token got a new token every 15 s for ever.
func TestClientCredentialsBackOffAnAPIThatRefusesEveryToken(t *testing.T) {
	api, _ := countingServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	r := clientRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.APIURL = api.URL + "/"
	src := r.source()
	var fetchedAt []time.Duration
	start := r.clock.Now()
	for r.clock.Now().Sub(start) < 2*time.Minute {
		before := r.provider.Stats().ClientCredentials
		getStatus(t, src, api.URL+"/v2/company")
		if r.provider.Stats().ClientCredentials > before && r.clock.Now() != start {
			fetchedAt = append(fetchedAt, r.clock.Now().Sub(start))
		}
		r.clock.Advance(5 * time.Second)
	}
	if want := []time.Duration{15 * time.Second, 45 * time.Second, 105 * time.Second}; !slices.Equal(fetchedAt, want) {
		t.Fatalf("new tokens for 401s at %v; want %v, each wait twice the one before", fetchedAt, want)
	}
}

func TestClientCredentialsFailures(t *testing.T) {
	t.Run("passing fault retried", func(t *testing.T) {
		r := clientRig(t, devprovider.Options{})
		r.provider.Fault(devprovider.Fault5xx, 2)
		if _, err := r.source().Token(); err != nil {
			t.Fatal(err)
		}
		if st := r.provider.Stats(); st.TokenRequests != 3 || st.ClientCredentials != 1 {
			t.Fatalf("stats %+v: want two failures retried, then a token", st)
		}
	})
	t.Run("invalid_client not retried", func(t *testing.T) {
		r := clientRig(t, devprovider.Options{})
		r.provider.Fault(devprovider.FaultInvalidClient, 5)
		_, err := r.source().Token()
		if !errors.Is(err, freshtoken.ErrClientRejected) {
			t.Fatalf("err = %v; want ErrClientRejected", err)
		}
		if n := r.provider.Stats().TokenRequests; n != 1 {
			t.Fatalf("%d token requests; invalid_client must not be retried", n)
		}
	})
	t.Run("invalid_grant is the configuration's", func(t *testing.T) {
		r := clientRig(t, devprovider.Options{})
		r.provider.Fault(devprovider.FaultInvalidGrant, 1)
		if _, err := r.source().Token(); !errors.Is(err, freshtoken.ErrClientRejected) {
			t.Fatalf("err = %v; want ErrClientRejected, as no log-in can help", err)
		}
	})
}

// TestClientCredentialsFailureWithNothingStored: a first fetch of client
// credentials that fails (a token endpoint that keeps failing, or asks for
// a long wait) says nothing is stored yet; it said "your stored tokens are
// unchanged" of a store that held none.
func TestClientCredentialsFailureWithNothingStored(t *testing.T) {
	check := func(t *testing.T, r *rig, err error) {
		t.Helper()
		if !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(err.Error(), "nothing is stored yet") || strings.Contains(err.Error(), "unchanged") {
			t.Fatalf("err = %v; want ErrUnreachable saying nothing is stored yet, not that stored tokens are unchanged", err)
		}
		if rec, lerr := r.store.Load(context.Background(), r.settings.Env); lerr == nil && (rec.AccessToken != "" || rec.RefreshToken != "") {
			t.Fatalf("the store holds tokens after a failed first fetch: %+v", rec)
		}
	}
	t.Run("kept failing", func(t *testing.T) {
		r := clientRig(t, devprovider.Options{})
		r.provider.Fault(devprovider.Fault5xx, 100)
		src := r.source()
		freshtoken.SetPause(src, r.clock.Sleep)
		_, err := src.Token()
		check(t, r, err)
	})
	t.Run("rate limited", func(t *testing.T) {
		limited := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Retry-After", "3600")
			http.Error(w, "Rate Limit Exceeded", http.StatusTooManyRequests)
		}))
		defer limited.Close()
		r := clientRig(t, devprovider.Options{})
		r.settings.TokenURL = limited.URL
		src := r.source()
		freshtoken.SetPause(src, r.clock.Sleep)
		_, err := src.Token()
		check(t, r, err)
	})
}

func TestClientCredentialsLogoutForgetsAndTheNextTokenIsNew(t *testing.T) {
	r := clientRig(t, devprovider.Options{AccessTTL: time.Hour})
	src := r.source()
	first, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.store.Load(context.Background(), "sandbox"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after logout the store answers %v", err)
	}
	next, err := src.Token()
	if err != nil || next.AccessToken == first.AccessToken {
		t.Fatalf("after logout: %v, same token %v; want a new token with no log-in", err, next != nil && next.AccessToken == first.AccessToken)
	}
}

// TestClientCredentialsPlan: a keeper fetches client credentials only for
// a token file, when its token is due; otherwise there is nothing to keep.
func TestClientCredentialsPlan(t *testing.T) {
	r := clientRig(t, devprovider.Options{AccessTTL: time.Hour})
	if at := r.source().Plan(nil).At; !at.IsZero() {
		t.Fatalf("Plan without a token file = %v; want nothing planned", at)
	}
	r.settings.KeepAccess = true
	r.settings.IdleLimit = 24 * time.Hour
	src := r.source()
	if at := src.Plan(nil).At; at.IsZero() || at.After(r.clock.Now()) {
		t.Fatalf("Plan with a token file and no token = %v; want now", at)
	}
	rec, err := src.KeepAlive(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if at := src.Plan(rec).At; !at.Equal(rec.Expiry.Add(-time.Minute)) {
		t.Fatalf("Plan = %v; want refresh_before ahead of the expiry %v, nothing for the idle limit", at, rec.Expiry)
	}
}

// deviceRig is a rig for the device grant, polling on the fake clock.
func deviceRig(t *testing.T, popts devprovider.Options) (*rig, *freshtoken.Source) {
	t.Helper()
	popts.DeviceInterval = time.Second
	r := newRig(t, popts)
	r.settings.Grant = freshtoken.GrantDeviceCode
	r.settings.DeviceAuthURL = r.url + "/v2/device_authorization"
	src := r.source()
	freshtoken.SetPause(src, r.clock.Sleep)
	return r, src
}

func TestDeviceLogin(t *testing.T) {
	r, src := deviceRig(t, devprovider.Options{AccessTTL: time.Hour})
	ctx := context.Background()
	d, err := src.StartDeviceLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.UserCode == "" || !strings.HasPrefix(d.VerificationURI, r.url) || !strings.Contains(d.VerificationURIComplete, "user_code=") {
		t.Fatalf("device login %+v lacks what the person needs", d)
	}
	var polls []freshtoken.DevicePoll
	err = d.Wait(ctx, func(p freshtoken.DevicePoll) {
		polls = append(polls, p)
		if len(polls) == 3 {
			if err := r.provider.DecideDevice(d.UserCode, true); err != nil {
				t.Error(err)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(polls) != 3 || polls[0].Answer != "authorization_pending" || polls[0].Interval != time.Second {
		t.Fatalf("progress %+v; want three pending polls a second apart", polls)
	}
	rec := r.record()
	if rec.Grant.Type != freshtoken.GrantDeviceCode || rec.RefreshToken == "" {
		t.Fatalf("stored %+v; want the device grant's tokens with a refresh token", rec.Grant)
	}
	r.clock.Advance(time.Hour)
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}
	if st := r.provider.Stats(); st.DeviceLogins != 1 || st.Refreshes != 1 || st.SlowDowns != 0 {
		t.Fatalf("stats %+v: want one device log-in, then a refresh-token renewal", st)
	}
}

func TestDeviceLoginSlowsDown(t *testing.T) {
	r, src := deviceRig(t, devprovider.Options{})
	ctx := context.Background()
	d, err := src.StartDeviceLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.provider.Fault(devprovider.FaultSlowDown, 1)
	var answers []string
	err = d.Wait(ctx, func(p freshtoken.DevicePoll) {
		answers = append(answers, p.Answer)
		if p.Answer == "slow_down" {
			if p.Interval != 6*time.Second {
				t.Errorf("after slow_down the interval is %v; want 6s", p.Interval)
			}
			r.provider.DecideDevice(d.UserCode, true)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// A poll sooner than 6 s after the slow_down would have been answered
	// slow_down again.
	if st := r.provider.Stats(); st.SlowDowns != 1 || st.DeviceLogins != 1 {
		t.Fatalf("stats %+v, answers %v: want one slow_down, honoured", st, answers)
	}
}

func TestDeviceLoginRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		act  func(r *rig, d *freshtoken.DeviceLogin)
		want string
	}{
		{"denied", func(r *rig, d *freshtoken.DeviceLogin) { r.provider.DecideDevice(d.UserCode, false) }, "denied"},
		{"expired", func(r *rig, _ *freshtoken.DeviceLogin) { r.clock.Advance(time.Hour) }, "the code expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, src := deviceRig(t, devprovider.Options{DeviceCodeTTL: time.Minute})
			ctx := context.Background()
			d, err := src.StartDeviceLogin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			err = d.Wait(ctx, func(freshtoken.DevicePoll) { tc.act(r, d) })
			if !errors.Is(err, freshtoken.ErrLoginRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want ErrLoginRefused saying %q", err, tc.want)
			}
			if _, err := r.store.Load(ctx, "sandbox"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the store answers %v; want nothing stored", err)
			}
		})
	}
}

func TestDeviceLoginStopsWhenCancelled(t *testing.T) {
	r, src := deviceRig(t, devprovider.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	d, err := src.StartDeviceLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = d.Wait(ctx, func(freshtoken.DevicePoll) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want the cancellation", err)
	}
	if n := r.provider.Stats().TokenRequests; n != 1 {
		t.Fatalf("%d polls; want none after the cancellation", n)
	}
}

// TestSwitchingGrantsSaysWhichGrant: an environment whose grant changed in
// the config, with tokens of the old grant stored, refuses them, and says
// which grant they belong to: the client and endpoint are the same, so a
// message naming only those would contradict itself.
func TestSwitchingGrantsSaysWhichGrant(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	r.login(r.source())
	for _, tc := range []struct{ grant, name string }{
		{freshtoken.GrantDeviceCode, "device code"},
		{freshtoken.GrantClientCredentials, "client credentials"},
	} {
		r.settings.Grant = tc.grant
		_, err := r.source().Token()
		if !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), "by authorization code, not to this environment's") ||
			!strings.Contains(err.Error(), "by "+tc.name+";") {
			t.Fatalf("%s: err = %v; want the two grants named", tc.name, err)
		}
	}
	if st := r.provider.Stats(); st.Refreshes != 0 || st.ClientCredentials != 0 {
		t.Fatalf("stats %+v: the old grant's tokens were used", st)
	}
}

// TestClientCredentialsReplacingAnotherGrantSaysSoOnceDone: an environment
// switched to client credentials replaces the tokens another grant left,
// and says so once they are replaced. Said before the token request, the
// warning told of tokens replaced when the provider then refused the
// client and the old ones stayed.
func TestClientCredentialsReplacingAnotherGrantSaysSoOnceDone(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	r.login(r.source())
	old := r.record()
	r.settings.Grant = freshtoken.GrantClientCredentials
	logs := testenv.NewOutput()
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	r.provider.Fault(devprovider.FaultInvalidClient, 1)
	if err := src.LoginWithClientCredentials(t.Context()); !errors.Is(err, freshtoken.ErrClientRejected) {
		t.Fatalf("err = %v; want ErrClientRejected", err)
	}
	if got := r.record(); got.AccessToken != old.AccessToken || strings.Contains(logs.String(), "replaced") {
		t.Fatalf("a refused request: the store holds %q (want the old grant's %q), the log says:\n%s", got.AccessToken, old.AccessToken, logs)
	}
	if err := src.LoginWithClientCredentials(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := r.record(); got.Grant.Type != freshtoken.GrantClientCredentials ||
		strings.Count(logs.String(), "replaced stored tokens that belonged to another grant") != 1 {
		t.Fatalf("a granted request: the store holds a %s grant's tokens (want client credentials'), the log says:\n%s", got.Grant.Type, logs)
	}
}

// TestRenewalSaysWhetherItHasARefreshTokenToLose: Options.Sending is told
// that a client-credentials token request has nothing to lose if abandoned
// (no refresh token: the next call requests another), and that a refresh
// has, so that the command line warns of a lost grant only for the latter.
func TestRenewalSaysWhetherItHasARefreshTokenToLose(t *testing.T) {
	for _, tc := range []struct {
		grant   string
		nothing bool
	}{{freshtoken.GrantClientCredentials, true}, {freshtoken.GrantAuthorizationCode, false}} {
		r := newRig(t, devprovider.Options{})
		r.settings.Grant = tc.grant
		var sent []freshtoken.Renewal
		src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now,
			Sending: func(rn freshtoken.Renewal) func() { sent = append(sent, rn); return func() {} }})
		if err != nil {
			t.Fatal(err)
		}
		if tc.grant == freshtoken.GrantAuthorizationCode {
			r.login(src)
		}
		if _, err := src.Renew(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(sent) == 0 || sent[len(sent)-1].NothingToLose != tc.nothing {
			t.Errorf("%s: Sending was told %+v; want NothingToLose %v", tc.grant, sent, tc.nothing)
		}
	}
}

// TestTokenRequestTimeoutIsToldPlainly: a token endpoint that does not
// answer within the environment's timeout was told as Go's bare "context
// deadline exceeded", which says neither what waited nor for how long; it
// is now "did not answer within 300ms (timeout)", still a provider
// unreachable (exit 5), with the token URL's secret masked.
func TestTokenRequestTimeoutIsToldPlainly(t *testing.T) {
	r := clientRig(t, devprovider.Options{})
	r.settings.TokenURL = testenv.SilentServer(t).URL + "/token?api_key=hush-hush-key"
	r.settings.Timeout = 300 * time.Millisecond
	r.settings.RetryBackoff = []time.Duration{time.Millisecond}
	_, err := r.source().Token()
	if err == nil {
		t.Fatal("a token from an endpoint that never answers")
	}
	msg := err.Error()
	if !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(msg, "did not answer within 300ms (timeout)") ||
		strings.Contains(msg, "deadline") || strings.Contains(msg, "Client.Timeout") || strings.Contains(msg, "hush-hush-key") {
		t.Fatalf("err = %v; want ErrUnreachable saying the token endpoint did not answer within 300ms (timeout), its URL masked", err)
	}
}
