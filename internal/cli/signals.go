package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/shellrun"
)

// guard keeps a signal from costing the user their grant. Once a token
// request is sent, its answer may hold the only copy of a rotated refresh
// token, so the process must not end before the answer is stored:
//   - SIGPIPE never ends the process: a write to a closed pipe fails instead
//     (see SystemStreams and pipeWatch);
//   - once watching, the first SIGINT, SIGTERM or SIGHUP cancels the
//     command, and the process exits 128+N once every renewal in flight has
//     been stored;
//   - a write to standard output or error that its reader leaves waiting
//     does not outlast the first signal (see stallCut);
//   - an answer the store refused, which rotated the refresh token, is in
//     flight until the engine, trying again, has stored it: the process
//     waits for it, signal or not, and says so;
//   - an answer in hand is said to be being stored, not awaited, and once
//     stored, a second SIGINT warns of nothing lost;
//   - a second SIGINT (Ctrl-C again) ends the process at once, with a
//     warning if that abandons a renewal, saying the refresh token is lost
//     when the provider's answer is known to have rotated it;
//   - but not while a failed command puts back what it replaced (see
//     puttingBack): that is quick and local, and abandoned it could cost
//     the grant, so a second SIGINT says it is being finished, and only a
//     third abandons it, with a warning;
//   - SIGQUIT (Ctrl-\) and SIGABRT are signals that end the process, and
//     wait like them; SIGTSTP (Ctrl-Z) suspends it once no renewal is in
//     flight, as a suspended renewer would hold the renewal lock (see
//     suspending), unless one of them comes in between; a signal the
//     process was started ignoring stays ignored (see stopping and
//     suspendingNow);
//   - once exec hands over to its command (handOver), signals are that
//     command's, and the guard leaves them alone.
//
// The guard watches from the first renewal lock taken (Options.Locking),
// which may be a long wait for another process's renewal and comes before
// any token request (Sending), at the latest, or from the first read of the
// store that may wait (store.Waiting: Redis, a keychain, a record another
// process holds); a command that runs for long watches from its start.
// Until then a signal ends the process the ordinary way, as nothing is in
// flight, and a quick command that takes no lock and reads a record free to
// read (`token` with a valid token in the file store) starts no signal
// machinery at all.
type guard struct {
	errOut io.Writer
	// commandLine writes a freshtoken command to suggest (Main gives it
	// Factory.commandLine, which knows --config).
	commandLine func(args string) string
	cancel      context.CancelFunc
	exit        func(code int) // os.Exit; tests replace it
	delay       time.Duration  // how long a wait goes unexplained
	ch          chan os.Signal
	signalled   <-chan struct{} // closed at the first signal (or once Main is done)
	watching    atomic.Bool     // signals are caught, not left to end the process
	once        sync.Once       // starts the watching
	stopped     sync.Once       // ends it
	watcher     sync.WaitGroup  // the goroutine that acts on ch

	mu   sync.Mutex
	idle *sync.Cond // broadcast when live empties, or unsaved grows
	// live are the renewals told to Sending and not yet stored, oldest
	// first: with several environments renewing at once (exec, the
	// proxy), each wait and warning names the one it is about.
	live     []*told
	unsaved  int            // those whose answer the store refused (Renewal.Unsaved)
	toldWait string         // how the wait for them was last explained to be abandoned; "" if not
	sig      syscall.Signal // the first signal received; 0 if none
	handed   bool           // signals are the business of a command freshtoken runs
	suspend  bool           // Ctrl-Z came with a renewal in flight: suspend once none is
	putBack  *putBack       // what a failed command is putting back; nil if nothing
	// importing: the log-in's tokens being stored are an import's, which
	// the provider did not issue and the export still holds (see
	// importingTokens).
	importing importing
	// logins are the arguments of the log-in this command runs (see
	// loggingIn), by environment, for a second Ctrl-C to name it as run.
	logins map[string]string
}

// importing is what an import storing the export's tokens told the guard
// (see importingTokens).
type importing struct {
	on bool
	// left is what abandoning the import leaves as it is besides, not
	// put back; "" if nothing.
	left string
}

// told is a renewal told to Sending. A token request's is answered once
// its answer is in hand: Renewal.Storing or Unsaved told since for its
// environment, of a log-in's request for a log-in's tokens.
type told struct {
	r        freshtoken.Renewal
	answered bool
}

