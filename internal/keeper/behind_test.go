package keeper

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/notify"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestRenewalsThatLoseTheirAnswersAreNotToldHarmless: the token endpoint
// gets every renewal and its answers never come back whole (cut off, as
// past the timeout), in front of a provider that rotates refresh tokens
// and ends the grant on reuse. The keeper's notice said "your stored
// tokens are unchanged", as for a provider that was never reached; it now
// says the refresh token may have been spent, and to log in if the
// provider refuses it.
func TestRenewalsThatLoseTheirAnswersAreNotToldHarmless(t *testing.T) {
	got := renewalsBehind(t, 20, func(forward http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			forward.ServeHTTP(httptest.NewRecorder(), req) // the provider acts on it
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
		})
	})
	if len(got) != 1 || got[0].Event != notify.Unreachable || strings.Contains(got[0].Message, "unchanged;") || strings.HasSuffix(got[0].Message, "unchanged") ||
		!strings.Contains(got[0].Message, "the provider may have renewed then, spending the stored refresh token; renewals go on, and if the provider refuses it, log in again") {
		t.Fatalf("notices %+v; want renewals_failing saying the refresh token may have been spent", got)
	}
}

// TestAnAnswerLostEarlierInTheFailuresIsStillTold: the first renewal's
// answers are lost (the provider acting on each), and every renewal after
// it meets a gateway's 503 that the provider never sees, for 20 minutes.
// The notice said "your stored tokens are unchanged", the words of the
// last renewal alone, though the refresh token may have been spent by the
// first; it says so until a renewal succeeds or the provider refuses.
func TestAnAnswerLostEarlierInTheFailuresIsStillTold(t *testing.T) {
	var tries atomic.Int32
	got := renewalsBehind(t, 20, func(forward http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			switch tries.Add(1) {
			case 1, 2: // the first renewal's two tries
				forward.ServeHTTP(httptest.NewRecorder(), req) // the provider acts on it
				if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
					c.Close()
				}
			default:
				http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			}
		})
	})
	if tries.Load() <= 2 || len(got) != 1 || got[0].Event != notify.Unreachable ||
		!strings.Contains(got[0].Message, "the provider may have renewed then, spending the stored refresh token; renewals go on, and if the provider refuses it, log in again") {
		t.Fatalf("notices %+v after %d tries; want renewals_failing saying the refresh token may have been spent", got, tries.Load())
	}
}

// TestARenewalRefusedWithTheProvidersOwnErrorIsNotAClientRejected: a
// renewal refused with an error code of the provider's own (not one OAuth
// defines) was told as client_rejected, with the step to check the
// client's credentials; it is now renewal_refused, in the provider's words
// and the step they call for, told once.
func TestARenewalRefusedWithTheProvidersOwnErrorIsNotAClientRejected(t *testing.T) {
	got := renewalsBehind(t, 5, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"account_locked","error_description":"This account is locked"}`))
		})
	})
	if len(got) != 1 || got[0].Event != notify.RenewalRefused || strings.Contains(got[0].Message, "client_id") ||
		!strings.Contains(got[0].Message, `(HTTP 400 account_locked: "This account is locked"); check what they name, then run `+"`freshtoken token --force -e dev`, or `freshtoken login -e dev` if they name the refresh token or the log-in") {
		t.Fatalf("notices %+v; want renewal_refused, in the provider's words, with its steps as commands", got)
	}
}

// renewalsBehind logs in at the dev provider, for a keeper on a fake clock
// with a notifier, and then has the token endpoint reached through the
// handler front makes of the way to it (forward): it runs rounds of the
// keeper, a minute apart, from when the access token is due, and returns
// the notices then.
func renewalsBehind(t *testing.T, rounds int, front func(forward http.Handler) http.Handler) []notify.Notice {
	t.Helper()
	_, root := devserver.Start(t, devprovider.Options{AutoApprove: true})
	to, err := url.Parse(root)
	if err != nil {
		t.Fatal(err)
	}
	var (
		forward = httputil.NewSingleHostReverseProxy(to)
		behind  = front(forward)
		renewal atomic.Bool
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if renewal.Load() {
			behind.ServeHTTP(w, req)
			return
		}
		forward.ServeHTTP(w, req) // the log-in
	}))
	t.Cleanup(srv.Close)
	clock := fakeclock.New()
	src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
		TokenURL: srv.URL + "/v2/token_endpoint", AuthURL: root + "/v2/approve_app", AuthStyle: oauth2.AuthStyleInHeader,
		KeepAccess: true, RetryBackoff: []time.Duration{time.Millisecond}},
		freshtoken.Options{Store: filestore.New(filepath.Join(t.TempDir(), "tokens")), Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	devserver.LoginSource(t, src, clock.Now())
	k, n := keepingTold(src, filepath.Join(t.TempDir(), "token"), clock)
	renewal.Store(true)
	clock.Advance(2 * time.Hour) // the access token is due
	for range rounds {
		k.round(context.Background(), time.Minute)
		clock.Advance(time.Minute)
	}
	return n.Current()
}
