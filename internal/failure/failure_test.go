package failure_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/login"
	"github.com/freshtoken/freshtoken/internal/tokenerr"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
	"github.com/freshtoken/freshtoken/store/keyringstore"
)

// TestTableBothWays: every failure sorts into its kind, whose row gives the
// exit code, proxy status and problem code PRODUCT.md promises.
func TestTableBothWays(t *testing.T) {
	tests := []struct {
		err    error
		kind   failure.Kind
		exit   int
		status int
		code   string
	}{
		{&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrLoginRequired, Msg: "not logged in"}, failure.LoginNeeded, 3, 401, "login_required"},
		{&login.ExchangeError{Env: "dev", Class: tokenerr.BadGrant}, failure.LoginRefused, 3, 401, "login_refused"},
		{&login.ExchangeError{Env: "dev", Class: tokenerr.RateLimited}, failure.RateLimited, 5, 503, "rate_limited"},
		{&login.ExchangeError{Env: "dev", Class: tokenerr.Passing}, failure.ProviderUnreachable, 5, 502, "provider_unreachable"},
		{&login.ExchangeError{Env: "dev", Class: tokenerr.BadClient}, failure.ClientRejected, 2, 502, "client_rejected"},
		{&login.NewerMeanwhileError{Env: "dev"}, failure.Config, 2, 500, "invalid_configuration"},
		{&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrClientRejected}, failure.ClientRejected, 2, 502, "client_rejected"},
		{&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrUnreachable}, failure.ProviderUnreachable, 5, 502, "provider_unreachable"},
		{&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrUnreachable, Err: freshtoken.ErrUnusableToken}, failure.UnusableToken, 5, 502, "unusable_token"},
		{&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrUnreachable, Err: freshtoken.ErrRateLimited}, failure.RateLimited, 5, 503, "rate_limited"},
		{&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrUnreachable, Err: fmt.Errorf("redis: %w", store.ErrUnreachable)}, failure.StoreUnreachable, 5, 503, "store_unreachable"},
		{fmt.Errorf("dev: %w", store.ErrDenied), failure.Config, 2, 500, "invalid_configuration"},
		{fmt.Errorf("%w: save tokens: no space left on device", store.ErrWriteFailed), failure.StoreUnreachable, 5, 503, "store_unreachable"},
		{config.Invalidf("a mistake"), failure.Config, 2, 500, "invalid_configuration"},
		{fmt.Errorf("tokens: %w", store.ErrInsecure), failure.Config, 2, 500, "invalid_configuration"},
		{&freshtoken.Error{Env: "nul", Kind: fmt.Errorf("environment name %q is %w on Windows", "nul", store.ErrReservedName)}, failure.Config, 2, 500, "invalid_configuration"},
		{fmt.Errorf("dev: %w: no answer from the browser", login.ErrNotApproved), failure.LoginRefused, 3, 401, "login_refused"},
		{fmt.Errorf("dev: %w", login.ErrStateMismatch), failure.LoginRefused, 3, 401, "login_refused"},
		{fmt.Errorf("dev: %w: 127.0.0.1:8787", login.ErrPortBusy), failure.Config, 2, 500, "invalid_configuration"},
		{fmt.Errorf("dev: %w: 127.0.0.2:8787", login.ErrCannotListen), failure.Config, 2, 500, "invalid_configuration"},
		{fmt.Errorf("tokens: %w", keyringstore.ErrNoKeychain), failure.Config, 2, 500, "invalid_configuration"},
		{&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrUnreachable, Err: keyringstore.ErrLocked}, failure.StoreUnreachable, 5, 503, "store_unreachable"},
		{&freshtoken.Error{Env: "dev", Kind: fmt.Errorf("%w: not JSON", store.ErrCorrupt)}, failure.LoginNeeded, 3, 401, "login_required"},
		{&freshtoken.Error{Env: "dev", Kind: fmt.Errorf("%w: format 2", store.ErrNewerFormat)}, failure.Config, 2, 500, "invalid_configuration"},
		{&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrClearText}, failure.Config, 2, 500, "invalid_configuration"},
		{&failure.UnreadableAnswerError{Env: "dev", API: "api.example.com", Err: errors.New("net/http: server response headers exceeded 10485760 bytes; aborted")}, failure.UnreadableAnswer, 5, 502, "api_unreadable"},
		{&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrUnreachable, Err: failure.ErrAPITimeout, Msg: "the API did not answer within 30s"}, failure.APITimeout, 5, 504, "api_timeout"},
		{&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrUnreachable, Err: failure.ErrAPIUnreachable, Msg: "the API could not be reached"}, failure.APIUnreachable, 5, 502, "api_unreachable"},
		{errors.New("a bug"), failure.Unexpected, 1, 500, "failed"},
		{context.Canceled, failure.Interrupted, 130, 503, "interrupted"},
	}
	for _, tt := range tests {
		got := failure.Of(tt.err)
		row := got.Row()
		if got != tt.kind || row.Exit != tt.exit || row.Status != tt.status || row.Code != tt.code {
			t.Errorf("%v: kind %d %+v; want kind %d exit %d status %d code %q", tt.err, got, row, tt.kind, tt.exit, tt.status, tt.code)
		}
	}
}