// request reports whether t is a token request's, not an answer's.
func (t *told) request() bool { return !t.r.Storing && !t.r.Unsaved }

// latest is the latest renewal in flight that is reports true for, and
// whether there is one. The caller holds g.mu.
func (g *guard) latest(is func(*told) bool) (freshtoken.Renewal, bool) {
	for i := len(g.live) - 1; i >= 0; i-- {
		if is(g.live[i]) {
			return g.live[i].r, true
		}
	}
	return freshtoken.Renewal{}, false
}

// What latest looks for: a request whose answer is awaited, one the
// store refused, any.
func isAwaited(t *told) bool { return t.request() && !t.answered }
func isRefused(t *told) bool { return t.r.Unsaved }
func isAny(*told) bool       { return true }

// putBack is what a failed command is putting back (see puttingBack).
type putBack struct {
	what, ifAbandoned string
	toldWait          bool // a second SIGINT was told that it is being finished
}

// guardSignals returns the guard and the context that the first signal
// cancels once the guard watches; stop ends the watching.
func guardSignals(errOut io.Writer) (ctx context.Context, g *guard, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	g = &guard{errOut: errOut, cancel: cancel, exit: os.Exit, delay: time.Second, signalled: ctx.Done(),
		ch: make(chan os.Signal, 4), commandLine: func(args string) string { return "freshtoken " + args }}
	g.idle = sync.NewCond(&g.mu)
	return ctx, g, func() { g.unwatch(); cancel() }
}

// watch starts watching for signals, once.
func (g *guard) watch() {
	g.once.Do(func() {
		// SIGPIPE too: whatever writes to the process's descriptors 1 and
		// 2 directly (the log package) then also gets EPIPE, not death.
		signal.Notify(g.ch, append(append(stopping(), suspendingNow()...), syscall.SIGPIPE)...)
		g.watching.Store(true)
		g.watcher.Add(1)
		go func() {
			defer g.watcher.Done()
			for s := range g.ch {
				g.received(s.(syscall.Signal))
			}
		}()
	})
}

// unwatch stops catching signals, so that each later one acts as it would
// without freshtoken's watching (or on the command exec hands the process
// to), and returns once every signal caught before has been acted on.
func (g *guard) unwatch() {
	g.once.Do(func() {}) // no watching starts after this
	g.stopped.Do(func() {
		signal.Stop(g.ch) // each signal caught so far is in g.ch: none is lost
		close(g.ch)
		g.watcher.Wait() // the watcher, if it started, acts on them all
	})
}

// stopping are the signals that would end the process: SIGINT, SIGTERM,
// SIGHUP, SIGQUIT and SIGABRT (a supervisor's watchdog, `kill -ABRT`,
// which would end a Go program at once with its stack dump: caught, the
// dump is given up for a renewal seen through; `kill -SYS` still gives
// it), less those it was started ignoring
// (nohup ignores SIGHUP, a shell's background job SIGINT), which Notify
// would stop ignoring, for freshtoken and for the command exec runs.
func stopping() []os.Signal {
	var sigs []os.Signal
	for _, s := range []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGABRT} {
		if !signal.Ignored(s) {
			sigs = append(sigs, s)
		}
	}
	return sigs
}

// stillComing returns the signal that interrupted the process once every
// stopping signal already sent to it has been acted on. A signal to the
// process group (Ctrl-C to `freshtoken get … | sleep 5`) also ends the
// output's reader, and the closed pipe that freshtoken may see first must
// not decide how it ends: the signal came too, and wins. A signal the
// kernel holds for the process, not yet delivered (Linux tells), is waited
// for, and one the Go runtime holds is acted on as the watching stops:
// stillComing ends it, so that a signal still on its way after it ends the
// process as it would without freshtoken, by the signal. Call it once no
// renewal is in flight, to decide how the process ends.
func (g *guard) stillComing() syscall.Signal {
	g.mu.Lock()
	wait := g.watching.Load() && !g.handed && g.sig == 0 && pendingSignals()&signalMask(stopping()) != 0
	g.mu.Unlock()
	if wait {
		// Delivered at once to one of the process's threads, in which no
		// such signal stays blocked; the limit only keeps a signal the
		// kernel never delivers from holding the process for ever.
		timer := time.NewTimer(stallLimit)
		select {
		case <-g.signalled:
		case <-timer.C:
		}
		timer.Stop()
	}
	g.unwatch() // acts on every signal caught so far
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sig
}

