// Package tokenerr reads a token endpoint's answers leniently and sorts its
// failures, so that a renewal and a log-in read them by the same rules.
package tokenerr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/redact"
)

// KeptTokensTried ends the engine's words on tokens it kept beside a note
// that the provider ended the grant (a renewal paused past the renewal
// lock, whose refresh token may be the grant's one valid copy): the
// library says what tries them, in its own terms, and the command line,
// finding these words, names its command for it.
const KeptTokensTried = "a forced renewal tries them"

// LogInIfNamed ends the engine's words on a renewal refused with an error
// of the provider's own (ErrOwnRefusal), after "or log in again": status
// names the commands in their place.
const LogInIfNamed = " if they name the refresh token or the log-in"

// Class says how a token request failed, which decides what happens next.
type Class int

const (
	Passing     Class = iota // 5xx, HTML, malformed JSON, time-out, network: try again later
	RateLimited              // 429: wait Retry-After, then try again
	BadGrant                 // invalid_grant or a person must sign in: the refresh token or code is no good
	BadClient                // invalid_client and other 4xx: the configuration is wrong
)

// Retrieved is the error of an endpoint that answered resp, whose body
// was read as body through Lenient, as x/oauth2 makes a token endpoint's:
// its OAuth error code and description (RFC 6749 5.2) read from a JSON
// body, or from a form-encoded one (labelled so, or text/plain), for
// Classify.
func Retrieved(resp *http.Response, body []byte) *oauth2.RetrieveError {
	re := &oauth2.RetrieveError{Response: resp, Body: body}
	var e struct {
		Code        string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) == nil {
		re.ErrorCode, re.ErrorDescription = e.Code, e.Description
	} else if vals, err := url.ParseQuery(string(body)); err == nil && labelledAsForm(resp.Header) {
		re.ErrorCode, re.ErrorDescription = vals.Get("error"), vals.Get("error_description")
	}
	return re
}

