package cli_test

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// fetch GETs path with the environment's current access token, without
// freshtoken's request command, to learn what the API sends.
func (e *devEnv) fetch(t *testing.T, path string) []byte {
	t.Helper()
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "token"); code != 0 {
		t.Fatalf("token exited %d: %s", code, stderr)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.api+strings.TrimPrefix(path, "/"), nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(stdout.String()))
	_, body := testenv.Do(t, nil, req)
	return body
}

func TestRequestPipedOutputIsTheBodyByteForByte(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	for _, path := range []string{"/v2/company", "/v2/contacts?per_page=7", "/v2/dev/download?bytes=300000"} {
		want := e.fetch(t, path)
		ios, stdout, stderr := testStreams(false, false)
		if code := e.run(ios, "get", path); code != 0 {
			t.Fatalf("get %s exited %d: %s", path, code, stderr)
		}
		if !bytes.Equal(stdout.Bytes(), want) {
			t.Errorf("get %s printed %d bytes that differ from the %d the API sent", path, stdout.Len(), len(want))
		}
	}
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestRequestOnATerminal(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	raw := e.fetch(t, "/v2/company")
	var indented bytes.Buffer
	json.Indent(&indented, bytes.TrimSpace(raw), "", "  ")
	indented.WriteString("\n")
	if bytes.Equal(indented.Bytes(), raw) {
		t.Fatal("the API's body is already indented; this test would prove nothing")
	}

	t.Run("pretty without colour under NO_COLOR", func(t *testing.T) {
		t.Setenv("NO_COLOR", "1")
		ios, stdout, _ := testStreams(true, false)
		if code := e.run(ios, "get", "/v2/company"); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if stdout.String() != indented.String() {
			t.Errorf("got\n%s\nwant\n%s", stdout, indented.String())
		}
	})
	t.Run("pretty and coloured", func(t *testing.T) {
		t.Setenv("NO_COLOR", "")
		t.Setenv("TERM", "xterm-256color")
		ios, stdout, _ := testStreams(true, false)
		if code := e.run(ios, "get", "/v2/company"); code != 0 {
			t.Fatalf("exit %d", code)
		}
		for _, want := range []string{"\x1b[34;1m\"company\"\x1b[0m: {", "\x1b[34;1m\"name\"\x1b[0m: \x1b[32m\"Dev Ltd\"\x1b[0m,"} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("output lacks %q:\n%q", want, stdout)
			}
		}
		if plain := ansi.ReplaceAllString(stdout.String(), ""); plain != indented.String() {
			t.Errorf("without its colours the output is\n%s\nwant\n%s", plain, indented.String())
		}
	})
	t.Run("an error body too, exit 4", func(t *testing.T) {
		t.Setenv("NO_COLOR", "1")
		ios, stdout, stderr := testStreams(true, true)
		if code := e.run(ios, "get", "/v2/contacts/999"); code != 4 {
			t.Fatalf("exit %d, want 4", code)
		}
		if want := "{\n  \"errors\": {\n    \"error\": {\n      \"message\": \"Resource not found.\"\n    }\n  }\n}\n"; stdout.String() != want {
			t.Errorf("stdout = %q, want %q", stdout, want)
		}
		if !strings.Contains(stderr.String(), "answered 404 Not Found") {
			t.Errorf("stderr = %q, want the status", stderr)
		}
	})
	t.Run("anything else as it is, its controls shown", func(t *testing.T) {
		want := e.fetch(t, "/v2/dev/download?bytes=1000")
		ios, stdout, _ := testStreams(false, false)
		if code := e.run(ios, "get", "/v2/dev/download?bytes=1000"); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if !bytes.Equal(stdout.Bytes(), want) {
			t.Errorf("a binary body was changed on its way to a pipe")
		}
		ios, stdout, _ = testStreams(true, false)
		if code := e.run(ios, "get", "/v2/dev/download?bytes=1000"); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if !utf8.Valid(stdout.Bytes()) || bytes.ContainsFunc(stdout.Bytes(), func(r rune) bool {
			return r != '\n' && r != '\t' && r != '\r' && unicode.IsControl(r)
		}) {
			t.Errorf("a binary body reached the terminal with control characters or bytes that are not UTF-8: %q", stdout)
		}
	})
}

