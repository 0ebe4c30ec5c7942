package freshtoken

import (
	"net/http"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/wake"
)

// closeAfterSleep closes rt's idle connections (http.DefaultTransport's for
// nil), and those of the transports config.Open shares, if the machine
// slept since w's last request (see wake.Watch): they lead, as often as
// not, to a peer that never answers. The shared ones are closed by the
// first Source to see the sleep, for a Source opened after it (as the
// keeper opens one at each look) takes the sleep as dealt with.
func (s *Source) closeAfterSleep(w *wake.Watch, rt http.RoundTripper) {
	if w.Before(func() { closeIdle(rt); httpx.CloseSharedIdle() }) {
		s.log.Debug("the machine slept (or its clock was set) since the connections were last used; closed those kept from before")
	}
}

// closeIdle closes rt's idle connections, http.DefaultTransport's for nil,
// when rt can.
func closeIdle(rt http.RoundTripper) {
	if rt == nil {
		rt = http.DefaultTransport
	}
	httpx.CloseIdle(rt)
}
