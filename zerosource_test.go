package freshtoken_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// TestUnmadeSourceSaysToUseNew: a nil *Source or the zero Source, used as
// an oauth2.TokenSource, through a Transport or an *http.Client, or by any
// of its exported methods, fails with an error saying to use
// freshtoken.New, and sends nothing; they panicked in the caller's
// goroutine (a nil pointer dereference, or, for CanRevoke, blocked for
// ever).
func TestUnmadeSourceSaysToUseNew(t *testing.T) {
	var asked atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { asked.Add(1) }))
	t.Cleanup(api.Close)
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		src  *freshtoken.Source
	}{{"nil", nil}, {"zero", &freshtoken.Source{}}} {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src
			said := func(what string, err error) {
				t.Helper()
				if err == nil || !strings.Contains(err.Error(), "freshtoken.New") {
					t.Errorf("%s: %v; want an error saying to use freshtoken.New", what, err)
				}
			}
			var ts oauth2.TokenSource = src
			_, err := ts.Token()
			said("Token", err)
			_, err = oauth2.ReuseTokenSource(nil, src).Token()
			said("oauth2.ReuseTokenSource(nil, src).Token", err)
			_, err = oauth2.NewClient(ctx, src).Get(api.URL)
			said("oauth2.NewClient's Get", err)
			_, err = src.TokenContext(ctx)
			said("TokenContext", err)
			_, err = src.TokenValidFor(ctx, time.Minute)
			said("TokenValidFor", err)
			_, err = src.Renew(ctx)
			said("Renew", err)
			_, err = src.KeepAlive(ctx)
			said("KeepAlive", err)
			_, err = src.Record(ctx)
			said("Record", err)
			_, err = src.Endpoints(ctx)
			said("Endpoints", err)
			_, err = src.OAuth2Config(ctx, "http://127.0.0.1:8787/callback")
			said("OAuth2Config", err)
			said("CheckGrant", src.CheckGrant(&store.Record{}))
			said("Logout", src.Logout(ctx))
			said("SaveLogin", src.SaveLogin(ctx, &oauth2.Token{AccessToken: "a"}, time.Now()))
			said("SaveLoginIf", src.SaveLoginIf(ctx, &oauth2.Token{AccessToken: "a"}, time.Now(), nil))
			said("SaveLoginOf", src.SaveLoginOf(ctx, store.ConfigFile{Host: "h", Path: "/c.toml"}, &oauth2.Token{AccessToken: "a"}, time.Now(), nil))
			said("LoginWithClientCredentials", src.LoginWithClientCredentials(ctx))
			said("Revoke", src.Revoke(ctx))
			said("Unusable", src.Unusable(&store.Record{AccessToken: "a"}))
			_, err = src.StartDeviceLogin(ctx)
			said("StartDeviceLogin", err)
			_, err = src.TokenClient().Get(api.URL)
			said("TokenClient's Get", err)

			// The http.Client and the Transport: nothing is sent, not even
			// to a host that is not the API's.
			_, err = src.Client().Get(api.URL)
			if err == nil || !strings.Contains(err.Error(), "Transport's Source is nil or the zero Source") || !strings.Contains(err.Error(), "freshtoken.New") {
				t.Errorf("Client().Get: %v; want an error saying to use freshtoken.New", err)
			}
			tr := &freshtoken.Transport{Source: src}
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, api.URL, nil)
			if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "freshtoken.New") {
				t.Errorf("Transport.RoundTrip: %v; want an error saying to use freshtoken.New", err)
			}
			tr.CloseIdleConnections()

			// What has no error to return gives nothing.
			if src.Env() != "" || src.Issuer() != "" || src.APIURL() != "" || src.Location() != "" || src.NeedsLogin() || src.CanRevoke() {
				t.Errorf("Env %q, Issuer %q, APIURL %q, Location %q, NeedsLogin %v, CanRevoke %v; want all empty",
					src.Env(), src.Issuer(), src.APIURL(), src.Location(), src.NeedsLogin(), src.CanRevoke())
			}
			if g := src.OwnGrant(); g != (store.Grant{}) {
				t.Errorf("OwnGrant: %+v; want the zero Grant", g)
			}
			if f := src.ConfigFile(); f != (store.ConfigFile{}) {
				t.Errorf("ConfigFile: %+v; want the zero ConfigFile", f)
			}
			if p := src.Plan(&store.Record{RefreshToken: "r"}); p != (freshtoken.KeepAlivePlan{}) {
				t.Errorf("Plan: %+v; want nothing planned", p)
			}
			src.NoteClientRejected(ctx, "rejected")
			if s := src.String(); !strings.HasPrefix(s, "freshtoken.Source(") {
				t.Errorf("String: %q", s)
			}
		})
	}
	// A DeviceLogin not made by StartDeviceLogin says to use it.
	for _, d := range []*freshtoken.DeviceLogin{nil, {}} {
		if err := d.Wait(ctx, nil); err == nil || !strings.Contains(err.Error(), "Source.StartDeviceLogin") {
			t.Errorf("Wait of %#v: %v; want an error saying to use Source.StartDeviceLogin", d, err)
		}
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("the server was sent %d requests; want none", n)
	}
}

// TestNilStoreIsRefusedByNew: an Options.Store that holds a nil pointer (a
// *filestore.Store field left unset, or what redisstore.New returned beside
// its error, the error unchecked) is refused by New, as a nil Store is,
// naming its type. New took it, and the Source's first Token panicked in the
// caller's goroutine (a nil pointer dereference).
func TestNilStoreIsRefusedByNew(t *testing.T) {
	set := freshtoken.Settings{Env: "sandbox", ClientID: "id", TokenURL: "https://login.example.com/token", AuthStyle: oauth2.AuthStyleInHeader}
	var unset *filestore.Store
	failed, err := redisstore.New("redis://127.0.0.1:1/0?no_such_option=1")
	if err == nil {
		t.Fatal("redisstore.New took a URL with an option it does not know")
	}
	for _, tc := range []struct {
		name string
		st   store.Store
		want string
	}{{"an unset *filestore.Store", unset, "nil *filestore.Store"}, {"a failed redisstore.New's", failed, "nil *redisstore.Store"}} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := freshtoken.New(set, freshtoken.Options{Store: tc.st})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, %v; want an error naming the %s", src, err, tc.want)
			}
		})
	}
}
