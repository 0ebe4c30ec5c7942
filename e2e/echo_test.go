//go:build unix

package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
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
	w.useAPI(echo.URL + "/")
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

// newman is Postman's collection runner (on postman-runtime, the engine of
// the Postman app), installed by `npm ci` in testdata/newman.
var newman = filepath.Join("testdata", "newman", "node_modules", ".bin", "newman")

// TestPostmanCollectionThroughTheProxy follows docs/postman.md as a
// Postman user does: `import postman` of an environment export holding a
// sandbox and a production key, `freshtoken proxy`, the base URLs pointed
// at it, and a collection (testdata/newman) still carrying its old
// pre-request script and Bearer auth, run by newman. Every request is
// answered as the API would answer it with a fresh token: pagination
// followed to its end through the Link header, POST and PUT bodies, a 401
// (the access token revoked at the provider) renewed once and the POST
// sent again, redirects, FreeAgent's 429 with Retry-After. No
// Authorization of the collection's reaches the API, and the old script's
// renewals, refused by the proxy, spend no refresh token.
func TestPostmanCollectionThroughTheProxy(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		testenv.Missing(t, "node is not installed (apt-get install nodejs npm)")
	}
	if _, err := os.Stat(newman); err != nil {
		testenv.Missing(t, "newman is not installed: run npm ci in e2e/testdata/newman")
	}
	// The tokens a Postman user had: one log-in at each provider.
	sand := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	sand.login()
	prod := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	prod.login()
	var tokens [2]struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	for i, w := range []*world{sand, prod} {
		if err := json.Unmarshal(w.storeBytes(), &tokens[i]); err != nil {
			t.Fatal(err)
		}
	}
	issued := time.Now().UnixMilli()
	export := func(resourceSand, resourceProd, accessSand string, issuedSand int64, more string) string {
		return fmt.Sprintf(`{"name": "FreeAgent", "values": [
			{"key": "ResourceKey", "value": "sand", "enabled": true},
			{"key": "ClientId", "value": "dev-client-id", "enabled": true},
			{"key": "ClientSecret", "value": "dev-client-secret", "type": "secret", "enabled": true},
			{"key": "Resource_sand", "value": %q, "enabled": true},
			{"key": "AccessToken_sand", "value": %q, "type": "secret", "enabled": true},
			{"key": "RefreshToken_sand", "value": %q, "type": "secret", "enabled": true},
			{"key": "AccessTokenIss_sand", "value": "%d", "enabled": true},
			{"key": "AccessTokenExp_sand", "value": "3600", "enabled": true},
			{"key": "Resource_prod", "value": %q, "enabled": true},
			{"key": "AccessToken_prod", "value": %q, "type": "secret", "enabled": true},
			{"key": "RefreshToken_prod", "value": %q, "type": "secret", "enabled": true},
			{"key": "AccessTokenIss_prod", "value": "%d", "enabled": true},
			{"key": "AccessTokenExp_prod", "value": "3600", "enabled": true}%s
		], "_postman_variable_scope": "environment", "_postman_exported_using": "Postman/11.20.0"}`,
			resourceSand, accessSand, tokens[0].RefreshToken, issuedSand,
			resourceProd, tokens[1].AccessToken, tokens[1].RefreshToken, issued, more)
	}
	// 1 and 2: export, import. The production URL ends in /v2, as many do.
	w := sand
	w.writeConfig(fmt.Sprintf("[store]\nurl = %q\n", "file://"+filepath.Join(w.dir, "imported")))
	exported := w.writeOtherConfig("FreeAgent.postman_environment.json", export(strings.TrimSuffix(sand.api, "/"), prod.api+"v2", tokens[0].AccessToken, issued, ""))
	w.mustRun("import", "postman", exported)
	before := sand.provider.Stats()

	// 4: the proxy, and the base URLs pointed at it. Postman's copy of the
	// access token is stale (freshtoken has renewed since, as far as
	// Postman knows), so the old script renews it before every request.
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	w.startDaemon("proxy", "--listen", addr)
	testenv.WaitFor(t, "the proxy's status page", func() bool {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	postmanEnv := w.writeOtherConfig("postman-env.json", export("http://"+addr+"/sand", "http://"+addr+"/prod/v2", "postman-stale-access-token", issued-2*3600*1000,
		fmt.Sprintf(`, {"key": "provider_sand", "value": %q, "enabled": true}`, strings.TrimSuffix(sand.api, "/"))))
	report := filepath.Join(w.dir, "newman.json")
	cmd := exec.CommandContext(t.Context(), newman, "run", filepath.Join("testdata", "newman", "freeagent.postman_collection.json"),
		"-e", postmanEnv, "--reporters", "json", "--reporter-json-export", report, "--timeout-request", "30000")
	if out, err := cmd.CombinedOutput(); err != nil && cmd.ProcessState.ExitCode() != 1 { // 1: an assertion failed, read below
		t.Fatalf("newman: %v\n%s", err, out)
	}
	requests := readNewmanReport(t, report)
	var got []string
	for _, r := range requests {
		got = append(got, fmt.Sprintf("%s %d", r.name, r.code))
		if r.name == "Update (PUT, echoed)" || r.name == "POST after the revocation" {
			// The API saw freshtoken's token: the imported one, then the
			// one renewed after the 401; neither the collection's Bearer
			// auth, nor its header, nor the old script's.
			var seen struct {
				Headers map[string]string `json:"headers"`
			}
			json.Unmarshal(r.body, &seen)
			auth := seen.Headers["Authorization"]
			if !strings.HasPrefix(auth, "Bearer dev_at_") || r.name == "Update (PUT, echoed)" && auth != "Bearer "+tokens[0].AccessToken {
				t.Errorf("%s: the API saw an Authorization of %d characters that is not freshtoken's token (the collection's: %t)",
					r.name, len(auth), strings.Contains(auth, "postman-stale") || strings.Contains(auth, "from-the-collection"))
			}
		}
	}

	want := []string{"Company (sand) 200", "Company (prod) 200"}
	pages := 0
	for _, e := range got {
		if strings.HasPrefix(e, "Contacts, page by page ") {
			pages++
		}
	}
	for range max(pages, 2) {
		want = append(want, "Contacts, page by page 200")
	}
	want = append(want, "Create a contact 201", "Update (PUT, echoed) 200", "Revoke the access token (dev provider) 204",
		"POST after the revocation 200", "Redirect within the API 200", "Relative redirect 200")
	for range 5 { // X-RateLimit-Test: true allows 5 a minute
		want = append(want, "Rate limit 200")
	}
	want = append(want, "Rate limit 429")
	if !slices.Equal(got, want) {
		t.Errorf("newman's requests and their statuses:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// The 401 was renewed once and the POST sent once more; the old
	// script's renewals never reached the provider.
	st := sand.provider.Stats()
	if st.Unauthorized-before.Unauthorized != 1 || st.Refreshes-before.Refreshes != 1 || st.TokenRequests-before.TokenRequests != 1 ||
		st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Errorf("the sandbox provider saw %d 401s, %d renewals, %d token requests, %d reuses, %d grants revoked during the run; want 1, 1, 1, 0, 0",
			st.Unauthorized-before.Unauthorized, st.Refreshes-before.Refreshes, st.TokenRequests-before.TokenRequests, st.ReuseDetected, st.GrantsRevoked)
	}
	if st := prod.provider.Stats(); st.APIRequests == 0 || st.Refreshes != 0 {
		t.Errorf("the production provider saw %d API requests and %d renewals; want the collection's, and none", st.APIRequests, st.Refreshes)
	}
}

// newmanRequest is a request of newman's run, as its JSON report gives it.
type newmanRequest struct {
	name string // the collection item's
	code int    // the status of the answer
	body []byte // the answer's
}

// readNewmanReport reads newman's JSON report: it fails the test with each
// failed assertion of the collection's, and returns the requests.
func readNewmanReport(t *testing.T, path string) []newmanRequest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("newman wrote no report: %v", err)
	}
	var report struct {
		Run struct {
			Executions []struct {
				Item struct {
					Name string `json:"name"`
				} `json:"item"`
				Response struct {
					ID     string `json:"id"`
					Code   int    `json:"code"`
					Stream struct {
						Data []int `json:"data"` // a Node Buffer: one number a byte
					} `json:"stream"`
				} `json:"response"`
			} `json:"executions"`
			Failures []struct {
				Error struct {
					Test    string `json:"test"`
					Message string `json:"message"`
				} `json:"error"`
				Source struct {
					Name string `json:"name"`
				} `json:"source"`
			} `json:"failures"`
		} `json:"run"`
	}
	if err := json.Unmarshal(b, &report); err != nil {
		t.Fatalf("newman's report: %v", err)
	}
	for _, f := range report.Run.Failures {
		t.Errorf("%s: %s: %s", f.Source.Name, f.Error.Test, f.Error.Message)
	}
	var got []newmanRequest
	for i, e := range report.Run.Executions {
		// A request sent by a script (pm.sendRequest) repeats the
		// execution it ran in.
		if i > 0 && e.Response.ID == report.Run.Executions[i-1].Response.ID {
			continue
		}
		body := make([]byte, len(e.Response.Stream.Data))
		for j, c := range e.Response.Stream.Data {
			body[j] = byte(c)
		}
		got = append(got, newmanRequest{name: e.Item.Name, code: e.Response.Code, body: body})
	}
	return got
}