func TestAllShowsProgressOnlyOnATerminal(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	for _, errTTY := range []bool{true, false} {
		progress := e.wantAllContacts(t, errTTY, "get", "/v2/contacts?per_page=10", "--all")
		if !errTTY {
			if progress != "" {
				t.Errorf("stderr is not a terminal, yet got %q", progress)
			}
			continue
		}
		for _, want := range []string{"page 1: 10 of 42 items", "page 5: 42 of 42 items"} {
			if !strings.Contains(progress, want) {
				t.Errorf("progress on a terminal lacks %q: %q", want, progress)
			}
		}
		if last := progress[strings.LastIndex(progress, "\r")+1:]; last != "" {
			t.Errorf("the progress line was left on the screen: %q", progress)
		}
	}
}

// TestAllSendsTheBodyWithEveryPage: `get --all -d DATA` sends DATA with
// each page, as with the first; the second page went with the first's
// body already read, and failed, exit 5, as an API that "could not be
// reached" (ContentLength=2 with Body length 0).
func TestAllSendsTheBodyWithEveryPage(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	e.wantAllContacts(t, false, "get", "/v2/contacts?per_page=10", "--all", "-d", "{}")
}

// wantAllContacts runs args, stderr a terminal if errTTY, and fails the
// test unless it succeeds and prints the dev provider's 42 contacts; it
// returns what went to stderr.
func (e *devEnv) wantAllContacts(t *testing.T, errTTY bool, args ...string) string {
	t.Helper()
	ios, stdout, stderr := testStreams(false, errTTY)
	if code := e.run(ios, args...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct{ Contacts []json.RawMessage }
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil || len(doc.Contacts) != 42 {
		t.Fatalf("stdout has %d contacts (%v), want 42", len(doc.Contacts), err)
	}
	return stderr.String()
}

// TestAllNamesThePageThatFailed: a page after the first that gets no
// answer (the API drops the connection) is named in the message, by its
// URL; it named the first page's, which had answered.
func TestAllNamesThePageThatFailed(t *testing.T) {
	e := newDevEnvAnswering(t, "/v2/items", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(err)
			}
			conn.Close()
			return
		}
		w.Header().Set("Link", `</v2/items?page=2>; rel="next"`)
		w.Write([]byte(`{"items":[1]}`))
	})
	e.configure(t)
	e.login(t)
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "get", "/v2/items", "--all"); code != 5 {
		t.Fatalf("exit %d, want 5: %s", code, stderr)
	}
	if msg := stderr.String(); !strings.Contains(msg, "/v2/items?page=2 ") || strings.Count(msg, "\n") != 1 || stdout.Len() != 0 {
		t.Errorf("stderr = %q, stdout %q; want one line naming page 2, /v2/items?page=2, and nothing on stdout", msg, stdout)
	}
}

