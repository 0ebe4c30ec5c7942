package devprovider

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// wantInvalidGrant fails the test unless err is an x/oauth2 invalid_grant error.
func wantInvalidGrant(t *testing.T, err error) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("got %v; want invalid_grant", err)
	}
}

func TestAuthorizationCodeWithPKCE(t *testing.T) {
	tests := []struct {
		name     string
		verifier func(sent string) string // the verifier the client presents
		wantErr  bool
	}{
		{"right verifier", func(sent string) string { return sent }, false},
		{"wrong verifier", func(string) string { return oauth2.GenerateVerifier() }, true},
		{"no verifier", func(string) string { return "" }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := start(t, Options{RequirePKCE: true})
			cfg := tp.config()
			verifier := oauth2.GenerateVerifier()
			back := tp.authorize(t, cfg.AuthCodeURL("xyz", oauth2.S256ChallengeOption(verifier)))
			if back.Get("state") != "xyz" {
				t.Errorf("state = %q, want xyz", back.Get("state"))
			}
			var opts []oauth2.AuthCodeOption
			if v := tt.verifier(verifier); v != "" {
				opts = append(opts, oauth2.VerifierOption(v))
			}
			tok, err := cfg.Exchange(t.Context(), back.Get("code"), opts...)
			if tt.wantErr {
				wantInvalidGrant(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenType != "bearer" || tok.ExpiresIn != 3600 || tok.Extra("refresh_token_expires_in") != float64(20*24*3600) {
				t.Errorf("token type %q, expires_in %d, refresh_token_expires_in %v", tok.TokenType, tok.ExpiresIn, tok.Extra("refresh_token_expires_in"))
			}
			if len(tok.AccessToken) < 40 || len(tok.RefreshToken) < 40 {
				t.Errorf("tokens too short: %d and %d characters", len(tok.AccessToken), len(tok.RefreshToken))
			}
			_, err = cfg.Exchange(t.Context(), back.Get("code"), oauth2.VerifierOption(verifier))
			wantInvalidGrant(t, err) // codes are single use
			if s := tp.Stats(); s.Exchanges != 1 || s.TokenRequests != 2 {
				t.Errorf("stats %+v; want 1 exchange of 2 token requests", s)
			}
		})
	}
}

func TestAuthorizationCodeChecks(t *testing.T) {
	tp := start(t, Options{AutoApprove: true})
	cfg := tp.config()
	code := func() string { return tp.authorize(t, cfg.AuthCodeURL("s")).Get("code") }

	t.Run("expired code", func(t *testing.T) {
		c := code()
		tp.clock.Advance(codeTTL)
		_, err := cfg.Exchange(t.Context(), c)
		wantInvalidGrant(t, err)
	})
	t.Run("other redirect_uri", func(t *testing.T) {
		c := code()
		other := *cfg
		other.RedirectURL = "http://127.0.0.1:9999/callback"
		_, err := other.Exchange(t.Context(), c)
		wantInvalidGrant(t, err)
	})
	t.Run("unknown grant type", func(t *testing.T) {
		resp := tp.postToken(t, url.Values{"grant_type": {"password"}}, true)
		resp.wantStatus(t, http.StatusBadRequest)
		var e oauthError
		resp.decode(t, &e)
		if e.Code != "unsupported_grant_type" {
			t.Errorf("error %q, want unsupported_grant_type", e.Code)
		}
	})
}

func TestClientAuthentication(t *testing.T) {
	tests := []struct {
		authStyle  string
		basic      bool   // credentials sent by HTTP Basic, else in the body
		secret     string // "" sends the right one
		wantStatus int    // 400 (unknown refresh token) means the client was authenticated
		wantBody   string // for a 401
	}{
		{"", true, "", http.StatusBadRequest, ""},
		{"", false, "", http.StatusBadRequest, ""},
		{"", true, "wrong", http.StatusUnauthorized, "HTTP Basic: Access denied.\n"},
		{"", false, "wrong", http.StatusUnauthorized, `"error":"invalid_client"`},
		{"", true, "dev-client-secret ", http.StatusUnauthorized, "HTTP Basic: Access denied.\n"},
		{"basic", true, "", http.StatusBadRequest, ""},
		{"basic", false, "", http.StatusUnauthorized, `"error":"invalid_client"`},
		{"body", false, "", http.StatusBadRequest, ""},
		{"body", true, "", http.StatusUnauthorized, "HTTP Basic: Access denied.\n"},
	}
	for _, tt := range tests {
		name := tt.authStyle + "/basic=" + map[bool]string{true: "yes", false: "no"}[tt.basic] + "/secret=" + tt.secret
		t.Run(name, func(t *testing.T) {
			tp := start(t, Options{AuthStyle: tt.authStyle})
			secret := tt.secret
			if secret == "" {
				secret = tp.opts.ClientSecret
			}
			form := refreshForm("dev_rt_unknown")
			header := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
			if tt.basic {
				header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(tp.opts.ClientID+":"+secret)))
			} else {
				form.Set("client_id", tp.opts.ClientID)
				form.Set("client_secret", secret)
			}
			resp := send(t, http.DefaultClient, http.MethodPost, tp.srv.URL+"/v2/token_endpoint", "", header, strings.NewReader(form.Encode()))
			resp.wantStatus(t, tt.wantStatus)
			if tt.wantBody != "" && !strings.Contains(string(resp.body), tt.wantBody) {
				t.Errorf("body %q, want it to contain %q", resp.body, tt.wantBody)
			}
		})
	}
}

