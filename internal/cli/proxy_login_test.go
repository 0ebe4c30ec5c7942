package cli

import (
	"net/url"
	"testing"

	"github.com/freshtoken/freshtoken/config"
)

// TestCheckAuthURL: `freshtoken login` opens only the environment's own
// authorization page, sending the browser back to its redirect_uri,
// whatever the program holding the redirect port asks it to open.
func TestCheckAuthURL(t *testing.T) {
	env := &config.Env{Name: "sandbox", AuthURL: "https://api.sandbox.freeagent.com/v2/approve_app", RedirectURI: "http://127.0.0.1:8787/callback"}
	good := env.AuthURL + "?client_id=x&response_type=code&state=s&redirect_uri=" + url.QueryEscape(env.RedirectURI)
	for _, tc := range []struct {
		name, url string
		ok        bool
	}{
		{"the provider's page", good, true},
		{"another host", "https://evil.example/v2/approve_app?redirect_uri=" + url.QueryEscape(env.RedirectURI), false},
		{"another scheme", "http://api.sandbox.freeagent.com/v2/approve_app?redirect_uri=" + url.QueryEscape(env.RedirectURI), false},
		{"another path", "https://api.sandbox.freeagent.com/v2/evil?redirect_uri=" + url.QueryEscape(env.RedirectURI), false},
		{"a user in the URL", "https://api.sandbox.freeagent.com@evil.example/v2/approve_app?redirect_uri=" + url.QueryEscape(env.RedirectURI), false},
		{"back elsewhere", env.AuthURL + "?redirect_uri=" + url.QueryEscape("http://evil.example/callback"), false},
		{"no way back", env.AuthURL + "?client_id=x", false},
		{"not a URL", "javascript:alert(1)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkAuthURL(tc.url, env); (err == nil) != tc.ok {
				t.Errorf("checkAuthURL(%s): %v", tc.url, err)
			}
		})
	}
}