// pendingSignals are the signals sent to the process (or to the calling
// thread) and not yet delivered, as Linux's /proc tells; 0 elsewhere.
func pendingSignals() uint64 {
	return procStatusMask("ShdPnd:") | procStatusMask("SigPnd:")
}

// procStatusMask is the signal mask on the line of /proc/self/status that
// starts with field (SigIgn:, ShdPnd:); 0 where there is no /proc.
func procStatusMask(field string) uint64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if mask, ok := strings.CutPrefix(line, field); ok {
			m, _ := strconv.ParseUint(strings.TrimSpace(mask), 16, 64)
			return m
		}
	}
	return 0
}

// signalMask is sigs as a mask of /proc/self/status: bit N-1 for signal N.
func signalMask(sigs []os.Signal) uint64 {
	var m uint64
	for _, s := range sigs {
		if n := s.(syscall.Signal); n >= 1 && n <= 64 {
			m |= 1 << (n - 1)
		}
	}
	return m
}

// suspendingNow is suspending less the signals the process was started
// ignoring (a supervisor's `trap "" TSTP`), which Notify would stop
// ignoring, for freshtoken and for the command exec runs. The Go runtime
// leaves these alone until Notify, so signal.Ignored does not tell; Linux's
// /proc does, and elsewhere they are caught.
func suspendingNow() []os.Signal {
	ignored := procStatusMask("SigIgn:")
	var sigs []os.Signal
	for _, s := range suspending {
		if n := s.(syscall.Signal); n < 1 || n > 64 || ignored&(1<<(n-1)) == 0 {
			sigs = append(sigs, s)
		}
	}
	return sigs
}

// Sending is freshtoken.Options.Sending: it watches for signals, if the
// guard does not yet, and counts the renewals whose answers are not yet
// stored.
func (g *guard) Sending(r freshtoken.Renewal) func() {
	g.watch()
	t := &told{r: r}
	g.mu.Lock()
	if !t.request() {
		for _, l := range g.live {
			if l.request() && l.r.Env == r.Env && l.r.LogIn == r.LogIn {
				l.answered = true
			}
		}
	}
	g.live = append(g.live, t)
	if r.Unsaved {
		g.unsaved++
		g.idle.Broadcast() // settle explains the wait
	}
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			g.live = slices.DeleteFunc(g.live, func(l *told) bool { return l == t })
			if r.Unsaved {
				g.unsaved--
				if g.unsaved == 0 {
					g.toldWait = "" // a later one is told of afresh
				}
			}
			suspendNow := false
			if len(g.live) == 0 {
				g.idle.Broadcast()
				suspendNow, g.suspend = g.suspend, false
			}
			g.mu.Unlock()
			if suspendNow {
				suspend()
			}
		})
	}
}

// puttingBack tells the guard that a failed command is putting back what
// (the earlier tokens of sand, say) where it replaced it, until done is
// called: a second SIGINT then says it is being finished, rather than
// ending the process, and a third abandons it, saying ifAbandoned (where
// that leaves things, and what to do). It watches for signals, if the
// guard does not yet.
func (g *guard) puttingBack(what, ifAbandoned string) (done func()) {
	g.watch()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.putBack = &putBack{what: what, ifAbandoned: ifAbandoned}
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.putBack = nil
	}
}

// importingTokens tells the guard that the log-in's tokens stored until
// done are an export's: abandoned, they cost no log-in, only running the
// import again (the configuration is written after them); left is what
// abandoning them leaves as it is besides, which the warning names.
func (g *guard) importingTokens(left string) (done func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.importing = importing{on: true, left: left}
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.importing = importing{}
	}
}

// loggingIn tells the guard that this command logs env in: a second
// Ctrl-C abandoning the log-in, even once the command has returned and
// its tokens are still being stored, names args (login -e ENV and the
// flags that shape it) as the command to run again, where it named
// `freshtoken login -e ENV`, the flags dropped.
func (g *guard) loggingIn(env, args string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.logins == nil {
		g.logins = map[string]string{}
	}
	g.logins[env] = args
}