// TestRequestGivesUpOnAHungAPI: an API that accepts the request and never
// answers is given up on after the environment's timeout, exit 5, instead
// of hanging the command for ever.
func TestRequestGivesUpOnAHungAPI(t *testing.T) {
	release := make(chan struct{})
	e := newDevEnvAnswering(t, "/v2/company", func(w http.ResponseWriter, r *http.Request) {
		select { // hung: no status line, no headers
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	e.login(t)
	// A second: the working endpoint must answer within it on a loaded
	// machine, and 200 ms is a pause one can make.
	e.setTimeout(t, "1s")

	ios, stdout, stderr := testStreams(false, false)
	if code := e.runWithin(t, ios, "get", "/v2/company"); code != 5 {
		t.Errorf("exit %d, want 5: %s", code, stderr)
	}
	if want := "freshtoken: dev: the API at " + e.api + "v2/company had not begun to answer 1s after the request was sent; try again, or raise the environment's timeout setting if it is slow\n"; stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	// The API itself works: only the hung endpoint timed out.
	ios, stdout, stderr = testStreams(false, false)
	if code := e.run(ios, "get", "/v2/users/me"); code != 0 || !strings.Contains(stdout.String(), "dev@example.com") {
		t.Errorf("get /v2/users/me: exit %d, %s %s", code, stdout, stderr)
	}
}

// TestRequestGivesUpOnAnAPINotTakingTheBody: an API that reads a
// request's header and then takes none of its body, nor answers, is given
// up on once it has taken nothing for the environment's timeout: exit 5,
// one line saying so, and its connection closed. Only the wait for the
// answer's header, which begins once the whole request is sent, was
// bounded: the command's write waited for ever (found with the real
// binary: a 16 MiB POST still running after 20 s on a 3 s timeout).
func TestRequestGivesUpOnAnAPINotTakingTheBody(t *testing.T) {
	deaf := testenv.NewDeafAPI()
	e := newDevEnvAnswering(t, "/v2/deaf", deaf.ServeHTTP)
	e.login(t)
	e.setTimeout(t, "200ms")
	body := filepath.Join(t.TempDir(), "body.json")
	// More than every buffer on the way holds.
	if err := os.WriteFile(body, bytes.Repeat([]byte(" "), 32<<20), 0o600); err != nil {
		t.Fatal(err)
	}

	ios, stdout, stderr := testStreams(false, false)
	if code := e.runWithin(t, ios, "post", "/v2/deaf", "-d", "@"+body); code != 5 {
		t.Errorf("exit %d, want 5: %s", code, stderr)
	}
	want := "freshtoken: dev: the API at " + e.api + "v2/deaf took none of the request's body for 200ms, and had not answered; try again, or raise the environment's timeout setting if it is slow\n"
	if stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	deaf.HungUp(t)
}

// TestRequestBodyTricklingFromStdinIsNotCutOff: a body that -d @- reads
// from a pipe slowly, pausing longer than the environment's timeout, is
// sent whole: the time freshtoken waits for its own input is not the API's.
func TestRequestBodyTricklingFromStdinIsNotCutOff(t *testing.T) {
	// A second: the API's answer, once the body has ended, must come
	// within it on a loaded machine, and 100 ms is a pause one can make.
	const timeout = time.Second
	e := newDevEnvAnswering(t, "/v2/echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.Copy(w, r.Body)
	})
	e.login(t)
	e.setTimeout(t, timeout.String())
	in, trickle := io.Pipe()
	go func() {
		// Pauses longer than the timeout after the first part and before
		// the end; the parts between come at once.
		for i, part := range []string{`{"contact":`, `{"first_name":`, `"Ada"}}`} {
			io.WriteString(trickle, part)
			if i != 1 {
				<-time.After(3 * timeout / 2) // the input's pause, not a wait for anything
			}
		}
		trickle.Close()
	}()
	ios, stdout, stderr := testStreams(false, false)
	ios.In = in
	if code := e.runWithin(t, ios, "post", "/v2/echo", "-d", "@-"); code != 0 {
		t.Fatalf("exit %d, want 0: %s", code, stderr)
	}
	if got := stdout.String(); got != `{"contact":{"first_name":"Ada"}}` {
		t.Errorf("stdout = %q, want the whole body echoed", got)
	}
}

// TestRequestGivesUpOnAnAnswerThatStalls: an answer whose body stops
// coming mid-way (its headers and a first part sent, then nothing, the
// connection left open) is given up on once nothing more has come for the
// environment's timeout: exit 5, one line naming the environment and the
// API and saying what was printed is incomplete, as for a terminal (JSON
// read whole to indent) or a pipe. Only the wait for the headers was
// bounded: the command waited for ever.
func TestRequestGivesUpOnAnAnswerThatStalls(t *testing.T) {
	release := make(chan struct{})
	e := newDevEnvAnswering(t, "/v2/stalls", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"contacts":[{"first_name":"Ada"},`))
		w.(http.Flusher).Flush()
		select { // nothing more, the connection open
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	e.login(t)
	// A second: the answer's headers must come within it on a loaded
	// machine, and 200 ms is a pause one can make.
	e.setTimeout(t, "1s")
	for _, terminal := range []bool{false, true} {
		ios, stdout, stderr := testStreams(terminal, false)
		if code := e.runWithin(t, ios, "get", "/v2/stalls"); code != 5 {
			t.Errorf("terminal %t: exit %d, want 5: %s", terminal, code, stderr)
		}
		want := "freshtoken: dev: the API at " + e.api + "v2/stalls stopped sending its answer (nothing more came for 1s), so what was printed is incomplete; try again, or raise the environment's timeout setting\n"
		if stderr.String() != want {
			t.Errorf("terminal %t: stderr = %q, want %q", terminal, stderr, want)
		}
		if terminal && stdout.Len() != 0 || !terminal && stdout.String() != `{"contacts":[{"first_name":"Ada"},` {
			t.Errorf("terminal %t: stdout = %q; want the part that came through a pipe, nothing on a terminal", terminal, stdout)
		}
	}
}

// setTimeout sets the dev environment's timeout.
func (e *devEnv) setTimeout(t *testing.T, timeout string) {
	t.Helper()
	// [env.dev] is the file's last table: this line joins it.
	f, err := os.OpenFile(e.config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "timeout = %q\n", timeout)
	f.Close()
}

// runWithin is run, failing the test if the command is still running after
// 30 seconds, far past any timeout a test sets.
func (e *devEnv) runWithin(t *testing.T, ios *cli.IOStreams, args ...string) int {
	t.Helper()
	done := make(chan int, 1)
	go func() { done <- e.run(ios, args...) }()
	select {
	case code := <-done:
		return code
	case <-time.After(30 * time.Second):
		t.Fatalf("%v is still running after 30s; want it to give up after the environment's timeout", args)
		return 0
	}
}

// TestRequestReportsAnAnswerItCannotReadWhole: an answer whose body breaks
// off (its connection lost before its length) or cannot be unzipped is the
// API failing: exit 5, one line naming the environment and the URL and
// saying that what was printed is incomplete. It was exit 1, "a bug", with
// a bare "unexpected EOF" or "gzip: invalid header".
func TestRequestReportsAnAnswerItCannotReadWhole(t *testing.T) {
	e := newDevEnvBehind(t, func(provider http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/v2/cut":
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", "1000")
				w.Write([]byte(`{"company":{`))
			case "/v2/zipped":
				w.Header().Set("Content-Encoding", "gzip")
				w.Write([]byte("not gzip at all"))
			default:
				provider.ServeHTTP(w, r)
			}
		})
	})
	e.login(t)
	for path, why := range map[string]string{"/v2/cut": "unexpected EOF", "/v2/zipped": "gzip: invalid header"} {
		ios, _, stderr := testStreams(false, false)
		if code := e.run(ios, "get", path); code != 5 {
			t.Errorf("get %s: exit %d, want 5: %s", path, code, stderr)
		}
		want := "freshtoken: dev: the API's answer from " + e.api + strings.TrimPrefix(path, "/") + " could not be read whole (" + why + "), so what was printed is incomplete; try again\n"
		if stderr.String() != want {
			t.Errorf("get %s: stderr = %q, want %q", path, stderr, want)
		}
	}
}

// TestLogFileOnAFullDisk: a --log-file that cannot be written (a full disk)
// is said once on stderr, the log goes on there, and the command still
// does its work.
func TestLogFileOnAFullDisk(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here")
	}
	e := newDevEnv(t)
	e.login(t)
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "--debug", "--log-file", "/dev/full", "get", "/v2/company"); code != 0 {
		t.Fatalf("get exited %d: %s", code, stderr)
	}
	if !strings.Contains(stdout.String(), "Dev Ltd") {
		t.Errorf("stdout %q, want the company", stdout)
	}
	said := regexp.MustCompile(`(?m)^freshtoken: --log-file /dev/full: .*no space left on device; logging to stderr instead until it can be written again: free some space on its disk$`)
	if n := len(said.FindAllString(stderr.String(), -1)); n != 1 {
		t.Errorf("the failed log file was said %d times, want once:\n%s", n, stderr)
	}
	if !strings.Contains(stderr.String(), "level=DEBUG") {
		t.Errorf("no log went to stderr instead:\n%s", stderr)
	}
}

// TestAllReportsPagesItCannotGather: an API whose pages --all cannot join
// (a page from another host, by a next link or a redirect, a next link
// back to a page read, a later page that is not JSON, a page cut off
// mid-body) is the API failing, not freshtoken: one line saying what to
// do, exit 5, and nothing on stdout.
func TestAllReportsPagesItCannotGather(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"contacts":[{"n":2}]}`))
	}))
	t.Cleanup(other.Close)
	e := newDevEnvBehind(t, func(provider http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			page2 := r.URL.Query().Get("page") == "2"
			switch r.URL.Path {
			case "/v2/elsewhere":
				w.Header().Set("Link", `<http://other.example/v2/elsewhere?page=2>; rel="next"`)
			case "/v2/circle":
				w.Header().Set("Link", `</v2/circle?page=2>; rel="next"`)
			case "/v2/redirected":
				if page2 {
					http.Redirect(w, r, other.URL+"/v2/contacts?page=2", http.StatusFound)
					return
				}
				w.Header().Set("Link", `</v2/redirected?page=2>; rel="next"`)
			case "/v2/html":
				if page2 {
					w.Write([]byte("<html>Service Unavailable</html>"))
					return
				}
				w.Header().Set("Link", `</v2/html?page=2>; rel="next"`)
			case "/v2/cut":
				w.Header().Set("Content-Length", "1000")
				w.Write([]byte(`{"contacts":[`))
				return
			default:
				provider.ServeHTTP(w, r)
				return
			}
			w.Write([]byte(`{"contacts":[{"n":1}]}`))
		})
	})
	e.login(t)
	for path, want := range map[string]string{
		"/v2/elsewhere":  "page 1 links its next page to http://other.example/v2/elsewhere?page=2, on another host",
		"/v2/circle":     "page 2 links its next page back to",
		"/v2/redirected": "page 2 (" + e.api + "v2/redirected?page=2) was redirected to " + other.URL + "/v2/contacts?page=2, on another host",
		"/v2/html":       "page 2 is not a JSON object or list",
		"/v2/cut":        "page 1 (" + e.api + "v2/cut?per_page=100): unexpected EOF",
	} {
		ios, stdout, stderr := testStreams(false, false)
		if code := e.run(ios, "get", path, "--all"); code != 5 {
			t.Errorf("get %s --all: exit %d, want 5: %s", path, code, stderr)
		}
		if msg := stderr.String(); !strings.Contains(msg, want) || !strings.HasSuffix(msg, "read its pages one at a time without --all\n") || strings.Count(msg, "\n") != 1 {
			t.Errorf("get %s --all: stderr = %q, want one line saying %q and what to do", path, msg, want)
		}
		if stdout.Len() != 0 {
			t.Errorf("get %s --all: stdout = %q, want nothing", path, stdout)
		}
	}
}

// TestGetRedirectedToAnotherHost: a plain get (without --all) that the API
// redirects to another host follows it as curl -L does, -H headers and
// all, but the access token goes only to the API's host. The answer is
// printed; when it is an error status, the line saying so adds that the
// request was redirected off the API's host without the token, which is
// the likely reason (it named the other host's URL alone, and a 401 from
// there read as the token being refused). Another host that cannot be
// reached is said to be where the API redirected the request, not "the
// API at" it, to check api_url.
func TestGetRedirectedToAnotherHost(t *testing.T) {
	gone := fmt.Sprintf("http://127.0.0.1:%d/gone", testenv.FreePort(t))
	var seen struct {
		sync.Mutex
		auth, custom []string
	}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Lock()
		seen.auth = append(seen.auth, r.Header.Get("Authorization"))
		seen.custom = append(seen.custom, r.Header.Get("X-Custom"))
		seen.Unlock()
		if r.URL.Path == "/denied" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		w.Write([]byte("file contents"))
	}))
	t.Cleanup(other.Close)
	e := newDevEnvBehind(t, func(provider http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/v2/download", "/v2/denied":
				http.Redirect(w, r, other.URL+strings.TrimPrefix(r.URL.Path, "/v2"), http.StatusFound)
			case "/v2/gone":
				http.Redirect(w, r, gone, http.StatusFound)
			default:
				provider.ServeHTTP(w, r)
			}
		})
	})
	e.login(t)

	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "get", "/v2/download", "-H", "X-Custom: kept"); code != 0 || stdout.String() != "file contents" || stderr.Len() != 0 {
		t.Errorf("get /v2/download: exit %d, stdout %q, stderr %q; want 0, the other host's answer, nothing on stderr", code, stdout, stderr)
	}
	ios, stdout, stderr = testStreams(false, false)
	if code := e.run(ios, "get", "/v2/denied", "-H", "X-Custom: kept"); code != 4 {
		t.Errorf("get /v2/denied: exit %d, want 4: %s", code, stderr)
	}
	want := "freshtoken: dev: GET " + other.URL + "/denied answered 401 Unauthorized; the API redirected the request to " + strings.TrimPrefix(other.URL, "http://") + ", another host, which freshtoken sends no access token to\n"
	if stderr.String() != want || stdout.String() != "no token\n" {
		t.Errorf("get /v2/denied: stderr %q, stdout %q; want %q and the body", stderr, stdout, want)
	}
	ios, stdout, stderr = testStreams(false, false)
	if code := e.run(ios, "get", "/v2/gone"); code != 5 {
		t.Errorf("get /v2/gone: exit %d, want 5: %s", code, stderr)
	}
	if msg := stderr.String(); !strings.HasPrefix(msg, "freshtoken: dev: "+gone+" (another host, which the API redirected the request to) could not be reached (") ||
		!strings.HasSuffix(msg, "); check your connection, or tell the API's owner where it redirects\n") || stdout.Len() != 0 {
		t.Errorf("get /v2/gone: stderr %q, stdout %q; want one line saying the other host the API redirected to could not be reached", msg, stdout)
	}
	seen.Lock()
	defer seen.Unlock()
	for i, a := range seen.auth {
		if a != "" {
			t.Errorf("request %d to the other host carried Authorization %q; want none", i+1, a)
		}
		if seen.custom[i] != "kept" {
			t.Errorf("request %d to the other host carried X-Custom %q; want the -H header kept, as curl keeps it", i+1, seen.custom[i])
		}
	}
	if len(seen.auth) != 2 {
		t.Errorf("the other host got %d requests, want 2", len(seen.auth))
	}
}

