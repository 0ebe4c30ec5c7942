// Package interop tests freshtoken, as its users run it, against two
// strict servers nobody on its team wrote: an OAuth 2.0 authorization server
// built from ory/fosite (see authserver), and an OpenID provider built from
// zitadel/oidc's op package (see oidcop). Login with PKCE S256, renewals
// with rotated refresh tokens, many processes and goroutines renewing at
// once, the 401 path and revocation on logout, all without a server ever
// detecting a refresh token spent twice; and, skipped until freshtoken has
// them, discovery, client credentials, the device grant and public and
// private_key_jwt clients.
//
// It is a module of its own so that the servers' dependencies stay out of
// freshtoken's go.mod. Run it with `cd interop && go test ./...`.
package interop
