package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/keeper"
	"github.com/freshtoken/freshtoken/internal/notify"
	"github.com/freshtoken/freshtoken/internal/proxy"
	"github.com/freshtoken/freshtoken/internal/shellquote"
)

type proxyOptions struct {
	f           *Factory
	Listen      string
	AllowRemote bool
	NoListen    bool
}

func newProxyCmd(f *Factory, runF func(*proxyOptions) error) *cobra.Command {
	opts := &proxyOptions{f: f}
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Serve every environment's API on this machine, with fresh tokens added",
		Long: `Serve a local reverse proxy: a request to http://127.0.0.1:8787/ENV/PATH goes to
PATH under environment ENV's api_url, with a fresh Authorization header in
place of any the client sent. Point Postman, Insomnia, curl or any HTTP client
at it and leave their authorization settings empty.

Open http://127.0.0.1:8787/ in a browser for a status page with a Log in
button per environment; log-ins come back to /callback, so registering
http://127.0.0.1:8787/callback once with the provider serves both the proxy
and ` + "`freshtoken login`" + `, which completes its log-in through a running proxy.

The proxy listens on loopback only and answers only requests addressed to it
by its own address, so no web page can use it. --allow-remote lets other
machines use it (and your tokens), which you should only do on a network you
trust.

While it runs, it also keeps every logged-in environment's grant alive:
it renews each one before its refresh token expires and within the
provider's refresh_idle_limit, even when nothing calls the API.
--no-listen does only that, with no HTTP server.

When an upgrade replaces the freshtoken it was started from, it sees any
renewal in flight through and starts the new version in its own place (not on
Windows).`,
		Example: `  freshtoken proxy
  curl -H "Accept: application/json" http://127.0.0.1:8787/sandbox/v2/company
  freshtoken proxy --listen 127.0.0.1:9000 --debug
  freshtoken proxy --no-listen    # only keep the grants alive`,
		Args: exactArgs(0, "no arguments"),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if opts.NoListen && (cmd.Flags().Changed("listen") || opts.AllowRemote) {
				return usageErrorf("--no-listen serves nothing, so it takes neither --listen nor --allow-remote")
			}
			if err := proxy.CheckListen(opts.Listen, opts.AllowRemote); err != nil && !opts.NoListen {
				return usageErrorf("%v", err)
			}
			return nil
		},
		RunE: runner(opts, runF, runProxy),
	}
	cmd.Flags().StringVar(&opts.Listen, "listen", "127.0.0.1:8787", "address to listen on")
	cmd.Flags().BoolVar(&opts.AllowRemote, "allow-remote", false, "let other machines use the proxy, and so your tokens")
	cmd.Flags().BoolVar(&opts.NoListen, "no-listen", false, "serve nothing: only keep every grant alive")
	return cmd
}