// hugeHeaders answers with response headers past freshtoken's limit
// (httpx.MaxAnswerHeader, 1 MiB) and within net/http's default (10 MB):
// 2 headers of 1 MiB.
func hugeHeaders(w http.ResponseWriter, _ *http.Request) {
	for i := range 2 {
		w.Header().Set(fmt.Sprintf("X-Huge-%d", i), strings.Repeat("x", 1<<20))
	}
	w.WriteHeader(http.StatusOK)
}

// TestRequestToAnAPIWhoseHeadersAreTooLarge: an API that answers with
// response headers past 1 MiB, as the proxy reads no more, was reached;
// its answer is not read. The command says so in one line, naming the
// environment, the API and the limit, and for a POST that the request was
// made; exit 5 (the API keeps failing: trying again gets the same). It
// said the API "could not be reached" and to check the connection; and it
// read up to net/http's default, 10 MB, which a hostile API had it hold.
func TestRequestToAnAPIWhoseHeadersAreTooLarge(t *testing.T) {
	wantUnreadable(t, "/v2/huge", hugeHeaders, " answered with more than 1 MiB of headers, more than freshtoken reads, so its answer could not be read")
}

// TestRequestToAnAPIOverHTTP2WhoseHeadersAreTooLarge: an API served over
// HTTP/2 that answers with more than 1 MiB of headers was reached, and its
// answer is not read; net/http's HTTP/2 client ends the connection for it
// (connection error: PROTOCOL_ERROR), not with the HTTP/1 words. The
// command says in one line that the API answered over HTTP/2 with what
// freshtoken cannot read, naming both causes, as the words do not tell
// headers past the limit from another broken answer, and for a POST that
// the request may have been made; exit 5. It said the API "could not be
// reached" and to check the connection and api_url.
func TestRequestToAnAPIOverHTTP2WhoseHeadersAreTooLarge(t *testing.T) {
	e := newDevEnv(t) // the provider, over plain HTTP on 127.0.0.1
	api := httptest.NewUnstartedServer(http.HandlerFunc(hugeHeaders))
	api.EnableHTTP2 = true
	api.StartTLS()
	t.Cleanup(api.Close)
	ca := filepath.Join(e.dir, "api-ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := configedit.WriteEnv(e.config, "dev", config.EnvSettings{Provider: "freeagent", APIURL: api.URL + "/", AuthURL: e.api + "v2/approve_app", TokenURL: e.api + "v2/token_endpoint",
		ClientID: "dev-client-id", ClientSecret: "dev-client-secret", CAFile: ca}, true); err != nil {
		t.Fatal(err)
	}
	e.loginOutside(t)
	for _, tt := range []struct {
		args []string
		made bool
	}{{[]string{"get", "/v2/huge"}, false}, {[]string{"post", "/v2/huge", "-d", "{}"}, true}} {
		ios, stdout, stderr := testStreams(false, false)
		code := e.run(ios, tt.args...)
		msg := stderr.String()
		if code != 5 || strings.Contains(msg, "could not be reached") || !strings.HasPrefix(msg, "freshtoken: dev: the API at "+api.URL+"/v2/huge answered over HTTP/2 with what freshtoken cannot read (PROTOCOL_ERROR: more than 1 MiB of headers, more than freshtoken reads, or a broken answer)") ||
			strings.Count(msg, "\n") != 1 || strings.Contains(msg, "the request may have been made, and sending it again would make it again") != tt.made || stdout.Len() != 0 {
			t.Errorf("%s: exit %d, stderr %q, stdout %q; want 5 and one line saying the API answered over HTTP/2 with what cannot be read", tt.args, code, msg, stdout)
		}
	}
}

