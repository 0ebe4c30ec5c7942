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
	_, root := devserver.Start(t, devprovider.Options{AutoApprove: true})
	to, err := url.Parse(root)
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(to)
	var losing atomic.Bool
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !losing.Load() {
			forward.ServeHTTP(w, req)
			return
		}
		forward.ServeHTTP(httptest.NewRecorder(), req) // the provider acts on it
		if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
			c.Close()
		}
	}))
	defer front.Close()
	clock := fakeclock.New()
	src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
		TokenURL: front.URL + "/v2/token_endpoint", AuthURL: root + "/v2/approve_app", AuthStyle: oauth2.AuthStyleInHeader,
		KeepAccess: true, RetryBackoff: []time.Duration{time.Millisecond}},
		freshtoken.Options{Store: filestore.New(filepath.Join(t.TempDir(), "tokens")), Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	devserver.LoginSource(t, src, clock.Now())
	k, n := keepingTold(src, filepath.Join(t.TempDir(), "token"), clock)
	losing.Store(true)
	clock.Advance(2 * time.Hour) // the access token is due
	for range 20 {
		k.round(context.Background(), time.Minute)
		clock.Advance(time.Minute)
	}
	got := n.Current()
	if len(got) != 1 || got[0].Event != notify.Unreachable || strings.Contains(got[0].Message, "unchanged;") || strings.HasSuffix(got[0].Message, "unchanged") ||
		!strings.Contains(got[0].Message, "the provider may have renewed then, spending the stored refresh token; renewals go on, and if the provider refuses it, log in again") {
		t.Fatalf("notices %+v; want renewals_failing saying the refresh token may have been spent", got)
	}
}
