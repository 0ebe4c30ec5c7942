package freshtoken_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
)

// TestOwnLoggerShowsNoSecret: a program's own logger (Options.Logger, a
// plain slog.NewTextHandler or JSONHandler at debug level, with nothing of
// freshtoken's in front) is told of a renewal, and of one the provider
// refuses quoting the request back (its form, its Basic header), and of
// one whose answer the program's own store refuses quoting the tokens,
// without a token, a refresh token, the client secret or a key in the
// token endpoint's query in any encoding: only the command line's handler
// masked the secrets registered, so a program logging through its own
// handler showed the store's error, tokens and all, and the token
// endpoint's URL, key and all (a key under 8 characters, which nothing
// registers, showed through the command line's too).
func TestOwnLoggerShowsNoSecret(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			out := testenv.NewOutput() // written by the background save too
			opts := &slog.HandlerOptions{Level: slog.LevelDebug}
			var h slog.Handler = slog.NewTextHandler(out, opts)
			if format == "json" {
				h = slog.NewJSONHandler(out, opts)
			}
			r, _ := loggedIn(t)
			own := func() *freshtoken.Source {
				src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now, Logger: slog.New(h)})
				if err != nil {
					t.Fatal(err)
				}
				return src
			}
			// The long key is no word: any 12 characters of it are masked wherever
			// they show, for the rest of the process, as the key ("subscription"
			// in other tests' URLs).
			const longKey, shortKey = "gw-K7qZr2Xv9TnLw-0123", "Zq7xW" // only the long one is registered (8 characters or more)
			r.moveTokenEndpoint(r.url + "/v2/token_endpoint?subscription-key=" + longKey + "&api_key=" + shortKey)
			before := r.record()
			r.clock.Advance(2 * time.Hour) // expired: the next call renews
			if _, err := own().Token(); err != nil {
				t.Fatal(err)
			}
			renewed := r.record()
			// A program's own store (a database) that refuses the next
			// answer, quoting the statement that would have stored it.
			sql := &quotingStore{Store: r.store}
			sql.broken.Store(true)
			src, err := freshtoken.New(r.settings, freshtoken.Options{Store: sql, Clock: r.clock.Now, Logger: slog.New(h)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := src.Renew(context.Background()); err == nil {
				t.Fatal("a renewal the store refused succeeded")
			}
			sql.broken.Store(false)
			testenv.WaitFor(t, "the kept tokens to be saved", func() bool { return r.record().RefreshToken != renewed.RefreshToken })
			kept := r.record()
			devSecret := r.settings.ClientSecret
			r.settings.ClientSecret = "own-logger-client-secret/+=0123" // the echoing endpoint takes any
			echoing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				body, _ := io.ReadAll(req.Body)
				echo := string(body) + " " + req.Header.Get("Authorization")
				if req.URL.Query().Get("busy") != "" {
					w.WriteHeader(http.StatusServiceUnavailable)
					io.WriteString(w, "overloaded: "+echo)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": "bad request " + echo})
			}))
			defer echoing.Close()
			for _, at := range []string{"/token?busy=1", "/token"} {
				r.moveTokenEndpoint(echoing.URL + at)
				if _, err := own().Renew(context.Background()); err == nil {
					t.Fatal("a renewal the provider refused succeeded")
				}
			}
			text := out.String()
			if !strings.Contains(text, "refresh") {
				t.Fatalf("logged nothing of the renewals:\n%s", text)
			}
			if format == "json" && (!regexp.MustCompile(`"skew":"60s"`).MatchString(text) || regexp.MustCompile(`"(skew|remaining|duration)":-?[0-9]`).MatchString(text)) {
				t.Errorf("durations are not strings of seconds in the program's own JSON log:\n%s", text)
			}
			id := r.settings.ClientID
			for _, s := range []string{before.AccessToken, before.RefreshToken, renewed.AccessToken, renewed.RefreshToken, kept.AccessToken, kept.RefreshToken,
				devSecret, r.settings.ClientSecret, longKey, "api_key=" + shortKey} {
				j, _ := json.Marshal(s)
				for _, enc := range []string{s, url.QueryEscape(s), string(j[1 : len(j)-1]),
					base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(s)))[8:]} {
					if strings.Contains(text, enc) {
						t.Errorf("the program's own logger shows a secret (%.12s…) as %q:\n%s", s, enc, text)
					}
				}
			}
		})
	}
}

// quotingStore is a program's own store (a database) whose Save, while
// broken, fails quoting the statement that would have stored the record.
type quotingStore struct {
	store.Store
	broken atomic.Bool
}

func (q *quotingStore) Save(ctx context.Context, env string, r *store.Record) error {
	if q.broken.Load() {
		return fmt.Errorf("pq: could not serialize access: UPDATE tokens SET access_token='%s', refresh_token='%s' WHERE env='%s'", r.AccessToken, r.RefreshToken, env)
	}
	return q.Store.Save(ctx, env, r)
}
