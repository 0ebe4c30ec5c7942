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
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/clock"
	"github.com/freshtoken/freshtoken/internal/configfile"
	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/filestamp"
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
	// named is --listen as given (foo.localhost:8787), before Listen
	// became the address to bind (127.0.0.1:8787): the proxy answers to
	// the spelling a person types into a browser too.
	named string
	// WaitForConfig: a configuration that cannot be used is waited for,
	// rather than exiting 2 (see configWait).
	WaitForConfig bool
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
by its own address, so no web page can read your APIs through it or press
its buttons. On Linux it serves only programs of your own user (and root):
another user of this machine gets a 403. --allow-remote lets other machines
use it (and your tokens), which you should only do on a network you trust.
What older browsers still let a page send, and more:
https://github.com/freshtoken/freshtoken/blob/main/docs/proxy.md

While it runs, it also keeps every logged-in environment's grant alive:
it renews each one before its refresh token expires and within the
provider's refresh_idle_limit, even when nothing calls the API.
--no-listen does only that, with no HTTP server.

A change to the configuration (init, remove, an edit) takes effect with the
next request, with no restart. A file moved away, deleted or left with a
mistake while it runs does not stop it: each environment is served as last
read, and the status page says what is wrong with the file.

Started with a configuration it cannot use (a mistake in the file, the file
moved, no environment yet), it exits 2, saying why. With --wait-for-config,
which ` + "`freshtoken service install`" + ` writes into the service, it runs on
instead: it listens, answers every request with 503 configuration_unusable
and the reason, shows it on its status page, says it once in its log, and
starts as usual as soon as the file is fixed, with no restart.

When an upgrade replaces the freshtoken it was started from, it sees any
renewal in flight through and starts the new version in its own place, handing
it its address: a request meanwhile waits for the new version, and is not
refused (not on Windows).`,
		Example: `  freshtoken proxy
  curl -H "Accept: application/json" http://127.0.0.1:8787/sandbox/v2/company
  freshtoken proxy --listen 127.0.0.1:9000 --debug
  freshtoken proxy --no-listen    # only keep the grants alive
  freshtoken proxy --wait-for-config    # as a service: wait for a usable configuration`,
		Args: exactArgs(0, "no arguments"),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if opts.NoListen && (cmd.Flags().Changed("listen") || opts.AllowRemote) {
				return usageErrorf("--no-listen serves nothing, so it takes neither --listen nor --allow-remote")
			}
			if opts.NoListen {
				return nil
			}
			addr, err := proxy.ListenAddr(opts.Listen, opts.AllowRemote)
			if err != nil {
				return usageErrorf("%v", err)
			}
			opts.named, opts.Listen = opts.Listen, addr
			return nil
		},
		RunE: runner(opts, runF, runProxy),
	}
	cmd.Flags().StringVar(&opts.Listen, "listen", "127.0.0.1:8787", "address to listen on")
	cmd.Flags().BoolVar(&opts.AllowRemote, "allow-remote", false, "let other machines use the proxy, and so your tokens")
	cmd.Flags().BoolVar(&opts.NoListen, "no-listen", false, "serve nothing: only keep every grant alive")
	cmd.Flags().BoolVar(&opts.WaitForConfig, "wait-for-config", false, "with a configuration that cannot be used, say why to every request and wait until it is fixed, rather than exit (a service's)")
	return cmd
}

