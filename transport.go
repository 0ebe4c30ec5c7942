package freshtoken

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/redact"
)

// Transport is an http.RoundTripper that authorises requests with the
// Source's token. It sends the token only to the API's host, so a redirect
// elsewhere never carries it, nor a request whose Host header names
// another host (as a reverse proxy that keeps its client's gives). A
// redirect from an API elsewhere to an address of this machine is not
// sent at all, whatever the client's CheckRedirect says: it fails with
// ErrRedirectToThisMachine (a freshtoken proxy there would add its own
// token). Nor a redirect from there to another origin whose host leads to
// this machine (a name in /etc/hosts, or one whose name server answers
// 127.0.0.1), whether or not anything listens there: see
// ErrRedirectToThisMachine. On a 401 it renews once and, when the request body can be replayed, retries
// once, unless the 401's Bearer challenge says insufficient_scope and no
// other error (RFC 6750 §3.1: the token is good, and may not do this), which
// is passed on as it came; if that renewal fails, its error (such as ErrLoginRequired) is
// returned instead of the 401. A 401 for a token that a 401's renewal
// brought is passed on without another renewal for 15 s, and each further
// such renewal in a row waits twice as long, up to an hour, so an API that
// keeps refusing cannot cause a refresh storm. A request's deadline, or an
// http.Client's Timeout, bounds its wait for a renewal as TokenContext's
// context does: a token request already sent is seen through and stored.
type Transport struct {
	Source *Source
	// Base carries the requests; nil: the transport the Source's
	// Options.HTTPClient had when New was called (its proxy and trusted
	// certificate authorities), else http.DefaultTransport.
	Base http.RoundTripper
	// IdleTimeout, when above zero, ends an answer whose body the server
	// stops sending: a Read of the body that waits this long for the next
	// bytes closes the connection and fails with an error whose Timeout
	// method reports true (a net.Error). Only the waits for the server
	// count, not a reader slow to ask for more. Zero, as in Client, waits
	// as long as the server takes, so that a stream may pause: a request's
	// context or an http.Client's Timeout then bounds the whole answer.
	// The body of a 101 Switching Protocols, the connection itself, is
	// never bounded.
	IdleTimeout time.Duration
}

// Client returns an *http.Client whose Transport is a Transport with no
// Base: it sends over the transport Options.HTTPClient had when New was
// called, else http.DefaultTransport. It follows redirects as net/http's
// default client does, but not from an API elsewhere into this machine
// (see Transport).
func (s *Source) Client() *http.Client {
	return &http.Client{Transport: &Transport{Source: s}}
}

