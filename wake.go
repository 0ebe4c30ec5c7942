package freshtoken

import (
	"net/http"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/wake"
)

// closeAfterSleep closes rt's idle connections (http.DefaultTransport's for
// nil) if the machine slept since w's last request (see wake.Watch): they
// lead, as often as not, to a peer that never answers.
func (s *Source) closeAfterSleep(w *wake.Watch, rt http.RoundTripper) {
	if w.Before(func() { closeIdle(rt) }) {
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
