package freshtoken_test

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestForcedRenewalsAtOnceRenewOnce: 20 forced renewals at once, over four
// Sources of one file store (each its own store.Store, as processes are),
// all begun while another renewer holds the lock, make one token request,
// not 20 one after another (a provider's 15 a minute, and as many rotated
// refresh tokens, any one lost ending the grant): each is served the token
// the first renewed, issued after it began. A forced renewal begun after
// that renewal renews. So do 20 callers at once of TokenValidFor
// (`token --min-valid`), its token lasting less than they ask.
func TestForcedRenewalsAtOnceRenewOnce(t *testing.T) {
	t.Run("Renew", func(t *testing.T) {
		renewalsAtOnce(t, 0, func(src *freshtoken.Source) (*oauth2.Token, error) { return src.Renew(t.Context()) })
	})
	t.Run("TokenValidFor", func(t *testing.T) {
		renewalsAtOnce(t, 55*time.Minute, func(src *freshtoken.Source) (*oauth2.Token, error) {
			return src.TokenValidFor(t.Context(), 10*time.Minute)
		})
	})
}

// renewalsAtOnce has 20 callers over four Sources call renew at once,
// aged after the log-in, and checks that they made one renewal.
func renewalsAtOnce(t *testing.T, aged time.Duration, renew func(*freshtoken.Source) (*oauth2.Token, error)) {
	const sources, callers = 4, 20
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, RefreshesPerMinute: 1000})
	dir := t.TempDir() + "/tokens"
	r.store = filestore.New(dir)
	logs := testenv.NewOutput()
	srcs := make([]*freshtoken.Source, sources)
	for i := range srcs {
		src, err := freshtoken.New(r.settings, freshtoken.Options{Store: filestore.New(dir), Clock: r.clock.Now,
			Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		if err != nil {
			t.Fatal(err)
		}
		srcs[i] = src
	}
	r.login(srcs[0])
	old := r.record().AccessToken
	r.clock.Advance(aged)
	before := r.provider.Stats().Refreshes

	count := func(msg string) func() int {
		n := strings.Count(logs.String(), `msg="`+msg+`"`)
		return func() int { return strings.Count(logs.String(), `msg="`+msg+`"`) - n }
	}
	locking, joining := count("waiting for the renewal lock"), count("waiting for the renewal in flight")
	held, err := r.store.Lock(t.Context(), r.settings.Env)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	tokens, errs := make([]string, callers), make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			tok, err := renew(srcs[i%sources])
			errs[i] = err
			if err == nil {
				tokens[i] = tok.AccessToken
			}
		})
	}
	testenv.WaitFor(t, "every forced renewal to begin", func() bool {
		return locking() == sources && joining() == callers-sources
	})
	r.clock.Advance(time.Second) // the renewal is sent after every call began
	held()
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || tokens[i] != tokens[0] || tokens[i] == old {
			t.Fatalf("caller %d: %q, %v; want the one new token %q (old %q)", i, tokens[i], errs[i], tokens[0], old)
		}
	}
	if n := r.provider.Stats().Refreshes - before; n != 1 {
		t.Fatalf("%d renewals at once made %d token requests; want 1", callers, n)
	}
	if aged > 0 {
		return
	}

	r.clock.Advance(time.Millisecond)
	tok, err := srcs[1].Renew(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == tokens[0] || r.provider.Stats().Refreshes-before != 2 {
		t.Fatalf("a forced renewal begun after the last renewal got %q with %d refreshes; want a renewal of its own", tok.AccessToken, r.provider.Stats().Refreshes-before)
	}
}

// TestMany401sAtOnceRenewOnce: 20 API requests at once over two Sources of
// one store (two processes, a proxy and a script), each refused with 401
// as the provider revoked the access token they carry, cost one renewal:
// a 401 means the token in hand is bad, and a token another caller,
// process or machine renewed meanwhile is the fix; each request is
// retried with it and succeeds.
func TestMany401sAtOnceRenewOnce(t *testing.T) {
	const callers = 20
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, RefreshesPerMinute: 1000, RequestsPerMinute: -1})
	srcs := []*freshtoken.Source{r.loggedInSource(), r.source()}
	for _, src := range srcs {
		if _, err := src.Token(); err != nil {
			t.Fatal(err)
		}
	}
	before := r.provider.Stats().Refreshes
	r.provider.RevokeAccessTokens()
	var wg sync.WaitGroup
	codes := make([]int, callers)
	for i := range callers {
		wg.Go(func() {
			resp, err := srcs[i%len(srcs)].Client().Get(r.url + "/v2/company")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusOK {
			t.Fatalf("request %d: status %d; want 200 after a renewal", i, code)
		}
	}
	if n := r.provider.Stats().Refreshes - before; n != 1 {
		t.Fatalf("%d requests refused at once made %d renewals; want 1", callers, n)
	}
}