// handOver leaves signals to a command freshtoken runs (exec), which
// decides when to end, and reports whether it may start: false when a
// signal came first. Where the command takes the process over, freshtoken
// stops catching signals first, so that one that comes in between is
// either seen here or acts as it would on the command. A renewal in flight
// (one left going by a caller served a token still valid, its store
// stalled) is stored first: end its context before, so that none starts
// after.
func (g *guard) handOver() bool {
	g.settle()
	if commandTakesOver {
		g.unwatch()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.handed = g.sig == 0
	return g.handed
}

// received acts on signal s.
func (g *guard) received(s syscall.Signal) {
	if s == syscall.SIGPIPE {
		return // the write that raised it has failed; the command carries on
	}
	g.mu.Lock()
	if g.handed {
		g.mu.Unlock()
		return
	}
	if slices.Contains(suspending, os.Signal(s)) {
		g.suspend = len(g.live) > 0
		last, later := g.latest(isAny)
		g.mu.Unlock()
		if !later {
			suspend()
			return
		}
		fmt.Fprintf(g.errOut, "freshtoken: suspending once the %s already sent to %s is stored\n", what(last), host(last.TokenURL))
		return
	}
	first := g.sig == 0
	if first {
		g.sig = s
	}
	g.suspend = false // asked to end after a Ctrl-Z: ending it is, not suspending
	abandoned := g.abandoned()
	pb, waitPutBack, imp, logins := g.putBack, false, g.importing, maps.Clone(g.logins)
	if pb != nil && !first && s == syscall.SIGINT {
		waitPutBack, pb.toldWait = !pb.toldWait, true
	}
	g.mu.Unlock()
	switch {
	case first:
		g.cancel()
		time.AfterFunc(g.delay, g.explainWait)
	case waitPutBack:
		fmt.Fprintf(g.errOut, "freshtoken: putting back %s first, which takes a moment: abandoned, it could cost you the authorisation; Ctrl-C again abandons it\n", pb.what)
	case s == syscall.SIGINT:
		if pb != nil {
			fmt.Fprintf(g.errOut, "freshtoken: putting back %s abandoned: %s\n", pb.what, pb.ifAbandoned)
		} else {
			for _, r := range abandoned {
				fmt.Fprint(g.errOut, g.abandonedLine(r, imp, logins))
			}
		}
		g.exit(128 + int(syscall.SIGINT))
	}
}

// abandoned is, for each environment with a renewal in flight, oldest
// first, the one whose abandoning costs the most (see cost), the latest of
// those that cost as much; none for one whose renewals cost nothing. The
// caller holds g.mu.
func (g *guard) abandoned() []freshtoken.Renewal {
	var envs []string
	worst := map[string]*told{}
	for _, t := range g.live {
		w, seen := worst[t.r.Env]
		if cost(t) == 0 || seen && cost(t) < cost(w) {
			continue
		}
		if !seen {
			envs = append(envs, t.r.Env)
		}
		worst[t.r.Env] = t
	}
	rs := make([]freshtoken.Renewal, len(envs))
	for i, env := range envs {
		rs[i] = worst[env].r
	}
	return rs
}

// cost is what abandoning t costs: an answer the store refused (3), then
// an answer being stored (2), then a request still awaited (1); one with
// nothing to lose, or a request answered since, costs nothing (0).
func cost(t *told) int {
	switch {
	case t.r.NothingToLose:
		return 0
	case t.r.Unsaved:
		return 3
	case t.r.Storing:
		return 2
	case isAwaited(t):
		return 1
	}
	return 0
}

// costliest is the renewal in flight whose wait a first signal explains:
// the latest of those whose abandoning costs the most (see cost), else,
// all having nothing to lose, the latest answer being stored, else the
// latest request awaited; false if none. The caller holds g.mu.
func (g *guard) costliest() (freshtoken.Renewal, bool) {
	rank := func(t *told) int {
		switch {
		case cost(t) > 0:
			return 2 + cost(t)
		case t.r.Storing:
			return 2
		case isAwaited(t):
			return 1
		}
		return 0
	}
	best, r := 0, freshtoken.Renewal{}
	for _, t := range g.live {
		if k := rank(t); k > 0 && k >= best {
			best, r = k, t.r
		}
	}
	return r, best > 0
}

// abandonedLine is the warning for r abandoned by a second Ctrl-C, r
// having something to lose (one with no refresh token costs nothing: the
// next call requests another token); imp says whether a log-in's tokens
// are an import's (see importingTokens), and logins are the arguments of
// the log-ins this command runs, by environment (see loggingIn).
func (g *guard) abandonedLine(r freshtoken.Renewal, imp importing, logins map[string]string) string {
	again := "login -e " + r.Env // the log-in to run again
	if args, ok := logins[r.Env]; ok && r.LogIn {
		again = args
	}
	switch {
	case r.Unsaved:
		return fmt.Sprintf("freshtoken: renewal abandoned: the new tokens %s issued were never stored, so the refresh token is lost; run `%s`\n", host(r.TokenURL), g.commandLine("login -e "+r.Env))
	case r.Storing && r.LogIn && imp.on:
		left := ""
		if imp.left != "" {
			left = ", but " + imp.left
		}
		return fmt.Sprintf("freshtoken: import abandoned while the export's tokens for %s were being stored; the configuration was not changed%s: run the import again\n", r.Env, left)
	case r.Storing && r.LogIn:
		return fmt.Sprintf("freshtoken: log-in abandoned: the tokens %s issued for it were not stored; run `%s` again\n", host(r.TokenURL), g.commandLine(again))
	case r.Storing:
		return fmt.Sprintf("freshtoken: renewal abandoned: the new tokens %s issued were not stored, so the refresh token is lost; run `%s`\n", host(r.TokenURL), g.commandLine("login -e "+r.Env))
	case r.LogIn:
		return fmt.Sprintf("freshtoken: log-in abandoned: the tokens %s may have issued for it were not stored; run `%s` again\n", host(r.TokenURL), g.commandLine(again))
	}
	return fmt.Sprintf("freshtoken: renewal abandoned: if %s had already issued new tokens, the refresh token is lost; run `%s` if the next call says so\n", host(r.TokenURL), g.commandLine("login -e "+r.Env))
}

// explainWait says what the process waits for, if a renewal still is:
// with several environments' in flight, all of them, in one line.
func (g *guard) explainWait() {
	g.mu.Lock()
	msg := ""
	switch several := g.abandoned(); {
	case len(several) > 1:
		msg = g.severalWait(several)
	case g.unsaved > 0:
		msg = g.unsavedWait()
	default:
		if last, ok := g.costliest(); ok && last.Storing {
			msg = g.storingWait(last)
		} else if ok {
			loss := " and may end the authorisation"
			switch {
			case last.NothingToLose:
				loss = ""
			case last.LogIn:
				loss = ", and the log-in with it"
			}
			msg = fmt.Sprintf("freshtoken: waiting up to %s for the %s already sent to %s to be stored; %s abandons it%s\n",
				last.Timeout.Round(time.Second), what(last), host(last.TokenURL), g.abandonKeys(), loss)
		}
	}
	g.mu.Unlock()
	fmt.Fprint(g.errOut, msg)
}

// namedAtMost is how many environments the line of a wait for several
// names, the rest counted: a proxy renewing many at once (as the machine
// wakes, every token expired) wrote each of them on it, 50 renewals a line
// of 3,500 characters. A second Ctrl-C names each abandoned, on a line of
// its own, with what to run.
const namedAtMost = 3

// severalWait is the line that says the process waits for the renewals of
// several environments, rs (as abandoned gives them), naming the oldest
// and where each is, as briefly as a second Ctrl-C then names each
// abandoned, and counting the rest (see namedAtMost). Those whose answer
// the store refused are named first: their wait lasts until the store
// takes it, and it is told here, not by unsavedWait, unless none is named
// (one that loses nothing is not). The caller holds g.mu.
func (g *guard) severalWait(rs []freshtoken.Renewal) string {
	rs = slices.Clone(rs)
	slices.SortStableFunc(rs, func(a, b freshtoken.Renewal) int {
		switch {
		case a.Unsaved == b.Unsaved:
			return 0
		case a.Unsaved:
			return -1
		}
		return 1
	})
	// What abandoning them costs: the log-ins, which have no grant yet to
	// end, when they are all log-ins (abandoned gives none that loses
	// nothing).
	which, loss := "renewals", ", and may end their authorisations"
	switch {
	case slices.ContainsFunc(rs, func(r freshtoken.Renewal) bool { return !r.LogIn }):
	case g.importing.on:
		which, loss = "log-ins", ", and the import with them"
	default:
		which, loss = "log-ins", ", and the log-ins with them"
	}
	var named []string
	for i, r := range rs {
		if i == namedAtMost && len(rs) > namedAtMost+1 {
			named = append(named, fmt.Sprintf("%d more", len(rs)-namedAtMost))
			break
		}
		switch {
		case r.Unsaved:
			named = append(named, fmt.Sprintf("%s's new tokens from %s, which the store refused (trying again until it takes them)", r.Env, host(r.TokenURL)))
		case r.Storing && r.LogIn && g.importing.on:
			named = append(named, "the export's tokens for "+r.Env)
		case r.Storing && r.LogIn:
			named = append(named, fmt.Sprintf("the tokens %s's log-in brought from %s", r.Env, host(r.TokenURL)))
		case r.Storing:
			named = append(named, fmt.Sprintf("%s's new tokens from %s", r.Env, host(r.TokenURL)))
		default:
			named = append(named, fmt.Sprintf("%s's %s already sent to %s (up to %s)", r.Env, what(r), host(r.TokenURL), r.Timeout.Round(time.Second)))
		}
	}
	list := strings.Join(named, " and ")
	if len(named) > 2 {
		list = strings.Join(named[:len(named)-1], ", ") + ", and " + named[len(named)-1]
	}
	abandon := g.abandonKeys()
	if rs[0].Unsaved {
		g.toldWait = abandon
	}
	return fmt.Sprintf("freshtoken: waiting for the %s in flight to be stored, then exiting: %s; %s abandons them all%s\n", which, list, abandon, loss)
}

// storingWait is the line that says the process is storing tokens in
// hand (inHand), and what abandoning them costs. The caller holds g.mu.
func (g *guard) storingWait(inHand freshtoken.Renewal) string {
	what, loss := "the new tokens from "+host(inHand.TokenURL), ", and the refresh token with them"
	switch {
	case inHand.LogIn && g.importing.on:
		what, loss = "the export's tokens for "+inHand.Env, ", and the import with them"
	case inHand.LogIn:
		what, loss = "the tokens the log-in brought from "+host(inHand.TokenURL), ", and the log-in with them"
	case inHand.NothingToLose:
		loss = ""
	}
	return fmt.Sprintf("freshtoken: storing %s, then exiting; %s abandons them%s\n", what, g.abandonKeys(), loss)
}

// stopKeys is what ends the process at once from here, as abandonKeys.
func (g *guard) stopKeys() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.abandonKeys()
}

