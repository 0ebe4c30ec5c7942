package devprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Fault is a way for the token endpoint to fail, injected with Provider.Fault.
type Fault string

const (
	Fault5xx           Fault = "5xx"            // 503 with a plain body
	FaultHTML          Fault = "html"           // 200 text/html "<html>maintenance</html>"
	FaultMalformedJSON Fault = "malformed"      // 200 application/json with truncated JSON
	FaultHang          Fault = "hang"           // no answer until the client gives up or the provider is closed
	FaultInvalidGrant  Fault = "invalid_grant"  // 400 {"error":"invalid_grant"}
	FaultInvalidClient Fault = "invalid_client" // 401 {"error":"invalid_client"}
	// FaultEcho is 400 {"error":"invalid_request"} whose error_description
	// quotes the request it refused, Authorization header and form body, as
	// some providers do: a test that secrets never show however they are
	// encoded.
	FaultEcho Fault = "echo"
	// FaultEchoText is 500 with a plain-text body quoting the request's
	// refresh token, client secret and Authorization header, decoded, in
	// JSON (where & is \u0026), as a provider's debugging page might.
	FaultEchoText Fault = "echo_text"
	// FaultSlowDown is 400 {"error":"slow_down"}, as a device-grant poll
	// that comes too often is answered; the device code it names must then
	// be polled 5 s more slowly, or it is answered slow_down again.
	FaultSlowDown Fault = "slow_down"
	// FaultUnprintableToken is 200 with an access token that holds a
	// terminal escape sequence (an OSC 52 clipboard write), as a hostile
	// provider might send, and the refresh token presented, so the grant
	// goes on.
	FaultUnprintableToken Fault = "unprintable_token"
	// FaultNotFound is 404 with Go's plain-text "404 page not found", as
	// a URL where no endpoint is answers: the token endpoint gone from
	// where the discovery document names it.
	FaultNotFound Fault = "not_found"
	// FaultAccountLocked is 400 {"error":"account_locked", ...}: a refusal
	// with an error code of the provider's own, not one OAuth defines.
	FaultAccountLocked Fault = "account_locked"
)

// faultKinds lists every Fault, for validation and error messages.
var faultKinds = []Fault{Fault5xx, FaultHTML, FaultMalformedJSON, FaultHang, FaultInvalidGrant, FaultInvalidClient, FaultEcho, FaultEchoText, FaultSlowDown, FaultUnprintableToken, FaultNotFound, FaultAccountLocked}

// pendingFault is a fault still to be applied to the next n token requests.
type pendingFault struct {
	kind Fault
	n    int
}

// Fault makes the next n token-endpoint requests fail as kind, before anything else
// about them is looked at: a faulted request issues nothing and rotates nothing.
// Faults queue: after n requests failed as kind, the fault injected next applies.
// n <= 0 injects nothing. Fault panics on an unknown kind.
func (p *Provider) Fault(kind Fault, n int) {
	if !kind.valid() {
		panic(fmt.Sprintf("devprovider: unknown fault kind %q", kind))
	}
	if n <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, pendingFault{kind: kind, n: n})
	p.opts.Logger.Info("fault injected", "kind", kind, "n", n)
}

func (k Fault) valid() bool { return slices.Contains(faultKinds, k) }

// takeFault returns the fault the current token request must fail with, if any, and
// uses it up. The caller holds p.mu.
func (p *Provider) takeFault() (Fault, bool) {
	if len(p.faults) == 0 {
		return "", false
	}
	f := &p.faults[0]
	f.n--
	kind := f.kind
	if f.n == 0 {
		p.faults = p.faults[1:]
	}
	return kind, true
}

// writeFault answers r the way kind fails.
func (p *Provider) writeFault(w http.ResponseWriter, r *http.Request, kind Fault) {
	switch kind {
	case Fault5xx:
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
	case FaultHTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<html>maintenance</html>")
	case FaultMalformedJSON:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"dev_at_trunc`)
	case FaultHang:
		p.hold(r.Context(), nil)
		http.Error(w, "devprovider: closed", http.StatusServiceUnavailable)
	case FaultInvalidGrant:
		writeJSON(w, http.StatusBadRequest, oauthError{Code: "invalid_grant"})
	case FaultInvalidClient:
		writeJSON(w, http.StatusUnauthorized, oauthError{Code: "invalid_client"})
	case FaultEcho:
		writeJSON(w, http.StatusBadRequest, oauthError{Code: "invalid_request",
			Description: "could not process Authorization: " + r.Header.Get("Authorization") + " with body " + r.PostForm.Encode()})
	case FaultEchoText:
		quoted, _ := json.Marshal(struct {
			RefreshToken  string `json:"refresh_token"`
			ClientSecret  string `json:"client_secret"`
			Authorization string `json:"authorization"`
		}{r.PostForm.Get("refresh_token"), r.PostForm.Get("client_secret"), r.Header.Get("Authorization")})
		http.Error(w, "could not process "+string(quoted), http.StatusInternalServerError)
	case FaultUnprintableToken:
		writeJSON(w, http.StatusOK, map[string]any{"access_token": "dev_at_\x1b]52;c;cm0gLXJmIH4K\x07", "token_type": "Bearer",
			"expires_in": 3600, "refresh_token": r.PostForm.Get("refresh_token")})
	case FaultNotFound:
		http.NotFound(w, r)
	case FaultAccountLocked:
		writeJSON(w, http.StatusBadRequest, oauthError{Code: "account_locked", Description: "the account is locked: ask its owner to unlock it"})
	case FaultSlowDown:
		p.mu.Lock()
		p.slowDown(r.PostForm.Get("device_code"))
		p.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, oauthError{Code: "slow_down"})
	}
}

// hold waits until timeout fires (never, if it is nil), ctx is done or the provider
// is closed. It reports whether the timeout fired.
func (p *Provider) hold(ctx context.Context, timeout <-chan time.Time) bool {
	select {
	case <-timeout:
		return true
	case <-ctx.Done():
	case <-p.closed:
	}
	return false
}
