package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/shellquote"
)

type devProviderOptions struct {
	f       *Factory
	Listen  string
	Options devprovider.Options
}

func newDevProviderCmd(f *Factory) *cobra.Command {
	opts := &devProviderOptions{f: f}
	cmd := &cobra.Command{
		Use:   "dev-provider",
		Short: "Serve the built-in FreeAgent-like provider, for trying things out",
		Long: `Serve a FreeAgent-like OAuth 2.0 provider and API on loopback: an approval
page, a token endpoint that rotates refresh tokens, and /v2/company,
/v2/users/me and /v2/contacts with pagination and rate limits, a revocation
endpoint, and discovery documents (RFC 8414 and OpenID Connect) for trying
issuer = "…". Nothing leaves this machine; the tokens it issues are worthless
anywhere else.

Besides the authorization-code grant it offers client credentials and the
device grant (RFC 8628): a device authorization endpoint at
/v2/device_authorization and a verification page at /v2/device, where you
approve or deny a code.`,
		Example: `  freshtoken dev-provider --listen 127.0.0.1:8900 --access-ttl 30s
  # in another terminal:
  export DEV_SECRET=dev-client-secret
  freshtoken init -e dev --provider freeagent-sandbox --api-url http://127.0.0.1:8900/ --client-id dev-client-id --client-secret-env DEV_SECRET
  freshtoken -e dev login`,
		Args: exactArgs(0, "no arguments"),
		RunE: runner(opts, nil, runDevProvider),
	}
	fl := cmd.Flags()
	o := &opts.Options
	fl.StringVar(&opts.Listen, "listen", "127.0.0.1:8900", "loopback address to serve on")
	fl.StringVar(&o.ClientID, "client-id", "dev-client-id", "the client id it accepts")
	fl.StringVar(&o.ClientSecret, "client-secret", "dev-client-secret", "the client secret it accepts")
	fl.DurationVar(&o.AccessTTL, "access-ttl", time.Hour, "access token lifetime")
	fl.DurationVar(&o.RefreshTTL, "refresh-ttl", 20*24*time.Hour, "refresh token lifetime")
	fl.DurationVar(&o.IdleLimit, "idle-limit", 0, "end a grant whose refresh token goes unused this long (0: never)")
	fl.BoolVar(&o.FixedRefreshExpiry, "fixed-refresh-expiry", false, "renewals keep the grant's first refresh-token expiry, as providers with an absolute grant lifetime do")
	fl.DurationVar(&o.ReuseGrace, "reuse-grace", 0, "how long a rotated-out refresh token still works (0: reuse revokes the grant)")
	fl.BoolVar(&o.AutoApprove, "auto-approve", false, "approve logins without showing the approval page")
	fl.DurationVar(&o.DeviceInterval, "device-interval", 5*time.Second, "how often a device log-in may poll (whole seconds)")
	fl.DurationVar(&o.DeviceCodeTTL, "device-code-ttl", 10*time.Minute, "how long a device log-in's code waits for approval")
	fl.IntVar(&o.RequestsPerMinute, "requests-per-minute", 120, "API rate limit per grant (negative: none)")
	return cmd
}

// wholeSeconds refuses a lifetime or interval the built-in provider would
// round to another: OAuth 2.0 gives them in whole seconds, and 0 means none.
func wholeSeconds(flag string, d time.Duration) error {
	if d < time.Second || d%time.Second != 0 {
		return usageErrorf("--%s %s is not a whole number of seconds of at least 1s, which OAuth 2.0 lifetimes and intervals are; give one such as 30s", flag, d)
	}
	return nil
}

// check refuses the values the provider would have put another in place
// of, unsaid: an empty --client-id served "dev-client-id" while the banner
// told the person to use "", --access-ttl 0 served hour-long tokens,
// 500ms or -5s one-second ones, and --requests-per-minute 0 a limit of 120.
func (opts *devProviderOptions) check() error {
	o := opts.Options
	for _, f := range []struct{ flag, value string }{{"client-id", o.ClientID}, {"client-secret", o.ClientSecret}} {
		if f.value == "" {
			return usageErrorf("--%s is empty; give the value the provider is to accept, or leave the flag out for dev's own", f.flag)
		}
	}
	for _, f := range []struct {
		flag string
		d    time.Duration
	}{{"access-ttl", o.AccessTTL}, {"refresh-ttl", o.RefreshTTL}, {"device-interval", o.DeviceInterval}, {"device-code-ttl", o.DeviceCodeTTL}} {
		if err := wholeSeconds(f.flag, f.d); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		flag string
		d    time.Duration
	}{{"idle-limit", o.IdleLimit}, {"reuse-grace", o.ReuseGrace}} {
		if f.d < 0 {
			return usageErrorf("--%s %s is negative; give 0 for none, or a length of time such as 10m", f.flag, f.d)
		}
	}
	if o.RequestsPerMinute == 0 {
		return usageErrorf("--requests-per-minute 0 would let no request through; give a limit such as 120, or -1 for none")
	}
	return nil
}

func runDevProvider(ctx context.Context, opts *devProviderOptions) error {
	addr, ok := httpx.LoopbackAddr(opts.Listen)
	if !ok {
		return usageErrorf("--listen %q must be a loopback address such as 127.0.0.1:8900", opts.Listen)
	}
	if err := opts.check(); err != nil {
		return err
	}
	opts.Options.Logger = opts.f.Logger().With("component", "dev-provider")
	p := devprovider.New(opts.Options)
	defer p.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return usageErrorf("cannot listen on %s: %v; pick another address with --listen", opts.Listen, err)
	}
	srv := &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 10 * time.Second}
	base := "http://" + ln.Addr().String() + "/"
	issuer := strings.TrimSuffix(base, "/")
	fmt.Fprintf(opts.f.IO.ErrOut, `dev provider serving on %s (Ctrl-C to stop)
  approve page:   %sv2/approve_app
  token endpoint: %sv2/token_endpoint
  device grant:   %sv2/device_authorization (approve codes at %sv2/device)
  discovery:      %s.well-known/openid-configuration (issuer %s)
  client id %q, client secret %q
Use it from freshtoken, in another terminal, with:
  export DEV_SECRET=%s
  freshtoken init -e dev --provider freeagent-sandbox --api-url %s --client-id %s --client-secret-env DEV_SECRET
  freshtoken -e dev login
or, with the endpoints found by discovery:
  freshtoken init -e idp --provider generic --api-url %s --issuer %s --client-id %s --client-secret-env DEV_SECRET
`, base, base, base, base, base, base, issuer, opts.Options.ClientID, opts.Options.ClientSecret,
		shellquote.Word(opts.Options.ClientSecret), base, shellquote.Word(opts.Options.ClientID), base, issuer, shellquote.Word(opts.Options.ClientID))
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
