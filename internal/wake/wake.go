// Package wake tells whoever keeps connections alive that the machine
// slept (a laptop's lid closed, a virtual machine suspended) since they
// last used them. Connections kept from before a sleep lead, as often as
// not, to a network left behind, whose peer never answers and never closes
// them (no FIN, no RST): a request sent on one waits out its whole
// timeout. Go's transport keeps them, for its idle timer counts only the
// time the machine ran (on Linux and macOS its clock stops in a suspend).
//
// A sleep is seen as the wall clock running more than Gap ahead of (or
// behind) the time the process ran, between two requests anywhere in the
// process: the connections a transport holds are the process's, shared by
// every Source that uses it, and a Source opened after the sleep (as the
// keeper opens one at each look) must close those kept by the one before.
// A clock set by hand or stepped by NTP looks the same, and costs each
// Watch one closing of its idle connections.
package wake

import (
	"sync"
	"sync/atomic"
	"time"
)

// Gap is how far the wall clock may run ahead of (or behind) the time the
// process ran, between two requests, before the machine is taken to have
// slept (or its clock to have been set).
const Gap = 5 * time.Second

// started is the monotonic reading the process's running time counts from.
var started = time.Now()

// process is the process's one watch on the clocks.
var process struct {
	mu     sync.Mutex // guards the rest
	noted  bool       // whether last holds a request's moment
	last   moment     // the latest request's
	sleeps uint64     // sleeps seen
}

// moment is one instant on both clocks.
type moment struct {
	wall int64         // Unix nanoseconds
	ran  time.Duration // since started, on the monotonic clock
}

// note notes a request now and returns the number of sleeps the process
// has seen, any since the request before included.
func note() uint64 {
	now := time.Now()
	m := moment{wall: now.UnixNano(), ran: now.Sub(started)}
	process.mu.Lock()
	defer process.mu.Unlock()
	if process.noted {
		gap := time.Duration(m.wall-process.last.wall) - (m.ran - process.last.ran)
		if gap.Abs() > Gap {
			process.sleeps++
		}
	}
	process.last, process.noted = m, true
	return process.sleeps
}

// seen returns the number of sleeps the process has seen so far, noting
// no request.
func seen() uint64 {
	process.mu.Lock()
	defer process.mu.Unlock()
	return process.sleeps
}

// Watch is one user's view of the process's sleeps: one set of kept-alive
// connections (a transport) and the requests that go over it. Make it with
// Start; the zero Watch takes every sleep the process has seen as new.
type Watch struct{ closed atomic.Uint64 }

// Start makes w take only the sleeps seen from now on as new: those
// already seen had their connections closed by whoever saw them.
func (w *Watch) Start() { w.closed.Store(seen()) }

// Before notes a request about to go over w's connections and, if the
// machine slept since w last did, calls closeIdle first and returns true.
// Requests that come together after a sleep each call closeIdle until one
// of them has returned from it, so none goes on before the connections
// from before the sleep are closed.
func (w *Watch) Before(closeIdle func()) bool {
	n := note()
	if w.closed.Load() >= n {
		return false
	}
	closeIdle()
	for c := w.closed.Load(); c < n && !w.closed.CompareAndSwap(c, n); c = w.closed.Load() {
	}
	return true
}

// Pretend makes the process take the machine to have slept for d since
// its latest request (if it made one): the wall clock d ahead of the time
// the process ran; a negative d is the clock set back. For tests, which
// cannot put the machine to sleep.
func Pretend(d time.Duration) {
	process.mu.Lock()
	defer process.mu.Unlock()
	process.last.wall -= int64(d)
}
