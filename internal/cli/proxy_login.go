package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/config"
	"github.com/freshtoken/freshtoken/internal/login"
	"github.com/freshtoken/freshtoken/internal/proxy"
)

// loginThroughProxy completes a log-in through the freshtoken proxy that
// holds the redirect address: the proxy receives the browser, exchanges the
// code and stores the tokens, so one registered redirect URI serves both.
// busy is the error of listening there, reported when no proxy answers.
func loginThroughProxy(ctx context.Context, opts *loginOptions, env *config.Env, src *freshtoken.Source, busy error) error {
	f := opts.f
	addr, err := login.LoopbackAddr(env.RedirectURI)
	if err != nil {
		return err
	}
	base := "http://" + addr
	started, err := proxy.StartLogin(ctx, base, env.Name)
	if errors.Is(err, proxy.ErrNotProxy) {
		f.Logger().Debug("no freshtoken proxy on the redirect address", "address", addr, "error", err.Error())
		return fmt.Errorf("%s: %w; stop the program using it, or set another port in redirect_uri (and register it with the provider)", env.Name, busy)
	}
	if err != nil {
		return fmt.Errorf("%s: the freshtoken proxy at %s could not start the log-in: %w", env.Name, base, err)
	}
	if started.Store() != src.Location() {
		return fmt.Errorf("%s: the freshtoken proxy at %s keeps this environment's tokens in %s, not in %s where this command looks; start the proxy with the same configuration, or stop it and log in again",
			env.Name, base, started.Store(), src.Location())
	}
	if opts.NoBrowser || f.OpenBrowser == nil {
		fmt.Fprintln(f.IO.ErrOut, started.AuthURL())
	} else {
		fmt.Fprintf(f.IO.ErrOut, "Opening your browser to log in to %s through the freshtoken proxy at %s. If it does not open, visit:\n%s\n", env.Name, base, started.AuthURL())
		if err := f.OpenBrowser(started.AuthURL()); err != nil {
			f.Logger().Debug("could not open a browser", "error", err.Error())
		}
	}
	wait, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if err := started.Wait(wait); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%s: no answer from the browser within %s; run `freshtoken login -e %s` again and approve access in the browser", env.Name, opts.Timeout, env.Name)
		}
		return err
	}
	fmt.Fprintf(f.IO.ErrOut, "Logged in to %s through the freshtoken proxy at %s; tokens stored in %s.\n", env.Name, base, src.Location())
	return nil
}
