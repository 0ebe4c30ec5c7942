package freshtoken_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// A Go program with fresh tokens: settings and a store in, an *http.Client
// out, whose token is renewed before it expires and once on a 401. Here
// the stored access token has expired, so the first request renews it.
func Example() {
	settings, tokens, done := exampleProvider() // your provider's settings, logged in once
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

// A program that tells its user what to do when it gets no token: log in
// again once the provider has ended the grant, try again later while the
// provider or a shared store is down, mend the client's settings when the
// provider refuses it. Here the provider has ended the grant.
func ExampleError() {
	settings, tokens, done := exampleProvider()
	defer done()
	endGrant(settings)

	src, err := freshtoken.New(settings, freshtoken.Options{Store: filestore.New(tokens)})
	if err != nil {
		log.Fatal(err)
	}
	_, err = src.Token()
	switch {
	case err == nil:
		fmt.Println("a fresh token")
	case errors.Is(err, freshtoken.ErrLoginRequired):
		fmt.Println("log in again")
	case errors.Is(err, store.ErrUnreachable):
		fmt.Println("the token store is down; try again later")
	case errors.Is(err, freshtoken.ErrUnreachable):
		fmt.Println("the provider is down; try again later")
	case errors.Is(err, freshtoken.ErrClientRejected):
		fmt.Println("check the client id, secret and token URL")
	default:
		fmt.Println(err) // the store refused, or a function of your own failed
	}
	var e *freshtoken.Error
	if errors.As(err, &e) {
		fmt.Println("environment:", e.Env)
	}
	// Output:
	// log in again
	// environment: sandbox
}

// A program that makes the log-in itself, as a web application does for
// each of its users: it sends the user to the provider with OAuth2Config,
// exchanges the code the redirect brings through TokenClient, and stores
// the tokens with SaveLogin. From then on the Source renews them, as it
// does those `freshtoken login` stored.
func ExampleSource_SaveLogin() {
	settings, tokens, done := exampleProvider()
	defer done()

	src, err := freshtoken.New(settings, freshtoken.Options{Store: filestore.New(tokens)})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	conf, err := src.OAuth2Config(ctx, "http://127.0.0.1:8080/callback")
	if err != nil {
		log.Fatal(err) // the client secret could not be read
	}
	state, verifier := rand.Text(), oauth2.GenerateVerifier()         // new for each log-in
	_ = conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)) // send the user there

	// The redirect to http://127.0.0.1:8080/callback brings the code, and
	// the state: exchange the code only if the state is this log-in's.
	sentAt := time.Now()
	tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, src.TokenClient()), "code-from-the-redirect", oauth2.VerifierOption(verifier))
	if err != nil {
		log.Fatal(err)
	}
	if err := src.SaveLogin(ctx, tok, sentAt); err != nil {
		log.Fatal(err) // nothing stored: mend the store, then log in again
	}
	resp, err := src.Client().Get(src.APIURL() + "v2/company")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	// Output: 200 OK
}

// endGrant has exampleProvider's token endpoint refuse the refresh token
// of the log-in, as a provider does once the grant has ended (revoked at
// the provider, or unused past its limit).
func endGrant(s freshtoken.Settings) {
	resp, err := http.PostForm(s.TokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"refresh-1"}})
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
}

// exampleProvider stands in for your provider and the log-in you made
// once (`freshtoken login`, which stores tokens as SaveLogin does here): a
// token endpoint that rotates the refresh token (and takes the code of
// one more log-in), and an API that takes only the newest access token.
// It returns the settings and the token folder.
func exampleProvider() (freshtoken.Settings, string, func()) {
	var mu sync.Mutex
	issued := 1 // access-1 and refresh-1 are the log-in's
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		login := r.PostFormValue("grant_type") == "authorization_code" && r.PostFormValue("code") == "code-from-the-redirect"
		if !login && r.PostFormValue("refresh_token") != fmt.Sprint("refresh-", issued) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_grant"}`)
			return
		}
		issued++
		fmt.Fprintf(w, `{"access_token":"access-%d","refresh_token":"refresh-%[1]d","token_type":"Bearer","expires_in":3600}`, issued)
	})
	mux.HandleFunc("GET /v2/company", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") != fmt.Sprint("Bearer access-", issued) {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	srv := httptest.NewServer(mux)
	dir, err := os.MkdirTemp("", "freshtoken-example-")
	if err != nil {
		log.Fatal(err)
	}
	s := freshtoken.Settings{
		Env: "sandbox", ClientID: "example-client", ClientSecret: "example-secret",
		AuthURL: srv.URL + "/authorize", TokenURL: srv.URL + "/token", APIURL: srv.URL + "/",
		AuthStyle: oauth2.AuthStyleInHeader,
	}
	src, err := freshtoken.New(s, freshtoken.Options{Store: filestore.New(dir)})
	if err != nil {
		log.Fatal(err)
	}
	loggedIn := time.Now().Add(-2 * time.Hour)
	login := &oauth2.Token{AccessToken: "access-1", RefreshToken: "refresh-1", TokenType: "Bearer", Expiry: loggedIn.Add(time.Hour)}
	if err := src.SaveLogin(context.Background(), login, loggedIn); err != nil {
		log.Fatal(err)
	}
	return s, dir, func() { srv.Close(); os.RemoveAll(dir) }
}

// A program that keeps the tokens out of net/http's own lines, which it
// writes on the standard log package's logger (quoting what an API sent
// after an answer that has none): the log package goes through freshtoken's
// masking, in front of the program's handler.
func ExampleMaskingHandler() {
	h := slog.NewTextHandler(os.Stderr, nil) // the program's own handler
	log.SetFlags(0)
	log.SetOutput(slog.NewLogLogger(freshtoken.MaskingHandler(h), slog.LevelWarn).Writer())
}

// A program's own http.Client, with its own timeout and its own transport
// under freshtoken's: the Transport adds the token to each request for
// the API, renews it before it expires and once on a 401, and hands the
// request to Base (your proxy settings, trusted authorities, tracing).
func ExampleTransport() {
	settings, tokens, done := exampleProvider()
	defer done()

	src, err := freshtoken.New(settings, freshtoken.Options{Store: filestore.New(tokens)})
	if err != nil {
		log.Fatal(err)
	}
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &freshtoken.Transport{Source: src, Base: http.DefaultTransport.(*http.Transport).Clone()},
	}
	resp, err := client.Get(src.APIURL() + "v2/company")
	if err != nil {
		log.Fatal(err) // such as freshtoken.ErrLoginRequired, wrapped in a *url.Error
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	// Output: 200 OK
}
