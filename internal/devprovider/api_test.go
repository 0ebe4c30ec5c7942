package devprovider

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCompanyAndUser(t *testing.T) {
	tp, tok := loggedIn(t, Options{})

	var company struct{ Company struct{ Name, URL string } }
	tp.api(t, "GET", "/v2/company", tok.AccessToken, nil, nil).decode(t, &company)
	if company.Company.Name != "Dev Ltd" || company.Company.URL != tp.srv.URL+"/v2/company" {
		t.Errorf("company %+v", company.Company)
	}
	var user struct{ User struct{ Email, URL string } }
	tp.api(t, "GET", "/v2/users/me", tok.AccessToken, nil, nil).decode(t, &user)
	if user.User.Email != "dev@example.com" || user.User.URL != tp.srv.URL+"/v2/users/1" {
		t.Errorf("/v2/users/me: user %+v", user.User)
	}
}

func TestAPIUnauthorized(t *testing.T) {
	tests := []struct {
		name       string
		invalidate func(tp *testProvider) // makes the issued access token invalid
		token      func(issued string) string
	}{
		{"no token", func(*testProvider) {}, func(string) string { return "" }},
		{"unknown token", func(*testProvider) {}, func(string) string { return "dev_at_never-issued" }},
		{"revoked", func(tp *testProvider) { tp.RevokeAccessTokens() }, func(s string) string { return s }},
		{"expired", func(tp *testProvider) { tp.clock.Advance(time.Hour) }, func(s string) string { return s }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, tok := loggedIn(t, Options{})
			tt.invalidate(tp)
			resp := tp.api(t, "GET", "/v2/company", tt.token(tok.AccessToken), nil, nil)
			resp.wantStatus(t, http.StatusUnauthorized)
			if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
				t.Errorf("WWW-Authenticate %q", got)
			}
			var body struct {
				Errors struct{ Error struct{ Message string } }
			}
			resp.decode(t, &body)
			if body.Errors.Error.Message == "" {
				t.Errorf("body %q has no errors.error.message", resp.body)
			}

			renewed := tp.mustRefresh(t, tok.RefreshToken) // refresh tokens outlive access tokens
			tp.api(t, "GET", "/v2/company", renewed.AccessToken, nil, nil).wantStatus(t, http.StatusOK)
			if s := tp.Stats(); s.Unauthorized != 1 || s.APIRequests != 2 {
				t.Errorf("stats %+v; want 1 unauthorized of 2 API requests", s)
			}
		})
	}
}

func TestAPIRateLimits(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		header http.Header
		limit  int
	}{
		{"RequestsPerMinute", Options{RequestsPerMinute: 3}, nil, 3},
		{"X-RateLimit-Test", Options{}, http.Header{"X-Ratelimit-Test": {"true"}}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, tok := loggedIn(t, tt.opts)
			for range tt.limit {
				tp.api(t, "GET", "/v2/company", tok.AccessToken, tt.header, nil).wantStatus(t, http.StatusOK)
			}
			resp := tp.api(t, "GET", "/v2/company", tok.AccessToken, tt.header, nil)
			resp.wantStatus(t, http.StatusTooManyRequests)
			if resp.Header.Get("Retry-After") != "60" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") ||
				strings.TrimSpace(string(resp.body)) != "Rate Limit Exceeded" {
				t.Errorf("Retry-After %q, Content-Type %q, body %q", resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"), resp.body)
			}
			if s := tp.Stats(); s.RateLimited != 1 {
				t.Errorf("stats %+v; want 1 rate limited", s)
			}

			tp.clock.Advance(59 * time.Second)
			tp.api(t, "GET", "/v2/company", tok.AccessToken, tt.header, nil).wantStatus(t, http.StatusTooManyRequests)
			tp.clock.Advance(time.Second)
			tp.api(t, "GET", "/v2/company", tok.AccessToken, tt.header, nil).wantStatus(t, http.StatusOK)
		})
	}

	t.Run("test header counts apart", func(t *testing.T) {
		tp, tok := loggedIn(t, Options{})
		for range testRateLimit {
			tp.api(t, "GET", "/v2/company", tok.AccessToken, http.Header{"X-Ratelimit-Test": {"true"}}, nil)
		}
		tp.api(t, "GET", "/v2/company", tok.AccessToken, nil, nil).wantStatus(t, http.StatusOK)
	})
}

