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

func runDevProvider(ctx context.Context, opts *devProviderOptions) error {
	host, _, err := net.SplitHostPort(opts.Listen)
	if err != nil || !httpx.IsLoopback(host) {
		return usageErrorf("--listen %q must be a loopback address such as 127.0.0.1:8900", opts.Listen)
	}
	opts.Options.Logger = opts.f.Logger().With("component", "dev-provider")
	p := devprovider.New(opts.Options)
	defer p.Close()
	ln, err := net.Listen("tcp", opts.Listen)
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
