package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/clock"
	"github.com/freshtoken/freshtoken/internal/login"
	"github.com/freshtoken/freshtoken/store"
)

// runClientCredentialsLogin is login for grant = "client_credentials":
// nothing to do but say so, unless the store holds another grant's tokens
// for the environment (it used to log in another way, or they are another
// configuration's), or tokens a newer freshtoken wrote, which a token
// fetched with the client's credentials then replaces, once confirmReplace
// (or confirmReplaceNewer) agrees.
func runClientCredentialsLogin(ctx context.Context, opts *loginOptions, env string, src *freshtoken.Source) error {
	f := opts.f
	rec, err := src.Record(ctx)
	var ok bool
	whose := "of another grant"
	switch {
	case errors.Is(err, store.ErrNewerFormat): // a token is never fetched over it
		ok, err = confirmReplaceNewer(ctx, opts, env, src)
		whose = "a newer freshtoken"
	case err == nil && rec != nil && src.CheckGrant(rec) != nil:
		ok, err = confirmReplace(ctx, opts, env, src, rec)
	default:
		fmt.Fprintf(f.IO.ErrOut, "%s uses client credentials: no log-in is needed; a token is fetched with the client's credentials whenever one is due.\n", env)
		return nil
	}
	if !ok || err != nil {
		return err
	}
	if err := src.LoginWithClientCredentials(ctx); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.ErrOut, "%s uses client credentials: the tokens %s stored for it were replaced by one fetched with the client's credentials; no log-in is needed.\n", env, whose)
	return nil
}

// deviceProgressEvery is how often a device log-in still waiting says so,
// at the normal log level; --debug logs every poll.
const deviceProgressEvery = 30 * time.Second

// runDeviceLogin is login for grant = "device_code": it shows the
// verification URL and the user code, opens the URL that carries the code
// where a browser can, and waits for the person to approve. Once check
// refuses the tokens stored (see replaceGuard) it polls no more, and ends
// with its error (see DeviceLogin.Check); a poll's tokens are stored only as
// check agrees.
func runDeviceLogin(ctx context.Context, opts *loginOptions, env *config.Env, src *freshtoken.Source, check freshtoken.LoginCheck) error {
	f := opts.f
	if err := env.MissingDeviceAuthURL(); err != nil {
		return err
	}
	if _, err := loginEndpoints(ctx, env, src); err != nil {
		return err
	}
	start := logInWait(ctx, src, clock.Now())
	d, err := src.StartDeviceLogin(ctx)
	if err != nil {
		return err
	}
	d.Check = check
	// Where to log in, and the code, are shown at the terminal too (see
	// personAside).
	w, shown := f.IO.ErrOut, login.Shown(f.IO.ErrOut, f.personAside())
	fmt.Fprintf(shown, "To log in to %s, open this page on any device and enter the code %s:\n%s\n", env.Name, d.UserCode, d.VerificationURI)
	if d.VerificationURIComplete != "" && !opts.NoBrowser {
		if err := f.OpenBrowser(d.VerificationURIComplete); err == nil {
			fmt.Fprintf(shown, "A browser was opened on that page with the code filled in; check that it shows %s.\n", d.UserCode)
		}
	}
	// To the second: the moments since the provider answered would
	// otherwise make its 10 minutes "9m".
	fmt.Fprintf(shown, "Waiting for approval; the code expires in %s (Ctrl-C to stop)…\n", human(d.Expiry.Sub(clock.Now()).Round(time.Second)))
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	if opts.TimeoutSet {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(wctx, opts.Timeout)
		defer cancel()
	}
	told := time.Duration(0)
	elsewhere := false
	err = d.Wait(wctx, func(p freshtoken.DevicePoll) {
		// Logged in since this log-in began, another way (another
		// `freshtoken login`, the proxy's page): this code is not needed.
		if rec, err := src.Record(wctx); err == nil && rec != nil && start.Made(rec) && src.CheckGrant(rec) == nil {
			elsewhere = true
			stop()
			return
		}
		switch {
		case p.Answer == "slow_down":
			fmt.Fprintf(w, "The provider asked for fewer checks; checking every %s from now on.\n", p.Interval)
		case p.Waited-told >= deviceProgressEvery:
			told = p.Waited
			fmt.Fprintf(shown, "Still waiting for approval at %s, code %s (the code expires in %s)…\n", d.VerificationURI, d.UserCode, human(max(p.Left, 0).Round(time.Second)))
		}
	})
	if elsewhere && errors.Is(err, context.Canceled) && ctx.Err() == nil {
		fmt.Fprintf(w, "%s was logged in another way meanwhile (another `freshtoken login`, or the proxy's page); this code is no longer needed. Tokens are stored in %s.\n", env.Name, src.Location())
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		err = &freshtoken.Error{Env: env.Name, Kind: freshtoken.ErrLoginRefused, Msg: fmt.Sprintf("access was not approved within %s", opts.Timeout)}
	}
	if errors.Is(err, freshtoken.ErrLoginRefused) { // denied, expired, or not approved in time
		err = login.Again(err.Error()+"; ", " and approve access in the browser", err)
	}
	if err != nil {
		return opts.again(env.Name, err)
	}
	fmt.Fprintf(w, "Logged in to %s; tokens stored in %s.\n", env.Name, src.Location())
	if rec, err := src.Record(ctx); err == nil && rec != nil {
		warnNoRefreshToken(f, env.Name, rec.RefreshToken, rec.Expiry)
	}
	warnUnusableToken(ctx, f, env.Name, src)
	return nil
}