// TestCodesNameOneKind: no two kinds share a problem code or lack an exit
// code, so the table reads both ways, and OfCode reads each code back.
func TestCodesNameOneKind(t *testing.T) {
	seen := map[string]failure.Kind{}
	for k := failure.Unexpected; k <= failure.Interrupted; k++ {
		row := k.Row()
		if row.Exit == 0 {
			t.Errorf("kind %d has no exit code", k)
		}
		if row.Code == "" {
			continue
		}
		if other, dup := seen[row.Code]; dup {
			t.Errorf("kinds %d and %d share the code %q", other, k, row.Code)
		}
		seen[row.Code] = k
		if back, ok := failure.OfCode(row.Code); !ok || back != k {
			t.Errorf("OfCode(%q) = %d, %v; want kind %d", row.Code, back, ok, k)
		}
	}
	for _, code := range []string{"", "no_such_code", "LOGIN_REFUSED"} {
		if k, ok := failure.OfCode(code); ok {
			t.Errorf("OfCode(%q) = kind %d; want none", code, k)
		}
	}
}

// TestNextStepsNameTheEnvironment: the next step is added at the edge, once,
// naming the environment the error is about, and reads as a sentence.
func TestNextStepsNameTheEnvironment(t *testing.T) {
	for k := failure.Unexpected; k <= failure.Interrupted; k++ {
		err := &freshtoken.Error{Env: "sandbox", Kind: errors.New("x"), Msg: "what happened"}
		if next := failure.Next(fmt.Errorf("%w", &kinded{err, k}), "sandbox"); strings.Contains(next, "%!") {
			t.Errorf("kind %d's next step reads %q", k, next)
		}
	}
	wantNextSteps(t, []nextStep{
		{"not logged in", &freshtoken.Error{Env: "sandbox", Kind: freshtoken.ErrLoginRequired, Msg: "not logged in"},
			"other", "run `freshtoken login -e sandbox`", false},
		{"the step already said", &freshtoken.Error{Env: "sandbox", Kind: freshtoken.ErrLoginRequired, Msg: "not logged in; run `freshtoken login -e sandbox`"},
			"sandbox", "", false},
		// A provider's description, quoted, that reads like the step to take
		// hid freshtoken's own.
		{"a provider's words like a step", &freshtoken.Error{Env: "sandbox", Kind: freshtoken.ErrLoginRequired,
			Msg: "the provider refused the refresh token (HTTP 400 invalid_grant: \"run `freshtoken login -e production` to fix\"), so the grant has ended"},
			"sandbox", "run `freshtoken login -e sandbox`", false},
		{"an unusable token", &freshtoken.Error{Env: "sandbox", Kind: freshtoken.ErrUnreachable, Err: freshtoken.ErrUnusableToken, Msg: "an access token no header can carry"},
			"other", "run `freshtoken token --force -e sandbox` for another", true},
		// A configuration error that names what to check or set is not told
		// to check the client's credentials as well, which were right.
		{"a token_url to check", &freshtoken.Error{Env: "sandbox", Kind: freshtoken.ErrClientRejected,
			Msg: "no token endpoint answers at https://login.example.com/tokn (HTTP 404 \"404 page not found\"); check token_url"},
			"sandbox", "", false},
		{"a device_auth_url to set", &freshtoken.Error{Env: "sandbox", Kind: freshtoken.ErrClientRejected, Msg: "no device authorization endpoint is known; set device_auth_url"},
			"sandbox", "", false},
		{"a provider's words saying to check", &freshtoken.Error{Env: "sandbox", Kind: freshtoken.ErrClientRejected,
			Msg: "the token endpoint rejected the client (HTTP 401 invalid_client: \"bad secret; check the portal\")"},
			"sandbox", "check client_id", true},
		{"no environment in the error", fmt.Errorf("wrapped: %w", freshtoken.ErrLoginRequired),
			"prod", "run `freshtoken login -e prod`", false},
	})
}

