package freshtoken_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// A Go program with fresh tokens: settings and a store in, an *http.Client
// out, whose token is renewed before it expires and once on a 401.
func Example() {
	settings, tokens, done := exampleProvider() // a provider, logged in once
	defer done()

	src, err := freshtoken.New(settings, freshtoken.Options{Store: filestore.New(tokens)})
	if err != nil {
		log.Fatal(err)
	}
	resp, err := src.Client().Get(src.APIURL() + "v2/company")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	// Output: 200 OK
}

// exampleProvider starts the built-in dev provider and logs in to it the
// way `freshtoken login` would, storing the tokens in a new folder.
func exampleProvider() (freshtoken.Settings, string, func()) {
	p := devprovider.New(devprovider.Options{AutoApprove: true})
	srv := httptest.NewServer(p.Handler())
	dir, err := os.MkdirTemp("", "freshtoken-example-")
	if err != nil {
		log.Fatal(err)
	}
	done := func() { srv.Close(); p.Close(); os.RemoveAll(dir) }
	s := freshtoken.Settings{
		Env: "sandbox", ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
		AuthURL: srv.URL + "/v2/approve_app", TokenURL: srv.URL + "/v2/token_endpoint", APIURL: srv.URL + "/",
		AuthStyle: oauth2.AuthStyleInHeader,
	}
	src, err := freshtoken.New(s, freshtoken.Options{Store: filestore.New(dir)})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	conf, err := src.OAuth2Config(ctx, "http://127.0.0.1:1/callback")
	if err != nil {
		log.Fatal(err)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(conf.AuthCodeURL("state"))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		log.Fatal(err)
	}
	sent := time.Now()
	tok, err := conf.Exchange(ctx, back.Query().Get("code"))
	if err != nil {
		log.Fatal(err)
	}
	if err := src.SaveLogin(ctx, tok, sent); err != nil {
		log.Fatal(err)
	}
	return s, dir, done
}
