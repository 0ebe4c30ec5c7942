package freshtoken_test

import (
	"context"
	"encoding/base64"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestMaskingHandlerMasksNetHTTPsLine: an API that sends bytes after an
// answer that has none (a 204 with a body), echoing the Authorization
// header it was sent, has them quoted by net/http's transport on the
// standard log package's logger, the access token whole. The library
// leaves a program's global loggers alone; a program that routes the log
// package through freshtoken.MaskingHandler, as its documentation shows,
// gets that line with the token masked.
func TestMaskingHandlerMasksNetHTTPsLine(t *testing.T) {
	r, _ := loggedIn(t)
	api := testenv.ServeStrayBytes(t)
	r.settings.APIURL = "http://" + api + "/"
	src := r.source()
	tok, out, resp := getWithLogPackageMasked(t, src)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("got %d, want the API's 204", resp.StatusCode)
	}
	out.WaitFor(t, "net/http's line", regexp.MustCompile(`level=WARN msg=".*Unsolicited response`))
	text := out.String()
	for _, enc := range []string{tok.AccessToken, base64.StdEncoding.EncodeToString([]byte(tok.AccessToken))} {
		if strings.Contains(text, enc) {
			t.Errorf("net/http's line shows the access token (%q):\n%s", enc, text)
		}
	}
	if !strings.Contains(text, "you sent Bearer ") {
		t.Errorf("net/http's line lost what the API sent:\n%s", text)
	}
}

// getWithLogPackageMasked reads src's access token, then routes the log
// package's logger through freshtoken.MaskingHandler, as its documentation
// shows, into out (until the test ends), and calls the API's v2/company
// with src's client.
func getWithLogPackageMasked(t *testing.T, src *freshtoken.Source) (tok *oauth2.Token, out *testenv.Output, resp *http.Response) {
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	out = testenv.NewOutput()
	flags, w := log.Flags(), log.Writer()
	t.Cleanup(func() { log.SetFlags(flags); log.SetOutput(w) })
	log.SetFlags(0)
	log.SetOutput(slog.NewLogLogger(freshtoken.MaskingHandler(slog.NewTextHandler(out, nil)), slog.LevelWarn).Writer())
	resp, err = src.Client().Get(src.APIURL() + "v2/company")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return tok, out, resp
}

// TestMaskingHandlerMasksHTTP2DebugLines: with GODEBUG=http2debug=2, which
// a programmer sets to see what goes over HTTP/2, net/http writes every
// header it sends on the log package's logger, the authorization header
// whole; routed through freshtoken.MaskingHandler, the access token is
// masked. The setting is read when the program starts, so the test runs
// itself again with it.
func TestMaskingHandlerMasksHTTP2DebugLines(t *testing.T) {
	if os.Getenv("GODEBUG") != "http2debug=2" {
		cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "GODEBUG=http2debug=2")
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "--- PASS") {
			t.Fatalf("with GODEBUG=http2debug=2: %v\n%s", err, out)
		}
		return
	}
	api := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	api.EnableHTTP2 = true
	api.StartTLS()
	defer api.Close()
	r, _ := loggedIn(t)
	r.settings.APIURL = api.URL + "/"
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now, HTTPClient: api.Client()})
	if err != nil {
		t.Fatal(err)
	}
	tok, out, resp := getWithLogPackageMasked(t, src)
	if resp.ProtoMajor != 2 {
		t.Fatalf("the API answered over %s, not HTTP/2", resp.Proto)
	}
	text := out.String()
	if !strings.Contains(text, `encoding header \"authorization\"`) {
		t.Fatalf("net/http wrote no authorization header line:\n%s", text)
	}
	if strings.Contains(text, tok.AccessToken) {
		t.Errorf("net/http's HTTP/2 debug lines show the access token:\n%s", text)
	}
}

// TestMaskingHandlerWrapsOnce: a handler that masks already is returned as
// it is, and a nil one discards.
func TestMaskingHandlerWrapsOnce(t *testing.T) {
	h := freshtoken.MaskingHandler(slog.NewTextHandler(testenv.NewOutput(), nil))
	if freshtoken.MaskingHandler(h) != h {
		t.Error("a masking handler was wrapped again")
	}
	if freshtoken.MaskingHandler(nil) != slog.DiscardHandler {
		t.Error("MaskingHandler(nil) does not discard")
	}
}

// TestMaskingHandlerMasksEverySourcesTokens: in a program with two Sources
// (two environments), a line through freshtoken.MaskingHandler has the
// access tokens of both masked, and the one the last renewal replaced,
// as its documentation says.
func TestMaskingHandlerMasksEverySourcesTokens(t *testing.T) {
	_, a := loggedIn(t)
	_, b := loggedIn(t)
	var shown []string
	for _, src := range []*freshtoken.Source{a, b} {
		tok, err := src.Token()
		if err != nil {
			t.Fatal(err)
		}
		shown = append(shown, tok.AccessToken)
	}
	tok, err := a.Renew(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	shown = append(shown, tok.AccessToken)
	out := testenv.NewOutput()
	slog.New(freshtoken.MaskingHandler(slog.NewTextHandler(out, nil))).Warn("echoed " + strings.Join(shown, " "))
	for _, v := range shown {
		if strings.Contains(out.String(), v) {
			t.Errorf("the line shows the access token %s…:\n%s", v[:8], out)
		}
	}
}
