package devprovider

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/freshtoken/freshtoken/internal/httpx"
)

// codeTTL is how long an authorization code can be exchanged, as at FreeAgent.
const codeTTL = 15 * time.Minute

//go:embed pages/*.html
var pageFiles embed.FS

// pages are parsed when first served, not at every start of the program.
var pages = sync.OnceValue(func() *template.Template { return template.Must(template.ParseFS(pageFiles, "pages/*.html")) })

// writePage answers with the page pages/name.html filled in from data.
func (p *Provider) writePage(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages().ExecuteTemplate(w, name+".html", data); err != nil {
		p.opts.Logger.Error(name+" page", "error", err)
	}
}

// authRequest is an authorization request: the query of GET /v2/approve_app, carried
// unchanged in the hidden fields of the approve form.
type authRequest struct {
	clientID, responseType, redirectURI, state, challenge, challengeMethod, scope string
}

func parseAuthRequest(v url.Values) authRequest {
	return authRequest{
		clientID:        v.Get("client_id"),
		responseType:    v.Get("response_type"),
		redirectURI:     v.Get("redirect_uri"),
		state:           v.Get("state"),
		challenge:       v.Get("code_challenge"),
		challengeMethod: v.Get("code_challenge_method"),
		scope:           v.Get("scope"),
	}
}

// formField is a hidden field of the approve form.
type formField struct{ Name, Value string }

// fields returns a's non-empty parameters, to be posted back by the approve form.
func (a authRequest) fields() []formField {
	all := []formField{
		{"client_id", a.clientID},
		{"response_type", a.responseType},
		{"redirect_uri", a.redirectURI},
		{"state", a.state},
		{"code_challenge", a.challenge},
		{"code_challenge_method", a.challengeMethod},
		{"scope", a.scope},
	}
	return slices.DeleteFunc(all, func(f formField) bool { return f.Value == "" })
}

// handleApprovePage is GET /v2/approve_app: the consent page, or with AutoApprove a
// redirect straight back with a code.
func (p *Provider) handleApprovePage(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.record("authorize", r.URL.Query())
	p.mu.Unlock()
	a, ok := p.checkAuthRequest(w, r, r.URL.Query())
	if !ok {
		return
	}
	if p.opts.AutoApprove {
		p.approve(w, r, a)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	data := struct {
		App, RedirectURI string
		Fields           []formField
	}{a.clientID, a.redirectURI, a.fields()}
	p.writePage(w, http.StatusOK, "approve", data)
}

// handleApproveDecision is POST /v2/approve_app, sent by the consent page's Approve
// and Deny buttons. The request is checked again: the form is not trusted.
func (p *Provider) handleApproveDecision(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The approve form could not be read: "+err.Error(), http.StatusBadRequest)
		return
	}
	a, ok := p.checkAuthRequest(w, r, r.PostForm)
	if !ok {
		return
	}
	if r.PostForm.Get("decision") != "approve" {
		p.opts.Logger.Info("authorization denied by the user", "redirect_uri", a.redirectURI)
		p.redirectBack(w, r, a, url.Values{"error": {"access_denied"}, "error_description": {"The user denied access."}})
		return
	}
	p.approve(w, r, a)
}

// checkAuthRequest parses and validates an authorization request, answering it when
// it is invalid. A wrong client_id or redirect_uri gets a 400 page, since there is
// nowhere safe to send the user; any other problem is redirected back as an OAuth
// error (RFC 6749 §4.1.2.1).
func (p *Provider) checkAuthRequest(w http.ResponseWriter, r *http.Request, v url.Values) (authRequest, bool) {
	a := parseAuthRequest(v)
	if a.clientID != p.opts.ClientID {
		http.Error(w, fmt.Sprintf("Unknown client_id %q: this dev provider's client id is %q.", a.clientID, p.opts.ClientID), http.StatusBadRequest)
		return a, false
	}
	if problem := p.redirectURIProblem(a.redirectURI); problem != "" {
		http.Error(w, problem, http.StatusBadRequest)
		return a, false
	}
	var code, description string
	switch {
	case a.responseType != "code":
		code, description = "unsupported_response_type", "response_type must be code"
	case (a.challenge != "" || a.challengeMethod != "") && (a.challenge == "" || a.challengeMethod != "S256"):
		code, description = "invalid_request", "PKCE needs both code_challenge and code_challenge_method=S256"
	case p.opts.RequirePKCE && a.challenge == "":
		code, description = "invalid_request", "PKCE is required: send code_challenge and code_challenge_method=S256"
	default:
		return a, true
	}
	p.opts.Logger.Info("authorization request refused", "error", code, "description", description)
	p.redirectBack(w, r, a, url.Values{"error": {code}, "error_description": {description}})
	return a, false
}

// redirectURIProblem says why uri is not an acceptable redirect_uri, or returns "".
func (p *Provider) redirectURIProblem(uri string) string {
	u, err := url.Parse(uri)
	switch {
	case err != nil:
		return fmt.Sprintf("redirect_uri %q is not a URL: %v.", uri, err)
	case len(p.opts.RedirectURIs) > 0 && !slices.Contains(p.opts.RedirectURIs, uri):
		return fmt.Sprintf("redirect_uri %q is not registered: it must be exactly one of %s.", uri, strings.Join(p.opts.RedirectURIs, ", "))
	case len(p.opts.RedirectURIs) == 0 && (u.Scheme != "http" || u.Fragment != "" || !httpx.IsLoopback(u.Hostname())):
		return fmt.Sprintf("redirect_uri %q is not accepted: it must be an http URL on 127.0.0.1, [::1] or localhost, without a fragment.", uri)
	}
	return ""
}

// approve issues a single-use authorization code for a and sends the user back.
func (p *Provider) approve(w http.ResponseWriter, r *http.Request, a authRequest) {
	p.mu.Lock()
	code := p.newSecret("dev_code_")
	offline := p.opts.OfflineScope == "" || slices.Contains(strings.Fields(a.scope), p.opts.OfflineScope)
	p.codes[code] = &authCode{redirectURI: a.redirectURI, challenge: a.challenge, expires: p.opts.Clock().Add(codeTTL), offline: offline}
	p.mu.Unlock()
	p.opts.Logger.Info("authorization approved: code issued", "redirect_uri", a.redirectURI, "pkce", a.challenge != "")
	p.redirectBack(w, r, a, url.Values{"code": {code}})
}

// redirectBack sends the user to a's redirect_uri (already parsed once) with params
// and a's state added to its query, and the provider's issuer with NamesIssuer.
func (p *Provider) redirectBack(w http.ResponseWriter, r *http.Request, a authRequest, params url.Values) {
	u, _ := url.Parse(a.redirectURI)
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if a.state != "" {
		q.Set("state", a.state)
	}
	if p.opts.NamesIssuer {
		q.Set("iss", baseURL(r))
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}
