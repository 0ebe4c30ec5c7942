package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/keeper"
	"github.com/freshtoken/freshtoken/internal/login"
	"github.com/freshtoken/freshtoken/internal/notify"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

type demoOptions struct {
	f        *Factory
	Calls    int
	Interval time.Duration
	TTL      time.Duration
}

func newDemoCmd(f *Factory) *cobra.Command {
	opts := &demoOptions{f: f}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Watch the whole hands-off cycle against a built-in provider",
		Long: `Run freshtoken's whole cycle against the built-in FreeAgent-like provider on
loopback, with no account and no network: a browser-style log-in (PKCE,
auto-approved), then API calls across several token expiries, each renewal
shown as it happens, one revoked token recovered from, then the keeper keeping
an idle grant alive and telling a person when the provider ends it, a
machine client (client credentials: no log-in, no refresh token), and a
summary.
Nothing is written outside a temporary folder (in $TMPDIR, else /tmp; %TMP%
on Windows), which is removed at the end.`,
		Example: `  freshtoken demo
  freshtoken demo --debug     # every decision, one line each, secrets masked`,
		Args: exactArgs(0, "no arguments"),
		RunE: runner(opts, nil, runDemo),
	}
	cmd.Flags().IntVar(&opts.Calls, "calls", 10, "how many API calls to make")
	cmd.Flags().DurationVar(&opts.Interval, "interval", 700*time.Millisecond, "pause between calls")
	cmd.Flags().DurationVar(&opts.TTL, "ttl", 3*time.Second, "access token lifetime the provider grants")
	return cmd
}