// linkRel matches one link of a Link header.
var linkRel = regexp.MustCompile(`<([^>]*)>; rel="(\w+)"`)

func links(t *testing.T, resp *response) map[string]string {
	t.Helper()
	rels := map[string]string{}
	for _, m := range linkRel.FindAllStringSubmatch(resp.Header.Get("Link"), -1) {
		rels[m[2]] = m[1]
	}
	return rels
}

func TestContactsPagination(t *testing.T) {
	tp, tok := loggedIn(t, Options{})

	seen := map[string]int{}
	next := tp.srv.URL + "/v2/contacts?per_page=10&view=active"
	for pages := 1; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("more than 5 pages of 10 for 42 contacts")
		}
		resp := send(t, noRedirects, http.MethodGet, next, tok.AccessToken, nil, nil)
		resp.wantStatus(t, http.StatusOK)
		if got := resp.Header.Get("X-Total-Count"); got != "42" {
			t.Errorf("X-Total-Count %q, want 42", got)
		}
		rels := links(t, resp)
		if want := tp.srv.URL + "/v2/contacts?page=5&per_page=10&view=active"; rels["last"] != want {
			t.Errorf("page %d: last %q, want %q", pages, rels["last"], want)
		}
		if want := tp.srv.URL + "/v2/contacts?page=1&per_page=10&view=active"; rels["first"] != want {
			t.Errorf("page %d: first %q, want %q", pages, rels["first"], want)
		}
		if _, hasPrev := rels["prev"]; hasPrev != (pages > 1) {
			t.Errorf("page %d: prev link %q", pages, rels["prev"])
		}
		var body struct {
			Contacts []struct {
				OrganisationName string `json:"organisation_name"`
			}
		}
		resp.decode(t, &body)
		for _, c := range body.Contacts {
			seen[c.OrganisationName]++
		}
		next = rels["next"]
	}
	for i := 1; i <= 42; i++ {
		if name := fmt.Sprintf("Contact %d", i); seen[name] != 1 {
			t.Errorf("%s seen %d times", name, seen[name])
		}
	}
	if len(seen) != 42 {
		t.Errorf("%d distinct contacts, want 42", len(seen))
	}
}

func TestContactsPageSize(t *testing.T) {
	tp, tok := loggedIn(t, Options{Contacts: 150})
	for query, want := range map[string]int{"": 25, "?per_page=100": 100, "?per_page=1000": 100, "?page=2&per_page=100": 50, "?page=99": 0} {
		var body struct{ Contacts []any }
		tp.api(t, "GET", "/v2/contacts"+query, tok.AccessToken, nil, nil).decode(t, &body)
		if len(body.Contacts) != want {
			t.Errorf("/v2/contacts%s: %d contacts, want %d", query, len(body.Contacts), want)
		}
	}
}