func (t *Transport) base() http.RoundTripper {
	switch {
	case t.Base != nil:
		return t.Base
	case t.Source.apiTransport != nil:
		return t.Source.apiTransport
	}
	return http.DefaultTransport
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	src := t.Source
	if src.unmade() {
		closeBody(req)
		return nil, errors.New("freshtoken: Transport's Source is nil or the zero Source, so nothing was sent; set it to a Source made by freshtoken.New")
	}
	if req.URL == nil {
		closeBody(req)
		return nil, errors.New("freshtoken: the request has no URL")
	}
	if redirectedHome(req) {
		closeBody(req)
		return nil, ErrRedirectToThisMachine
	}
	src.closeAfterSleep(&src.apiWake, t.base())
	if !src.ownsHost(req) {
		return t.bounded(t.carry(req))
	}
	ctx := req.Context()
	tok, err := src.TokenContext(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.send(req, req.Body, tok.Type()+" "+tok.AccessToken)
	for found := false; ; found = true {
		if err != nil || resp.StatusCode != http.StatusUnauthorized {
			return t.bounded(resp, err)
		}
		if httpx.InsufficientScope(resp.Header.Values("WWW-Authenticate")...) {
			// The token is good, and may not do this: a renewal brings one
			// of the same scopes, and would spend the refresh token for
			// nothing.
			src.log.Debug("401 from the API for insufficient scope; passed on without renewing", "path", req.URL.Path)
			return t.bounded(resp, nil)
		}
		body, replayable := replayBody(req)
		src.log.Debug("401 from the API; renewing once", "path", req.URL.Path, "retry", replayable)
		renewed, asked, rerr := src.renewRejected(ctx, tok.AccessToken)
		if errors.Is(rerr, errJustRenewed) || rerr == nil && !replayable {
			// Nothing to retry with: the token is as new as it gets, or the body
			// is spent. The renewal still serves the caller's next request.
			closeReader(body)
			return t.bounded(resp, nil)
		}
		// Closed unread: nothing bounds the body of an API's answer, and one
		// that stalls would hold the retry for ever.
		resp.Body.Close()
		if rerr != nil {
			// The renewal's error (log-in needed, provider down) says more than
			// the 401 it was meant to cure.
			closeReader(body)
			return nil, rerr
		}
		resp, err = t.send(req, body, renewed.Type()+" "+renewed.AccessToken)
		if asked || found {
			return t.bounded(resp, err)
		}
		// The token retried with was taken as found, not renewed for this
		// 401: another process's renewal, which this one had not yet seen.
		// Refused too (all the user's tokens revoked), it gets the one
		// renewal the 401 is owed.
		tok = renewed
	}
}

// CloseIdleConnections closes the idle connections of the transport that
// carries the requests (Base, or the one it stands for), as
// http.Client.CloseIdleConnections asks of it.
func (t *Transport) CloseIdleConnections() {
	if t.Source.unmade() && t.Base == nil {
		return
	}
	closeIdle(t.base())
}

// bounded gives resp's body the IdleTimeout, if there is one.
func (t *Transport) bounded(resp *http.Response, err error) (*http.Response, error) {
	if err == nil && t.IdleTimeout > 0 && resp.StatusCode != http.StatusSwitchingProtocols && resp.Body != http.NoBody {
		resp.Body = httpx.IdleLimit(resp.Body, t.IdleTimeout)
	}
	return resp, err
}

// carry sends req over the base transport, and makes its answer whole as
// http.Client does: a response without a Body, as RoundTrippers written
// for tests return, gets an empty one, and no response with no error is an
// error.
func (t *Transport) carry(req *http.Request) (*http.Response, error) {
	base := t.carrier(req)
	resp, err := base.RoundTrip(req)
	switch {
	case err != nil:
	case resp == nil:
		err = fmt.Errorf("freshtoken: the base RoundTripper (%T) returned no response and no error", base)
	case resp.Body == nil:
		resp.Body = http.NoBody
	}
	return resp, err
}

// send copies req with body and auth, so the caller's request is untouched.
func (t *Transport) send(req *http.Request, body io.ReadCloser, auth string) (*http.Response, error) {
	// A shallow copy with its own Header is all the Authorization needs:
	// nothing else of req is changed, here or by the base RoundTripper.
	r := req.WithContext(req.Context())
	r.Header = req.Header.Clone()
	if r.Header == nil { // a request made by hand, not by http.NewRequest
		r.Header = http.Header{}
	}
	r.Body = body
	r.Header.Set("Authorization", auth)
	log := t.Source.log
	debug := log.Enabled(context.Background(), slog.LevelDebug)
	var start time.Time
	if debug {
		start = time.Now()
	}
	resp, err := t.carry(r)
	if debug {
		if err != nil {
			log.Debug("api request failed", "method", r.Method, "url", redactURL(r.URL), "duration", time.Since(start).Round(time.Microsecond), "error", err.Error())
		} else {
			log.Debug("api request", "method", r.Method, "url", redactURL(r.URL), "status", resp.StatusCode, "duration", time.Since(start).Round(time.Microsecond))
		}
	}
	return resp, err
}

// ownsHost reports whether req is for the API's host, however either
// spells it: in any case, with or without the scheme's default port. With
// no API URL configured, the API is the host of the request the program
// made, and not another host that a redirect from there leads to. A
// request whose Host header names another host than its URL is for that
// other host, wherever it is sent: a server or CDN serving many hosts at
// one address hands it to that host.
func (s *Source) ownsHost(req *http.Request) bool {
	if req.Host != "" && !httpx.SameOrigin(req.URL, &url.URL{Scheme: req.URL.Scheme, Host: req.Host}) {
		return false
	}
	if s.set.APIURL != "" {
		return httpx.SameOrigin(s.api, req.URL)
	}
	return httpx.SameOrigin(firstRequest(req).URL, req.URL)
}

// redirectedHome reports whether req is a redirect from elsewhere (see
// fromElsewhere) to an address of this machine, however spelt.
func redirectedHome(req *http.Request) bool {
	return httpx.ReachesThisMachine(req.URL.Hostname()) && fromElsewhere(req)
}

// fromElsewhere reports whether req is a redirect, made by an
// http.Client, of a request to a host that is not an address of this
// machine by its spelling (an api_url on loopback redirects within this
// machine). A host name is elsewhere whatever its name server answers: a
// hostile API's name may answer its own address to the connection and
// 127.0.0.1 to a lookup.
func fromElsewhere(req *http.Request) bool {
	return req.Response != nil && !httpx.ReachesThisMachine(firstRequest(req).URL.Hostname())
}

// carrier is the base transport for req, or for a redirect from elsewhere
// to another origin (a host name that may lead to this machine), the base
// within httpx.AwayFromHere, which refuses to send it to this machine.
func (t *Transport) carrier(req *http.Request) http.RoundTripper {
	if !httpx.SameOrigin(firstRequest(req).URL, req.URL) && fromElsewhere(req) {
		return httpx.AwayFromHere{Base: t.base(), Refused: ErrRedirectToThisMachine}
	}
	return t.base()
}

// firstRequest is the request the program made, of which req is a redirect
// (an http.Client notes each redirect's answer in Response), or req.
func firstRequest(req *http.Request) *http.Request {
	for req.Response != nil && req.Response.Request != nil {
		req = req.Response.Request
	}
	return req
}

// replayBody returns a fresh copy of the request body for a retry.
func replayBody(req *http.Request) (io.ReadCloser, bool) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	b, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	return b, true
}

func closeBody(req *http.Request) { closeReader(req.Body) }

func closeReader(r io.ReadCloser) {
	if r != nil {
		r.Close()
	}
}

// redactURL drops any user information, and masks the query's values
// named as secrets (see redact.MaskQuery); the log handler masks known secrets
// elsewhere in it.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = redact.MaskQuery(c.RawQuery)
	return c.String()
}

// failing is a RoundTripper that sends nothing: each request fails with err.
type failing struct{ err error }

func (f failing) RoundTrip(req *http.Request) (*http.Response, error) {
	closeBody(req)
	return nil, f.err
}