// TestClientSecretIsFormURLDecoded checks the provider agrees with x/oauth2, which
// form-urlencodes HTTP Basic credentials as RFC 6749 §2.3.1 says.
func TestClientSecretIsFormURLDecoded(t *testing.T) {
	tp := start(t, Options{ClientSecret: "s3cr:t/+ &%", AutoApprove: true})
	tp.login(t)
}

func TestRefreshRotation(t *testing.T) {
	t.Run("reuse revokes the grant", func(t *testing.T) {
		tp := start(t, Options{})
		first := tp.login(t)
		second := tp.mustRefresh(t, first.RefreshToken)
		if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
			t.Fatal("a refresh did not issue a new access and refresh token")
		}
		tp.api(t, "GET", "/v2/company", first.AccessToken, nil, nil).wantStatus(t, http.StatusOK)

		_, err := tp.refresh(t, first.RefreshToken)
		wantInvalidGrant(t, err)
		_, err = tp.refresh(t, second.RefreshToken)
		wantInvalidGrant(t, err)
		for _, tok := range []*oauth2.Token{first, second} {
			tp.api(t, "GET", "/v2/company", tok.AccessToken, nil, nil).wantStatus(t, http.StatusUnauthorized)
		}
		want := Stats{TokenRequests: 4, Exchanges: 1, Refreshes: 1, ReuseDetected: 1, GrantsRevoked: 1, APIRequests: 3, Unauthorized: 2}
		if got := tp.Stats(); got != want {
			t.Errorf("stats %+v\nwant  %+v", got, want)
		}
	})

	t.Run("reuse within the grace", func(t *testing.T) {
		tp := start(t, Options{ReuseGrace: 30 * time.Second})
		first := tp.login(t)
		second := tp.mustRefresh(t, first.RefreshToken)
		tp.clock.Advance(10 * time.Second)
		third := tp.mustRefresh(t, first.RefreshToken) // a second client that raced the first
		if third.RefreshToken == second.RefreshToken {
			t.Fatal("reuse within the grace did not issue a fresh pair")
		}
		tp.mustRefresh(t, second.RefreshToken) // rotated out by the reuse, still in its grace

		tp.clock.Advance(30 * time.Second)
		_, err := tp.refresh(t, first.RefreshToken)
		wantInvalidGrant(t, err)
		tp.api(t, "GET", "/v2/company", third.AccessToken, nil, nil).wantStatus(t, http.StatusUnauthorized)
		if s := tp.Stats(); s.Refreshes != 3 || s.ReuseDetected != 3 || s.GrantsRevoked != 1 {
			t.Errorf("stats %+v; want 3 refreshes, 3 reuses, 1 grant revoked", s)
		}
	})

	t.Run("expired refresh token", func(t *testing.T) {
		tp := start(t, Options{RefreshTTL: time.Hour})
		tok := tp.login(t)
		tp.clock.Advance(time.Hour)
		_, err := tp.refresh(t, tok.RefreshToken)
		wantInvalidGrant(t, err)
	})

	t.Run("unknown refresh token", func(t *testing.T) {
		tp := start(t, Options{})
		_, err := tp.refresh(t, "dev_rt_never-issued")
		wantInvalidGrant(t, err)
	})
}