func runProxy(ctx context.Context, opts *proxyOptions) error {
	f := opts.f
	// First, before any program is started from here (a client_secret_cmd
	// reading the configuration), which the variable must not reach.
	handed := handedListener(opts.Listen, f.Logger()) // by the version this one replaced
	secretNotice := proxySecretCommandNotice(f)
	ctx = config.WithSecretCommandNotice(ctx, secretNotice) // the keeper's renewals, as the proxy's
	w := &configWait{f: f, ready: make(chan struct{})}
	if err := w.try(); err != nil && !opts.WaitForConfig {
		// A person at a terminal, or a script, is told at once (exit 2).
		return err
	}
	var serving atomic.Pointer[proxy.Proxy] // once it listens
	ctx, upgradedTo := watchUpgrade(ctx, f.Logger(), func(force bool) bool {
		p := serving.Load()
		return p == nil || p.StopLogins(force, upgradeLoginSpare*upgradeCheck)
	}, func() {
		if p := serving.Load(); p != nil {
			p.OpenLogins()
		}
	})
	var notifier atomic.Pointer[notify.Notifier] // once the configuration can be used
	if opts.NoListen {
		if handed != nil {
			handed.Close()
		}
		if !w.isReady() {
			fmt.Fprintln(f.IO.ErrOut, "freshtoken waiting for a configuration it can use (Ctrl-C to stop)")
		}
		if s := w.wait(ctx); s != nil {
			fmt.Fprintf(f.IO.ErrOut, "freshtoken keeping %s alive (Ctrl-C to stop)\n", plural(s.conf.Names(), "environment"))
			warnSecretProblems(f, s.conf)
			newKeeper(f, s, &notifier).Run(ctx)
		}
		fmt.Fprintln(f.IO.ErrOut, "freshtoken stopped.")
		if u := upgradedTo(); u != nil {
			return u
		}
		return nil
	}
	ln, err := handed, error(nil)
	if ln == nil {
		ln, err = net.Listen("tcp", opts.Listen)
	}
	// The service (--wait-for-config) waits for an address another program
	// holds: exiting left systemd starting it again every few seconds for
	// ever, with no grant kept alive.
	busy := false
	if fault, _ := httpx.ListenFailure(err); err != nil && fault == httpx.ListenBusy && opts.WaitForConfig {
		busy = true
	} else if err != nil {
		return proxyListenFailed(opts.Listen, err)
	}
	// The keeper: from the first listen, while the address is waited for
	// too, and on once it is had.
	keeping, stopKeeping := context.WithCancel(ctx)
	kept := make(chan struct{})
	go func() {
		defer close(kept)
		if s := w.wait(keeping); s != nil {
			newKeeper(f, s, &notifier).Run(keeping)
		}
	}()
	defer func() { stopKeeping(); <-kept }()
	if busy {
		if ln, err = listenWhenFree(ctx, opts, err); err != nil {
			return proxyListenFailed(opts.Listen, err)
		}
		if ln == nil {
			fmt.Fprintln(f.IO.ErrOut, "freshtoken stopped.")
			if u := upgradedTo(); u != nil {
				return u
			}
			return nil
		}
	}
	defer ln.Close()
	p, err := proxy.New(proxy.Options{
		Banner: func() []string {
			n := notifier.Load()
			if n == nil {
				return nil
			}
			var lines []string
			for _, n := range n.Current() {
				lines = append(lines, n.Message)
			}
			slices.Sort(lines)
			return lines
		},
		Addr:        namedAddr(opts.named, ln),
		Listening:   ln.Addr(),
		AllowRemote: opts.AllowRemote,
		// Until the configuration can be used (--wait-for-config), every
		// request and the status page are answered with why it cannot.
		Config:              w.Config,
		Open:                f.keptSource,
		Logger:              f.Logger(),
		Clock:               clock.Now,
		Suggesting:          f.suggesting,
		StartCommand:        startCommand(f, opts),
		UserAgent:           userAgent(),
		SecretCommandNotice: secretNotice,
		Sending:             f.Sending,
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
	if w.isReady() {
		announceEnvs(f, w.start, base)
	} else {
		go func() {
			if s := w.wait(keeping); s != nil {
				fmt.Fprintln(f.IO.ErrOut, "freshtoken: the configuration can be used now; serving it")
				announceEnvs(f, s, base)
			}
		}()
	}

	// The proxy's live heap is a few megabytes, so at the default GOGC=100 a
	// busy proxy collects every few hundred requests; 400 spends a few more
	// megabytes of memory to collect a quarter as often (about 8% less CPU
	// per request under load). GOGC in the environment still decides.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(proxyGCPercent)
	}
	served := &upgradeListener{Listener: ln, handingOver: func() bool {
		u := upgradedTo()
		return u != nil && u.takesSocket
	}}
	if err := p.Serve(ctx, served); err != nil {
		return err
	}
	fmt.Fprintln(f.IO.ErrOut, "freshtoken proxy stopped.")
	if u := upgradedTo(); u != nil {
		return &upgraded{path: u.path, listener: served.kept.Load()}
	}
	return nil
}

// namedAddr is the address the proxy on ln is named by: the host of
// --listen as given (named), with the port ln is bound to (the one the
// system chose, for port 0); ln's own address when named gives no host.
func namedAddr(named string, ln net.Listener) string {
	host, _, _ := net.SplitHostPort(named)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if host == "" {
		return ln.Addr().String()
	}
	return net.JoinHostPort(host, port)
}

// busyRetry is how often the service's proxy tries its address again while
// another program holds it.
const busyRetry = 2 * time.Second

// listenWhenFree tries the proxy's address again every busyRetry while
// another program holds it (failed, net.Listen's error), saying so once,
// until it listens; nil and nil once ctx ends first.
func listenWhenFree(ctx context.Context, opts *proxyOptions, failed error) (net.Listener, error) {
	_, cause := httpx.ListenFailure(failed)
	fmt.Fprintf(opts.f.IO.ErrOut, "freshtoken: cannot listen on %s (%v), which another program holds; keeping every grant alive meanwhile, and serving there as soon as it is free\n", opts.Listen, cause)
	tick := time.NewTicker(busyRetry)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, nil
		case <-tick.C:
		}
		ln, err := net.Listen("tcp", opts.Listen)
		if fault, _ := httpx.ListenFailure(err); err == nil || fault != httpx.ListenBusy {
			return ln, err
		}
	}
}