// malformedAnswer answers with what net/http cannot read as HTTP: a header
// line holding a control character, written on the hijacked connection.
func malformedAnswer(w http.ResponseWriter, r *http.Request) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	io.Copy(io.Discard, r.Body)
	buf.WriteString("HTTP/1.1 201 Created\r\nX-Bad: a\x1b[31mred\r\nContent-Length: 2\r\n\r\n{}")
	buf.Flush()
}

// TestRequestToAnAPIWhoseAnswerIsNotHTTP: an API that answers with what is
// not HTTP as net/http reads it (a header line holding a control
// character) was reached, and for a POST the request was made: the command
// says in one line that the API answered and its answer could not be read,
// and for a POST that sending it again makes it again; exit 5. It said the
// API "could not be reached" and to check the connection and api_url, so
// that a person sent the POST again and made a second invoice.
func TestRequestToAnAPIWhoseAnswerIsNotHTTP(t *testing.T) {
	wantUnreadable(t, "/v2/bad", malformedAnswer, " answered with what freshtoken cannot read as HTTP (malformed MIME header line), so its answer could not be read")
}

// wantUnreadable runs a GET, a GET --all and a POST of path against the dev
// environment, its API answering path with answer, and checks each exits 5
// with nothing on stdout and one line on stderr, free of escapes, naming
// the API at path, saying it answered (never that it could not be
// reached), and for the POST alone, that the request was made and sending
// it again makes it again.
func wantUnreadable(t *testing.T, path string, answer http.HandlerFunc, answered string) {
	t.Helper()
	e := newDevEnvAnswering(t, path, answer)
	e.login(t)
	for _, tt := range []struct {
		args []string
		made bool
	}{{[]string{"get", path}, false}, {[]string{"get", path, "--all"}, false}, {[]string{"post", path, "-d", "{}"}, true}} {
		ios, stdout, stderr := testStreams(false, false)
		code := e.run(ios, tt.args...)
		msg := stderr.String()
		if code != 5 || strings.Contains(msg, "could not be reached") || !strings.HasPrefix(msg, "freshtoken: dev: the API at "+e.api+path[1:]) ||
			!strings.Contains(msg, answered) || strings.Contains(msg, "\x1b") || strings.Count(msg, "\n") != 1 ||
			strings.Contains(msg, "the request was made") != tt.made || strings.Contains(msg, "sending it again makes it again") != tt.made {
			t.Errorf("%s: exit %d, stderr %q; want 5 and one line saying the API%s", tt.args, code, msg, answered)
		}
		if stdout.Len() != 0 {
			t.Errorf("%s: stdout = %q, want nothing", tt.args, stdout)
		}
	}
}