// Classify sorts err, from golang.org/x/oauth2, and describes it on one line
// without secrets. For RateLimited, wait is how long the provider asks to
// wait (a minute when it does not say); for Passing, the Retry-After of an
// answer that gives one (a 503 for maintenance), 0 otherwise.
func Classify(err error) (c Class, wait time.Duration, desc string) {
	var redirect *RedirectError
	if errors.As(err, &redirect) {
		return BadClient, 0, redirect.Error()
	}
	var late *TimeoutError
	if errors.As(err, &late) {
		return Passing, 0, late.Error()
	}
	var paged *WebPageError
	if errors.As(err, &paged) {
		return Passing, 0, paged.Error()
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return Passing, 0, clip(httpx.UnwrapURLError(err).Error())
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	desc = fmt.Sprintf("HTTP %d", status)
	body := strings.TrimSpace(string(re.Body))
	page := re.ErrorCode == "" && isHTML(contentTypeOf(re.Response), body)
	var unreadableAs string
	if re.ErrorCode == "" && !page {
		unreadableAs = unreadable(contentTypeOf(re.Response), body)
	}
	switch {
	case re.ErrorCode != "":
		desc += " " + Answer(re.ErrorCode, re.ErrorDescription)
	case page && (status == http.StatusNotFound || status == http.StatusMethodNotAllowed):
		desc += ", a web page rather than an OAuth answer: is the endpoint's URL right?"
	case page:
		desc += ", a web page rather than an OAuth answer"
	case unreadableAs != "":
		desc += ", an answer that cannot be read (" + unreadableAs + ")"
	case body != "":
		desc += " " + quoted(body)
	}
	switch {
	case slices.Contains(badGrant, re.ErrorCode) || slices.Contains(personNeeded, re.ErrorCode):
		return BadGrant, 0, desc
	case status == http.StatusTooManyRequests:
		return RateLimited, retryAfter(re.Response), desc
	// An error code with a status below 400 (GitHub answers 200) is a
	// refusal all the same: sending the request again changes nothing.
	case status >= 500 || status == http.StatusRequestTimeout || status < 400 && re.ErrorCode == "" || page || unreadableAs != "" || slices.Contains(busy, re.ErrorCode):
		// A web page comes from whatever stands in front of the provider (a
		// gateway, a firewall, a maintenance page), never from the token
		// endpoint itself: tried again, as a passing fault. Only a
		// gateway's 502 or 504 says the provider may have handled the
		// request (see Lost). A Retry-After (a 503's, for maintenance)
		// says when to try.
		//
		// An error answer that cannot be read (malformed JSON, control
		// characters) says nothing to act on, neither a refusal nor its
		// reason: tried again, as such a 2xx answer is.
		if re.Response != nil {
			if wait, known := httpx.RetryAfter(re.Response.Header, time.Now()); known {
				return Passing, wait, desc
			}
		}
		return Passing, 0, desc
	default:
		return BadClient, 0, desc
	}
}

// ErrGivenUp marks a revocation given up as its context ended once its
// request was sent: the provider may have revoked the token or not. One
// given up before (waiting for the renewal lock, or for the client secret)
// sent nothing.
var ErrGivenUp = errors.New("given up, answered or not")

// TimeoutError is a token request that its time-out ended before the
// token endpoint answered, told plainly: Go says "context deadline
// exceeded", which a person cannot act on.
type TimeoutError struct {
	After time.Duration // the time-out: the environment's timeout
	Err   error         // as Go told it, a URL in it masked (see NewTimeoutError)
	// Begun: the answer had begun (its status and some of its body came)
	// and had not ended by then.
	Begun bool
}

// NewTimeoutError is the TimeoutError of err, a request that the time-out
// after ended: net/http's *url.Error, which names the endpoint's URL, has
// the URL masked (httpx.MaskURLError), as a key in its query would show
// to a program printing the error's chain.
func NewTimeoutError(after time.Duration, err error) *TimeoutError {
	return &TimeoutError{After: after, Err: httpx.MaskURLError(err)}
}

func (e *TimeoutError) Error() string {
	if e.Begun {
		return fmt.Sprintf("began to answer and did not finish within %s (timeout)", e.After)
	}
	return fmt.Sprintf("did not answer within %s (timeout)", e.After)
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// TimedOut is err, the failure of a request bounded by after (a client's
// Timeout, or a context made from work with that timeout), as a
// *TimeoutError when that time-out ended it; a failure of another kind,
// or one where work itself ended (its caller gave up, or its own deadline
// came), is err as it was.
func TimedOut(work context.Context, after time.Duration, err error) error {
	var late interface{ Timeout() bool }
	if errors.As(err, &late) && late.Timeout() && work.Err() == nil {
		return NewTimeoutError(after, err)
	}
	return err
}

// NotThere reports whether err is an answer that no endpoint gives, that
// of a URL where none is: a redirect (see RedirectError), or a 404 or 405
// that is no web page (those are a gateway's, and retried) and carries no
// OAuth error code. A mistyped token URL is answered so, by a router
// ("404 page not found", or a redirect to the path cleaned of a double
// slash), a framework ({"error":"Not Found"}) or a server that knows no
// such realm.
func NotThere(err error) bool {
	var redirect *RedirectError
	if errors.As(err, &redirect) {
		return true
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return false
	}
	if s := re.Response.StatusCode; s != http.StatusNotFound && s != http.StatusMethodNotAllowed {
		return false
	}
	known := slices.Contains(oauthErrors, re.ErrorCode) || slices.Contains(badGrant, re.ErrorCode) || re.ErrorCode == "incorrect_client_credentials"
	return !known && !isHTML(contentTypeOf(re.Response), strings.TrimSpace(string(re.Body)))
}

// oauthErrors are the error codes of RFC 6749 §5.2 and those added since
// (RFC 8628, RFC 8707, OpenID Connect), by which an endpoint that is there
// refuses a request.
var oauthErrors = []string{"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope",
	"authorization_pending", "slow_down", "access_denied", "expired_token", "invalid_target", "interaction_required", "login_required", "consent_required",
	"temporarily_unavailable", "server_error", "unsupported_token_type"}

// contentTypeOf is resp's Content-Type; "" without resp.
func contentTypeOf(resp *http.Response) string {
	if resp == nil {
		return ""
	}
	return resp.Header.Get("Content-Type")
}

// isHTML tells whether an answer is a web page: markup, or nothing
// labelled text/html. A line of text is no page whatever its label: Rails,
// FreeAgent's, labels its "HTTP Basic: Access denied." text/html, and that
// is the token endpoint rejecting the client.
func isHTML(contentType, body string) bool {
	if strings.HasPrefix(body, "<") {
		return true
	}
	return body == "" && strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "text/html")
}

// unreadable says what keeps body, an error answer's with no error code
// read from it, from being read: "malformed JSON" (labelled JSON, or an
// object or array by its first byte), or "control characters" (other than
// white space, which no provider writes on purpose); "" when nothing does.
func unreadable(contentType, body string) string {
	t, _, _ := mime.ParseMediaType(contentType)
	looksJSON := t == "application/json" || strings.HasSuffix(t, "+json") || strings.HasPrefix(body, "{") || strings.HasPrefix(body, "[")
	switch {
	case looksJSON && body != "" && !json.Valid([]byte(body)):
		return "malformed JSON"
	case strings.ContainsFunc(body, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }):
		return "control characters"
	}
	return ""
}