// announceEnvs says where each environment of s is served, and warns of
// the client secrets that cannot be had here.
func announceEnvs(f *Factory, s *proxyStart, base string) {
	for _, name := range s.conf.Names() {
		// Padded as wide as "status page and log-in:", so that every
		// address starts in the same column as the status page's.
		fmt.Fprintf(f.IO.ErrOut, "  %-23s  %s/%s/  →  %s\n", name+":", base, name, s.conf.Envs[name].APIURL)
	}
	fmt.Fprintln(f.IO.ErrOut, "Send requests to these addresses with no authorization of your own: freshtoken adds a fresh token.")
	warnSecretProblems(f, s.conf)
}

// proxyStart is what the proxy starts keeping grants alive with: a
// configuration naming environments, and the transport its webhook
// notices go by (the top-level ca_file, read once).
type proxyStart struct {
	conf    *config.File
	webhook *http.Transport
}

// loadProxyStart reads what the proxy starts with, or says why it cannot
// (a usage or configuration error, exit 2).
func loadProxyStart(f *Factory) (*proxyStart, error) {
	conf, err := f.configured("run `freshtoken init` to add one")
	if err != nil {
		return nil, err
	}
	webhook, err := httpx.NewTransport(conf.CAFile) // the top-level ca_file
	var proxyErr *httpx.ProxyEnvError
	switch {
	case errors.As(err, &proxyErr):
		return nil, usageErrorf("%v", err)
	case err != nil:
		return nil, usageErrorf("%s: ca_file: %v", conf.Path, err)
	}
	return &proxyStart{conf: conf, webhook: webhook}, nil
}

// proxySecretCommandNotice says, once for each environment, and again
// when an edit gave it another command (see oncePerCommand), that the
// proxy or its keeper runs the environment's client_secret_cmd, for a
// request's renewal or to keep the grant alive: at info level, on standard
// error (a terminal, or a service's log), whatever --debug says, as a
// command that waits for a passphrase otherwise held every request of
// the environment without a word. At a terminal it adds to answer it. It
// names the key, never the command nor what it prints.
func proxySecretCommandNotice(f *Factory) func(env, command string) {
	return oncePerCommand(func(env string) {
		msg := gettingSecret(env)
		if f.IO.ErrTTY {
			msg += "; answer it if it asks for a passphrase"
		}
		f.say(f.IO.ErrOut, slog.LevelInfo, msg, "env", env)
	})
}

