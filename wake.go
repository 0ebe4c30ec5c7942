package freshtoken

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/freshtoken/freshtoken/internal/httpx"
)

// sleptGap is how far the wall clock may run ahead of (or behind) the
// time this process was running, between two requests, before the machine
// is taken to have slept (or its clock to have been set).
const sleptGap = 5 * time.Second

// started is the monotonic reading that wakeWatch's moments count from.
var started = time.Now()

// wakeWatch tells, at each request, whether the machine slept since the
// one before: a laptop's lid closed, a virtual machine suspended. The
// connections kept alive from before lead, as often as not, to a network
// left behind, whose peer never answers and never closes them (no FIN, no
// RST); a request sent on one waits out its whole timeout. Go's transport
// keeps them, for its idle timer counts only the time the machine was
// running (the monotonic clock stops in a suspend), as this watch does:
// the wall clock alone counts the sleep. A clock set by hand or by NTP
// looks the same, and costs only new connections.
type wakeWatch struct{ last atomic.Pointer[moment] }

// moment is one instant on both clocks.
type moment struct {
	wall int64         // Unix nanoseconds
	ran  time.Duration // since started, on the monotonic clock
}

// slept notes now and reports whether the machine slept since the last
// note; the first note reports false.
func (w *wakeWatch) slept() bool {
	now := time.Now()
	m := &moment{wall: now.UnixNano(), ran: now.Sub(started)}
	prev := w.last.Swap(m)
	if prev == nil {
		return false
	}
	gap := time.Duration(m.wall-prev.wall) - (m.ran - prev.ran)
	return gap.Abs() > sleptGap
}

// closeIdle closes rt's idle connections, http.DefaultTransport's for nil,
// when rt can.
func closeIdle(rt http.RoundTripper) {
	if rt == nil {
		rt = http.DefaultTransport
	}
	httpx.CloseIdle(rt)
}
