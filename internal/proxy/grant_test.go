package proxy_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/proxy"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/store"
)

// TestGrantAnswerShowsNoKey: the proxy's answer saying which client and
// store it serves an environment for (…/envs/ENV/grant, to any program on
// this machine) names a token endpoint carrying a key (an API gateway's
// ?subscription-key=…, raw or URL-encoded) by its digest, and masked for
// people, and a Redis store by its host and database, its password unshown:
// it gave token_url whole. The log-in link names the endpoint by the
// digest, which the proxy compares as exactly as the URL an older
// `freshtoken login` names, refusing (409) either for another endpoint,
// one differing only in its key included.
func TestGrantAnswerShowsNoKey(t *testing.T) {
	srv := redistest.Start(t)
	srv.RequirePassword(t, "redis-pass-word-9876")
	const key = "s3cret-gateway-key-0123456789"
	for _, query := range []string{"?subscription-key=" + key, "?subscription%2Dkey=" + url.QueryEscape(key+"/+")} {
		f := newFixtureWith(t, fixtureOptions{autoApprove: true, storeURL: "redis://default:redis-pass-word-9876@" + srv.Addr + "/0", moreConfig: func(f *fixture) string {
			return fmt.Sprintf("\n[env.gw]\nprovider = \"generic\"\napi_url = %q\nauth_url = \"%sv2/approve_app\"\ntoken_url = \"%sv2/token_endpoint%s\"\nclient_id = \"dev-client-id\"\nclient_secret = \"dev-client-secret\"\nredirect_uri = \"%s/callback\"\n",
				f.api, f.api, f.api, query, f.base)
		}})
		tokenURL := f.api + "v2/token_endpoint" + query
		resp, body := f.get(t, "/.freshtoken/envs/gw/grant")
		g := decode[struct {
			TokenURL string `json:"token_url"`
			Digest   string `json:"token_url_sha256"`
			Store    string `json:"store"`
		}](t, body)
		if resp.StatusCode != http.StatusOK || strings.Contains(string(body), "gateway-key") || strings.Contains(string(body), "redis-pass") {
			t.Fatalf("token_url %q: the grant answer %d %s shows the key or the password", tokenURL, resp.StatusCode, body)
		}
		if g.Digest != proxy.TokenURLDigest(tokenURL) || g.TokenURL != redact.URL(tokenURL) || !strings.Contains(g.Store, srv.Addr) {
			t.Fatalf("token_url %q: the grant answer %s; want the URL's digest, the URL masked and the store's address", tokenURL, body)
		}
		if link := proxy.LoginURL(f.base, "gw", "dev-client-id", tokenURL, "", 0); strings.Contains(link, "gateway-key") {
			t.Fatalf("token_url %q: the log-in link %s, printed and kept in the browser's history, shows the key", tokenURL, link)
		}
		another := f.api + "v2/token_endpoint?subscription-key=another-key-0123456789"
		for _, tc := range []struct {
			name, link string
			want       int
		}{
			{"this endpoint by its digest", proxy.LoginURL(f.base, "gw", "dev-client-id", tokenURL, "", 0), http.StatusSeeOther},
			{"another key by its digest", proxy.LoginURL(f.base, "gw", "dev-client-id", another, "", 0), http.StatusConflict},
			{"this endpoint by its URL (an older login)", proxy.ForOlderProxy(proxy.LoginURL(f.base, "gw", "dev-client-id", "", "", 0), tokenURL), http.StatusSeeOther},
			{"another key by its URL (an older login)", proxy.ForOlderProxy(proxy.LoginURL(f.base, "gw", "dev-client-id", "", "", 0), another), http.StatusConflict},
			{"the masked URL (an older login given it)", proxy.ForOlderProxy(proxy.LoginURL(f.base, "gw", "dev-client-id", "", "", 0), g.TokenURL), http.StatusConflict},
		} {
			if strings.Contains(tc.link, "token_url_sha256") == strings.Contains(tc.link, "token_url=") {
				t.Fatalf("%s: the link %s names the endpoint by neither or both", tc.name, tc.link)
			}
			if resp, body := f.get(t, strings.TrimPrefix(f.vouched(t, "gw", tc.link), f.base)); resp.StatusCode != tc.want {
				t.Errorf("token_url %q, a log-in link for %s: %d %s; want %d", tokenURL, tc.name, resp.StatusCode, body, tc.want)
			}
		}
		if strings.Contains(f.logs.String(), "gateway-key") {
			t.Errorf("token_url %q: the proxy's log shows the key:\n%s", tokenURL, f.logs)
		}
	}
}