// newKeeper is the keeper of every grant the configuration names, as it
// stands at each look; s is what it starts with. notifier is set to its
// notifier, for the status page's banner.
func newKeeper(f *Factory, s *proxyStart, notifier *atomic.Pointer[notify.Notifier]) *keeper.Keeper {
	n := &notify.Notifier{Config: s.conf.Notify, Logger: f.Logger().With("component", "notify"), Transport: httpx.ExplainTLS(s.webhook), Now: clock.Now}
	notifier.Store(n)
	return &keeper.Keeper{
		// A configuration file moved away or deleted names no environment
		// to take out: it is one the keeper cannot read, so every watch
		// goes on, says why at each look, and the person is told once its
		// renewals have failed 15 minutes; read as empty, it ended every
		// watch and removed every token file, and the grants lapsed untold.
		Envs: func() ([]string, error) {
			c, err := f.keptConfig()
			if err != nil {
				return nil, err
			}
			return c.Names(), nil
		},
		// Each watch's look, too, says the file is gone: opened from the
		// file read as one naming nothing, it said the environment was not
		// configured and to add it with `freshtoken init -e ENV`, in the
		// log at every look and in the notice 15 minutes on, which would
		// write a new file holding that one environment alone.
		Open: func(ctx context.Context, env string) (*freshtoken.Source, error) {
			c, err := f.keptConfig()
			if err != nil {
				return nil, err
			}
			return f.sourceIn(ctx, c, env)
		},
		Logger: f.Logger().With("component", "keeper"),
		Now:    clock.Now,
		Ledger: configfile.TokenFileLedger(),
		Config: s.conf.Path,
		Notify: n,
		CheckStore: func(ctx context.Context, env string) error {
			if c, err := f.keptConfig(); err == nil {
				return checkStore(ctx, c.StoreURL, env, func() error { return checkEviction(ctx, c.StoreURL) })
			}
			return nil
		},
		Suggesting:  f.suggesting,
		SecretWhere: f.keptSecretWhere,
		Refuse: func(path string) string {
			if f.LogFile != "" && namesLogFile(path, f.LogFile) {
				return "it is this process's --log-file, which writing it would destroy, and the log would go on into it; name another token_file"
			}
			// Its folder as it is now: the configuration, read again only
			// once the file changes, was checked as the folder then was.
			return configfile.TokenFileFolderProblem(path)
		},
		TokenFile: func(env string) string {
			if c, err := f.keptConfig(); err == nil && c.Envs[env] != nil {
				return c.Envs[env].TokenFile
			}
			return ""
		},
		// An edit of an environment whose client the provider rejected is
		// tried at the next look, not 5 minutes (or an hour) after the rejection; and
		// while they are unchanged, its looks reuse one Source.
		Settings: func(env string) any {
			if c, err := f.keptConfig(); err == nil && c.Envs[env] != nil {
				n.Configure(c.Notify) // edits are followed at each look, as the environments' are
				return keptSettings{env: c.Envs[env], storeURL: c.StoreURL}
			}
			return nil
		},
	}
}

// keptSettings are what an environment's Source is opened with, as the
// keeper compares them from one look to the next: its own settings, and
// the store.
type keptSettings struct {
	env      *config.Env
	storeURL string
}

// keptSource opens env of the configuration as keptConfig reads it.
func (f *Factory) keptSource(ctx context.Context, env string) (*freshtoken.Source, error) {
	c, err := f.keptConfig()
	if err != nil {
		return nil, err
	}
	return f.sourceIn(ctx, c, env)
}

// keptRead is the configuration a long-running process last read, given
// again to whoever asks while the file is unchanged: the keeper's watch of
// each environment, at each look, read the whole file three times over
// (its settings, its token file, its store) and the proxy's page once
// more for each environment, so that a proxy of 2000 environments (an
// accountant's, one per client company) spent minutes of processor time
// at every look, and its page answered after 93 s. Then, read again every
// configRecheck all the same, each reading of that file (400 KB) made
// 37 MB of garbage, most of a proxy's memory. An edit is seen at once.
// Read again every configRecheck are only a reading that failed, as what
// it failed on may lie outside the file (a ca_file, a token_file's
// folder), and a reading not yet settled (see read): an edit of the same
// size may follow it unseen within the tick of the file system's clock.
// A token_file's folder made writable by others since is found at the
// keeper's write of the file (configfile.TokenFileFolderProblem), not by
// reading the whole file again. A file whose stamp changed but not its
// bytes nor its mode (a sync tool touching it) is read but not parsed
// again (config.Reload).
type keptRead struct {
	mu    sync.Mutex      // held while reading: watches starting at once share one reading
	stamp filestamp.Stamp // taken before the reading
	// looked is when, by now, the look that took stamp had ended: on a
	// network share that look may take a while, and a write during it
	// shares the stamp, so settling is counted from its end.
	looked time.Time
	conf   *config.File
	err    error
	now    func() time.Time // nil: time.Now; tests' clock
}

// read is the configuration at path(), read again (read: true) if it has
// changed, or as keptRead says.
func (k *keptRead) read(path func() (string, error)) (conf *config.File, read bool, err error) {
	p, err := path()
	if err != nil {
		return nil, false, err
	}
	now := time.Now
	if k.now != nil {
		now = k.now
	}
	at := now()
	stamp := filestamp.StampOf(p)
	looked := now()
	k.mu.Lock()
	defer k.mu.Unlock()
	recheck := k.conf == nil || !k.conf.Settled
	if !k.stamp.Same(stamp) || recheck && at.Sub(k.looked) >= configRecheck {
		// A reading is settled once the file's stamp stayed the same from
		// the end of one reading's look to the start of the next's,
		// configRecheck on by this clock, whatever its times say: every
		// write sharing that stamp fell in one tick of the file system's
		// clock that began before the first look ended, and so ended
		// before this reading. Judged by the file's times, one with a time
		// ahead of this clock (a network share's server ahead, this clock
		// set back since the edit) was never, and was read again every
		// configRecheck, and by the proxy at every request, for as long
		// as it ran; and one written moments before on a share whose
		// server's clock is behind was settled at once, and an edit of the
		// same size in the same tick after it was never read.
		unchanged := k.stamp.Same(stamp)
		k.conf, k.err = config.Reload(p, k.conf)
		if k.err == nil {
			k.conf.Settled = unchanged
		}
		k.stamp, k.looked, read = stamp, looked, true
	}
	return k.conf, read, k.err
}

