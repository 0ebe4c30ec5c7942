package proxy

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/store"
)

// deviceLogin is a device-grant log-in begun with the status page's Log in
// button: the page shows its URL and code until the person has approved or
// denied it at the provider, or the code has expired.
type deviceLogin struct {
	uri, complete, userCode string
	expires                 time.Time
	began                   time.Time // when it was started
	// wait tells a log-in made another way since it began (see
	// envProxy.loggedInSince).
	wait store.LogInWait
}

// startDeviceLogin asks the provider for a user code for e, unless one
// shown already is still waiting, and polls for the person's answer in the
// background; the tokens go to the store, where the page finds them. A
// log-in completed meanwhile another way (`freshtoken login` in a
// terminal) ends it: the page stops showing its code, and the code's
// expiry is no failure. So does a change of the environment's
// configuration, which would have the old one's tokens stored over the
// new one's, or where no command finds them (see current), met at a poll
// or as the poll that brings the tokens stores them (see loginCheck), and
// so do tokens a newer freshtoken stores meanwhile, and another
// configuration's that over does not allow it to replace (see
// envProxy.storedSince).
func (p *Proxy) startDeviceLogin(ctx context.Context, e *envProxy, over replacing) error {
	e.starting.Lock()
	defer e.starting.Unlock()
	if dl := e.device.Load(); dl != nil && p.now().Before(dl.expires) {
		return nil
	}
	if err := e.conf.MissingDeviceAuthURL(); err != nil {
		return err
	}
	if _, err := e.loginEndpoints(ctx); err != nil {
		return err
	}
	if err := e.logInRoom(); err != nil {
		return err
	}
	began := p.now()
	held, err := e.src.Record(ctx)
	overNewer := errors.Is(err, store.ErrNewerFormat)
	wait := store.NewLogInWait(began, held, err)
	d, err := e.src.StartDeviceLogin(ctx)
	if err != nil {
		return err
	}
	dl := &deviceLogin{uri: d.VerificationURI, complete: d.VerificationURIComplete, userCode: d.UserCode, expires: d.Expiry, began: began, wait: wait}
	if err := p.logins.showDevice(e, dl); err != nil {
		return err
	}
	p.log.Debug("device log-in started", "env", e.name, "verification_uri", dl.uri)
	started := p.background.Go(func(stopping context.Context) {
		wctx, cancel := context.WithCancel(stopping) // else the wait ends when the code expires
		defer cancel()
		elsewhere := false
		// What ended it, since it began: a change of the environment's
		// configuration, or a newer freshtoken's tokens stored.
		var changed error
		cur := e
		d.Check = p.loginCheck(context.WithoutCancel(stopping), e, overNewer, over, &cur)
		err := d.Wait(wctx, func(freshtoken.DevicePoll) {
			if cur, changed = p.current(wctx, e); changed != nil {
				cancel()
			} else if rec, err := e.src.Record(wctx); err == nil && e.loggedInSince(rec, dl.wait) {
				elsewhere = true
				cancel()
			} else if changed = e.storedSince(wctx, overNewer, over); changed != nil {
				cancel()
			}
		})
		e.device.CompareAndSwap(dl, nil)
		if stopping.Err() != nil && errors.Is(err, context.Canceled) {
			p.log.Info("device log-in abandoned: the proxy is stopping", "env", e.name)
			return
		}
		if changed != nil && errors.Is(err, context.Canceled) {
			p.log.Warn("log-in failed", "env", e.name, "error", changed.Error())
			cur.fail(p.now(), changed)
			return
		}
		if err != nil && !elsewhere {
			// The code may run out, or be refused, before a poll saw the
			// log-in made another way: that is no failure either.
			rec, rerr := e.src.Record(stopping)
			elsewhere = rerr == nil && e.loggedInSince(rec, dl.wait)
		}
		if elsewhere {
			p.log.Info("device log-in ended: logged in another way meanwhile", "env", e.name)
			e.succeed()
			return
		}
		if err != nil {
			p.log.Warn("log-in failed", "env", e.name, "error", err.Error())
			cur.fail(p.now(), err)
			return
		}
		e.succeed()
		p.log.Info("logged in", "env", e.name, "store", e.src.Location())
	})
	if !started {
		e.device.CompareAndSwap(dl, nil)
		return errStopping
	}
	return nil
}

// loginButton is what the Log in button does for e's grant: a device log-in
// shown on the page, nothing for client credentials, else the browser goes
// to the provider. over is which other configurations' tokens it replaces.
func (p *Proxy) loginButton(w http.ResponseWriter, r *http.Request, e *envProxy, over replacing) (handled bool) {
	back := func(done string) {
		http.Redirect(w, r, p.noticeURL(done, e.name), http.StatusSeeOther)
	}
	switch e.conf.Grant {
	case config.GrantClientCredentials:
		back("login-not-needed")
	case config.GrantDeviceCode:
		err := p.startDeviceLogin(r.Context(), e, over)
		if errors.Is(err, errRestarting) {
			p.refuseForRestart(w, e.name)
			return true
		}
		if err != nil {
			p.buttonFailed(w, r, e.name, "login-failed", err)
			return true
		}
		back("device-login")
	default:
		return false
	}
	return true
}

// deviceWaiting reports whether a device log-in begun here waits, at now,
// for the person's approval at the provider.
func (p *Proxy) deviceWaiting(now time.Time) bool {
	waiting := false
	p.envs.Range(func(_, v any) bool {
		dl := v.(*envProxy).device.Load()
		waiting = dl != nil && now.Before(dl.expires)
		return !waiting
	})
	return waiting
}

// loginEndpoints are the endpoints the environment's source knows,
// discovering them if need be, or its MissingLoginEndpoint for them.
func (e *envProxy) loginEndpoints(ctx context.Context) (freshtoken.Endpoints, error) {
	ep, err := e.src.Endpoints(ctx)
	if err != nil {
		return ep, err
	}
	return ep, e.conf.MissingLoginEndpoint(ep)
}

// loggedInSince reports whether rec, the stored record, is a log-in to e
// made since w began, however it was made and renewed since or not:
// tokens of e's grant (a renewal of older tokens is no log-in). A device
// log-in's code is shown until then.
func (e *envProxy) loggedInSince(rec *store.Record, w store.LogInWait) bool {
	return rec != nil && w.Made(rec) && e.src.CheckGrant(rec) == nil
}