// abandonKeys is what abandons a renewal in flight from here: a second
// SIGINT does, whatever the first signal was. The caller holds g.mu.
func (g *guard) abandonKeys() string {
	switch g.sig {
	case 0:
		return "Ctrl-C twice"
	case syscall.SIGINT:
		return "Ctrl-C again"
	}
	return "Ctrl-C" // stopped by SIGTERM, SIGHUP, SIGQUIT or SIGABRT: one Ctrl-C is the second signal
}

// unsavedWait is the line that says that the process waits for the store
// to take an answer it refused; "" once said, until a first signal changes
// how to abandon it. The caller holds g.mu.
func (g *guard) unsavedWait() string {
	abandon := g.abandonKeys()
	if g.toldWait == abandon {
		return ""
	}
	g.toldWait = abandon
	refused, _ := g.latest(isRefused)
	loss := ", and the refresh token with them"
	if refused.NothingToLose {
		loss = ""
	}
	return fmt.Sprintf("freshtoken: waiting for the store to take the new tokens from %s, which it refused; trying again until it does, then exiting; %s abandons them%s\n",
		host(refused.TokenURL), abandon, loss)
}

// settle waits until no renewal is in flight, saying so while it waits for
// the store to take an answer it refused, and returns the signal that
// interrupted the process, or 0.
func (g *guard) settle() syscall.Signal {
	g.mu.Lock()
	defer g.mu.Unlock()
	for len(g.live) > 0 {
		msg := ""
		if g.unsaved > 0 {
			msg = g.unsavedWait()
		}
		if msg == "" {
			g.idle.Wait()
			continue
		}
		g.mu.Unlock() // a stalled stderr must not hold up a second Ctrl-C
		fmt.Fprint(g.errOut, msg)
		g.mu.Lock()
	}
	return g.sig
}

