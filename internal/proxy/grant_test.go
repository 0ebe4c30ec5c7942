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
