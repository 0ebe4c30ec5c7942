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
	if p.opts.ReuseGrace > 0 {
		reuse = fmt.Sprintf("accepted for %s after rotation, then revokes the whole grant", p.opts.ReuseGrace)
	}
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
		AccessTTL:          p.opts.AccessTTL.String(),
		RefreshTTL:         p.opts.RefreshTTL.String(),
		RequestsPerMinute:  p.opts.RequestsPerMinute,
		RefreshesPerMinute: p.opts.RefreshesPerMinute,
		Faults:             faultKinds,
	}
	p.writePage(w, http.StatusOK, "index", data)
}

// handleStats is GET /_dev/stats.
func (p *Provider) handleStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, p.Stats())
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

// handleRevokeAccess is POST /_dev/revoke-access, as Provider.RevokeAccessTokens.
func (p *Provider) handleRevokeAccess(w http.ResponseWriter, _ *http.Request) {
	p.RevokeAccessTokens()
	w.WriteHeader(http.StatusNoContent)
}

// handleRevokeGrants is POST /_dev/revoke-grants: Provider.RevokeGrants.
func (p *Provider) handleRevokeGrants(w http.ResponseWriter, _ *http.Request) {
	p.RevokeGrants()
	w.WriteHeader(http.StatusNoContent)
}

// handleClearFaults is DELETE /_dev/fault: Provider.ClearFaults.
func (p *Provider) handleClearFaults(w http.ResponseWriter, _ *http.Request) {
	p.ClearFaults()
	w.WriteHeader(http.StatusNoContent)
}

// handleSecrets is GET /_dev/secrets: Provider.Secrets as a JSON array.
func (p *Provider) handleSecrets(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, p.Secrets())
}