// configRecheck is how often a proxy waiting for a configuration it can
// use (--wait-for-config) reads the file again, and a reading keptRead
// cannot trust for longer; a request or the status page reads it at once.
// It is no shorter than the tick of any file system's clock (2 s on FAT),
// so that a file's stamp the same over it tells every later change.
const configRecheck = 2 * time.Second

// configWait holds back the proxy's keeper until the configuration can be
// used. A proxy run as a service (--wait-for-config) started with one it
// cannot use (a mistake left in the file, the file moved, no environment
// yet) exited, and the service manager started it again every few seconds
// for ever: nothing listened, so clients met "connection refused", no
// grant was kept alive, and nothing said why. It now listens all the same,
// answers every request and the status page with why (configUnusableError),
// says it once in its log, and starts as usual once the file is fixed.
type configWait struct {
	f     *Factory
	ready chan struct{} // closed once start is set
	once  sync.Once
	start *proxyStart

	mu   sync.Mutex
	told string // the reason last said, by any wait
}

// try reads what the proxy starts with, if it has not yet, and returns why
// it cannot be had.
func (w *configWait) try() error {
	if w.isReady() {
		return nil
	}
	s, err := loadProxyStart(w.f)
	if err != nil {
		return err
	}
	w.once.Do(func() { w.start = s; close(w.ready) })
	return nil
}

func (w *configWait) isReady() bool {
	select {
	case <-w.ready:
		return true
	default:
		return false
	}
}

// Config is the proxy's configuration: until the proxy can start with one,
// the error that keeps it waiting; then as each command reads it (an edit
// that breaks it later is served on as last opened, and so is a file moved
// away or deleted: read as one naming nothing, it told every request of an
// unknown environment, and to run `freshtoken init`, which would write a
// new file in its place).
func (w *configWait) Config() (*config.File, error) {
	if err := w.try(); err != nil {
		return nil, &configUnusableError{err}
	}
	return w.f.keptConfig()
}

// keptConfig is the configuration as a long-running process reads it
// again: a file moved away or deleted since is a mistake (config.File.Gone),
// not a configuration naming nothing. Read without fault, the sources
// opened of environments it names no more are let go (see forgetOpened).
func (f *Factory) keptConfig() (*config.File, error) {
	c, read, err := f.kept.read(f.ConfigPath)
	if err != nil {
		return nil, err
	}
	if !c.Exists {
		return nil, c.Gone()
	}
	if read {
		// Once for each reading, not at each of the keeper's looks at
		// each environment, which went through every source opened.
		f.forgetOpened(c)
	}
	return c, nil
}

// wait returns what the proxy starts with once it can be had, reading the
// file every configRecheck and saying each new reason it cannot on stderr
// (once, not at every reading, nor by each of the waits: the service's
// keeper waits while another program holds its address, and its listener
// once it listens); nil if ctx ends first.
func (w *configWait) wait(ctx context.Context) *proxyStart {
	t := time.NewTicker(configRecheck)
	defer t.Stop()
	for {
		err := w.try()
		if err == nil {
			<-w.ready
			return w.start
		}
		w.tell(w.f.suggesting((&configUnusableError{err}).Error()))
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-w.ready: // a request found it fixed
		}
	}
}

// tell says msg, why the configuration cannot be used, on stderr, unless
// it was the reason last said.
func (w *configWait) tell(msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if msg != w.told {
		w.f.warn(msg)
		w.told = msg
	}
}

// configUnusableError is why a proxy waiting for a configuration it can
// use has none yet: every request is answered 503 configuration_unusable.
type configUnusableError struct{ err error }

func (e *configUnusableError) Error() string {
	return e.err.Error() + "; the proxy waits for a configuration it can use, reading the file again every few seconds, and needs no restart once it is fixed"
}
func (e *configUnusableError) Unwrap() error             { return e.err }
func (e *configUnusableError) FailureKind() failure.Kind { return failure.ConfigUnusable }

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
	if net.JoinHostPort(host, port) == instead {
		// A machine whose loopback is IPv6 alone (127.0.0.1 was refused,
		// localhost too, listened on as 127.0.0.1).
		instead = net.JoinHostPort("::1", port)
	}
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
