package devprovider

import (
	"net/http"
	"strconv"
	"time"
)

// discoveryMaxAge is the Cache-Control max-age of the discovery documents.
const discoveryMaxAge = time.Hour

// handleDiscovery serves the provider's metadata, at RFC 8414's and OpenID
// Connect's well-known paths alike, so that `issuer = "http://127.0.0.1:PORT"`
// finds the endpoints. The issuer is the address the request came to.
func (p *Provider) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.stats.Discoveries++
	p.mu.Unlock()
	base := baseURL(r)
	methods := []string{"client_secret_basic", "client_secret_post"}
	switch p.opts.AuthStyle {
	case "basic":
		methods = methods[:1]
	case "body":
		methods = methods[1:]
	}
	w.Header().Set("Cache-Control", "max-age="+strconv.Itoa(int(discoveryMaxAge/time.Second)))
	doc := map[string]any{
		"issuer":                                base,
		"authorization_endpoint":                base + "/v2/approve_app",
		"token_endpoint":                        base + "/v2/token_endpoint",
		"revocation_endpoint":                   base + "/v2/revoke",
		"device_authorization_endpoint":         base + "/v2/device_authorization",
		"token_endpoint_auth_methods_supported": methods,
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"},
		"code_challenge_methods_supported":      []string{"S256"},
	}
	if p.opts.NamesIssuer {
		doc["authorization_response_iss_parameter_supported"] = true
	}
	writeJSON(w, http.StatusOK, doc)
}