func TestCreateAndGetContact(t *testing.T) {
	tp, tok := loggedIn(t, Options{})
	jsonHeader := http.Header{"Content-Type": {"application/json"}}

	resp := tp.api(t, "POST", "/v2/contacts", tok.AccessToken, jsonHeader, strings.NewReader(`{"contact":{"organisation_name":"Acme","email":"a@acme.test"}}`))
	resp.wantStatus(t, http.StatusCreated)
	var created struct {
		Contact struct{ URL, Email string }
	}
	resp.decode(t, &created)
	if want := tp.srv.URL + "/v2/contacts/43"; created.Contact.URL != want || resp.Header.Get("Location") != want || created.Contact.Email != "a@acme.test" {
		t.Errorf("created %+v at %q; want url %s", created.Contact, resp.Header.Get("Location"), want)
	}

	var got struct {
		Contact struct {
			OrganisationName string `json:"organisation_name"`
		}
	}
	tp.api(t, "GET", "/v2/contacts/43", tok.AccessToken, nil, nil).decode(t, &got)
	if got.Contact.OrganisationName != "Acme" {
		t.Errorf("GET /v2/contacts/43: %+v", got.Contact)
	}
	tp.api(t, "GET", "/v2/contacts/44", tok.AccessToken, nil, nil).wantStatus(t, http.StatusNotFound)
	tp.api(t, "GET", "/v2/contacts/x", tok.AccessToken, nil, nil).wantStatus(t, http.StatusNotFound)
	tp.api(t, "POST", "/v2/contacts", tok.AccessToken, jsonHeader, strings.NewReader(`{"contact":{"email":"nameless@acme.test"}}`)).wantStatus(t, http.StatusUnprocessableEntity)
	tp.api(t, "POST", "/v2/contacts", tok.AccessToken, jsonHeader, strings.NewReader(`not json`)).wantStatus(t, http.StatusBadRequest)
}

func TestEcho(t *testing.T) {
	tp, tok := loggedIn(t, Options{})
	resp := tp.api(t, "PUT", "/v2/dev/echo?a=1&b=two", tok.AccessToken, http.Header{"X-Custom": {"one", "two"}}, strings.NewReader("hello"))
	resp.wantStatus(t, http.StatusOK)
	var got echoResponse
	resp.decode(t, &got)
	if got.Method != "PUT" || got.Path != "/v2/dev/echo" || got.Query != "a=1&b=two" || got.Body != "hello" ||
		got.Headers["X-Custom"] != "one, two" || got.Headers["Authorization"] != "Bearer "+tok.AccessToken {
		t.Errorf("echo %+v", got)
	}
}

func TestDownloadAndUpload(t *testing.T) {
	tp, tok := loggedIn(t, Options{})

	const n = 100_003
	resp := tp.api(t, "GET", fmt.Sprintf("/v2/dev/download?bytes=%d", n), tok.AccessToken, nil, nil)
	resp.wantStatus(t, http.StatusOK)
	if len(resp.body) != n || resp.ContentLength != n {
		t.Fatalf("downloaded %d bytes (Content-Length %d), want %d", len(resp.body), resp.ContentLength, n)
	}
	for k, b := range resp.body {
		if b != byte(k) {
			t.Fatalf("byte %d is %d, want %d", k, b, byte(k))
		}
	}
	tp.api(t, "GET", "/v2/dev/download?bytes=-1", tok.AccessToken, nil, nil).wantStatus(t, http.StatusBadRequest)
	chunked := tp.api(t, "GET", fmt.Sprintf("/v2/dev/download?bytes=%d&chunked=true", n), tok.AccessToken, nil, nil)
	chunked.wantStatus(t, http.StatusOK)
	if len(chunked.body) != n || chunked.ContentLength != -1 || !slices.Equal(chunked.body, resp.body) {
		t.Fatalf("a chunked download gave %d bytes (Content-Length %d), want the same %d bytes without a length", len(chunked.body), chunked.ContentLength, n)
	}
	tp.api(t, "GET", "/v2/dev/download?bytes=1&chunked=maybe", tok.AccessToken, nil, nil).wantStatus(t, http.StatusBadRequest)

	upload := make([]byte, 3<<20+7)
	_, _ = rand.Read(upload)
	sum := sha256.Sum256(upload)
	var got struct {
		Bytes  int
		SHA256 string
	}
	tp.api(t, "POST", "/v2/dev/upload", tok.AccessToken, nil, bytes.NewReader(upload)).decode(t, &got)
	if got.Bytes != len(upload) || got.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("upload answered %+v; want %d bytes, sha256 %x", got, len(upload), sum)
	}
}

