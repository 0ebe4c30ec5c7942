package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/freshtoken/freshtoken/internal/stallwatch"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/keyringstore"
)

// stallNotices says on w, a terminal, that the store (Redis, the keychain)
// has left a call unanswered for store.StallNotice, or for as long as it
// has when told later (a renewal under way joined): the command waits for
// it longer before it reports it unreachable, and a person, seeing
// nothing, took it for a hang. It says so once for each outage: not for
// each call that waits or gives up meanwhile (a proxy said it again each
// minute of one outage, as its keeper's calls gave up), and again when the
// store, having answered since (store.WithAnswered), stalls again. In the
// form of the log (f.say), a line of JSON with --log-format json.
//
// Its lines are written by a goroutine of its own, never by the store's
// call that tells the stall: that call holds the server's lock while it
// tells, and a terminal paused with Ctrl-S held every call to that server
// from the process, a proxy's too, until it was let go. A stall that ends
// before its line can be written (the terminal still paused) is not said,
// and a line says how long the store has not answered as it is written:
// once the terminal is let go, it shows the outages still under way, not
// one line for each stall and answer it missed.
type stallNotices struct {
	f   *Factory
	w   io.Writer
	now func() time.Time // the time the wait is measured to (time.Now)

	mu      sync.Mutex
	outages map[string]*outage // by store, from its stall until it answers
	wake    chan struct{}      // a line is due; holds one wake at most
	quit    chan struct{}      // closed by stop
	done    chan struct{}      // closed as the writer ends; nil until it starts
}

// outage is a store's stall told and not yet answered: since is when the
// call told stalled first was sent, said whether its line was begun.
type outage struct {
	since time.Time
	said  bool
}

func newStallNotices(f *Factory, w io.Writer, now func() time.Time) *stallNotices {
	return &stallNotices{f: f, w: w, now: now, outages: map[string]*outage{}, wake: make(chan struct{}, 1), quit: make(chan struct{})}
}

// listen returns ctx with which the stores' calls tell n their stalls and
// answers.
func (n *stallNotices) listen(ctx context.Context) context.Context {
	return store.WithAnswered(store.WithStalled(ctx, n.stalled), n.answered)
}

// stalled is the stores' listener (store.WithStalled): a stall of a store
// not under way already is due a line. Ends are not told by it (see
// answered).
func (n *stallNotices) stalled(what string, stalled bool, since time.Time) {
	if !stalled {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.outages[what] != nil || isClosed(n.quit) {
		return
	}
	n.outages[what] = &outage{since: since}
	if n.done == nil {
		n.done = make(chan struct{})
		go n.write()
	}
	select {
	case n.wake <- struct{}{}:
	default: // a wake is due already
	}
}

// answered is told as what answers a call (store.WithAnswered): its
// outage is over, said or not.
func (n *stallNotices) answered(what string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.outages, what)
}

// write writes the lines due, one at a time, until stop.
func (n *stallNotices) write() {
	defer close(n.done)
	for {
		select {
		case <-n.quit:
			return
		case <-n.wake:
		}
		for {
			line, ok := n.next()
			if !ok {
				break
			}
			n.f.say(n.w, slog.LevelWarn, line)
		}
	}
}

// next returns the line of the earliest outage under way not yet said,
// marking it said, and false if none is due or stop was called.
func (n *stallNotices) next() (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if isClosed(n.quit) {
		return "", false
	}
	var (
		first string
		o     *outage
	)
	for what, out := range n.outages {
		if !out.said && (o == nil || out.since.Before(o.since)) {
			first, o = what, out
		}
	}
	if o == nil {
		return "", false
	}
	o.said = true
	line := fmt.Sprintf("waiting for %s, which has not answered for %s", first, stallwatch.Unanswered(o.since, n.now()))
	if first == keyringstore.StallName() {
		// A keychain call that waits is most often waiting on a prompt
		// to unlock it or allow access, which a person may not have seen.
		line += ": it may be waiting for you to unlock it or allow access, in a prompt on your desktop"
	}
	return line + "…", true
}

// stop ends the notices, before the command's last word: it waits for a
// line begun (so that it comes before that word; a signal gives up a
// write held by a paused terminal, see stallCut), and no line is begun
// after it.
func (n *stallNotices) stop() {
	n.mu.Lock()
	if !isClosed(n.quit) {
		close(n.quit)
	}
	done := n.done
	n.mu.Unlock()
	if done != nil {
		<-done
	}
}