func host(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && u.Host != "" {
		return u.Host
	}
	return "the provider"
}

// pipeWatch is a stream whose reader may go away (`| head`): a write to it
// then fails with EPIPE rather than ending the process, and the failure is
// remembered so that the process exits as a killed pipeline member would.
// A reader that stays but stops reading (`| sleep 1000`) holds a write
// only until a signal (see stallCut). On standard output (unwritten set),
// any other failed write is an outputError, and the first is remembered,
// so that a command whose result was not written cannot succeed, whatever
// it does with the error.
type pipeWatch struct {
	w         io.Writer
	broken    *atomic.Bool
	unwritten *atomic.Pointer[outputError] // nil on standard error
	stall     *stallCut
}

// underlying is the stream w writes to, past a pipeWatch: so that a
// command freshtoken runs shares the console rather than a pipe, and so
// that the file standard output goes to can be looked at.
func underlying(w io.Writer) io.Writer {
	if p, ok := w.(pipeWatch); ok {
		return p.w
	}
	return w
}

func (p pipeWatch) Write(b []byte) (int, error) {
	n, err := p.stall.write(p.w, b)
	switch {
	case err == nil:
	case errors.Is(err, syscall.EPIPE):
		p.lostReader()
	case p.unwritten != nil:
		oe := &outputError{err: err}
		p.unwritten.CompareAndSwap(nil, oe)
		return n, oe
	}
	return n, err
}

