package cli

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"github.com/spf13/cobra"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/apiclient"
	"github.com/freshtoken/freshtoken/internal/httpx"
)

// TestRequestFlags: request and each method's own command (get, post, ...)
// give the options their flags say, or a usage error.
func TestRequestFlags(t *testing.T) {
	tests := []struct {
		cmd, args string
		want      requestOptions
		wantErr   bool
	}{
		{"request", "GET /v2/company", requestOptions{Method: "GET", Path: "/v2/company"}, false},
		{"request", "patch /v2/contacts/1 -d {}", requestOptions{Method: "PATCH", Path: "/v2/contacts/1", Data: "{}", DataGiven: 1}, false},
		{"request", "patch /v2/contacts/1 --data {}", requestOptions{Method: "PATCH", Path: "/v2/contacts/1", Data: "{}", DataGiven: 1}, false},
		{"get", "/v2/company", requestOptions{Method: "GET", Path: "/v2/company"}, false},
		{"get", "/v2/contacts --all", requestOptions{Method: "GET", Path: "/v2/contacts", All: true}, false},
		{"get", "/v2/company -i -H A:1 --header B:2 -H A:3", requestOptions{Method: "GET", Path: "/v2/company", Include: true, Headers: []string{"A:1", "B:2", "A:3"}}, false},
		{"post", "/v2/contacts -d @c.json", requestOptions{Method: "POST", Path: "/v2/contacts", Data: "@c.json", DataGiven: 1}, false},
		{"post", "/v2/contacts -d @c.json -H X-A:1 -H X-B:2 -i", requestOptions{Method: "POST", Path: "/v2/contacts", Headers: []string{"X-A:1", "X-B:2"}, Data: "@c.json", DataGiven: 1, Include: true}, false},
		{"request", "GET", requestOptions{}, true},
		{"request", "G3T /v2/company", requestOptions{}, true},
		{"get", "", requestOptions{}, true},
		{"get", "/a /b", requestOptions{}, true},
		{"post", "/v2/contacts --all", requestOptions{}, true},
		{"post", "/v2/contacts -d {} --data @c.json", requestOptions{}, true}, // one body: the first was dropped
		{"get", "/v2/contacts --all -i", requestOptions{}, true},
		{"get", "/v2/contacts -H nocolon", requestOptions{}, true},
		{"get", "/v2/contacts -H :empty", requestOptions{}, true},
		{"get", "/v2/contacts -H X(y):v", requestOptions{}, true},
		// Go's client and freshtoken's Transport set these themselves: the
		// value given was dropped without a word, and the request went with
		// the access token to the API's host.
		{"get", "/v2/contacts -H authorization:Bearer-bogus", requestOptions{}, true},
		{"get", "/v2/contacts -H Host:other.example", requestOptions{}, true},
		// net/http writes these from the body and dropped the ones given
		// without a word: a wrong Content-Length was never sent, nor said.
		{"post", "/v2/contacts -d {} -H Content-Length:5", requestOptions{}, true},
		{"post", "/v2/contacts -d {} -H content-length:", requestOptions{}, true},
		{"post", "/v2/contacts -d {} -H Transfer-Encoding:chunked", requestOptions{}, true},
		{"post", "/v2/contacts -d {} -H Trailer:X-Sum", requestOptions{}, true},
	}
	for _, tt := range tests {
		var got *requestOptions
		var cmd *cobra.Command
		for _, c := range newRequestCmds(testFactory(), func(o *requestOptions) error { got = o; return nil }) {
			if c.Name() == tt.cmd {
				cmd = c
			}
		}
		err := execute(t, cmd, tt.args)
		if tt.wantErr {
			if ExitCode(err) != ExitUsage {
				t.Errorf("%s %q: err %v, want a usage error", tt.cmd, tt.args, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %q: %v", tt.cmd, tt.args, err)
			continue
		}
		got.f = nil
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%s %q: got %+v, want %+v", tt.cmd, tt.args, *got, tt.want)
		}
	}
}

func TestNewAPIRequestHeaders(t *testing.T) {
	req, err := newAPIRequest(t.Context(), "POST", "https://api.example.com/v2/x", []byte(`{"a":1}`),
		[]string{"X-Trace: one", "x-trace:two", "Accept: text/csv", "User-Agent:  me/1  "})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"X-Trace":      {"one", "two"},
		"Accept":       {"text/csv"},
		"User-Agent":   {"me/1"},
		"Content-Type": {"application/json"},
	}
	if !reflect.DeepEqual(map[string][]string(req.Header), want) {
		t.Errorf("headers = %v, want %v", req.Header, want)
	}
	if req.GetBody == nil {
		t.Error("the body cannot be replayed after a 429 or a 401")
	}
	plain, _ := newAPIRequest(t.Context(), "POST", "https://api.example.com/v2/x", []byte(`a=1`), nil)
	if plain.Header.Get("Content-Type") != "" || plain.Header.Get("Accept") != "application/json" || plain.Header.Get("User-Agent") != userAgent() {
		t.Errorf("defaults for a non-JSON body: %v", plain.Header)
	}
}