// runDemo runs the demo, which stops at the first line of output not
// written (`demo | head -1`, a full disk): the rest would be shown to no
// one. That failure is then the command's, as any command's output is.
func runDemo(ctx context.Context, opts *demoOptions) error {
	// Refused before anything starts: --calls -1 summed "1 call to the API:
	// 2 succeeded (-1 with the log-in…)", and a --ttl under a second, an
	// expires_in of 0 ("lifetime unknown"), ended in "the demo saw
	// failures", exit 1, as if freshtoken had a bug (1500ms was rounded).
	switch {
	case opts.Calls < 1:
		return usageErrorf("--calls %d: give how many API calls to make, 1 or more, such as --calls 10", opts.Calls)
	case opts.Interval < 0:
		return usageErrorf("--interval %s: give the pause between calls, 0 or more, such as --interval 700ms", opts.Interval)
	}
	if err := wholeSeconds("ttl", opts.TTL); err != nil {
		return err
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	out := &demoOutput{w: opts.f.IO.Out, stop: stop}
	err := demo(ctx, opts, out)
	if werr := out.failed(); werr != nil {
		return werr
	}
	return err
}

// demoOutput is the demo's output, which stops the demo's context at the
// first write that fails.
type demoOutput struct {
	w    io.Writer
	stop context.CancelCauseFunc

	mu  sync.Mutex
	err error
}

func (d *demoOutput) Write(b []byte) (int, error) {
	n, err := d.w.Write(b)
	if err != nil {
		d.mu.Lock()
		if d.err == nil {
			d.err = err
			d.stop(err)
		}
		d.mu.Unlock()
	}
	return n, err
}

func (d *demoOutput) failed() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// tempDirVariable is the variable that names the temporary folder on goos,
// as os.TempDir reads it: %TMP% on Windows (before %TEMP%), $TMPDIR
// elsewhere.
func tempDirVariable(goos string) string {
	if goos == "windows" {
		return "TMP"
	}
	return "TMPDIR"
}

func demo(ctx context.Context, opts *demoOptions, out io.Writer) error {
	dir, err := os.MkdirTemp("", "freshtoken-demo-")
	if err != nil {
		// The system's set-up (a $TMPDIR gone, a full disk), not a bug.
		return config.Invalidf("could not make a temporary folder for the demo's tokens (%v); set %s to a folder you can write in", err, tempDirVariable(runtime.GOOS))
	}
	defer os.RemoveAll(dir)

	// Refresh tokens that live two access-token lifetimes, so that step 3
	// shows a grant kept alive with nobody calling the API.
	p := devprovider.New(devprovider.Options{AccessTTL: opts.TTL, RefreshTTL: 2 * opts.TTL, AutoApprove: true, RequirePKCE: true, RefreshesPerMinute: 1000})
	defer p.Close()
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(apiLn)
	defer srv.Close()
	api := "http://" + apiLn.Addr().String() + "/"
	cbLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	redirect := "http://" + cbLn.Addr().String() + "/callback"

	// The library's way in: settings and a store, no configuration file.
	settings := freshtoken.Settings{
		Env:          "demo",
		ClientID:     "dev-client-id",
		ClientSecret: "dev-client-secret",
		AuthURL:      api + "v2/approve_app",
		TokenURL:     api + "v2/token_endpoint",
		APIURL:       api,
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	storage := freshtoken.Options{Store: filestore.New(filepath.Join(dir, "tokens")), Logger: opts.f.Logger(), Sending: opts.f.Sending}
	src, err := freshtoken.New(settings, storage)
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "freshtoken demo: a FreeAgent-like provider at %s, no account, no network.\n", api)
	fmt.Fprintf(out, "Access tokens live %s; freshtoken renews them before they expire.\n\n", opts.TTL)

	fmt.Fprintln(out, "1. Log in (authorization code + PKCE; the provider auto-approves)")
	conf, err := src.OAuth2Config(ctx, redirect)
	if err != nil {
		return err
	}
	flow := &login.Flow{Env: "demo", Config: conf, Listener: cbLn, Stderr: io.Discard, Timeout: 30 * time.Second,
		Logger: opts.f.Logger(), OpenBrowser: pretendBrowser(ctx), HTTP: src.TokenClient(), TokenURLSetting: "token_url"}
	res, err := flow.Run(ctx)
	if err != nil {
		return err
	}
	if err := src.SaveLogin(ctx, res.Token, res.SentAt); err != nil {
		if errors.Is(err, store.ErrDiskFull) {
			// The system's set-up, as a temporary folder that cannot be
			// made is: no store of the person's, whose [store] url the
			// store's words said to set.
			return config.Invalidf("the disk holding the demo's temporary folder %s %s, so the demo could not store its tokens; %s, or set %s to a folder on another disk", dir, atomicfile.FullWords(err), atomicfile.FreeSome(err, dir, " there"), tempDirVariable(runtime.GOOS))
		}
		return err
	}
	fmt.Fprintf(out, "   logged in; tokens stored in a temporary folder, deleted when the demo ends\n\n")

	if opts.Calls == 1 {
		fmt.Fprintln(out, "2. Call GET /v2/company once")
	} else {
		fmt.Fprintf(out, "2. Call GET /v2/company %d times, %s apart\n", opts.Calls, opts.Interval)
	}
	client := src.Client()
	var ok, failed int
	last := "" // the access token of the call before, the log-in's before the first
	if rec, _ := src.Record(ctx); rec != nil {
		last = rec.AccessToken
	}
	revokeAt := opts.Calls/2 + 1
	for i := 1; i <= opts.Calls; i++ {
		if i == revokeAt {
			p.RevokeAccessTokens()
			fmt.Fprintln(out, "   (the provider now revokes the current access token early: the next call gets a 401)")
		}
		status, err := demoCall(ctx, client, api+"v2/company")
		rec, _ := src.Record(ctx)
		note := ""
		switch {
		case rec == nil:
		case rec.AccessToken != last:
			// The first call too may renew: with --calls 1, it comes
			// after the revocation.
			note = fmt.Sprintf("  <- renewed (#%d), new token %s", rec.Renewals, redact.Mask(rec.AccessToken))
			last = rec.AccessToken
		case i == 1:
			note = "  token " + redact.Mask(rec.AccessToken)
		}
		if err != nil {
			failed++
			fmt.Fprintf(out, "   call %2d: failed: %v\n", i, err)
		} else {
			ok++
			fmt.Fprintf(out, "   call %2d: %d%s\n", i, status, note)
		}
		if i < opts.Calls {
			select {
			case <-time.After(opts.Interval):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	calling := 0 // renewals while calling, as the record counts them
	if rec, _ := src.Record(ctx); rec != nil {
		calling = rec.Renewals
	}
	notices, err := demoKeeper(ctx, opts, out, p, src)
	if err != nil {
		return err
	}
	settings.Env, settings.Grant = "demo-machine", freshtoken.GrantClientCredentials
	machine, err := freshtoken.New(settings, storage)
	if err != nil {
		return err
	}
	fetched, err := demoMachine(ctx, out, opts.TTL, api, machine)
	if err != nil {
		return err
	}
	// The whole run's, steps 2 to 4: step 2's calls and renewals alone
	// were told as the run's.
	renewals := calling
	if rec, _ := src.Record(ctx); rec != nil {
		renewals = rec.Renewals
	}
	idle := renewals - calling
	st := p.Stats()
	fmt.Fprintf(out, "\n5. Summary\n   %s to the API: %d succeeded, %d failed (%d with the log-in, %d as the machine client)\n",
		count(opts.Calls+machineCalls, "call"), ok+machineCalls, failed, opts.Calls, machineCalls)
	fmt.Fprintf(out, "   %s of the log-in's tokens, each stored before use: %d while calling, %d by the keeper to keep the idle grant alive; %s when the grant ended\n",
		count(renewals, "renewal"), calling, idle, count(notices, "notice"))
	fmt.Fprintf(out, "   %s fetched with the machine client's credentials\n", count(fetched, "token"))
	fmt.Fprintf(out, "   the provider saw %s, %s, %s, %s and %s\n", count(st.Exchanges, "log-in"), count(st.Refreshes, "refresh"),
		count(st.ClientCredentials, "token")+" for client credentials", count(st.Unauthorized, "401"), count(st.GrantsRevoked, "grant revoked for a reused refresh token"))
	fmt.Fprintln(out, "   Run it again with --debug to see every decision, secrets masked.")
	if failed > 0 || st.GrantsRevoked > 0 || idle <= 0 || notices != 1 || fetched != machineCalls {
		return errors.New("the demo saw failures; run it with --debug to see why")
	}
	return nil
}

// demoKeeper runs the long-running process's keeper while nobody calls the
// API: refresh tokens that expire would end the grant, but it renews each
// in time. Then the provider ends the grant, and the keeper tells a person.
// It returns how many notices were given.
func demoKeeper(ctx context.Context, opts *demoOptions, out io.Writer, p *devprovider.Provider, src *freshtoken.Source) (int, error) {
	life := 2 * opts.TTL
	idle := life + life/5
	fmt.Fprintf(out, "\n3. Nobody calls the API for %s, while refresh tokens live %s: the keeper (`freshtoken proxy`) renews in time\n", idle, life)
	log := slog.New(slog.DiscardHandler) // the failure it meets on purpose is told below
	if opts.f.Debug {
		log = opts.f.Logger()
	}
	note := &notify.Notifier{Logger: log}
	k := &keeper.Keeper{
		Envs:   func() ([]string, error) { return []string{src.Env()}, nil },
		Open:   func(context.Context, string) (*freshtoken.Source, error) { return src, nil },
		Logger: log,
		Look:   opts.TTL / 2,
		Notify: note,
	}
	keeping, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); k.Run(keeping) }()
	defer func() { stop(); <-done }()
	last, _ := src.Record(ctx)
	watch := func(until time.Time) {
		for time.Now().Before(until) && ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
			rec, _ := src.Record(ctx)
			if rec != nil && last != nil && rec.RefreshToken != last.RefreshToken {
				fmt.Fprintf(out, "   renewed to keep the grant alive (#%d); the refresh token now expires in %s\n", rec.Renewals, time.Until(rec.RefreshExpiry).Round(100*time.Millisecond))
			}
			last = rec
		}
	}
	watch(time.Now().Add(idle))
	if ctx.Err() != nil { // stopped before the idle time was up: no grant ended
		return 0, ctx.Err()
	}
	fmt.Fprintln(out, "   (the provider now ends the grant, as when a user disconnects the app)")
	p.RevokeGrants()
	for end := time.Now().Add(2 * life); time.Now().Before(end) && len(note.Current()) == 0 && ctx.Err() == nil; {
		time.Sleep(100 * time.Millisecond)
	}
	for _, n := range note.Current() {
		fmt.Fprintf(out, "   a person is told (command, webhook or desktop, set under [notify]): %s\n", n.Message)
	}
	return len(note.Current()), ctx.Err()
}

// machineCalls is how many API calls the demo's machine client makes.
const machineCalls = 2

// demoMachine calls the API as a machine client with client credentials:
// no log-in, and when the token is due a new one is fetched with the
// client's credentials, there being no refresh token. It returns how many
// tokens were fetched.
func demoMachine(ctx context.Context, out io.Writer, ttl time.Duration, api string, src *freshtoken.Source) (int, error) {
	fmt.Fprintln(out, "\n4. A machine client (grant = \"client_credentials\"): no log-in, no refresh token")
	client := src.Client()
	fetched, last := 0, ""
	for i := 1; i <= machineCalls; i++ {
		if i == 2 {
			fmt.Fprintf(out, "   (waiting %s, past the point where the token is due)\n", ttl)
			select {
			case <-time.After(ttl):
			case <-ctx.Done():
				return fetched, ctx.Err()
			}
		}
		status, err := demoCall(ctx, client, api+"v2/company")
		if err != nil {
			return fetched, err
		}
		if rec, _ := src.Record(ctx); rec != nil && rec.AccessToken != last {
			fetched++
			last = rec.AccessToken
			fmt.Fprintf(out, "   call %d: %d  <- token %s fetched with the client's credentials\n", i, status, redact.Mask(rec.AccessToken))
		}
	}
	return fetched, nil
}

func demoCall(ctx context.Context, c *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent())
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer httpx.Drain(resp)
	if resp.StatusCode >= 400 {
		return resp.StatusCode, fmt.Errorf("HTTP %s", resp.Status)
	}
	return resp.StatusCode, nil
}

// pretendBrowser follows the authorisation URL's redirects back to the
// callback, as a browser would after the person clicks Approve.
func pretendBrowser(ctx context.Context) func(string) error {
	return func(u string) error {
		go func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				return
			}
			if resp, err := http.DefaultClient.Do(req); err == nil {
				httpx.Drain(resp)
			}
		}()
		return nil
	}
}

// count says n things, in the plural when n is not one: "1 401", "2
// refreshes", "0 grants revoked for a reused refresh token".
func count(n int, thing string) string {
	if n != 1 {
		first, rest, spaced := strings.Cut(thing, " ")
		if strings.HasSuffix(first, "sh") {
			first += "es"
		} else {
			first += "s"
		}
		if thing = first; spaced {
			thing += " " + rest
		}
	}
	return fmt.Sprintf("%d %s", n, thing)
}