// lostReader remembers that the stream's reader went away, so that the
// process exits as a killed pipeline member would.
func (p pipeWatch) lostReader() {
	p.broken.Store(true)
	p.catchSignals()
}

// catchSignals catches signals from here, so that the process, not killed
// by one that closed the stream's pipe too, ends by it all the same (see
// stillComing).
func (p pipeWatch) catchSignals() {
	if p.stall != nil {
		p.stall.g.watch()
	}
}

// errStalled is a write given up at a signal: its reader had stopped
// reading.
var errStalled = errors.New("its reader stopped reading")

// stallLimit is how long a write begun after a signal (the last words: a
// warning, "interrupted") may wait for its reader.
const stallLimit = time.Second

// stallCut gives up a write to standard output or error that its reader
// leaves waiting (a pipe to a reader that stopped reading, a terminal
// paused with Ctrl-S) once a signal has come, so that the signal ends the
// command as it ends every other wait: at once for a write under way,
// within stallLimit for one begun after it (the last words). A write given
// up may still land later; the writes after it wait for it first, within
// their own limit, so that none lands out of order. It acts only while the
// guard watches: until then a signal ends the process itself, and writes
// cost nothing more.
type stallCut struct {
	g *guard

	mu      sync.Mutex
	pending chan struct{} // closed once the write given up has ended; nil if none
}

func (c *stallCut) write(w io.Writer, b []byte) (int, error) {
	if c == nil || !c.g.watching.Load() {
		return w.Write(b)
	}
	c.mu.Lock()
	pending := c.pending // only ever set after the signal
	c.mu.Unlock()
	var limit <-chan time.Time // set if the write begins after the signal
	if pending != nil || isClosed(c.g.signalled) {
		timer := time.NewTimer(stallLimit)
		defer timer.Stop()
		limit = timer.C
	}
	if pending != nil {
		select {
		case <-pending:
		case <-limit:
			return 0, errStalled
		}
	}
	written := 0
	for len(b) > 0 {
		chunk := b[:min(len(b), stallChunk)]
		n, err := c.writeChunk(w, chunk, limit)
		written += n
		if err != nil {
			return written, err
		}
		b = b[len(chunk):]
	}
	return written, nil
}

// isClosed reports whether ch has been closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// stallChunk is the most a write hands its reader at a time, in a copy of
// its own, so that a large document is not copied whole.
const stallChunk = 64 << 10