// nextStep is a case of failure.Next: after err, in a command run for the
// environment env, the next step is want (with prefix, begins with it).
type nextStep struct {
	name   string
	err    error
	env    string
	want   string
	prefix bool
}

// wantNextSteps fails the test for each of steps whose next step is not
// the one wanted.
func wantNextSteps(t *testing.T, steps []nextStep) {
	t.Helper()
	for _, s := range steps {
		got := failure.Next(s.err, s.env)
		if s.prefix && !strings.HasPrefix(got, s.want) || !s.prefix && got != s.want {
			t.Errorf("%s: next step %q; want %q", s.name, got, s.want)
		}
	}
}

// kinded is an error of a given kind, for the table's rows.
type kinded struct {
	error
	kind failure.Kind
}

func (k *kinded) FailureKind() failure.Kind { return k.kind }

// TestAuthorizationEndpointRefusals: the errors an authorization endpoint
// sends back to the redirect URI (RFC 6749 §4.1.2.1) are sorted by what
// they mean. Only a person's refusal is a refused log-in that approving in
// the browser fixes (exit 3); a request the provider cannot take (scopes
// it does not know, as Microsoft answers a misspelt one, a client not
// allowed this flow) is the configuration's to fix (exit 2), and a
// provider that cannot serve the log-in now is trouble to wait out (exit
// 5). All were told to approve access in the browser, exit 3.
func TestAuthorizationEndpointRefusals(t *testing.T) {
	conf := &oauth2.Config{ClientID: "id", Endpoint: oauth2.Endpoint{AuthURL: "https://login.example.com/auth", TokenURL: "https://login.example.com/token"}}
	for _, tt := range []struct {
		code string
		kind failure.Kind
		say  string
	}{
		{"access_denied", failure.LoginRefused, "approve access in the browser"},
		{"consent_required", failure.LoginRefused, "approve access in the browser"},
		{"invalid_scope", failure.Config, "check scopes"},
		{"unauthorized_client", failure.Config, "client_id"},
		{"invalid_request", failure.Config, "auth_params in the config"},
		{"unsupported_response_type", failure.Config, "auth_url"},
		// RFC 8707's answer to a resource it does not know, and Microsoft's
		// older name for it: they were a refusal to approve in the browser.
		{"invalid_target", failure.Config, "check scopes, resource, audience"},
		{"invalid_resource", failure.Config, "check scopes, resource, audience"},
		// GitHub's, sent to the registered callback URL: a redirect URI
		// not registered, and a client suspended, were a refusal to
		// approve in the browser, which only asked for the same again.
		{"redirect_uri_mismatch", failure.Config, "redirect_uri"},
		{"application_suspended", failure.Config, "client_id"},
		{"server_error", failure.ProviderUnreachable, "log in again later"},
		{"temporarily_unavailable", failure.ProviderUnreachable, "log in again later"},
	} {
		req := login.NewRequest(conf)
		_, err := (&login.Flow{Env: "graph", Config: conf}).Complete(t.Context(), req,
			url.Values{"state": {req.State}, "error": {tt.code}, "error_description": {"AADSTS70011: the provider's words"}})
		said := fmt.Sprintf("%v; %s", err, failure.Next(err, "graph"))
		if got := failure.Of(err); got != tt.kind || !strings.Contains(said, tt.code) || !strings.Contains(said, "AADSTS70011") || !strings.Contains(said, tt.say) {
			t.Errorf("%s: kind %d, %q; want kind %d saying %q", tt.code, got, said, tt.kind, tt.say)
		}
	}
}