func TestImportPostmanFlags(t *testing.T) {
	checkFlags(t, []flagCase[importPostmanOptions]{
		{"export.json", importPostmanOptions{File: "export.json"}, false},
		{"export.json --force --client-secret-env FREEAGENT_SECRET", importPostmanOptions{File: "export.json", Force: true, ClientSecretEnv: "FREEAGENT_SECRET"}, false},
		{"", importPostmanOptions{}, true},
		{"a.json b.json", importPostmanOptions{}, true},
		{"export.json --client-secret-env $SECRET", importPostmanOptions{}, true},
	}, newImportPostmanCmd, func(g, w importPostmanOptions) bool {
		g.f = nil
		return g == w
	})
}

func TestWithDefaultQuery(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://api.example.com/v2/contacts", "https://api.example.com/v2/contacts?per_page=100"},
		{"https://api.example.com/v2/invoices?updated_since=2026-01-01T00:00:00Z", "https://api.example.com/v2/invoices?updated_since=2026-01-01T00:00:00Z&per_page=100"},
		{"https://api.example.com/v2/contacts?per_page=5&view=all", "https://api.example.com/v2/contacts?per_page=5&view=all"},
	} {
		if got := withDefaultQuery(tt.in, "per_page", "100"); got != tt.want {
			t.Errorf("withDefaultQuery(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestResolveURL(t *testing.T) {
	const api = "https://api.example.com/"
	for _, tt := range []struct {
		path, want string // want "" for a usage error
	}{
		{"/v2/company", "https://api.example.com/v2/company"},
		{"v2/contacts?view=all", "https://api.example.com/v2/contacts?view=all"},
		{"https://api.example.com/v2/company", "https://api.example.com/v2/company"},
		{"HTTPS://API.example.com/v2/company", "https://api.example.com/v2/company"},
		// The scheme's default port written out is the same host, as the
		// Transport that sends the token and --all's next links have it
		// (a URL an API gave with its port was refused as another host).
		{"https://api.example.com:443/v2/company", "https://api.example.com/v2/company"},
		{"https://api.example.com:8443/v2/company", ""},
		// Every other form that names a host is checked the same way.
		{"HTTP://example.invalid/x", ""},
		{"Https://example.invalid/x", ""},
		{"http://api.example.com/v2/company", ""},
		{"//example.invalid/x", ""},
		{"https://user@api.example.com/v2/company", ""},
		{"https:/v2/company", ""},
		// The API's URL without its scheme is refused: it went as a path
		// on the API's host, or was "not a path or URL" with its port.
		{"api.example.com/v2/company", ""},
		{"API.example.com:443/v2/company", ""},
		{"api.example.com", ""},
		// A URL in the query is no scheme before the host: it went as a
		// path on the API's host.
		{"api.example.com/v2/x?next=https://example.invalid/", ""},
		{"v2/api.example.com/x", "https://api.example.com/v2/api.example.com/x"},
		// Three slashes name no host: a path on the API's host.
		{"///example.invalid/x", "https://api.example.com/example.invalid/x"},
		// A query as typed, with a space or letters beyond ASCII, is sent
		// percent-encoded as a browser sends it; it went as typed, a space
		// in the request line, which the API answered 400 Bad Request.
		// What was encoded already stays as it was.
		{"/v2/contacts?q=Jane Doe&city=Zürich", "https://api.example.com/v2/contacts?q=Jane%20Doe&city=Z%C3%BCrich"},
		{"/v2/contacts?q=a%20b+c&x=<y>\"", "https://api.example.com/v2/contacts?q=a%20b+c&x=%3Cy%3E%22"},
		{"https://api.example.com/v2/x?q=1 2", "https://api.example.com/v2/x?q=1%202"},
	} {
		got, err := resolveURL(api, tt.path)
		switch {
		case tt.want == "" && ExitCode(err) != ExitUsage:
			t.Errorf("resolveURL(%q) = %q, %v; want a usage error", tt.path, got, err)
		case tt.want != "" && (err != nil || got != tt.want):
			t.Errorf("resolveURL(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
		}
	}
	// An IPv6 API's address without its scheme, the port left out, is
	// told as such: it was "not a path or URL: first path segment in URL
	// cannot contain colon".
	if got, err := resolveURL("http://[::1]/", "[::1]/v2/x"); ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "begins with the API's host but no scheme: write http://[::1]/v2/x") {
		t.Errorf("resolveURL of an IPv6 API's address without its scheme = %q, %v; want a usage error saying to write its scheme", got, err)
	}
	got, err := resolveURL("https://h.example/api/", "/v2/x")
	if err != nil || got != "https://h.example/api/v2/x" {
		t.Errorf("under a path: %q, %v", got, err)
	}
	// The messages name what to write instead, and the API by its scheme
	// too: an http URL for an https API was "not on this environment's
	// API host api.example.com", the very host it named.
	for path, want := range map[string]string{
		"api.example.com/v2/company":        "api.example.com/v2/company begins with the API's host but no scheme: write https://api.example.com/v2/company, or the path alone, /v2/company",
		"api.example.com:443/v2/x":          "api.example.com:443/v2/x begins with the API's host but no scheme: write https://api.example.com:443/v2/x, or the path alone, /v2/x",
		"http://api.example.com/v2/company": "http://api.example.com/v2/company is not on this environment's API, https://api.example.com; freshtoken sends tokens only there",
	} {
		if _, err := resolveURL(api, path); err == nil || err.Error() != want {
			t.Errorf("resolveURL(%q): %v; want %q", path, err, want)
		}
	}
	// A URL with user information before the API's host is refused
	// without showing it, maybe a password or a token, and says why: it
	// was "not on this environment's API", the very host it named, the
	// password shown in full.
	for _, path := range []string{"https://ada:s3cret-pw@api.example.com/v2/company", "https://tok-s3cret-pw@api.example.com/v2/company", "//ada:s3cret-pw@example.invalid/x"} {
		_, err := resolveURL(api, path)
		if ExitCode(err) != ExitUsage || strings.Contains(err.Error(), "s3cret-pw") || !strings.Contains(err.Error(), "user name or password before its host") {
			t.Errorf("resolveURL(%q): %v; want a usage error about the user information, not showing it", path, err)
		}
	}
	// One that is no URL at all (a port that is no number) is refused
	// without showing it either: the message quoted it whole.
	if _, err := resolveURL(api, "https://ada:s3cret-pw@api.example.com:badport/x"); ExitCode(err) != ExitUsage || strings.Contains(err.Error(), "s3cret-pw") || !strings.Contains(err.Error(), "is not a path or URL") {
		t.Errorf("an unparsable URL with a password: %v; want a usage error not showing it", err)
	}
}

// TestResolveURLRefusalsMaskASecretInTheQuery: a URL refused as not on the
// API, as the API's without its scheme, or for its user information, is
// shown with the values of its query named as secrets masked (an API key
// in it); they were shown in full.
func TestResolveURLRefusalsMaskASecretInTheQuery(t *testing.T) {
	const api = "https://api.example.com/"
	for _, path := range []string{"https://other.example/v2/x?api_key=s3cret-key-value&view=all",
		"api.example.com/v2/x?api_key=s3cret-key-value&view=all", "https://ada@api.example.com/v2/x?api_key=s3cret-key-value&view=all"} {
		_, err := resolveURL(api, path)
		if ExitCode(err) != ExitUsage || strings.Contains(err.Error(), "s3cret-key-value") || !strings.Contains(err.Error(), "api_key=") || !strings.Contains(err.Error(), "view=all") {
			t.Errorf("resolveURL(%q): %v; want a usage error showing the query with api_key's value masked", path, err)
		}
	}
}

// TestTypedURLsMaskAKeyAfterTheirFragment: a path or URL given to a
// request that has a key after its # and no ? (`get '/v2/x#access_token=…'`,
// an implicit log-in's answer pasted), raw or URL-encoded, is shown with
// the key masked in every message quoting it, as redact.URL shows one: the
// fragment was shown whole when the URL had no query.
func TestTypedURLsMaskAKeyAfterTheirFragment(t *testing.T) {
	const api, key = "https://api.example.com/", "s3cret-fragment-token-value"
	for _, fragment := range []string{"#access_token=" + key + "&view=all", "#access%5Ftoken=" + key + "&view=all", "#access_token=" + url.QueryEscape(key+"/+") + "&view=all"} {
		for _, path := range []string{"https://other.example/v2/x" + fragment, "api.example.com/v2/x" + fragment, "https://ada@api.example.com/v2/x" + fragment} {
			_, err := resolveURL(api, path)
			if ExitCode(err) != ExitUsage || strings.Contains(err.Error(), "fragment-token") || !strings.Contains(err.Error(), "view=all") {
				t.Errorf("resolveURL(%q): %v; want a usage error showing the fragment with the token masked", path, err)
			}
		}
		if got := freeAgentPathHint("/company" + fragment); strings.Contains(got, "fragment-token") || !strings.Contains(got, "try /v2/company#") {
			t.Errorf("freeAgentPathHint(%q) = %q; want the hint with the token masked", "/company"+fragment, got)
		}
	}
}

func TestRequestHeaderChecks(t *testing.T) {
	for _, h := range []string{"Bad Key: v", "X(y): v", "X-Ok: a\r\nX-Injected: 1", "X-Ok: a\nb", "X-Ok: a\x00b", "Bad\tKey: v"} {
		err := checkRequestOptions(&requestOptions{Method: "GET", Headers: []string{h}})
		if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "-H ") {
			t.Errorf("-H %q: %v, want a usage error naming -H", h, err)
		}
	}
	for _, h := range []string{"X-Ok: a b\tc", "x-rate_limit.test~!: true", "Empty:"} {
		if err := checkRequestOptions(&requestOptions{Method: "GET", Headers: []string{h}}); err != nil {
			t.Errorf("-H %q: %v, want it accepted", h, err)
		}
	}
}

// endless is a reader that never ends, as `yes |` on stdin.
type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }

