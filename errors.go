package freshtoken

import (
	"errors"
	"time"

	"github.com/freshtoken/freshtoken/internal/redact"
)

// Sentinel errors for the outcomes callers branch on. Every error the engine
// returns for them is an *Error wrapping one of these.
var (
	// ErrLoginRequired means there are no usable tokens: none were ever
	// stored, or the provider refused the refresh token (invalid_grant).
	ErrLoginRequired = errors.New("log-in needed")
	// ErrUnreachable means the token endpoint or a shared store could not
	// be reached, kept failing (5xx, HTML, malformed JSON, time-outs) after
	// retries, or kept rate limiting renewals. A Transport passes on the
	// API's own failures as net/http's errors, as it would without
	// freshtoken (the command line reports them with this sentinel).
	ErrUnreachable = errors.New("provider unreachable")
	// ErrClientRejected means the provider refused the client credentials or
	// the request's shape (invalid_client and the like), or that no
	// endpoint answers at the configured URL (a 404 or a redirect, which
	// the message tells apart): a configuration problem that retrying
	// cannot fix. A refusal with an error code of the provider's own,
	// which retrying cannot fix either, is one too; its message quotes the
	// provider's words, which say what to do.
	ErrClientRejected = errors.New("client rejected")
	// ErrLoginRefused means a log-in on another device (the device grant)
	// did not complete: it was denied, or its code expired unapproved.
	ErrLoginRefused = errors.New("log-in refused")
	// ErrUnusableToken means the provider issued an access token (or token
	// type) holding control or non-ASCII characters, which no HTTP header
	// can carry, or kept answering a renewal with a new refresh token and
	// no access token (each stored, and spent by the next try). It is
	// the Err of an *Error of kind ErrUnreachable: the grant is kept, and a
	// renewal may bring a usable token.
	ErrUnusableToken = errors.New("unusable access token")
	// ErrRateLimited means the token endpoint answered 429 Too Many
	// Requests and renewals rest as long as it asked (an hour at most),
	// unless forced. It is the Err of an *Error of kind ErrUnreachable,
	// whose RetryAt says when the rest ends.
	ErrRateLimited = errors.New("rate limited by the provider")
	// ErrClearText means an endpoint that would be sent tokens is plain
	// http to another machine, where anyone on the way could read them:
	// nothing was sent, and nothing stored changed. The endpoint is the
	// configuration's to fix. A device log-in whose verification URI (the
	// page the person types the user code into) is plain http to another
	// machine is refused with it too, before anything of it is shown.
	ErrClearText = errors.New("endpoint in clear text")
	// ErrGrantRevoked is wrapped, beside the context's error, by a
	// revocation given up as its context ended after the provider had
	// revoked the refresh token: the grant has ended at the provider,
	// though the access token may live on until it expires.
	ErrGrantRevoked = errors.New("grant revoked")
)

// ErrRedirectToThisMachine is the error, wrapped in net/http's *url.Error,
// of a request a Transport did not send: a redirect from an API elsewhere
// to an address of this machine (a loopback one, 0.0.0.0, or one of its
// network addresses, however spelled), or to a host name that leads to
// one. A freshtoken proxy there would send it on with another
// environment's token: a sandbox's POST made in production. An API named
// by an address of this machine (or localhost) may redirect within it; one
// named by another host name is elsewhere, whatever its name server
// answers (a hostile API's may answer 127.0.0.1).
//
// A name is judged by the address the redirect's connection reaches
// where freshtoken dials: the Transport's base is an *http.Transport with
// no dial function of its own (or http.DefaultTransport itself), and the
// request goes through no proxy; the command line's is looked up first
// as well, its own dialer refusing still. A base with a
// dial function of the program's (DialContext, Dial, DialTLSContext,
// DialTLS), which may tunnel through this machine (a SOCKS tunnel at
// 127.0.0.1:1080), a proxy (HTTPS_PROXY), or another RoundTripper has the
// name looked up first instead, which a name server that changes its
// answer can outwit.
var ErrRedirectToThisMachine = errors.New("freshtoken: an API elsewhere redirected the request to an address of this machine, which is not followed: a freshtoken proxy there would send it on with another environment's token")

// Error is a failure in one environment, phrased for the person who has to
// act on it: what happened, and what to do next.
type Error struct {
	Env string
	// Kind is a sentinel of this package, or of package store (such as
	// store.ErrCorrupt) for a store's failure, which is then Err; a
	// failure of a store of your own that wraps none of those is its own
	// Kind.
	Kind error
	Msg  string
	// Err is the failure underneath, when Msg tells of one: a shared
	// store's, which says whether it was unreachable (store.ErrUnreachable).
	Err error
	// RetryAt, when set, is when renewals, resting after one that gave up
	// (the provider kept failing or asked to wait), ask the token endpoint
	// again: asking sooner gets this error again without a token request.
	RetryAt time.Time
}

// Error is the message, with every secret the process knows of masked
// (a client secret, the tokens, a key in an endpoint URL's query, which
// New registers) however a provider or a URL quoted it.
func (e *Error) Error() string { return redact.Scrub(e.Env + ": " + e.Msg) }

// Unwrap returns the sentinel and the failure underneath, for errors.Is and
// errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}
