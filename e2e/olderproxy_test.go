//go:build unix

package e2e_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/proxy"
)

// TestLoginBesideAnOlderProxy: a freshtoken proxy older than the token
// endpoint's digest answers token_url whole and no token_url_sha256.
// `freshtoken login` compares the URL it gives, exactly: one serving
// another endpoint (here, another key in its query) is refused before any
// link is opened (exit 2). For its own endpoint, the link it opens names
// the endpoint by its URL, which such a proxy compares when the link is
// opened (it ignores the digest, and would let a log-in through for
// another endpoint had its configuration changed since it was asked).
// Its own endpoint carrying a key (an API gateway's ?subscription-key=…)
// is refused too (exit 2, no link printed or opened): the link would
// carry the key to the terminal and the browser's history.
func TestLoginBesideAnOlderProxy(t *testing.T) {
	t.Parallel()
	const ours = "v2/token_endpoint?subscription-key=our-own-k3y-0123456789"
	for _, tc := range []struct {
		name   string
		theirs string // the proxy's token_url after the world's API URL
		ours   string // this configuration's, "" for the preset's
		digest string // the proxy's token_url_sha256: "" from an older one
		code   int
	}{
		{"the same endpoint", "v2/token_endpoint", "", "", 3}, // no browser comes back
		{"another endpoint", "v2/token_endpoint?subscription-key=another-k3y-0123456789", "", "", 2},
		{"the same endpoint, with a key", ours, ours, "", 2},
		// Not older: a program on the port giving this endpoint's URL with
		// a made-up digest is refused by the digest.
		{"the same URL, a made-up digest", "v2/token_endpoint", "", strings.Repeat("0", 64), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			if tc.ours != "" { // [env.dev] is the config's last table
				w.writeConfig(w.readConfig() + fmt.Sprintf("token_url = %q\n", w.api+tc.ours))
			}
			code, said, q := w.loginBesideAProxy(t, map[string]string{"token_url": w.api + tc.theirs, "token_url_sha256": tc.digest}, tc.code == 3)
			if code != tc.code {
				t.Fatalf("exit %d, stderr %q; want %d", code, said, tc.code)
			}
			switch {
			case strings.Contains(said, "our-own-k3y"):
				t.Fatalf("stderr %q shows this configuration's key", said)
			case tc.ours != "" && (q != nil || !strings.Contains(said, "is older than this freshtoken")):
				t.Fatalf("stderr %q, link opened with %v; want the older proxy named, and no link printed or opened", said, q)
			case tc.digest != "" && (q != nil || !strings.Contains(said, `serves dev for client "dev-client-id" at `+w.api+"v2/token_endpoint with tokens in")):
				t.Fatalf("stderr %q, link opened with %v; want the proxy refused for its digest, and no link opened", said, q)
			case tc.ours == "" && tc.digest == "" && tc.code == 2 && (q != nil || !strings.Contains(said, `serves dev for client "dev-client-id" at `+w.api+"v2/token_endpoint?subscription-key=anot…(22 chars)")):
				t.Fatalf("stderr %q, link opened with %v; want the proxy's other endpoint said, its key masked, and no link opened", said, q)
			case tc.code == 3 && (q == nil || q.Get("token_url") != w.api+"v2/token_endpoint"):
				t.Fatalf("the link was opened with %v; want it to name the token endpoint by its URL, which an older proxy compares", q)
			}
		})
	}
}

