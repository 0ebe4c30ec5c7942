package devprovider

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// pollTolerance is how much sooner than the interval a device poll may
// come before it is answered slow_down: the client waits the interval after
// the previous answer, so only a client ignoring it comes sooner.
const pollTolerance = 100 * time.Millisecond

// deviceAuth is an RFC 8628 device authorisation waiting for the user.
type deviceAuth struct {
	userCode string
	expires  time.Time
	interval time.Duration // each slow_down adds 5 s
	lastPoll time.Time
	decision string // "" while pending, "approve" or "deny"
}

// handleDeviceAuthorization is POST /v2/device_authorization (RFC 8628
// §3.1): the client authenticates as at the token endpoint and gets a
// device code to poll with and a user code for the person to enter.
func (p *Provider) handleDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, invalidRequest("the body is not a form: "+err.Error()))
		return
	}
	if _, problem := p.authenticateClient(r); problem != "" {
		writeJSON(w, http.StatusUnauthorized, &oauthError{Code: "invalid_client", Description: problem})
		return
	}
	p.mu.Lock()
	now := p.opts.Clock()
	code := p.newSecret("dev_dc_")
	user := newUserCode()
	p.devices[code] = &deviceAuth{userCode: user, expires: now.Add(p.opts.DeviceCodeTTL), interval: p.opts.DeviceInterval}
	p.userCodes[user] = code
	p.stats.DeviceAuthorizations++
	p.mu.Unlock()
	p.opts.Logger.Info("device authorization issued", "user_code", user)
	verify := baseURL(r) + "/v2/device"
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               code,
		"user_code":                 user,
		"verification_uri":          verify,
		"verification_uri_complete": verify + "?user_code=" + url.QueryEscape(user),
		"expires_in":                int(p.opts.DeviceCodeTTL / time.Second),
		"interval":                  int(p.opts.DeviceInterval / time.Second),
	})
}

// userCodeAlphabet has no vowels and no look-alikes, as RFC 8628 §6.1 advises.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// newUserCode is eight letters, shown as XXXX-XXXX.
func newUserCode() string {
	b := make([]byte, 8)
	rand.Read(b)
	for i := range b {
		b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)]
	}
	return string(b[:4]) + "-" + string(b[4:])
}

// handleDevicePage is GET /v2/device: the verification page, where the
// person enters the user code (filled in from ?user_code=) and approves or
// denies.
func (p *Provider) handleDevicePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	data := struct{ UserCode, Message string }{UserCode: r.URL.Query().Get("user_code")}
	p.writePage(w, http.StatusOK, "device", data)
}

// handleDeviceDecision is POST /v2/device, sent by the verification page
// with user_code and decision=approve or deny.
func (p *Provider) handleDeviceDecision(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read: "+err.Error(), http.StatusBadRequest)
		return
	}
	approve := r.PostForm.Get("decision") == "approve"
	msg := "Access denied. You can close this page."
	if approve {
		msg = "Approved. You can close this page and return to your device."
	}
	status := http.StatusOK
	if err := p.DecideDevice(r.PostForm.Get("user_code"), approve); err != nil {
		msg, status = "Nothing was decided: "+err.Error()+".", http.StatusBadRequest
	}
	data := struct{ UserCode, Message string }{Message: msg}
	p.writePage(w, status, "device", data)
}

// DecideDevice approves or denies the device authorisation with userCode
// (case and a missing dash do not matter), as the verification page does.
func (p *Provider) DecideDevice(userCode string, approve bool) error {
	user := strings.ToUpper(strings.TrimSpace(userCode))
	if len(user) == 8 && !strings.Contains(user, "-") {
		user = user[:4] + "-" + user[4:]
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.devices[p.userCodes[user]]
	switch {
	case d == nil:
		return fmt.Errorf("no code %q is waiting; check it and try again", userCode)
	case !p.opts.Clock().Before(d.expires):
		return errors.New("the code has expired; start again on your device")
	case d.decision != "":
		return errors.New("the code has been used already")
	}
	d.decision = "deny"
	if approve {
		d.decision = "approve"
	}
	p.opts.Logger.Info("device authorization decided", "user_code", user, "decision", d.decision)
	return nil
}

// ExpireDevices makes every device code issued so far expire now: polls
// with it are answered expired_token, and its user code is refused.
func (p *Provider) ExpireDevices() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.opts.Clock()
	for _, d := range p.devices {
		d.expires = now
	}
	p.opts.Logger.Info("device codes expired", "codes", len(p.devices))
}

// deviceGrant runs the device_code grant (RFC 8628 §3.4, §3.5). The caller
// holds p.mu.
func (p *Provider) deviceGrant(form url.Values) (tokenResponse, error) {
	now := p.opts.Clock()
	code := form.Get("device_code")
	if code == "" {
		return tokenResponse{}, invalidRequest("device_code is missing")
	}
	d := p.devices[code]
	deviceError := func(c string) error { return &oauthError{status: http.StatusBadRequest, Code: c} }
	switch {
	case d == nil:
		return tokenResponse{}, invalidGrant("unknown or already used device code")
	case !now.Before(d.expires):
		return tokenResponse{}, deviceError("expired_token")
	case !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < d.interval-pollTolerance:
		d.interval += 5 * time.Second
		d.lastPoll = now
		p.stats.SlowDowns++
		return tokenResponse{}, deviceError("slow_down")
	}
	d.lastPoll = now
	switch d.decision {
	case "":
		return tokenResponse{}, deviceError("authorization_pending")
	case "deny":
		p.forgetDevice(code)
		return tokenResponse{}, deviceError("access_denied")
	}
	p.forgetDevice(code)
	p.grantSeq++
	g := &grant{id: fmt.Sprintf("g%d", p.grantSeq)}
	p.stats.DeviceLogins++
	p.opts.Logger.Info("device code exchanged: new grant", "grant", g.id)
	return p.issue(g, now), nil
}

// slowDown makes the device code a slow_down fault answered poll more
// slowly from now on, as the real answer does. The caller holds p.mu.
func (p *Provider) slowDown(code string) {
	if d := p.devices[code]; d != nil {
		d.interval += 5 * time.Second
		d.lastPoll = p.opts.Clock()
		p.stats.SlowDowns++
	}
}

// forgetDevice ends a device authorisation once answered for good. The
// caller holds p.mu.
func (p *Provider) forgetDevice(code string) {
	if d := p.devices[code]; d != nil {
		delete(p.userCodes, d.userCode)
		delete(p.devices, code)
	}
}

// clientGrant runs the client_credentials grant: an access token and no
// refresh token, under one grant per provider that its rate limits count.
// The caller holds p.mu.
func (p *Provider) clientGrant() (tokenResponse, error) {
	now := p.opts.Clock()
	if p.client == nil {
		p.client = &grant{id: "client"}
	}
	if !p.client.refreshes.allow(now, p.opts.RefreshesPerMinute) {
		p.stats.RateLimited++
		p.opts.Logger.Info("client credentials rate limited", "limit_per_minute", p.opts.RefreshesPerMinute)
		return tokenResponse{}, errRefreshRateLimited
	}
	access := p.newSecret("dev_at_")
	p.access[access] = &accessToken{grant: p.client, expires: now.Add(p.opts.AccessTTL)}
	p.stats.ClientCredentials++
	p.opts.Logger.Info("client credentials: access token issued")
	return tokenResponse{AccessToken: access, TokenType: "bearer", ExpiresIn: int(p.opts.AccessTTL / time.Second)}, nil
}