// TestConcurrentRefreshes is the failure freshtoken exists to prevent: several
// clients spend the same refresh token at once. Exactly one wins; the next presents
// a rotated-out token, which revokes the grant; the rest find it revoked.
func TestConcurrentRefreshes(t *testing.T) {
	tp := start(t, Options{})
	tok := tp.login(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	succeeded := 0
	for range 8 {
		wg.Go(func() {
			if _, err := tp.config().TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
				mu.Lock()
				succeeded++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if s := tp.Stats(); succeeded != 1 || s.ReuseDetected != 1 || s.GrantsRevoked != 1 {
		t.Errorf("%d refreshes succeeded, stats %+v; want 1, then 1 reuse that revoked the grant", succeeded, s)
	}
}

func TestRefreshRateLimit(t *testing.T) {
	tp := start(t, Options{RefreshesPerMinute: 3})
	tok := tp.login(t)
	for range 3 {
		tok = tp.mustRefresh(t, tok.RefreshToken)
	}
	resp := tp.postToken(t, refreshForm(tok.RefreshToken), true)
	resp.wantStatus(t, http.StatusTooManyRequests)
	if resp.Header.Get("Retry-After") != "60" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("Retry-After %q, Content-Type %q; want 60 and text/plain", resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"))
	}
	if s := tp.Stats(); s.RateLimited != 1 || s.ReuseDetected != 0 {
		t.Errorf("stats %+v; want 1 rate limited and no reuse", s)
	}

	tp.clock.Advance(time.Minute)
	tp.mustRefresh(t, tok.RefreshToken) // the refused request spent nothing
}

// TestNegativeRefreshLimitIsNone: Options.RefreshesPerMinute negative is no
// limit, as RequestsPerMinute's is; it refused every renewal.
func TestNegativeRefreshLimitIsNone(t *testing.T) {
	tp := start(t, Options{RefreshesPerMinute: -1})
	tok := tp.login(t)
	for range 20 { // more than the default 15
		tok = tp.mustRefresh(t, tok.RefreshToken)
	}
	if s := tp.Stats(); s.RateLimited != 0 {
		t.Errorf("stats %+v; want nothing rate limited", s)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		kind        Fault
		status      int
		contentType string
		body        string
	}{
		{Fault5xx, http.StatusServiceUnavailable, "text/plain", "Service Unavailable\n"},
		{FaultHTML, http.StatusOK, "text/html", "<html>maintenance</html>"},
		{FaultMalformedJSON, http.StatusOK, "application/json", `{"access_token":"dev_at_trunc`},
		{FaultInvalidGrant, http.StatusBadRequest, "application/json", `{"error":"invalid_grant"}` + "\n"},
		{FaultInvalidClient, http.StatusUnauthorized, "application/json", `{"error":"invalid_client"}` + "\n"},
		{FaultAccountLocked, http.StatusBadRequest, "application/json", `{"error":"account_locked","error_description":"the account is locked: ask its owner to unlock it"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			tp := start(t, Options{})
			tok := tp.login(t)
			tp.Fault(tt.kind, 2)
			for range 2 {
				resp := tp.postToken(t, refreshForm(tok.RefreshToken), true)
				resp.wantStatus(t, tt.status)
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) || string(resp.body) != tt.body {
					t.Errorf("Content-Type %q, body %q; want %q, %q", ct, resp.body, tt.contentType, tt.body)
				}
			}
			tp.mustRefresh(t, tok.RefreshToken) // faults spend nothing
			if s := tp.Stats(); s.TokenRequests != 4 || s.Refreshes != 1 {
				t.Errorf("stats %+v; want 4 token requests, 1 refresh", s)
			}
		})
	}

	t.Run("queued faults apply in order", func(t *testing.T) {
		tp := start(t, Options{})
		tp.Fault(Fault5xx, 1)
		tp.Fault(FaultHTML, 1)
		tp.postToken(t, refreshForm("x"), true).wantStatus(t, http.StatusServiceUnavailable)
		if resp := tp.postToken(t, refreshForm("x"), true); !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("second request: Content-Type %q, want text/html", resp.Header.Get("Content-Type"))
		}
		tp.postToken(t, refreshForm("x"), true).wantStatus(t, http.StatusBadRequest)
	})
}

func TestFaultHang(t *testing.T) {
	t.Run("until the client gives up", func(t *testing.T) {
		// The client gives up 50 ms after its request has arrived: a
		// deadline from the start could pass before it was sent, leaving
		// the fault for the next request, which would hang.
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var arrived sync.Once
		tp := start(t, Options{OnTokenRequest: func(grant string) {
			if grant == "refresh_token" {
				arrived.Do(func() { time.AfterFunc(50*time.Millisecond, cancel) })
			}
		}})
		tok := tp.login(t)
		tp.Fault(FaultHang, 1)
		_, err := tp.config().TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want the client's giving up", err)
		}
		tp.mustRefresh(t, tok.RefreshToken)
	})

	t.Run("until the provider is closed", func(t *testing.T) {
		tp := start(t, Options{})
		tp.Fault(FaultHang, 1)
		answered := make(chan *response)
		go func() { answered <- tp.postToken(t, refreshForm("x"), true) }()
		for deadline := time.Now().Add(10 * time.Second); tp.Stats().TokenRequests == 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the token request never arrived")
			}
		}
		tp.Close()
		if resp := <-answered; resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", resp.StatusCode)
		}
	})
}

func TestTokenDelayDropsAbandonedRequests(t *testing.T) {
	// The client gives up as its refresh arrives, and the provider has the
	// whole delay to see it gone: with a 20 ms deadline and a 100 ms delay,
	// a loaded machine could let the delay end first, and the refresh
	// rotate. A deadline from the start could also pass before the request
	// was sent, and test nothing.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var arrived sync.Once
	tp := start(t, Options{AutoApprove: true, TokenDelay: time.Second, OnTokenRequest: func(grant string) {
		if grant == "refresh_token" {
			arrived.Do(cancel)
		}
	}})
	tok := tp.login(t)
	if _, err := tp.config().TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the client's giving up", err)
	}
	tp.mustRefresh(t, tok.RefreshToken) // the abandoned request rotated nothing
}

func TestSecrets(t *testing.T) {
	tp := start(t, Options{})
	cfg := tp.config()
	verifier := oauth2.GenerateVerifier()
	code := tp.authorize(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))).Get("code")
	first, err := cfg.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	second := tp.mustRefresh(t, first.RefreshToken)

	want := []string{tp.opts.ClientSecret, code, verifier, first.AccessToken, first.RefreshToken, second.AccessToken, second.RefreshToken}
	got := tp.Secrets()
	for _, s := range want {
		if !slices.Contains(got, s) {
			t.Errorf("Secrets() lacks a secret of length %d", len(s))
		}
	}
	if len(got) != len(want) {
		t.Errorf("Secrets() has %d secrets, want %d", len(got), len(want))
	}
}

func TestNewRejectsUnknownAuthStyle(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New accepted AuthStyle \"header\"")
		}
	}()
	New(Options{AuthStyle: "header"})
}

// TestLogsHoldNoSecrets runs every logged decision and checks the log names grants,
// never a secret.
func TestLogsHoldNoSecrets(t *testing.T) {
	var logs bytes.Buffer
	tp := start(t, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	first := tp.login(t)
	second := tp.mustRefresh(t, first.RefreshToken)
	tp.Fault(Fault5xx, 1)
	tp.postToken(t, refreshForm(second.RefreshToken), true)
	tp.RevokeAccessTokens()
	tp.api(t, "GET", "/v2/company", second.AccessToken, nil, nil)
	_, err := tp.refresh(t, first.RefreshToken)
	wantInvalidGrant(t, err)
	send(t, http.DefaultClient, http.MethodPost, tp.srv.URL+"/v2/token_endpoint", "",
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "client_id": {"dev-client-id"}, "client_secret": {"wrong-secret"}}.Encode()))

	for _, want := range []string{`"grant":"g1"`, "grant revoked", "fault", "unauthorized", "client authentication failed"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %s:\n%s", want, logs.String())
		}
	}
	for _, secret := range append(tp.Secrets(), "wrong-secret") {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds a secret of length %d", len(secret))
		}
	}
}

// TestEchoFaults: the echo faults quote the refused request.
func TestEchoFaults(t *testing.T) {
	tests := []struct {
		kind        Fault
		status      int
		contentType string
		quote       func(auth, form string) string
	}{
		{FaultEcho, http.StatusBadRequest, "application/json", func(auth, form string) string {
			b, _ := json.Marshal(oauthError{Code: "invalid_request", Description: "could not process Authorization: " + auth + " with body " + form})
			return string(b) + "\n"
		}},
		{FaultEchoText, http.StatusInternalServerError, "text/plain", func(auth, _ string) string {
			return `could not process {"refresh_token":"rt\u0026=/+","client_secret":"s e\u0026c","authorization":"` + auth + `"}` + "\n"
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			tp := start(t, Options{})
			tp.Fault(tt.kind, 1)
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"rt&=/+"}, "client_secret": {"s e&c"}}
			resp := tp.postToken(t, form, true)
			resp.wantStatus(t, tt.status)
			auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(tp.opts.ClientID+":"+tp.opts.ClientSecret))
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) || string(resp.body) != tt.quote(auth, form.Encode()) {
				t.Errorf("Content-Type %q, body %q; want %s quoting the request", ct, resp.body, tt.contentType)
			}
		})
	}
}

// durationKinds is a slog handler that records the kind of each attribute
// named in want.
type durationKinds struct {
	mu    *sync.Mutex
	kinds map[string]slog.Kind
}

func (h durationKinds) Enabled(context.Context, slog.Level) bool { return true }
func (h durationKinds) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h durationKinds) WithGroup(string) slog.Handler            { return h }
func (h durationKinds) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	r.Attrs(func(a slog.Attr) bool {
		h.kinds[a.Key] = a.Value.Kind()
		return true
	})
	return nil
}

// TestReuseIsLoggedWithADuration: how long ago a reused refresh token was
// rotated out is logged as a duration, which `dev-provider --log-format
// json` writes as "10s", as every duration of freshtoken's JSON logs; it
// was Go's text of it ("1m0.5s"), which no JSON reader of the others
// reads.
func TestReuseIsLoggedWithADuration(t *testing.T) {
	h := durationKinds{mu: new(sync.Mutex), kinds: map[string]slog.Kind{}}
	tp := start(t, Options{ReuseGrace: 30 * time.Second, Logger: slog.New(h)})
	first := tp.login(t)
	tp.mustRefresh(t, first.RefreshToken)
	tp.clock.Advance(10 * time.Second)
	tp.mustRefresh(t, first.RefreshToken) // within the grace
	tp.clock.Advance(30 * time.Second)
	_, err := tp.refresh(t, first.RefreshToken)
	wantInvalidGrant(t, err)
	h.mu.Lock()
	defer h.mu.Unlock()
	if k, ok := h.kinds["rotated_ago"]; !ok || k != slog.KindDuration {
		t.Errorf("rotated_ago logged as %v (logged: %v); want a duration", k, ok)
	}
}