// writeChunk writes b, giving it up at the signal, or at limit if set.
func (c *stallCut) writeChunk(w io.Writer, b []byte, limit <-chan time.Time) (int, error) {
	var (
		n    int
		err  error
		done = make(chan struct{})
		own  = slices.Clone(b) // b is the caller's again once write returns
	)
	go func() {
		n, err = w.Write(own)
		close(done)
	}()
	select {
	case <-done:
		return n, err
	case <-c.g.signalled:
	}
	if limit != nil { // begun after the signal: it has until its limit
		select {
		case <-done:
			return n, err
		case <-limit:
		}
	}
	select {
	case <-done: // ended as the signal came
		return n, err
	default:
	}
	c.mu.Lock()
	c.pending = done
	c.mu.Unlock()
	return 0, errStalled
}

// errHungUp is a read of a terminal that has closed (EIO). The terminal's
// SIGHUP comes after it, if at all (a shell passes its own on to its
// jobs), so the command ends as that signal would end it (see signalOf):
// a prompt at a closed terminal ended as a bug, exit 1, "read /dev/stdin:
// input/output error".
var errHungUp = errors.New("the terminal closed")

// hungUp is err, a terminal read's, as errHungUp if the terminal closed.
func hungUp(err error) error {
	if errors.Is(err, syscall.EIO) {
		return fmt.Errorf("%w (%w)", errHungUp, err)
	}
	return err
}

// errBackground is a read of the terminal by a background job that no
// SIGTTIN stops until fg: a supervisor or shell ignores it, or the
// subshell that left the job there has ended (`(freshtoken init &)`),
// and no shell would bring its process group back. The read fails with
// EIO, as a read of a closed terminal does, and was told as one, "the
// terminal closed (SIGHUP)", exit 129, of a terminal still open.
var errBackground error = &usageError{msg: "the terminal cannot be read from the background: freshtoken is not its foreground job, and nothing stops it there until fg brings it back (SIGTTIN is ignored, or the shell that started it has gone); run the command in the foreground, or give it what it asks for another way (flags, a file)"}

// terminalReadErr is err, a read of the terminal fd's: errBackground when
// it failed for the process being in the background of a terminal still
// open, else as hungUp says.
func terminalReadErr(fd int, err error) error {
	if errors.Is(err, syscall.EIO) && background(fd) {
		return errBackground
	}
	return hungUp(err)
}

// signalOf is the signal that err, a command's, stands for: a closed
// terminal is SIGHUP, and a command freshtoken ran (client_secret_cmd)
// ended by a signal that a terminal sent freshtoken too, as to every
// process of the job, is that signal. Either ends the process as the
// signal does, whether or not the guard has seen it yet. 0 for any other.
func signalOf(err error) syscall.Signal {
	var stopped *shellrun.Stopped
	switch {
	case errors.Is(err, errHungUp):
		return syscall.SIGHUP
	case errors.As(err, &stopped):
		return stopped.Signal
	}
	return 0
}

// commandsSignal is the signal that err, a command's last, stands for
// (see signalOf), and err. A command freshtoken ran (client_secret_cmd)
// ended by a signal is freshtoken's interruption only if freshtoken got a
// signal too (a terminal's Ctrl-C to the job; see guard.stillComing), its
// own then deciding the exit status; one sent to the command alone (a kill
// by hand, a password manager's own time-out) is that command's failure,
// the system's doing or a person's, not a bug: exit 2, as a service
// manager's command's is (runServiceCommand).
func commandsSignal(g *guard, err error) (syscall.Signal, error) {
	if !errors.As(err, new(*shellrun.Stopped)) {
		return signalOf(err), err
	}
	if sig := g.stillComing(); sig != 0 {
		return sig, err
	}
	cause, then := err.Error(), ""
	var ss *signalStopped
	if errors.As(err, &ss) {
		cause, then = ss.err.Error(), "; "+ss.msg // what was kept, and what to run
	}
	return 0, config.Invalidf("%s; that signal came to the command alone, not to freshtoken: run it yourself to see what ends it%s", cause, then)
}

// what a token request in flight is called: a renewal, or a log-in's.
func what(r freshtoken.Renewal) string {
	if r.LogIn {
		return "log-in"
	}
	return "renewal"
}

// signalStopped is a command's own last word when a signal ended a command
// it ran (err, which signalOf tells the signal of): said whole after
// "interrupted: ", where the signal alone is said as "interrupted".
type signalStopped struct {
	msg string
	err error
}

func (e *signalStopped) Error() string { return e.msg }
func (e *signalStopped) Unwrap() error { return e.err }
