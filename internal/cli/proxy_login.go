package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/login"
	"github.com/freshtoken/freshtoken/internal/proxy"
	"github.com/freshtoken/freshtoken/internal/redact"
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
	started, err := proxy.StartLogin(ctx, base, env.Name, opts.Timeout)
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
	if err := checkAuthURL(started.AuthURL(), env); err != nil {
		return fmt.Errorf("%s: the program at %s answered like a freshtoken proxy, but %w; not opening it. Stop that program, or set another port in redirect_uri (and register it with the provider)", env.Name, base, err)
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
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, proxy.ErrLoginExpired) {
			return fmt.Errorf("%s: no answer from the browser within %s; run `freshtoken login -e %s` again and approve access in the browser", env.Name, opts.Timeout, env.Name)
		}
		return err
	}
	fmt.Fprintf(f.IO.ErrOut, "Logged in to %s through the freshtoken proxy at %s; tokens stored in %s.\n", env.Name, base, src.Location())
	return nil
}

// checkAuthURL makes sure that raw, the URL a proxy asks this command to
// open in the browser, is the environment's own authorization page,
// sending the browser back to the environment's redirect_uri: whatever
// holds the redirect port could answer like a proxy.
func checkAuthURL(raw string, env *config.Env) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("its log-in address %q is not a URL", raw)
	}
	auth, err := url.Parse(env.AuthURL)
	if err != nil || auth.Host == "" {
		return fmt.Errorf("auth_url %q is not a URL to compare its log-in address with", env.AuthURL)
	}
	if !strings.EqualFold(u.Scheme, auth.Scheme) || !strings.EqualFold(u.Host, auth.Host) || u.Path != auth.Path || u.User != nil {
		return fmt.Errorf("its log-in address %s is not under the environment's auth_url %s", redact.OneLine(raw, 200), env.AuthURL)
	}
	if got := u.Query().Get("redirect_uri"); got != env.RedirectURI {
		return fmt.Errorf("its log-in address sends the browser back to %q, not to the environment's redirect_uri %s", got, env.RedirectURI)
	}
	return nil
}