// TestLoginBesideAProxyOlderThanTheAPIDigest: a freshtoken proxy older
// than the API's digest answers the audience and resource it serves whole
// and no api_sha256. `freshtoken login` compares them exactly, showing
// their keys masked when they differ; for its own API, the link it opens
// names the audience and the resource by their values, which such a proxy
// compares (beside the digest, which it ignores). Its own audience
// carrying a key is refused (exit 2, no link printed or opened), as the
// link would carry the key to the terminal and the browser's history. A
// program giving a made-up digest is refused by the digest.
func TestLoginBesideAProxyOlderThanTheAPIDigest(t *testing.T) {
	t.Parallel()
	const ours = "https://api.example/?api_key=our-aud-k3y-0123456789"
	for _, tc := range []struct {
		name     string
		audience string            // this configuration's, "" for none
		theirs   map[string]string // the proxy's audience, resource and api_sha256
		code     int
		says     string
	}{
		{"the same API", "https://api.example/", map[string]string{"audience": "https://api.example/", "resource": ""}, 3, ""}, // no browser comes back
		{"the same API, with a key", ours, map[string]string{"audience": ours, "resource": ""}, 2,
			"is older than this freshtoken, and a log-in through it would put the key in audience into the log-in link"},
		{"another API, with a key", "", map[string]string{"audience": "https://b.example/?api_key=their-k3y-0123456789", "resource": ""}, 2,
			`serves dev for audience "https://b.example/?api_key=thei…(20 chars)", not for this configuration's no audience or resource`},
		// Not older: this configuration's key is masked in the words too.
		{"another API, this one's with a key", ours, map[string]string{"audience": "https://b.example/", "resource": "", "api_sha256": proxy.APIDigest("https://b.example/", nil)}, 2,
			`serves dev for audience "https://b.example/", not for this configuration's audience "https://api.example/?api_key=our-…(22 chars)"`},
		{"a made-up digest", "", map[string]string{"audience": "", "resource": "", "api_sha256": strings.Repeat("0", 64)}, 2,
			"serves dev for no audience or resource, not for this configuration's no audience or resource"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			if tc.audience != "" { // [env.dev] is the config's last table
				w.writeConfig(w.readConfig() + fmt.Sprintf("audience = %q\n", tc.audience))
			}
			grant := map[string]string{"token_url": w.api + "v2/token_endpoint", "token_url_sha256": proxy.TokenURLDigest(w.api + "v2/token_endpoint")}
			maps.Copy(grant, tc.theirs)
			code, said, q := w.loginBesideAProxy(t, grant, tc.code == 3)
			if code != tc.code || !strings.Contains(said, tc.says) || strings.Contains(said, "our-aud-k3y") {
				t.Fatalf("exit %d, stderr %q; want %d, saying %q, and no key of this configuration", code, said, tc.code, tc.says)
			}
			// Its steps are commands: restarting the proxy where it
			// listens, then this log-in as it was run (it ended "then log
			// in again").
			_, addr := w.redirectAddr()
			if then := w.suggested("; one you started yourself: stop it, and run `freshtoken proxy --listen " + addr + "`), then run `freshtoken login --no-browser --timeout 2s -e dev`\n"); strings.Contains(said, "is older than") && !strings.HasSuffix(said, then) {
				t.Fatalf("stderr %q; want it to end %q", said, then)
			}
			switch {
			case tc.code == 2 && q != nil:
				t.Fatalf("the link was opened with %v; want no link opened", q)
			case tc.code == 3 && (q == nil || q.Get("audience") != tc.audience || !q.Has("resource") || q.Get("api_sha256") != proxy.APIDigest(tc.audience, nil)):
				t.Fatalf("the link was opened with %v; want it to name the audience and the resource by their values, which an older proxy compares, and by their digest", q)
			}
		})
	}
}

// loginBesideAProxy runs `freshtoken login` beside a program on the
// redirect port that answers as a proxy serving dev for this
// configuration's client, grant and store, and as grant says (token_url,
// its digest, audience…); opening the link login prints as a browser
// does when open is set. It returns login's exit code and stderr, and the
// query of the log-in link opened at the program, nil for none.
func (w *world) loginBesideAProxy(t *testing.T, grant map[string]string, open bool) (int, string, url.Values) {
	t.Helper()
	_, addr := w.redirectAddr()
	answer := map[string]string{"client_id": "dev-client-id", "grant": "authorization_code", "store": w.storeFile()}
	maps.Copy(answer, grant)
	var opened atomic.Value
	fake := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/grant"):
			json.NewEncoder(rw).Encode(answer)
		case strings.HasSuffix(r.URL.Path, "/login"):
			opened.Store(r.URL.Query())
		}
	})}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go fake.Serve(ln)
	t.Cleanup(func() { fake.Close() })

	login := w.watch("login", "--no-browser", "--timeout", "2s")
	if open {
		link := login.stderr.WaitFor(t, "the log-in link", regexp.MustCompile(`(?m)^http://\S+/login\?\S+$`))[0]
		if resp, err := http.Get(link); err == nil { // the browser opens the link it is given
			resp.Body.Close()
		}
	}
	code, said := login.wait()
	q, _ := opened.Load().(url.Values)
	return code, said, q
}
