package proxy_test

import (
	"encoding/json"
	"net/url"
	"os/exec"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// followWithNode sends a DELETE with a body to each of urls with Node's
// fetch, which follows redirects (a 307 keeps the method and body) and
// reads every URL as browsers and Postman do (WHATWG: 127.1, 0x7f000001,
// a trailing dot, a port with a leading 0, backslashes, %2e%2e). It
// returns, for each, the status, X-Freshtoken-Error and URL of the answer
// it ended at, or "error" when it could not follow.
func followWithNode(t *testing.T, urls []string) []string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node is not installed (apt-get install nodejs)")
	}
	const script = `
const urls = JSON.parse(process.argv[1]);
(async () => {
  const out = [];
  for (const u of urls) {
    try {
      const r = await fetch(u, {method: "DELETE", body: "the body", redirect: "follow"});
      await r.arrayBuffer();
      out.push(r.status + " " + (r.headers.get("x-freshtoken-error") || "-") + " " + r.url);
    } catch (e) {
      out.push("error");
    }
  }
  console.log(JSON.stringify(out));
})();`
	arg, _ := json.Marshal(urls)
	out, err := exec.Command(node, "-e", script, string(arg)).Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var got []string
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(urls) {
		t.Fatalf("node printed %q", out)
	}
	return got
}

// TestRedirectBackIntoTheProxyFollowedByNode: the redirects of
// TestRedirectBackIntoTheProxyRefused, and one by dot segments
// (/%2e%2e/victim/…), followed by a client that reads URLs as browsers,
// Postman and Node do, where Go's client cannot reach most of those
// spellings at all: none reaches the other environment, each redirect to
// the proxy is answered 502, and the dot segments stay in the environment
// that sent them.
func TestRedirectBackIntoTheProxyFollowedByNode(t *testing.T) {
	f, hits := twoEnvAPI(t, nil)
	spellings := proxySpellings(f)
	var urls []string
	for _, to := range spellings {
		urls = append(urls, f.base+"/evil/redirect?"+url.Values{"to": {to}}.Encode())
	}
	dots := []string{"/%2e%2e/victim/x", "/%2E./victim/x", `/..\victim/x`}
	for _, to := range dots {
		urls = append(urls, f.base+"/evil/a/b?"+url.Values{"to": {to}}.Encode())
	}
	got := followWithNode(t, urls)
	for i, to := range spellings {
		want := "502 redirect_to_proxy "
		if strings.HasPrefix(to, "http:127") {
			want = "502 bad_redirect "
		}
		if !strings.HasPrefix(got[i], want) {
			t.Errorf("a redirect to %q, followed: %s; want %s", to, got[i], want)
		}
	}
	for i, to := range dots {
		if got, want := got[len(spellings)+i], "200 - "+f.base+"/evil/victim/x"; got != want {
			t.Errorf("a redirect to %q, followed: %s; want %s", to, got, want)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the victim's API got %d requests through redirects", n)
	}
}