// TestRequestBodyIsBounded: -d @FILE naming something that never ends
// (/dev/zero, a pipe from a program that goes on writing) and -d @- fed so
// are one usage line, exit 2: the body was read whole into memory first,
// until the process died of it (a Go stack trace under a memory limit, or
// the kernel's out-of-memory killer) without a word. A body up to the
// limit is read whole.
func TestRequestBodyIsBounded(t *testing.T) {
	for _, data := range []string{"@/dev/zero", "@-"} {
		_, err := readData(data, endless{}, 1<<10)
		if err == nil || ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "-d "+data+": more than 1 KiB") || strings.Contains(err.Error(), "\n") {
			t.Errorf("-d %s that never ends: %v (exit %d); want one usage line saying it is more than 1 KiB", data, err, ExitCode(err))
		}
	}
	if b, err := readData("@-", strings.NewReader(strings.Repeat("x", 1<<10)), 1<<10); err != nil || len(b) != 1<<10 {
		t.Errorf("-d @- of exactly the limit: %d bytes, %v; want it whole", len(b), err)
	}
}

// TestRequestBodyFileTooLargeIsNotRead: -d @FILE naming a regular file
// larger than the limit (a 2 GiB sparse file, a disk image) is refused by
// its size, unread: it was read up to the limit first, 256 MiB taking some
// 600 MB of memory and seconds, to be refused all the same.
func TestRequestBodyFileTooLargeIsNotRead(t *testing.T) {
	name := filepath.Join(t.TempDir(), "sparse.bin")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	const limit = 1 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = readData("@"+name, strings.NewReader(""), limit)
	runtime.ReadMemStats(&after)
	if err == nil || ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "more than 1 MiB") {
		t.Fatalf("-d @%s of 1 GiB: %v (exit %d); want one usage line saying it is more than 1 MiB", name, err, ExitCode(err))
	}
	if read := after.TotalAlloc - before.TotalAlloc; read >= limit/2 {
		t.Errorf("-d @%s of 1 GiB: %d bytes allocated; want it refused by its size, unread", name, read)
	}
}