func runProxy(ctx context.Context, opts *proxyOptions) error {
	f := opts.f
	conf, err := f.configured("run `freshtoken init` to add one")
	if err != nil {
		return err
	}
	var serving atomic.Pointer[proxy.Proxy] // once it listens
	ctx, upgradedTo := watchUpgrade(ctx, f.Logger(), func() bool {
		p := serving.Load()
		return p != nil && p.LoggingIn()
	})
	webhook, err := httpx.NewTransport(conf.CAFile) // the top-level ca_file
	var proxyErr *httpx.ProxyEnvError
	switch {
	case errors.As(err, &proxyErr):
		return usageErrorf("%v", err)
	case err != nil:
		return usageErrorf("%s: ca_file: %v", conf.Path, err)
	}
	notifier := &notify.Notifier{Config: conf.Notify, Logger: f.Logger().With("component", "notify"), Transport: httpx.ExplainTLS(webhook)}
	k := &keeper.Keeper{
		Envs: func() ([]string, error) {
			c, err := f.Config()
			if err != nil {
				return nil, err
			}
			return c.Names(), nil
		},
		Open: func(ctx context.Context, env string) (*freshtoken.Source, error) {
			if c, err := f.Config(); err == nil {
				notifier.Configure(c.Notify) // edits are followed, as the environments' are
			}
			return f.Source(ctx, env)
		},
		Logger: f.Logger().With("component", "keeper"),
		Notify: notifier,
		CheckStore: func(ctx context.Context, env string) error {
			if c, err := f.Config(); err == nil {
				return checkStore(ctx, c.StoreURL, env, func() error { return checkEviction(ctx, c.StoreURL) })
			}
			return nil
		},
		Suggesting: f.suggesting,
		Refuse: func(path string) string {
			if f.LogFile != "" && namesLogFile(path, f.LogFile) {
				return "it is this process's --log-file, which writing it would destroy, and the log would go on into it; name another token_file"
			}
			return ""
		},
		TokenFile: func(env string) string {
			if c, err := f.Config(); err == nil && c.Envs[env] != nil {
				return c.Envs[env].TokenFile
			}
			return ""
		},
		// An edit of an environment whose client the provider rejected is
		// tried at the next look, not an hour after the rejection.
		Settings: func(env string) any {
			if c, err := f.Config(); err == nil && c.Envs[env] != nil {
				return c.Envs[env]
			}
			return nil
		},
	}
	if opts.NoListen {
		fmt.Fprintf(f.IO.ErrOut, "freshtoken keeping %s alive (Ctrl-C to stop)\n", plural(conf.Names(), "environment"))
		warnSecretProblems(f, conf)
		k.Run(ctx)
		fmt.Fprintln(f.IO.ErrOut, "freshtoken stopped.")
		if u := upgradedTo(); u != nil {
			return u
		}
		return nil
	}
	keeping, stopKeeping := context.WithCancel(ctx)
	kept := make(chan struct{})
	go func() { defer close(kept); k.Run(keeping) }()
	defer func() { stopKeeping(); <-kept }()
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return proxyListenFailed(opts.Listen, err)
	}
	defer ln.Close()
	p, err := proxy.New(proxy.Options{
		Banner: func() []string {
			var lines []string
			for _, n := range k.Notify.Current() {
				lines = append(lines, n.Message)
			}
			slices.Sort(lines)
			return lines
		},
		Addr:         ln.Addr().String(),
		AllowRemote:  opts.AllowRemote,
		Config:       f.Config,
		Open:         f.Source,
		Logger:       f.Logger(),
		Suggesting:   f.suggesting,
		StartCommand: startCommand(f, opts),
		UserAgent:    userAgent(),
		Stopping: func(requests int, grace time.Duration) {
			keys := "Ctrl-C twice"
			if f.stopKeys != nil {
				keys = f.stopKeys()
			}
			fmt.Fprintf(f.IO.ErrOut, "freshtoken proxy stopping: waiting up to %s for %s in flight to finish; %s stops it at once\n",
				grace.Round(time.Second), count(requests, "request"), keys)
		},
	})
	if err != nil {
		return err
	}
	serving.Store(p)
	base := p.Base()
	if opts.AllowRemote {
		warnRemote(f.IO.ErrOut, ln.Addr().String())
	}
	fmt.Fprintf(f.IO.ErrOut, "freshtoken proxy running at %s/ (Ctrl-C to stop)\n  status page and log-in:  %s/\n", base, base)
	for _, name := range conf.Names() {
		fmt.Fprintf(f.IO.ErrOut, "  %-22s  %s/%s/  →  %s\n", name+":", base, name, conf.Envs[name].APIURL)
	}
	fmt.Fprintln(f.IO.ErrOut, "Send requests to these addresses with no authorization of your own: freshtoken adds a fresh token.")
	warnSecretProblems(f, conf)

	// The proxy's live heap is a few megabytes, so at the default GOGC=100 a
	// busy proxy collects every few hundred requests; 400 spends a few more
	// megabytes of memory to collect a quarter as often (about 8% less CPU
	// per request under load). GOGC in the environment still decides.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(proxyGCPercent)
	}
	if err := p.Serve(ctx, ln); err != nil {
		return err
	}
	fmt.Fprintln(f.IO.ErrOut, "freshtoken proxy stopped.")
	if u := upgradedTo(); u != nil {
		return u
	}
	return nil
}

