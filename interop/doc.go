// Package interop tests freshtoken, as its users run it, against a strict
// OAuth 2.0 authorization server built from ory/fosite (see authserver):
// login with PKCE S256, renewals with rotated refresh tokens, many processes
// and goroutines renewing at once, and the 401 path, all without the server
// ever detecting a refresh token spent twice.
//
// It is a module of its own so that fosite's dependencies stay out of
// freshtoken's go.mod. Run it with `cd interop && go test ./...`.
package interop