// TestRequestToAnAPIThatRedirectsForEver: an API whose redirects lead on
// and on was reached, and answered each time with another redirect; after
// ten, the command says so in one line, exit 5, and for a POST that the
// request was made. It said the API "could not be reached" and to check
// the connection and api_url.
func TestRequestToAnAPIThatRedirectsForEver(t *testing.T) {
	e := newDevEnvAnswering(t, "/v2/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/v2/loop?n="+r.URL.Query().Get("n")+"x", http.StatusFound)
	})
	e.login(t)
	for _, args := range [][]string{{"get", "/v2/loop"}, {"get", "/v2/loop", "--all"}, {"post", "/v2/loop", "-d", "{}"}} {
		ios, stdout, stderr := testStreams(false, false)
		code := e.run(ios, args...)
		msg := stderr.String()
		if code != 5 || strings.Contains(msg, "could not be reached") || !strings.HasPrefix(msg, "freshtoken: dev: the API at "+e.api+"v2/loop") ||
			!strings.Contains(msg, "redirected the request 10 times") || strings.Count(msg, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q; want 5 and one line saying the API redirected the request 10 times", args, code, msg)
		}
		// A POST was made, and sent again would be made again; a GET
		// is told no such thing.
		if made := strings.Contains(msg, "the request was made"); made != (args[0] == "post") {
			t.Errorf("%s: stderr %q; saying the request was made: %v, want %v", args, msg, made, args[0] == "post")
		}
		if stdout.Len() != 0 {
			t.Errorf("%s: stdout = %q, want nothing", args, stdout)
		}
	}
}