// TestRequestBodyFileMissing: -d @FILE naming a file that is not there says
// where it was looked for and what to give instead; it said "open
// contact.json: no such file or directory".
func TestRequestBodyFileMissing(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := readData("@contact.json", strings.NewReader(""), 1<<10)
	if err == nil || ExitCode(err) != ExitUsage || strings.Contains(err.Error(), "\n") {
		t.Fatalf("-d @contact.json: %v (exit %d); want one usage line", err, ExitCode(err))
	}
	for _, want := range []string{"contact.json does not exist in ", "give the path of the file that holds the body", "-d @-"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("-d @contact.json: %q does not say %q", err, want)
		}
	}
}

// TestRequestBodyFileUnderATilde: -d @~/FILE, whose ~ no shell expands
// after the @, says so and what to write; it said "~/contact.json does not
// exist in /home/me", of a file that does.
func TestRequestBodyFileUnderATilde(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := readData("@~/contact.json", strings.NewReader(""), 1<<10)
	if err == nil || ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "the shell leaves a ~ after @ as it is") || !strings.HasSuffix(err.Error(), "write -d @$HOME/contact.json") {
		t.Fatalf("-d @~/contact.json: %v (exit %d); want one usage line saying ~ is not expanded, and to write @$HOME/contact.json", err, ExitCode(err))
	}
}

