package devprovider

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// testRateLimit is the API limit a minute for requests with X-RateLimit-Test: true.
const testRateLimit = 5

// api wraps an API endpoint: the request is counted, must carry a valid Bearer
// access token, and must be within its grant's rate limit before h runs.
func (p *Provider) api(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, reason := p.admit(r)
		switch status {
		case http.StatusUnauthorized:
			p.opts.Logger.Info("API request unauthorized", "method", r.Method, "path", r.URL.Path, "reason", reason)
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeAPIError(w, status, reason)
		case http.StatusTooManyRequests:
			p.opts.Logger.Info("API request rate limited", "method", r.Method, "path", r.URL.Path, "reason", reason)
			writeRateLimited(w)
		default:
			h(w, r)
		}
	})
}

// admit counts an API request and decides whether it may proceed: it returns 200,
// or 401 or 429 with the reason.
func (p *Provider) admit(r *http.Request) (status int, reason string) {
	now := p.opts.Clock()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.APIRequests++

	token, hasToken := bearerToken(r)
	t := p.access[token]
	switch {
	case !hasToken:
		reason = "Access token required: send Authorization: Bearer <access token>."
	case t == nil:
		reason = "Unknown access token."
	case t.grant.revoked:
		reason = "Access token revoked with its grant."
	case t.revoked:
		reason = "Access token revoked."
	case !now.Before(t.expires):
		reason = "Access token expired."
	}
	if reason != "" {
		p.stats.Unauthorized++
		return http.StatusUnauthorized, reason
	}

	limit, window := p.opts.RequestsPerMinute, &t.grant.api
	if strings.EqualFold(r.Header.Get("X-RateLimit-Test"), "true") {
		limit, window = testRateLimit, &t.grant.apiTest
	}
	if !window.allow(now, limit) {
		p.stats.RateLimited++
		return http.StatusTooManyRequests, fmt.Sprintf("over %d requests a minute for grant %s", limit, t.grant.id)
	}
	return http.StatusOK, ""
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a write error means the client has gone
}

// writeAPIError answers with FreeAgent's error shape.
func writeAPIError(w http.ResponseWriter, status int, message string) {
	type errorMessage struct {
		Message string `json:"message"`
	}
	type errorBody struct {
		Errors struct {
			Error errorMessage `json:"error"`
		} `json:"errors"`
	}
	var body errorBody
	body.Errors.Error.Message = message
	writeJSON(w, status, body)
}

// baseURL is the scheme and host the request was sent to, for absolute URLs.
func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// devCompany and devUser are the resources at /v2/company and /v2/users/me, which
// never change, without their url.
var (
	devCompany = map[string]any{
		"name":               "Dev Ltd",
		"subdomain":          "devltd",
		"type":               "UkLimitedCompany",
		"currency":           "GBP",
		"mileage_units":      "miles",
		"company_start_date": "2020-04-01",
	}
	devUser = map[string]any{
		"first_name":       "Dev",
		"last_name":        "User",
		"email":            "dev@example.com",
		"role":             "Director",
		"permission_level": 8,
	}
)

// fixed is a GET endpoint answering {key: fields} for a resource that never
// changes, with its url: path at the address the request was sent to.
func fixed(key, path string, fields map[string]any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		shown := maps.Clone(fields)
		shown["url"] = baseURL(r) + path
		writeJSON(w, http.StatusOK, map[string]any{key: shown})
	}
}

// contact is a contact's fields, without its url, which depends on the request.
// Its id is its position in Provider.contacts plus one.
type contact map[string]any

func seedContacts(n int, now time.Time) []contact {
	created := now.UTC().Format(time.RFC3339)
	contacts := make([]contact, n)
	for i := range contacts {
		id := i + 1
		contacts[i] = contact{
			"organisation_name": fmt.Sprintf("Contact %d", id),
			"first_name":        "Person",
			"last_name":         strconv.Itoa(id),
			"email":             fmt.Sprintf("contact%d@example.com", id),
			"status":            "Active",
			"created_at":        created,
			"updated_at":        created,
		}
	}
	return contacts
}

// withURL returns a copy of c with its url, as the API shows it.
func (c contact) withURL(base string, id int) contact {
	shown := maps.Clone(c)
	shown["url"] = fmt.Sprintf("%s/v2/contacts/%d", base, id)
	return shown
}

// handleListContacts is GET /v2/contacts: one page of contacts, with FreeAgent's
// X-Total-Count and Link (first, prev, next, last) headers.
func (p *Provider) handleListContacts(w http.ResponseWriter, r *http.Request) {
	page := positiveInt(r.URL.Query().Get("page"), 1)
	perPage := min(positiveInt(r.URL.Query().Get("per_page"), 25), 100)
	base := baseURL(r)

	p.mu.Lock()
	total := len(p.contacts)
	start := min(min(page-1, total)*perPage, total) // capped first: no overflow for an absurd page
	end := min(start+perPage, total)
	items := make([]contact, 0, end-start)
	for i := start; i < end; i++ {
		items = append(items, p.contacts[i].withURL(base, i+1))
	}
	p.mu.Unlock()

	last := max(1, (total+perPage-1)/perPage)
	quote := `"`
	if p.opts.SingleQuotedRels {
		quote = "'"
	}
	link := func(page int, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(page))
		q.Set("per_page", strconv.Itoa(perPage))
		return fmt.Sprintf(`<%s%s?%s>; rel=%s%s%s`, base, r.URL.Path, q.Encode(), quote, rel, quote)
	}
	var links []string
	if page > 1 {
		links = append(links, link(page-1, "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"))
	}
	links = append(links, link(1, "first"), link(last, "last"))

	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	w.Header().Set("Link", strings.Join(links, ", "))
	writeJSON(w, http.StatusOK, map[string]any{"contacts": items})
}

// positiveInt parses s, returning def when s is not a positive integer.
func positiveInt(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return def
	}
	return n
}

// handleCreateContact is POST /v2/contacts with {"contact":{...}}: 201 with the
// contact as stored, its url, and a Location header.
func (p *Provider) handleCreateContact(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Contact contact `json:"contact"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		writeAPIError(w, http.StatusBadRequest, "The body must be JSON like {\"contact\":{...}}: "+err.Error())
		return
	}
	c := body.Contact
	if !isNonEmptyString(c["organisation_name"]) && !isNonEmptyString(c["last_name"]) {
		writeAPIError(w, http.StatusUnprocessableEntity, "A contact needs an organisation_name or a last_name.")
		return
	}
	delete(c, "url")
	now := p.opts.Clock().UTC().Format(time.RFC3339)
	c["created_at"], c["updated_at"] = now, now

	p.mu.Lock()
	p.contacts = append(p.contacts, c)
	id := len(p.contacts)
	p.mu.Unlock()

	shown := c.withURL(baseURL(r), id)
	w.Header().Set("Location", shown["url"].(string))
	writeJSON(w, http.StatusCreated, map[string]any{"contact": shown})
}

func isNonEmptyString(v any) bool {
	s, ok := v.(string)
	return ok && s != ""
}

// handleGetContact is GET /v2/contacts/{id}.
func (p *Provider) handleGetContact(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	p.mu.Lock()
	var c contact
	if err == nil && id >= 1 && id <= len(p.contacts) {
		c = p.contacts[id-1].withURL(baseURL(r), id)
	}
	p.mu.Unlock()
	if c == nil {
		writeAPIError(w, http.StatusNotFound, "Resource not found.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"contact": c})
}
