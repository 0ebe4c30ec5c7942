//go:build unix

package e2e_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
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
			_, addr := w.redirectAddr()
			var opened atomic.Value
			fake := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				switch {
				case strings.HasSuffix(r.URL.Path, "/grant"):
					json.NewEncoder(rw).Encode(map[string]string{"client_id": "dev-client-id", "token_url": w.api + tc.theirs, "token_url_sha256": tc.digest, "grant": "authorization_code", "store": w.storeFile()})
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
			if tc.code == 3 {
				link := login.stderr.WaitFor(t, "the log-in link", regexp.MustCompile(`(?m)^http://\S+/login\?\S+$`))[0]
				if resp, err := http.Get(link); err == nil { // the browser opens the link it is given
					resp.Body.Close()
				}
			}
			code, said := login.wait()
			if code != tc.code {
				t.Fatalf("exit %d, stderr %q; want %d", code, said, tc.code)
			}
			q, _ := opened.Load().(url.Values)
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
