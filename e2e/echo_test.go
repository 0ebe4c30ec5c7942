package e2e_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
)

// TestLogsMaskTokensTheAPIEchoes: an API that redirects to a URL quoting the
// request's Authorization header (as some APIs put the token in next-page
// or download links) hands the debug log the access token as a plain string
// in a URL, where no secret-typed value masks it: only the log handler's
// masking of the tokens it knows stands between it and the log, in both
// formats.
func TestLogsMaskTokensTheAPIEchoes(t *testing.T) {
	var followed atomic.Int32
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("echoed") {
			followed.Add(1)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintln(w, `{"company":{"name":"Echo Ltd"}}`)
			return
		}
		http.Redirect(w, r, r.URL.Path+"?echoed="+url.QueryEscape(r.Header.Get("Authorization")), http.StatusFound)
	}))
	defer echo.Close()
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	w.writeConfig(strings.Replace(w.readConfig(), fmt.Sprintf("api_url = %q", w.api),
		fmt.Sprintf("api_url = %q\ntoken_url = %q", echo.URL+"/", w.api+"v2/token_endpoint"), 1))
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			before := followed.Load()
			r, logs := w.runLogging("--debug", "--log-format", format, "get", "/v2/company")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			all := r.stderr + logs
			if followed.Load() == before || !strings.Contains(all, "echoed=") {
				t.Fatalf("the echoing redirect was not followed and logged; the test would prove nothing\n%s", all)
			}
			var leaked []string
			for _, s := range w.provider.Secrets() {
				for name, leak := range encodedForms("dev-client-secret", s) {
					if strings.Contains(all, leak) {
						leaked = append(leaked, name)
					}
				}
			}
			if len(leaked) > 0 {
				slices.Sort(leaked)
				t.Fatalf("secrets appear in the %s logs (%s):\n%s", format, strings.Join(leaked, ", "), all)
			}
		})
	}
}
