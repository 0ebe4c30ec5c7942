package config_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken/config"
)

// A Go program using the environment the command line uses: the same
// configuration file, the same stored tokens (log in once with
// `freshtoken login -e sandbox`), so the program, scripts and the proxy
// share one authorisation and never renew it twice. Here the stored access
// token has expired, so the first request renews it.
func ExampleOpen() {
	path, done := exampleConfig() // your config.toml, logged in once
	defer done()

	src, err := config.Open(context.Background(), config.OpenOptions{Path: path, Env: "sandbox"})
	if err != nil {
		log.Fatal(err) // a mistake in the file, as one line naming the file, key and line
	}
	resp, err := src.Client().Get(src.APIURL() + "v2/company")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	// Output: 200 OK
}

// exampleConfig stands in for your configuration file and the log-in you
// made once: a provider whose token endpoint rotates the refresh token and
// whose API takes only the newest access token, a config.toml naming it
// with a folder of tokens, and an expired log-in stored there (as
// `freshtoken login` stores one). It returns the file's path.
func exampleConfig() (string, func()) {
	var mu sync.Mutex
	issued := 1 // access-1 and refresh-1 are the log-in's
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.PostFormValue("refresh_token") != fmt.Sprint("refresh-", issued) {
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
	path := filepath.Join(dir, "config.toml")
	conf := fmt.Sprintf(`[store]
url = %q

[env.sandbox]
api_url = "%[2]s/"
auth_url = "%[2]s/authorize"
token_url = "%[2]s/token"
client_id = "example-client"
client_secret = "example-secret"
`, config.FileURL(filepath.Join(dir, "tokens")), srv.URL)
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		log.Fatal(err)
	}
	src, err := config.Open(context.Background(), config.OpenOptions{Path: path, Env: "sandbox"})
	if err != nil {
		log.Fatal(err)
	}
	loggedIn := time.Now().Add(-2 * time.Hour)
	login := &oauth2.Token{AccessToken: "access-1", RefreshToken: "refresh-1", TokenType: "Bearer", Expiry: loggedIn.Add(time.Hour)}
	if err := src.SaveLogin(context.Background(), login, loggedIn); err != nil {
		log.Fatal(err)
	}
	return path, func() { srv.Close(); os.RemoveAll(dir) }
}
