package tokenerr

import "github.com/freshtoken/freshtoken/store"

// Kept says what renewals that failed left stored in r, in the one
// sentence every failure of them ends with (an error, the rest `status`
// and the proxy page show, the keeper's notice). A refresh token that the
// last renewal's answer brought with no usable access token (see
// RefreshedOnly) is told as new: a copy of the one before it, kept
// elsewhere (Postman's), is spent.
func Kept(r *store.Record) string {
	switch {
	case RefreshedOnly(r):
		return NewRefreshTokenKept
	case r == nil || r.AccessToken == "" && r.RefreshToken == "":
		return "nothing is stored yet"
	}
	return "your stored tokens are unchanged"
}

// NewRefreshTokenKept is what Kept says of a refresh token that an answer
// brought with no usable access token, and the answer's own error too.
const NewRefreshTokenKept = "the new refresh token the provider sent is stored, and the next renewal uses it"

// RefreshedOnly reports whether r's last renewal stored a new refresh
// token from an answer without a usable access token: r then holds no
// access token, or the one it held before, whose issue time is not the
// renewal's (a renewal that brings an access token issues it then; one
// that keeps the token before, which the engine does only for a token
// issued in an earlier tick of the clock, does not; and a log-in is no
// renewal).
func RefreshedOnly(r *store.Record) bool {
	return r != nil && r.RefreshToken != "" && !r.RenewedAt.IsZero() && (r.AccessToken == "" || !r.RenewedAt.Equal(r.IssuedAt))
}