// TestRequestBodyFileUnnamed: -d @ with no name after it says so; it said
// "-d @:  does not exist in /home/me", a file of no name not found.
func TestRequestBodyFileUnnamed(t *testing.T) {
	_, err := readData("@", strings.NewReader(""), 1<<10)
	if err == nil || ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "-d @ names no file") || strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("-d @: %v (exit %d); want one usage line saying it names no file", err, ExitCode(err))
	}
}

// TestRequestBodyStdinUnreadable: -d @- whose stdin cannot be read (a
// folder given as < DIR) says so of -d @-, exit 2, as -d @DIR does; it
// said "read /dev/stdin: is a directory", exit 1, a bug's. A terminal that
// closed mid-read is still told as the hang-up it is.
func TestRequestBodyStdinUnreadable(t *testing.T) {
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	_, err = readData("@-", dir, 1<<10)
	if err == nil || ExitCode(err) != ExitUsage || !strings.HasPrefix(err.Error(), "-d @-: ") || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("-d @- < DIR: %v (exit %d); want a usage line about -d @- saying it is a directory", err, ExitCode(err))
	}
	_, err = readData("@-", iotest.ErrReader(hungUp(syscall.EIO)), 1<<10)
	if !errors.Is(err, errHungUp) {
		t.Errorf("-d @- at a terminal that closed: %v; want errHungUp", err)
	}
}