// badGrant are the errors by which a provider refuses the refresh token,
// code or device code itself: invalid_grant, and GitHub's names for it.
var badGrant = []string{"invalid_grant", "bad_refresh_token", "bad_verification_code", "incorrect_device_code"}

// personNeeded are the errors by which a provider says that a person must
// sign in again before it issues tokens: OpenID Connect's, which Microsoft
// also answers a refresh with (multi-factor authentication, consent, a
// conditional-access policy).
var personNeeded = []string{"interaction_required", "login_required", "consent_required"}

// busy are the errors by which a provider says it cannot answer now
// (Microsoft lists temporarily_unavailable among its token endpoint's
// answers): not a refusal, whatever 4xx status comes with them, so the
// request is tried again.
var busy = []string{"temporarily_unavailable", "server_error"}

// RedirectError is a token endpoint's answer redirecting elsewhere. It is
// never followed: on 307 and 308 Go re-sends a POST's body, which holds the
// refresh token or code and maybe the client's credentials, to wherever the
// provider (or whoever answers for it) points, in clear text if it says
// http. Only the configured endpoint is sent them.
type RedirectError struct {
	Status int
	To     string // where it pointed, without user, query or fragment
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("HTTP %d redirecting to %s, which freshtoken does not follow, as it would send your tokens there; if that is the provider's endpoint, set it in the configuration (token_url, revocation_url)", e.Status, e.To)
}

// refuseRedirect is the token client's CheckRedirect.
func refuseRedirect(req *http.Request, _ []*http.Request) error {
	e := &RedirectError{To: redact.OneLine((&url.URL{Scheme: req.URL.Scheme, Host: req.URL.Host, Path: req.URL.Path}).String(), 200)}
	if req.Response != nil {
		e.Status = req.Response.StatusCode
	}
	return e
}

// retryAfter is the wait a 429 asks for: a minute when it does not say.
func retryAfter(resp *http.Response) time.Duration {
	if resp != nil {
		if wait, known := httpx.RetryAfter(resp.Header, time.Now()); known {
			return wait
		}
	}
	return time.Minute
}

func clip(s string) string { return redact.OneLine(s, 120) }

