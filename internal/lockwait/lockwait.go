// Package lockwait tells the user of a wait for an environment's renewal
// lock, once it has lasted: the engine's renewals and `store migrate` wait
// for it alike, and say so in the same way.
package lockwait

import (
	"sync"
	"time"
)

// ask is how often a store that can tell a stuck holder is asked again
// while the wait lasts: a holder may be stopped once the wait is told.
const ask = time.Second

// Notice tells one wait for a renewal lock. Once started and lasting
// after, it says so once; with stuck (which names the lock's holder when
// it cannot let go until a person acts, "" otherwise; nil for a store that
// cannot tell), it asks instead, and again each second while the wait
// lasts, until the holder has been named once. say is told "" for the wait
// itself, or the stuck holder's words; it is never called twice at once,
// nor once Stop has returned.
type Notice struct {
	after time.Duration
	stuck func() string
	say   func(stuck string)

	mu    sync.Mutex
	timer *time.Timer
	ended bool
	told  bool // the wait itself has been told
}

// New returns a Notice for a wait that Start begins.
func New(after time.Duration, stuck func() string, say func(stuck string)) *Notice {
	return &Notice{after: after, stuck: stuck, say: say}
}

// Start marks the wait begun; calls after the first, or after Stop, do
// nothing.
func (n *Notice) Start() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.timer == nil && !n.ended {
		n.timer = time.AfterFunc(n.after, n.tell)
	}
}

// Stop marks the wait ended: once it returns, whatever was told is whole,
// and nothing more will be.
func (n *Notice) Stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ended = true
	if n.timer != nil {
		n.timer.Stop()
	}
}

func (n *Notice) tell() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ended {
		return
	}
	if n.stuck != nil {
		if holder := n.stuck(); holder != "" {
			n.say(holder)
			return
		}
		n.timer.Reset(ask)
	}
	if !n.told {
		n.say("")
		n.told = true
	}
}