// TestGrantAnswerShowsNoKeyOfTheAPI: the grant answer names the audience
// and the resource indicators tokens are requested for, which may carry a
// key (a resource indicator's ?api_key=…), by their digest, and masked for
// people: it gave them whole to any program on this machine. The log-in
// link names them by the digest, which the proxy compares as exactly as
// the values an older `freshtoken login` names, refusing (409) either for
// another API, one differing only in its key included.
func TestGrantAnswerShowsNoKeyOfTheAPI(t *testing.T) {
	const (
		audience = "https://api.example/?api_key=aud-k3y-0123456789"
		resource = "https://r.example/v1?api_key=res-k3y-0123456789"
	)
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, moreConfig: func(f *fixture) string {
		return fmt.Sprintf("\n[env.api]\nprovider = \"freeagent\"\napi_url = %q\nclient_id = \"dev-client-id\"\nclient_secret = \"dev-client-secret\"\nredirect_uri = \"%s/callback\"\naudience = %q\nresource = [%q]\n",
			f.api, f.base, audience, resource)
	}})
	resp, body := f.get(t, "/.freshtoken/envs/api/grant")
	g := decode[struct {
		Audience string `json:"audience"`
		Resource string `json:"resource"`
		Digest   string `json:"api_sha256"`
	}](t, body)
	if resp.StatusCode != http.StatusOK || strings.Contains(string(body), "k3y") {
		t.Fatalf("the grant answer %d %s shows a key of the audience or the resource", resp.StatusCode, body)
	}
	if g.Digest != proxy.APIDigest(audience, []string{resource}) || g.Audience != redact.URL(audience) || g.Resource != redact.URL(resource) {
		t.Fatalf("the grant answer %s; want the API's digest, the audience and the resource masked", body)
	}
	login := proxy.LoginURL(f.base, "api", "dev-client-id", "", "", 0)
	if link := proxy.ForAPI(login, audience, []string{resource}); strings.Contains(link, "k3y") {
		t.Fatalf("the log-in link %s, printed and kept in the browser's history, shows a key", link)
	}
	other := "https://r.example/v1?api_key=another-k3y-0123456789"
	for _, tc := range []struct {
		name, link string
		want       int
	}{
		{"this API by its digest", proxy.ForAPI(login, audience, []string{resource}), http.StatusSeeOther},
		{"another key by its digest", proxy.ForAPI(login, audience, []string{other}), http.StatusConflict},
		{"this API by its values (an older login)", proxy.ForOlderAPIProxy(login, audience, []string{resource}), http.StatusSeeOther},
		{"another key by its values (an older login)", proxy.ForOlderAPIProxy(login, audience, []string{other}), http.StatusConflict},
		{"the masked values (an older login given them)", proxy.ForOlderAPIProxy(login, g.Audience, []string{g.Resource}), http.StatusConflict},
	} {
		if resp, body := f.get(t, strings.TrimPrefix(f.vouched(t, "api", tc.link), f.base)); resp.StatusCode != tc.want {
			t.Errorf("a log-in link for %s: %d %s; want %d", tc.name, resp.StatusCode, body, tc.want)
		}
	}
}

// TestAPIDigestNamesSeveralResourcesInAnyOrder: the log-in link names an
// audience and several resource indicators by one digest, which the proxy
// compares exactly: the same indicators in another order are the same
// API (a person reordering resource = […] changes nothing), one left out
// or the audience given as a resource is another (409).
func TestAPIDigestNamesSeveralResourcesInAnyOrder(t *testing.T) {
	const (
		audience = "https://api.example/"
		first    = "https://r1.example/"
		second   = "https://r2.example/"
	)
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, moreConfig: func(f *fixture) string {
		return fmt.Sprintf("\n[env.api]\nprovider = \"freeagent\"\napi_url = %q\nclient_id = \"dev-client-id\"\nclient_secret = \"dev-client-secret\"\nredirect_uri = \"%s/callback\"\naudience = %q\nresource = [%q, %q]\n",
			f.api, f.base, audience, first, second)
	}})
	login := proxy.LoginURL(f.base, "api", "dev-client-id", "", "", 0)
	for _, tc := range []struct {
		name      string
		audience  string
		resources []string
		want      int
	}{
		{"its resources in order", audience, []string{first, second}, http.StatusSeeOther},
		{"its resources in another order", audience, []string{second, first}, http.StatusSeeOther},
		{"one resource left out", audience, []string{first}, http.StatusConflict},
		{"the audience given as a resource", "", []string{audience, first, second}, http.StatusConflict},
	} {
		if resp, body := f.get(t, strings.TrimPrefix(f.vouched(t, "api", proxy.ForAPI(login, tc.audience, tc.resources)), f.base)); resp.StatusCode != tc.want {
			t.Errorf("a log-in link for %s: %d %s; want %d", tc.name, resp.StatusCode, body, tc.want)
		}
	}
}

// TestGrantDigestUnchanged: a grant's digest, by which `freshtoken login`
// names to the proxy (of this version or an earlier one) the grant of the
// tokens it may replace, is what every version made it, from the grant's
// URLs whole: two grants differing only in the key in their token
// endpoint's query are two grants. It is made of the grant's JSON, its
// stored form: a JSON that masked the key made the two one.
func TestGrantDigestUnchanged(t *testing.T) {
	g := store.Grant{TokenURL: "https://gw.example.com/token?subscription-key=gw-key-0123456789abcdef", ClientID: "client", Type: "authorization_code", Bound: true}
	if got, want := proxy.GrantDigest(g), "a0ba0d9d9c64731defc94df486c188c609ec6c29589b7f4a9580bed639f7d295"; got != want {
		t.Errorf("GrantDigest = %s; want, as before, %s", got, want)
	}
	other := g
	other.TokenURL = "https://gw.example.com/token?subscription-key=gw-key-fedcba9876543210"
	if proxy.GrantDigest(g) == proxy.GrantDigest(other) {
		t.Errorf("grants differing in their token endpoint's key have one digest, %s", proxy.GrantDigest(g))
	}
}