func TestRedirect(t *testing.T) {
	tp, tok := loggedIn(t, Options{})
	resp := tp.api(t, "GET", "/v2/dev/redirect?to=https://elsewhere.example/steal", tok.AccessToken, nil, nil)
	resp.wantStatus(t, http.StatusFound)
	if loc := resp.Header.Get("Location"); loc != "https://elsewhere.example/steal" {
		t.Errorf("Location %q", loc)
	}
	tp.api(t, "GET", "/v2/dev/redirect?to=https://elsewhere.example/", "", nil, nil).wantStatus(t, http.StatusUnauthorized)
}

func TestContactsSingleQuotedRels(t *testing.T) {
	tp, tok := loggedIn(t, Options{SingleQuotedRels: true})
	resp := send(t, noRedirects, http.MethodGet, tp.srv.URL+"/v2/contacts?per_page=10", tok.AccessToken, nil, nil)
	resp.wantStatus(t, http.StatusOK)
	want := "<" + tp.srv.URL + "/v2/contacts?page=2&per_page=10>; rel='next'"
	if got := resp.Header.Get("Link"); !strings.Contains(got, want) || strings.Contains(got, `"`) {
		t.Errorf("Link = %q, want single-quoted relations such as %q", got, want)
	}
}

// TestAdminEndpoints drives the provider the way a test of a separate process does.
func TestAdminEndpoints(t *testing.T) {
	tp, tok := loggedIn(t, Options{})
	admin := func(method, path string) *response {
		return send(t, http.DefaultClient, method, tp.srv.URL+path, "", nil, nil)
	}

	admin("POST", "/_dev/fault?kind=5xx&n=2").wantStatus(t, http.StatusNoContent)
	admin("POST", "/_dev/fault?kind=flaky").wantStatus(t, http.StatusBadRequest)
	admin("POST", "/_dev/fault?kind=html&n=two").wantStatus(t, http.StatusBadRequest)
	for range 2 {
		tp.postToken(t, refreshForm(tok.RefreshToken), true).wantStatus(t, http.StatusServiceUnavailable)
	}

	admin("POST", "/_dev/revoke-access").wantStatus(t, http.StatusNoContent)
	tp.api(t, "GET", "/v2/company", tok.AccessToken, nil, nil).wantStatus(t, http.StatusUnauthorized)

	var stats Stats
	admin("GET", "/_dev/stats").decode(t, &stats)
	if want := (Stats{TokenRequests: 3, Exchanges: 1, APIRequests: 1, Unauthorized: 1}); stats != want {
		t.Errorf("stats %+v\nwant  %+v", stats, want)
	}

	var secrets []string
	admin("GET", "/_dev/secrets").decode(t, &secrets)
	if !slices.Contains(secrets, tok.AccessToken) || !slices.Contains(secrets, tok.RefreshToken) {
		t.Errorf("/_dev/secrets lacks the tokens issued")
	}

	admin("POST", "/_dev/fault?kind=5xx").wantStatus(t, http.StatusNoContent)
	admin("DELETE", "/_dev/fault").wantStatus(t, http.StatusNoContent)
	renewed := tp.mustRefresh(t, tok.RefreshToken)

	admin("POST", "/_dev/revoke-grants").wantStatus(t, http.StatusNoContent)
	if _, err := tp.refresh(t, renewed.RefreshToken); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("refresh after /_dev/revoke-grants: %v, want invalid_grant", err)
	}
}

func TestIndexPage(t *testing.T) {
	tp := start(t, Options{})
	resp := send(t, http.DefaultClient, http.MethodGet, tp.srv.URL+"/", "", nil, nil)
	resp.wantStatus(t, http.StatusOK)
	for _, want := range []string{"/v2/token_endpoint", "/v2/approve_app", "/_dev/fault", tp.srv.URL + "/", "dev-client-id"} {
		if !strings.Contains(string(resp.body), want) {
			t.Errorf("the index page lacks %q", want)
		}
	}
	if strings.Contains(string(resp.body), tp.opts.ClientSecret) {
		t.Error("the index page shows the client secret")
	}
}