// TestHeaderWithoutAValueIsLeftOut: as with curl, -H 'Accept:' leaves the
// header out, freshtoken's default included (User-Agent too, which
// net/http would otherwise fill with its own), and -H 'X-Name;' sends it
// empty. 'Accept:' sent an empty Accept header, which an API may answer
// with 406 or its default type, and a User-Agent could not be left out. A
// value that ends in ';' ('Cookie: a=b;') is a value, sent as written.
func TestHeaderWithoutAValueIsLeftOut(t *testing.T) {
	got := make(chan http.Header, 1)
	e := newDevEnvAnswering(t, "/v2/echo", func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
	})
	e.login(t)
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "get", "/v2/echo", "-H", "Accept:", "-H", "User-Agent: ", "-H", "X-Empty;", "-H", "X-Kept: yes", "-H", "X-List: a;"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	h := <-got
	for _, name := range []string{"Accept", "User-Agent"} {
		if v, sent := h[name]; sent {
			t.Errorf("%s: %q sent; want it left out", name, v)
		}
	}
	if v, sent := h["X-Empty"]; !sent || len(v) != 1 || v[0] != "" {
		t.Errorf("X-Empty: %q (sent %v); want it sent empty", v, sent)
	}
	if h.Get("X-List") != "a;" {
		t.Errorf("X-List: %q; want a value ending in ';' sent as written", h.Get("X-List"))
	}
	if h.Get("X-Kept") != "yes" || h.Get("Authorization") == "" {
		t.Errorf("headers %v; want X-Kept and the access token too", h)
	}
}