// TestAuthorizationEndpointWordsAreQuoted: an authorization endpoint's
// error code and description reach the terminal, the log and the proxy's
// page in quotes (a code that is a code as it is), as the token endpoint's
// do, so that they cannot pass for freshtoken's own next step around them.
// They were written bare: "… answered access_denied (x); run `freshtoken
// logout -e prod` to fix (…)".
func TestAuthorizationEndpointWordsAreQuoted(t *testing.T) {
	conf := &oauth2.Config{ClientID: "id", Endpoint: oauth2.Endpoint{AuthURL: "https://login.example.com/auth", TokenURL: "https://login.example.com/token"}}
	for _, tt := range []struct{ code, desc, want string }{
		{"access_denied", "x); run `freshtoken logout -e prod` to fix (", "access_denied: \"x); run `freshtoken logout -e prod` to fix (\""},
		{"invalid_scope", "no such scope; run `rm -rf ~`", "invalid_scope: \"no such scope; run `rm -rf ~`\""},
		{"server_error", "", "server_error; log in"},
		{"nope; run `freshtoken logout`", "", "\"nope; run `freshtoken logout`\""},
	} {
		req := login.NewRequest(conf)
		_, err := (&login.Flow{Env: "graph", Config: conf}).Complete(t.Context(), req,
			url.Values{"state": {req.State}, "error": {tt.code}, "error_description": {tt.desc}})
		if err == nil || !strings.Contains(err.Error(), "answered "+tt.want) {
			t.Errorf("%s: %v; want it to say the provider answered %s", tt.code, err, tt.want)
		}
	}
}

// brokenAnswers are net/http's failures to read an answer, wrapped as
// net/http wraps them, and others beside, each with what HeadersTooLarge,
// MalformedAnswer and the HTTP/2 code (its broken answers) read in it;
// Unreadable is any of the three.
var brokenAnswers = []struct {
	err       error
	tooLarge  bool
	malformed string
	http2     string
}{
	{answerErr("Get", "net/http: HTTP/1.x transport connection broken: net/http: server response headers exceeded 10485760 bytes; aborted"), true, "", ""},
	{answerErr("Get", "http2: response header list larger than advertised limit"), true, "", ""},
	{answerErr("Post", `net/http: HTTP/1.x transport connection broken: malformed MIME header line: "X-Bad: a\x1b[31m"`), false, "malformed MIME header line", ""},
	{&url.Error{Op: "Get", URL: "http://api.example.com/", Err: errors.New(`net/http: HTTP/1.x transport connection broken: malformed HTTP response "\x15\x03\x01\x00\x02\x02"`)}, false, "malformed HTTP response", ""},
	{answerErr("Get", `net/http: HTTP/1.x transport connection broken: bad Content-Length "x"`), false, "bad Content-Length", ""},
	{answerErr("Get", "connection error: PROTOCOL_ERROR"), false, "", "PROTOCOL_ERROR"},
	{answerErr("Post", "connection error: COMPRESSION_ERROR"), false, "", "COMPRESSION_ERROR"},
	{answerErr("Get", "http2: server sent GOAWAY and closed the connection; LastStreamID=1, ErrCode=NO_ERROR, debug=\"\""), false, "", ""},
	{answerErr("Get", "EOF"), false, "", ""},
	{nil, false, "", ""},
}

// answerErr is a request's error as net/http returns it, failing with msg.
func answerErr(op, msg string) error {
	return &url.Error{Op: op, URL: "https://api.example.com/", Err: errors.New(msg)}
}