// warnSecretProblems says at the start, of each environment whose client
// secret cannot be had here, what status says of it: a service does not
// see the variables a terminal exported, and the first renewal to fail for
// want of the secret may come hours later.
func warnSecretProblems(f *Factory, conf *config.File) {
	if conf.Notify.WebhookInClear() {
		f.warn(notify.WebhookInClear)
	}
	for _, name := range conf.Names() {
		if m := conf.Envs[name].ClientSecretProblem(); m != "" {
			f.warn(fmt.Sprintf("%s: warning: %s", name, m))
		}
	}
}

// proxyGCPercent is the proxy's garbage-collection target; see runProxy.
const proxyGCPercent = 400

// warnRemote says, on every start, what --allow-remote gives away.
// An address that is every address ([::]:8787, which nobody can open) is
// said as the port of this machine at any of its addresses.
func warnRemote(w io.Writer, addr string) {
	who := addr
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			who = "port " + port + " of this machine, at any of its addresses,"
		}
	}
	fmt.Fprintf(w, `WARNING: --allow-remote is on. Anyone who can connect to %s can call
WARNING: your APIs as you, with your tokens, and no password. Use it only on a
WARNING: network you trust, behind a firewall, and stop the proxy when done.
`, who)
}

// proxyListenFailed tells why the proxy could not listen on addr, and which
// address to give --listen instead: each is a configuration mistake (exit
// 2). Only a busy address asks whether a proxy or a log-in holds it.
func proxyListenFailed(addr string, err error) error {
	host, port, _ := net.SplitHostPort(addr)
	fault, cause := httpx.ListenFailure(err)
	instead := net.JoinHostPort("127.0.0.1", port)
	switch fault {
	case httpx.ListenBusy:
		return usageErrorf("cannot listen on %s (%v); is a proxy or a `freshtoken login` already running there? Choose another address with --listen", addr, cause)
	case httpx.ListenPrivileged:
		return usageErrorf("cannot listen on %s: port %s is one only an administrator may listen on; choose a port of 1024 or more with --listen, such as 127.0.0.1:8787", addr, port)
	case httpx.ListenOutOfFiles:
		// No address is at fault: another would fail alike.
		return usageErrorf("cannot listen on %s: %v, so no connection can be opened; raise the limit on open files (ulimit -n, LimitNOFILE= in a systemd unit) or close programs holding many, and start the proxy again", addr, cause)
	case httpx.ListenNoSuchAddress:
		return usageErrorf("cannot listen on %s: %s is not an address of this machine (%v); choose one of its addresses with --listen, such as %s", addr, host, cause, instead)
	}
	return usageErrorf("cannot listen on %s (%v); choose another address with --listen, such as 127.0.0.1:8787", addr, cause)
}

// startCommand is the command line that starts the proxy again as opts
// started it, naming its configuration file and its address when they are
// not the defaults: the status page shows it once the proxy has stopped,
// and plain `freshtoken proxy` would start another on 8787, with another
// configuration, which that page, reloaded, would never reach.
func startCommand(f *Factory, opts *proxyOptions) string {
	c := f.commandLine("proxy")
	if opts.Listen != "127.0.0.1:8787" {
		c += " --listen " + shellquote.Word(opts.Listen)
	}
	if opts.AllowRemote {
		c += " --allow-remote"
	}
	return c
}

// namesLogFile reports whether a token file written at path (a rename over
// that name) replaces the log file at logFile, which is then made again
// there and written on: path names it, with links to folders resolved, or
// names where logFile, a link, leads.
func namesLogFile(path, logFile string) bool {
	at := nameAt(path)
	if at == nameAt(logFile) {
		return true
	}
	real, err := filepath.EvalSymlinks(logFile)
	return err == nil && at == nameAt(real)
}

// nameAt is path made absolute, its folder's links resolved.
func nameAt(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		return filepath.Join(dir, filepath.Base(abs))
	}
	return abs
}