// TestRequestHeaderRefusalsHideTheValue: an -H refused says why in one
// usage line without showing the value, most likely a credential, which
// went on stderr into a CI job's log. -H Authorization and -H Host cannot
// be sent (the request would have gone with freshtoken's own, as if they
// were); a value with a line break or another control character cannot be
// sent either; an -H that is not 'Key: Value' (the colon forgotten, as in
// "Authorization Bearer …" or "X-Api-Key=…", or a name with a space) names
// only the header name, and what came before a colon in the value was
// shown as the name.
func TestRequestHeaderRefusalsHideTheValue(t *testing.T) {
	for h, want := range map[string]string{
		"Authorization: Basic c2VjcmV0\n": "-H Authorization: freshtoken sends the environment's access token in it",
		"host: c2VjcmV0.example":          "-H Host: freshtoken sends the host api_url names",
		"X-Api-Key: c2VjcmV0\r\n":         "-H X-Api-Key: a header value cannot hold a line break",
		// Any other control character but a tab: the request went, and
		// failed as an API that could not be reached, exit 5, "check your
		// connection and api_url".
		"X-Api-Key: c2Vj\x01cmV0":       "-H X-Api-Key: a header value cannot hold a line break or another control character",
		"X-Api-Key: c2Vj\x7fcmV0":       "-H X-Api-Key: a header value cannot hold a line break or another control character",
		"Authorization Bearer c2VjcmV0": "-H Authorization: not 'Key: Value'",
		"X-Api-Key=c2VjcmV0":            "-H X-Api-Key: not 'Key: Value'",
		"X Api Key: c2VjcmV0":           "-H X: not 'Key: Value'",
		": c2VjcmV0":                    "-H: not 'Key: Value'",
		"X-Api-Key c2VjcmV0:x":          "-H X-Api-Key: not 'Key: Value'",
		"X-Api-Key=c2VjcmV0:x":          "-H X-Api-Key: not 'Key: Value'",
		"Authorization Basic c2VjcmV0:": "-H Authorization: not 'Key: Value'",
		"\u00e9c2VjcmV0: x":             "-H: not 'Key: Value'",
	} {
		err := checkRequestOptions(&requestOptions{Method: "GET", Headers: []string{h}})
		if err == nil || ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "c2Vj") || strings.Contains(err.Error(), "\n") {
			t.Errorf("-H %q: %v; want one usage line saying %q, without the value", h, err, want)
		}
	}
}

// TestFreeAgentPathHint: a FreeAgent path without /v2/ gets the hint to
// add it, whatever its query holds; a full URL, or a path with /v2/, gets
// none. A query holding "://" (?redirect=https://…) was taken for a full
// URL, and the path missing /v2/ got no hint; a dot and a slash in the
// query took the path for another host's URL; a key in the query is
// masked in the path suggested. /V2/company, in upper case, was told to
// try /v2/V2/company.
func TestFreeAgentPathHint(t *testing.T) {
	for path, want := range map[string]string{
		"/contacts?redirect=https://a.example/b":  "FreeAgent's API paths start with /v2/: try /v2/contacts?redirect=https://a.example/b",
		"contacts?return_to=https://a.example":    "FreeAgent's API paths start with /v2/: try /v2/contacts?return_to=https://a.example",
		"/company?v=1.5/x":                        "FreeAgent's API paths start with /v2/: try /v2/company?v=1.5/x",
		"/company?api_key=0123456789ab":           "FreeAgent's API paths start with /v2/: try /v2/company?api_key=…(12 chars)",
		"/company":                                "FreeAgent's API paths start with /v2/: try /v2/company",
		"/V2/company?x=1":                         "FreeAgent's API paths start with /v2/, in lower case: try /v2/company?x=1",
		"/v2/contacts?redirect=https://a.example": "",
		"/v2?x=1":                               "",
		"https://api.freeagent.com/company?x=1": "",
		"api.sandbox.freeagent.com/v2/company?x=https://a": "api.sandbox.freeagent.com is a host, not part of a path: a URL starts with https://, and freshtoken sends tokens only to api_url's host; this API's path is /v2/company?x=https://a",
	} {
		if got := freeAgentPathHint(path); got != want {
			t.Errorf("freeAgentPathHint(%q) = %q, want %q", path, got, want)
		}
	}
}