// TestHeadersTooLarge: net/http's words for an answer whose headers are past
// its limit, HTTP/1's and HTTP/2's, are read as such (net/http has no
// sentinel), wrapped as net/http wraps them; other failures are not.
func TestHeadersTooLarge(t *testing.T) {
	for _, tt := range brokenAnswers {
		if got := failure.HeadersTooLarge(tt.err); got != tt.tooLarge {
			t.Errorf("HeadersTooLarge(%v) = %v, want %v", tt.err, got, tt.tooLarge)
		}
	}
	e := &failure.UnreadableAnswerError{Env: "dev", API: "api.example.com", Err: errors.New("http2: response header list larger than advertised limit")}
	if want := "dev: the API at api.example.com answered with more than 1 MiB of headers, more than freshtoken reads, so its answer could not be read; the API is at fault: tell its owner"; e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
}

// TestMalformedAnswer: net/http's words for an answer that is not HTTP as
// it reads it are read as such, wrapped as net/http wraps them, and told
// without the part of the answer it quotes; other failures, and headers
// too large, are not.
func TestMalformedAnswer(t *testing.T) {
	for _, tt := range brokenAnswers {
		if got := failure.MalformedAnswer(tt.err); got != tt.malformed {
			t.Errorf("MalformedAnswer(%v) = %q, want %q", tt.err, got, tt.malformed)
		}
	}
	e := &failure.UnreadableAnswerError{Env: "dev", API: "api.example.com", Changes: true, Err: errors.New(`malformed MIME header line: "X-Bad: a\x1b[31m"`)}
	if want := "dev: the API at api.example.com answered with what freshtoken cannot read as HTTP (malformed MIME header line), so its answer could not be read; the request was made, and sending it again makes it again; the API is at fault: tell its owner"; e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
	e.Err = errors.New(`malformed HTTP response "\x15\x03"`)
	if want := "dev: the API at api.example.com answered with what freshtoken cannot read as HTTP (malformed HTTP response), so its answer could not be read; the request may have been made, and sending it again would make it again; check that api_url names the API, with https:// if it is served so"; e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
}

// TestBrokenHTTP2Answer: net/http's HTTP/2 client ends the connection,
// with its own words and no sentinel, for an answer whose headers are
// well past the limit (connection error: PROTOCOL_ERROR, or
// COMPRESSION_ERROR for one header past it), and for other broken
// answers. Such an answer came, and cannot be read: it is told so, naming
// both causes, as the words do not tell them apart, and for a request that
// may change something that it may have been made. It was told as an API
// that "could not be reached" (exit 5, 502 api_unreachable) and to check
// the connection and api_url.
func TestBrokenHTTP2Answer(t *testing.T) {
	for _, tt := range brokenAnswers {
		if got := failure.Unreadable(tt.err); got != (tt.tooLarge || tt.malformed != "" || tt.http2 != "") {
			t.Errorf("Unreadable(%v) = %v", tt.err, got)
		}
		if tt.http2 == "" {
			continue
		}
		e := &failure.UnreadableAnswerError{Env: "dev", API: "api.example.com", Changes: true, Err: tt.err}
		if want := "dev: the API at api.example.com answered over HTTP/2 with what freshtoken cannot read (" + tt.http2 + ": more than 1 MiB of headers, more than freshtoken reads, or a broken answer), so its answer could not be read; the request may have been made, and sending it again would make it again; the API is at fault: tell its owner"; e.Error() != want {
			t.Errorf("Error() = %q, want %q", e.Error(), want)
		}
	}
}

// TestProxyDocsListEveryCode: docs/proxy.md's table of the proxy's own
// answers has a row for each kind's problem code, with the kind's status;
// 401 login_refused and 503 interrupted, which the proxy answers, were
// missing from it.
func TestProxyDocsListEveryCode(t *testing.T) {
	doc, err := os.ReadFile("../../docs/proxy.md")
	if err != nil {
		t.Fatal(err)
	}
	for k := failure.Unexpected; k <= failure.Interrupted; k++ {
		row := k.Row()
		if row.Code == "" {
			continue
		}
		if want := fmt.Sprintf("| %d | `%s` |", row.Status, row.Code); !strings.Contains(string(doc), want) {
			t.Errorf("docs/proxy.md has no row %q", want)
		}
	}
}

