// Package freshtoken keeps OAuth 2.0 access tokens fresh for Go programs,
// with the same engine as the freshtoken command.
//
// A Source is an oauth2.TokenSource for one environment. It extends
// golang.org/x/oauth2 with what that package leaves to its callers:
//
//   - every token the provider returns, rotated refresh tokens included, is
//     stored durably before it is used;
//   - one renewal at a time per environment, across goroutines (one flight)
//     and across processes or machines (the store's lock); a renewer re-reads
//     the store under the lock and renews only if the token it finds there
//     still needs it;
//   - renewal RenewBefore ahead of expiry, or at half the lifetime of a token
//     shorter than twice that;
//   - an explicit client authentication style, never auto-detected, so a
//     failed refresh is never re-sent with a refresh token already spent;
//   - an *http.Client that renews once and retries once on a 401 (not one
//     whose Bearer challenge says only insufficient_scope).
//
// This package is the engine alone: Settings and a store.Store in, a Source
// out. It reads no configuration file and links no Redis client; package
// github.com/freshtoken/freshtoken/config opens a configured environment in
// one call:
//
//	src, err := config.Open(ctx, config.OpenOptions{Env: "sandbox"})
//	if err != nil { … }
//	resp, err := src.Client().Get(src.APIURL() + "v2/company")
package freshtoken