// TestByteOrderMarkDroppedOnlyForJSONFreshtokenLabels: a JSON body that
// begins with a byte order mark goes without it, as application/json,
// when freshtoken chooses the Content-Type; with one the user gives (-H
// 'Content-Type: …', or -H 'Content-Type:' for none) it goes byte for byte
// as written, mark and all: the mark was dropped from a body the user had
// labelled themselves, which may be meant to carry it.
func TestByteOrderMarkDroppedOnlyForJSONFreshtokenLabels(t *testing.T) {
	const json = `{"a":1}`
	for _, c := range []struct {
		headers     []string
		body, ctype string
	}{
		{nil, json, "application/json"},
		{[]string{"X-Trace: 1"}, json, "application/json"},
		{[]string{"Content-Type: text/plain; charset=utf-8"}, "\ufeff" + json, "text/plain; charset=utf-8"},
		{[]string{"content-type: application/json"}, "\ufeff" + json, "application/json"},
		{[]string{"Content-Type:"}, "\ufeff" + json, ""},
	} {
		req, err := newAPIRequest(t.Context(), "POST", "https://api.example.com/v2/x", []byte("\ufeff"+json), c.headers)
		if err != nil {
			t.Fatal(err)
		}
		sent, _ := io.ReadAll(req.Body)
		if string(sent) != c.body || req.Header.Get("Content-Type") != c.ctype {
			t.Errorf("-H %q: sent %q as %q, want %q as %q", c.headers, sent, req.Header.Get("Content-Type"), c.body, c.ctype)
		}
	}
}