// TestAPIFailuresAreKinds: an API that cannot be reached, or has not begun
// to answer in time, is a kind of the table, whose code the proxy answers
// and the command line's exit code follows; the proxy answered
// api_unreachable and api_timeout by codes of its own, which OfCode did not
// read back, while the command line sorted the same failures as the
// provider's (provider_unreachable). So are the proxy's own refusals
// (forbidden, method_not_allowed, token_endpoint, client_timeout,
// redirect_to_proxy, bad_redirect), which it wrote by hand outside the table.
func TestAPIFailuresAreKinds(t *testing.T) {
	for code, want := range map[string]struct{ status, exit int }{
		"api_unreachable": {502, 5}, "api_timeout": {504, 5},
		"forbidden": {403, 2}, "method_not_allowed": {405, 2}, "token_endpoint": {403, 2}, "client_timeout": {408, 2},
		"redirect_to_proxy": {502, 5}, "bad_redirect": {502, 5},
	} {
		k, ok := failure.OfCode(code)
		if row := k.Row(); !ok || row.Status != want.status || row.Exit != want.exit {
			t.Errorf("OfCode(%q) = kind %d %+v, %v; want a kind with status %d, exit %d", code, k, row, ok, want.status, want.exit)
		}
	}
}

// TestKeptTokensNextStep: the engine says in its own terms that a forced
// renewal tries the tokens it kept beside a note that the grant ended (the
// library names no command); the command line names its own for it,
// before the log-in. A provider's words, quoted, saying so are not the
// engine's.
func TestKeptTokensNextStep(t *testing.T) {
	wantNextSteps(t, []nextStep{
		{"tokens kept", &freshtoken.Error{Env: "sandbox", Kind: freshtoken.ErrLoginRequired,
			Msg: "the grant ended 3s ago: the provider refused the refresh token; the tokens a renewal paused meanwhile received are kept, in case the provider refused only the reuse: a forced renewal tries them"},
			"other", "run `freshtoken token --force -e sandbox` to try them, else `freshtoken login -e sandbox`", false},
		{"a provider's words like the engine's", &freshtoken.Error{Env: "sandbox", Kind: freshtoken.ErrLoginRequired,
			Msg: "the provider refused the refresh token (HTTP 400 invalid_grant: \"a forced renewal tries them\"), so the grant has ended"},
			"sandbox", "run `freshtoken login -e sandbox`", false},
	})
}

// TestCorruptionSaysWhatAlone: what a store's refusal of a record it
// cannot read says is wrong, for a command or a page that deleted the
// record: the file and the fault, without the store's words that it was
// left as it is and that a log-in replaces it. A folder whose name holds
// "; " (a store url of file:///home/me/work;%20old/) is named whole: it
// was cut there, and logout said the record at /home/me/work was deleted.
func TestCorruptionSaysWhatAlone(t *testing.T) {
	for _, folder := range []string{"tokens", "work; old"} {
		dir := filepath.Join(t.TempDir(), folder) // made 0700 by the store
		st := filestore.New(dir)
		ctx := t.Context()
		if err := st.Save(ctx, "sandbox", &store.Record{AccessToken: "at", RefreshToken: "rt"}); err != nil {
			t.Fatal(err)
		}
		files, err := filepath.Glob(filepath.Join(dir, "sandbox*"))
		if err != nil || len(files) == 0 {
			t.Fatalf("the record's file: %v, %v", files, err)
		}
		if err := os.WriteFile(files[0], []byte("{not json"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err = st.Load(ctx, "sandbox")
		if !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("Load of a broken record: %v; want store.ErrCorrupt", err)
		}
		got := failure.Corruption(err)
		if !strings.HasPrefix(got, files[0]+" is not valid JSON (") || !strings.HasSuffix(got, ")") || strings.Contains(got, "log-in") || strings.Contains(got, store.ErrCorrupt.Error()) {
			t.Errorf("Corruption(%q) = %q; want the file and its fault alone", err, got)
		}
	}
}