// quoted is words a provider wrote (an error description, a body) on one
// line, in quotes, with quotes in them escaped: where they end is plain, so
// that they cannot pass for freshtoken's own words around them, such as a
// next step to take, in a message or a notice.
func quoted(s string) string { return strconv.Quote(clip(s)) }

// Answer is an OAuth error (code and description, from a token endpoint's
// answer or an authorization endpoint's redirect) as messages show it: the
// code as it is, or quoted when it is none, and the description quoted.
func Answer(code, description string) string {
	if description == "" {
		return errorCode(code)
	}
	return errorCode(code) + ": " + quoted(description)
}

// errorCode is an OAuth error code on one line, as it is (invalid_grant),
// or quoted when it holds anything else.
func errorCode(s string) string {
	s = redact.OneLine(s, 60)
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-.:", r)) {
			return strconv.Quote(s)
		}
	}
	return s
}

// Refusal is what a token endpoint's refusal that no retry changes
// (Classify's BadClient) is about, by its error code (RFC 6749 §5.2):
// the words and next step told for it follow from it, never "rejected the
// client" for a code that does not say so.
type Refusal int

const (
	// RefusedClient: invalid_client, unauthorized_client,
	// unsupported_grant_type, GitHub's incorrect_client_credentials, or no
	// code at all (FreeAgent's "HTTP Basic: Access denied."): the client's
	// credentials or registration.
	RefusedClient Refusal = iota
	// RefusedScope: invalid_scope, the scope asked for.
	RefusedScope
	// RefusedTarget: invalid_target (RFC 8707), the resource asked for.
	RefusedTarget
	// RefusedRequest: invalid_request, a request the endpoint reads as
	// malformed: a parameter missing, repeated or not taken, or the
	// client authenticated in more than one way.
	RefusedRequest
	// RefusedUnknown: any other code, the provider's own or one OAuth
	// defines for another step (access_denied, expired_token), which only
	// its words explain.
	RefusedUnknown
)

// ErrOwnRefusal marks the engine's error for a RefusedUnknown refusal of
// a renewal, whose message quotes the provider's words: neither the
// client's credentials nor the configuration are known to be at fault.
var ErrOwnRefusal = errors.New("refused with an error of the provider's own")

// ErrOwnRevocationRefusal marks the engine's error for a revocation (a
// log-out's) refused so: the refusal of a log-out, not of a renewal, whose
// message quotes the provider's words. It wraps ErrOwnRefusal.
var ErrOwnRevocationRefusal = fmt.Errorf("a revocation %w", ErrOwnRefusal)

// Refused says what a refusal r of step ("renewal", "log-in"), which the
// endpoint answered desc (Classify's), is about, and the setting to check,
// as the words after the endpoint: "refused the scope asked for (…);
// check scopes". The client's credentials (RefusedClient) it names not:
// "rejected the client (…)", whose settings the command line names.
func Refused(r Refusal, desc, step string) string {
	switch r {
	case RefusedScope:
		return fmt.Sprintf("refused the scope asked for (%s); check scopes", desc)
	case RefusedTarget:
		return fmt.Sprintf("refused the resource asked for (%s); check resource", desc)
	case RefusedRequest:
		return fmt.Sprintf("refused the %s request as malformed (%s); check client_auth, token_params, audience and resource", step, desc)
	case RefusedUnknown:
		return fmt.Sprintf("refused the %s with an error of its own, which only its words explain (%s); check what they name", step, desc)
	}
	return fmt.Sprintf("rejected the client (%s)", desc)
}

// RefusalOf sorts err, a refusal Classify calls BadClient.
func RefusalOf(err error) Refusal {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return RefusedClient
	}
	switch re.ErrorCode {
	case "invalid_scope":
		return RefusedScope
	case "invalid_target":
		return RefusedTarget
	case "invalid_request":
		return RefusedRequest
	case "", "invalid_client", "unauthorized_client", "unsupported_grant_type", "incorrect_client_credentials":
		return RefusedClient
	}
	return RefusedUnknown
}
