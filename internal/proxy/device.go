package proxy

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/freshtoken/freshtoken/config"
)

// deviceLogin is a device-grant log-in begun with the status page's Log in
// button: the page shows its URL and code until the person has approved or
// denied it at the provider, or the code has expired.
type deviceLogin struct {
	uri, complete, userCode string
	expires                 time.Time
}

// startDeviceLogin asks the provider for a user code for e, unless one
// shown already is still waiting, and polls for the person's answer in the
// background; the tokens go to the store, where the page finds them.
func (p *Proxy) startDeviceLogin(ctx context.Context, e *envProxy) error {
	if dl := e.device.Load(); dl != nil && p.now().Before(dl.expires) {
		return nil
	}
	if err := e.conf.MissingDeviceAuthURL(); err != nil {
		return err
	}
	d, err := e.src.StartDeviceLogin(ctx)
	if err != nil {
		return err
	}
	dl := &deviceLogin{uri: d.VerificationURI, complete: d.VerificationURIComplete, userCode: d.UserCode, expires: d.Expiry}
	e.device.Store(dl)
	p.log.Debug("device log-in started", "env", e.name, "verification_uri", dl.uri)
	go func() {
		err := d.Wait(context.Background(), nil) // it ends when the code expires
		e.device.CompareAndSwap(dl, nil)
		if err != nil {
			p.log.Warn("log-in failed", "env", e.name, "error", err.Error())
			e.fail(p.now(), err)
			return
		}
		e.succeed()
		p.log.Info("logged in", "env", e.name, "store", e.src.Location())
	}()
	return nil
}

// loginButton is what the Log in button does for e's grant: a device log-in
// shown on the page, nothing for client credentials, else the browser goes
// to the provider.
func (p *Proxy) loginButton(w http.ResponseWriter, r *http.Request, e *envProxy) (handled bool) {
	back := func(done string) {
		http.Redirect(w, r, "/?done="+done+"&env="+url.QueryEscape(e.name), http.StatusSeeOther)
	}
	switch e.conf.Grant {
	case config.GrantClientCredentials:
		back("login-not-needed")
	case config.GrantDeviceCode:
		if err := p.startDeviceLogin(r.Context(), e); err != nil {
			p.buttonFailed(w, r, e.name, "login-failed", err)
			return true
		}
		back("device-login")
	default:
		return false
	}
	return true
}