// TestRequestErrorsMaskAKeyInTheQuery: a request that got no usable answer
// names its URL with a key in the query (?api_key=…, typed in the path or
// in api_url) masked, and the rest of the query as it is, whatever went
// wrong: the messages quoted the URL whole, key and all.
func TestRequestErrorsMaskAKeyInTheQuery(t *testing.T) {
	const key = "Zq7xW" // too short to be registered: only masking by name hides it
	target := "https://api.example.com/v2/x?api_key=" + key + "&view=all"
	env := &config.Env{Name: "dev", Timeout: time.Second}
	for _, err := range []error{
		&url.Error{Op: "Get", URL: target, Err: errors.New("connection refused")},
		&url.Error{Op: "Get", URL: target, Err: os.ErrDeadlineExceeded},
		&url.Error{Op: "Get", URL: target, Err: &httpx.UnansweredError{After: time.Second}},
		&url.Error{Op: "Post", URL: target, Err: errRedirectLoop},
		&url.Error{Op: "Get", URL: target, Err: errors.New("net/http: server response headers exceeded 1048576 bytes; aborted")},
		&apiclient.RateLimitError{URL: target, Retries: 5},
	} {
		got := requestError(err, env, target).Error()
		if strings.Contains(got, key) || !strings.Contains(got, "api_key=…(5 chars)&view=all") {
			t.Errorf("requestError(%v) = %s; want the URL with the key masked", err, got)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	for what, err := range map[string]error{
		"an HTTP error status":                  &HTTPStatusError{Env: "dev", Method: "GET", URL: target, Status: "404 Not Found"},
		"an answer standard output cannot take": answered(&outputError{err: syscall.ENOSPC}, "dev", req, "200 OK"),
	} {
		if got := err.Error(); strings.Contains(got, key) || !strings.Contains(got, "api_key=…(5 chars)&view=all") {
			t.Errorf("%s: %s; want the URL with the key masked", what, got)
		}
	}
}

// TestBrokenJSONWarning: a body that begins as JSON does but is not JSON
// is warned of, and one that is JSON, or another format, is not: NDJSON
// (one JSON value a line, as bulk APIs take it), an INI or TOML file's
// [section] and a log's [INFO] were each called JSON that is "not JSON".
// A JSON body, which freshtoken labels, is not read again to look for
// what is wrong with it: it was parsed a second time and copied whole,
// another 256 MiB for the largest.
func TestBrokenJSONWarning(t *testing.T) {
	for body, want := range map[string]string{
		`{"contact":{"organisation_name":"Ada Ltd"}`: "unexpected end of JSON input",
		"\ufeff \n[1, 2":                      "unexpected end of JSON input",
		`{contact: 1}`:                        "invalid character 'c' looking for beginning of object key string",
		`[[1], [2]`:                           "unexpected end of JSON input",
		`{"a":1}}`:                            "invalid character '}' after top-level value",
		`{"a":1}` + "\n" + `{"b":[2]}` + "\n": "",
		"[general]\nname = ada\n":             "",
		"[tool.poetry]\nname = \"ada\"\n":     "",
		"[INFO] started\n":                    "",
		"a=1&b=2":                             "",
		`{"a":1}`:                             "",
		"\ufeff" + `{"a":1}`:                  "",
	} {
		if got := brokenJSON(mustRequest(t, body), []byte(body), nil); got != want {
			t.Errorf("brokenJSON(%q) = %q; want %q", body, got, want)
		}
	}
	if got := brokenJSON(mustRequest(t, `{"a":1`, "Content-Type: text/plain"), []byte(`{"a":1`), []string{"Content-Type: text/plain"}); got != "" {
		t.Errorf("with the user's Content-Type: %q; want no warning", got)
	}
	big := []byte(`{"items":[` + strings.Repeat(`"0123456789abcdef",`, 1<<19) + `"end"]}`) // 10 MiB
	req := mustRequest(t, string(big))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	why := brokenJSON(req, big, nil)
	runtime.ReadMemStats(&after)
	if why != "" || after.TotalAlloc-before.TotalAlloc > 1<<20 {
		t.Errorf("a %d-byte JSON body: warning %q, %d bytes allocated; want none, and the body not read again", len(big), why, after.TotalAlloc-before.TotalAlloc)
	}
}

func mustRequest(t *testing.T, body string, headers ...string) *http.Request {
	t.Helper()
	req, err := newAPIRequest(t.Context(), "POST", "https://api.example.com/v2/x", []byte(body), headers)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestRedirectOffTheSchemeIsNoOtherHost: a request the API redirected to
// its own host over another scheme (api_url's http:// sent on to https://)
// is said to be that, in the hint of an error status (whose redirected
// request went without the token) and when it could not be reached: both
// said "another host", the hint naming the very host of api_url.
func TestRedirectOffTheSchemeIsNoOtherHost(t *testing.T) {
	from, _ := url.Parse("http://api.example.com/v2/x")
	for to, want := range map[string]string{
		"https://api.example.com/v2/x":   "https://api.example.com, its host over https, not http",
		"https://API.example.com./v2/x":  "https://API.example.com., its host over https, not http",
		"http://api.example.com:81/v2/x": "api.example.com:81, another host",
		"https://files.example.com/x":    "files.example.com, another host",
	} {
		u, _ := url.Parse(to)
		if where, what := httpx.OffOrigin(u, from); where+", "+what != want {
			t.Errorf("httpx.OffOrigin(%s, %s) = %q, %q; want %q", to, from, where, what, want)
		}
	}
	env := &config.Env{Name: "dev", Timeout: time.Second}
	err := requestError(&url.Error{Op: "Get", URL: "https://api.example.com/v2/x", Err: errors.New("connection refused")}, env, from.String())
	want := "dev: https://api.example.com/v2/x (its host over https, not http, which the API redirected the request to) could not be reached (connection refused); check your connection, or tell the API's owner where it redirects"
	if err.Error() != want {
		t.Errorf("requestError = %q; want %q", err, want)
	}
}
