package devprovider

import (
	"fmt"
	"net/http"
	"strconv"
)

// handleIndex is GET /: what this is, its settings and its endpoints.
func (p *Provider) handleIndex(w http.ResponseWriter, r *http.Request) {
	authStyle := map[string]string{
		"":      "HTTP Basic or client_id and client_secret in the body",
		"basic": "HTTP Basic only",
		"body":  "client_id and client_secret in the body only",
	}[p.opts.AuthStyle]
	reuse := "revokes the whole grant"
	if p.opts.ReuseRefusedOnly {
		reuse = "refused, the grant kept"
	}
	if p.opts.ReuseGrace > 0 {
		reuse = fmt.Sprintf("accepted for %s after rotation, then %s", p.opts.ReuseGrace, reuse)
	}
	p.mu.Lock() // SetAccessTTL may change it
	accessTTL := p.opts.AccessTTL
	p.mu.Unlock()
	data := struct {
		Base, ClientID, AuthStyle, Reuse      string
		AccessTTL, RefreshTTL                 string
		RequestsPerMinute, RefreshesPerMinute int
		Faults                                []Fault
	}{
		Base:               baseURL(r),
		ClientID:           p.opts.ClientID,
		AuthStyle:          authStyle,
		Reuse:              reuse,
		AccessTTL:          accessTTL.String(),
		RefreshTTL:         p.opts.RefreshTTL.String(),
		RequestsPerMinute:  p.opts.RequestsPerMinute,
		RefreshesPerMinute: p.opts.RefreshesPerMinute,
		Faults:             faultKinds,
	}
	p.writePage(w, http.StatusOK, "index", data)
}

// handleFault is POST /_dev/fault?kind=K&n=N (n defaults to 1), as Provider.Fault.
func (p *Provider) handleFault(w http.ResponseWriter, r *http.Request) {
	kind := Fault(r.FormValue("kind"))
	if !kind.valid() {
		http.Error(w, fmt.Sprintf("unknown fault kind %q: want one of %v", kind, faultKinds), http.StatusBadRequest)
		return
	}
	n := 1
	if s := r.FormValue("n"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			http.Error(w, fmt.Sprintf("n must be a whole number, not %q", s), http.StatusBadRequest)
			return
		}
	}
	p.Fault(kind, n)
	w.WriteHeader(http.StatusNoContent)
}

// noContent is an admin endpoint that does what do does and answers 204.
func noContent(do func()) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		do()
		w.WriteHeader(http.StatusNoContent)
	}
}

// asJSON is an admin endpoint that answers what get returns, as JSON.
func asJSON[T any](get func() T) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, get())
	}
}