// TestBodyFileThatIsAlsoStdout: `post -d @c.json > c.json`, whose shell
// emptied c.json for the answer before freshtoken ran, is refused, exit 2,
// nothing sent: the POST went with an empty body, exit 0, without a word.
// So is `post -d @- < c.json > c.json`, which sent the empty body still.
// Appended to (>>), the file keeps its body, and the request goes.
func TestBodyFileThatIsAlsoStdout(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	t.Chdir(t.TempDir())
	if err := os.WriteFile("c.json", []byte(`{"contact":{"organisation_name":"Ada Ltd"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(flag int) (int, string) {
		out, err := os.OpenFile("c.json", os.O_WRONLY|os.O_CREATE|flag, 0o600) // as the shell's > or >>
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		ios, _, stderr := testStreams(false, false)
		ios.Out = out
		return e.run(ios, "post", "/v2/dev/echo", "-d", "@c.json"), stderr.String()
	}
	before := e.provider.Stats().APIRequests
	if code, stderr := run(os.O_TRUNC); code != cli.ExitUsage || !strings.Contains(stderr, "the shell emptied it") || e.provider.Stats().APIRequests != before {
		t.Fatalf("post -d @c.json > c.json: exit %d, %q, %d API requests; want exit 2 saying the shell emptied it, and none sent", code, stderr, e.provider.Stats().APIRequests-before)
	}
	// The same through stdin: `post -d @- < c.json > c.json`.
	os.WriteFile("c.json", []byte(`{"a":1}`), 0o600)
	in, err := os.Open("c.json")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile("c.json", os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ios, _, stderr := testStreams(false, false)
	ios.In, ios.Out = in, out
	if code := e.run(ios, "post", "/v2/dev/echo", "-d", "@-"); code != cli.ExitUsage || !strings.Contains(stderr.String(), "-d @-: standard input is the file standard output goes to, and the shell emptied it") || e.provider.Stats().APIRequests != before {
		t.Fatalf("post -d @- < c.json > c.json: exit %d, %q, %d API requests; want exit 2 saying the shell emptied it, and none sent", code, stderr, e.provider.Stats().APIRequests-before)
	}
	os.WriteFile("c.json", []byte(`{"a":1}`), 0o600)
	if code, stderr := run(os.O_APPEND); code != 0 {
		t.Fatalf("post -d @c.json >> c.json: exit %d, %s", code, stderr)
	}
	if b, _ := os.ReadFile("c.json"); !bytes.Contains(b, []byte(`"Content-Length":"7"`)) {
		t.Fatalf("c.json after >>: %s; want the body sent whole, its answer appended", b)
	}
}

// TestAllQuotesAHostileLinkWithoutItsRawBytes: an API's Link header is
// quoted on stderr when --all cannot follow it; a query there holding
// bytes that are not UTF-8 (0x9B, CSI to a terminal in Latin-1) or a
// bidirectional override went to the terminal raw.
func TestAllQuotesAHostileLinkWithoutItsRawBytes(t *testing.T) {
	e := newDevEnvAnswering(t, "/v2/items", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</v2/items?\x9b2J\u202e>; rel=\"next\"") // back to itself: not followed
		w.Write([]byte(`{"items":[1]}`))
	})
	e.configure(t)
	e.login(t)
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "get", "/v2/items", "--all"); code != 5 || !strings.Contains(stderr.String(), "already read") {
		t.Fatalf("exit %d, %q; want 5 saying the next page was already read", code, stderr)
	}
	if s := stderr.String(); !utf8.ValidString(s) || strings.ContainsAny(s, "\u202e\u009b") {
		t.Fatalf("stderr %q; want the link quoted without raw bytes or controls", s)
	}
}
